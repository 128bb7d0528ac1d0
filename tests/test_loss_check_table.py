"""The loss checks (VC102, VC105-VC109) on tables of facts, with no model built.

Each finding's message, evidence and fix is worked out by hand from the data in the test.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from vaecheck.checks import (
    categorical_targets,
    logits_on_squashed,
    run_checks,
    softmax_multilabel,
    statistics_needed,
)
from vaecheck.checks.base import OutputFacts, StatsRequest
from vaecheck.codomain import Codomain
from vaecheck.intervals import INF, Interval
from vaecheck.losses import LossSpec, loss_spec
from vaecheck.report import Fix, Rescale
from vaecheck.stats import measure, recognize

RELU = Codomain(Interval(0.0, INF, True, False), bounded_by=("out: relu",))
SIGMOID = Codomain(Interval.open(0.0, 1.0), bounded_by=("out: sigmoid",))
TANH = Codomain(Interval.open(-1.0, 1.0), bounded_by=("out: tanh",))
LINEAR = Codomain(Interval.real_line())
SOFTMAX = Codomain(Interval.open(0.0, 1.0), bounded_by=("out: softmax",), simplex_axis=-1)
UNKNOWN = Codomain.unknown("out", "Lambda layer (its code is not read)")
THREE = (None, 3)
SIGMOID_OF_1 = 1 / (1 + math.exp(-1))


def facts(codomain: Codomain, values, loss=None, shape=None) -> OutputFacts:
    data = np.asarray(values, dtype=np.float64)
    spec = loss_spec(loss) if isinstance(loss, str) else loss
    shape = shape if shape is not None else (None, *data.shape[1:])
    needed = statistics_needed(spec, codomain, shape)
    intervals = [codomain.interval] if codomain.interval is not None else []
    stats = measure(
        [data],
        data.shape,
        data.dtype,
        [*intervals, *needed.intervals],
        row_axes=needed.row_axes,
        value_counts=needed.value_counts,
    )
    return OutputFacts(
        "out",
        codomain,
        stats,
        recognize(stats),
        stats.edges_for(codomain.interval) if codomain.interval is not None else None,
        spec,
        shape=shape,
    )


def found(code: str, codomain: Codomain, values, loss=None, shape=None):
    """The one finding of `code`, or None."""
    hits = [f for f in run_checks(facts(codomain, values, loss, shape)) if f.code == code]
    assert len(hits) <= 1
    return hits[0] if hits else None


# --- VC102: categorical cross-entropy targets that are not distributions -------------------------

CHANGE_TARGETS = Fix(
    "change-targets",
    "make each target row a distribution: non-negative values divided by the row sum, "
    "y = y / y.sum(axis=-1, keepdims=True)",
)


def test_vc102_rows_summing_to_less_than_1():
    finding = found("VC102", SOFTMAX, [[1, 0, 0], [0.5, 0.5, 0], [0, 0, 0]], "categorical_crossentropy")
    assert finding.message == (
        "33.3% of target rows (1 of 3) do not sum to 1 (row sums 0 to 1): categorical_crossentropy "
        "needs distributions (rows summing to less than 1 are partly or wholly ignored)"
    )
    assert finding.evidence == {
        "count_rows": 3,
        "count_rows_above_1": 0,
        "count_rows_below_1": 1,
        "row_sum_min": 0.0,
        "row_sum_max": 1.0,
        "count_negative": 0,
    }
    assert finding.fix == CHANGE_TARGETS


def test_vc102_soft_rows_summing_to_more_than_1():
    finding = found("VC102", SOFTMAX, [[0.6, 0.6, 0], [1, 0, 0]], "categorical_crossentropy")
    assert finding.message == (
        "50.0% of target rows (1 of 2) do not sum to 1 (row sums 1 to 1.2): categorical_crossentropy "
        "needs distributions (rows summing to more than 1 ask for full probability on several classes)"
    )
    assert finding.evidence["count_rows_above_1"] == 1
    assert finding.evidence["row_sum_max"] == pytest.approx(1.2)
    assert finding.fix == CHANGE_TARGETS


def test_vc102_multi_hot_rows_without_a_softmax_are_multi_label():
    sigmoid = Codomain(Interval.open(0.0, 1.0), bounded_by=("out: sigmoid",))
    finding = found("VC102", sigmoid, [[1, 0, 1], [0, 1, 0]], "categorical_crossentropy")
    assert finding.message.startswith("50.0% of target rows (1 of 2) do not sum to 1 (row sums 1 to 2)")
    assert finding.fix == Fix(
        "change-loss",
        "these are multi-label targets: end the output with sigmoid and compile with "
        "binary cross-entropy, one independent yes/no per class",
        activation="sigmoid",
        loss="keras.losses.BinaryCrossentropy()",
    )
    # Multi-hot rows of 0 and 2 are not yes/no labels: they are made distributions.
    assert found("VC102", sigmoid, [[2, 0, 2], [0, 1, 0]], "categorical_crossentropy").fix == CHANGE_TARGETS


def test_vc102_leaves_multi_hot_rows_on_a_softmax_to_vc109():
    rows = [[1, 0, 1], [0, 1, 0]]
    assert found("VC102", SOFTMAX, rows, "categorical_crossentropy") is None
    assert found("VC109", SOFTMAX, rows, "categorical_crossentropy") is not None
    # ... but still reports the rows that sum to less than 1 beside them.
    finding = found("VC102", SOFTMAX, [[1, 0, 1], [0, 0, 0]], "categorical_crossentropy")
    assert finding.evidence["count_rows_above_1"] == 0
    assert finding.evidence["count_rows_below_1"] == 1


def test_vc102_negative_values_in_rows_that_sum_to_1():
    finding = found("VC102", SOFTMAX, [[1.5, -0.5, 0], [1, 0, 0]], "categorical_crossentropy")
    assert finding.message == (
        "1 target values are negative: categorical_crossentropy needs distributions "
        "(negative values reward pushing a probability down without end)"
    )
    assert finding.evidence == {
        "count_rows": 2,
        "count_rows_above_1": 0,
        "count_rows_below_1": 0,
        "row_sum_min": 1.0,
        "row_sum_max": 1.0,
        "count_negative": 1,
    }
    # KL divergence's negative targets are VC104's.
    assert found("VC102", SOFTMAX, [[1.5, -0.5, 0], [1, 0, 0]], "kl_divergence") is None


def test_vc102_all_three_problems_in_one_message():
    finding = found(
        "VC102", SOFTMAX, [[0.9, 0.9, 0], [0, 0.5, 0], [1.5, -0.5, 0]], "kl_divergence"
    )
    assert finding.message == (
        "66.7% of target rows (2 of 3) do not sum to 1 (row sums 0.5 to 1.8): kl_divergence "
        "needs distributions (rows summing to more than 1 ask for full probability on several "
        "classes; rows summing to less than 1 are partly or wholly ignored)"
    )
    finding = found(
        "VC102", SOFTMAX, [[0.9, 0.9, 0], [1.5, -0.5, 0]], "categorical_crossentropy"
    )
    assert finding.message == (
        "50.0% of target rows (1 of 2) do not sum to 1 (row sums 1 to 1.8); 1 target values are "
        "negative: categorical_crossentropy needs distributions (rows summing to more than 1 ask "
        "for full probability on several classes; negative values reward pushing a probability "
        "down without end)"
    )


def test_vc102_class_indices_in_place_of_one_hot_rows():
    finding = found("VC102", SOFTMAX, [0, 2, 1], "categorical_crossentropy", THREE)
    assert finding.message == (
        "targets have shape (N,), one class index per sample, but categorical_crossentropy "
        "expects one-hot rows of 3 values like the output: Keras fails on the shapes"
    )
    assert finding.evidence == {"target_shape": [], "classes": 3}
    assert finding.fix == Fix(
        "change-loss",
        "for class indices, compile with sparse categorical cross-entropy",
        loss="keras.losses.SparseCategoricalCrossentropy()",
        alternative="or one-hot encode the targets: keras.utils.to_categorical(y, 3)",
    )
    logits = LossSpec("categorical_crossentropy", from_logits=True)
    column = found("VC102", LINEAR, [[0], [2]], logits, THREE)
    assert column.message.startswith("targets have shape (N, 1), one class index per sample")
    assert column.evidence == {"target_shape": [1], "classes": 3}
    assert column.fix.loss == "keras.losses.SparseCategoricalCrossentropy(from_logits=True)"


@pytest.mark.parametrize(
    ("rows", "loss"),
    [
        ([[1, 0, 0], [0, 0, 1]], "categorical_crossentropy"),
        ([[0.2, 0.3, 0.5]], "kl_divergence"),
        ([[0, 0, 0]], "mean_squared_error"),
        ([[0, 0, 0]], None),
    ],
)
def test_vc102_passes(rows, loss):
    assert found("VC102", SOFTMAX, rows, loss) is None


def test_vc102_asks_for_row_sums_and_the_negative_count():
    spec = loss_spec("categorical_crossentropy")
    assert categorical_targets.statistics(spec, SOFTMAX, THREE) == StatsRequest(
        intervals=(Interval(0.0, INF, True, False),), row_axes=(-1,)
    )
    axis_1 = LossSpec("categorical_crossentropy", axis=1)
    assert categorical_targets.statistics(axis_1, SOFTMAX, (None, 4, 3)).row_axes == (-2,)
    assert categorical_targets.statistics(axis_1, SOFTMAX, None).row_axes == ()
    assert categorical_targets.statistics(loss_spec("mse"), SOFTMAX, THREE) == StatsRequest()
    assert categorical_targets.statistics(None, SOFTMAX, THREE) == StatsRequest()


# --- VC109: softmax on multi-label targets ------------------------------------------------------

SIGMOID_INSTEAD = Fix(
    "change-activation",
    "use sigmoid instead of softmax, one independent probability per class, and "
    "compile with binary cross-entropy",
    activation="sigmoid",
    loss="keras.losses.BinaryCrossentropy()",
)


def test_vc109_multi_hot_rows_on_a_softmax():
    finding = found("VC109", SOFTMAX, [[1, 0, 1], [0, 1, 0], [1, 1, 1]])
    assert finding.message == (
        "66.7% of target rows (2 of 3) sum to more than 1 (up to 3): these are multi-label "
        "targets, but softmax makes every row sum to 1, so the classes compete and none of "
        "those rows can be fit"
    )
    assert finding.evidence == {"count_rows": 3, "count_rows_above_1": 2, "row_sum_max": 3.0}
    assert finding.fix == SIGMOID_INSTEAD
    assert found("VC109", SOFTMAX, [[1, 0, 1]], "binary_crossentropy").fix == SIGMOID_INSTEAD
    assert found("VC109", SOFTMAX, [[1, 0, 1]], "categorical_crossentropy") is not None


@pytest.mark.parametrize(
    ("codomain", "rows", "loss", "shape"),
    [
        (SOFTMAX, [[1, 0, 0], [0, 1, 0]], None, None),  # one-hot
        (SIGMOID, [[1, 0, 1]], None, None),  # no softmax
        (SOFTMAX, [[2, 0, 1]], None, None),  # not probabilities: the range checks'
        (SOFTMAX, [[-0.5, 1, 1]], None, None),
        (SOFTMAX, [[0.6, 0.6, 0]], "categorical_crossentropy", None),  # soft rows: VC102's
        (SOFTMAX, [[1], [1]], None, (None, 1)),  # one unit: VC108's
        (SOFTMAX, [[1, 0, 1]], None, (None, None)),  # size unknown
        (SOFTMAX, [1, 2], "sparse_categorical_crossentropy", THREE),  # class indices
        (SOFTMAX, [[1, 0, 1]], LossSpec("binary_crossentropy", from_logits=True), None),  # logits
        (SOFTMAX, [[np.nan, np.nan]], None, None),
    ],
)
def test_vc109_passes(codomain, rows, loss, shape):
    assert found("VC109", codomain, rows, loss, shape) is None


def test_vc109_within_float32_rounding_of_0_and_1():
    finding = found("VC109", SOFTMAX, [[1 + 1e-9, 0, 1], [-1e-9, 1, 0]])
    assert finding is not None and finding.evidence["count_rows_above_1"] == 1


def test_vc109_asks_for_the_softmax_axis_row_sums():
    assert softmax_multilabel.statistics(None, SOFTMAX, THREE) == StatsRequest(row_axes=(-1,))
    axis_1 = Codomain(Interval.open(0.0, 1.0), bounded_by=("out: softmax",), simplex_axis=1)
    assert softmax_multilabel.statistics(None, axis_1, (None, 4, 3)) == StatsRequest(row_axes=(-2,))
    assert softmax_multilabel.statistics(None, axis_1, None) == StatsRequest()
    assert softmax_multilabel.statistics(None, SIGMOID, THREE) == StatsRequest()


# --- VC106: from_logits=True on a squashed output -----------------------------------------------

BCE_LOGITS = LossSpec("binary_crossentropy", from_logits=True)
CCE_LOGITS = LossSpec("categorical_crossentropy", from_logits=True)


def test_vc106_sigmoid_output_taken_for_logits():
    finding = found("VC106", SIGMOID, [0.5], BCE_LOGITS)
    assert finding.message == (
        "binary_crossentropy has from_logits=True, but sigmoid already squashes this output into "
        "(0, 1), and the loss applies sigmoid again: the probabilities it sees stay within "
        "(0.5, 0.731059), so confident predictions are out of reach"
    )
    assert finding.evidence == {
        "probability_low": 0.5,
        "probability_high": pytest.approx(SIGMOID_OF_1),
        "activation": "sigmoid",
    }
    assert finding.fix == Fix(
        "change-loss",
        "the output is already a probability: compile with from_logits=False",
        loss="keras.losses.BinaryCrossentropy(from_logits=False)",
        alternative="or remove the sigmoid (activation=None) and keep from_logits=True, "
        "applying sigmoid when predicting",
    )


def test_vc106_relu_logits_get_a_linear_output():
    finding = found("VC106", RELU, [0.5], BCE_LOGITS)
    assert finding.message == (
        "binary_crossentropy has from_logits=True, but relu bounds these logits to [0, inf): "
        "the probabilities it sees stay within [0.5, 1), so confident predictions are out of reach"
    )
    assert finding.fix == Fix(
        "change-activation",
        "logits must be free to take any value: use a linear output (activation=None)",
        activation="linear",
    )


def test_vc106_softmax_band_narrows_with_the_classes():
    e = math.e
    finding = found("VC106", SOFTMAX, [[1, 0, 0]], CCE_LOGITS, THREE)
    # Logits in (0, 1) over 3 classes: from 1 / (1 + 2e) up to e / (e + 2).
    assert finding.evidence["probability_low"] == pytest.approx(1 / (1 + 2 * e))
    assert finding.evidence["probability_high"] == pytest.approx(e / (e + 2))
    assert "the loss applies softmax again" in finding.message
    assert finding.fix.alternative == (
        "or remove the softmax (activation=None) and keep from_logits=True, applying softmax "
        "when predicting"
    )
    assert finding.fix.loss == "keras.losses.CategoricalCrossentropy(from_logits=False)"
    # Shape unknown: two classes, the widest band.
    two = logits_on_squashed.probabilities_seen(facts(SOFTMAX, [[1, 0, 0]], CCE_LOGITS, (None, None)))
    assert (two.low, two.high) == pytest.approx((1 / (1 + e), e / (1 + e)))
    none = logits_on_squashed.probabilities_seen(facts(SOFTMAX, [[1, 0, 0]], CCE_LOGITS, ()))
    assert (none.low, none.high) == pytest.approx((1 / (1 + e), e / (1 + e)))
    axis_1 = LossSpec("categorical_crossentropy", from_logits=True, axis=1)
    four = logits_on_squashed.probabilities_seen(facts(SOFTMAX, [[1, 0, 0]], axis_1, (None, 4)))
    assert four.high == pytest.approx(e / (e + 3))
    past = LossSpec("categorical_crossentropy", from_logits=True, axis=2)
    assert logits_on_squashed.probabilities_seen(facts(SOFTMAX, [[1, 0, 0]], past, (None, 4))).high == (
        pytest.approx(e / (e + 1))
    )
    assert logits_on_squashed.probabilities_seen(facts(UNKNOWN, [1.0], CCE_LOGITS)) is None
    assert logits_on_squashed.probabilities_seen(facts(SIGMOID, [1.0], None)) is None


@pytest.mark.parametrize(
    ("low", "high", "reported"),
    [
        (-4.6, 4.6, False),  # sigmoid(4.6) = 0.9900: confident both ways
        (-4.5, 4.6, True),  # sigmoid(-4.5) = 0.0110
        (-4.6, 4.5, True),  # sigmoid(4.5) = 0.9890
        (-10.0, 10.0, False),
    ],
)
def test_vc106_logits_bounded_wide_enough_pass(low, high, reported):
    clipped = Codomain(Interval.closed(low, high), bounded_by=("out: clip",))
    finding = found("VC106", clipped, [0.5], BCE_LOGITS)
    assert (finding is not None) == reported
    if reported:
        assert finding.message.startswith(f"binary_crossentropy has from_logits=True, but clip bounds")


def test_vc106_an_output_with_no_named_activation():
    plain = Codomain(Interval.open(0.0, 1.0))
    finding = found("VC106", plain, [0.5], BCE_LOGITS)
    assert "but its last layers already squash" in finding.message
    assert finding.evidence["activation"] == "its last layers"


@pytest.mark.parametrize(
    ("codomain", "loss"),
    [
        (LINEAR, BCE_LOGITS),
        (SIGMOID, "binary_crossentropy"),
        (SIGMOID, None),
        (UNKNOWN, BCE_LOGITS),
        (SIGMOID, "mean_squared_error"),
    ],
)
def test_vc106_passes(codomain, loss):
    assert found("VC106", codomain, [0.5], loss) is None


# --- VC107: a probability loss on an unbounded output -------------------------------------------

def test_vc107_linear_output_under_binary_crossentropy():
    finding = found("VC107", LINEAR, [0.5], "binary_crossentropy")
    assert finding.message == (
        "binary_crossentropy expects probabilities (from_logits=False), but this output is "
        "linear, with range (-inf, inf): Keras clips predictions into [1e-7, 1 - 1e-7], so "
        "values beyond get no gradient"
    )
    assert finding.evidence == {"activation": "linear"}
    assert finding.fix == Fix(
        "change-loss",
        "treat the linear output as logits: compile with from_logits=True, and apply "
        "sigmoid when predicting",
        loss="keras.losses.BinaryCrossentropy(from_logits=True)",
        alternative="or end the output with activation='sigmoid'",
    )


def test_vc107_relu_output_under_categorical_crossentropy():
    finding = found("VC107", RELU, [[1, 0, 0]], "categorical_crossentropy", THREE)
    assert finding.message == (
        "categorical_crossentropy expects probabilities (from_logits=False), but this output is "
        "bounded only by relu, to [0, inf): Keras divides each row by its sum before the log, "
        "which breaks down for outputs that can be negative or all zero"
    )
    assert finding.evidence == {"activation": "relu"}
    assert finding.fix == Fix(
        "change-activation",
        "end the output with activation='softmax' so that it gives probabilities",
        activation="softmax",
        alternative="or make it linear (activation=None) and compile with from_logits=True",
    )
    linear_cce = found("VC107", LINEAR, [[1, 0, 0]], "categorical_crossentropy", THREE)
    assert linear_cce.fix.summary.endswith("apply softmax when predicting")
    assert linear_cce.fix.loss == "keras.losses.CategoricalCrossentropy(from_logits=True)"


@pytest.mark.parametrize(
    ("codomain", "loss"),
    [
        (SIGMOID, "binary_crossentropy"),
        (Codomain(Interval.closed(0.0, 1.0), bounded_by=("out: hard_sigmoid",)), "binary_crossentropy"),
        (LINEAR, BCE_LOGITS),
        (LINEAR, "mean_squared_error"),
        (LINEAR, None),
        (UNKNOWN, "binary_crossentropy"),
    ],
)
def test_vc107_passes(codomain, loss):
    assert found("VC107", codomain, [0.5], loss) is None


# --- VC105: hinge targets -----------------------------------------------------------------------

def test_vc105_targets_that_are_not_labels():
    finding = found("VC105", LINEAR, [0.0, 255.0, 255.0, 0.0], "hinge")
    assert finding.message == (
        "50.0% of targets (2 of 4) are not -1, 0 or 1 (targets 0 to 255): hinge reads a target "
        "as the side of the margin, and other values scale the margin instead"
    )
    assert finding.evidence == {"count_not_label": 2, "fraction_not_label": 0.5}
    assert finding.fix == Fix(
        "rescale-data",
        "if the targets are two classes, 0 and 255, map them to -1 and 1",
        rescale=Rescale(2 / 255, -1.0, -1.0, 1.0),
        alternative="or, for real-valued targets, use mean_squared_error or huber",
    )
    constant = found("VC105", LINEAR, [2.0, 2.0], "squared_hinge")
    assert constant.message.startswith("100.0% of targets (2 of 2) are not -1, 0 or 1 (targets 2 to 2)")
    assert constant.fix.rescale is None
    # NaN is neither a label nor counted as one.
    assert found("VC105", LINEAR, [0.5, 1.0, np.nan], "hinge").evidence == {
        "count_not_label": 1, "fraction_not_label": 0.5,
    }


def test_vc105_targets_mixing_minus_one_zero_and_one():
    finding = found("VC105", LINEAR, [-1.0, 0.0, 1.0, 1.0], "hinge")
    assert finding.message == (
        "targets mix -1 (1), 0 (1) and 1 (2): Keras turns 0/1 into -1/1 only in batches with "
        "no -1, so a 0 means -1 in some batches and gives a constant loss with no gradient in "
        "the others"
    )
    assert finding.evidence == {"count_minus_one": 1, "count_zero": 1, "count_one": 2}
    assert finding.fix == Fix(
        "change-targets",
        "use -1 and 1 only: y = np.where(y == 0, -1, y), or drop the samples labelled 0 if 0 "
        "means unknown",
    )
    assert found("VC105", LINEAR, [-1.0, 0.0, 0.0], "hinge").evidence == {
        "count_minus_one": 1, "count_zero": 2, "count_one": 0,
    }


@pytest.mark.parametrize(
    ("values", "loss"),
    [
        ([-1.0, 1.0], "hinge"),
        ([0.0, 1.0], "hinge"),
        ([-1.0, -1.0], "squared_hinge"),
        ([0.0, 255.0], "mean_squared_error"),
        ([0.0, 255.0], None),
        ([np.nan], "hinge"),
    ],
)
def test_vc105_passes(values, loss):
    assert found("VC105", LINEAR, values, loss) is None


# --- VC108: softmax over one unit ---------------------------------------------------------------

def test_vc108_softmax_over_one_unit():
    finding = found("VC108", SOFTMAX, [[1.0]], None, (None, 1))
    assert finding.message == (
        "softmax over axis -1, which has size 1, always outputs 1.0: the output is constant "
        "and nothing before it learns"
    )
    assert finding.evidence == {"softmax_axis": -1, "softmax_axis_size": 1}
    assert finding.fix == Fix(
        "change-activation",
        "for one yes/no output use Dense(1, activation='sigmoid') with binary cross-entropy; "
        "for C classes, Dense(C, activation='softmax')",
        activation="sigmoid",
        loss="keras.losses.BinaryCrossentropy()",
    )
    axis_1 = Codomain(Interval.point(1.0), bounded_by=("out: softmax",), simplex_axis=1)
    assert found("VC108", axis_1, [[[1.0, 1.0]]], None, (None, 1, 2)).message.startswith(
        "softmax over axis 1, which has size 1"
    )
    # With the shape unknown, the constant range 1 says it.
    point = Codomain(Interval.point(1.0), bounded_by=("out: softmax",), simplex_axis=-1)
    assert found("VC108", point, [[1.0]], None, (None, None)) is not None


@pytest.mark.parametrize(
    ("codomain", "shape"),
    [(SOFTMAX, (None, 3)), (SOFTMAX, (None, None)), (SIGMOID, (None, 1)), (LINEAR, (None, 1))],
)
def test_vc108_passes(codomain, shape):
    assert found("VC108", codomain, [[1.0]], None, shape) is None


def test_vc102_names_every_axis_of_the_class_indices_shape():
    finding = found("VC102", SOFTMAX, np.zeros((2, 2, 4)), "categorical_crossentropy", (None, 2, 4, 3))
    assert finding.message.startswith("targets have shape (N, 2, 4), one class index per sample")
    assert finding.evidence == {"target_shape": [2, 4], "classes": 3}


def test_vc106_class_count_from_the_first_axis_and_from_one_unit():
    e = math.e
    # A fixed batch: axis -2 of (4, 3) is the first axis, of size 4.
    axis = LossSpec("categorical_crossentropy", from_logits=True, axis=-2)
    four = logits_on_squashed.probabilities_seen(facts(SOFTMAX, [[1, 0, 0]], axis, (4, 3)))
    assert four.high == pytest.approx(e / (e + 3))
    # One class: softmax over it is the constant 1.
    one = logits_on_squashed.probabilities_seen(facts(SOFTMAX, [[1.0]], CCE_LOGITS, (None, 1)))
    assert (one.low, one.high) == (1.0, 1.0)


def test_vc102_without_row_sums_reports_the_negative_values_alone():
    # Axis 0 is the batch: no row sums along it, only the negative count.
    axis_0 = LossSpec("categorical_crossentropy", axis=0)
    finding = found("VC102", SOFTMAX, [[1.5, -0.5, 0]], axis_0)
    assert finding.message == (
        "1 target values are negative: categorical_crossentropy needs distributions "
        "(negative values reward pushing a probability down without end)"
    )
    assert finding.evidence == {
        "count_rows": 0,
        "count_rows_above_1": 0,
        "count_rows_below_1": 0,
        "row_sum_min": None,
        "row_sum_max": None,
        "count_negative": 1,
    }


def test_vc102_all_zero_rows_and_negative_multi_hot_rows():
    zero = found("VC102", SOFTMAX, [[0, 0, 0]], "categorical_crossentropy")
    assert "(row sums 0 to 0)" in zero.message
    # Integer rows over 1 with a -1 in them are not yes/no labels: made distributions.
    sigmoid = Codomain(Interval.open(0.0, 1.0), bounded_by=("out: sigmoid",))
    negative = found("VC102", sigmoid, [[1, 1, -1, 1]], "categorical_crossentropy")
    assert negative.fix == CHANGE_TARGETS


def test_vc109_two_classes_and_losses_that_are_not_distributions():
    assert found("VC109", SOFTMAX, [[1, 1], [1, 0]]).evidence == {
        "count_rows": 2, "count_rows_above_1": 1, "row_sum_max": 2.0,
    }
    # Soft rows over 1: multi-label under a regression loss, VC102's under KL divergence.
    assert found("VC109", SOFTMAX, [[0.6, 0.6, 0]], "mean_squared_error") is not None
    assert found("VC109", SOFTMAX, [[0.6, 0.6, 0]], "kl_divergence") is None


def test_vc105_leaves_other_losses_alone_even_with_value_counts():
    # Sparse labels have their values counted too (VC103): hinge's check must not read them.
    assert found("VC105", SOFTMAX, [0.0, 3.0, 9.0], "sparse_categorical_crossentropy", THREE) is None

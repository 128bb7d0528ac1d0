"""VC002, VC004, VC101, VC103, VC104, VC201, VC202, the registry and the facts, word for word.

Facts are built by hand, with no model: each finding's code, severity, message, evidence and
fix is worked out from the data in the test, with the numbers at the edges of each condition.
"""

from __future__ import annotations

import types
from dataclasses import replace

import numpy as np
import pytest

from vaecheck.checks import (
    REGISTRY,
    code_for,
    enabled_codes,
    is_model_check,
    needs_data,
    negative_targets,
    rule_doc,
    run_checks,
    statistics_needed,
    unknown_codes,
)
from vaecheck.checks.base import OutputFacts, StatsRequest, sample_axis
from vaecheck.checks.sparse_labels import label_range
from vaecheck.codomain import Codomain
from vaecheck.intervals import INF, Interval
from vaecheck.losses import LossSpec
from vaecheck.report import Fix, ProbeObservation, Rescale, Severity
from vaecheck.stats import measure, recognize

from test_loss_check_table import LINEAR, RELU, SIGMOID, SOFTMAX, TANH, THREE, UNKNOWN, facts, found

# --- VC104: negative targets for Poisson, MSLE and KL divergence ---------------------------------

POISSON_SAYS = (
    "Poisson loss falls as the prediction goes to 0 for a negative target, so these samples drag "
    "predictions to zero and the loss turns negative"
)


def test_vc104_poisson_word_for_word():
    finding = found("VC104", RELU, [-2.0, -0.5, 0.0, 3.0], "poisson")
    assert finding.severity is Severity.ERROR
    assert finding.id == "negative-targets"
    assert finding.output == "out"
    assert finding.message == (
        "50.0% of targets (2 of 4) are negative (down to -2), which poisson does not accept: "
        + POISSON_SAYS
    )
    assert finding.evidence == {"count_negative": 2, "fraction_negative": 0.5}
    assert finding.fix == Fix(
        "change-loss",
        "for targets that can be negative, compile with a loss for signed values",
        loss="keras.losses.MeanSquaredError()",
        rescale=Rescale(1.0, 2.0, 0.0, 5.0),
        alternative="or, if the targets are shifted counts, shift them back to start at 0 "
        "(the lowest is -2)",
    )


def test_vc104_counts_only_finite_targets_and_names_each_loss():
    kl = found("VC104", RELU, [-2.0, np.nan, 1.0, 3.0], "kl_divergence")
    assert kl.message == (
        "33.3% of targets (1 of 3) are negative (down to -2), which kl_divergence does not "
        "accept: Keras clips targets into [1e-7, 1], so each one is silently trained as 1e-7"
    )
    assert kl.evidence == {"count_negative": 1, "fraction_negative": 1 / 3}
    assert kl.fix == Fix(
        "change-targets",
        "KL divergence compares probability distributions: make each target row non-negative "
        "and divide it by its sum",
    )
    msle = found("VC104", RELU, [-2.5, 1.0], "mean_squared_logarithmic_error")
    assert msle.message == (
        "50.0% of targets (1 of 2) are negative (down to -2.5), which "
        "mean_squared_logarithmic_error does not accept: Keras replaces targets below 1e-7 with "
        "1e-7 before the log, so each one is silently trained as 0"
    )
    assert msle.fix.rescale == Rescale(1.0, 2.5, 0.0, 3.5)
    assert msle.fix.alternative.endswith("(the lowest is -2.5)")


def test_vc104_counts_with_thousands_separators():
    finding = found("VC104", RELU, [-1.0] * 1500 + [1.0] * 500, "poisson")
    assert finding.message.startswith("75.0% of targets (1,500 of 2,000) are negative (down to -1)")


def test_vc104_zero_is_not_negative_and_float32_rounding_below_it_is_not_either():
    assert found("VC104", RELU, [0.0, 1.0], "poisson") is None
    assert found("VC104", RELU, [-1e-9, 1.0], "poisson") is None  # within float32 resolution of 0
    assert found("VC104", RELU, [-1e-6, 1.0], "poisson").evidence["count_negative"] == 1


@pytest.mark.parametrize(
    "loss",
    ["mean_squared_error", "binary_crossentropy", None, LossSpec("poisson", known=False)],
)
def test_vc104_only_judges_the_three_built_in_losses(loss):
    assert found("VC104", RELU, [-2.0, 1.0], loss) is None


def test_vc104_asks_for_the_non_negative_counts_only_for_its_losses():
    wanted = StatsRequest(intervals=(Interval(0.0, INF, True, False),))
    for name in ("poisson", "mean_squared_logarithmic_error", "kl_divergence"):
        assert negative_targets.statistics(LossSpec(name), RELU, None) == wanted
    assert negative_targets.statistics(LossSpec("poisson", known=False), RELU, None) == StatsRequest()
    assert negative_targets.statistics(LossSpec("mean_squared_error"), RELU, None) == StatsRequest()
    assert negative_targets.statistics(None, RELU, None) == StatsRequest()


# --- VC101: binary cross-entropy targets outside [0, 1] ------------------------------------------

BCE_FIX_SUMMARY = (
    "rescale the targets into [0, 1], the range binary_crossentropy is defined on, "
    "and back on the way out"
)


def test_vc101_word_for_word():
    finding = found("VC101", SIGMOID, [-1.0, 0.5, 2.0, 3.0], "binary_crossentropy")
    assert finding.severity is Severity.ERROR
    assert finding.id == "binary-targets-outside-unit-interval"
    assert finding.message == (
        "75.0% of targets (3 of 4) lie outside [0, 1] (1 below 0 and 2 above 1): "
        "binary_crossentropy pushes those predictions to 0 or 1 and its loss goes negative"
    )
    assert finding.evidence == {
        "count_outside_unit": 3,
        "count_below_0": 1,
        "count_above_1": 2,
        "fraction_outside_unit": 0.75,
    }
    # "other" real values: their own range [-1, 3] is mapped onto [0, 1].
    assert finding.fix == Fix(
        "rescale-data", BCE_FIX_SUMMARY, rescale=Rescale(0.25, 0.25, 0.0, 1.0), rescale_for="sigmoid"
    )


def test_vc101_targets_only_below_0():
    finding = found("VC101", SIGMOID, [-1.0, np.nan, 0.5], "binary_crossentropy")
    assert finding.message == (
        "50.0% of targets (1 of 2) lie outside [0, 1] (1 below 0): "
        "binary_crossentropy pushes those predictions to 0 or 1 and its loss goes negative"
    )
    assert finding.evidence == {
        "count_outside_unit": 1, "count_below_0": 1, "count_above_1": 0, "fraction_outside_unit": 0.5,
    }
    # Data in [-1, 1]: its nominal range [-1, 1] is mapped onto [0, 1].
    assert finding.fix.rescale == Rescale(0.5, 0.5, 0.0, 1.0)


def test_vc101_8_bit_images_and_standardized_data():
    images = found("VC101", SIGMOID, [0.0, 255.0, 128.0, 300.0], "binary_crossentropy")
    assert images.message.startswith("75.0% of targets (3 of 4) lie outside [0, 1] (3 above 1): ")
    assert images.evidence["count_below_0"] == 0
    standardized = found("VC101", TANH, [-1.5, -0.5, 0.5, 1.5], "binary_crossentropy")
    assert standardized.fix == Fix(
        "rescale-data",
        BCE_FIX_SUMMARY,
        rescale=Rescale(1 / 3, 0.5, 0.0, 1.0),
        rescale_for="tanh",
        alternative="or, as these data are not probabilities, use mean_squared_error with a "
        "linear output",
    )
    assert found("VC101", LINEAR, [0.0, 2.0], "binary_focal_crossentropy").fix.rescale_for is None


def test_vc101_passes_on_the_closed_unit_interval():
    assert found("VC101", SIGMOID, [0.0, 1.0, 0.5], "binary_crossentropy") is None
    # Within float32 resolution of the ends.
    assert found("VC101", SIGMOID, [-1e-9, 1.0 + 1e-9], "binary_crossentropy") is None
    assert found("VC101", SIGMOID, [-2.0, 3.0], "mean_squared_error") is None
    assert found("VC101", SIGMOID, [-2.0, 3.0]) is None


# --- VC004: a range vaecheck cannot determine ----------------------------------------------------

PROBE_FIX = Fix(
    kind="make-range-known",
    summary="run with --probe to see the range the model produces past 'out' (add "
    "--custom-objects FILE.py defining the layer if Keras cannot load it); or, to have the range "
    "proven, build 'out' from built-in layers (Activation, Rescaling, Dense with an activation)",
)
PROBED_FIX = Fix(
    kind="make-range-known",
    summary="the probe's range is observed, not proven; to have the range proven, build 'out' "
    "from built-in layers (Activation, Rescaling, Dense with an activation)",
)


def observation(low, high, samples=100, inputs="data", fraction_outside=None):
    return ProbeObservation(
        low=low, high=high, samples=samples, inputs=inputs, safe_mode=True, values=800,
        nonfinite=0, count_outside=None, fraction_outside=fraction_outside,
    )


def probed(codomain, values, observed, loss=None):
    return replace(facts(codomain, values, loss), observed=observed)


def only(code, output_facts):
    hits = [f for f in run_checks(output_facts) if f.code == code]
    assert len(hits) <= 1
    return hits[0] if hits else None


def test_vc004_without_probe():
    finding = found("VC004", UNKNOWN, [1.0, 2.0])
    assert finding.severity is Severity.WARNING
    assert finding.id == "unknown-codomain"
    assert finding.message == (
        "the output range is unknown at out (Lambda layer (its code is not read)); "
        "the data was not compared"
    )
    assert finding.evidence == {"layer": "out", "reason": "Lambda layer (its code is not read)"}
    assert finding.fix == PROBE_FIX
    assert found("VC004", LINEAR, [1.0, 2.0]) is None


def test_vc004_with_what_the_probe_saw():
    finding = only("VC004", probed(UNKNOWN, [1.0, 2.0], observation(0.5, 2.5, fraction_outside=0.25)))
    assert finding.message == (
        "the output range is unknown at out (Lambda layer (its code is not read)); --probe observed "
        "[0.5, 2.5] (observed, not proven), and 25.0% of the data lies outside it"
    )
    assert finding.fix == PROBED_FIX
    plain = only("VC004", probed(UNKNOWN, [1.0, 2.0], observation(0.5, 2.5)))
    assert plain.message.endswith("; --probe observed [0.5, 2.5] (observed, not proven)")
    # Nothing finite came out: nothing to show, but the model was probed.
    nothing = only("VC004", probed(UNKNOWN, [1.0, 2.0], observation(None, None)))
    assert nothing.message.endswith("; the data was not compared")
    assert nothing.fix == PROBED_FIX
    half = only("VC004", probed(UNKNOWN, [1.0, 2.0], observation(0.5, None)))
    assert half.message.endswith("; the data was not compared")
    half = only("VC004", probed(UNKNOWN, [1.0, 2.0], observation(None, 0.5)))
    assert half.message.endswith("; the data was not compared")


def test_vc004_runs_on_a_model_alone():
    alone = OutputFacts("out", UNKNOWN, None, None, None, None)
    assert [(f.code, f.message) for f in run_checks(alone)] == [
        ("VC004", "the output range is unknown at out (Lambda layer (its code is not read)); "
         "the data was not compared")
    ]
    assert list(run_checks(OutputFacts("out", SIGMOID, None, None, None, None))) == []


# --- VC201: the model produced values outside the computed codomain -------------------------------

FLOAT32_EPS = float(np.finfo(np.float32).eps)


def test_vc201_word_for_word():
    chain = Codomain(Interval.closed(-2.0, 2.0), bounded_by=("h: tanh", "out: Rescaling(2)"))
    finding = only("VC201", probed(chain, [0.0, 1.0], observation(-2.5, 3.0)))
    assert finding.severity is Severity.ERROR
    assert finding.id == "observed-outside-codomain"
    assert finding.message == (
        "internal error in vaecheck: running the model gave values down to -2.5 and up to 3, "
        "outside the codomain [-2, 2] computed from h: tanh → out: Rescaling(2); the static "
        "verdict for this output is wrong. Please report this bug with the model's configuration"
    )
    assert finding.evidence == {
        "observed_min": -2.5, "observed_max": 3.0, "codomain_low": -2.0, "codomain_high": 2.0,
    }
    assert finding.fix is None
    plain = Codomain(Interval.closed(-2.0, 2.0))
    up = only("VC201", probed(plain, [0.0, 1.0], observation(0.0, 2.5)))
    assert up.message == (
        "internal error in vaecheck: running the model gave values up to 2.5, outside the "
        "codomain [-2, 2] computed from the output; the static verdict for this output is wrong. "
        "Please report this bug with the model's configuration"
    )
    down = only("VC201", probed(RELU, [0.0, 1.0], observation(-0.25, 1.0)))
    assert "gave values down to -0.25, outside the codomain [0, inf) computed from out: relu;" in (
        down.message
    )
    assert down.evidence["codomain_high"] == INF


@pytest.mark.parametrize(
    ("bound", "scale"), [(0.0, 1.0), (1.0, 1.0), (-1.0, 1.0), (1000.0, 1000.0), (-1000.0, 1000.0)]
)
def test_vc201_float32_tolerance_at_each_end(bound, scale):
    """An end is crossed by more than 4 float32 steps of max(1, |end|), never less."""
    tolerance = 4 * FLOAT32_EPS * scale
    below = Codomain(Interval(bound, INF, True, False))
    above = Codomain(Interval(-INF, bound, False, True))
    inside_low = bound - 0.5 * tolerance
    inside_high = bound + 0.5 * tolerance
    assert only("VC201", probed(below, [0.0], observation(inside_low, bound + 1))) is None
    assert only("VC201", probed(above, [0.0], observation(bound - 1, inside_high))) is None
    assert only("VC201", probed(below, [0.0], observation(bound - tolerance, bound + 1))) is None
    assert only("VC201", probed(above, [0.0], observation(bound - 1, bound + tolerance))) is None
    assert only("VC201", probed(below, [0.0], observation(bound - 2 * tolerance, bound + 1)))
    assert only("VC201", probed(above, [0.0], observation(bound - 1, bound + 2 * tolerance)))


def test_vc201_has_nothing_to_compare():
    assert only("VC201", probed(UNKNOWN, [0.0], observation(-5.0, 5.0))) is None
    assert only("VC201", facts(RELU, [0.0])) is None
    assert only("VC201", probed(RELU, [0.0], observation(None, None))) is None
    assert only("VC201", probed(RELU, [0.0], observation(-5.0, None))) is None
    assert only("VC201", probed(SIGMOID, [0.5], observation(None, 5.0))) is None
    # Infinite ends bound nothing.
    assert only("VC201", probed(LINEAR, [0.0], observation(-1e300, 1e300))) is None


# --- VC202: an output that barely moves ----------------------------------------------------------

HARDLY = ": the output hardly depends on its input, so it cannot follow the data"


def test_vc202_pinned_sigmoid_word_for_word():
    finding = only("VC202", probed(SIGMOID, [0.2, 0.8], observation(0.499, 0.501, samples=1234)))
    assert finding.severity is Severity.WARNING
    assert finding.id == "observed-range-narrow"
    assert finding.message == (
        "on 1,234 data samples the values stayed in [0.499, 0.501], 0.2% of the width of the "
        "codomain (0, 1)" + HARDLY
    )
    assert finding.evidence == {
        "observed_min": 0.499, "observed_max": 0.501, "observed_span_fraction": 0.501 - 0.499,
    }
    assert finding.fix is None


def test_vc202_against_the_data_range_when_the_codomain_is_unbounded():
    finding = only("VC202", probed(LINEAR, [-2.0, 3.0], observation(-0.01, 0.01, inputs="latent N(0,I) x1")))
    assert finding.message == (
        "on 100 inputs (latent N(0,I) x1) the values stayed in [-0.01, 0.01], 0.4% of the width "
        "of the data's range [-2, 3]" + HARDLY
    )
    assert finding.evidence["observed_span_fraction"] == pytest.approx(0.004)
    unknown = only("VC202", probed(UNKNOWN, [-2.0, 3.0], observation(1.0, 1.01)))
    assert "0.2% of the width of the data's range [-2, 3]" in unknown.message


def test_vc202_every_value_the_same():
    dead = only("VC202", probed(RELU, [0.0, 3.0], observation(0.0, 0.0)))
    assert dead.message == (
        "on 100 data samples every value was 0 (a dead relu: its inputs were all negative)" + HARDLY
    )
    assert dead.evidence == {"observed_min": 0.0, "observed_max": 0.0, "observed_span_fraction": 0.0}
    stuck = only("VC202", probed(RELU, [0.0, 3.0], observation(2.0, 2.0)))
    assert stuck.message == "on 100 data samples every value was 2" + HARDLY
    zero = only("VC202", probed(LINEAR, [-1.0, 3.0], observation(0.0, 0.0)))
    assert zero.message == "on 100 data samples every value was 0" + HARDLY
    pinned = only("VC202", probed(SIGMOID, [0.2, 0.8], observation(0.5, 0.5)))
    assert pinned.message == "on 100 data samples every value was 0.5" + HARDLY


def test_vc202_narrow_means_at_most_1_percent():
    # The data span 100: a span of exactly 1 is narrow, 1.5 is not.
    assert only("VC202", probed(LINEAR, [0.0, 100.0], observation(0.0, 1.0))) is not None
    assert only("VC202", probed(LINEAR, [0.0, 100.0], observation(0.0, 1.5))) is None
    # A codomain of width 4 (tanh times 2): a span of 0.04 is narrow, 0.08 is not.
    wide = Codomain(Interval.open(-2.0, 2.0), bounded_by=("out: tanh",))
    assert only("VC202", probed(wide, [0.0, 100.0], observation(0.0, 0.04))) is not None
    assert only("VC202", probed(wide, [0.0, 100.0], observation(0.0, 0.08))) is None


def test_vc202_has_nothing_to_compare():
    # Data of one value: no span to compare with.
    assert only("VC202", probed(LINEAR, [2.0, 2.0], observation(2.0, 2.0))) is None
    assert only("VC202", probed(LINEAR, [np.nan], observation(2.0, 2.0))) is None
    assert only("VC202", probed(SIGMOID, [0.5], observation(None, None))) is None
    assert only("VC202", probed(SIGMOID, [0.5], observation(0.5, None))) is None
    assert only("VC202", probed(SIGMOID, [0.5], observation(None, 0.5))) is None
    assert only("VC202", facts(SIGMOID, [0.5])) is None


# --- VC103: sparse categorical labels that are not class indices ----------------------------------

SPARSE = "sparse_categorical_crossentropy"
OUTSIDE_TAIL = ": TensorFlow stops with an error on CPU and returns NaN losses on GPU"
RELABEL = (
    "relabel the classes 0..C-1, or pass ignore_class= for a label that marks samples to skip"
)


def sparse(values, loss=SPARSE, shape=THREE):
    return found("VC103", SOFTMAX, values, loss, shape)


def test_vc103_one_hot_rows_in_place_of_indices():
    finding = sparse([[1, 0, 0], [0, 1, 0]])
    assert finding.severity is Severity.ERROR
    assert finding.id == "sparse-labels-invalid"
    assert finding.message == (
        "targets have one value per class (rows of 3, like the output), but "
        "sparse_categorical_crossentropy expects one class index per sample: Keras fails on the shapes"
    )
    assert finding.evidence == {"target_shape": [3], "classes": 3}
    assert finding.fix == Fix(
        "change-loss",
        "for one-hot or soft targets, compile with categorical cross-entropy",
        loss="keras.losses.CategoricalCrossentropy()",
        alternative="or turn the rows into class indices: y = y.argmax(axis=-1)",
    )
    logits = sparse([[1, 0, 0]], LossSpec(SPARSE, from_logits=True))
    assert logits.fix.loss == "keras.losses.CategoricalCrossentropy(from_logits=True)"


def test_vc103_fractional_labels():
    finding = sparse([0.7, 1, 2])
    assert finding.message == (
        "33.3% of labels (1) are not integers, and Keras truncates them to one (0.7 becomes class 0)"
    )
    assert finding.evidence == {
        "count_non_integer": 1, "count_below_0": 0, "count_above_last_class": 0, "classes": 3,
    }
    assert finding.fix == Fix(
        "change-loss",
        "for soft or fractional targets, compile with categorical cross-entropy on rows of "
        "class probabilities",
        loss="keras.losses.CategoricalCrossentropy()",
        alternative="or turn the labels into integer class indices 0..C-1",
    )
    both = sparse([-1.5, 0, 1, np.nan])
    assert both.message == (
        "33.3% of labels (1) are not integers, and Keras truncates them to one (0.7 becomes class "
        "0); 1 of 3 labels lie outside 0..2 for this output's 3 units (labels -1.5 to 1)"
        + OUTSIDE_TAIL
    )
    assert both.evidence == {
        "count_non_integer": 1, "count_below_0": 1, "count_above_last_class": 0, "classes": 3,
    }
    assert both.fix.kind == "change-loss"


def test_vc103_labels_counting_from_1():
    finding = sparse([1, 2, 3])
    assert finding.message == (
        "1 of 3 labels lie outside 0..2 for this output's 3 units (labels 1 to 3)" + OUTSIDE_TAIL
    )
    assert finding.evidence == {
        "count_non_integer": 0, "count_below_0": 0, "count_above_last_class": 1, "classes": 3,
    }
    assert finding.fix == Fix(
        "change-targets",
        "the labels count from 1: subtract 1 so that they run 0..2",
        rescale=Rescale(1.0, -1.0, 0.0, 2.0),
    )
    assert sparse([1, 3]).fix.kind == "change-targets"


def test_vc103_labels_past_the_last_unit():
    finding = sparse([0, 1, 5])
    assert finding.message == (
        "1 of 3 labels lie outside 0..2 for this output's 3 units (labels 0 to 5)" + OUTSIDE_TAIL
    )
    assert finding.fix == Fix(
        "change-activation",
        "give the output one unit per class: 6 units for labels up to 5, or relabel the classes 0..2",
    )
    # Starting at 2, not at 1: not a count from 1.
    assert sparse([2, 3]).fix.summary.startswith("give the output one unit per class: 4 units")
    # Starting at 1 but ending past the units: not a count from 1 either.
    assert sparse([1, 4]).fix.summary.startswith("give the output one unit per class: 5 units")
    many = sparse([5.0] * 1200 + [0.0] * 800)
    assert many.message.startswith("1,200 of 2,000 labels lie outside 0..2 ")


def test_vc103_negative_labels():
    finding = sparse([-1, 0, 1])
    assert finding.message == (
        "1 of 3 labels lie outside 0..2 for this output's 3 units (labels -1 to 1)" + OUTSIDE_TAIL
    )
    assert finding.evidence == {
        "count_non_integer": 0, "count_below_0": 1, "count_above_last_class": 0, "classes": 3,
    }
    assert finding.fix == Fix(
        "change-targets", RELABEL, loss="keras.losses.SparseCategoricalCrossentropy(ignore_class=-1)"
    )
    both = sparse([-1, 0, 1, 5])
    assert both.message.startswith("2 of 4 labels lie outside 0..2 ")
    assert both.evidence["count_below_0"] == 1 and both.evidence["count_above_last_class"] == 1
    assert both.fix.kind == "change-targets"
    logits = sparse([[-1], [0], [2]], LossSpec(SPARSE, from_logits=True))
    assert logits.fix.loss == (
        "keras.losses.SparseCategoricalCrossentropy(ignore_class=-1, from_logits=True)"
    )


def test_vc103_with_no_unit_count():
    finding = sparse([-1, 0, 5], shape=(None,))
    assert finding.message == (
        "1 of 3 labels lie outside 0 or more (labels -1 to 5)" + OUTSIDE_TAIL
    )
    assert finding.evidence["classes"] is None
    above_only = sparse([0, 7], shape=(None,))
    assert above_only is None


def test_vc103_ignore_class_is_not_counted_outside():
    assert sparse([-1, 0, 2], LossSpec(SPARSE, ignore_class=-1)) is None
    assert sparse([3, 0, 1], LossSpec(SPARSE, ignore_class=3)) is None
    other = sparse([-1, -2, 0], LossSpec(SPARSE, ignore_class=-1))
    assert other.evidence["count_below_0"] == 1
    assert other.fix.loss == "keras.losses.SparseCategoricalCrossentropy(ignore_class=-2)"
    high = sparse([3, 4, 0], LossSpec(SPARSE, ignore_class=3))
    assert high.evidence["count_above_last_class"] == 1
    # An ignore_class among the classes takes nothing away from either side.
    inside = sparse([-1, 3, 1], LossSpec(SPARSE, ignore_class=1))
    assert inside.evidence["count_below_0"] == 1
    assert inside.evidence["count_above_last_class"] == 1
    # An ignore_class below 0 is not taken from the labels above, nor one above from those below.
    crossed = sparse([-1, 3, 0], LossSpec(SPARSE, ignore_class=-1))
    assert crossed.evidence["count_above_last_class"] == 1
    crossed = sparse([-1, 3, 0], LossSpec(SPARSE, ignore_class=3))
    assert crossed.evidence["count_below_0"] == 1


def test_vc103_passes():
    assert sparse([0, 1, 2]) is None
    assert sparse([[0], [2]]) is None
    assert sparse([np.nan, np.nan]) is None
    assert sparse([0.5, 7], "categorical_crossentropy") is None
    assert sparse([0.5, 7], None) is None


def test_vc103_label_range_is_the_output_s_class_indices():
    assert label_range((None, 3)) == Interval.closed(0.0, 2.0)
    assert label_range((None, 1)) == Interval.closed(0.0, 0.0)
    # With no unit count, labels only have to be 0 or more.
    anything = Interval(0.0, INF, True, False)
    for shape in (None, (), (None,), (None, None), (None, 0)):
        assert label_range(shape) == anything
        assert str(label_range(shape)) == "[0, inf)"


def test_vc103_on_an_output_of_one_or_two_units():
    # One unit: the only class index is 0, and targets (N, 1) are indices, not rows.
    assert sparse([[0], [0]], shape=(None, 1)) is None
    one = sparse([[0], [1]], shape=(None, 1))
    assert one.message == (
        "1 of 2 labels lie outside 0..0 for this output's 1 units (labels 0 to 1)" + OUTSIDE_TAIL
    )
    assert one.fix.summary == (
        "give the output one unit per class: 2 units for labels up to 1, or relabel the classes 0..0"
    )
    two = sparse([[1, 0], [0, 1]], shape=(None, 2))
    assert two.message.startswith("targets have one value per class (rows of 2, like the output)")


def test_vc103_fractional_labels_keep_the_logits_in_the_fix():
    finding = sparse([0.7, 1, 2], LossSpec(SPARSE, from_logits=True))
    assert finding.fix.loss == "keras.losses.CategoricalCrossentropy(from_logits=True)"


def test_vc103_an_ignore_class_of_0_is_one_of_the_classes():
    finding = sparse([-1, 0, 0, 1], LossSpec(SPARSE, ignore_class=0))
    assert finding.evidence["count_below_0"] == 1
    assert finding.message.startswith("1 of 4 labels lie outside 0..2 ")


def test_vc103_judges_only_what_was_measured():
    """Facts measured without VC103's request: no label counts and no counts against 0..C-1."""
    def unrequested(values):
        data = np.asarray(values, dtype=np.float64)
        stats = measure([data], data.shape, data.dtype, [])
        assert stats.value_counts is None and stats.edges == ()
        return OutputFacts("out", SOFTMAX, stats, recognize(stats), None, LossSpec(SPARSE), shape=THREE)

    # Integer labels: none is fractional, and the range was not measured, so nothing to say.
    assert [f.code for f in run_checks(unrequested([0.0, 1.0, 5.0]))] == []
    [finding] = run_checks(unrequested([0.5, 1.0, 2.0]))
    assert finding.code == "VC103"
    assert finding.fix.kind == "change-loss"
    assert finding.evidence["count_below_0"] == 0
    assert finding.evidence["count_above_last_class"] == 0


# --- VC002: data on an end the output only approaches --------------------------------------------

SATURATES = "reaches them only in the limit, which saturates training"


def test_vc002_word_for_word():
    finding = found("VC002", SIGMOID, [0.0, 1.0, 0.5, np.nan, 0.5])
    assert finding.severity is Severity.WARNING
    assert finding.id == "data-on-open-end"
    assert finding.message == (
        f"50.0% of values (2) sit exactly on 0 and 1, the open end(s) of (0, 1): sigmoid {SATURATES}"
    )
    assert finding.evidence == {"count_on_open_end": 2, "fraction_on_open_end": 0.5}
    assert finding.fix is None
    low = found("VC002", SIGMOID, [0.0, 0.5])
    assert low.message == (
        f"50.0% of values (1) sit exactly on 0, the open end(s) of (0, 1): sigmoid {SATURATES}"
    )
    high = found("VC002", TANH, [1.0 - 1e-9, 0.5, 0.2, 0.1], "mean_absolute_error")
    assert high.message == (
        "25.0% of values (1) sit exactly on 1, the open end(s) of (-1, 1): trained with "
        f"mean_absolute_error, tanh {SATURATES}"
    )
    assert high.severity is Severity.WARNING


def test_vc002_only_open_ends_count():
    half_open = Codomain(Interval(0.0, 1.0, True, False))
    finding = found("VC002", half_open, [0.0, 1.0, 0.5])
    assert finding.message == (
        f"33.3% of values (1) sit exactly on 1, the open end(s) of [0, 1): the output {SATURATES}"
    )
    other = Codomain(Interval(0.0, 1.0, False, True))
    assert found("VC002", other, [0.0, 1.0, 0.5]).message.startswith(
        "33.3% of values (1) sit exactly on 0, the open end(s) of (0, 1]: "
    )
    assert found("VC002", RELU, [0.0, 1.0]) is None
    assert found("VC002", Codomain(Interval.closed(0.0, 1.0)), [0.0, 1.0]) is None
    assert found("VC002", SIGMOID, [0.2, 0.8]) is None


def test_vc002_is_info_where_the_loss_expects_the_ends():
    bce = found("VC002", SIGMOID, [0.0, 1.0, 0.5, 0.5], "binary_crossentropy")
    assert bce.message == (
        "50.0% of values (2) sit exactly on 0 and 1, the open end(s) of (0, 1): expected with "
        "binary_crossentropy"
    )
    assert bce.severity is Severity.INFO
    softplus = Codomain(Interval(0.0, INF, False, False), bounded_by=("out: softplus",))
    counts = found("VC002", softplus, [0.0, 3.0], "poisson")
    assert counts.message.endswith("the open end(s) of (0, inf): expected with poisson")
    assert counts.severity is Severity.INFO
    rows = found("VC002", SOFTMAX, [[1, 0, 0], [0, 1, 0]], "kl_divergence")
    assert rows.message == (
        "100.0% of values (6) sit exactly on 0 and 1, the open end(s) of (0, 1): expected with "
        "kl_divergence"
    )
    assert rows.severity is Severity.INFO


def test_vc002_leaves_the_values_to_other_checks():
    assert found("VC002", SIGMOID, [0.0, 2.0]) is None  # beyond an end: VC001's
    assert found("VC002", UNKNOWN, [0.0, 1.0]) is None
    assert found("VC002", SIGMOID, [0.0, 1.0], LossSpec("binary_crossentropy", from_logits=True)) is None
    assert found("VC002", SOFTMAX, [[1, 0, 1], [0, 1, 0]]) is None  # multi-hot: VC109's


# --- VC109 at the float32 tolerance of 0 and 1 ----------------------------------------------------


def test_vc109_takes_values_within_4_float32_steps_of_0_and_1_as_probabilities():
    step = 4 * FLOAT32_EPS  # exact in float64, like 1 + step
    assert found("VC109", SOFTMAX, [[1, -step, 1], [0, 1, 0]]) is not None
    assert found("VC109", SOFTMAX, [[1 + step, 0, 1], [0, 1, 0]]) is not None
    # Further out, the values are not probabilities: VC001 reports them, and VC109 stays silent.
    assert found("VC109", SOFTMAX, [[1, -1.5 * step, 1], [0, 1, 0]]) is None
    assert found("VC109", SOFTMAX, [[1 + 1.5 * step, 0, 1], [0, 1, 0]]) is None
    assert found("VC001", SOFTMAX, [[1 + 1.5 * step, 0, 1], [0, 1, 0]]) is not None


# --- The registry: which checks run, under which code and severity -------------------------------

OUTPUT_CHECKS = {
    "VC001": ("data-outside-codomain", Severity.ERROR),
    "VC002": ("data-on-open-end", Severity.WARNING),
    "VC003": ("nonfinite-data", Severity.ERROR),
    "VC004": ("unknown-codomain", Severity.WARNING),
    "VC101": ("binary-targets-outside-unit-interval", Severity.ERROR),
    "VC103": ("sparse-labels-invalid", Severity.ERROR),
    "VC104": ("negative-targets", Severity.ERROR),
    "VC201": ("observed-outside-codomain", Severity.ERROR),
    "VC202": ("observed-range-narrow", Severity.WARNING),
}


def test_codes_ids_severities_and_what_each_needs():
    for code, (ident, severity) in OUTPUT_CHECKS.items():
        module = REGISTRY[code]
        assert (module.CODE, module.ID, module.SEVERITY) == (code, ident, severity)
        assert not is_model_check(module)
        assert needs_data(module) is (code != "VC004")
    assert is_model_check(REGISTRY["VC301"])
    assert list(REGISTRY)[:4] == ["VC001", "VC002", "VC003", "VC004"]


def test_code_for_reads_codes_and_ids_in_any_case():
    assert code_for("VC001") == "VC001"
    assert code_for("vc104") == "VC104"
    assert code_for("  vc104 ") == "VC104"
    assert code_for("negative-targets") == "VC104"
    assert code_for("Negative-Targets") == "VC104"
    assert code_for(" Data-Outside-Codomain ") == "VC001"
    assert code_for("VC999") is None
    assert code_for("negative") is None
    assert unknown_codes(["VC001", "vc999", "negative-targets", "nope"]) == ["vc999", "nope"]
    assert unknown_codes([]) == []


def test_enabled_codes():
    assert enabled_codes() == frozenset(REGISTRY)
    assert enabled_codes(ignore=["vc001", "negative-targets"]) == frozenset(REGISTRY) - {"VC001", "VC104"}
    assert enabled_codes(["vc001", "Data-On-Open-End", "VC104"], ["VC104"]) == {"VC001", "VC002"}
    assert enabled_codes([]) == frozenset()
    with pytest.raises(ValueError) as error:
        enabled_codes(["VC001", "VC999"], ["bogus"])
    assert str(error.value) == (
        "unknown check code 'VC999', 'bogus' (known: " + ", ".join(REGISTRY) + ")"
    )


def test_run_checks_filters_stamps_and_configures_severity():
    on_ends = facts(SIGMOID, [0.0, 1.0, 0.5, np.nan], "binary_crossentropy")
    assert [(f.code, f.id, f.severity, f.output) for f in run_checks(on_ends)] == [
        ("VC002", "data-on-open-end", Severity.INFO, "out"),
        ("VC003", "nonfinite-data", Severity.ERROR, "out"),
    ]
    # A configured severity wins over the check's own choice for the instance.
    configured = run_checks(on_ends, {"VC002": Severity.ERROR, "VC003": Severity.WARNING})
    assert [(f.code, f.severity) for f in configured] == [
        ("VC002", Severity.ERROR), ("VC003", Severity.WARNING),
    ]
    # Configuring another check leaves the instance's own severity.
    other = run_checks(on_ends, {"VC001": Severity.WARNING})
    assert [(f.code, f.severity) for f in other] == [("VC002", Severity.INFO), ("VC003", Severity.ERROR)]
    assert [f.code for f in run_checks(on_ends, enabled={"VC003", "VC301"})] == ["VC003"]
    assert list(run_checks(on_ends, enabled=set())) == []
    negative = facts(RELU, [-1.0, 1.0], "poisson")
    [vc104] = run_checks(negative, {"VC104": Severity.WARNING})  # VC001 leaves them to VC104
    assert (vc104.code, vc104.severity) == ("VC104", Severity.WARNING)
    assert vc104.message.startswith("50.0% of targets (1 of 2) are negative")
    assert vc104.evidence == {"count_negative": 1, "fraction_negative": 0.5}
    assert vc104.fix.kind == "change-loss"


def test_statistics_needed_asks_each_check_once():
    unit = Interval.closed(0.0, 1.0)
    assert statistics_needed(LossSpec("binary_crossentropy"), SIGMOID, (None, 4)).intervals == (unit,)
    assert statistics_needed(LossSpec("poisson"), RELU, (None, 4)).intervals == (
        Interval(0.0, INF, True, False),
    )
    assert statistics_needed(LossSpec("mean_squared_error"), LINEAR, (None, 4)) == StatsRequest()
    assert statistics_needed(None, LINEAR, None) == StatsRequest()
    sparse_request = statistics_needed(LossSpec(SPARSE, ignore_class=-1), SOFTMAX, THREE)
    assert sparse_request.intervals == (Interval.closed(0.0, 2.0),)
    assert sparse_request.value_counts == (-1.0,)


def test_rule_doc_is_the_module_docstring():
    assert rule_doc(REGISTRY["VC104"]).startswith(
        "Negative targets for a loss that takes counts or logarithms: Poisson, MSLE, KL divergence."
    )
    assert rule_doc(REGISTRY["VC104"]).endswith("or `mean_squared_error` for signed targets.")
    assert rule_doc(types.ModuleType("bare")) == ""
    assert rule_doc(types.ModuleType("spaced", "  a rule  \n")) == "a rule"


# --- What every check sees: the facts' derived shapes and the statistics requests ----------------


def bare(codomain=LINEAR, shape=None, loss=None):
    return OutputFacts("out", codomain, None, None, None, loss, shape=shape)


def test_sample_axis_counts_from_the_end_and_never_names_the_batch():
    assert sample_axis(-1, None) == -1
    assert sample_axis(-2, (None, 3)) == -2
    assert sample_axis(1, (None, 4)) == -1
    assert sample_axis(1, (None, 3, 4)) == -2
    assert sample_axis(2, (None, 3, 4)) == -1
    assert sample_axis(3, (None, 3, 4)) is None
    assert sample_axis(0, (None, 3, 4)) is None
    assert sample_axis(1, None) is None


def test_units_and_the_softmax_axis_size():
    assert bare(shape=None).units is None
    assert bare(shape=()).units is None
    assert bare(shape=(None, 4)).units == 4
    softmax = Codomain(Interval.open(0.0, 1.0), simplex_axis=-1)
    assert bare(softmax, (None, 3)).softmax_axis == -1
    assert bare(softmax, (None, 3)).softmax_axis_size == 3
    assert bare(LINEAR, (None, 3)).softmax_axis is None
    assert bare(LINEAR, (None, 3)).softmax_axis_size is None
    first = Codomain(Interval.open(0.0, 1.0), simplex_axis=1)
    assert bare(first, (None, 5, 3)).softmax_axis_size == 5
    batch = Codomain(Interval.open(0.0, 1.0), simplex_axis=-2)
    assert bare(batch, (7, 3)).softmax_axis_size == 7  # the first axis, counted from the end
    past = Codomain(Interval.open(0.0, 1.0), simplex_axis=2)
    assert bare(past, (None, 3)).softmax_axis_size is None
    before = Codomain(Interval.open(0.0, 1.0), simplex_axis=-3)
    assert bare(before, (None, 3)).softmax_axis_size is None
    assert bare(softmax, (None, None)).softmax_axis_size is None
    assert bare(softmax, None).softmax_axis_size is None
    # A softmax over a single value is the constant 1, whatever the shape says.
    one = Codomain(Interval.closed(1.0, 1.0), simplex_axis=-1)
    assert bare(one, None).softmax_axis_size == 1
    assert bare(one, (None, None)).softmax_axis_size == 1
    assert bare(Codomain(Interval.closed(0.0, 1.0), simplex_axis=-1), None).softmax_axis_size is None
    assert bare(Codomain(Interval.closed(1.0, 2.0), simplex_axis=-1), None).softmax_axis_size is None


@pytest.mark.parametrize(
    ("shape", "values", "sparse_targets"),
    [
        ((None, 3), [0, 1], True),  # (N,) against (None, C)
        ((None, 3), [[0], [1]], True),  # (N, 1)
        ((None, 3), [[0, 1, 0]], False),  # one-hot rows
        ((None, 5, 3), [[0] * 5], True),  # a class per step of a sequence
        ((None, 5, 3), [[[0]] * 5], True),
        ((None, 5, 3), [[0] * 4], False),
        ((None, None, 3), [[0] * 7], True),
        ((None, 5, 3), [0, 1], False),
        ((None, 1), [0, 1], False),
        ((None, None), [0, 1], False),
        ((None,), [0, 1], False),
        (None, [0, 1], False),
    ],
)
def test_sparse_targets_are_class_indices_shaped_like_the_output(shape, values, sparse_targets):
    data = np.asarray(values, dtype=np.float64)
    output = replace(facts(LINEAR, data), shape=shape)
    assert output.sparse_targets is sparse_targets
    assert output.targets_are_output_values is (not sparse_targets)


def test_targets_are_output_values_follows_the_loss():
    assert facts(LINEAR, [[0.5, 0.5]]).targets_are_output_values
    assert facts(LINEAR, [[0.5, 0.5]], "mean_squared_error").targets_are_output_values
    logits = LossSpec("binary_crossentropy", from_logits=True)
    assert not facts(LINEAR, [[0.5, 0.5]], logits).targets_are_output_values


def test_row_sums_along_a_tensor_axis():
    rows = facts(SOFTMAX, [[0.5, 0.5, 0.0], [1.0, 1.0, 0.0]], "categorical_crossentropy", THREE)
    sums = rows.row_sums(1)
    assert (sums.axis, sums.width, sums.rows, sums.below, sums.above) == (-1, 3, 2, 0, 1)
    assert rows.row_sums(-1) == sums
    assert rows.row_sums(0) is None
    assert rows.row_sums(2) is None


def test_stats_request_union_keeps_the_first_of_each_in_order():
    a, b, c = Interval.closed(0.0, 1.0), Interval.open(-1.0, 1.0), Interval(0.0, INF, True, False)
    union = StatsRequest.union(
        [
            StatsRequest(intervals=(a, b), row_axes=(-1,)),
            StatsRequest(intervals=(b, c), row_axes=(-2, -1)),
        ]
    )
    assert union == StatsRequest((a, b, c), (-1, -2), None)
    counted = StatsRequest.union(
        [StatsRequest(value_counts=(2.0, -1.0)), StatsRequest(), StatsRequest(value_counts=(-1.0, 5.0))]
    )
    assert counted.value_counts == (2.0, -1.0, 5.0)
    # Asking for counts of no particular value still asks for the non-integer count.
    assert StatsRequest.union([StatsRequest(value_counts=())]).value_counts == ()
    assert StatsRequest.union([StatsRequest(), StatsRequest()]) == StatsRequest()
    assert StatsRequest.union([]) == StatsRequest()


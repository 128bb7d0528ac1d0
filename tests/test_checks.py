"""Each check on a table of passing and failing facts; the registry is complete and unique."""

from __future__ import annotations

import numpy as np
import pytest

from vaecheck.checks import REGISTRY, OutputFacts, rule_doc, run_checks, statistics_needed
from vaecheck.codomain import Codomain
from vaecheck.intervals import INF, Interval
from vaecheck.losses import LossSpec, loss_spec
from vaecheck.report import Severity
from vaecheck.stats import measure, recognize

RELU = Codomain(Interval(0.0, INF, True, False), bounded_by=("dec_out: relu",))
SIGMOID = Codomain(Interval.open(0.0, 1.0), bounded_by=("dec_out: sigmoid",))
TANH = Codomain(Interval.open(-1.0, 1.0), bounded_by=("image: tanh",))
LINEAR = Codomain(Interval.real_line())
UNKNOWN = Codomain.unknown("decoder › triple", "Lambda layer (its code is not read)")


def facts(
    codomain: Codomain, values, loss: str | LossSpec | None = None, shape=None
) -> OutputFacts:
    """The facts for one output; its shape is the data's unless given (a classifier's labels)."""
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
        output="out",
        codomain=codomain,
        stats=stats,
        data_kind=recognize(stats),
        edges=stats.edges_for(codomain.interval) if codomain.interval is not None else None,
        loss=spec,
        shape=shape,
    )


def findings(f: OutputFacts) -> list[tuple[str, Severity]]:
    return [(x.code, x.severity) for x in run_checks(f)]


CASES = [
    # (codomain, data, loss, expected findings)
    (RELU, [-1.0, 0.5, 2.0], None, [("VC001", Severity.ERROR)]),
    (RELU, [0.0, 0.5, 2.0], None, []),  # 0 is a closed end of relu
    (SIGMOID, [0.2, 0.5, 0.9], None, []),
    (SIGMOID, [0.0, 0.5, 1.0], None, [("VC002", Severity.WARNING)]),
    (SIGMOID, [0.0, 0.5, 1.0], "binary_crossentropy", [("VC002", Severity.INFO)]),
    (SIGMOID, [0.5, 1.5], None, [("VC001", Severity.ERROR)]),
    (TANH, [-1.0, 0.0, 0.3], None, [("VC002", Severity.WARNING)]),
    (TANH, [0.0, 255.0], None, [("VC001", Severity.ERROR)]),
    (LINEAR, [-1e30, 1e30], None, []),
    (SIGMOID, [0.5, np.nan], None, [("VC003", Severity.ERROR)]),
    (UNKNOWN, [1.0, 2.0], None, [("VC004", Severity.WARNING)]),
    # 0 and 1 are what probability losses and Poisson counts are made of: info, not warning.
    (SIGMOID, [[0.0, 1.0], [0.5, 0.5]], "kl_divergence", [("VC002", Severity.INFO)]),
    (SIGMOID, [0.0, 0.5, 1.0], "poisson", [("VC002", Severity.INFO)]),
    (TANH, [-1.0, 0.0, 0.3], "huber", [("VC002", Severity.WARNING)]),
    # The loss's own check reports what the output's range check would repeat.
    (SIGMOID, [0.5, 1.5], "binary_crossentropy", [("VC101", Severity.ERROR)]),
    (SIGMOID, [-1.0, 0.0, 1.0], "binary_crossentropy", [("VC101", Severity.ERROR)]),  # [-1, 1] data
    (RELU, [-1.0, 0.5], "poisson", [("VC104", Severity.ERROR)]),
    # ... but not values inside the loss's domain that the output cannot reach.
    (SIGMOID, [0.5, 1.5], "poisson", [("VC001", Severity.ERROR)]),
    # Logits are not compared with probabilities, nor labels with the output's range.
    (LINEAR, [0.0, 1.0], LossSpec("binary_crossentropy", from_logits=True), []),
    (RELU, [-1.0, 1.0, -1.0], "hinge", []),
    (UNKNOWN, [2.0, 0.0], "binary_crossentropy", [("VC004", Severity.WARNING), ("VC101", Severity.ERROR)]),
    # A custom loss is not judged, but the data is still what the output must reach.
    (LINEAR, [-3.0, 2.0], "my_custom_loss", []),
    (RELU, [-3.0, 2.0], "my_custom_loss", [("VC001", Severity.ERROR)]),
]


@pytest.mark.parametrize(("codomain", "data", "loss", "expected"), CASES)
def test_check_table(codomain, data, loss, expected):
    assert findings(facts(codomain, data, loss)) == expected


def test_outside_counts_and_fraction_are_exact():
    data = np.linspace(-3, 3, 601)
    [finding] = run_checks(facts(RELU, data))
    assert finding.evidence["count_below"] == int((data < 0).sum())
    assert finding.evidence["fraction_outside"] == pytest.approx((data < 0).mean())
    assert "relu" in finding.message and "below 0" in finding.message


def test_fraction_outside_counts_only_finite_values():
    # 2 of the 4 finite values are negative; NaN and infinity are VC003's, not part of the count.
    [outside, nonfinite] = run_checks(facts(RELU, [-1.0, -2.0, 3.0, 0.5, np.nan, np.inf]))
    assert (outside.code, nonfinite.code) == ("VC001", "VC003")
    assert outside.evidence["count_outside"] == 2
    assert outside.evidence["fraction_outside"] == 0.5
    assert outside.message.startswith("50.0% of values (2 of 4) lie outside [0, inf)")
    assert "50.0% below 0" in outside.message


def test_bce_targets_below_zero_alone_are_reported():
    # Images scaled to [-1, 1] under a sigmoid with binary cross-entropy: nothing above 1.
    data = np.linspace(-1.0, 1.0, 201)
    [finding] = run_checks(facts(SIGMOID, data, "binary_crossentropy"))
    assert finding.code == "VC101"
    negative = int((data < 0).sum())
    assert finding.evidence["count_below_0"] == negative == 100
    assert finding.evidence["count_above_1"] == 0
    assert finding.evidence["count_outside_unit"] == negative
    assert finding.evidence["fraction_outside_unit"] == pytest.approx(negative / data.size)
    assert "(100 below 0)" in finding.message and "above 1" not in finding.message
    rescale = finding.fix.rescale
    assert rescale.scale == pytest.approx(0.5) and rescale.offset == pytest.approx(0.5)


SOFTMAX = Codomain(Interval.open(0.0, 1.0), bounded_by=("out: softmax",), simplex_axis=-1)
TEN_CLASSES = (None, 10)
SCCE = "sparse_categorical_crossentropy"


def sparse_finding(labels):
    [finding] = [f for f in run_checks(facts(SOFTMAX, labels, SCCE, TEN_CLASSES)) if f.code == "VC103"]
    return finding


def test_sparse_labels_counting_from_one_are_shifted_back():
    labels = np.tile(np.arange(1.0, 11.0), 2)  # 1..10 for 10 units: 10 is one past the last
    finding = sparse_finding(labels)
    assert finding.evidence == {
        "count_non_integer": 0, "count_below_0": 0, "count_above_last_class": 2, "classes": 10,
    }
    assert finding.message == (
        "2 of 20 labels lie outside 0..9 for this output's 10 units (labels 1 to 10): "
        "TensorFlow stops with an error on CPU and returns NaN losses on GPU"
    )
    assert finding.fix.kind == "change-targets"
    assert finding.fix.summary == "the labels count from 1: subtract 1 so that they run 0..9"
    rescale = finding.fix.rescale
    assert (rescale.scale, rescale.offset, rescale.target_low, rescale.target_high) == (1.0, -1.0, 0.0, 9.0)


def test_sparse_labels_beyond_the_units_ask_for_more_units():
    finding = sparse_finding(np.arange(0.0, 13.0))  # 0..12 for 10 units
    assert finding.evidence["count_above_last_class"] == 3
    assert finding.fix.kind == "change-activation"
    assert finding.fix.summary == (
        "give the output one unit per class: 13 units for labels up to 12, or relabel the classes 0..9"
    )


def test_sparse_labels_below_0_suggest_ignore_class():
    finding = sparse_finding([-1.0, 0.0, 3.0, 9.0])
    assert (finding.evidence["count_below_0"], finding.evidence["count_above_last_class"]) == (1, 0)
    assert finding.fix.kind == "change-targets"
    assert finding.fix.summary.startswith("relabel the classes 0..C-1, or pass ignore_class=")
    assert finding.fix.loss == "keras.losses.SparseCategoricalCrossentropy(ignore_class=-1)"


def test_fractional_sparse_labels_point_to_categorical_crossentropy():
    finding = sparse_finding(np.arange(10) + 0.5)
    assert finding.evidence["count_non_integer"] == 10
    assert finding.message.startswith("100.0% of labels (10) are not integers, and Keras truncates")
    assert finding.fix.kind == "change-loss"
    assert finding.fix.loss == "keras.losses.CategoricalCrossentropy()"


def test_one_hot_rows_under_sparse_categorical_crossentropy():
    finding = sparse_finding(np.eye(10)[[0, 3, 9, 9]])
    assert finding.evidence == {"target_shape": [10], "classes": 10}
    assert finding.message == (
        "targets have one value per class (rows of 10, like the output), but "
        "sparse_categorical_crossentropy expects one class index per sample: Keras fails on the shapes"
    )
    assert finding.fix.kind == "change-loss"
    assert finding.fix.loss == "keras.losses.CategoricalCrossentropy()"


def test_class_indices_in_range_pass():
    assert sparse_finding_codes([0.0, 3.0, 9.0]) == []
    assert sparse_finding_codes([[0.0], [9.0]]) == []


def sparse_finding_codes(labels):
    return [f.code for f in run_checks(facts(SOFTMAX, labels, SCCE, TEN_CLASSES)) if f.code == "VC103"]


def test_unknown_names_the_layer():
    [finding] = run_checks(facts(UNKNOWN, [1.0]))
    assert "decoder › triple" in finding.message


def test_configured_severity_is_stamped_by_the_engine():
    [finding] = run_checks(facts(RELU, [-1.0]), {"VC001": Severity.WARNING})
    assert finding.severity is Severity.WARNING


def test_registry_codes_are_unique_and_documented():
    ids = [module.ID for module in REGISTRY.values()]
    assert len(set(ids)) == len(ids)
    for code, module in REGISTRY.items():
        assert module.CODE == code and code.startswith("VC")
        assert isinstance(module.SEVERITY, Severity)
        doc = rule_doc(module)
        assert "Failing" in doc and "Passing" in doc


# --- checks on what --probe observed --------------------------------------------------------------


def observed_facts(codomain: Codomain, data, low: float, high: float) -> OutputFacts:
    from dataclasses import replace

    from vaecheck.report import ProbeObservation

    observation = ProbeObservation(
        low=low, high=high, samples=100, inputs="data", safe_mode=True, values=800, nonfinite=0
    )
    return replace(facts(codomain, data), observed=observation)


PROBE_CASES = [
    # (codomain, data, observed low, observed high, expected findings beyond the static ones)
    (RELU, [0.5, 2.0], -0.3, 2.0, [("VC201", Severity.ERROR)]),  # relu cannot be negative
    (RELU, [0.5, 2.0], -1e-9, 2.0, []),  # float32 rounding, not a range error
    (SIGMOID, [0.2, 0.8], 0.0, 1.0, []),  # float32 saturation reaches the open ends
    (SIGMOID, [0.2, 0.8], 0.2, 1.5, [("VC201", Severity.ERROR)]),
    (TANH, [-0.5, 0.5], -0.9, 0.9, []),
    (RELU, [0.0, 3.0], 0.0, 0.0, [("VC202", Severity.WARNING)]),  # a dead relu
    (SIGMOID, [0.2, 0.8], 0.499, 0.5005, [("VC202", Severity.WARNING)]),  # pinned
    (SIGMOID, [0.2, 0.8], 0.3, 0.7, []),  # an untrained sigmoid spreads this far
    (LINEAR, [-2.0, 2.0], -0.01, 0.01, [("VC202", Severity.WARNING)]),  # 0.5% of the data's range
    (LINEAR, [-2.0, 2.0], -0.1, 0.1, []),
]


@pytest.mark.parametrize(("codomain", "data", "low", "high", "expected"), PROBE_CASES)
def test_probe_check_table(codomain, data, low, high, expected):
    static = findings(facts(codomain, data))
    assert findings(observed_facts(codomain, data, low, high)) == static + expected


def test_observed_outside_codomain_is_reported_as_a_bug_of_vaecheck():
    [finding] = run_checks(observed_facts(RELU, [1.0], -0.3, 2.0))
    assert finding.id == "observed-outside-codomain"
    assert "internal error" in finding.message and "report" in finding.message
    assert finding.evidence["observed_min"] == -0.3


def test_unknown_codomain_with_probe_gives_the_observed_range_as_unproven():
    [finding] = run_checks(observed_facts(UNKNOWN, [1.0, 2.0, 30.0], 0.5, 2.5))
    assert finding.code == "VC004"
    assert "--probe observed [0.5, 2.5] (observed, not proven)" in finding.message

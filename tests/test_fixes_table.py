"""The fix's numbers and words on tables of facts built directly, each worked out by hand.

No model is built: a Codomain, the data's statistics and its kind are all a fix depends on.
"""

from __future__ import annotations

import numpy as np
import pytest

from vaecheck.codomain import Codomain
from vaecheck.fixes import (
    _fix_outside,
    _global_fix,
    _with_margin,
    describe_rescale,
    feature_rescale,
    range_fix,
    rescale_between,
    source_range,
    suggest_fix,
    with_range_fixes,
)
from vaecheck.intervals import INF, Interval
from vaecheck.report import Finding, Fix, Rescale, Severity
from vaecheck.stats import DataKind, measure

TANH = Codomain(Interval.open(-1.0, 1.0), bounded_by=("image: tanh",))
SIGMOID = Codomain(Interval.open(0.0, 1.0), bounded_by=("out: sigmoid",))
RELU = Codomain(Interval(0.0, INF, True, False), bounded_by=("out: relu",))
NEGATIVE = Codomain(Interval(-INF, 0.0, False, True), bounded_by=("out: negative",))
LINEAR = Codomain(Interval.real_line())
UNKNOWN = Codomain.unknown("decoder › triple", "Lambda layer (its code is not read)")

STANDARDIZED = DataKind("standardized", "looks standardized (mean ≈ 0, std ≈ 1)", bounded=False)
HEAVY = DataKind("heavy-tailed", "heavy-tailed (extremes 9 std from the mean)", bounded=False)
OTHER = DataKind("other", "real values", bounded=True)
IMAGES = DataKind("uint8-images", "looks like 8-bit images (0..255)", bounded=True)
ONE_HOT = DataKind("one-hot", "one-hot rows (a single 1 in each)", bounded=True)
PROBABILITIES = DataKind("probability-rows", "probability rows (each sums to 1)", bounded=True)
UNIT = DataKind("unit-interval", "scaled into [0, 1]", bounded=True)
LABELS = DataKind("integer-labels", "integer labels (one class index per sample)", bounded=True)


def stats_of(values, dtype=np.float64):
    data = np.asarray(values, dtype=dtype)
    return measure([data], data.shape, data.dtype, [])


def finding(code: str, severity: Severity = Severity.ERROR, fix: Fix | None = None) -> Finding:
    return Finding(code, code.lower(), severity, "out", f"{code} message", fix=fix)


# --- describe_rescale ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("scale", "offset", "phrase"),
    [
        (1 / 255, 0.0, "divide by 255"),
        (1 / 255, 1e-14, "divide by 255"),  # an offset of rounding noise is still none
        (2 / 255, -1.0, "x / 127.5 - 1"),
        (2.0, -1.0, "x * 2 - 1"),
        (0.5, 0.5, "(x + 1) / 2"),
        (1.0, 0.0, None),  # no familiar name, though its offset is divide-by-255's
        (1 / 255, 0.5, None),  # divide-by-255's scale with another offset
        (2.0, -1.0 + 1e-6, None),
        (2.0 * (1 + 1e-6), -1.0, None),
        (0.25, -0.25, None),
    ],
)
def test_describe_rescale(scale, offset, phrase):
    assert describe_rescale(Rescale(scale, offset, 0.0, 1.0)) == phrase


# --- rescale_between ----------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("source", "target", "expected"),
    [
        ((0.0, 10.0), (0.0, 1.0), Rescale(0.1, 0.0, 0.0, 1.0)),
        ((2.0, 4.0), (-1.0, 1.0), Rescale(1.0, -3.0, -1.0, 1.0)),
        ((-2.0, 6.0), (-1.0, 1.0), Rescale(0.25, -0.5, -1.0, 1.0)),
        ((3.0, 3.0), (-1.0, 1.0), Rescale(1.0, -3.0, -1.0, 1.0)),  # constant: at the centre
        ((3.0, 3.0), (0.0, 4.0), Rescale(1.0, -1.0, 0.0, 4.0)),
    ],
)
def test_rescale_between(source, target, expected):
    assert rescale_between(source, target) == expected


def test_rescale_between_ends_near_the_float_maximum():
    # The span 2e308 overflows; the halves' 1e308 does not: scale 1 / 1e308, no offset.
    rescale = rescale_between((-1e308, 1e308), (-1.0, 1.0))
    assert rescale.scale == pytest.approx(1e-308, rel=1e-12)
    assert rescale.offset == pytest.approx(0.0, abs=1e-12)
    assert (rescale.target_low, rescale.target_high) == (-1.0, 1.0)
    rescale = rescale_between((-1e308, 1e308), (0.0, 4.0))
    assert rescale.scale == pytest.approx(2e-308, rel=1e-12)
    assert rescale.offset == pytest.approx(2.0, rel=1e-12)


# --- _with_margin -------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("interval", "source", "target"),
    [
        (Interval.open(0.0, 1.0), (0.0, 1.0), (0.01, 0.99)),
        (Interval.open(-1.0, 1.0), (5.0, 9.0), (-0.98, 0.98)),  # 1% of the width 2
        (Interval(0.0, 1.0, True, False), (0.0, 1.0), (0.0, 0.99)),
        (Interval(0.0, 1.0, False, True), (0.0, 1.0), (0.01, 1.0)),
        (Interval(0.0, 4.0, True, True), (0.0, 4.0), (0.0, 4.0)),
        # Half-open: the data's own scale, shifted off the open end by 1% of its width.
        (Interval(0.0, INF, False, False), (2.0, 6.0), (2.04, 6.04)),
        (Interval(-INF, 0.0, False, False), (-6.0, -2.0), (-6.04, -2.04)),
        (Interval(0.0, INF, False, False), (3.0, 3.0), (3.01, 3.01)),  # constant: 1% of 1
        (Interval(0.0, INF, True, False), (2.0, 6.0), (2.0, 6.0)),  # relu's 0 is reached
        (Interval(-INF, 0.0, False, True), (-6.0, -2.0), (-6.0, -2.0)),
        (Interval.real_line(), (-6.0, 2.0), (-6.0, 2.0)),
    ],
)
def test_with_margin(interval, source, target):
    assert _with_margin(interval, source) == pytest.approx(target, abs=1e-12)


# --- source_range -------------------------------------------------------------------------------

def test_source_range_is_the_nominal_range_when_the_data_sit_inside_it():
    assert source_range(stats_of([3.0, 250.0]), IMAGES) == (0.0, 255.0)
    assert source_range(stats_of([0.0, 255.0]), IMAGES) == (0.0, 255.0)
    assert source_range(stats_of([3.0, 256.0]), IMAGES) == (3.0, 256.0)
    assert source_range(stats_of([-1.0, 250.0]), IMAGES) == (-1.0, 250.0)
    assert source_range(stats_of([3.0, 250.0]), OTHER) == (3.0, 250.0)


# --- _fix_outside -------------------------------------------------------------------------------

def test_unbounded_data_under_relu_get_linear_or_tanh():
    fix = _fix_outside(RELU, RELU.interval, (-2.0, 6.0), STANDARDIZED)
    assert fix == Fix(
        "change-activation",
        "use a linear output (activation=None): the data look standardized (mean ≈ 0, std ≈ 1), "
        "and a linear output reaches any value",
        activation="linear",
        rescale=Rescale(0.25, -0.5, -1.0, 1.0),
        rescale_for="tanh",
        alternative="or keep a bounded output: tanh, with the data min-max rescaled into "
        "[-1, 1] and back on the way out",
    )


def test_unbounded_nonnegative_data_get_sigmoid():
    fix = _fix_outside(NEGATIVE, NEGATIVE.interval, (1.0, 5.0), HEAVY)
    assert fix.summary == (
        "use a linear output (activation=None): the data are heavy-tailed (extremes 9 std from "
        "the mean), and a linear output reaches any value"
    )
    assert fix.rescale == Rescale(0.25, -0.25, 0.0, 1.0)
    assert fix.rescale_for == "sigmoid"
    assert fix.alternative == (
        "or keep a bounded output: sigmoid, with the data min-max rescaled into [0, 1] "
        "and back on the way out"
    )
    # 0 is not negative: data from 0 up are a sigmoid's, not a tanh's.
    assert _fix_outside(RELU, RELU.interval, (0.0, 4.0), HEAVY).rescale_for == "sigmoid"


def test_unbounded_data_under_a_bounded_output_keep_that_output():
    # Negative data would suggest tanh, but the output already is bounded: keep sigmoid's range.
    fix = _fix_outside(SIGMOID, SIGMOID.interval, (-5.0, 5.0), STANDARDIZED)
    assert fix.kind == "change-activation" and fix.activation == "linear"
    assert fix.rescale == Rescale(0.1, 0.5, 0.0, 1.0)
    assert fix.rescale_for == "sigmoid"
    assert fix.alternative == (
        "or keep a bounded output: sigmoid, with the data min-max rescaled into [0, 1] "
        "and back on the way out"
    )


def test_images_into_sigmoid_divide_by_255():
    fix = _fix_outside(SIGMOID, SIGMOID.interval, (0.0, 255.0), IMAGES)
    assert fix == Fix(
        "rescale-data",
        "rescale the data into (0, 1) (divide by 255), the range of sigmoid, and back on the way out",
        rescale=Rescale(1 / 255, 0.0, 0.0, 1.0),
        rescale_for="sigmoid",
        alternative="or make the output cover [0, 255]: append "
        "keras.layers.Rescaling(scale=255, offset=0) after the sigmoid",
    )


def test_bounded_data_without_a_familiar_map():
    fix = _fix_outside(SIGMOID, SIGMOID.interval, (10.0, 20.0), OTHER)
    assert fix.summary == (
        "rescale the data into (0, 1), the range of sigmoid, and back on the way out"
    )
    assert fix.rescale == Rescale(0.1, -1.0, 0.0, 1.0)
    assert fix.alternative == (
        "or make the output cover [10, 20]: append "
        "keras.layers.Rescaling(scale=10, offset=10) after the sigmoid"
    )
    # A Rescaling with a fraction prints 8 significant digits.
    fix = _fix_outside(SIGMOID, SIGMOID.interval, (0.0, 1 / 3), OTHER)
    assert "Rescaling(scale=0.33333333, offset=0)" in fix.alternative


@pytest.mark.parametrize(
    ("kind", "rows"), [(ONE_HOT, "one-hot"), (PROBABILITIES, "probability")]
)
def test_rows_that_sum_to_one_are_offered_a_softmax(kind, rows):
    fix = _fix_outside(TANH, TANH.interval, (0.0, 2.0), kind)
    assert fix.rescale == Rescale(1.0, -1.0, -1.0, 1.0)
    assert fix.summary == "rescale the data into (-1, 1), the range of tanh, and back on the way out"
    assert fix.alternative == (
        "or, for rows that sum to 1, use a softmax output; make the output cover [0, 2]: "
        "append keras.layers.Rescaling(scale=1, offset=1) after the tanh"
    )


def test_a_familiar_phrase_for_x_times_2_minus_1():
    fix = _fix_outside(TANH, TANH.interval, (0.0, 1.0), UNIT)
    assert fix.summary == (
        "rescale the data into (-1, 1) (x * 2 - 1), the range of tanh, and back on the way out"
    )
    assert fix.alternative.endswith("keras.layers.Rescaling(scale=0.5, offset=0.5) after the tanh")


def test_half_bounded_outputs_shift_the_data_past_their_end():
    assert _fix_outside(RELU, RELU.interval, (-3.0, 5.0), OTHER) == Fix(
        "rescale-data",
        "shift the data into [0, inf), the range of relu, or use a linear output",
        activation="linear",
        rescale=Rescale(1.0, 3.0, 0.0, 8.0),
        rescale_for="relu",
    )
    assert _fix_outside(NEGATIVE, NEGATIVE.interval, (-3.0, 5.0), OTHER) == Fix(
        "rescale-data",
        "shift the data into (-inf, 0], the range of negative, or use a linear output",
        activation="linear",
        rescale=Rescale(1.0, -5.0, -8.0, 0.0),
        rescale_for="negative",
    )


def test_an_output_without_a_named_activation():
    plain = Codomain(Interval(0.0, INF, True, False))
    fix = _fix_outside(plain, plain.interval, (-3.0, 5.0), OTHER)
    assert fix.summary == "shift the data into [0, inf), the range of the output, or use a linear output"
    assert fix.rescale_for == "the output"


# --- _global_fix --------------------------------------------------------------------------------

def test_no_fix_without_a_known_range():
    none = Fix("none", "no fix can be computed without a known range")
    assert _global_fix(UNKNOWN, stats_of([1.0, 2.0]), OTHER, [finding("VC001")]) == none
    assert _global_fix(SIGMOID, stats_of([np.nan]), OTHER, [finding("VC001")]) == none
    assert range_fix(UNKNOWN, stats_of([1.0, 2.0]), OTHER, [finding("VC001")]) == none


def test_nothing_to_fix_without_a_range_finding_of_weight():
    nothing = Fix("none", "nothing to fix: the output can reach every data value")
    stats = stats_of([-1.0, 3.0])
    assert _global_fix(RELU, stats, OTHER, []) == nothing
    assert _global_fix(RELU, stats, OTHER, [finding("VC001", Severity.INFO)]) == nothing
    assert _global_fix(RELU, stats, OTHER, [finding("VC003")]) == nothing
    assert _global_fix(RELU, stats, OTHER, [finding("VC001", Severity.WARNING)]).kind == "rescale-data"


def test_class_indices_are_encoded_not_rescaled():
    stats = stats_of([0, 3, 1, 2], dtype=np.int64)
    assert _global_fix(SIGMOID, stats, LABELS, [finding("VC001")]) == Fix(
        "encode-labels",
        "the data are class indices (0 to 3): one-hot encode them "
        "(keras.utils.to_categorical(y, 4)) for a softmax output of 4 units, "
        "or keep them and train with sparse_categorical_crossentropy",
        activation="softmax",
        alternative="or, to regress on the index as a number, use a linear output",
    )
    column = stats_of([[0], [3], [1], [2]], dtype=np.int64)
    assert _global_fix(SIGMOID, column, LABELS, [finding("VC001")]).kind == "encode-labels"
    # Two integers per sample are not one class index: they are rescaled.
    pairs = stats_of([[0, 3], [1, 2]], dtype=np.int64)
    fix = _global_fix(SIGMOID, pairs, LABELS, [finding("VC001")])
    assert fix.kind == "rescale-data" and fix.rescale == Rescale(1 / 3, 0.0, 0.0, 1.0)
    # Other kinds with one integer per sample are rescaled too.
    assert _global_fix(SIGMOID, stats, OTHER, [finding("VC001")]).kind == "rescale-data"


def test_values_outside_win_over_values_on_the_open_ends():
    stats = stats_of([0.0, 255.0])
    fix = _global_fix(SIGMOID, stats, IMAGES, [finding("VC002", Severity.WARNING), finding("VC001")])
    assert fix.rescale == Rescale(1 / 255, 0.0, 0.0, 1.0)


def test_open_ends_get_a_margin():
    stats = stats_of([0.0, 0.5, 1.0])
    fix = _global_fix(SIGMOID, stats, UNIT, [finding("VC002", Severity.WARNING)])
    assert fix.kind == "rescale-data" and fix.rescale_for == "sigmoid"
    assert fix.summary == "rescale the data into [0.01, 0.99], a margin inside the open ends"
    assert fix.rescale.scale == pytest.approx(0.98) and fix.rescale.offset == pytest.approx(0.01)
    assert (fix.rescale.target_low, fix.rescale.target_high) == pytest.approx((0.01, 0.99))
    # The nominal range is the source: 0.2..0.9 of unit-interval data still maps 0..1.
    fix = _global_fix(SIGMOID, stats_of([0.2, 0.9]), UNIT, [finding("VC002", Severity.WARNING)])
    assert fix.rescale.scale == pytest.approx(0.98) and fix.rescale.offset == pytest.approx(0.01)


@pytest.mark.parametrize(("kind", "rows"), [(ONE_HOT, "one-hot"), (PROBABILITIES, "probability")])
def test_rows_on_the_open_ends_are_smoothed(kind, rows):
    stats = stats_of([[0.0, 1.0], [1.0, 0.0]])
    fix = _global_fix(SIGMOID, stats, kind, [finding("VC002", Severity.WARNING)])
    assert fix.summary == (
        f"smooth the {rows} rows into [0.01, 0.99] (label smoothing), a margin inside the open ends"
    )


# --- suggest_fix and with_range_fixes -----------------------------------------------------------

def test_the_most_severe_finding_leads_and_the_first_of_equals():
    stats = stats_of([-1.0, 3.0])
    targets = Fix("change-targets", "first error's fix")
    fix = suggest_fix(RELU, stats, OTHER, [finding("VC003", fix=targets), finding("VC001")])
    assert fix is targets
    fix = suggest_fix(RELU, stats, OTHER, [finding("VC001"), finding("VC003", fix=targets)])
    assert fix.kind == "rescale-data" and fix.rescale == Rescale(1.0, 1.0, 0.0, 4.0)
    # An error outranks a warning that comes first.
    warning = Fix("change-loss", "a warning's fix")
    fix = suggest_fix(RELU, stats, OTHER, [finding("VC105", Severity.WARNING, warning), finding("VC001")])
    assert fix.kind == "rescale-data"


def test_fixes_of_info_findings_and_fixes_of_kind_none_are_not_suggested():
    stats = stats_of([1.0, 3.0])
    nothing = Fix("none", "nothing to fix: the output can reach every data value")
    info = finding("VC105", Severity.INFO, Fix("change-loss", "only a hint"))
    assert suggest_fix(RELU, stats, OTHER, [info]) == nothing
    empty = finding("VC105", Severity.ERROR, Fix("none", "cannot say"))
    assert suggest_fix(RELU, stats, OTHER, [empty]) == nothing
    assert suggest_fix(UNKNOWN, stats, OTHER, [info]) == Fix(
        "none", "no fix can be computed without a known range"
    )
    assert suggest_fix(RELU, stats_of([np.nan]), OTHER, []).summary.startswith("no fix can be computed")


def test_range_fixes_are_attached_only_to_range_findings_of_weight():
    stats = stats_of([-1.0, 3.0])
    own = Fix("change-activation", "its own fix")
    attached = with_range_fixes(
        RELU,
        stats,
        OTHER,
        [
            finding("VC001"),
            finding("VC002", Severity.WARNING),
            finding("VC001", Severity.INFO),
            finding("VC003"),
            finding("VC001", fix=own),
        ],
    )
    assert attached[0].fix.rescale == Rescale(1.0, 1.0, 0.0, 4.0)
    # Alone, a VC002 on relu's closed 0 leaves the data where they are.
    assert attached[1].fix.rescale == Rescale(1.0, 0.0, -1.0, 3.0)
    assert attached[2].fix is None and attached[3].fix is None
    assert attached[4].fix is own
    # A range fix of kind none leaves the finding without one.
    [bare] = with_range_fixes(UNKNOWN, stats, OTHER, [finding("VC001")])
    assert bare.fix is None


# --- per-feature rescaling ----------------------------------------------------------------------

def test_features_of_very_different_widths_are_rescaled_one_by_one():
    stats = stats_of([[0.0, 0.5], [0.5, 100.5]])
    vectors = feature_rescale(stats, OTHER, Rescale(0.01, 0.0, 0.0, 1.0))
    np.testing.assert_allclose(vectors.scale, [2.0, 0.01])
    np.testing.assert_allclose(vectors.offset, [0.0, -0.005])
    assert (vectors.target_low, vectors.target_high) == (0.0, 1.0)
    assert vectors.axis_name == "feature"
    # The narrowest width 0.5 over the whole 0..100.5: 0.4975%.
    assert vectors.reason == (
        "the features' ranges differ: one map for all would squeeze the narrowest feature "
        "into 0.5% of the target range"
    )


def test_features_of_similar_widths_share_one_map():
    rescale = Rescale(0.1, 0.0, 0.0, 1.0)
    assert feature_rescale(stats_of([[0.0, 0.0], [5.0, 10.0]]), OTHER, rescale) is None
    # Exactly NARROW_SHARE: the narrowest is 1 of 10, still one map.
    assert feature_rescale(stats_of([[0.0, 0.0], [1.0, 10.0]]), OTHER, rescale) is None
    assert feature_rescale(stats_of([[0.0, 0.0], [0.99, 10.0]]), OTHER, rescale) is not None
    # A vector of one value has no per-feature statistics.
    assert feature_rescale(stats_of([0.0, 10.0]), OTHER, rescale) is None


def test_forced_vectors_and_constant_features():
    stats = stats_of([[3.0, 0.0], [3.0, 10.0]])
    rescale = Rescale(0.1, 0.0, 0.0, 1.0)
    # Unforced: the constant feature has no width to squeeze.
    assert feature_rescale(stats, OTHER, rescale) is None
    vectors = feature_rescale(stats, OTHER, rescale, forced=True)
    # The constant feature sits at the target's centre 0.5: scale 1, offset 0.5 - 3.
    np.testing.assert_array_equal(vectors.scale, [1.0, 0.1])
    np.testing.assert_array_equal(vectors.offset, [-2.5, 0.0])
    assert vectors.reason == "asked for with --per-feature"


def test_a_feature_without_a_finite_value_sits_at_the_centre():
    stats = stats_of([[np.nan, 0.0], [np.nan, 10.0]])
    vectors = feature_rescale(stats, OTHER, Rescale(0.5, -1.0, -1.0, 1.0), forced=True)
    np.testing.assert_array_equal(vectors.scale, [1.0, 0.2])
    np.testing.assert_array_equal(vectors.offset, [0.0, -1.0])
    assert feature_rescale(stats_of([[np.nan], [np.nan]]), OTHER, Rescale(1, 0, 0, 1), True) is None


def test_a_shift_past_a_half_open_end_shifts_each_feature_by_its_minimum():
    stats = stats_of([[-3.0, 2.0], [5.0, 4.0]])
    shift = Rescale(1.0, 3.0, 0.0, INF)
    vectors = feature_rescale(stats, OTHER, shift, forced=True)
    np.testing.assert_array_equal(vectors.scale, [1.0, 1.0])
    np.testing.assert_array_equal(vectors.offset, [3.0, -2.0])
    down = feature_rescale(stats, OTHER, Rescale(1.0, -5.0, -INF, 0.0), forced=True)
    np.testing.assert_array_equal(down.offset, [-INF, -INF])  # -inf minus each minimum
    nan_column = stats_of([[np.nan, 2.0], [np.nan, 4.0]])
    vectors = feature_rescale(nan_column, OTHER, shift, forced=True)
    np.testing.assert_array_equal(vectors.offset, [3.0, -2.0])  # the global offset where none


def test_images_map_their_nominal_range_per_channel():
    stats = stats_of([[0, 10], [200, 12]], dtype=np.uint8)
    rescale = Rescale(1 / 255, 0.0, 0.0, 1.0)
    # Both channels span the nominal 0..255: one map for all.
    assert feature_rescale(stats, IMAGES, rescale) is None
    vectors = feature_rescale(stats, IMAGES, rescale, forced=True)
    np.testing.assert_allclose(vectors.scale, [1 / 255, 1 / 255])
    np.testing.assert_allclose(vectors.offset, [0.0, 0.0])
    # Without the nominal range the second channel's 10..12 is narrow.
    assert feature_rescale(stats, OTHER, rescale) is not None


def test_features_near_the_float_maximum():
    stats = stats_of([[-1e308, 0.0], [1e308, 1.0]])
    vectors = feature_rescale(stats, OTHER, Rescale(1e-308, 0.0, -1.0, 1.0), forced=True)
    assert vectors.scale[0] == pytest.approx(1e-308, rel=1e-12)
    assert vectors.offset[0] == pytest.approx(0.0, abs=1e-12)
    assert vectors.scale[1] == 2.0 and vectors.offset[1] == -1.0


def test_range_fix_adds_vectors_unless_forbidden():
    stats = stats_of([[0.0, 0.5], [0.5, 100.5]])
    outside = [finding("VC001")]
    fix = range_fix(SIGMOID, stats, OTHER, outside)
    assert fix.per_feature is not None
    np.testing.assert_allclose(fix.per_feature.scale, [2.0, 0.01])
    assert range_fix(SIGMOID, stats, OTHER, outside, per_feature=False).per_feature is None
    even = stats_of([[0.0, 0.0], [5.0, 10.0]])
    assert range_fix(SIGMOID, even, OTHER, outside).per_feature is None
    forced = range_fix(SIGMOID, even, OTHER, outside, per_feature=True)
    assert forced.per_feature.reason == "asked for with --per-feature"
    # A fix that already carries vectors keeps them.
    assert suggest_fix(SIGMOID, stats, OTHER, [finding("VC001", fix=fix)], per_feature=True) is fix


def test_per_feature_choice_reaches_every_range_fix():
    narrow = stats_of([[0.0, 0.5], [0.5, 100.5]])
    even = stats_of([[0.0, 0.0], [5.0, 10.0]])
    outside = [finding("VC001")]
    # Forbidden: neither the finding's fix nor the fix to lead with carries vectors.
    assert suggest_fix(SIGMOID, narrow, OTHER, outside, per_feature=False).per_feature is None
    [attached] = with_range_fixes(SIGMOID, narrow, OTHER, outside, per_feature=False)
    assert attached.fix.per_feature is None
    # Forced: vectors even where one map would do.
    [attached] = with_range_fixes(SIGMOID, even, OTHER, outside, per_feature=True)
    assert attached.fix.per_feature.reason == "asked for with --per-feature"
    assert suggest_fix(SIGMOID, even, OTHER, outside, per_feature=True).per_feature is not None
    # A check's own rescaling fix (not a range fix) gets its vectors when they are asked for.
    hinge = finding("VC105", fix=Fix("rescale-data", "map them", rescale=Rescale(0.2, -1.0, -1.0, 1.0)))
    forced = suggest_fix(SIGMOID, even, OTHER, [hinge], per_feature=True)
    np.testing.assert_array_equal(forced.per_feature.scale, [0.4, 0.2])
    assert suggest_fix(SIGMOID, even, OTHER, [hinge]).per_feature is None


def test_nominal_range_includes_its_high_end():
    # 8-bit data reaching 255 exactly map from the nominal 0, not from their own minimum 3.
    assert source_range(stats_of([3.0, 255.0]), IMAGES) == (0.0, 255.0)
    assert source_range(stats_of([0.5, 1.0]), UNIT) == (0.0, 1.0)


def test_a_large_whole_rescaling_is_written_out_in_full():
    fix = _fix_outside(SIGMOID, SIGMOID.interval, (0.0, 1e8), OTHER)
    assert fix.alternative.endswith("keras.layers.Rescaling(scale=100000000, offset=0) after the sigmoid")

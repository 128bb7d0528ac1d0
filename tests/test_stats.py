"""Streaming statistics: exact against numpy, mergeable, and counted against codomain ends."""

from __future__ import annotations

import numpy as np
import pytest

from vaecheck.intervals import INF, Interval
from vaecheck.stats import StatsAccumulator, measure, recognize, worst_features

RELU = Interval(0.0, INF, True, False)
SIGMOID = Interval.open(0.0, 1.0)


def blocks(array: np.ndarray, rows: int):
    for start in range(0, array.shape[0], rows):
        yield array[start : start + rows]


def test_streamed_statistics_equal_numpy():
    rng = np.random.default_rng(1)
    data = rng.normal(0.3, 2.0, size=(1000, 7)).astype(np.float32)
    stats = measure(blocks(data, 33), data.shape, data.dtype, [RELU])
    assert stats.min == pytest.approx(float(data.min()))
    assert stats.max == pytest.approx(float(data.max()))
    assert stats.mean == pytest.approx(float(data.astype(np.float64).mean()), rel=1e-9)
    assert stats.std == pytest.approx(float(data.astype(np.float64).std()), rel=1e-9)
    [edges] = stats.edges
    assert edges.below == int((data < 0).sum())
    assert edges.above == 0


def test_merge_equals_one_pass():
    rng = np.random.default_rng(2)
    data = rng.uniform(-1, 2, size=(500, 3))
    one = measure(blocks(data, 50), data.shape, data.dtype, [SIGMOID]).edges
    left = StatsAccumulator(data.shape, data.dtype, [SIGMOID])
    right = StatsAccumulator(data.shape, data.dtype, [SIGMOID])
    left.update(data[:200])
    right.update(data[200:])
    merged = left.merge(right).result()
    assert merged.edges == one
    assert merged.mean == pytest.approx(float(data.mean()))
    assert merged.std == pytest.approx(float(data.std()))


def test_nonfinite_values_are_counted_and_excluded():
    data = np.array([[1.0, np.nan], [np.inf, -np.inf], [-2.0, 3.0]])
    stats = measure([data], data.shape, data.dtype, [RELU])
    assert (stats.nan, stats.posinf, stats.neginf) == (1, 1, 1)
    assert (stats.min, stats.max) == (-2.0, 3.0)
    assert stats.edges[0].below == 1


def test_values_on_the_ends_within_float32_resolution():
    data = np.array([0.0, 1.0, 1.0 + 1e-9, 0.5, -1e-9, 1.5, -0.5])
    [edges] = measure([data], data.shape, data.dtype, [SIGMOID]).edges
    assert (edges.on_low, edges.on_high) == (2, 2)
    assert (edges.below, edges.above) == (1, 1)


def test_uint8_and_bool_data():
    images = np.array([[0, 255], [128, 3]], dtype=np.uint8)
    stats = measure([images], images.shape, images.dtype, [Interval.open(-1.0, 1.0)])
    assert (stats.min, stats.max, stats.integer_valued) == (0, 255, True)
    assert stats.edges[0].above == 3
    flags = np.array([True, False, True])
    assert measure([flags], flags.shape, flags.dtype).max == 1


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (np.random.default_rng(0).integers(0, 256, (100, 4)).astype(np.uint8), "uint8-images"),
        (np.random.default_rng(0).uniform(0, 1, (100, 4)), "unit-interval"),
        (np.random.default_rng(0).uniform(-1, 1, (100, 4)), "symmetric-unit"),
        (np.random.default_rng(0).standard_normal((1000, 4)), "standardized"),
        (np.random.default_rng(0).integers(0, 2, (100, 4)).astype(np.float32), "binary"),
        (np.random.default_rng(0).uniform(10, 20, (100, 4)), "other"),
    ],
)
def test_recognizes_common_preprocessing(data, kind):
    assert recognize(measure([data], data.shape, data.dtype)).name == kind


def test_sample_is_bounded_and_spread():
    data = np.arange(1_000_000, dtype=np.float64)
    stats = measure(blocks(data, 4096), data.shape, data.dtype)
    assert 0 < stats.sample.size <= 70_000
    assert stats.percentile(50) == pytest.approx(500_000, rel=0.01)


# Row sums and value counts: measured on request, in the same pass --------------------------


def soft_rows(rng, shape):
    rows = rng.random(shape)
    return rows / rows.sum(axis=-1, keepdims=True)


def test_row_sums_streamed_equal_numpy():
    rng = np.random.default_rng(3)
    data = soft_rows(rng, (500, 6)).astype(np.float32)
    data[:40] *= 2.0  # rows summing to 2
    data[40:50] = 0.0  # rows summing to 0
    data[50, 2] = np.nan  # a row with no finite sum is not judged
    stats = measure(blocks(data, 37), data.shape, data.dtype, row_axes=[-1])
    sums = stats.row_sums_along(-1)
    assert (sums.width, sums.rows, sums.above, sums.below) == (6, 499, 40, 10)
    assert sums.max == pytest.approx(2.0, rel=1e-6) and sums.min == 0.0


def test_row_sums_along_an_inner_axis_of_image_targets():
    # Per-pixel class distributions, classes on axis 1 of each (3, 4, 4) sample.
    rng = np.random.default_rng(4)
    data = np.moveaxis(soft_rows(rng, (20, 4, 4, 3)), -1, 1)
    data[0, :, 0, 0] = 0.0
    stats = measure(blocks(data, 7), data.shape, data.dtype, row_axes=[-3])
    sums = stats.row_sums_along(-3)
    assert (sums.width, sums.rows, sums.below, sums.above) == (3, 20 * 16, 1, 0)


def test_row_sums_of_fortran_ordered_blocks_are_completed_at_the_end(tmp_path):
    from vaecheck.readers.data import open_data

    rng = np.random.default_rng(5)
    data = np.asfortranarray(soft_rows(rng, (300, 5)))
    data[:7] *= 3.0
    path = tmp_path / "f.npy"
    np.save(path, data)
    source = open_data(path)
    assert source.fortran_order
    # Small blocks split every row across several slices of the last axis.
    chunks = [block for _, block in source.chunks(max_bytes=300 * 8)]
    assert len(chunks) == 5
    sums = measure(chunks, source.shape, source.dtype, row_axes=[-1]).row_sums_along(-1)
    assert (sums.rows, sums.above, sums.below) == (300, 7, 0)


def test_row_sums_and_counts_merge_like_one_pass():
    rng = np.random.default_rng(6)
    data = rng.integers(-1, 3, (400, 4)).astype(np.float64)
    data[::9, 0] = 0.5
    one = measure([data], data.shape, data.dtype, row_axes=[-1], value_counts=[-1.0, 0.0, 1.0])
    left = StatsAccumulator(data.shape, data.dtype, row_axes=[-1], value_counts=[-1.0, 0.0, 1.0])
    right = StatsAccumulator(data.shape, data.dtype, row_axes=[-1], value_counts=[-1.0, 0.0, 1.0])
    left.update(data[:123])
    right.update(data[123:])
    merged = left.merge(right).result()
    assert merged.row_sums == one.row_sums
    assert merged.value_counts == one.value_counts


def test_value_counts_are_exact():
    data = np.array([[-1.0, 0.0, 1.0, 1.0], [0.25, 2.0, -1.0, np.nan]])
    counts = measure([data], data.shape, data.dtype, value_counts=[-1.0, 0.0, 1.0]).value_counts
    assert [counts.count(v) for v in (-1.0, 0.0, 1.0)] == [2, 1, 2]
    assert (counts.others, counts.non_integer) == (2, 1)


def test_scalar_samples_are_rows_of_one_value():
    labels = np.array([0.0, 1.0, 1.0, 3.0])
    sums = measure([labels], labels.shape, labels.dtype, row_axes=[-1]).row_sums_along(-1)
    assert (sums.width, sums.rows, sums.below, sums.above) == (1, 4, 1, 1)


def test_nothing_extra_is_measured_unless_asked():
    data = np.ones((10, 3))
    stats = measure([data], data.shape, data.dtype)
    assert stats.row_sums == () and stats.value_counts is None
# --- per feature ---------------------------------------------------------------------------------

FLOAT32_END = 4 * float(np.finfo(np.float32).eps)


def feed(data: np.ndarray, order: str, rows: int = 97, **kwargs) -> StatsAccumulator:
    """Blocks as a reader yields them: rows in C order, slices of the last axis in Fortran."""
    accumulator = StatsAccumulator(data.shape, data.dtype, [RELU, SIGMOID], **kwargs)
    if order == "C" or data.ndim == 1:
        for block in blocks(np.ascontiguousarray(data), rows):
            accumulator.update(block)
    else:
        for start in range(0, data.shape[-1], 2):
            part = np.asfortranarray(data[..., start : start + 2])
            accumulator.update(part, slice(start, start + part.shape[-1]))
    return accumulator


def columns_of(data: np.ndarray) -> np.ndarray:
    return data.astype(np.float64).reshape(-1, data.shape[-1])


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize(
    ("shape", "dtype"),
    [((1000, 7), "float32"), ((333, 5, 4, 3), "float32"), ((200, 3000), "float32"),
     ((5000, 3), "uint8"), ((700, 2), "int64"), ((100, 10), "float16"), ((300, 4), "float64")],
)
def test_per_feature_statistics_equal_numpy(shape, dtype, order):
    rng = np.random.default_rng(sum(shape))
    if np.dtype(dtype).kind in "iu":
        data = rng.integers(0, 200, shape).astype(dtype)
    else:
        data = (rng.standard_normal(shape) * 3 + 0.5).astype(dtype)
        data.flat[5] = np.nan
        data.flat[17] = np.inf
        data.flat[30] = 0.0
    stats = feed(data, order).result()
    features = stats.features
    assert features is not None and features.count == shape[-1]
    for feature, column in enumerate(columns_of(data).T):
        finite = column[np.isfinite(column)]
        assert features.finite[feature] == finite.size
        assert features.nonfinite[feature] == column.size - finite.size
        assert (features.min[feature], features.max[feature]) == (finite.min(), finite.max())
        assert features.mean[feature] == pytest.approx(finite.mean(), rel=1e-5, abs=1e-6)
        assert features.std[feature] == pytest.approx(finite.std(), rel=1e-5)
        relu = features.edges_for(RELU)
        assert relu.below[feature] == np.count_nonzero(finite < -FLOAT32_END)
        assert relu.on_low[feature] == np.count_nonzero(np.abs(finite) <= FLOAT32_END)
        sigmoid = features.edges_for(SIGMOID)
        assert sigmoid.above[feature] == np.count_nonzero(finite > 1 + 2 * FLOAT32_END)
    everything = columns_of(data).ravel()
    finite = everything[np.isfinite(everything)]
    assert (stats.min, stats.max) == (finite.min(), finite.max())
    assert stats.edges_for(RELU).below == np.count_nonzero(finite < -FLOAT32_END)


def test_large_mean_small_spread_keeps_its_std():
    # Sums of squares would cancel here; the deviations route keeps the digits.
    rng = np.random.default_rng(4)
    data = (2000.0 + rng.standard_normal((4000, 3)) * 0.01).astype(np.float32)
    stats = feed(data, "C").result()
    exact = data.astype(np.float64)
    assert stats.std == pytest.approx(exact.std(), rel=1e-3)
    np.testing.assert_allclose(stats.features.std, exact.std(axis=0), rtol=1e-3)


@pytest.mark.parametrize(("dtype", "high"), [(np.uint8, 255), (np.int8, -127)])
def test_sums_of_8_bit_images_are_exact(dtype, high):
    # Rows alternating two neighbours: the spread is 0.5 exactly, which sums of squares rounded
    # anywhere (in float32 past 2**24, say) would not give.
    data = np.empty((6000, 784), dtype)
    data[0::2], data[1::2] = high, high - 1
    stats = measure(blocks(data, 5000), data.shape, data.dtype, [RELU])
    assert stats.mean == high - 0.5 and stats.std == pytest.approx(0.5, rel=1e-12)
    np.testing.assert_array_equal(stats.features.mean, np.full(784, high - 0.5))
    np.testing.assert_allclose(stats.features.std, 0.5, rtol=1e-12)


def test_shard_accumulators_merge_into_the_whole():
    rng = np.random.default_rng(8)
    data = rng.standard_normal((900, 6)).astype(np.float32)
    one = feed(data, "C").result()
    parts = [StatsAccumulator(data.shape, data.dtype, [RELU, SIGMOID], seed=(0, i)) for i in range(3)]
    for accumulator, piece in zip(parts, np.array_split(data, 3)):
        accumulator.update(piece)
    merged = parts[0].merge(parts[1]).merge(parts[2]).result()
    assert merged.edges == one.edges
    assert (merged.min, merged.max, merged.count) == (one.min, one.max, one.count)
    assert merged.std == pytest.approx(one.std, rel=1e-6)
    np.testing.assert_array_equal(merged.features.edges_for(RELU).below,
                                  one.features.edges_for(RELU).below)
    np.testing.assert_allclose(merged.features.mean, one.features.mean, rtol=1e-5, atol=1e-7)
    # Every value is sketched at this size, so the sketches agree exactly.
    assert merged.robust_low == one.robust_low and merged.robust_high == one.robust_high


def test_robust_extremes_match_numpy_within_the_sketch_bound():
    rng = np.random.default_rng(9)
    data = rng.standard_normal((20_000, 8))
    data[:, 3] *= 100
    stats = feed(data, "C", rows=1000).result()
    assert stats.quantiles.exact_counts and stats.quantiles.rank_error == 0
    for estimate, q in ((stats.robust_low, 0.1), (stats.robust_high, 99.9)):
        exact = np.percentile(data, q)
        assert abs(estimate - exact) <= 0.005 * abs(exact)
    features = stats.features
    for feature in range(8):
        exact = np.percentile(data[:, feature], 99.9)
        assert abs(features.robust_high[feature] - exact) <= 2.0**-4 * abs(exact)


def test_past_the_sketch_budget_a_random_sample_stands_in(monkeypatch):
    import vaecheck.stats as stats_module

    monkeypatch.setattr(stats_module, "SKETCH_VALUES", 2**15)
    rng = np.random.default_rng(10)
    data = rng.lognormal(0, 1, (2**18, 4))
    stats = feed(data, "C", rows=4096).result()
    info = stats.quantiles
    assert not info.exact_counts and 0 < info.values_seen < data.size // 4
    # The sample's percentile lies between the data's at q - rank_error and q + rank_error,
    # widened by the bins' relative error.
    for estimate, q in ((stats.robust_low, 0.1), (stats.robust_high, 99.9)):
        low, high = np.percentile(data, [max(q - info.rank_error, 0), min(q + info.rank_error, 100)])
        assert low * (1 - info.relative_error) <= estimate <= high * (1 + info.relative_error)
    # The exact figures do not depend on the sample.
    assert (stats.min, stats.max) == (data.min(), data.max())


def test_wide_data_keeps_global_statistics_and_says_what_it_dropped(monkeypatch):
    import vaecheck.stats as stats_module

    monkeypatch.setattr(stats_module, "MAX_FEATURES", 64)
    data = np.random.default_rng(11).standard_normal((50, 100))
    stats = feed(data, "C").result()
    assert stats.features is None
    assert "100 features exceed the cap of 64" in stats.feature_note
    assert stats.edges_for(RELU).below == np.count_nonzero(data < -FLOAT32_END)
    assert stats.std == pytest.approx(data.std())


def test_many_features_keep_vectors_but_not_sketches(monkeypatch):
    import vaecheck.stats as stats_module

    monkeypatch.setattr(stats_module, "MAX_SKETCHED_FEATURES", 8)
    data = np.random.default_rng(12).standard_normal((50, 10))
    stats = feed(data, "C").result()
    assert stats.features is not None and stats.features.robust_low is None
    assert "robust extremes not kept: 10 features exceed the cap of 8" in stats.feature_note


def test_worst_features_name_the_share_outside():
    data = np.random.default_rng(13).uniform(0, 1, (1000, 5))
    data[:410, 2] -= 2  # feature 2: 41% below 0
    data[:100, 4] += 5  # feature 4: 10% above 1
    stats = StatsAccumulator(data.shape, data.dtype, [SIGMOID], feature_names=list("abcde"))
    stats.update(data)
    worst, reaching = worst_features(stats.result().features, SIGMOID)
    assert reaching == 2
    assert [(w.index, w.label, w.below, w.above) for w in worst] == [
        (2, "feature 2 'c'", 410, 0), (4, "feature 4 'e'", 0, 100)
    ]
    assert worst[0].fraction_below == pytest.approx(0.41)


def test_image_channels_are_named_channels():
    images = np.random.default_rng(14).integers(0, 256, (20, 8, 8, 3)).astype(np.uint8)
    stats = measure([images], images.shape, images.dtype, [SIGMOID])
    assert stats.features.axis_name == "channel" and stats.features.count == 3
    assert stats.features.label(1) == "channel 1"


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (np.eye(10)[np.random.default_rng(0).integers(0, 10, 500)], "one-hot"),
        (np.eye(4, dtype=np.uint8)[np.random.default_rng(0).integers(0, 4, 50)], "one-hot"),
        (np.random.default_rng(0).dirichlet(np.ones(6), 500).astype(np.float32), "probability-rows"),
        (np.random.default_rng(0).integers(0, 10, 500), "integer-labels"),
        (np.random.default_rng(0).integers(0, 1000, (500, 1)).astype(np.float32), "integer-labels"),
        # Not rows of probabilities: in [0, 1], yet the rows do not sum to 1.
        (np.random.default_rng(0).uniform(0, 1, (500, 6)), "unit-interval"),
        # Several small integers per sample: codes or counts, named like labels all the same.
        (np.random.default_rng(0).integers(0, 10, (500, 3)).astype(np.float32), "integer-labels"),
    ],
)
def test_recognizes_rows_and_labels(data, kind):
    assert recognize(measure(blocks(data, 64), data.shape, data.dtype)).name == kind


def test_probability_rows_need_every_row_checked():
    data = np.random.default_rng(0).dirichlet(np.ones(6), 500)
    data[499] *= 0.5
    stats = measure(blocks(data, 64), data.shape, data.dtype)
    assert recognize(stats).name == "unit-interval"


def test_threads_do_not_change_the_figures(tmp_path):
    from vaecheck.readers.data import open_data
    from vaecheck.stats import measure_source

    rng = np.random.default_rng(15)
    data = rng.standard_normal((300_000, 12)).astype(np.float32)  # sampled: past the budget
    data[5, 3] = np.nan
    np.save(tmp_path / "x.npy", data)
    results = [
        measure_source(open_data(tmp_path / "x.npy"), [RELU, SIGMOID], seed=3, workers=workers)
        for workers in (1, 3)
    ]
    one, three = results
    assert not one.quantiles.exact_counts
    assert one == three  # every compared field: counts, extremes, moments, robust extremes
    np.testing.assert_array_equal(one.sample, three.sample)
    np.testing.assert_array_equal(one.features.robust_low, three.features.robust_low)
    np.testing.assert_array_equal(one.features.std, three.features.std)


# The sample's generator ---------------------------------------------------------------------
def test_the_block_generator_is_splitmix64_and_the_same_for_the_same_place():
    from vaecheck.stats import _BlockRandom, _mix64

    # SplitMix64's first outputs from state 0, as its reference implementation gives them.
    assert [_mix64(0x9E3779B97F4A7C15 * i) for i in (1, 2, 3)] == [
        0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F,
    ]
    assert _BlockRandom(())._next(3).tolist() == [  # the same in numpy's wrapping arithmetic
        0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F,
    ]
    first = _BlockRandom((0, 4, 2))
    again = _BlockRandom((0, 4, 2))
    assert first.integers(0, 10**9, 50).tolist() == again.integers(0, 10**9, 50).tolist()
    assert first.random() == again.random()
    other_place = _BlockRandom((0, 4, 3)).integers(0, 10**9, 50).tolist()
    other_seed = _BlockRandom((1, 4, 2)).integers(0, 10**9, 50).tolist()
    assert other_place != _BlockRandom((0, 4, 2)).integers(0, 10**9, 50).tolist() != other_seed


def test_the_block_generator_draws_uniformly_within_its_bounds():
    from vaecheck.stats import _BlockRandom

    generator = _BlockRandom((7,))
    drawn = generator.integers(5, 105, 200_000)
    assert drawn.dtype == np.int64 and drawn.min() == 5 and drawn.max() == 104
    counts = np.bincount(drawn - 5, minlength=100)
    chi_square = float(((counts - 2000.0) ** 2 / 2000.0).sum())
    assert chi_square < 160  # 99 degrees of freedom: p below 1e-4 past 160
    floats = np.array([generator.random() for _ in range(20_000)])
    assert 0.0 <= floats.min() and floats.max() < 1.0 and abs(floats.mean() - 0.5) < 0.01

"""Streaming statistics: exact against numpy, mergeable, and counted against codomain ends."""

from __future__ import annotations

import numpy as np
import pytest

from vaecheck.intervals import INF, Interval
from vaecheck.stats import StatsAccumulator, measure, recognize

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

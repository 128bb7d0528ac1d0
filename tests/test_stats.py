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

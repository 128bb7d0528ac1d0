"""The quantile sketch against numpy.percentile, within the error bound its docstring states."""

from __future__ import annotations

import numpy as np
import pytest

from vaecheck.sketch import QuantileSketch

QUANTILES = [0.0, 0.1, 1.0, 5.0, 25.0, 50.0, 75.0, 95.0, 99.0, 99.9, 100.0]


def distributions() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    return {
        "normal": rng.standard_normal(200_000),
        "lognormal": rng.lognormal(0.0, 3.0, 100_000),
        "negative uniform": rng.uniform(-5e6, -3e6, 50_000),
        "uint8 pixels": rng.integers(0, 256, 100_000).astype(np.uint8),
        "ties": np.repeat([-2.0, 0.0, 0.0, 1.5, 7.0], 3001),
        "tiny": rng.standard_normal(20_000) * 1e-30,
        "float32 standardized": rng.standard_normal(100_000).astype(np.float32),
        "mixed scales": np.concatenate([rng.normal(0, 1, 5000), rng.normal(1e4, 10, 50)]),
    }


def bound(sketch: QuantileSketch, data: np.ndarray, q: float) -> float:
    """The documented bound: relative to the two order statistics numpy interpolates between."""
    ordered = np.sort(data.astype(np.float64))
    rank = q / 100 * (ordered.size - 1)
    neighbours = ordered[int(np.floor(rank))], ordered[int(np.ceil(rank))]
    magnitude = max(abs(neighbours[0]), abs(neighbours[1]))
    return sketch.relative_error() * magnitude + 2.0**sketch.min_exponent


@pytest.mark.parametrize("name", list(distributions()))
@pytest.mark.parametrize("bits", [7, 4])
def test_quantiles_within_the_documented_bound(name: str, bits: int) -> None:
    data = distributions()[name]
    sketch = QuantileSketch(precision_bits=bits)
    for part in np.array_split(data, 7):  # fed in pieces, as blocks arrive
        sketch.add(part)
    assert sketch.count() == data.size
    for q in QUANTILES:
        exact = float(np.percentile(data.astype(np.float64), q))
        estimate = sketch.quantile(q)
        assert estimate is not None
        assert abs(estimate - exact) <= bound(sketch, data, q), (name, q, estimate, exact)


def test_the_bound_is_tight_enough_to_fail() -> None:
    # A value in the middle of a wide bin: the estimate differs from it, yet within the bound.
    data = np.full(10, 1.0 + 0.3 * 2.0**-4)
    sketch = QuantileSketch(precision_bits=4)
    sketch.add(data)
    estimate = sketch.quantile(50)
    assert estimate != data[0]
    assert abs(estimate - data[0]) <= sketch.relative_error() * data[0]


def test_clamped_to_the_exact_extremes() -> None:
    data = np.array([3.0, 3.01, 3.02])
    sketch = QuantileSketch(precision_bits=2)
    sketch.add(data)
    assert sketch.quantile(0, low=3.0, high=3.02) >= 3.0
    assert sketch.quantile(100, low=3.0, high=3.02) <= 3.02


def test_merging_equals_one_pass() -> None:
    data = distributions()["lognormal"]
    whole = QuantileSketch()
    whole.add(data)
    left, right = QuantileSketch(), QuantileSketch()
    left.add(data[:30_000])
    right.add(data[30_000:])
    merged = right.merge(left)
    np.testing.assert_array_equal(merged.counts, whole.counts)
    assert [merged.quantile(q) for q in QUANTILES] == [whole.quantile(q) for q in QUANTILES]


def test_sketches_with_other_bins_do_not_merge() -> None:
    with pytest.raises(ValueError):
        QuantileSketch(7).merge(QuantileSketch(4))


def test_bins_grow_with_the_value_and_contain_it() -> None:
    rng = np.random.default_rng(3)
    values = np.sort(
        np.concatenate(
            [rng.standard_normal(1000) * 10.0 ** rng.integers(-30, 30, 1000), [0.0, -0.0, 1e-45]]
        )
    ).astype(np.float32)
    sketch = QuantileSketch(precision_bits=5)
    index = sketch.bin_index(values)
    assert np.all(np.diff(index) >= 0)
    for value, position in zip(values, index):
        low, high = sketch.bin_range(int(position))
        assert low <= value <= high


def test_per_feature_counts_match_one_sketch_per_feature() -> None:
    rng = np.random.default_rng(5)
    values = rng.standard_normal((3000, 4)) * [1, 10, 100, 1000]
    features = np.broadcast_to(np.arange(4), values.shape)
    together = QuantileSketch(4, -40, 40, features=4)
    together.add(values[:1000].ravel(), features[:1000].ravel())
    together.add(values[1000:].ravel(), features[1000:].ravel())
    for feature in range(4):
        alone = QuantileSketch(4, -40, 40)
        alone.add(values[:, feature])
        np.testing.assert_array_equal(together.counts[feature], alone.counts[0])
        assert together.quantile(99.9, feature) == alone.quantile(99.9)


def test_a_block_of_rows_takes_its_row_of_features() -> None:
    rng = np.random.default_rng(6)
    values = rng.standard_normal((2000, 3)) * [1, 50, 2500]
    by_value = QuantileSketch(4, -40, 40, features=3)
    by_value.add(values.ravel(), np.broadcast_to(np.arange(3), values.shape).ravel())
    by_row = QuantileSketch(4, -40, 40, features=3)
    by_row.add(values, np.arange(3))
    np.testing.assert_array_equal(by_row.counts, by_value.counts)
    assert by_row.counts[2].sum() == 2000
    with pytest.raises(ValueError, match="each value's feature"):
        by_row.add(values, np.arange(2))


def test_magnitudes_outside_the_window_share_the_end_bins() -> None:
    sketch = QuantileSketch(3, -10, 10)
    sketch.add(np.array([1e-20, -1e-20, 0.0, 1e20, -1e20, 5.0]))
    assert sketch.count() == 6
    assert sketch.quantile(50) == 0.0  # the three tiny values sit in the bins of zero
    assert sketch.quantile(100, high=1e20) == 1e20  # the top bin is bounded only by the max


def test_empty_sketch_has_no_quantile() -> None:
    assert QuantileSketch().quantile(50) is None

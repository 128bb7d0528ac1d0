"""Streaming, mergeable statistics of a data sample, measured against output codomains.

The data never flows through the model: vaecheck reads it once, block by block, and keeps only
what the checks need (extremes, non-finite counts, moments, how many values lie beyond or on
each end of each codomain) plus a small strided sample for percentiles and the histogram.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from vaecheck.intervals import Interval

SAMPLE_SIZE = 65_536
# float32 resolution: model outputs are float32, so data within a few ulps of an end sits on it.
FLOAT32_EPS = float(np.finfo(np.float32).eps)


def end_tolerance(bound: float) -> float:
    return 4 * FLOAT32_EPS * max(1.0, abs(bound))


@dataclass(frozen=True)
class EdgeCounts:
    """Where the finite data values lie relative to one interval's ends."""

    interval: Interval
    below: int = 0  # beyond the low end (by more than float32 resolution)
    above: int = 0
    on_low: int = 0  # equal to the low end, within float32 resolution
    on_high: int = 0

    @property
    def outside(self) -> int:
        return self.below + self.above

    def merge(self, other: EdgeCounts) -> EdgeCounts:
        return EdgeCounts(
            self.interval,
            self.below + other.below,
            self.above + other.above,
            self.on_low + other.on_low,
            self.on_high + other.on_high,
        )


@dataclass(frozen=True)
class RowSums:
    """How the data's rows along one sample axis sum, against the 1 a distribution sums to.

    A row is the vector of values along `axis` at one position of the other axes of one
    sample: for one-hot targets of shape (N, 10), each sample is one row of width 10.
    """

    axis: int  # a sample axis, counted from the end (-1 is the last)
    width: int  # values per row
    tolerance: float  # a row within this of 1 sums to 1
    rows: int = 0  # rows with a finite sum
    below: int = 0  # rows summing to less than 1 - tolerance
    above: int = 0  # rows summing to more than 1 + tolerance
    min: float | None = None
    max: float | None = None

    @property
    def off(self) -> int:
        return self.below + self.above

    def merge(self, other: RowSums) -> RowSums:
        return RowSums(
            self.axis,
            self.width,
            self.tolerance,
            self.rows + other.rows,
            self.below + other.below,
            self.above + other.above,
            _combine(self.min, other.min, min),
            _combine(self.max, other.max, max),
        )

    def add(self, sums: np.ndarray) -> RowSums:
        """These counts with one more batch of finite row sums folded in."""
        sums = sums[np.isfinite(sums)]
        if sums.size == 0:
            return self
        return self.merge(
            RowSums(
                self.axis,
                self.width,
                self.tolerance,
                int(sums.size),
                int(np.count_nonzero(sums < 1.0 - self.tolerance)),
                int(np.count_nonzero(sums > 1.0 + self.tolerance)),
                float(sums.min()),
                float(sums.max()),
            )
        )


@dataclass(frozen=True)
class ValueCounts:
    """How often a few exact values occur (hinge's -1, 0, 1; an ignored class), and how many
    finite values are not integers."""

    values: tuple[float, ...]
    counts: tuple[int, ...]
    non_integer: int = 0
    others: int = 0  # finite values equal to none of `values`

    def count(self, value: float) -> int:
        return sum(c for v, c in zip(self.values, self.counts) if v == value)

    def merge(self, other: ValueCounts) -> ValueCounts:
        return ValueCounts(
            self.values,
            tuple(a + b for a, b in zip(self.counts, other.counts)),
            self.non_integer + other.non_integer,
            self.others + other.others,
        )


def row_sum_tolerance(width: int, dtype: np.dtype) -> float:
    """How far from 1 a row may sum and still count as a distribution: rounding, not mistakes."""
    eps = float(np.finfo(dtype).eps) if np.dtype(dtype).kind == "f" else 0.0
    return max(1e-4, 4 * width * eps)


@dataclass(frozen=True)
class DataStats:
    shape: tuple[int, ...]
    dtype: str
    count: int  # all values
    nan: int
    posinf: int
    neginf: int
    min: float | None  # over finite values
    max: float | None
    mean: float | None
    std: float | None
    integer_valued: bool
    edges: tuple[EdgeCounts, ...]
    sample: np.ndarray = field(repr=False, compare=False)  # strided sample of finite values
    # Measured only when a check asks for them (a categorical loss, a softmax, hinge labels).
    row_sums: tuple[RowSums, ...] = ()
    value_counts: ValueCounts | None = None

    @property
    def nonfinite(self) -> int:
        return self.nan + self.posinf + self.neginf

    @property
    def finite(self) -> int:
        return self.count - self.nonfinite

    def edges_for(self, interval: Interval) -> EdgeCounts | None:
        for counts in self.edges:
            if counts.interval == interval:
                return counts
        return None

    def row_sums_along(self, axis: int) -> RowSums | None:
        """The row sums along sample axis `axis` (negative, from the end), if measured."""
        for sums in self.row_sums:
            if sums.axis == axis:
                return sums
        return None

    def percentile(self, q: float) -> float | None:
        if self.sample.size == 0:
            return None
        return float(np.percentile(self.sample, q))


class StatsAccumulator:
    """Folds blocks of data into DataStats; two accumulators over disjoint parts merge."""

    def __init__(
        self,
        shape: tuple[int, ...],
        dtype: np.dtype,
        intervals: Iterable[Interval] = (),
        sample_size: int = SAMPLE_SIZE,
        *,
        row_axes: Iterable[int] = (),
        value_counts: Sequence[float] | None = None,
    ) -> None:
        """`row_axes` (sample axes, negative) asks for row sums; `value_counts` for the counts
        of those exact values and of non-integers. Both cost a pass over each block, so they
        are measured only when asked for."""
        self.shape = shape
        self.dtype = np.dtype(dtype)
        self._sample_size = sample_size
        self.row_sums = [
            RowSums(axis, width, row_sum_tolerance(width, self.dtype))
            for axis in dict.fromkeys(row_axes)
            if (width := _row_width(shape, axis)) is not None
        ]
        # Fortran-ordered data arrives in slices of the last axis: rows along it are summed
        # in parts and completed at the end.
        self._partial_sums: dict[int, np.ndarray] = {}
        self.value_counts = (
            ValueCounts(tuple(value_counts), (0,) * len(value_counts))
            if value_counts is not None
            else None
        )
        unique: list[Interval] = []
        for interval in intervals:
            if interval not in unique:
                unique.append(interval)
        self.edges = [EdgeCounts(interval) for interval in unique]
        total = math.prod(shape)
        self._stride = max(1, total // sample_size) if total else 1
        self._sample_offset = 0
        self._samples: list[np.ndarray] = []
        self.count = 0
        self.nan = 0
        self.posinf = 0
        self.neginf = 0
        self.min: float | None = None
        self.max: float | None = None
        self._n = 0  # finite values in the moments
        self._mean = 0.0
        self._m2 = 0.0
        self.integer_valued = True

    def update(self, block: np.ndarray) -> None:
        values = block.reshape(-1)
        self.count += values.size
        if values.size == 0:
            return
        if self.row_sums:
            self._update_row_sums(block)
        if values.dtype == np.bool_:
            values = values.view(np.uint8)
        if values.dtype.kind == "f":
            if values.dtype.itemsize < 4:
                values = values.astype(np.float32)
            finite_mask = np.isfinite(values)
            if not finite_mask.all():
                self.nan += int(np.isnan(values).sum())
                self.posinf += int(np.isposinf(values).sum())
                self.neginf += int(np.isneginf(values).sum())
                values = values[finite_mask]
            if values.size and self.integer_valued:
                self.integer_valued = bool(np.all(np.floor(values) == values))
        if values.size == 0:
            return
        low = float(values.min())
        high = float(values.max())
        self.min = low if self.min is None else min(self.min, low)
        self.max = high if self.max is None else max(self.max, high)
        self._update_moments(values)
        self._update_edges(values, low, high)
        self._update_sample(values)
        if self.value_counts is not None:
            self._update_value_counts(values)

    def _update_row_sums(self, block: np.ndarray) -> None:
        if block.ndim != len(self.shape):
            return
        for position, sums in enumerate(self.row_sums):
            if len(self.shape) == 1:  # scalar samples: each value is a row of width 1
                partial = block.astype(np.float64)
                complete = True
            else:
                axis = sums.axis
                partial = _sum_along(block, axis)
                complete = block.shape[axis] == self.shape[axis]
            if complete:
                self.row_sums[position] = sums.add(partial.reshape(-1))
            elif sums.axis in self._partial_sums:
                self._partial_sums[sums.axis] += partial
            else:
                self._partial_sums[sums.axis] = partial

    def _update_value_counts(self, values: np.ndarray) -> None:
        counts = self.value_counts
        assert counts is not None
        matched = [int(np.count_nonzero(values == v)) for v in counts.values]
        non_integer = (
            int(np.count_nonzero(np.floor(values) != values)) if values.dtype.kind == "f" else 0
        )
        self.value_counts = counts.merge(
            ValueCounts(counts.values, tuple(matched), non_integer, values.size - sum(matched))
        )

    def _update_moments(self, values: np.ndarray) -> None:
        n = values.size
        block_mean = float(np.mean(values, dtype=np.float64))
        centered = values.astype(np.float64) - block_mean
        block_m2 = float(np.dot(centered, centered))
        total = self._n + n
        delta = block_mean - self._mean
        self._mean += delta * n / total
        self._m2 += block_m2 + delta * delta * self._n * n / total
        self._n = total

    def _update_edges(self, values: np.ndarray, low: float, high: float) -> None:
        for position, counts in enumerate(self.edges):
            interval = counts.interval
            below = above = on_low = on_high = 0
            if math.isfinite(interval.low):
                tolerance = end_tolerance(interval.low)
                if low < interval.low - tolerance:
                    below = int(np.count_nonzero(values < interval.low - tolerance))
                if low <= interval.low + tolerance:
                    on_low = int(np.count_nonzero(np.abs(values - interval.low) <= tolerance))
            if math.isfinite(interval.high):
                tolerance = end_tolerance(interval.high)
                if high > interval.high + tolerance:
                    above = int(np.count_nonzero(values > interval.high + tolerance))
                if high >= interval.high - tolerance:
                    on_high = int(np.count_nonzero(np.abs(values - interval.high) <= tolerance))
            if below or above or on_low or on_high:
                self.edges[position] = counts.merge(
                    EdgeCounts(interval, below, above, on_low, on_high)
                )

    def _update_sample(self, values: np.ndarray) -> None:
        # The stride runs over finite values only, so the sample stays uniform over them.
        start = (-self._sample_offset) % self._stride
        if start < values.size:
            self._samples.append(np.asarray(values[start :: self._stride], dtype=np.float64))
        self._sample_offset += values.size

    def merge(self, other: StatsAccumulator) -> StatsAccumulator:
        """Combine with an accumulator that saw a disjoint part of the same data."""
        merged = StatsAccumulator(
            self.shape,
            self.dtype,
            [e.interval for e in self.edges],
            self._sample_size,
            row_axes=[r.axis for r in self.row_sums],
            value_counts=self.value_counts.values if self.value_counts is not None else None,
        )
        merged.edges = [a.merge(b) for a, b in zip(self.edges, other.edges)]
        merged.row_sums = [a.merge(b) for a, b in zip(self.row_sums, other.row_sums)]
        merged._partial_sums = {
            axis: self._partial_sums.get(axis, 0) + other._partial_sums.get(axis, 0)
            for axis in {*self._partial_sums, *other._partial_sums}
        }
        if self.value_counts is not None and other.value_counts is not None:
            merged.value_counts = self.value_counts.merge(other.value_counts)
        merged._stride = self._stride
        merged._samples = self._samples + other._samples
        merged._sample_offset = self._sample_offset + other._sample_offset
        for name in ("count", "nan", "posinf", "neginf"):
            setattr(merged, name, getattr(self, name) + getattr(other, name))
        merged.min = _combine(self.min, other.min, min)
        merged.max = _combine(self.max, other.max, max)
        total = self._n + other._n
        if total:
            delta = other._mean - self._mean
            merged._mean = self._mean + delta * other._n / total
            merged._m2 = self._m2 + other._m2 + delta * delta * self._n * other._n / total
        merged._n = total
        merged.integer_valued = self.integer_valued and other.integer_valued
        return merged

    def result(self) -> DataStats:
        sample = np.concatenate(self._samples) if self._samples else np.empty(0)
        return DataStats(
            shape=self.shape,
            dtype=str(self.dtype),
            count=self.count,
            nan=self.nan,
            posinf=self.posinf,
            neginf=self.neginf,
            min=self.min,
            max=self.max,
            mean=self._mean if self._n else None,
            std=math.sqrt(self._m2 / self._n) if self._n else None,
            integer_valued=self.integer_valued and self._n > 0,
            edges=tuple(self.edges),
            sample=sample,
            row_sums=tuple(self._completed_row_sums()),
            value_counts=self.value_counts,
        )

    def _completed_row_sums(self) -> list[RowSums]:
        return [
            sums.add(self._partial_sums[sums.axis].reshape(-1))
            if sums.axis in self._partial_sums
            else sums
            for sums in self.row_sums
        ]


def _combine(a: float | None, b: float | None, pick) -> float | None:  # type: ignore[no-untyped-def]
    if a is None:
        return b
    if b is None:
        return a
    return pick(a, b)


def _sum_along(block: np.ndarray, axis: int) -> np.ndarray:
    """Sums along `axis`; along the last axis as a product with ones, which BLAS does several
    times faster than a reduction over a short axis (the tolerance covers float32 rounding)."""
    if axis != -1:
        return np.sum(block, axis=axis, dtype=np.float64)
    if block.dtype not in (np.float32, np.float64):
        block = block.astype(np.float64)
    return block @ np.ones(block.shape[-1], dtype=block.dtype)


def _row_width(shape: tuple[int, ...], axis: int) -> int | None:
    """The length of sample axis `axis`; 1 for scalar samples (rows of one value)."""
    sample = shape[1:]
    if not sample:
        return 1 if axis == -1 else None
    if not -len(sample) <= axis < 0:
        return None
    return sample[axis]


def measure(
    blocks: Iterable[np.ndarray],
    shape: tuple[int, ...],
    dtype: np.dtype,
    intervals: Sequence[Interval] = (),
    *,
    row_axes: Iterable[int] = (),
    value_counts: Sequence[float] | None = None,
) -> DataStats:
    accumulator = StatsAccumulator(
        shape, dtype, intervals, row_axes=row_axes, value_counts=value_counts
    )
    for block in blocks:
        accumulator.update(block)
    return accumulator.result()


# Recognizing common preprocessing ---------------------------------------------------------------
@dataclass(frozen=True)
class DataKind:
    name: str  # stable identifier: "uint8-images", "unit-interval", ...
    description: str  # what a person reads: "looks like 8-bit images"
    bounded: bool  # whether the data's range is a property of the data, not of a sample of it


def recognize(stats: DataStats) -> DataKind:
    """Name the preprocessing the data most likely went through."""
    low, high = stats.min, stats.max
    if low is None or high is None:
        return DataKind("no-finite-values", "has no finite values", bounded=False)
    if stats.dtype == "bool":
        return DataKind("binary", "binary (0/1) values", bounded=True)
    if stats.integer_valued and low >= 0 and 1 < high <= 255:
        if stats.dtype == "uint8" or high > 100:
            return DataKind("uint8-images", "looks like 8-bit images (0..255)", bounded=True)
        return DataKind("integer-labels", "integer values, like class labels", bounded=True)
    if stats.integer_valued and low >= 0 and high <= 1:
        return DataKind("binary", "binary (0/1) values", bounded=True)
    if low >= 0 and high <= 1:
        return DataKind("unit-interval", "scaled into [0, 1]", bounded=True)
    if low >= -1 and high <= 1 and low < 0:
        return DataKind("symmetric-unit", "scaled into [-1, 1]", bounded=True)
    if stats.integer_valued:
        return DataKind("integers", "integer values", bounded=True)
    mean, std = stats.mean, stats.std
    if mean is not None and std is not None and std > 0:
        if abs(mean) < 0.1 and 0.5 < std < 2.0:
            return DataKind("standardized", "looks standardized (mean ≈ 0, std ≈ 1)", bounded=False)
        tail = max(high - mean, mean - low) / std
        if tail > 6:
            return DataKind("heavy-tailed", f"heavy-tailed (extremes {tail:.0f} std from the mean)", bounded=False)
    return DataKind("other", "real values", bounded=True)

"""Streaming, mergeable statistics of a data sample, measured against output codomains.

The data never flows through the model: vaecheck reads it once, block by block, and keeps only
what the checks need, globally and per feature (the last axis: columns of a table, channels of
an image): extremes, non-finite counts, moments, how many values lie beyond or on each end of
each codomain, and quantile sketches for the robust extremes (0.1 and 99.9 percentiles).

Cost is what makes this usable on tens of GB: every statistic is a reduction numpy does in one
pass over a block, and the only per-value work beyond that happens when the block can need it
(counting values below a codomain end only when the block's minimum is below it). The quantile
sketches see every value up to SKETCH_VALUES values, and beyond that a uniform random sample of
about that many (see vaecheck.sketch for the error bounds).

Memory is bounded whatever the width: per-feature vectors are kept up to MAX_FEATURES features
and per-feature sketches up to MAX_SKETCHED_FEATURES; past either cap the statistics say so.
"""

from __future__ import annotations

import math
import os
import threading
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np

from vaecheck.intervals import Interval
from vaecheck.sketch import QuantileSketch, rank_error

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

SAMPLE_SIZE = 65_536  # values kept for the text histogram
# Blocks small enough to stay in the CPU caches while the statistics make their several passes
# over them: twice as fast as 32 MiB blocks that come from memory on every pass.
BLOCK_BYTES = 4 * 2**20
MAX_WORKERS = 4
SKETCH_VALUES = 2**21  # values the quantile sketches see; beyond, a uniform random sample
MAX_FEATURES = 2**18  # per-feature vectors (about 100 bytes a feature) up to this many
MAX_SKETCHED_FEATURES = 1024  # per-feature sketches (about 8 KB a feature) up to this many
FEATURE_SKETCH_BITS = 4  # per-feature robust extremes within 1/32 of their value
FEATURE_SKETCH_EXPONENTS = (-40, 40)
ROBUST_QUANTILES = (0.1, 99.9)
UNIT_SUM_TOLERANCE = 1e-3  # a probability row sums to 1 within this
ROW_PROBE = 4096
# Reducing a C-ordered block over its rows is slow when rows are narrow: such blocks are viewed
# as wide rows of many samples, reduced, then folded back to one value per feature.
WIDE_ROW = 1024
SKETCH_BATCH = 2**20
BYTE_SUM_ROWS = 256  # rows of 8-bit integers whose sums of squares float32 holds exactly
BYTE_SUM_COLUMNS = 64  # narrower blocks would sum in too many small calls
SAMPLE_RUN = 32  # values the sketch sample takes at each random start
_RUN_OFFSETS = np.arange(SAMPLE_RUN)
# m2 from sums of squares loses about log10(ratio) digits to cancellation: past this ratio of
# sum x^2 to m2 (a mean four times the spread), deviations are summed instead.
CANCELLATION_RATIO = 16.0
# float32 resolution: model outputs are float32, so data within a few ulps of an end sits on it.
FLOAT32_EPS = float(np.finfo(np.float32).eps)
# Moments of values near a float type's largest overflow to inf, which the statistics report as
# it is; numpy's warnings about it would only be noise on stderr. Thread-local in numpy, so
# set in each function that computes moments, whichever thread runs it.
_overflow_is_expected = np.errstate(over="ignore", invalid="ignore")


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


@dataclass(frozen=True, eq=False)
class FeatureEdges:
    """EdgeCounts per feature: one int64 vector per end."""

    interval: Interval
    below: np.ndarray
    above: np.ndarray
    on_low: np.ndarray
    on_high: np.ndarray

    @property
    def outside(self) -> np.ndarray:
        return self.below + self.above


@dataclass(frozen=True, eq=False)
class FeatureStats:
    """Statistics per feature (the last axis), as vectors indexed by feature."""

    axis_name: str  # "feature", or "channel" for images
    names: tuple[str, ...] | None  # column names, when the data has them
    finite: np.ndarray  # count of finite values
    nonfinite: np.ndarray
    min: np.ndarray  # NaN where a feature has no finite value
    max: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    edges: tuple[FeatureEdges, ...]
    robust_low: np.ndarray | None  # the 0.1 percentile, None past MAX_SKETCHED_FEATURES
    robust_high: np.ndarray | None

    @property
    def count(self) -> int:
        return int(self.finite.size)

    def edges_for(self, interval: Interval) -> FeatureEdges | None:
        for counts in self.edges:
            if counts.interval == interval:
                return counts
        return None

    def label(self, index: int) -> str:
        """How the report names a feature: "feature 12", or "feature 12 'age'" with a header."""
        text = f"{self.axis_name} {index}"
        if self.names is not None and index < len(self.names) and self.names[index]:
            text += f" '{self.names[index]}'"
        return text


@dataclass(frozen=True)
class QuantileInfo:
    """How the robust extremes were obtained, so the report can say how far to trust them."""

    values_seen: int  # finite values the global sketch counted
    exact_counts: bool  # True when the sketch saw every finite value, not a random sample
    relative_error: float  # bound from the bins (see vaecheck.sketch)
    rank_error: float  # percentile points, from sampling; 0 when every value was counted


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
    sample: np.ndarray = field(repr=False, compare=False)  # uniform sample of finite values
    robust_low: float | None = None  # 0.1 percentile of the finite values, from the sketch
    robust_high: float | None = None  # 99.9 percentile
    quantiles: QuantileInfo | None = None
    features: FeatureStats | None = field(default=None, compare=False)
    feature_note: str | None = None  # why per-feature statistics are missing or partial
    rows_checked: int = 0  # rows (vectors along the last axis) whose sums were checked
    unit_sum_rows: int = 0  # of those, the rows that sum to 1
    sketch: QuantileSketch | None = field(default=None, repr=False, compare=False)
    # Measured only when a check asks for them (a categorical loss, a softmax, hinge labels).
    row_sums: tuple[RowSums, ...] = ()
    value_counts: ValueCounts | None = None

    @property
    def nonfinite(self) -> int:
        return self.nan + self.posinf + self.neginf

    @property
    def finite(self) -> int:
        return self.count - self.nonfinite

    def row_sums_along(self, axis: int) -> RowSums | None:
        """The row sums along sample axis `axis` (negative, from the end), if measured."""
        for sums in self.row_sums:
            if sums.axis == axis:
                return sums
        return None

    def edges_for(self, interval: Interval) -> EdgeCounts | None:
        for counts in self.edges:
            if counts.interval == interval:
                return counts
        return None

    def percentile(self, q: float) -> float | None:
        """The q-th percentile of the finite values, from the sketch (or the sample)."""
        if self.sketch is not None and self.sketch.count():
            return self.sketch.quantile(q, low=self.min, high=self.max)
        if self.sample.size == 0:
            return None
        return float(np.percentile(self.sample, q))

    @property
    def rows_sum_to_one(self) -> bool:
        """Whether every row along the last axis was checked and sums to 1."""
        rows = math.prod(self.shape[:-1]) if len(self.shape) > 1 else 0
        return rows > 0 and self.rows_checked == rows and self.unit_sum_rows == rows


# --- per-block summaries ----------------------------------------------------------------------


_COUNTS = 4  # rows of _Summary.ints before the edge counts: n, nan, posinf, neginf


@dataclass
class _Summary:
    """Per-feature statistics of some values: all arrays have one entry per feature.

    The integer counts are rows of one array, so that adding or folding them all is one call:
    a block of a big file is summarized in a few hundred microseconds, and calls add up.
    """

    ints: np.ndarray  # (_COUNTS + 4 * intervals, features): n, nan, posinf, neginf, edges
    mean: np.ndarray
    m2: np.ndarray  # sum of squared deviations from the mean
    low: np.ndarray  # +inf where n == 0
    high: np.ndarray

    @property
    def n(self) -> np.ndarray:  # finite values
        return self.ints[0]

    @property
    def nan(self) -> np.ndarray:
        return self.ints[1]

    @property
    def posinf(self) -> np.ndarray:
        return self.ints[2]

    @property
    def neginf(self) -> np.ndarray:
        return self.ints[3]

    @property
    def edges(self) -> list[list[np.ndarray]]:
        """Per interval: below, above, on_low, on_high."""
        rows = self.ints[_COUNTS:]
        return [list(rows[start : start + 4]) for start in range(0, len(rows), 4)]

    @classmethod
    def empty(cls, features: int, intervals: int) -> _Summary:
        return cls(
            ints=np.zeros((_COUNTS + 4 * intervals, features), np.int64),
            mean=np.zeros(features),
            m2=np.zeros(features),
            low=np.full(features, np.inf),
            high=np.full(features, -np.inf),
        )

    @_overflow_is_expected
    def fold(self, groups: int) -> _Summary:
        """Fold `groups * F` entries, group-major, into F: the features of wide rows."""
        features = self.ints.shape[1] // groups
        ints = self.ints.reshape(len(self.ints), groups, features).sum(axis=1)
        weights = self.ints[0].reshape(groups, features).astype(np.float64)
        means = self.mean.reshape(groups, features)
        mean = _safe_divide((weights * means).sum(axis=0), ints[0])
        m2 = (self.m2.reshape(groups, features) + weights * (means - mean) ** 2).sum(axis=0)
        return _Summary(
            ints=ints,
            mean=mean,
            m2=m2,
            low=self.low.reshape(groups, features).min(axis=0),
            high=self.high.reshape(groups, features).max(axis=0),
        )

    @_overflow_is_expected
    def add(self, other: _Summary, where: slice | None = None) -> None:
        """Fold `other` into the entries `where` (all of them by default), in place."""
        at = slice(None) if where is None else where
        n_a = self.ints[0, at]
        n_b = other.ints[0]
        total = n_a + n_b
        delta = other.mean - self.mean[at]
        share = _safe_divide(n_b.astype(np.float64), total)
        self.m2[at] += other.m2 + delta * delta * n_a * share
        self.mean[at] += delta * share
        self.ints[:, at] += other.ints
        np.minimum(self.low[at], other.low, out=self.low[at])
        np.maximum(self.high[at], other.high, out=self.high[at])


def _safe_divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    result = np.zeros(np.broadcast(numerator, denominator).shape)
    np.divide(numerator, denominator, out=result, where=np.asarray(denominator) != 0)
    return result


def _per_column_count(mask: np.ndarray) -> np.ndarray:
    """Count True per column of a 2-D mask."""
    if mask.flags.c_contiguous and mask.shape[0] > 1:
        # Summing bytes 255 rows at a time stays in uint8 without casting: several times
        # faster than count_nonzero along a strided axis.
        as_bytes = mask.view(np.uint8)
        total = np.zeros(mask.shape[1], np.int64)
        for start in range(0, mask.shape[0], 255):
            total += as_bytes[start : start + 255].sum(axis=0, dtype=np.uint8)
        return total
    return np.count_nonzero(mask, axis=0).astype(np.int64)


def _count_beyond(
    values: np.ndarray,
    threshold: float,
    below: bool,
    inclusive: bool,
    finite: np.ndarray | None,
    scratch: _Scratch,
) -> np.ndarray:
    """Per column: how many values are < threshold (<= if inclusive), or > (>=) if not below."""
    rows, columns = values.shape
    if values.dtype.kind in "iu":
        # Compare in the integers: a float threshold would cast every value to float64.
        info = np.iinfo(values.dtype)
        if below:
            bound = math.floor(threshold) if inclusive else math.ceil(threshold) - 1
            if bound < info.min:
                return np.zeros(columns, np.int64)
            if bound >= info.max:
                return np.full(columns, rows, np.int64)
            threshold = bound
            inclusive = True
        else:
            bound = math.ceil(threshold) if inclusive else math.floor(threshold) + 1
            if bound > info.max:
                return np.zeros(columns, np.int64)
            if bound <= info.min:
                return np.full(columns, rows, np.int64)
            threshold = bound
            inclusive = True
    compare = (np.less_equal if inclusive else np.less) if below else (
        np.greater_equal if inclusive else np.greater
    )
    mask = scratch.get("mask", values.shape, np.bool_, values.flags.f_contiguous)
    compare(values, values.dtype.type(threshold), out=mask)
    if finite is not None:
        mask &= finite
    return _per_column_count(mask)


def _summarize(
    values: np.ndarray, intervals: Sequence[Interval], scratch: _Scratch, check_integer: bool
) -> tuple[_Summary, bool]:
    """Per-column statistics of a 2-D block (rows, features); also whether it is all integers.

    The integer test costs two passes over a float block, so it runs only while it matters.
    """
    rows, columns = values.shape
    if values.flags.c_contiguous and columns < WIDE_ROW and rows > 1:
        groups = min(rows, max(1, WIDE_ROW // columns))
        whole = rows - rows % groups
        if groups > 1 and whole:
            wide = values[:whole].reshape(whole // groups, groups * columns)
            summary, integer = _summarize_columns(wide, intervals, scratch, check_integer)
            summary = summary.fold(groups)
            if whole < rows:
                rest, rest_integer = _summarize_columns(
                    values[whole:], intervals, scratch, check_integer
                )
                summary.add(rest)
                integer = integer and rest_integer
            return summary, integer
    return _summarize_columns(values, intervals, scratch, check_integer)


def _summarize_columns(
    values: np.ndarray, intervals: Sequence[Interval], scratch: _Scratch, check_integer: bool
) -> tuple[_Summary, bool]:
    rows, columns = values.shape
    ints = np.zeros((_COUNTS + 4 * len(intervals), columns), np.int64)
    finite: np.ndarray | None = None
    low = values.min(axis=0)
    high = values.max(axis=0)
    block_low = float(low.min())
    block_high = float(high.max())
    # NaN propagates through min and max, and an infinity shows in them: when the block's
    # extremes are finite, so is every value, and the mask below is never built.
    if values.dtype.kind == "f" and not (math.isfinite(block_low) and math.isfinite(block_high)):
        finite = np.isfinite(values)
        ints[1] = _per_column_count(np.isnan(values))
        ints[2] = _per_column_count(values == np.inf)
        ints[3] = _per_column_count(values == -np.inf)
        low = np.min(values, axis=0, where=finite, initial=np.inf)
        high = np.max(values, axis=0, where=finite, initial=-np.inf)
        block_low = float(low.min())
        block_high = float(high.max())
    ints[0] = _per_column_count(finite) if finite is not None else rows
    mean, m2, integer = _moments(values, finite, ints[0], scratch, check_integer)
    summary = _Summary(ints, mean, m2, low.astype(np.float64), high.astype(np.float64))
    for position, interval in enumerate(intervals):
        below = _COUNTS + 4 * position
        above, on_low, on_high = below + 1, below + 2, below + 3
        if math.isfinite(interval.low):
            tolerance = end_tolerance(interval.low)
            if block_low < interval.low - tolerance:
                ints[below] = _count_beyond(
                    values, interval.low - tolerance, True, False, finite, scratch
                )
            if block_low <= interval.low + tolerance:
                up_to = _count_beyond(
                    values, interval.low + tolerance, True, True, finite, scratch
                )
                ints[on_low] = up_to - ints[below]
        if math.isfinite(interval.high):
            tolerance = end_tolerance(interval.high)
            if block_high > interval.high + tolerance:
                ints[above] = _count_beyond(
                    values, interval.high + tolerance, False, False, finite, scratch
                )
            if block_high >= interval.high - tolerance:
                from_ = _count_beyond(
                    values, interval.high - tolerance, False, True, finite, scratch
                )
                ints[on_high] = from_ - ints[above]
    return summary, integer


@_overflow_is_expected
def _moments(
    values: np.ndarray,
    finite: np.ndarray | None,
    n: np.ndarray,
    scratch: _Scratch,
    check_integer: bool,
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Mean and m2 per column of the `n` finite values, and whether every one is an integer."""
    rows, columns = values.shape
    if values.dtype.kind != "f":
        # Integers: exact sums in float64 (exact below 2**53), then m2 = sum x^2 - (sum x)^2 / n.
        if values.dtype.itemsize == 1 and columns >= BYTE_SUM_COLUMNS:
            total, squares = _byte_sums(values, scratch)
        else:
            total = np.einsum("ij->j", values, dtype=np.float64)
            squares = np.einsum("ij,ij->j", values, values, dtype=np.float64)
        return total / rows, np.maximum(squares - total * total / rows, 0.0), True
    # Floats: sums of x and x^2 per column in the block's precision (one pass each), and
    # m2 = sum x^2 - (sum x)^2 / n. That cancels when a column's mean dwarfs its spread; such
    # blocks take a second route, through deviations from the block mean.
    if finite is not None:
        values = np.where(finite, values, 0)
    totals = values.sum(axis=0, dtype=values.dtype).astype(np.float64)
    squares = np.einsum("ij,ij->j", values, values).astype(np.float64)
    mean = _safe_divide(totals, n) if finite is not None else totals / rows
    m2 = np.maximum(squares - totals * mean, 0.0)
    if np.any(squares > CANCELLATION_RATIO * m2):
        deviations = scratch.get("deviations", values.shape, values.dtype, values.flags.f_contiguous)
        np.subtract(values, mean.astype(values.dtype), out=deviations)
        if finite is not None:
            deviations *= finite
        correction = _safe_divide(deviations.sum(axis=0).astype(np.float64), n)
        mean = mean + correction
        m2 = np.einsum("ij,ij->j", deviations, deviations).astype(np.float64)
        m2 = np.maximum(m2 - n * correction * correction, 0.0)
    if not check_integer:
        return mean, m2, False
    floors = scratch.get("deviations", values.shape, values.dtype, values.flags.f_contiguous)
    np.floor(values, out=floors)
    return mean, m2, bool(np.array_equal(floors, values))


def _byte_sums(values: np.ndarray, scratch: _Scratch) -> tuple[np.ndarray, np.ndarray]:
    """Per-column sums of x and x^2 of 8-bit integers, exact, in float64.

    Casting every value to float64 inside einsum made these two sums most of the cost of
    8-bit images. In float32, sums of BYTE_SUM_ROWS rows are exact (256 * 255**2 < 2**24):
    rows are converted that many at a time into a buffer that stays in cache, summed there,
    and the partial sums added in float64.
    """
    rows, columns = values.shape
    step = min(rows, BYTE_SUM_ROWS)
    buffer = scratch.get("byte-sums", (step, columns), np.float32, False)
    total = np.zeros(columns)
    squares = np.zeros(columns)
    for start in range(0, rows, step):
        part = buffer[: min(step, rows - start)]
        np.copyto(part, values[start : start + step], casting="unsafe")
        total += part.sum(axis=0)
        squares += np.einsum("ij,ij->j", part, part)
    return total, squares


class _Scratch:
    """Reusable buffers, so a block's temporaries do not page-fault fresh memory each time."""

    def __init__(self) -> None:
        self._buffers: dict[str, np.ndarray] = {}

    def get(self, name: str, shape: tuple[int, ...], dtype: np.dtype, fortran: bool) -> np.ndarray:
        nbytes = math.prod(shape) * np.dtype(dtype).itemsize
        buffer = self._buffers.get(name)
        if buffer is None or buffer.size < nbytes:
            buffer = self._buffers[name] = np.empty(nbytes, np.uint8)
        flat = buffer[:nbytes].view(dtype)
        return flat.reshape(shape, order="F" if fortran else "C")


# --- the accumulator --------------------------------------------------------------------------


@dataclass
class _BlockResult:
    """What one block contributes; folded into the accumulator in block order."""

    number: int
    summary: _Summary
    start: int  # first feature the block covers
    width: int
    integer: bool
    rows_checked: int
    unit_sum_rows: int
    rows_checkable: bool
    sample: np.ndarray
    # Loss statistics: (position, partial row sums, complete) per requested axis, value counts.
    row_sums: tuple[tuple[int, np.ndarray, bool], ...] = ()
    value_counts: ValueCounts | None = None


class StatsAccumulator:
    """Folds blocks of data into DataStats; two accumulators over disjoint parts merge.

    `shape` is the shape of the whole data being measured: accumulators over disjoint parts
    of it (blocks, shards) are all made with the whole shape, so that they sample it at the
    same rate, and merge into the statistics of the whole.

    `update(block)` does both halves of the work. They can also be split, to spread blocks over
    threads: `summarize(block, number)` is safe to call from several threads at once, and
    `fold(result)` takes the results in block order. Random draws depend only on the seed and
    the block's number, and counts add up in integers, so the statistics do not depend on how
    many threads computed them.
    """

    def __init__(
        self,
        shape: tuple[int, ...],
        dtype: np.dtype,
        intervals: Iterable[Interval] = (),
        sample_size: int = SAMPLE_SIZE,
        *,
        seed: int | Sequence[int] = 0,
        feature_names: Sequence[str] | None = None,
        row_axes: Iterable[int] = (),
        value_counts: Sequence[float] | None = None,
    ) -> None:
        """`row_axes` (sample axes, negative) asks for row sums; `value_counts` for the counts
        of those exact values and of non-integers. Both cost a pass over each block, so they
        are measured only when asked for."""
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.row_sums = [
            RowSums(axis, width, row_sum_tolerance(width, self.dtype))
            for axis in dict.fromkeys(row_axes)
            if (width := _row_width(self.shape, axis)) is not None
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
        self.intervals = unique
        self.feature_names = tuple(feature_names) if feature_names is not None else None
        self.features = self.shape[-1] if len(self.shape) > 1 else 1
        # Past the cap, block statistics fold into one entry: the global ones.
        self._kept = self.features if self.features <= MAX_FEATURES else 1
        self._summary = _Summary.empty(self._kept, len(unique))
        population = math.prod(self.shape)
        self._sketch_rate = min(1.0, SKETCH_VALUES / population) if population else 1.0
        self._sample_rate = min(1.0, sample_size / population) if population else 1.0
        self._seed = tuple(int(part) for part in (seed if isinstance(seed, Sequence) else (seed,)))
        self._samples: list[np.ndarray] = []
        self.integer_valued = True
        self.rows_checked = 0
        self.unit_sum_rows = 0
        self._rows_checkable = self.features > 1
        self._blocks = 0
        # Each thread bins into sketches of its own; integer counts merge in any order.
        self._local = threading.local()
        self._lock = threading.Lock()
        self._sketch_sets: list[tuple[QuantileSketch, QuantileSketch | None]] = []

    def __getstate__(self) -> dict[str, object]:
        # Sent to another process (a Dask worker's result): the threads' sketches travel as
        # one merged pair, and the thread state stays behind.
        state = self.__dict__.copy()
        del state["_local"], state["_lock"]
        if len(self._sketch_sets) > 1:
            state["_sketch_sets"] = [(self.sketch, self.feature_sketch)]
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._local = threading.local()
        self._lock = threading.Lock()

    def _new_sketches(self) -> tuple[QuantileSketch, QuantileSketch | None]:
        feature_sketch = None
        if 1 < self.features <= MAX_SKETCHED_FEATURES:
            low, high = FEATURE_SKETCH_EXPONENTS
            feature_sketch = QuantileSketch(FEATURE_SKETCH_BITS, low, high, features=self.features)
        return QuantileSketch(), feature_sketch

    def _thread_state(self) -> tuple[tuple[QuantileSketch, QuantileSketch | None], _Scratch]:
        local = self._local
        if not hasattr(local, "sketches"):
            local.sketches = self._new_sketches()
            local.scratch = _Scratch()
            with self._lock:
                self._sketch_sets.append(local.sketches)
        return local.sketches, local.scratch

    @property
    def sketch(self) -> QuantileSketch:
        """The global sketch, all threads' and merged accumulators' counts together."""
        merged = QuantileSketch()
        for sketch, _ in self._sketch_sets:
            merged = merged.merge(sketch)
        return merged

    @property
    def feature_sketch(self) -> QuantileSketch | None:
        sketches = [pair[1] for pair in self._sketch_sets if pair[1] is not None]
        if not sketches:
            return self._new_sketches()[1]
        merged = sketches[0]
        for sketch in sketches[1:]:
            merged = merged.merge(sketch)
        return merged

    @property
    def count(self) -> int:
        return int(self._summary.ints[:_COUNTS].sum())

    def update(self, block: np.ndarray, features: slice | None = None) -> None:
        """Fold in one block; `features` is the span of the last axis it covers, if not all."""
        self.fold(self.summarize(block, features, self._blocks))

    @_overflow_is_expected
    def summarize(
        self, block: np.ndarray, features: slice | None = None, number: int = 0
    ) -> _BlockResult | None:
        """The statistics of block `number` (its place in the data): safe from any thread."""
        block = np.asarray(block)
        if block.size == 0:
            return None
        if block.dtype == np.bool_:
            block = block.view(np.uint8)
        elif block.dtype.kind == "f" and block.dtype.itemsize < 4:
            block = block.astype(np.float32)
        elif not block.dtype.isnative:
            block = block.astype(block.dtype.newbyteorder("="))
        values = _as_columns(block)
        start = (features.start or 0) if features is not None else 0
        sketches, scratch = self._thread_state()
        summary, integer = _summarize(values, self.intervals, scratch, self.integer_valued)
        checked, unit, checkable = self._row_sums(values, summary)
        finite = not summary.ints[1:_COUNTS].any()
        sample = self._feed_sketches(
            values, start, sketches, _BlockRandom((*self._seed, number)), finite
        )
        return _BlockResult(
            number, summary, start, values.shape[1], integer, checked, unit, checkable, sample,
            row_sums=self._block_row_sums(block),
            value_counts=self._block_value_counts(block),
        )

    def _block_row_sums(self, block: np.ndarray) -> tuple[tuple[int, np.ndarray, bool], ...]:
        if not self.row_sums or block.ndim != len(self.shape):
            return ()
        found = []
        for position, sums in enumerate(self.row_sums):
            if len(self.shape) == 1:  # scalar samples: each value is a row of width 1
                found.append((position, block.astype(np.float64), True))
            else:
                axis = sums.axis
                found.append(
                    (position, _sum_along(block, axis), block.shape[axis] == self.shape[axis])
                )
        return tuple(found)

    def _block_value_counts(self, block: np.ndarray) -> ValueCounts | None:
        counts = self.value_counts
        if counts is None:
            return None
        values = block.reshape(-1)
        if values.dtype.kind == "f":
            values = values[np.isfinite(values)]
        matched = [int(np.count_nonzero(values == v)) for v in counts.values]
        non_integer = (
            int(np.count_nonzero(np.floor(values) != values)) if values.dtype.kind == "f" else 0
        )
        return ValueCounts(counts.values, tuple(matched), non_integer, values.size - sum(matched))

    def fold(self, result: _BlockResult | None) -> None:
        """Add one block's statistics; blocks come in order, so that sums are reproducible."""
        self._blocks += 1
        if result is None:
            return
        self.integer_valued = self.integer_valued and result.integer
        if self._kept == self.features:
            self._summary.add(result.summary, slice(result.start, result.start + result.width))
        else:
            self._summary.add(result.summary.fold(result.width))
        if self._rows_checkable:
            self.rows_checked += result.rows_checked
            self.unit_sum_rows += result.unit_sum_rows
            self._rows_checkable = result.rows_checkable and result.width == self.features
        if result.sample.size:
            self._samples.append(result.sample)
        for position, partial, complete in result.row_sums:
            sums = self.row_sums[position]
            if complete:
                self.row_sums[position] = sums.add(partial.reshape(-1))
            elif sums.axis in self._partial_sums:
                self._partial_sums[sums.axis] += partial
            else:
                self._partial_sums[sums.axis] = partial
        if result.value_counts is not None and self.value_counts is not None:
            self.value_counts = self.value_counts.merge(result.value_counts)

    def _row_sums(self, values: np.ndarray, summary: _Summary) -> tuple[int, int, bool]:
        """Rows (vectors along the last axis) checked, those that sum to 1, and whether all did.

        One-hot and probability rows sum to 1; the check runs only while it can still hold.
        """
        if not self._rows_checkable or values.shape[1] != self.features:
            return 0, 0, False
        inside = bool((summary.low >= 0).all() and (summary.high <= 1).all())
        if not inside or summary.nan.sum():
            return 0, 0, False
        checked = unit = 0
        # Most data in [0, 1] is not made of probability rows: a few rows usually show it.
        for rows in (values[:ROW_PROBE], values[ROW_PROBE:]):
            if not rows.size:
                continue
            sums = rows.sum(axis=1, dtype=np.float64)
            checked += sums.size
            unit += int(np.count_nonzero(np.abs(sums - 1.0) <= UNIT_SUM_TOLERANCE))
            if unit < checked:
                return checked, unit, False
        return checked, unit, True

    def _feed_sketches(
        self,
        values: np.ndarray,
        feature_start: int,
        sketches: tuple[QuantileSketch, QuantileSketch | None],
        generator: _BlockRandom,
        finite: bool = False,
    ) -> np.ndarray:
        """Bin this block's share of the sketch sample; return its share of the histogram's.

        `finite` says the block holds no NaN or infinity, so that nothing needs filtering.
        """
        flat = values.ravel(order="K")
        rows, columns = values.shape
        fortran = values.flags.f_contiguous and not values.flags.c_contiguous

        def feature_of(positions: np.ndarray) -> np.ndarray:
            local = positions // rows if fortran else positions % columns
            return local + feature_start

        if (self._sketch_rate >= 1.0 or flat.size < SAMPLE_RUN) and finite and not fortran:
            # Every value, a batch of whole rows at a time: each column is one feature.
            features = np.arange(feature_start, feature_start + columns)
            step = max(1, SKETCH_BATCH // columns)
            for first in range(0, rows, step):
                batch = values[first : first + step]
                sketches[0].add(batch)
                if sketches[1] is not None:
                    sketches[1].add(batch, features)
        elif self._sketch_rate >= 1.0 or flat.size < SAMPLE_RUN:
            for start in range(0, flat.size, SKETCH_BATCH):
                positions = np.arange(start, min(start + SKETCH_BATCH, flat.size))
                _sketch_values(
                    sketches, flat[start : start + SKETCH_BATCH], positions, feature_of
                )
        else:
            # Runs of consecutive values at uniformly random starts: every value is as likely
            # to be drawn as any other (but for a run's length at the block's two ends), and
            # reading runs costs a fraction of reading scattered values.
            wanted = _draw_count(flat.size, self._sketch_rate / SAMPLE_RUN, generator)
            for first in range(0, wanted, SKETCH_BATCH // SAMPLE_RUN):
                count = min(SKETCH_BATCH // SAMPLE_RUN, wanted - first)
                starts = generator.integers(0, flat.size - SAMPLE_RUN + 1, count)
                positions = (starts[:, None] + _RUN_OFFSETS).ravel()
                _sketch_values(sketches, flat[positions], positions, feature_of)
        if self._sample_rate >= 1.0:
            picked = flat  # small data: the sample is all of it, so the histogram is exact
        elif self._sample_rate == 0.0:
            return np.empty(0)  # no histogram wanted: nothing to draw
        else:
            wanted = _draw_count(flat.size, self._sample_rate, generator)
            if not wanted:
                return np.empty(0)
            picked = flat[generator.integers(0, flat.size, wanted)]
        keep = None if finite else _finite_positions(picked)
        return np.asarray(picked if keep is None else picked[keep], np.float64)

    def merge(self, other: StatsAccumulator) -> StatsAccumulator:
        """Combine with an accumulator that saw a disjoint part of the same data."""
        if (self.features, self.intervals) != (other.features, other.intervals):
            raise ValueError("only accumulators over the same features and intervals merge")
        merged = StatsAccumulator(
            self.shape,
            self.dtype,
            self.intervals,
            feature_names=self.feature_names,
            row_axes=[r.axis for r in self.row_sums],
            value_counts=self.value_counts.values if self.value_counts is not None else None,
        )
        merged.row_sums = [a.merge(b) for a, b in zip(self.row_sums, other.row_sums)]
        merged._partial_sums = {
            axis: self._partial_sums.get(axis, 0) + other._partial_sums.get(axis, 0)
            for axis in {*self._partial_sums, *other._partial_sums}
        }
        if self.value_counts is not None and other.value_counts is not None:
            merged.value_counts = self.value_counts.merge(other.value_counts)
        merged.dtype = np.result_type(self.dtype, other.dtype)
        for source in (self, other):
            merged._summary.add(source._summary)
        # Counts add up: one pair of sketches stands for all, however many shards merge.
        merged._sketch_sets = [(self.sketch.merge(other.sketch), _merged_feature_sketch(self, other))]
        merged._samples = self._samples + other._samples
        merged.integer_valued = self.integer_valued and other.integer_valued
        merged.rows_checked = self.rows_checked + other.rows_checked
        merged.unit_sum_rows = self.unit_sum_rows + other.unit_sum_rows
        merged._rows_checkable = self._rows_checkable and other._rows_checkable
        merged._blocks = self._blocks + other._blocks
        return merged

    def result(self) -> DataStats:
        kept = self._summary
        whole = kept.fold(kept.n.size) if kept.n.size > 1 else kept
        n = int(whole.n[0])
        finite_seen = n > 0
        edges = tuple(
            EdgeCounts(interval, *(int(a[0]) for a in (c[0], c[1], c[2], c[3])))
            for interval, c in zip(self.intervals, whole.edges)
        )
        low = float(whole.low[0]) if finite_seen else None
        high = float(whole.high[0]) if finite_seen else None
        sample = np.concatenate(self._samples) if self._samples else np.empty(0)
        sketch = self.sketch
        seen = sketch.count()
        exact = self._sketch_rate >= 1.0
        quantiles = QuantileInfo(
            values_seen=seen,
            exact_counts=exact,
            relative_error=sketch.relative_error(),
            # Values of one run may be alike: count each run as a single draw, to be safe.
            rank_error=0.0 if exact else rank_error(seen // SAMPLE_RUN, ROBUST_QUANTILES[0]),
        )
        return DataStats(
            shape=self.shape,
            dtype=str(self.dtype),
            count=self.count,
            nan=int(whole.nan[0]),
            posinf=int(whole.posinf[0]),
            neginf=int(whole.neginf[0]),
            min=low,
            max=high,
            mean=float(whole.mean[0]) if finite_seen else None,
            std=math.sqrt(float(whole.m2[0]) / n) if finite_seen else None,
            integer_valued=self.integer_valued and finite_seen,
            edges=edges,
            sample=sample,
            robust_low=sketch.quantile(ROBUST_QUANTILES[0], low=low, high=high) if seen else None,
            robust_high=sketch.quantile(ROBUST_QUANTILES[1], low=low, high=high) if seen else None,
            quantiles=quantiles if seen else None,
            features=self._feature_stats(),
            feature_note=self._feature_note(),
            rows_checked=self.rows_checked if self._rows_checkable else 0,
            unit_sum_rows=self.unit_sum_rows if self._rows_checkable else 0,
            sketch=sketch,
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

    def _feature_stats(self) -> FeatureStats | None:
        if self.features <= 1 or self._kept != self.features:
            return None
        s = self._summary
        has = s.n > 0
        low = np.where(has, s.low, np.nan)
        high = np.where(has, s.high, np.nan)
        robust_low = robust_high = None
        sketch = self.feature_sketch
        if sketch is not None:
            quantile = lambda q, f: sketch.quantile(q, f, low[f], high[f]) if has[f] else None  # noqa: E731
            robust_low = np.array([_nan_if_none(quantile(ROBUST_QUANTILES[0], f))
                                   for f in range(self.features)])
            robust_high = np.array([_nan_if_none(quantile(ROBUST_QUANTILES[1], f))
                                    for f in range(self.features)])
        return FeatureStats(
            axis_name="channel" if len(self.shape) >= 4 else "feature",
            names=self.feature_names,
            finite=s.n.copy(),
            nonfinite=s.nan + s.posinf + s.neginf,
            min=low,
            max=high,
            mean=np.where(has, s.mean, np.nan),
            std=np.sqrt(_safe_divide(s.m2, s.n)),
            edges=tuple(
                FeatureEdges(interval, *(a.copy() for a in counts))
                for interval, counts in zip(self.intervals, s.edges)
            ),
            robust_low=robust_low,
            robust_high=robust_high,
        )

    def _feature_note(self) -> str | None:
        if self.features > MAX_FEATURES:
            return (
                f"per-feature statistics not kept: {self.features:,} features exceed the cap "
                f"of {MAX_FEATURES:,}"
            )
        if self.features > MAX_SKETCHED_FEATURES:
            return (
                f"per-feature robust extremes not kept: {self.features:,} features exceed the "
                f"cap of {MAX_SKETCHED_FEATURES:,}"
            )
        return None


def _as_columns(block: np.ndarray) -> np.ndarray:
    """The block as a 2-D (values, features) view, features along the last axis."""
    if block.ndim == 1:
        return block.reshape(-1, 1)
    features = block.shape[-1]
    if block.flags.c_contiguous:
        return block.reshape(-1, features)
    if block.flags.f_contiguous:
        return block.reshape(-1, features, order="F")
    return np.ascontiguousarray(block).reshape(-1, features)


def _merged_feature_sketch(
    first: StatsAccumulator, second: StatsAccumulator
) -> QuantileSketch | None:
    a, b = first.feature_sketch, second.feature_sketch
    if a is None or b is None:
        return None
    return a.merge(b)


class _BlockRandom:
    """A block's random draws, seeded by its place in the data.

    SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number generators", 2014)
    over a counter, in numpy's wrapping 64-bit integer arithmetic: a sampled run draws a few
    thousand numbers, and numpy.random would cost it its import, more than the draws themselves.
    """

    def __init__(self, seed: tuple[int, ...]) -> None:
        state = 0
        for part in seed:
            state = _mix64((state ^ (part & _MASK64)) + _GOLDEN)
        self._state = np.uint64(state)
        self._drawn = 0

    def _next(self, size: int) -> np.ndarray:
        counters = np.arange(self._drawn + 1, self._drawn + size + 1, dtype=np.uint64)
        self._drawn += size
        z = counters * np.uint64(_GOLDEN) + self._state
        z = (z ^ (z >> np.uint64(30))) * np.uint64(_MIX1)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(_MIX2)
        return z ^ (z >> np.uint64(31))

    def random(self) -> float:
        """A float in [0, 1)."""
        return float(self._next(1)[0] >> np.uint64(11)) * 2.0**-53

    def integers(self, low: int, high: int, size: int) -> np.ndarray:
        """`size` integers in [low, high); the modulo's bias is below (high - low) / 2**64."""
        return low + (self._next(size) % np.uint64(high - low)).astype(np.int64)


_MASK64 = 2**64 - 1
_GOLDEN, _MIX1, _MIX2 = 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB


def _mix64(z: int) -> int:
    z &= _MASK64
    z = ((z ^ (z >> 30)) * _MIX1) & _MASK64
    z = ((z ^ (z >> 27)) * _MIX2) & _MASK64
    return z ^ (z >> 31)


def _draw_count(size: int, rate: float, generator: _BlockRandom) -> int:
    """How many to draw from `size` at `rate`: the expected number, rounded up or down at random
    so that the expectation holds exactly."""
    if rate >= 1.0:
        return size
    return int(size * rate + generator.random())


def _sketch_values(
    sketches: tuple[QuantileSketch, QuantileSketch | None],
    picked: np.ndarray,
    positions: np.ndarray,
    feature_of,  # type: ignore[no-untyped-def]
) -> None:
    keep = _finite_positions(picked)
    if keep is not None:
        picked, positions = picked[keep], positions[keep]
    sketches[0].add(picked)
    if sketches[1] is not None:
        sketches[1].add(picked, feature_of(positions))


def _finite_positions(values: np.ndarray) -> np.ndarray | None:
    if values.dtype.kind != "f":
        return None
    finite = np.isfinite(values)
    return None if finite.all() else finite


def _nan_if_none(value: float | None) -> float:
    return math.nan if value is None else value


class _Source(Protocol):
    """What measure_source needs of a data source (vaecheck.readers.data.DataSource)."""

    shape: tuple[int, ...]
    dtype: np.dtype
    fortran_order: bool
    feature_names: tuple[str, ...] | None

    def chunks(
        self, max_bytes: int = ..., *, reuse: bool | int = ...
    ) -> Iterator[tuple[tuple[slice, ...], np.ndarray]]: ...

    def parts(self) -> tuple[_Source, ...]: ...


def default_workers() -> int:
    """Threads for the statistics: numpy releases the GIL in the reductions they run on.

    One per idle CPU (CPUs less the load average), up to MAX_WORKERS: on a machine whose CPUs
    are busy, threads only queue behind each other. The environment variable VAECHECK_THREADS
    sets the number instead (1 for no threads).
    """
    configured = os.environ.get("VAECHECK_THREADS", "").strip()
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    cpus = os.cpu_count() or 1
    try:
        idle = cpus - os.getloadavg()[0]
    except (AttributeError, OSError):  # no load average on this platform
        idle = cpus
    return max(1, min(MAX_WORKERS, round(idle)))


def _nbytes(source: _Source) -> int:
    return math.prod(source.shape) * np.dtype(source.dtype).itemsize


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


def measure_source(
    source: _Source,
    intervals: Sequence[Interval] = (),
    seed: int | None = 0,
    workers: int | None = None,
    *,
    row_axes: Iterable[int] = (),
    value_counts: Sequence[float] | None = None,
    sample_size: int = SAMPLE_SIZE,
) -> DataStats:
    """The statistics of a whole source, measured part by part (shards) and merged.

    Blocks are read in order and summarized by `workers` threads (default_workers() when
    None); the result does not depend on how many. `sample_size` values are kept for the
    text report's histogram (`DataStats.sample`); 0 keeps none and draws nothing.
    """
    threads = default_workers() if workers is None else max(1, workers)
    parts = source.parts()
    pool: ThreadPoolExecutor | None = None
    # Data of one block gains nothing from threads: starting them would cost more than it has.
    if threads > 1 and any(_nbytes(part) > BLOCK_BYTES for part in parts):
        from concurrent.futures import ThreadPoolExecutor

        pool = ThreadPoolExecutor(threads, thread_name_prefix="vaecheck-stats")
    plan = StatsPlan(
        source.shape,
        source.dtype,
        tuple(intervals),
        seed or 0,
        source.feature_names,
        tuple(row_axes),
        tuple(value_counts) if value_counts is not None else None,
        sample_size,
    )
    merged: StatsAccumulator | None = None
    try:
        for number, part in enumerate(parts):
            accumulator = measure_part(part, plan, (number,), pool, threads)
            merged = accumulator if merged is None else merged.merge(accumulator)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    assert merged is not None
    return merged.result()


@dataclass(frozen=True)
class StatsPlan:
    """What to measure of a whole source: the same for each of its parts, wherever measured."""

    shape: tuple[int, ...]
    dtype: np.dtype
    intervals: tuple[Interval, ...] = ()
    seed: int = 0
    feature_names: tuple[str, ...] | None = None
    row_axes: tuple[int, ...] = ()
    value_counts: tuple[float, ...] | None = None
    sample_size: int = SAMPLE_SIZE  # values kept for the histogram; 0 for none

    def accumulator(self, place: Sequence[int]) -> StatsAccumulator:
        """An accumulator for the part at `place` (its random draws are seeded by it)."""
        return StatsAccumulator(
            self.shape,
            self.dtype,
            self.intervals,
            seed=(self.seed, *place),
            feature_names=self.feature_names,
            row_axes=self.row_axes,
            value_counts=self.value_counts,
            sample_size=self.sample_size,
        )


def measure_part(
    part: _Source,
    plan: StatsPlan,
    place: Sequence[int],
    pool: ThreadPoolExecutor | None = None,
    threads: int = 1,
) -> StatsAccumulator:
    """The statistics of one part of a source (a shard, a row range), ready to merge with the
    others'; its blocks are summarized by `pool`'s `threads` threads, or here."""
    accumulator = plan.accumulator(place)
    along_last = part.fortran_order and len(part.shape) > 1
    if pool is None:
        for index, block in part.chunks(BLOCK_BYTES, reuse=True):
            accumulator.update(block, index[-1] if along_last else None)
        return accumulator
    # At most two blocks per thread wait, and one more is read: a ring of buffers
    # one longer than that is never refilled while a thread still reads it.
    pending: deque = deque()
    ring = 2 * threads + 2
    for position, (index, block) in enumerate(part.chunks(BLOCK_BYTES, reuse=ring)):
        span = index[-1] if along_last else None
        pending.append(pool.submit(accumulator.summarize, block, span, position))
        if len(pending) > 2 * threads:
            accumulator.fold(pending.popleft().result())
    while pending:
        accumulator.fold(pending.popleft().result())
    return accumulator


@dataclass(frozen=True)
class FeatureOutside:
    """One feature's values beyond an interval's ends: what "feature 12: 41% below 0" says."""

    index: int
    label: str  # "feature 12", "channel 0", "feature 3 'age'"
    finite: int
    below: int
    above: int

    name: str | None = None  # the column's name, when the data has a header

    @property
    def outside(self) -> int:
        return self.below + self.above

    @property
    def fraction_below(self) -> float:
        return self.below / self.finite if self.finite else 0.0

    @property
    def fraction_above(self) -> float:
        return self.above / self.finite if self.finite else 0.0

    @property
    def fraction_outside(self) -> float:
        return self.outside / self.finite if self.finite else 0.0


def worst_features(
    features: FeatureStats | None, interval: Interval, limit: int = 5
) -> tuple[tuple[FeatureOutside, ...], int]:
    """The features with the largest share of values outside `interval`, and how many have any."""
    if features is None:
        return (), 0
    edges = features.edges_for(interval)
    if edges is None:
        return (), 0
    outside = edges.outside
    fraction = _safe_divide(outside.astype(np.float64), features.finite)
    reaching = int(np.count_nonzero(outside))
    if not reaching:
        return (), 0
    # Largest share first; among equal shares, the lower feature number.
    order = np.lexsort((np.arange(fraction.size), -fraction))[: min(limit, reaching)]
    worst = tuple(
        FeatureOutside(
            index=int(i),
            label=features.label(int(i)),
            name=features.names[int(i)] if features.names is not None else None,
            finite=int(features.finite[i]),
            below=int(edges.below[i]),
            above=int(edges.above[i]),
        )
        for i in order
    )
    return worst, reaching


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
    per_sample = stats.shape[1:]
    if stats.rows_sum_to_one and low >= 0 and high <= 1 and len(per_sample) >= 1:
        if stats.integer_valued:
            return DataKind("one-hot", "one-hot rows (a single 1 in each)", bounded=True)
        return DataKind("probability-rows", "probability rows (each sums to 1)", bounded=True)
    if stats.dtype == "bool":
        return DataKind("binary", "binary (0/1) values", bounded=True)
    if stats.integer_valued and low >= 0 and high > 1 and per_sample in ((), (1,)):
        # One integer per sample, never negative: class indices rather than measurements.
        return DataKind("integer-labels", "integer labels (one class index per sample)", bounded=True)
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

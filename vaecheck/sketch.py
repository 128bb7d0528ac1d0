"""A mergeable quantile sketch: counts in fixed, log-spaced bins read off a float's own bits.

A finite value `x`, rounded to float32, falls in the bin named by its sign, its exponent and
the top `precision_bits` bits of its mantissa. Within one power of two the bins are equally
wide, so a bin spans at most `2**-precision_bits` of the magnitude of anything in it. The bins
are fixed in advance, so two sketches of disjoint data merge by adding their counts, in any
order, to exactly the sketch of the union: shards and blocks are sketched apart and merged.

Error bound. For `q` in [0, 100], `quantile(q)` estimates what `numpy.percentile(values, q)`
(linear interpolation) returns. Both order statistics that numpy interpolates between are
replaced by the centre of their bin, so the estimate differs from numpy's answer by at most

    2**-(precision_bits + 1) * max(|x_j|, |x_j+1|)  +  2**-24 * max(|x_j|, |x_j+1|)  +  tiny

where `x_j, x_j+1` are those order statistics, the second term is the float32 rounding of
the input, and `tiny` is `2**min_exponent` (values smaller than that in magnitude share one
bin, whose estimate is 0). With the default 7 bits that is a relative error under 0.4%.
Magnitudes of `2**(max_exponent + 1)` or more share the last bin: there the estimate is only
bounded by the exact minimum and maximum, which callers pass in to clamp it.

When the sketch is fed a uniform random sample of the data rather than all of it, the
quantile of the sample stands for the quantile of the data with a rank error as well: see
`rank_error`.
"""

from __future__ import annotations

import math

import numpy as np

FLOAT32_MAX = float(np.finfo(np.float32).max)
MANTISSA_BITS = 23
EXPONENT_BIAS = 127
PENDING_VALUES = 2**18


class QuantileSketch:
    """Counts of finite values in fixed log-spaced bins; merge by adding counts."""

    def __init__(
        self,
        precision_bits: int = 7,
        min_exponent: int = -126,
        max_exponent: int = 127,
        features: int = 1,
    ) -> None:
        if not 0 <= precision_bits <= MANTISSA_BITS:
            raise ValueError(f"precision_bits must be in [0, 23], not {precision_bits}")
        if not -126 <= min_exponent <= max_exponent <= 127:
            raise ValueError("need -126 <= min_exponent <= max_exponent <= 127")
        self.precision_bits = precision_bits
        self.min_exponent = min_exponent
        self.max_exponent = max_exponent
        self.features = features
        shift = MANTISSA_BITS - precision_bits
        self._shift = shift
        # Keys of |x| from its float32 bits: biased exponent and top mantissa bits.
        self._low_key = (min_exponent + EXPONENT_BIAS) << precision_bits
        self._high_key = ((max_exponent + EXPONENT_BIAS + 1) << precision_bits) - 1
        # One side: a bin for magnitudes under 2**min_exponent, then one per key.
        self._half = self._high_key - self._low_key + 2
        self.bins = 2 * self._half
        dtype = np.int64 if features == 1 else np.int32
        self._counts = np.zeros((features, self.bins), dtype=dtype)
        # Binning costs a pass over features * bins counters whatever the number of values:
        # pending indices are binned together once there are enough of them.
        self._pending: list[np.ndarray] = []
        self._pending_size = 0

    @property
    def counts(self) -> np.ndarray:
        """Counts per feature and bin, shape (features, bins)."""
        self._flush()
        return self._counts

    # --- feeding -------------------------------------------------------------------------------

    def bin_index(self, values: np.ndarray) -> np.ndarray:
        """The bin of each finite value, as intp, increasing with the value."""
        if values.dtype != np.float32:
            if values.dtype.kind == "f" and values.dtype.itemsize > 4:
                values = np.clip(values, -FLOAT32_MAX, FLOAT32_MAX)
            values = values.astype(np.float32)
        bits = np.ascontiguousarray(values).view(np.int32)
        key = bits & 0x7FFFFFFF
        key >>= self._shift  # biased exponent and top mantissa bits of |x|: grows with |x|
        # Two in-place bounds rather than np.clip, whose Python wrapper costs more than the work
        # on the few thousand values a block of a big file contributes.
        np.maximum(key, self._low_key - 1, out=key)
        np.minimum(key, self._high_key, out=key)
        key -= self._low_key - 1  # 0: magnitudes under 2**min_exponent
        # Negative values mirror below the middle (k -> -k - 1), so the index grows with x.
        key ^= bits >> 31
        index = key.astype(np.intp)
        index += self._half
        return index

    def add(self, values: np.ndarray, features: np.ndarray | None = None) -> None:
        """Count finite values; `features` gives each value's feature when there are several:
        an array of the values' shape, or one that broadcasts to it (for a block of rows, the
        row of its columns' features)."""
        values = np.asarray(values)
        if values.size == 0:
            return
        if self.features > 1 and (features is None or not _broadcasts(features, values.shape)):
            raise ValueError("a sketch of several features needs each value's feature")
        index = self.bin_index(values.reshape(-1))
        if self.features > 1:
            index.reshape(values.shape)[...] += np.asarray(features, dtype=np.intp) * self.bins
        self._pending.append(index)
        self._pending_size += index.size
        if self._pending_size >= max(PENDING_VALUES, self._counts.size // 4):
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        index = self._pending[0] if len(self._pending) == 1 else np.concatenate(self._pending)
        self._pending, self._pending_size = [], 0
        flat = np.bincount(index, minlength=self._counts.size)
        self._counts += flat.reshape(self._counts.shape).astype(self._counts.dtype, copy=False)

    def __getstate__(self) -> dict[str, object]:
        # Sent to another process (a Dask worker's partial statistics): most bins are empty,
        # so only the counted ones travel, as positions and counts.
        state = self.__dict__.copy()
        counts = self.counts
        state["_pending"], state["_pending_size"] = [], 0
        where = np.flatnonzero(counts)
        state["_counts"] = (counts.shape, counts.dtype.str, where.astype(np.uint32), counts.reshape(-1)[where])
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        shape, dtype, where, values = state.pop("_counts")  # type: ignore[misc]
        counts = np.zeros(shape, dtype)
        counts.reshape(-1)[where] = values
        self.__dict__.update(state)
        self._counts = counts

    def merge(self, other: QuantileSketch) -> QuantileSketch:
        if (self.precision_bits, self.min_exponent, self.max_exponent, self.features) != (
            other.precision_bits,
            other.min_exponent,
            other.max_exponent,
            other.features,
        ):
            raise ValueError("only sketches with the same bins merge")
        merged = QuantileSketch(
            self.precision_bits, self.min_exponent, self.max_exponent, self.features
        )
        merged._counts = self.counts + other.counts
        return merged

    # --- reading -------------------------------------------------------------------------------

    def count(self, feature: int = 0) -> int:
        return int(self.counts[feature].sum())

    def bin_range(self, index: int) -> tuple[float, float]:
        """The smallest and largest float32 value that falls in bin `index`."""
        negative = index < self._half
        key = (self._half - 1 - index) if negative else (index - self._half)
        if key == 0:
            low, high = 0.0, math.ldexp(1.0, self.min_exponent)
        else:
            key += self._low_key - 1
            low = _from_bits(key << self._shift)
            high = _from_bits(((key + 1) << self._shift) - 1)
            if key == self._high_key:
                high = FLOAT32_MAX
        return (-high, -low) if negative else (low, high)

    def bin_estimate(self, index: int) -> float:
        """The value that stands for every value in bin `index`: its centre."""
        low, high = self.bin_range(index)
        if low <= 0 <= high:  # the bin of magnitudes under 2**min_exponent
            return 0.0
        return (low + high) / 2

    def quantile(
        self,
        q: float,
        feature: int = 0,
        low: float | None = None,
        high: float | None = None,
    ) -> float | None:
        """Estimate `numpy.percentile(values, q)`, clamped into [low, high] when given."""
        counts = self.counts[feature]
        total = int(counts.sum())
        if total == 0:
            return None
        rank = q / 100 * (total - 1)
        below = math.floor(rank)
        fraction = rank - below
        cumulative = np.cumsum(counts)
        first = int(np.searchsorted(cumulative, below, side="right"))
        value = self.bin_estimate(first)
        if fraction and below + 1 < total:
            second = int(np.searchsorted(cumulative, below + 1, side="right"))
            value += fraction * (self.bin_estimate(second) - value)
        if low is not None:
            value = max(value, low)
        if high is not None:
            value = min(value, high)
        return value

    def relative_error(self) -> float:
        """The bound on |estimate - exact| / |exact| for values of normal magnitude."""
        return 2.0 ** -(self.precision_bits + 1) + 2.0**-24


def rank_error(samples: int, q: float, z: float = 3.0) -> float:
    """How far, in percentile points, a sample's q-th percentile may sit from the data's.

    For a uniform random sample of `samples` values, the fraction of the sample below the
    data's q-th percentile has standard deviation sqrt(p (1 - p) / samples), p = q / 100; the
    bound is `z` of those, in percent (3 by default: exceeded about 0.3% of the time).
    """
    if samples <= 0:
        return 100.0
    p = q / 100
    return 100 * z * math.sqrt(p * (1 - p) / samples)


def _broadcasts(features: np.ndarray, shape: tuple[int, ...]) -> bool:
    try:
        return np.broadcast_shapes(np.shape(features), shape) == shape
    except ValueError:
        return False


def _from_bits(bits: int) -> float:
    return float(np.array(bits, dtype=np.int32).view(np.float32))

"""Real intervals with open or closed ends and infinite bounds.

An `Interval` is the value the range engine propagates through a model graph. Ends are kept
exactly as mathematics has them (sigmoid is the open (0, 1)); float32 saturation, which makes
those ends reachable in practice, is the checks' business, not the arithmetic's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

INF = math.inf


@dataclass(frozen=True)
class Interval:
    low: float
    high: float
    low_closed: bool = True
    high_closed: bool = True

    def __post_init__(self) -> None:
        if math.isnan(self.low) or math.isnan(self.high):
            raise ValueError("interval bounds cannot be NaN")
        if self.low > self.high or (
            self.low == self.high and not (self.low_closed and self.high_closed)
        ):
            raise ValueError(f"empty interval: {self.low}, {self.high}")
        # An infinite end is never attained.
        if math.isinf(self.low):
            object.__setattr__(self, "low_closed", False)
        if math.isinf(self.high):
            object.__setattr__(self, "high_closed", False)

    # Constructors ---------------------------------------------------------------------------
    @classmethod
    def real_line(cls) -> Interval:
        return cls(-INF, INF, False, False)

    @classmethod
    def point(cls, value: float) -> Interval:
        return cls(value, value, True, True)

    @classmethod
    def closed(cls, low: float, high: float) -> Interval:
        return cls(low, high, True, True)

    @classmethod
    def open(cls, low: float, high: float) -> Interval:
        return cls(low, high, False, False)

    # Predicates -----------------------------------------------------------------------------
    @property
    def is_bounded(self) -> bool:
        return math.isfinite(self.low) and math.isfinite(self.high)

    @property
    def is_real_line(self) -> bool:
        return self.low == -INF and self.high == INF

    def contains(self, value: float) -> bool:
        if value < self.low or value > self.high:
            return False
        if value == self.low and not self.low_closed:
            return False
        if value == self.high and not self.high_closed:
            return False
        return True

    def is_subset_of(self, other: Interval) -> bool:
        low_ok = self.low > other.low or (
            self.low == other.low and (other.low_closed or not self.low_closed)
        )
        high_ok = self.high < other.high or (
            self.high == other.high and (other.high_closed or not self.high_closed)
        )
        return low_ok and high_ok

    # Lattice --------------------------------------------------------------------------------
    def hull(self, other: Interval) -> Interval:
        """The smallest interval holding both: the join of the lattice."""
        if self.low < other.low:
            low, low_closed = self.low, self.low_closed
        elif other.low < self.low:
            low, low_closed = other.low, other.low_closed
        else:
            low, low_closed = self.low, self.low_closed or other.low_closed
        if self.high > other.high:
            high, high_closed = self.high, self.high_closed
        elif other.high > self.high:
            high, high_closed = other.high, other.high_closed
        else:
            high, high_closed = self.high, self.high_closed or other.high_closed
        return Interval(low, high, low_closed, high_closed)

    def closure(self) -> Interval:
        return Interval(self.low, self.high, True, True)

    # Arithmetic -----------------------------------------------------------------------------
    def scale(self, factor: float) -> Interval:
        if factor == 0 or not math.isfinite(factor):
            if factor == 0:
                return Interval.point(0.0)
            return Interval.real_line()
        low = _mul(self.low, factor)
        high = _mul(self.high, factor)
        if factor > 0:
            return _rounded(low, high, self.low_closed, self.high_closed)
        return _rounded(high, low, self.high_closed, self.low_closed)

    def shift(self, offset: float) -> Interval:
        if not math.isfinite(offset):
            return Interval.real_line()
        return _rounded(self.low + offset, self.high + offset, self.low_closed, self.high_closed)

    def affine(self, scale: float, offset: float) -> Interval:
        """The image of x * scale + offset."""
        return self.scale(scale).shift(offset)

    def __add__(self, other: Interval) -> Interval:
        return _rounded(
            _add(self.low, other.low, -INF),
            _add(self.high, other.high, INF),
            self.low_closed and other.low_closed,
            self.high_closed and other.high_closed,
        )

    def __neg__(self) -> Interval:
        return Interval(-self.high, -self.low, self.high_closed, self.low_closed)

    def __sub__(self, other: Interval) -> Interval:
        return self + (-other)

    def __mul__(self, other: Interval) -> Interval:
        # A closed zero end makes the product 0 attained, whatever the other factor is.
        candidates = [
            (_mul(a, b), (ca and cb) or (a == 0 and ca) or (b == 0 and cb))
            for a, ca in ((self.low, self.low_closed), (self.high, self.high_closed))
            for b, cb in ((other.low, other.low_closed), (other.high, other.high_closed))
        ]
        low = min(value for value, _ in candidates)
        high = max(value for value, _ in candidates)
        low_closed = any(closed for value, closed in candidates if value == low)
        high_closed = any(closed for value, closed in candidates if value == high)
        return _rounded(low, high, low_closed, high_closed)

    def maximum(self, other: Interval) -> Interval:
        """Image of elementwise max(x, y)."""
        # max(x, y) equals the shared low end only when both x and y sit on it; it equals the
        # shared high end when either does.
        low, low_closed = _max_end(self.low, self.low_closed, other.low, other.low_closed, both=True)
        high, high_closed = _max_end(self.high, self.high_closed, other.high, other.high_closed)
        return Interval(low, high, low_closed, high_closed)

    def minimum(self, other: Interval) -> Interval:
        return -((-self).maximum(-other))

    def clip(self, low: float, high: float) -> Interval:
        """Image of clip(x, low, high); both bounds attainable when x reaches past them."""
        if low > high:  # numpy and Keras then return the upper bound everywhere
            return Interval.point(high)
        new_low = max(self.low, low)
        new_high = min(self.high, high)
        if new_low > new_high:  # the whole interval lies beyond one bound
            value = low if self.high < low else high
            return Interval.point(value)
        if new_low == new_high:  # e.g. (0, inf) clipped to [-1, 0]: every value becomes 0
            return Interval.point(new_low)
        # An end reached by clipping is attained; an end of the input's own is as it was.
        low_closed = self.low_closed if self.low >= low else True
        high_closed = self.high_closed if self.high <= high else True
        return Interval(new_low, new_high, low_closed, high_closed)

    # Presentation ---------------------------------------------------------------------------
    def __str__(self) -> str:
        left = "[" if self.low_closed else "("
        right = "]" if self.high_closed else ")"
        return f"{left}{format_bound(self.low)}, {format_bound(self.high)}{right}"


def _rounded(low: float, high: float, low_closed: bool, high_closed: bool) -> Interval:
    """An interval from float arithmetic, where rounding can make a thin interval collapse."""
    if low >= high:
        return Interval.point((low + high) / 2 if low > high else low)
    return Interval(low, high, low_closed, high_closed)


def _mul(a: float, b: float) -> float:
    # In interval arithmetic 0 * inf is 0: the infinite end is a limit, never a value.
    if a == 0 or b == 0:
        return 0.0
    return a * b


def _add(a: float, b: float, default: float) -> float:
    total = a + b
    return default if math.isnan(total) else total


def _max_end(
    a: float, a_closed: bool, b: float, b_closed: bool, both: bool = False
) -> tuple[float, bool]:
    if a > b:
        return a, a_closed
    if b > a:
        return b, b_closed
    return a, (a_closed and b_closed) if both else (a_closed or b_closed)


def format_bound(value: float) -> str:
    if value == INF:
        return "inf"
    if value == -INF:
        return "-inf"
    if value == 0:
        return "0"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"

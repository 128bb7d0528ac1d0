"""Exact images of piecewise-monotone real functions on intervals, and their formulas.

A function is monotone formulas between breakpoints (`Piecewise`); the image of an interval
is the union of the images of its pieces, ends open or closed as the function reaches them.
The activations (`activations.py`) and the elementwise math ops (`keras_ops.py`) are built
from these. Facts: KERAS_FACTS §4.2 (codomains, minima of the functions that dip below 0).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from vaecheck.intervals import INF, Interval, format_bound
from vaecheck.ranges.values import ConfigProblem

REAL_LINE = Interval.real_line()
ZERO = Interval.point(0.0)
UNIT = Interval.closed(0.0, 1.0)
Formula = Callable[[float], float]


@dataclass(frozen=True)
class Piecewise:
    """A real function as monotone formulas between breakpoints.

    `formulas[k]` holds on the open segment between breakpoints k-1 and k (the first and last
    are unbounded), is monotone there, and evaluated at a segment end gives its limit from
    inside (at ±inf too). `values[k]` is the function's value at breakpoint k. Flat pieces and
    jumps are therefore exact: relu((-inf, 5)) is [0, 5), hard_shrink's gaps are seen.
    """

    breakpoints: tuple[float, ...]
    formulas: tuple[Formula, ...]
    values: tuple[float, ...]

    def parts(self, interval: Interval) -> list[Interval]:
        """Images of the pieces of `interval`; their union is the image of `interval`."""
        edges = (-INF, *self.breakpoints, INF)
        parts = []
        for k, formula in enumerate(self.formulas):
            segment = intersect(interval, Interval(edges[k], edges[k + 1], False, False))
            if segment is not None:
                parts.append(_monotone_image(formula, segment))
        # An open finite end is reached in float32 (exp(-1000) is 0.0, so sigmoid(exp(x)) is
        # 0.5): where a jump sits on such an end, the value at the jump is an output too.
        reachable = interval.closure()
        for point, value in zip(self.breakpoints, self.values):
            if reachable.contains(point):
                parts.append(point_interval(value))
        return parts


def piecewise(
    breakpoints: Iterable[float],
    branch: Callable[[float], Formula],
    pinned: Mapping[float, float] | None = None,
) -> Piecewise:
    """A `Piecewise` from `branch(x)`, the formula in force at x (and, at a breakpoint, its value)."""
    points = tuple(sorted({float(b) for b in breakpoints if math.isfinite(b)}))
    edges = (-INF, *points, INF)
    formulas = tuple(branch(_inside(edges[k], edges[k + 1])) for k in range(len(points) + 1))
    values = tuple((pinned or {}).get(c, branch(c)(c)) for c in points)
    return Piecewise(points, formulas, values)


def smooth(formula: Formula, at_minus_inf: float, at_plus_inf: float) -> Piecewise:
    """A monotone function on the whole real line, with its limits at the infinities."""
    limited = with_limits(formula, at_minus_inf, at_plus_inf)
    return Piecewise((), (limited,), ())


def dip(formula: Formula, minimiser: float, minimum: float, at_plus_inf: float) -> Piecewise:
    """A function falling from 0 (at -inf) to `minimum` at `minimiser`, then rising."""
    # Float rounding near the minimiser must not dip below the true minimum and open a gap.
    limited = with_limits(lambda x: max(formula(x), minimum), 0.0, at_plus_inf)
    return Piecewise((minimiser,), (limited, limited), (minimum,))


def intersect(a: Interval, b: Interval) -> Interval | None:
    if a.low > b.low:
        low, low_closed = a.low, a.low_closed
    elif b.low > a.low:
        low, low_closed = b.low, b.low_closed
    else:
        low, low_closed = a.low, a.low_closed and b.low_closed
    if a.high < b.high:
        high, high_closed = a.high, a.high_closed
    elif b.high < a.high:
        high, high_closed = b.high, b.high_closed
    else:
        high, high_closed = a.high, a.high_closed and b.high_closed
    if low > high or (low == high and not (low_closed and high_closed)):
        return None
    if math.isinf(low) and low == high:
        return None
    return Interval(low, high, low_closed, high_closed)


def union_hull(parts: list[Interval]) -> tuple[Interval, list[Interval]]:
    """The hull of a union of intervals, and the union's connected components."""
    ordered = sorted(parts, key=lambda part: (part.low, not part.low_closed))
    components = [ordered[0]]
    for part in ordered[1:]:
        last = components[-1]
        if part.low < last.high or (
            part.low == last.high and (part.low_closed or last.high_closed)
        ):
            components[-1] = last.hull(part)
        else:
            components.append(part)
    hull = components[0]
    for component in components[1:]:
        hull = hull.hull(component)
    return hull, components


def union_note(what: str, components: list[Interval]) -> str:
    shown = " ∪ ".join(
        f"{{{format_bound(c.low)}}}" if c.low == c.high else str(c) for c in components
    )
    return f"{what} takes values in {shown}; the range shown is the hull of that union"


def _inside(low: float, high: float) -> float:
    """A point strictly between two segment ends, either of which may be infinite."""
    if low == -INF and high == INF:
        return 0.0
    if low == -INF:
        return high - max(1.0, abs(high))
    if high == INF:
        return low + max(1.0, abs(low))
    return low + (high - low) / 2


def _monotone_image(formula: Formula, segment: Interval) -> Interval:
    at_low, at_high = formula(segment.low), formula(segment.high)
    if math.isnan(at_low) or math.isnan(at_high):
        raise ConfigProblem("a function gave nan on its own domain")
    if at_low == at_high:  # a flat piece, or a thin image that float rounding collapsed
        return point_interval(at_low)
    if at_low < at_high:
        return Interval(at_low, at_high, segment.low_closed, segment.high_closed)
    return Interval(at_high, at_low, segment.high_closed, segment.low_closed)


def point_interval(value: float) -> Interval:
    # A value that overflowed float64 is huge but finite: keep the largest float, open above.
    if value == INF:
        return Interval(sys.float_info.max, INF, True, False)
    if value == -INF:
        return Interval(-INF, -sys.float_info.max, False, True)
    return Interval.point(value)


def interval_between(low: float, high: float, low_closed: bool, high_closed: bool) -> Interval:
    """An interval from float arithmetic; rounding can collapse a thin one to a point."""
    if low >= high:
        return point_interval(low if low == high else (low + high) / 2)
    return Interval(low, high, low_closed, high_closed)


def with_limits(formula: Formula, at_minus_inf: float, at_plus_inf: float) -> Formula:
    def limited(x: float) -> float:
        if x == -INF:
            return at_minus_inf
        if x == INF:
            return at_plus_inf
        return formula(x)

    return limited


def linear_formula(slope: float, offset: float = 0.0) -> Formula:
    # 0 * inf is nan in floats, but a zero slope is a constant whatever x is.
    return lambda x: (0.0 if slope == 0 else slope * x) + offset


def constant_formula(value: float) -> Formula:
    return lambda _x: value


def exp_formula(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return INF


def expm1_formula(x: float) -> float:
    try:
        return math.expm1(x)
    except OverflowError:
        return INF


def sigmoid_formula(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def softplus_formula(x: float) -> float:
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def gelu_formula(x: float) -> float:
    return 0.5 * x * math.erfc(-x / math.sqrt(2.0))


def gelu_tanh_formula(x: float) -> float:
    inner = math.sqrt(2.0 / math.pi) * (x + 0.044715 * x * x * x)
    return 0.5 * x * (1.0 + math.tanh(inner))


def squareplus_formula(b: float) -> Formula:
    def formula(x: float) -> float:
        root = math.sqrt(x * x + b)
        # For x < 0 the sum cancels; its conjugate form keeps the digits.
        return (x + root) / 2 if x >= 0 else b / (2 * (root - x))

    return formula


def power_formula(exponent: float) -> Formula:
    def formula(x: float) -> float:
        try:
            return math.pow(x, exponent)
        except OverflowError:
            odd = float(exponent).is_integer() and int(exponent) % 2 == 1
            return -INF if odd and x < 0 else INF

    return formula


def clamped(low_x: float, high_x: float, formula: Formula, low: float, high: float) -> Piecewise:
    """`low` up to `low_x`, `high` from `high_x` on, and the monotone `formula` between."""

    def branch(x0: float) -> Formula:
        if x0 <= low_x:
            return constant_formula(low)
        if x0 >= high_x:
            return constant_formula(high)
        return formula

    return piecewise([low_x, high_x], branch)

"""Interval arithmetic over a node's operands, shared by the merge layers and the math ops.

Operands are tensors (their codomains) or constants written in the configuration (their
hull); a division by a range that holds 0 says that inf and nan are possible. Facts:
KERAS_FACTS §1.3 (how a node's arguments, tensors and constants, are serialized).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Union

from vaecheck.codomain import Codomain
from vaecheck.intervals import INF, Interval, format_bound
from vaecheck.ranges.layer_call import (
    LayerCall,
    Outputs,
    Transfer,
    combined,
    first_unknown,
    without_simplex,
)
from vaecheck.ranges.piecewise import REAL_LINE, interval_between
from vaecheck.ranges.values import ConfigProblem, constant_interval

Operand = Union[Codomain, Interval]  # a tensor's codomain, or a constant's hull
BINARY_NAMES = ("x1", "x2", "x", "y")


def operands(
    call: LayerCall, names: tuple[str, ...] = BINARY_NAMES, skip: int = 0
) -> list[Operand]:
    """The values an arithmetic node combines, in order: positional, then keyword arguments.

    A merge layer's single list argument is its list of inputs.
    """
    args: list[Any] = list(call.args)
    if (
        len(args) == 1
        and isinstance(args[0], list)
        and any(isinstance(a, Codomain) for a in args[0])
    ):
        args = list(args[0])
    args += [call.kwargs[name] for name in names if name in call.kwargs]
    result: list[Operand] = []
    for value in args[skip:]:
        result.append(value if isinstance(value, Codomain) else constant_interval(value))
    return result


def _render(values: list[Operand]) -> list[str]:
    tensors = sum(isinstance(v, Codomain) for v in values)
    names = iter(["x"] if tensors == 1 else [f"x{i}" for i in range(1, tensors + 1)])
    return [next(names) if isinstance(v, Codomain) else _constant_text(v) for v in values]


def _constant_text(interval: Interval) -> str:
    return format_bound(interval.low) if interval.low == interval.high else str(interval)


def arithmetic_transfer(
    combine: Callable[[list[Interval]], Interval],
    expression: Callable[[list[str]], str],
    arity: int | None = None,
    divides: bool = False,
) -> Transfer:
    def arithmetic(call: LayerCall) -> Outputs:
        values = operands(call)
        if not values or (arity is not None and len(values) != arity):
            raise ConfigProblem(f"{len(values)} operands")
        tensors = [v for v in values if isinstance(v, Codomain)]
        unknown = first_unknown(tensors)
        if unknown is not None:
            return unknown
        intervals = [v.interval if isinstance(v, Codomain) else v for v in values]
        interval = combine(intervals)  # type: ignore[arg-type]
        notes = []
        if len(tensors) == 1 and tensors[0].known and interval == tensors[0].interval:
            return without_simplex(tensors[0])
        if divides and any(reaches_zero(i) for i in intervals[1:]):
            notes.append(DIVISION_NOTE)
        return combined(tensors, interval, f"{call.label}: {expression(_render(values))}", notes)

    return arithmetic


def fold_with(
    method: Callable[[Interval, Interval], Interval],
) -> Callable[[list[Interval]], Interval]:
    def fold(intervals: list[Interval]) -> Interval:
        result = intervals[0]
        for interval in intervals[1:]:
            result = method(result, interval)
        return result

    return fold


DIVISION_NOTE = "division by a range that holds 0: inf and nan are possible"


def reaches_zero(interval: Interval) -> bool:
    return interval.contains(0.0) or interval.low < 0 < interval.high


def reciprocal(interval: Interval) -> Interval:
    """1/x on an interval; the real line when the interval holds 0 or lies on both sides of it."""
    if reaches_zero(interval):
        return REAL_LINE

    def inverse(x: float) -> float:
        return INF if x == 0 else 1.0 / x

    if interval.low >= 0:  # inside (0, inf]
        return interval_between(
            inverse(interval.high), inverse(interval.low), interval.high_closed, interval.low_closed
        )
    low = -INF if interval.high == 0 else 1.0 / interval.high
    return interval_between(
        low,
        1.0 / interval.low if interval.low != -INF else 0.0,
        interval.high_closed,
        interval.low_closed,
    )


def divide(intervals: list[Interval]) -> Interval:
    result = intervals[0]
    for divisor in intervals[1:]:
        result = result * reciprocal(divisor)
    return result

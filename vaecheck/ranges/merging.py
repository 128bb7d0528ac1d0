"""Merge layers: Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot.

Keras 3 ops of the same names (`keras.ops.add`, ...) are bounded by the same functions.
Facts: KERAS_FACTS §5.4 (convex combinations), §5.7 (range-changing layers).
"""

from __future__ import annotations

from vaecheck.codomain import Codomain
from vaecheck.intervals import INF, Interval
from vaecheck.ranges.arithmetic import arithmetic_transfer, fold_with, operands
from vaecheck.ranges.layer_call import (
    LayerCall,
    Outputs,
    Transfer,
    combined,
    first_unknown,
    values_subset,
    without_simplex,
)
from vaecheck.ranges.piecewise import union_hull, union_note
from vaecheck.ranges.values import ConfigProblem, constant_interval


def _average(call: LayerCall) -> Outputs:
    if len(call.args) == 1 and isinstance(call.args[0], list):  # the merge layer: mean of inputs
        return _mean_of_inputs(call)
    # keras.ops.average(x, axis, weights): a convex combination when the weights are >= 0.
    weights = list(call.args[1:2]) + [call.kwargs[k] for k in ("weights",) if k in call.kwargs]
    if any(w is not None for w in weights):
        weight = weights[0]
        interval = weight.interval if isinstance(weight, Codomain) else constant_interval(weight)
        if interval is None or interval.low < 0:
            return Codomain.unknown(call.label, "a weighted average whose weights may be negative")
    return values_subset(call)


_mean_of_inputs = arithmetic_transfer(
    lambda intervals: fold_with(Interval.__add__)(intervals).scale(1.0 / len(intervals)),
    lambda names: f"mean({', '.join(names)})",
)


def where_op(call: LayerCall) -> Outputs:
    """where(condition, x1, x2): each value comes from x1 or x2."""
    return concatenate(call, skip=1)


def concatenate(call: LayerCall, skip: int = 0) -> Outputs:
    """Concatenate, Stack: every value comes from one of the inputs."""
    values = operands(call, skip=skip)
    tensors = [v for v in values if isinstance(v, Codomain)]
    unknown = first_unknown(tensors)
    if unknown is not None:
        return unknown
    intervals = [v.interval if isinstance(v, Codomain) else v for v in values]
    if not intervals:
        raise ConfigProblem("no inputs")
    hull, components = union_hull(intervals)  # type: ignore[arg-type]
    if len(tensors) == 1 and len(intervals) == 1:
        return without_simplex(tensors[0])
    notes = [union_note(call.label, components)] if len(components) > 1 else []
    return combined(tensors, hull, None, notes)


def _dot(call: LayerCall) -> Outputs:
    """Sums of products over an axis of unknown length; cosines when normalized."""
    values = operands(call)
    if len(values) != 2:
        raise ConfigProblem(f"{len(values)} operands")
    tensors = [v for v in values if isinstance(v, Codomain)]
    unknown = first_unknown(tensors)
    if unknown is not None:
        return unknown
    if call.config.get("normalize"):
        return combined(tensors, Interval.closed(-1.0, 1.0), f"{call.label}: cosine")
    a, b = (v.interval if isinstance(v, Codomain) else v for v in values)
    return combined(tensors, sum_of_unknown_count(a * b), f"{call.label}: dot product")  # type: ignore[operator]


def sum_of_unknown_count(interval: Interval) -> Interval:
    """Values of a sum of one or more terms, each in `interval`."""
    low, low_closed = (interval.low, interval.low_closed) if interval.low >= 0 else (-INF, False)
    high, high_closed = (
        (interval.high, interval.high_closed) if interval.high <= 0 else (INF, False)
    )
    return Interval(low, high, low_closed, high_closed)


TRANSFERS: dict[str, Transfer] = {
    # merges; the Keras 3 ops of the same names take the same path (constants inline)
    "Add": arithmetic_transfer(fold_with(Interval.__add__), " + ".join),
    "Subtract": arithmetic_transfer(fold_with(Interval.__sub__), " - ".join, arity=2),
    "Multiply": arithmetic_transfer(fold_with(Interval.__mul__), "*".join),
    "Maximum": arithmetic_transfer(
        fold_with(Interval.maximum), lambda names: f"max({', '.join(names)})"
    ),
    "Minimum": arithmetic_transfer(
        fold_with(Interval.minimum), lambda names: f"min({', '.join(names)})"
    ),
    "Average": _average,
    "Concatenate": concatenate,
    "Dot": _dot,
}

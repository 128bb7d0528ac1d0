"""Numbers read from a layer's configuration: scalars, nested lists, serialized arrays.

A value the engine cannot use raises `ConfigProblem`, which turns the layer's range into
"unknown" with the problem as the reason (never a guess). Facts: KERAS_FACTS §1.2 (how
`config.json` serializes numbers and arrays, `__numpy__` / `__tensor__`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from vaecheck.intervals import Interval, format_bound


if TYPE_CHECKING:  # numpy is imported on use: the activations alone (listing checks) need none
    import numpy as np


class ConfigProblem(Exception):
    """A configuration value the engine cannot use; the layer's range becomes unknown."""


def number(value: Any, what: str = "value") -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigProblem(f"{what} is not a number")
    result = float(value)
    if not math.isfinite(result):
        raise ConfigProblem(f"{what} is not finite")
    return result


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def constant_interval(value: Any) -> Interval:
    """The hull of a constant operand: a number, nested lists of numbers, or a tensor/array."""
    values = numbers(value)
    return Interval.closed(min(values), max(values))


def numbers(value: Any) -> list[float]:
    """Every number in a scalar, nested lists or a serialized array, in order; nothing else."""
    value = _unwrapped(value)
    found: list[float] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(reversed(item))
        else:
            found.append(number(item, "a constant"))
    if not found:
        raise ConfigProblem("an empty constant")
    return found


def _unwrapped(value: Any) -> Any:
    """The value list of a serialized numpy array or tensor (`{"class_name": "__numpy__"}`)."""
    if isinstance(value, Mapping) and value.get("class_name") in ("__numpy__", "__tensor__"):
        inner = value.get("config")
        return inner.get("value") if isinstance(inner, Mapping) else None
    return value


def array(value: Any, what: str) -> np.ndarray:
    import numpy as np

    numbers(value)  # validates every entry
    try:
        result = np.asarray(_unwrapped(value), dtype=np.float64)
    except (ValueError, TypeError):
        raise ConfigProblem(f"{what} is not a regular array of numbers") from None
    return result


def channel_pairs(first: Any, second: Any, what: str) -> list[tuple[float, float]]:
    """Per-channel (first, second) pairs of two broadcast parameters, without repeats."""
    import numpy as np

    a, b = array(first, what), array(second, what)
    try:
        a, b = np.broadcast_arrays(a, b)
        pairs = set(zip(a.ravel().tolist(), b.ravel().tolist()))
    except ValueError:
        # Shapes Keras could not broadcast. x*s + o and (x - m)/d are monotone in each
        # parameter, so the corners of the two ranges bound every combination.
        pairs = {(x, y) for x in (a.min(), a.max()) for y in (b.min(), b.max())}
    return sorted(pairs)


def compact(value: Any) -> str:
    """A number or a short list of numbers, as a step shows it."""
    values = numbers(value)
    if len(values) == 1:
        return format_bound(values[0])
    if len(values) <= 4:
        return "[" + ", ".join(format_bound(v) for v in values) + "]"
    return f"[{len(values)} values in {Interval.closed(min(values), max(values))}]"


def hull_all(intervals: Iterable[Interval]) -> Interval:
    result: Interval | None = None
    for interval in intervals:
        result = interval if result is None else result.hull(interval)
    if result is None:
        raise ConfigProblem("no values")
    return result


def is_zero(value: Any) -> bool:
    try:
        return all(v == 0 for v in numbers(value))
    except ConfigProblem:
        return False

"""The range engine: what values each model output can take, read from the graph alone.

Every tensor gets a `Codomain`: an interval with open or closed ends, or "unknown" with the
layer that made it so and why. The graph is evaluated forward from its inputs (the real line)
through one transfer function per layer class, found in `TRANSFERS`; adding a layer is one
function and one line there. Activations are exact images of intervals (`activation_image`):
`sigmoid(tanh(x))` is `(sigmoid(-1), sigmoid(1))`, not `(0, 1)`.

The rule of the house: a range is never narrower than what Keras can output, nor wider than it
must be. An activation bounds its output whatever its input, so it turns an unknown input into a
known range: a VAE's custom `Sampling` layer is unknown, its decoder's final relu is still
[0, inf). Ends are the mathematical ones; float32 saturation (sigmoid reaching 1.0) is the
checks' concern.

Weights. Without them, what depends on them is the real line (a Dense layer's pre-activation, a
PReLU's negative side) or unknown (BatchNormalization's statistics). Given a `WeightSource`,
the graph is evaluated twice: once for the architecture alone, once with the saved weights
(BatchNormalization, adapted Normalization, PReLU's alpha, Dense and convolution kernels after a
bounded input). Each output keeps the architecture's range where that is bounded, and takes an
end from the weights only where the architecture leaves it infinite or unknown: the saved
weights bound what the architecture cannot, but never narrow what it already bounds (training
moves weights; an untrained decoder's sigmoid must still be allowed to reach 0 and 1).
"""

from __future__ import annotations

import functools
import math
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Union

import numpy as np

from vaecheck.codomain import Codomain
from vaecheck.errors import VaecheckError
from vaecheck.graph import Graph, Node, TensorRef
from vaecheck.intervals import INF, Interval, format_bound
from vaecheck.readers.weights import WeightSource, WeightsUnavailable
from vaecheck.shapes import output_shape

REAL_LINE = Interval.real_line()
ZERO = Interval.point(0.0)
UNIT = Interval.closed(0.0, 1.0)
MAX_WRAPPER_DEPTH = 16
MAX_ACTIVATION_NESTING = 16

# SELU's constants, as Keras and TensorFlow define them.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
# Minima of the activations that dip below 0 (KERAS_FACTS §4.2), and where they sit. The
# minimisers solve f'(x) = 0 by bisection in float64; the values are exact to the last digit.
GELU_MINIMISER, GELU_MINIMUM = -0.7517915246935645, -0.16997120747990369
GELU_TANH_MINIMISER, GELU_TANH_MINIMUM = -0.7524614220710163, -0.17004075057125403
SILU_MINIMISER, SILU_MINIMUM = -1.278464542761074, -0.27846454276107374  # -1-W(1/e), -W(1/e)
MISH_MINIMISER, MISH_MINIMUM = -1.1924312145154951, -0.3088434130172504


def keras_major(version: str | None) -> int | None:
    """The major version of a `keras_version` string ("3.15.1" -> 3), or None."""
    if not isinstance(version, str):
        return None
    match = re.match(r"\s*(\d+)", version)
    return int(match.group(1)) if match else None


class ConfigProblem(Exception):
    """A configuration value the engine cannot use; the layer's range becomes unknown."""


# Exact images of piecewise-monotone functions ------------------------------------------------
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
                parts.append(_point(value))
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
    limited = _with_limits(formula, at_minus_inf, at_plus_inf)
    return Piecewise((), (limited,), ())


def dip(formula: Formula, minimiser: float, minimum: float, at_plus_inf: float) -> Piecewise:
    """A function falling from 0 (at -inf) to `minimum` at `minimiser`, then rising."""
    # Float rounding near the minimiser must not dip below the true minimum and open a gap.
    limited = _with_limits(lambda x: max(formula(x), minimum), 0.0, at_plus_inf)
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
        return _point(at_low)
    if at_low < at_high:
        return Interval(at_low, at_high, segment.low_closed, segment.high_closed)
    return Interval(at_high, at_low, segment.high_closed, segment.low_closed)


def _point(value: float) -> Interval:
    # A value that overflowed float64 is huge but finite: keep the largest float, open above.
    if value == INF:
        return Interval(sys.float_info.max, INF, True, False)
    if value == -INF:
        return Interval(-INF, -sys.float_info.max, False, True)
    return Interval.point(value)


def _interval(low: float, high: float, low_closed: bool, high_closed: bool) -> Interval:
    """An interval from float arithmetic; rounding can collapse a thin one to a point."""
    if low >= high:
        return _point(low if low == high else (low + high) / 2)
    return Interval(low, high, low_closed, high_closed)


def _with_limits(formula: Formula, at_minus_inf: float, at_plus_inf: float) -> Formula:
    def limited(x: float) -> float:
        if x == -INF:
            return at_minus_inf
        if x == INF:
            return at_plus_inf
        return formula(x)

    return limited


def _linear(slope: float, offset: float = 0.0) -> Formula:
    # 0 * inf is nan in floats, but a zero slope is a constant whatever x is.
    return lambda x: (0.0 if slope == 0 else slope * x) + offset


def _constant(value: float) -> Formula:
    return lambda _x: value


def _exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return INF


def _expm1(x: float) -> float:
    try:
        return math.expm1(x)
    except OverflowError:
        return INF


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def _softplus(x: float) -> float:
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def _gelu(x: float) -> float:
    return 0.5 * x * math.erfc(-x / math.sqrt(2.0))


def _gelu_tanh(x: float) -> float:
    inner = math.sqrt(2.0 / math.pi) * (x + 0.044715 * x * x * x)
    return 0.5 * x * (1.0 + math.tanh(inner))


def _squareplus(b: float) -> Formula:
    def formula(x: float) -> float:
        root = math.sqrt(x * x + b)
        # For x < 0 the sum cancels; its conjugate form keeps the digits.
        return (x + root) / 2 if x >= 0 else b / (2 * (root - x))

    return formula


def _power(exponent: float) -> Formula:
    def formula(x: float) -> float:
        try:
            return math.pow(x, exponent)
        except OverflowError:
            odd = float(exponent).is_integer() and int(exponent) % 2 == 1
            return -INF if odd and x < 0 else INF

    return formula


# Activations -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Image:
    interval: Interval
    notes: tuple[str, ...] = ()


ImageFunction = Callable[[Interval, Union[int, None]], Image]  # (input, softmax axis size)


@dataclass(frozen=True)
class Activation:
    """An activation as resolved from a configuration: its name and its image function."""

    name: str  # as a step shows it: "relu", "leaky_relu(negative_slope=0.1)"
    image: ImageFunction | None  # None: the identity (linear)
    simplex_axis: int | None = None  # softmax: values along this axis sum to 1
    axis: int | tuple[int, ...] | None = None  # the axis whose size the image depends on


@dataclass(frozen=True)
class UnknownActivation:
    reason: str


ResolvedActivation = Union[Activation, UnknownActivation]
LINEAR = Activation("linear", None)


def elementwise(name: str, function: Piecewise) -> Activation:
    def image(interval: Interval, _axis_size: int | None) -> Image:
        hull, components = union_hull(function.parts(interval))
        notes = (union_note(name, components),) if len(components) > 1 else ()
        return Image(hull, notes)

    return Activation(name, image)


class Params:
    """An activation's arguments, read with their defaults; remembers which ones were read."""

    def __init__(self, values: Mapping[str, Any] | None = None) -> None:
        self.values = dict(values or {})
        self.read: set[str] = set()

    def number(self, key: str, default: float) -> float:
        value = self.optional(key)
        return default if value is None else value

    def optional(self, key: str) -> float | None:
        self.read.add(key)
        value = self.values.get(key)
        return None if value is None else number(value, key)

    def flag(self, key: str, default: bool) -> bool:
        self.read.add(key)
        value = self.values.get(key, default)
        if not isinstance(value, bool):
            raise ConfigProblem(f"{key} is not true or false")
        return value

    def axis(self, key: str = "axis", default: int = -1) -> int | tuple[int, ...] | None:
        """An axis, several, or None (keras.ops' "all axes", whose length is not known)."""
        self.read.add(key)
        value = self.values.get(key, default)
        if value is None or _is_int(value):
            return value
        if isinstance(value, list) and value and all(_is_int(v) for v in value):
            return tuple(int(v) for v in value)
        raise ConfigProblem(f"{key} is not an axis")

    def unread(self) -> set[str]:
        return set(self.values) - self.read


def number(value: Any, what: str = "value") -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigProblem(f"{what} is not a number")
    result = float(value)
    if not math.isfinite(result):
        raise ConfigProblem(f"{what} is not finite")
    return result


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _named(base: str, *arguments: tuple[str, Any, Any]) -> str:
    """`relu(max_value=6)`: the function and the arguments that differ from its defaults."""
    shown = [
        f"{key}={format_bound(value) if isinstance(value, float) else value}"
        for key, value, default in arguments
        if value != default
    ]
    return f"{base}({', '.join(shown)})" if shown else base


def _relu(params: Params, _major: int | None) -> Activation:
    slope = params.number("negative_slope", 0.0)
    max_value = params.optional("max_value")
    threshold = params.number("threshold", 0.0)
    name = _named(
        "relu",
        ("negative_slope", slope, 0.0),
        ("max_value", max_value, None),
        ("threshold", threshold, 0.0),
    )
    return elementwise(name, relu_function(slope, max_value, threshold))


def relu_function(slope: float, max_value: float | None, threshold: float) -> Piecewise:
    """Keras's relu with arguments (`ReLU.static_call`, the same in Keras 2's backend.relu):
    `where(x > t, x, 0)` (plain relu when t = 0), clipped to [0, max_value] when that is set,
    minus `slope * relu(t - x)`."""

    def branch(x0: float) -> Formula:
        positive = "x" if x0 > threshold else "zero"
        if max_value is not None:
            if positive == "x" and x0 < 0:
                positive = "zero"
            if positive == "x" and x0 > max_value or positive == "zero" and max_value < 0:
                positive = "max"
        negative = slope != 0 and x0 < threshold

        def formula(x: float) -> float:
            value = x if positive == "x" else (max_value if positive == "max" else 0.0)
            if negative:
                value -= slope * (threshold - x)
            return value  # type: ignore[return-value]

        return formula

    points = [threshold, 0.0] + ([max_value] if max_value is not None else [])
    return piecewise(points, branch)


def _leaky_relu(params: Params, _major: int | None, default: float = 0.2) -> Activation:
    slope = params.number("negative_slope", default)
    function = piecewise([0.0], lambda x0: _linear(1.0) if x0 > 0 else _linear(slope))
    return elementwise(_named("leaky_relu", ("negative_slope", slope, 0.2)), function)


def _elu(params: Params, _major: int | None, default: float = 1.0) -> Activation:
    alpha = params.number("alpha", default)
    negative = _with_limits(lambda x: alpha * _expm1(x), -alpha, INF)
    function = piecewise([0.0], lambda x0: _linear(1.0) if x0 > 0 else negative)
    return elementwise(_named("elu", ("alpha", alpha, 1.0)), function)


def _selu(_params: Params, _major: int | None) -> Activation:
    negative = _with_limits(
        lambda x: SELU_SCALE * SELU_ALPHA * _expm1(x), -SELU_SCALE * SELU_ALPHA, 0
    )
    function = piecewise([0.0], lambda x0: _linear(SELU_SCALE) if x0 > 0 else negative)
    return elementwise("selu", function)


def _celu(params: Params, _major: int | None) -> Activation:
    alpha = params.number("alpha", 1.0)
    if alpha <= 0:
        raise ConfigProblem("celu needs alpha > 0")
    negative = _with_limits(lambda x: alpha * _expm1(x / alpha), -alpha, 0)
    function = piecewise([0.0], lambda x0: _linear(1.0) if x0 > 0 else negative)
    return elementwise(_named("celu", ("alpha", alpha, 1.0)), function)


def _gelu_activation(params: Params, _major: int | None, default: bool = False) -> Activation:
    if params.flag("approximate", default):
        return elementwise(
            "gelu(approximate=True)", dip(_gelu_tanh, GELU_TANH_MINIMISER, GELU_TANH_MINIMUM, INF)
        )
    return elementwise("gelu", dip(_gelu, GELU_MINIMISER, GELU_MINIMUM, INF))


def _silu(params: Params, _major: int | None) -> Activation:
    beta = params.number("beta", 1.0)  # tf.nn.silu / swish only
    silu = dip(lambda x: x * _sigmoid(x), SILU_MINIMISER, SILU_MINIMUM, INF)
    if beta == 1.0:
        return elementwise("silu", silu)
    if beta <= 0:
        raise ConfigProblem("silu needs beta > 0")

    # x * sigmoid(beta * x) = silu(beta * x) / beta
    def image(interval: Interval, _axis_size: int | None) -> Image:
        hull, _ = union_hull(silu.parts(interval.scale(beta)))
        return Image(hull.scale(1.0 / beta))

    return Activation(_named("silu", ("beta", beta, 1.0)), image)


def _hard_silu(_params: Params, _major: int | None) -> Activation:
    def branch(x0: float) -> Formula:
        if x0 <= -3:
            return _constant(0.0)
        if x0 >= 3:
            return _linear(1.0)
        return lambda x: x * (x + 3.0) / 6.0

    return elementwise("hard_silu", piecewise([-3.0, -1.5, 3.0], branch))


def _mish(_params: Params, _major: int | None) -> Activation:
    return elementwise("mish", dip(_mish_formula, MISH_MINIMISER, MISH_MINIMUM, INF))


def _mish_formula(x: float) -> float:
    return x * math.tanh(_softplus(x))


Builder = Callable[[Params, Union[int, None]], "ResolvedActivation"]


def fixed(name: str, function: Piecewise) -> Builder:
    """The builder of an activation that takes no arguments."""
    return lambda _params, _major: elementwise(name, function)


def clamped(low_x: float, high_x: float, formula: Formula, low: float, high: float) -> Piecewise:
    """`low` up to `low_x`, `high` from `high_x` on, and the monotone `formula` between."""

    def branch(x0: float) -> Formula:
        if x0 <= low_x:
            return _constant(low)
        if x0 >= high_x:
            return _constant(high)
        return formula

    return piecewise([low_x, high_x], branch)


HARD_SIGMOID_KERAS3 = clamped(-3.0, 3.0, lambda x: (x + 3.0) / 6.0, 0.0, 1.0)  # relu6(x + 3) / 6
HARD_SIGMOID_KERAS2 = clamped(-2.5, 2.5, lambda x: 0.2 * x + 0.5, 0.0, 1.0)  # clip(0.2x + .5, 0, 1)
SPARSE_PLUS = piecewise(
    [-1.0, 1.0],
    lambda x0: (
        _constant(0.0)
        if x0 <= -1
        else _linear(1.0) if x0 >= 1 else (lambda x: 0.25 * (x + 1.0) ** 2)
    ),
)


def _hard_sigmoid(_params: Params, major: int | None) -> Activation:
    """Keras 3: relu6(x + 3) / 6. Keras 2: clip(0.2x + 0.5, 0, 1). Unknown version: both."""
    if major is not None:
        return elementwise(
            "hard_sigmoid", HARD_SIGMOID_KERAS3 if major >= 3 else HARD_SIGMOID_KERAS2
        )

    def image(interval: Interval, _axis_size: int | None) -> Image:
        keras3, _ = union_hull(HARD_SIGMOID_KERAS3.parts(interval))
        keras2, _ = union_hull(HARD_SIGMOID_KERAS2.parts(interval))
        if keras3 == keras2:
            return Image(keras3)
        note = (
            "the Keras version is unknown: hull of the Keras 3 hard_sigmoid, relu6(x + 3)/6, "
            "and the Keras 2 one, clip(0.2x + 0.5, 0, 1)"
        )
        return Image(keras3.hull(keras2), (note,))

    return Activation("hard_sigmoid", image)


def _squareplus_activation(params: Params, _major: int | None) -> Activation:
    b = params.number("b", 4.0)
    if b < 0:
        raise ConfigProblem("squareplus needs b >= 0")
    name = _named("squareplus", ("b", b, 4.0))
    if b == 0:  # (x + |x|) / 2 is relu
        return elementwise(name, relu_function(0.0, None, 0.0))
    return elementwise(name, smooth(_squareplus(b), 0.0, INF))


def _soft_shrink(params: Params, _major: int | None) -> Activation:
    t = params.number("threshold", 0.5)

    def branch(x0: float) -> Formula:
        if x0 > t:
            return _linear(1.0, -t)
        if x0 < -t:
            return _linear(1.0, t)
        return _constant(0.0)

    return elementwise(_named("soft_shrink", ("threshold", t, 0.5)), piecewise([t, -t], branch))


def _hard_shrink(params: Params, _major: int | None) -> Activation:
    t = params.number("threshold", 0.5)
    function = piecewise([t, -t], lambda x0: _linear(1.0) if abs(x0) > t else _constant(0.0))
    return elementwise(_named("hard_shrink", ("threshold", t, 0.5)), function)


def _threshold(params: Params, _major: int | None) -> ResolvedActivation:
    t, default = params.optional("threshold"), params.optional("default_value")
    if t is None or default is None:
        return UnknownActivation(
            "the threshold activation needs threshold and default_value arguments; named "
            "without them, Keras cannot call it"
        )
    function = piecewise([t], lambda x0: _linear(1.0) if x0 > t else _constant(default))
    return elementwise(f"threshold({format_bound(t)}, {format_bound(default)})", function)


def _thresholded_relu(theta: float) -> Activation:
    function = piecewise([theta], lambda x0: _linear(1.0) if x0 > theta else _constant(0.0))
    return elementwise(f"thresholded_relu(theta={format_bound(theta)})", function)


def softmax_image(interval: Interval, axis_size: int | None) -> Interval:
    """Values of softmax over `axis_size` inputs each in `interval`.

    With n inputs in [a, b] an output lies in [1/(1 + (n-1)e^(b-a)), 1/(1 + (n-1)e^(a-b))];
    with n unknown it can be any value in (0, 1], 1 being the one-element case.
    """
    if axis_size is None:
        return Interval(0.0, 1.0, False, True)
    if axis_size < 1:
        raise ConfigProblem("the softmax axis is empty")
    if axis_size == 1:
        return Interval.point(1.0)
    spread = interval.high - interval.low
    if spread == 0:
        return Interval.point(1.0 / axis_size)
    low = 1.0 / (1.0 + (axis_size - 1) * _exp(spread))
    high = 1.0 / (1.0 + (axis_size - 1) * _exp(-spread))
    attained = interval.low_closed and interval.high_closed
    return _interval(low, high, attained, attained)


def _softmax(params: Params, _major: int | None) -> Activation:
    axis = params.axis()

    def image(interval: Interval, axis_size: int | None) -> Image:
        return Image(softmax_image(interval, axis_size))

    name = _named("softmax", ("axis", axis, -1))
    return Activation(name, image, simplex_axis=axis if isinstance(axis, int) else None, axis=axis)


def _log_softmax(params: Params, _major: int | None) -> Activation:
    axis = params.axis()

    def image(interval: Interval, axis_size: int | None) -> Image:
        probabilities = softmax_image(interval, axis_size)
        low = math.log(probabilities.low) if probabilities.low > 0 else -INF
        return Image(
            _interval(
                low,
                math.log(probabilities.high),
                probabilities.low_closed,
                probabilities.high_closed,
            )
        )

    name = _named("log_softmax", ("axis", axis, -1))
    return Activation(name, image, axis=axis)


def _sparsemax(params: Params, _major: int | None) -> Activation:
    params.axis()
    note = (
        "sparsemax is mathematically within [0, 1], but Keras 3 (3.15.1 checked) computes its "
        "threshold from the sum of the cumulative sums, so its outputs can exceed 1"
    )

    def image(_interval: Interval, _axis_size: int | None) -> Image:
        return Image(Interval(0.0, INF, True, False), (note,))

    return Activation("sparsemax", image)


def _glu(params: Params, _major: int | None) -> Activation:
    params.axis()
    sigmoid = smooth(_sigmoid, 0.0, 1.0)

    def image(interval: Interval, _axis_size: int | None) -> Image:
        gate, _ = union_hull(sigmoid.parts(interval))  # glu(x) = a * sigmoid(b), a, b halves of x
        return Image(interval * gate)

    return Activation("glu", image)


def _prelu_image(interval: Interval, _axis_size: int | None) -> Image:
    # relu(x) - alpha * relu(-x) is x for x >= 0, whatever the learned alpha is.
    if interval.low >= 0:
        return Image(interval)
    return Image(
        REAL_LINE, ("PReLU's alpha is a learned weight, not read: its negative side is unbounded",)
    )


ACTIVATIONS: dict[str, Builder] = {
    "linear": lambda _params, _major: LINEAR,
    "relu": _relu,
    "relu6": fixed("relu6", clamped(0.0, 6.0, _linear(1.0), 0.0, 6.0)),
    "leaky_relu": _leaky_relu,
    "elu": _elu,
    "selu": _selu,
    "celu": _celu,
    "gelu": _gelu_activation,
    "silu": _silu,
    "hard_silu": _hard_silu,
    "mish": _mish,
    "softplus": fixed("softplus", smooth(_softplus, 0.0, INF)),
    "softsign": fixed("softsign", smooth(lambda x: x / (1.0 + abs(x)), -1.0, 1.0)),
    "sigmoid": fixed("sigmoid", smooth(_sigmoid, 0.0, 1.0)),
    "hard_sigmoid": _hard_sigmoid,
    "sparse_sigmoid": fixed(
        "sparse_sigmoid", clamped(-1.0, 1.0, lambda x: 0.5 * (x + 1.0), 0.0, 1.0)
    ),
    "tanh": fixed("tanh", smooth(math.tanh, -1.0, 1.0)),
    "hard_tanh": fixed("hard_tanh", clamped(-1.0, 1.0, _linear(1.0), -1.0, 1.0)),
    "tanh_shrink": fixed("tanh_shrink", smooth(lambda x: x - math.tanh(x), -INF, INF)),
    "softmax": _softmax,
    "log_softmax": _log_softmax,
    "sparsemax": _sparsemax,
    "log_sigmoid": fixed("log_sigmoid", smooth(lambda x: -_softplus(-x), -INF, 0.0)),
    "exponential": fixed("exponential", smooth(_exp, 0.0, INF)),
    "sparse_plus": fixed("sparse_plus", SPARSE_PLUS),
    "squareplus": _squareplus_activation,
    "soft_shrink": _soft_shrink,
    "hard_shrink": _hard_shrink,
    "threshold": _threshold,
    "glu": _glu,
}
ACTIVATION_ALIASES = {"swish": "silu", "hard_swish": "hard_silu", "softmax_v2": "softmax"}


def _layer_params(config: Mapping[str, Any], *keys: str) -> Params:
    return Params({key: config[key] for key in keys if key in config})


# Activation layers, and the layer objects an `activation` argument can hold (KERAS_FACTS §4.3).
ACTIVATION_LAYERS: dict[
    str, Callable[[Mapping[str, Any], Union[int, None]], ResolvedActivation]
] = {
    "ReLU": lambda config, major: _relu(
        _layer_params(config, "negative_slope", "max_value", "threshold"), major
    ),
    "LeakyReLU": lambda config, major: _leaky_relu(
        Params({"negative_slope": config.get("negative_slope", config.get("alpha"))}),
        major,
        default=0.3,
    ),
    "ELU": lambda config, major: _elu(_layer_params(config, "alpha"), major),
    "Softmax": lambda config, major: _softmax(_layer_params(config, "axis"), major),
    "PReLU": lambda _config, _major: Activation("prelu", _prelu_image),
    "ThresholdedReLU": lambda config, _major: _thresholded_relu(
        Params({"theta": config.get("theta")}).number("theta", 1.0)
    ),
}


def resolve_activation(spec: Any, keras_major: int | None) -> ResolvedActivation:
    """The activation a configuration names: a string, a function dict or a layer dict."""
    for _ in range(MAX_ACTIVATION_NESTING):
        if spec is None:
            return LINEAR
        if isinstance(spec, str):
            return named_activation(spec, Params(), keras_major)
        if not isinstance(spec, Mapping):
            return UnknownActivation(f"the activation {spec!r} is neither a name nor an object")
        class_name = spec.get("class_name")
        config = spec.get("config")
        if class_name == "function":
            module = spec.get("module")
            if not isinstance(config, str):
                return UnknownActivation("an activation function without a name")
            if isinstance(module, str) and module != "builtins" and not _is_keras_module(module):
                return UnknownActivation(
                    f"custom activation '{config}' from module {module} (its code is not in the file)"
                )
            return named_activation(config, Params(), keras_major)
        if class_name == "__lambda__":
            return UnknownActivation("a lambda activation (its code is not read)")
        if not isinstance(config, Mapping):
            config = {}
        if class_name == "Activation":
            spec = config.get("activation")
            continue
        layer = ACTIVATION_LAYERS.get(str(class_name))
        if layer is None:
            return UnknownActivation(
                f"the activation is a {class_name} object, which vaecheck does not know"
            )
        try:
            return layer(config, keras_major)
        except ConfigProblem as problem:
            return UnknownActivation(f"{class_name}: {problem}")
    return UnknownActivation("the activation is nested too deep")


def named_activation(name: str, params: Params, keras_major: int | None) -> ResolvedActivation:
    if ">" in name:
        return UnknownActivation(f"custom activation '{name}' (its code is not in the file)")
    builder = ACTIVATIONS.get(ACTIVATION_ALIASES.get(name, name))
    if builder is None:
        if name in ACTIVATION_LAYERS:  # Keras 2 also accepted the layer classes by name
            return resolve_activation({"class_name": name, "config": {}}, keras_major)
        return UnknownActivation(
            f"unknown activation '{name}': not a Keras built-in, and its code is not in the file"
        )
    try:
        return builder(params, keras_major)
    except ConfigProblem as problem:
        return UnknownActivation(f"activation {name}: {problem}")


def activation_image(
    spec: Any,
    interval: Interval,
    keras_major: int | None = 3,
    *,
    label: str = "activation",
    axis_size: int | None = None,
) -> Codomain:
    """The codomain of an activation, given as a configuration holds it, on `interval`.

    `label` names the layer in the step (`"dec_out: relu"`) or in the unknown reason;
    `axis_size`, when known, is the length of the softmax axis. A linear activation returns
    `interval` with no step.
    """
    return apply_activation(
        label, resolve_activation(spec, keras_major), Codomain(interval=interval), axis_size
    )


def apply_activation(
    label: str, activation: ResolvedActivation, base: Codomain, axis_size: int | None = None
) -> Codomain:
    """`activation` on `base`; an unknown base counts as the real line (act(unknown) = act(R))."""
    if isinstance(activation, UnknownActivation):
        return Codomain.unknown(label, activation.reason)
    if activation.image is None:
        return base
    interval = base.interval if base.interval is not None else REAL_LINE
    image = activation.image(interval, axis_size)
    result = base.with_step(
        image.interval,
        f"{label}: {activation.name}",
        reset=True,
        simplex_axis=activation.simplex_axis,
    )
    for note in image.notes:
        result = result.with_note(note)
    return result


def _is_keras_module(module: str) -> bool:
    top = module.split(".", 1)[0]
    return top in ("keras", "tf_keras", "keras_hub", "keras_cv", "keras_nlp", "tensorflow")


# The layer call a transfer function sees ------------------------------------------------------
@dataclass
class WeightLedger:
    """The weight source of one evaluation, and which layers read from it or failed to."""

    source: WeightSource
    used: dict[str, str] = field(default_factory=dict)  # node id -> label
    failed: dict[str, tuple[str, str]] = field(default_factory=dict)  # node id -> label, why

    def variables(
        self, node: Node, expected: Sequence[tuple[str, ...]]
    ) -> list[np.ndarray]:
        """The variables of `node`'s layer in `expected` order, each named by its aliases
        (`("kernel", "depthwise_kernel")`); raises WeightsUnavailable."""
        try:
            found = self.source.variables(node.layer_path)
            arrays = _match_variables(found.arrays, found.names, expected)
        except WeightsUnavailable as exc:
            self.failed.setdefault(node.id, (node.label, str(exc)))
            raise
        self.used[node.id] = node.label
        return arrays


def _match_variables(
    arrays: Sequence[np.ndarray],
    names: Sequence[str | None],
    expected: Sequence[tuple[str, ...]],
) -> list[np.ndarray]:
    if names and all(name is not None for name in names):
        by_name = dict(zip(names, arrays))
        matched = []
        for aliases in expected:
            array = next((by_name[a] for a in aliases if a in by_name), None)
            if array is None:
                raise WeightsUnavailable(f"the layer has no {aliases[0]} variable")
            matched.append(array)
        return matched
    # Numbered variables (`vars/0`, `vars/1`, ...): Keras's save order is the only key.
    if len(arrays) != len(expected):
        wanted = ", ".join(a[0] for a in expected)
        raise WeightsUnavailable(
            f"the layer saved {len(arrays)} variables where {len(expected)} ({wanted}) "
            "were expected"
        )
    return list(arrays)


@dataclass(frozen=True)
class LayerCall:
    """One layer call, with the codomains of its tensor arguments in place of the tensors.

    `args` and `kwargs` are the node's, each TensorRef replaced by its Codomain; `inputs` lists
    those codomains in order. A wrapper (TimeDistributed, Bidirectional) analyses its inner
    layer through a copy with that layer's `op`, `module` and `config`.
    """

    node: Node
    op: str
    module: str | None
    config: Mapping[str, Any]
    args: tuple[Any, ...]
    kwargs: Mapping[str, Any]
    inputs: tuple[Codomain, ...]
    input_refs: tuple[TensorRef, ...]
    keras_major: int | None
    graph: Graph
    depth: int = 0
    weights: WeightLedger | None = None  # None: the architecture alone

    @property
    def label(self) -> str:
        return self.node.label

    def variables(self, expected: Sequence[tuple[str, ...]]) -> list[np.ndarray]:
        """This layer's saved variables (see WeightLedger.variables); only for the layer
        itself, not for one a wrapper holds, whose variables sit elsewhere."""
        if self.weights is None:
            raise WeightsUnavailable("no weights were given")
        if self.depth > 0:
            raise WeightsUnavailable("the weights of a wrapped layer are not read")
        return self.weights.variables(self.node, expected)

    def first_input(self) -> Codomain:
        if not self.inputs:
            raise ConfigProblem("it has no input tensor")
        return self.inputs[0]

    def inner(self, layer: Any) -> LayerCall:
        """This call, for the layer a wrapper holds."""
        if not isinstance(layer, Mapping) or not isinstance(layer.get("class_name"), str):
            raise ConfigProblem("the wrapped layer is not a layer object")
        config = layer.get("config")
        module = layer.get("module")
        return replace(
            self,
            op=layer["class_name"],
            module=module if isinstance(module, str) else None,
            config=config if isinstance(config, Mapping) else {},
            depth=self.depth + 1,
        )


Outputs = Union[Codomain, tuple[Codomain, ...]]  # a tuple for layers with several outputs
Transfer = Callable[[LayerCall], Outputs]


def transfer(call: LayerCall) -> Outputs:
    """The codomain(s) a layer call produces, by its class's transfer function."""
    if call.depth > MAX_WRAPPER_DEPTH:
        return Codomain.unknown(call.label, "layers wrapped more than 16 deep")
    # --- ONNX nodes (module "onnx" or "onnx:<domain>") have their own table -------------
    if call.module is not None and (call.module == "onnx" or call.module.startswith("onnx:")):
        from vaecheck.ranges.onnx import onnx_transfer

        function = onnx_transfer(call)
    # --- end ONNX ---------------------------------------------------------------------------
    else:
        function = TRANSFERS.get(call.op)
    if function is None:
        return Codomain.unknown(call.label, unsupported_reason(call.op, call.module))
    try:
        outputs = function(call)
    except (ConfigProblem, ValueError, TypeError, ArithmeticError, KeyError, IndexError) as exc:
        return Codomain.unknown(
            call.label, f"{call.op}: cannot interpret its configuration ({exc})"
        )
    if isinstance(outputs, tuple):
        return tuple(in_float32(c) for c in outputs)
    return in_float32(outputs)


FLOAT32_MAX = float(np.finfo(np.float32).max)
OVERFLOW_NOTE = "values past float32's largest, 3.4e38, overflow to inf"


def in_float32(codomain: Codomain) -> Codomain:
    """The range as float32 tensors hold it: an end past float32's largest value is infinite,
    since Keras computes in float32 and such values overflow (exp(exp(6)) is inf)."""
    interval = codomain.interval
    if interval is None:
        return codomain
    low, low_closed = interval.low, interval.low_closed
    high, high_closed = interval.high, interval.high_closed
    overflows_high = FLOAT32_MAX < high < INF
    overflows_low = -INF < low < -FLOAT32_MAX
    if not (overflows_high or overflows_low):
        return codomain
    if overflows_high:
        high, high_closed = INF, False
        low, low_closed = min(low, FLOAT32_MAX), low_closed or low > FLOAT32_MAX
    if overflows_low:
        low, low_closed = -INF, False
        high, high_closed = max(high, -FLOAT32_MAX), high_closed or high < -FLOAT32_MAX
    widened = replace(codomain, interval=Interval(low, high, low_closed, high_closed))
    return widened if OVERFLOW_NOTE in codomain.notes else widened.with_note(OVERFLOW_NOTE)


def unsupported_reason(op: str, module: str | None) -> str:
    if module is not None and module.startswith(("keras.src.ops", "keras.ops")):
        return f"the {op} op is not supported by the range engine"
    if op in KERAS_LAYERS_NOT_INTERPRETED:
        return f"the {op} layer is not supported by the range engine"
    if module is None:
        return f"custom layer {op} (module null)"
    if _is_keras_module(module):
        return f"{op} ({module}) is not supported by the range engine"
    return f"custom layer {op} (module {module})"


def names(text: str) -> list[str]:
    """Class names written as a whitespace-separated block."""
    return text.split()


def opaque(reason: str) -> Transfer:
    return lambda call: Codomain.unknown(call.label, reason)


# Helpers shared by transfer functions ----------------------------------------------------------
def stepped(base: Codomain, interval: Interval, step: str, note: str | None = None) -> Codomain:
    """`base` moved to `interval` by one more step; no step when nothing moved."""
    if base.known and base.interval == interval and note is None:
        return base if base.simplex_axis is None else replace(base, simplex_axis=None)
    return base.with_step(interval, step, note=note)


def without_simplex(codomain: Codomain) -> Codomain:
    return codomain if codomain.simplex_axis is None else replace(codomain, simplex_axis=None)


def combined(
    inputs: Iterable[Codomain], interval: Interval, step: str | None, notes: Iterable[str] = ()
) -> Codomain:
    """A codomain computed from several known ones: their steps and notes, then this step."""
    steps: list[str] = []
    kept_notes: list[str] = []
    for codomain in inputs:
        steps.extend(s for s in codomain.bounded_by if s not in steps)
        kept_notes.extend(n for n in codomain.notes if n not in kept_notes)
    if step is not None:
        steps.append(step)
    kept_notes.extend(n for n in notes if n not in kept_notes)
    return Codomain(interval=interval, bounded_by=tuple(steps), notes=tuple(kept_notes))


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
    numbers(value)  # validates every entry
    try:
        result = np.asarray(_unwrapped(value), dtype=np.float64)
    except (ValueError, TypeError):
        raise ConfigProblem(f"{what} is not a regular array of numbers") from None
    return result


def channel_pairs(first: Any, second: Any, what: str) -> list[tuple[float, float]]:
    """Per-channel (first, second) pairs of two broadcast parameters, without repeats."""
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


def _hull_all(intervals: Iterable[Interval]) -> Interval:
    result: Interval | None = None
    for interval in intervals:
        result = interval if result is None else result.hull(interval)
    if result is None:
        raise ConfigProblem("no values")
    return result


def _first_unknown(codomains: Iterable[Codomain]) -> Codomain | None:
    return next((c for c in codomains if not c.known), None)


def _codomains_in(structure: Any) -> list[Codomain]:
    found: list[Codomain] = []
    stack = [structure]
    while stack:
        item = stack.pop()
        if isinstance(item, Codomain):
            found.append(item)
        elif isinstance(item, Mapping):
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, (list, tuple)):
            stack.extend(reversed(item))
    return found


# Identity, subsets and convex combinations (KERAS_FACTS §5.2-5.5) ------------------------------
def identity(call: LayerCall) -> Outputs:
    """Identity at inference: the input unchanged, a softmax's simplex included."""
    return call.first_input()


def values_subset(call: LayerCall) -> Outputs:
    """Moves, repeats, picks or averages values: the same range, no step (shape changes)."""
    return without_simplex(call.first_input())


def input_layer(call: LayerCall) -> Outputs:
    return call.inputs[0] if call.inputs else Codomain.real_line()


def _up_sampling_2d(call: LayerCall) -> Outputs:
    interpolation = call.config.get("interpolation", "nearest")
    if interpolation in ("nearest", "bilinear", "area"):
        return values_subset(call)
    if interpolation not in RESAMPLING_KERNELS:
        return Codomain.unknown(
            call.label,
            f"UpSampling2D with {interpolation} interpolation, which vaecheck does not know",
        )
    size = call.config.get("size", (2, 2))
    factors = (size, size) if _is_int(size) else tuple(size) if isinstance(size, list) else ()
    if len(factors) != 2 or not all(_is_int(f) and f >= 1 for f in factors):
        raise ConfigProblem("its size is not two positive integers")
    base = without_simplex(call.first_input())
    if not base.known:
        return base
    # Output = sum of w_k x_k with sum w = 1 and negative weights of total mass N: it lies in
    # [low - N span, high + N span]. Separable in 2-D: N = Nh (1 + Nw) + (1 + Nh) Nw.
    along = [resampling_overshoot(interpolation, f) for f in factors]
    overshoot = along[0] * (1 + along[1]) + (1 + along[0]) * along[1]
    interval: Interval = base.interval  # type: ignore[assignment]
    if overshoot == 0 or interval.low == interval.high:
        return base
    if not interval.is_bounded:
        return stepped(base, REAL_LINE, f"{call.label}: {interpolation} up-sampling overshoots")
    reach = overshoot * (interval.high - interval.low)
    widened = Interval(interval.low - reach, interval.high + reach, True, True)
    return stepped(
        base,
        widened,
        f"{call.label}: {interpolation} up-sampling (overshoots by up to "
        f"{overshoot:.3g} of the input's span)",
    )


def _keys_cubic(a: float) -> Callable[[float], float]:
    def kernel(x: float) -> float:
        x = abs(x)
        if x <= 1:
            return ((a + 2) * x - (a + 3)) * x * x + 1
        if x < 2:
            return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
        return 0.0

    return kernel


def _lanczos(radius: int) -> Callable[[float], float]:
    def sinc(x: float) -> float:
        return 1.0 if x == 0 else math.sin(math.pi * x) / (math.pi * x)

    return lambda x: sinc(x) * sinc(x / radius) if abs(x) < radius else 0.0


# Interpolation kernels with negative lobes, each as the backends implement it: Keys cubic with
# a = -0.5 (TensorFlow, JAX) and -0.75 (PyTorch); Lanczos (TensorFlow, JAX). Bounds take the
# worst of them, since a file does not say which backend will run it.
RESAMPLING_KERNELS: dict[str, tuple[tuple[Callable[[float], float], int], ...]] = {
    "bicubic": ((_keys_cubic(-0.5), 2), (_keys_cubic(-0.75), 2)),
    "lanczos3": ((_lanczos(3), 3),),
    "lanczos5": ((_lanczos(5), 5),),
}


@functools.lru_cache(maxsize=64)
def resampling_overshoot(interpolation: str, factor: int) -> float:
    """The largest total negative weight of one output sample, up-sampling by `factor` with
    half-pixel centres; borders either drop the taps outside and renormalise (TensorFlow's
    Keys cubic and scale_and_translate) or clamp them to the edge (PyTorch)."""
    worst = 0.0
    for kernel, radius in RESAMPLING_KERNELS[interpolation]:
        # Short inputs matter: with both borders inside the kernel, renormalising the taps
        # that remain can raise the negative weight (lanczos5 on 8 rows).
        for length, output in (
            (length, output)
            for length in (*range(1, 2 * radius + 3), 4 * radius + 4)
            for output in range(length * factor)
        ):
            centre = (output + 0.5) / factor - 0.5
            first = math.floor(centre) - radius + 1
            taps = [(j, kernel(centre - j)) for j in range(first, first + 2 * radius)]
            inside = [(j, w) for j, w in taps if 0 <= j < length]
            total = sum(w for _, w in inside)
            dropped = [w / total for _, w in inside] if total > 0 else []
            clamped: dict[int, float] = {}
            for j, w in taps:
                edge = min(max(j, 0), length - 1)
                clamped[edge] = clamped.get(edge, 0.0) + w
            clamped_total = sum(clamped.values())
            for weights in (dropped, [w / clamped_total for w in clamped.values()]):
                worst = max(worst, -sum(w for w in weights if w < 0))
    return worst if worst > 1e-12 else 0.0  # sinc at whole numbers is 0 up to rounding


def _pads_with_zero(what: str) -> Transfer:
    def zero_padding(call: LayerCall) -> Outputs:
        base = without_simplex(call.first_input())
        if not base.known:
            return base
        return stepped(base, base.interval.hull(ZERO), f"{call.label}: {what}")

    return zero_padding


# Affine layers (KERAS_FACTS §5.6) ------------------------------------------------------------
def _rescaling(call: LayerCall) -> Outputs:
    scale, offset = call.config.get("scale", 1.0), call.config.get("offset", 0.0)
    pairs = channel_pairs(scale, offset, "Rescaling's scale and offset")
    base = call.first_input()
    if not base.known:
        return base
    image = _hull_all(base.interval.affine(s, o) for s, o in pairs)
    expression = f"x*{compact(scale)}" + ("" if _is_zero(offset) else f" + {compact(offset)}")
    return stepped(base, image, f"{call.label}: {expression}")


def _normalization(call: LayerCall) -> Outputs:
    mean, variance = call.config.get("mean"), call.config.get("variance")
    source = ""
    if mean is None or variance is None:
        if call.weights is None:
            return Codomain.unknown(
                call.label,
                "Normalization adapted to data: its mean and variance are in the weights file, "
                "which was not read",
            )
        base = call.first_input()
        if not base.known:
            return base
        try:
            saved = call.variables([("mean",), ("variance",), ("count",)])
        except WeightsUnavailable as exc:
            return Codomain.unknown(
                call.label,
                f"Normalization adapted to data: its mean and variance cannot be read ({exc})",
            )
        mean, variance = _float_kernel(saved[0]).tolist(), _float_kernel(saved[1]).tolist()
        source = " (saved weights)"
    invert = call.config.get("invert", False)
    base = call.first_input()
    if not base.known:
        return base
    images = []
    for m, v in channel_pairs(mean, variance, "Normalization's mean and variance"):
        if v < 0:
            raise ConfigProblem("a negative variance")
        std = max(math.sqrt(v), 1e-7)  # keras.backend.epsilon()
        images.append(
            base.interval.affine(std, m) if invert else base.interval.shift(-m).scale(1.0 / std)
        )
    image = _hull_all(images)
    std_text = compact(np.maximum(np.sqrt(array(variance, "variance")), 1e-7).tolist())
    expression = (
        f"x*{std_text} + {compact(mean)}" if invert else f"(x - {compact(mean)}) / {std_text}"
    )
    return stepped(base, image, f"{call.label}: {expression}{source}")


def _batch_normalization(call: LayerCall) -> Outputs:
    """gamma * (x - moving_mean) / sqrt(moving_variance + epsilon) + beta, per channel, from the
    saved weights; a negative gamma flips its channel's range."""
    if call.weights is None:
        return Codomain.unknown(
            call.label,
            "BatchNormalization: its statistics are in the weights file, which was not read",
        )
    base = call.first_input()
    if not base.known:
        return base
    config = call.config
    scale, center = config.get("scale", True) is not False, config.get("center", True) is not False
    expected = [("gamma",)] * scale + [("beta",)] * center
    expected += [("moving_mean",), ("moving_variance",)]
    if config.get("renorm"):
        expected += [("moving_stddev",), ("renorm_mean",), ("renorm_stddev",)]
    try:
        saved = [_float_kernel(a) for a in call.variables(expected)]
    except (WeightsUnavailable, KernelNotUsable) as exc:
        return Codomain.unknown(
            call.label, f"BatchNormalization: its statistics cannot be read ({exc})"
        )
    saved.reverse()
    gamma = saved.pop() if scale else np.ones(1)
    beta = saved.pop() if center else np.zeros(1)
    moving_mean, moving_variance = saved.pop(), saved.pop()
    epsilon = number(config.get("epsilon", 1e-3), "epsilon")
    if (moving_variance + epsilon <= 0).any():
        raise ConfigProblem("a moving variance below -epsilon")
    try:
        gamma, beta, moving_mean, moving_variance = np.broadcast_arrays(
            gamma, beta, moving_mean, moving_variance
        )
    except ValueError:
        raise ConfigProblem("its statistics have shapes that do not broadcast") from None
    inverse = gamma / np.sqrt(moving_variance + epsilon)
    offset = beta - moving_mean * inverse
    interval: Interval = base.interval  # type: ignore[assignment]
    images = []
    channels = zip(inverse.ravel().tolist(), offset.ravel().tolist(), moving_mean.ravel().tolist())
    for s, o, m in set(channels):
        # Keras computes x * inverse + (beta - mean * inverse) in float32: allow its rounding.
        size = abs(s) * _magnitude(interval) + abs(o) + abs(m * s)
        images.append(_widened(interval.affine(s, o), 4 * UNIT_ROUNDOFF_FLOAT32 * size))
    return stepped(base, _hull_all(images), f"{call.label}: batch normalization (saved statistics)")


def _magnitude(interval: Interval) -> float:
    return max(abs(interval.low), abs(interval.high))


def _widened(interval: Interval, slack: float) -> Interval:
    """`interval` grown by float rounding `slack` at each finite end (which it then holds)."""
    if slack == 0 or not math.isfinite(slack):
        return interval
    low = interval.low - slack if math.isfinite(interval.low) else interval.low
    high = interval.high + slack if math.isfinite(interval.high) else interval.high
    return Interval(low, high, True, True)


def _is_zero(value: Any) -> bool:
    try:
        return all(v == 0 for v in numbers(value))
    except ConfigProblem:
        return False


def _unit_normalization(call: LayerCall) -> Outputs:
    """x / ||x||: each element keeps its sign and lies in [-1, 1]; ±1 when it is alone."""
    base = without_simplex(call.first_input())
    interval = base.interval if base.known else REAL_LINE
    parts = []
    if interval.low < 0:
        parts.append(Interval(-1.0, 0.0, True, False))
    if interval.high > 0:
        parts.append(Interval(0.0, 1.0, False, True))
    if interval.contains(0.0) or not parts:
        parts.append(ZERO)
    image = _hull_all(parts)
    return stepped(base if base.known else Codomain.real_line(), image, f"{call.label}: unit norm")


# Activations as layers and as layer arguments (KERAS_FACTS §4.3, §5.1) -------------------------
def axis_size(call: LayerCall, axis: int | tuple[int, ...] | None) -> int | None:
    """Length of the input along `axis`, as far as the configuration states it."""
    if axis is None or not call.input_refs:
        return None
    shape = output_shape(call.graph, call.input_refs[0])
    if shape is None:
        return None
    size = 1
    for a in (axis,) if isinstance(axis, int) else axis:
        if not -len(shape) <= a < len(shape) or shape[a] is None:
            return None
        size *= shape[a]  # type: ignore[operator]
    return size


def _activation_layer(call: LayerCall) -> Outputs:
    activation = resolve_activation(call.config.get("activation", "linear"), call.keras_major)
    return _activate_input(call, activation)


def _activation_class(call: LayerCall) -> Outputs:
    """ReLU, LeakyReLU, ELU, Softmax, PReLU, ThresholdedReLU."""
    if call.op == "PReLU" and call.weights is not None:
        with_alpha = _prelu_with_alpha(call)
        if with_alpha is not None:
            return with_alpha
    activation = resolve_activation(
        {"class_name": call.op, "config": call.config}, call.keras_major
    )
    result = _activate_input(call, activation)
    if call.op == "Softmax" and result.known and _masked(call):
        # Masked positions get a large negative logit: their outputs are 0, the others up to 1.
        result = replace(result, interval=result.interval.hull(UNIT))  # type: ignore[union-attr]
    return result


def _prelu_with_alpha(call: LayerCall) -> Codomain | None:
    """relu(x) - alpha * relu(-x) with the saved alpha: per channel, x where x >= 0 and
    alpha * x below. None when the input needs no alpha or alpha cannot be read."""
    base = call.inputs[0] if call.inputs else Codomain.real_line()
    interval = base.interval if base.known else REAL_LINE
    if interval.low >= 0:  # type: ignore[union-attr]
        return None
    try:
        (alpha,) = call.variables([("alpha",)])
        alphas = sorted(set(_float_kernel(alpha).ravel().tolist()))
    except (WeightsUnavailable, KernelNotUsable):
        return None
    if not alphas:
        return None
    assert interval is not None
    images = [union_hull(_prelu_function(a).parts(interval))[0] for a in alphas]
    start = base if base.known else Codomain.real_line()
    shown = compact(alphas) if len(alphas) > 1 else format_bound(alphas[0])
    return start.with_step(_hull_all(images), f"{call.label}: prelu(alpha={shown}, saved weights)")


def _prelu_function(alpha: float) -> Piecewise:
    return piecewise([0.0], lambda x0: _linear(1.0) if x0 > 0 else _linear(alpha))


def _activate_input(call: LayerCall, activation: ResolvedActivation) -> Codomain:
    base = call.inputs[0] if call.inputs else Codomain.real_line()
    size = axis_size(call, activation.axis) if isinstance(activation, Activation) else None
    return apply_activation(call.label, activation, base, size)


def _masked(call: LayerCall) -> bool:
    """Whether a mask can reach this call: passed explicitly, or made upstream."""
    if call.kwargs.get("mask") is not None:
        return True
    seen: set[str] = set()
    stack = [ref.node for ref in call.input_refs]
    while stack:
        node_id = stack.pop()
        if node_id in seen or node_id not in call.graph.nodes:
            continue
        seen.add(node_id)
        node = call.graph.nodes[node_id]
        if node.op == "Masking" or (node.op == "Embedding" and node.config.get("mask_zero")):
            return True
        stack.extend(ref.node for ref in node.tensor_inputs())
    return False


def _with_activation(call: LayerCall) -> Outputs:
    """Dense, convolutions, ...: the activation on the pre-activation. That is the real line,
    unless the saved kernel and bias bound it (a bounded input and weights to read)."""
    activation = resolve_activation(call.config.get("activation", "linear"), call.keras_major)
    size = None
    if isinstance(activation, Activation) and activation.axis in (-1, (-1,)):
        size = _units(call)
    pre_activation = Codomain.real_line()
    if (
        call.weights is not None
        and isinstance(activation, Activation)
        and not _image_of_real_line(activation).is_bounded
    ):
        pre_activation = _weighted_sum(call)
    return apply_activation(call.label, activation, pre_activation, size)


# Kernels and biases on a bounded input ---------------------------------------------------------
UNIT_ROUNDOFF_FLOAT32 = 2.0**-24
MAX_BLOCK_ENTRIES = 1 << 22  # kernel entries handled at once, to keep the temporaries small
KERNEL_LAYERS_WITH_ZERO_INPUTS = frozenset(
    ["Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose"]  # border outputs miss some taps
)


class KernelNotUsable(Exception):
    """A kernel the interval arithmetic does not cover; the range stays the real line."""


def _weighted_sum(call: LayerCall) -> Codomain:
    """x·W + b over the input's range, with the saved kernel and bias: each output unit is a
    sum over its kernel taps (for a convolution, kernel positions times input channels)."""
    base = call.inputs[0] if call.inputs else None
    # Over a half-open input ([0, inf) after a relu) a kernel of mixed signs reaches every
    # value: reading the weights file would cost its opening and bound nothing.
    if base is None or not base.known or not base.interval.is_bounded:  # type: ignore[union-attr]
        return Codomain.real_line()
    interval: Interval = base.interval  # type: ignore[assignment]
    try:
        _refuse_quantized(call.config)
        low, high = _kernel_bounds(call, interval)
    except WeightsUnavailable:
        return Codomain.real_line()
    except KernelNotUsable as exc:
        assert call.weights is not None
        call.weights.failed.setdefault(call.node.id, (call.label, str(exc)))
        return Codomain.real_line()
    bounded = Interval(low, high, True, True) if low < high else _point(low)
    return base.with_step(bounded, f"{call.label}: x·W + b (saved weights)")


def _refuse_quantized(config: Mapping[str, Any]) -> None:
    policy = config.get("dtype")
    text = str(policy.get("config") if isinstance(policy, Mapping) else policy)
    if re.search(r"int8|int4|float8|quantiz", text, re.IGNORECASE):
        raise KernelNotUsable("its kernel is quantized, which the range engine does not read")


def _kernel_bounds(call: LayerCall, interval: Interval) -> tuple[float, float]:
    config = call.config
    op = call.op
    padding = config.get("padding", "valid")
    zero_inputs = op in KERNEL_LAYERS_WITH_ZERO_INPUTS or padding in ("same", "causal")
    use_bias = bool(config.get("use_bias", True))
    if op == "EinsumDense":
        return _einsum_bounds(call, interval)
    if op in ("SeparableConv1D", "SeparableConv2D"):
        expected = [("depthwise_kernel",), ("pointwise_kernel",)]
        arrays = call.variables(expected + ([("bias",)] if use_bias else []))
        depthwise, pointwise = _float_kernel(arrays[0]), _float_kernel(arrays[1])
        if depthwise.ndim < 3 or pointwise.ndim < 3:
            raise KernelNotUsable("its kernels do not have the shape of a separable convolution")
        # Depthwise: one channel per (input channel, multiplier); then a Dense on those.
        lows, highs = _input_bounds(interval, depthwise.shape[0:-2], zero_inputs)
        depthwise_columns = depthwise.reshape(-1, math.prod(depthwise.shape[-2:]))
        mid_low, mid_high = linear_bounds(depthwise_columns, None, lows, highs)
        bias = _float_kernel(arrays[2]) if use_bias else None
        pointwise_columns = pointwise.reshape(-1, pointwise.shape[-1])
        low, high = linear_bounds(pointwise_columns, bias, mid_low, mid_high)
        return float(low.min()), float(high.max())
    names = ("kernel", "depthwise_kernel") if op.startswith("DepthwiseConv") else ("kernel",)
    expected = [names] + ([("bias",)] if use_bias else [])
    arrays = call.variables(expected)
    kernel = _float_kernel(arrays[0])
    bias = _float_kernel(arrays[1]) if use_bias else None
    if op == "Dense":
        if kernel.ndim != 2:
            raise KernelNotUsable("its kernel is not a matrix")
        columns = kernel
    elif op.startswith(("Conv1D", "Conv2D", "Conv3D")) and op.endswith("Transpose"):
        if kernel.ndim < 3:
            raise KernelNotUsable("its kernel does not have the shape of a convolution")
        columns = np.moveaxis(kernel, -2, -1).reshape(-1, kernel.shape[-2])
    elif op in ("Conv1D", "Conv2D", "Conv3D", "DepthwiseConv1D", "DepthwiseConv2D"):
        if kernel.ndim < 3:
            raise KernelNotUsable("its kernel does not have the shape of a convolution")
        if op.startswith("Depthwise"):  # output channel c * multiplier + m sums kernel[..., c, m]
            columns = kernel.reshape(-1, kernel.shape[-2] * kernel.shape[-1])
        else:
            columns = kernel.reshape(-1, kernel.shape[-1])
    else:
        raise KernelNotUsable(f"the kernel of {op} is not read")
    if bias is not None and bias.shape != (columns.shape[1],):
        raise KernelNotUsable("its bias does not match its kernel")
    lows, highs = _input_bounds(interval, (columns.shape[0],), zero_inputs)
    low, high = linear_bounds(columns, bias, lows, highs)
    return float(low.min()), float(high.max())


def _float_kernel(array: np.ndarray) -> np.ndarray:
    if array.dtype.kind != "f":
        raise KernelNotUsable(f"its kernel holds {array.dtype} values, not floats")
    result = np.asarray(array, dtype=np.float64)
    if not np.isfinite(result).all():
        raise KernelNotUsable("its kernel or bias holds inf or nan")
    return result


def _input_bounds(
    interval: Interval, shape: tuple[int, ...], zero_inputs: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Per-row bounds of the input; with zero padding, an input can also be 0."""
    low, high = interval.low, interval.high
    if zero_inputs:
        low, high = min(low, 0.0), max(high, 0.0)
    count = math.prod(shape) if shape else 1
    return np.full(count, low), np.full(count, high)


def linear_bounds(
    columns: np.ndarray, bias: np.ndarray | None, lows: np.ndarray, highs: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per column j, the range of sum_i W_ij x_i + b_j with each x_i in [lows_i, highs_i].

    The ends are widened by the float32 rounding bound of such a sum, gamma_n * sum |W_ij x_i|
    with n the nonzero terms (Higham, Accuracy and Stability, §3.1): Keras adds in float32, in
    any order, and may land a little past the real-number end.
    """
    rows, width = columns.shape
    if rows != lows.shape[0]:
        raise KernelNotUsable(f"its kernel has {rows} rows for {lows.shape[0]} inputs")
    low_out = np.empty(width)
    high_out = np.empty(width)
    block = max(1, MAX_BLOCK_ENTRIES // max(rows, 1))
    for start in range(0, width, block):
        w = columns[:, start : start + block]
        with np.errstate(invalid="ignore", over="ignore"):
            at_low = np.where(w == 0, 0.0, w * lows[:, None])
            at_high = np.where(w == 0, 0.0, w * highs[:, None])
        term_low = np.minimum(at_low, at_high)
        term_high = np.maximum(at_low, at_high)
        magnitude = np.maximum(np.abs(at_low), np.abs(at_high))
        terms = np.count_nonzero(w, axis=0)
        low = term_low.sum(axis=0)
        high = term_high.sum(axis=0)
        size = magnitude.sum(axis=0)
        if bias is not None:
            b = bias[start : start + block]
            low, high, size = low + b, high + b, size + np.abs(b)
        gamma = (terms + 2) * UNIT_ROUNDOFF_FLOAT32 * 1.01
        with np.errstate(invalid="ignore"):
            slack = np.where(np.isfinite(size), gamma * size, 0.0)
        low_out[start : start + block] = low - slack
        high_out[start : start + block] = high + slack
    return low_out, high_out


EINSUM_SIDES = re.compile(r"^\s*([a-zA-Z.]*)\s*,\s*([a-zA-Z]*)\s*->\s*([a-zA-Z.]*)\s*$")


def _einsum_bounds(call: LayerCall, interval: Interval) -> tuple[float, float]:
    """EinsumDense whose every summed input axis is a kernel axis: then each output element is
    a sum over the kernel's summed axes, the same formula as Dense."""
    equation = call.config.get("equation")
    match = EINSUM_SIDES.match(equation) if isinstance(equation, str) else None
    if match is None:
        raise KernelNotUsable(f"the einsum equation {equation!r} is not one vaecheck reads")
    inputs, kernel_axes, outputs = (side.replace("...", "") for side in match.groups())
    if "." in inputs + outputs or len(set(kernel_axes)) != len(kernel_axes):
        raise KernelNotUsable(f"the einsum equation {equation!r} is not one vaecheck reads")
    summed = [a for a in kernel_axes if a not in outputs]
    if any(a not in inputs for a in summed) or any(
        a not in outputs and a not in kernel_axes for a in inputs
    ):
        raise KernelNotUsable(f"the einsum equation {equation!r} sums axes without a kernel")
    kept = [a for a in outputs if a in kernel_axes]
    bias_axes = call.config.get("bias_axes")
    expected = [("kernel",)] + ([("bias",)] if bias_axes else [])
    arrays = call.variables(expected)
    kernel = _float_kernel(arrays[0])
    if kernel.ndim != len(kernel_axes):
        raise KernelNotUsable("its kernel does not match its equation")
    order = [kernel_axes.index(a) for a in summed + kept]
    columns = np.transpose(kernel, order).reshape(
        math.prod(kernel.shape[kernel_axes.index(a)] for a in summed),
        math.prod(kernel.shape[kernel_axes.index(a)] for a in kept),
    )
    bias = _float_kernel(arrays[1]) if bias_axes else None
    per_column = bias is not None and bias_axes == "".join(kept) and bias.size == columns.shape[1]
    lows, highs = _input_bounds(interval, (columns.shape[0],), False)
    low, high = linear_bounds(columns, bias.ravel() if per_column else None, lows, highs)
    low_end, high_end = float(low.min()), float(high.max())
    if bias is not None and not per_column:  # any bias value may meet any column
        low_end += float(bias.min()) - UNIT_ROUNDOFF_FLOAT32 * abs(float(bias.min()))
        high_end += float(bias.max()) + UNIT_ROUNDOFF_FLOAT32 * abs(float(bias.max()))
    return low_end, high_end


def _units(call: LayerCall) -> int | None:
    """The last-axis length of a layer with an activation argument, from its configuration."""
    config = call.config
    if call.op == "EinsumDense":
        shape = config.get("output_shape")
        last = shape[-1] if isinstance(shape, list) and shape else shape
        return last if _is_int(last) else None
    if config.get("data_format") == "channels_first":
        return None
    for key in ("units", "filters"):  # DepthwiseConv has neither: its channel count is not at hand
        if _is_int(config.get(key)):
            return config[key]
    return None


# Recurrent layers (KERAS_FACTS §5.1) ---------------------------------------------------------
RECURRENT_KINDS = {
    "SimpleRNN": "SimpleRNN",
    "SimpleRNNCell": "SimpleRNN",
    "GRU": "GRU",
    "GRUCell": "GRU",
    "LSTM": "LSTM",
    "LSTMCell": "LSTM",
    "ConvLSTM1D": "LSTM",
    "ConvLSTM2D": "LSTM",
    "ConvLSTM3D": "LSTM",
}
CELL_STATE_NOTE = "an LSTM's cell state is a running sum: the activation does not bound it"


def _recurrent(call: LayerCall) -> Outputs:
    return _recurrent_cell(call, call.op, call.config, call.config)


def _rnn(call: LayerCall) -> Outputs:
    """The generic RNN layer: its cell decides the range; of a stack of cells, the last one."""
    cell = call.config.get("cell")
    stacked = isinstance(cell, Mapping) and cell.get("class_name") == "StackedRNNCells"
    if stacked:
        cells = _config_of(cell).get("cells")
        cell = cells[-1] if isinstance(cells, list) and cells else None
    if (
        not isinstance(cell, Mapping)
        or not str(cell.get("class_name")).endswith("Cell")
        or (cell.get("class_name") not in RECURRENT_KINDS)
    ):
        name = cell.get("class_name") if isinstance(cell, Mapping) else None
        return Codomain.unknown(
            call.label, f"an RNN with the cell {name}, which vaecheck does not know"
        )
    layer_config = {**call.config, "return_state": False} if stacked else call.config
    output = _recurrent_cell(call, str(cell["class_name"]), _config_of(cell), layer_config)
    if stacked and call.config.get("return_state"):
        return (output,)  # the states of stacked cells are not modelled: reading them is unknown
    return output


def _config_of(entry: Mapping[str, Any]) -> Mapping[str, Any]:
    config = entry.get("config")
    return config if isinstance(config, Mapping) else {}


def _recurrent_cell(
    call: LayerCall, op: str, cell_config: Mapping[str, Any], layer_config: Mapping[str, Any]
) -> Outputs:
    kind = RECURRENT_KINDS[op]
    activation = resolve_activation(cell_config.get("activation", "tanh"), call.keras_major)
    if isinstance(activation, UnknownActivation):
        return Codomain.unknown(call.label, activation.reason)
    values = _image_of_real_line(activation)
    notes: list[str] = []
    if kind == "SimpleRNN":
        output = values
        if call.kwargs.get("mask") is not None:
            output = output.hull(ZERO)  # masked steps output zeros
    else:
        gate_activation = resolve_activation(
            cell_config.get("recurrent_activation", "sigmoid"), call.keras_major
        )
        if isinstance(gate_activation, UnknownActivation):
            return Codomain.unknown(call.label, gate_activation.reason)
        gate = _image_of_real_line(gate_activation)
        if kind == "GRU":
            # h = z * h_prev + (1 - z) * act(...) from h_0 = 0 (or the given initial state).
            output = values.hull(ZERO)
            initial = _codomains_in(call.args)[1:] + _codomains_in(call.kwargs.get("initial_state"))
            unknown = _first_unknown(initial)
            if unknown is not None:
                return unknown
            for state in initial:
                output = output.hull(state.interval)  # type: ignore[arg-type]
            if not gate.is_subset_of(UNIT):
                output = REAL_LINE
                notes.append(
                    f"the GRU's recurrent activation {gate_activation.name} leaves [0, 1]: "
                    "its state is no longer a convex combination"
                )
        else:
            output = gate * values.hull(ZERO)  # h = o * act(c), o from the recurrent activation
    name = f"{kind}({activation.name})"
    codomain = Codomain(interval=output, bounded_by=(f"{call.label}: {name}",), notes=tuple(notes))
    if not layer_config.get("return_state"):
        return codomain
    if kind == "LSTM":
        return (codomain, codomain, Codomain(interval=REAL_LINE, notes=(CELL_STATE_NOTE,)))
    return (codomain, codomain)


def _image_of_real_line(activation: Activation) -> Interval:
    if activation.image is None:
        return REAL_LINE
    return activation.image(REAL_LINE, None).interval


# Wrappers ------------------------------------------------------------------------------------
def _wrapper(call: LayerCall) -> Outputs:
    """TimeDistributed, SpectralNormalization: the wrapped layer decides the range."""
    return transfer(call.inner(call.config.get("layer")))


def _bidirectional(call: LayerCall) -> Outputs:
    forward = transfer(call.inner(call.config.get("layer")))
    backward_layer = call.config.get("backward_layer")
    backward = (
        transfer(call.inner(backward_layer)) if isinstance(backward_layer, Mapping) else forward
    )
    forward_out, forward_states = _split(forward)
    backward_out, backward_states = _split(backward)
    states = forward_states + backward_states
    mode = call.config.get("merge_mode", "concat")
    if mode is None:
        return (forward_out, backward_out, *states)
    merged = _merge_directions(call.label, mode, forward_out, backward_out)
    return (merged, *states) if states else merged


def _split(outputs: Outputs) -> tuple[Codomain, tuple[Codomain, ...]]:
    if isinstance(outputs, tuple):
        return outputs[0], outputs[1:]
    return outputs, ()


def _merge_directions(label: str, mode: Any, forward: Codomain, backward: Codomain) -> Codomain:
    unknown = _first_unknown((forward, backward))
    if unknown is not None:
        return unknown
    a, b = forward.interval, backward.interval
    assert a is not None and b is not None
    merges = {
        "concat": lambda: a.hull(b),
        "ave": lambda: (a + b).scale(0.5),
        "sum": lambda: a + b,
        "mul": lambda: a * b,
    }
    if mode not in merges:
        return Codomain.unknown(label, f"Bidirectional with merge_mode {mode!r}")
    interval = merges[mode]()
    moved = interval != a.hull(b)
    return combined(
        (forward, backward), interval, f"{label}: {mode} of both directions" if moved else None
    )


# Arithmetic: merge layers, Keras 3 ops, TFOpLambda -------------------------------------------
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


def _arithmetic(
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
        unknown = _first_unknown(tensors)
        if unknown is not None:
            return unknown
        intervals = [v.interval if isinstance(v, Codomain) else v for v in values]
        interval = combine(intervals)  # type: ignore[arg-type]
        notes = []
        if len(tensors) == 1 and tensors[0].known and interval == tensors[0].interval:
            return without_simplex(tensors[0])
        if divides and any(_reaches_zero(i) for i in intervals[1:]):
            notes.append(DIVISION_NOTE)
        return combined(tensors, interval, f"{call.label}: {expression(_render(values))}", notes)

    return arithmetic


def _fold(method: Callable[[Interval, Interval], Interval]) -> Callable[[list[Interval]], Interval]:
    def fold(intervals: list[Interval]) -> Interval:
        result = intervals[0]
        for interval in intervals[1:]:
            result = method(result, interval)
        return result

    return fold


DIVISION_NOTE = "division by a range that holds 0: inf and nan are possible"


def _reaches_zero(interval: Interval) -> bool:
    return interval.contains(0.0) or interval.low < 0 < interval.high


def reciprocal(interval: Interval) -> Interval:
    """1/x on an interval; the real line when the interval holds 0 or lies on both sides of it."""
    if _reaches_zero(interval):
        return REAL_LINE

    def inverse(x: float) -> float:
        return INF if x == 0 else 1.0 / x

    if interval.low >= 0:  # inside (0, inf]
        return _interval(
            inverse(interval.high), inverse(interval.low), interval.high_closed, interval.low_closed
        )
    low = -INF if interval.high == 0 else 1.0 / interval.high
    return _interval(
        low,
        1.0 / interval.low if interval.low != -INF else 0.0,
        interval.high_closed,
        interval.low_closed,
    )


def _divide(intervals: list[Interval]) -> Interval:
    result = intervals[0]
    for divisor in intervals[1:]:
        result = result * reciprocal(divisor)
    return result


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


_mean_of_inputs = _arithmetic(
    lambda intervals: _fold(Interval.__add__)(intervals).scale(1.0 / len(intervals)),
    lambda names: f"mean({', '.join(names)})",
)


def _where(call: LayerCall) -> Outputs:
    """where(condition, x1, x2): each value comes from x1 or x2."""
    return _concatenate(call, skip=1)


def _concatenate(call: LayerCall, skip: int = 0) -> Outputs:
    """Concatenate, Stack: every value comes from one of the inputs."""
    values = operands(call, skip=skip)
    tensors = [v for v in values if isinstance(v, Codomain)]
    unknown = _first_unknown(tensors)
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
    unknown = _first_unknown(tensors)
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


def _sum(call: LayerCall) -> Outputs:
    base = call.first_input()
    if not base.known:
        return base
    return stepped(base, sum_of_unknown_count(base.interval), f"{call.label}: sum")


def _reduction(call: LayerCall) -> Outputs:
    """Mean, Max, Min and the like: a value of the input, or with `initial`, that too."""
    base = without_simplex(call.first_input())
    initial = call.config.get("initial")
    if initial is None or not base.known:
        return base
    bound = constant_interval(initial)
    moved = (
        base.interval.maximum(bound) if call.op in ("Max", "Amax") else base.interval.minimum(bound)
    )
    return stepped(base, moved, f"{call.label}: with initial {compact(initial)}")


def _clip(call: LayerCall) -> Outputs:
    base = call.first_input()
    low = _argument(call, 1, ("x_min", "clip_value_min"))
    high = _argument(call, 2, ("x_max", "clip_value_max"))
    bounds = [_operand_interval(low), _operand_interval(high)]
    for bound in (low, high):
        if isinstance(bound, Codomain) and not bound.known:
            return bound
    interval = base.interval if base.known else REAL_LINE
    # clip(x, l, h) is monotone in l and h: the corners of their ranges bound every case.
    image = _hull_all(
        interval.clip(l, h)
        for l in (bounds[0].low, bounds[0].high)
        for h in (bounds[1].low, bounds[1].high)
    )
    step = f"{call.label}: clip to [{_text(low)}, {_text(high)}]"
    if not base.known:
        return Codomain(interval=image, bounded_by=(step,))
    return stepped(base, image, step)


def _argument(call: LayerCall, position: int, keys: tuple[str, ...]) -> Any:
    for key in keys:
        if key in call.config:
            return call.config[key]
        if key in call.kwargs:
            return call.kwargs[key]
    if position < len(call.args):
        return call.args[position]
    raise ConfigProblem(f"no {keys[0]}")


def _operand_interval(value: Any) -> Interval:
    if isinstance(value, Codomain):
        return value.interval if value.interval is not None else REAL_LINE
    return constant_interval(value)


def _text(value: Any) -> str:
    return "a tensor" if isinstance(value, Codomain) else compact(value)


def _elementwise_op(
    name: str,
    function: Piecewise,
    domain: Interval | None = None,
    outside: str = "",
) -> Transfer:
    """An elementwise math op. Like an activation it bounds an unknown input's image, unless
    that image is the real line; outside its real domain it gives nan, which a note says."""

    def elementwise_op(call: LayerCall) -> Outputs:
        base = without_simplex(call.first_input())
        interval = base.interval if base.known else REAL_LINE
        within = intersect(interval, domain) if domain is not None else interval
        notes = []
        if within is None:
            return Codomain.unknown(call.label, f"{name} of values that are all {outside}: nan")
        if within != interval:
            notes.append(f"{name} of values {outside} is nan")
        hull, components = union_hull(function.parts(within))
        if len(components) > 1:
            notes.append(union_note(name, components))
        if not base.known:
            if hull.is_real_line:
                return base
            base = Codomain(interval=REAL_LINE)
        step = f"{call.label}: {name}"
        result = stepped(base, hull, step)
        for note in notes:
            result = result.with_note(note)
        return result

    return elementwise_op


def _negative(call: LayerCall) -> Outputs:
    base = without_simplex(call.first_input())
    return base if not base.known else stepped(base, -base.interval, f"{call.label}: -x")


def _reciprocal(call: LayerCall) -> Outputs:
    base = without_simplex(call.first_input())
    if not base.known:
        return base
    note = DIVISION_NOTE if _reaches_zero(base.interval) else None
    return stepped(base, reciprocal(base.interval), f"{call.label}: 1/x", note)


def _power_op(call: LayerCall) -> Outputs:
    values = operands(call)
    if len(values) != 2 or not isinstance(values[0], Codomain) or isinstance(values[1], Codomain):
        return Codomain.unknown(call.label, "a power with a tensor exponent")
    exponent = values[1]
    if exponent.low != exponent.high:
        return Codomain.unknown(call.label, "a power with several exponents")
    c = exponent.low
    if c == 0:
        return combined([values[0]], Interval.point(1.0), f"{call.label}: x**0")
    if c < 0:
        return Codomain.unknown(call.label, "a power with a negative exponent")
    text = f"x**{format_bound(c)}"
    if float(c).is_integer():
        breakpoints = [0.0] if int(c) % 2 == 0 else []
        return _elementwise_op(text, piecewise(breakpoints, lambda _x0: _power(c)))(call)
    return _elementwise_op(
        text, smooth(_power(c), 0.0, INF), Interval(0.0, INF, True, False), "below 0"
    )(call)


def _cast(call: LayerCall) -> Outputs:
    dtype = call.config.get("dtype")
    if isinstance(dtype, str) and ("float" in dtype):
        return identity(call)
    return Codomain.unknown(call.label, f"a cast to {dtype}")


def _activation_op(name: str, *param_keys: str, **defaults: Any) -> Transfer:
    """Keras 3 op nodes that are activations (Sigmoid, Relu, LeakyRelu, ...), with their
    arguments from the op's configuration."""

    def activation_op(call: LayerCall) -> Outputs:
        params = _layer_params(call.config, *param_keys)
        for key, value in defaults.items():
            params.values.setdefault(key, value)
        return _activate_input(call, named_activation(name, params, call.keras_major))

    return activation_op


# Keras 2 TFOpLambda: the TensorFlow function and its keyword arguments ---------------------------
def _tf_activation(name: str, **renamed: str) -> Transfer:
    def tf_activation(call: LayerCall) -> Outputs:
        values = {
            renamed.get(k, k): v for k, v in call.kwargs.items() if k in renamed or k == "axis"
        }
        activation = named_activation(name, Params(values), call.keras_major)
        return _activate_input(call, activation)

    return tf_activation


def _tf_op_lambda(call: LayerCall) -> Outputs:
    function = call.config.get("function")
    handler = TF_FUNCTIONS.get(function) if isinstance(function, str) else None
    if handler is None:
        return Codomain.unknown(
            call.label, f"TensorFlow function tf.{function} is not supported by the range engine"
        )
    return handler(call)


# Other layers ------------------------------------------------------------------------------------
def _lambda(call: LayerCall) -> Outputs:
    """A Lambda holding a Keras built-in function by name (`Lambda(keras.activations.relu)`)
    is that activation; any other Lambda is code, which is never read."""
    function = call.config.get("function")
    arguments = call.config.get("arguments") or {}
    if (
        isinstance(function, Mapping)
        and function.get("class_name") == "function"
        and isinstance(function.get("config"), str)
        and function.get("module")
        in ("builtins", "keras.activations", "keras.src.activations.activations")
        and isinstance(arguments, Mapping)
    ):
        name = function["config"]
        if ">" not in name and ACTIVATION_ALIASES.get(name, name) in ACTIVATIONS:
            params = Params(arguments)
            activation = named_activation(name, params, call.keras_major)
            if not params.unread():
                return _activate_input(call, activation)
    return Codomain.unknown(call.label, "Lambda layer (its code is not read)")


def _attention(call: LayerCall) -> Outputs:
    """Attention, AdditiveAttention: softmax weights average the value rows (convex)."""
    if call.kwargs.get("return_attention_scores"):
        return Codomain.unknown(call.label, "attention that also returns its scores")
    tensors = _codomains_in(call.args)
    if not tensors:
        raise ConfigProblem("no inputs")
    return without_simplex(tensors[1] if len(tensors) > 1 else tensors[0])


def _projected(call: LayerCall) -> Outputs:
    """MultiHeadAttention, GroupedQueryAttention end in a linear projection: the real line."""
    if call.kwargs.get("return_attention_scores"):
        return (Codomain.real_line(), Codomain(interval=UNIT))
    return Codomain.real_line()


WEIGHTS_NOT_READ = "are learned weights, which the range engine does not interpret"


def _embedding(call: LayerCall) -> Outputs:
    """Rows of the saved embedding matrix: its smallest and largest entries bound them."""
    if call.weights is None:
        return Codomain.unknown(
            call.label, "Embedding: its vectors are in the weights file, which was not read"
        )
    try:
        (table,) = call.variables([("embeddings",)])
        values = _float_kernel(table)
    except (WeightsUnavailable, KernelNotUsable) as exc:
        return Codomain.unknown(call.label, f"Embedding: its vectors cannot be read ({exc})")
    if values.size == 0:
        raise ConfigProblem("an empty embedding matrix")
    interval = Interval.closed(float(values.min()), float(values.max()))
    step = f"{call.label}: embedding rows (saved weights)"
    return Codomain(interval=interval, bounded_by=(step,))

TRANSFERS: dict[str, Transfer] = {
    # identity at inference (§5.2)
    **dict.fromkeys(
        names("""
            Dropout SpatialDropout1D SpatialDropout2D SpatialDropout3D GaussianNoise
            GaussianDropout AlphaDropout ActivityRegularization Identity StopGradient
            Copy
            """),
        identity,
    ),
    "InputLayer": input_layer,
    # shapes and value subsets (§5.3), convex combinations (§5.4), also as Keras 3 ops
    **dict.fromkeys(
        names("""
            Reshape Flatten Permute RepeatVector Cropping1D Cropping2D Cropping3D
            MaxPooling1D MaxPooling2D MaxPooling3D GlobalMaxPooling1D GlobalMaxPooling2D
            GlobalMaxPooling3D AdaptiveMaxPooling1D AdaptiveMaxPooling2D
            AdaptiveMaxPooling3D UpSampling1D UpSampling3D AveragePooling1D
            AveragePooling2D AveragePooling3D GlobalAveragePooling1D
            GlobalAveragePooling2D GlobalAveragePooling3D AdaptiveAveragePooling1D
            AdaptiveAveragePooling2D AdaptiveAveragePooling3D Transpose Squeeze
            ExpandDims Ravel GetItem Flip Roll Tile Repeat BroadcastTo Moveaxis Swapaxes
            Slice Take TakeAlongAxis Sort SlicingOpLambda MaxPool AveragePool
            AdaptiveMaxPool AdaptiveAveragePool
            """),
        values_subset,
    ),
    **dict.fromkeys(["Mean", "Max", "Min", "Amax", "Amin", "Median"], _reduction),
    "Sum": _sum,
    "UpSampling2D": _up_sampling_2d,
    "ZeroPadding1D": _pads_with_zero("pads with 0"),
    "ZeroPadding2D": _pads_with_zero("pads with 0"),
    "ZeroPadding3D": _pads_with_zero("pads with 0"),
    "Masking": _pads_with_zero("masked steps become 0"),
    "Cast": _cast,
    # affine and normalizing (§5.6, §5.7)
    "Rescaling": _rescaling,
    "Normalization": _normalization,
    "UnitNormalization": _unit_normalization,
    "BatchNormalization": _batch_normalization,
    **{
        name: opaque(f"{name}: its learned scale and offset {WEIGHTS_NOT_READ}")
        for name in ("LayerNormalization", "GroupNormalization", "RMSNormalization")
    },
    # activations
    "Activation": _activation_layer,
    **dict.fromkeys(
        ["ReLU", "LeakyReLU", "ELU", "Softmax", "PReLU", "ThresholdedReLU"], _activation_class
    ),
    **dict.fromkeys(
        names("""
            Dense EinsumDense Conv1D Conv2D Conv3D Conv1DTranspose Conv2DTranspose
            Conv3DTranspose SeparableConv1D SeparableConv2D DepthwiseConv1D
            DepthwiseConv2D LocallyConnected1D LocallyConnected2D
            """),
        _with_activation,
    ),
    # recurrent layers and wrappers (§5.1)
    **dict.fromkeys(
        ["SimpleRNN", "GRU", "LSTM", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"], _recurrent
    ),
    "RNN": _rnn,
    "Bidirectional": _bidirectional,
    "TimeDistributed": _wrapper,
    "SpectralNormalization": _wrapper,
    # merges; the Keras 3 ops of the same names take the same path (constants inline)
    "Add": _arithmetic(_fold(Interval.__add__), " + ".join),
    "Subtract": _arithmetic(_fold(Interval.__sub__), " - ".join, arity=2),
    "Multiply": _arithmetic(_fold(Interval.__mul__), "*".join),
    "Divide": _arithmetic(_divide, " / ".join, arity=2, divides=True),
    "TrueDivide": _arithmetic(_divide, " / ".join, arity=2, divides=True),
    "Maximum": _arithmetic(_fold(Interval.maximum), lambda names: f"max({', '.join(names)})"),
    "Minimum": _arithmetic(_fold(Interval.minimum), lambda names: f"min({', '.join(names)})"),
    "Average": _average,
    "Concatenate": _concatenate,
    "Stack": _concatenate,
    "Hstack": _concatenate,
    "Vstack": _concatenate,
    "Where": _where,
    "Dot": _dot,
    # Keras 3 activation ops (keras.src.ops.nn, keras.src.activations)
    "Relu": _activation_op("relu"),
    "Relu6": _activation_op("relu6"),
    "Sigmoid": _activation_op("sigmoid"),
    "SparseSigmoid": _activation_op("sparse_sigmoid"),
    "Softplus": _activation_op("softplus"),
    "Softsign": _activation_op("softsign"),
    "SoftShrink": _activation_op("soft_shrink", "threshold"),
    "SparsePlus": _activation_op("sparse_plus"),
    "Silu": _activation_op("silu"),
    "Squareplus": _activation_op("squareplus", "b"),
    "LogSigmoid": _activation_op("log_sigmoid"),
    "LeakyRelu": _activation_op("leaky_relu", "negative_slope"),
    "HardSigmoid": _activation_op("hard_sigmoid"),
    "HardSilu": _activation_op("hard_silu"),
    "Elu": _activation_op("elu", "alpha"),
    "Selu": _activation_op("selu"),
    "Gelu": _activation_op("gelu", "approximate", approximate=True),  # ops.gelu's default
    "Celu": _activation_op("celu", "alpha"),
    "Glu": _activation_op("glu", "axis"),
    "TanhShrink": _activation_op("tanh_shrink"),
    "HardTanh": _activation_op("hard_tanh"),
    "HardShrink": _activation_op("hard_shrink", "threshold"),
    "Threshold": _activation_op("threshold", "threshold", "default_value"),
    "LogSoftmax": _activation_op("log_softmax", "axis"),
    "Sparsemax": _activation_op("sparsemax", "axis"),
    "Mish": _activation_op("mish"),
    "Tanh": _activation_op("tanh"),
    "Exp": _activation_op("exponential"),
    # Keras 3 math ops
    "Negative": _negative,
    **dict.fromkeys(
        ["Absolute", "Abs", "Fabs"],
        _elementwise_op("abs", piecewise([0.0], lambda x0: _linear(1.0 if x0 > 0 else -1.0))),
    ),
    "Square": _elementwise_op("square", piecewise([0.0], lambda _x0: lambda x: x * x)),
    "Sqrt": _elementwise_op(
        "sqrt", smooth(math.sqrt, 0.0, INF), Interval(0.0, INF, True, False), "below 0"
    ),
    "Exp2": _elementwise_op("exp2", smooth(lambda x: _exp(x * math.log(2.0)), 0.0, INF)),
    "Expm1": _elementwise_op("expm1", smooth(_expm1, -1.0, INF)),
    "Log": _elementwise_op(
        "log",
        smooth(lambda x: math.log(x) if x > 0 else -INF, -INF, INF),
        Interval(0.0, INF, True, False),
        "below 0",
    ),
    "Log1p": _elementwise_op(
        "log1p",
        smooth(lambda x: math.log1p(x) if x > -1 else -INF, -INF, INF),
        Interval(-1.0, INF, True, False),
        "below -1",
    ),
    "Sign": _elementwise_op(
        "sign", piecewise([0.0], lambda x0: _constant(1.0 if x0 > 0 else -1.0 if x0 < 0 else 0.0))
    ),
    "Erf": _elementwise_op("erf", smooth(math.erf, -1.0, 1.0)),
    "Arctan": _elementwise_op("arctan", smooth(math.atan, -math.pi / 2, math.pi / 2)),
    "Reciprocal": _reciprocal,
    "Power": _power_op,
    "Clip": _clip,
    # opaque by nature
    "Lambda": _lambda,
    "Embedding": _embedding,
    "Attention": _attention,
    "AdditiveAttention": _attention,
    "MultiHeadAttention": _projected,
    "GroupedQueryAttention": _projected,
    "TFOpLambda": _tf_op_lambda,
}

TF_FUNCTIONS: dict[str, Transfer] = {
    **{f: _tf_activation("sigmoid") for f in ("math.sigmoid", "nn.sigmoid", "sigmoid")},
    **{f: _tf_activation("tanh") for f in ("math.tanh", "nn.tanh", "tanh")},
    "nn.relu": _tf_activation("relu"),
    "nn.relu6": _tf_activation("relu6"),
    "nn.elu": _tf_activation("elu"),
    "nn.selu": _tf_activation("selu"),
    **{f: _tf_activation("softplus") for f in ("math.softplus", "nn.softplus")},
    **{f: _tf_activation("softsign") for f in ("math.softsign", "nn.softsign")},
    **{f: _tf_activation("softmax") for f in ("nn.softmax", "math.softmax")},
    **{f: _tf_activation("log_softmax") for f in ("nn.log_softmax", "math.log_softmax")},
    "math.log_sigmoid": _tf_activation("log_sigmoid"),
    "nn.leaky_relu": _tf_activation("leaky_relu", alpha="negative_slope"),
    "nn.gelu": _tf_activation("gelu", approximate="approximate"),
    **{f: _tf_activation("silu", beta="beta") for f in ("nn.silu", "nn.swish", "math.silu")},
    **{f: TRANSFERS["Exp"] for f in ("math.exp", "exp")},
    **{f: TRANSFERS["Add"] for f in ("math.add", "__operators__.add", "math.add_v2")},
    "math.subtract": TRANSFERS["Subtract"],
    "math.multiply": TRANSFERS["Multiply"],
    **{
        f: TRANSFERS["TrueDivide"] for f in ("math.truediv", "math.divide", "__operators__.truediv")
    },
    "math.maximum": TRANSFERS["Maximum"],
    "math.minimum": TRANSFERS["Minimum"],
    "math.negative": _negative,
    "math.abs": TRANSFERS["Abs"],
    "math.square": TRANSFERS["Square"],
    "math.sqrt": TRANSFERS["Sqrt"],
    "math.log": TRANSFERS["Log"],
    "math.log1p": TRANSFERS["Log1p"],
    "math.expm1": TRANSFERS["Expm1"],
    "math.sign": TRANSFERS["Sign"],
    "math.erf": TRANSFERS["Erf"],
    "math.atan": TRANSFERS["Arctan"],
    "math.reciprocal": _reciprocal,
    "math.pow": _power_op,
    "clip_by_value": _clip,
    **dict.fromkeys(["math.reduce_mean", "math.reduce_max", "math.reduce_min"], values_subset),
    "math.reduce_sum": _sum,
    **dict.fromkeys(
        names("""
            reshape transpose expand_dims squeeze identity __operators__.getitem
            compat.v1.transpose stop_gradient
            """),
        values_subset,
    ),
    **dict.fromkeys(["concat", "stack"], _concatenate),
    **dict.fromkeys(["where", "where_v2"], _where),
}

# Keras layer classes (Keras 3 and tf_keras) with no transfer function yet: their range is
# unknown, and the reason says "not supported" rather than "custom layer".
KERAS_LAYERS_NOT_INTERPRETED = frozenset(
    """AugMix AutoContrast CategoryEncoding CenterCrop ContrastLimitedAdaptiveHistogramEqualization
    CutMix DenseFeatures Discretization Equalization FlaxLayer HashedCrossing Hashing
    IntegerLookup JaxLayer MaxNumBoundingBoxes MelSpectrogram MixUp Pipeline RandAugment
    RandomBrightness RandomColorDegeneration RandomColorJitter RandomContrast RandomCrop
    RandomElasticTransform RandomErasing RandomFlip RandomGaussianBlur RandomGrayscale
    RandomHeight RandomHue RandomInvert RandomPerspective RandomPosterization RandomRotation
    RandomSaturation RandomSharpness RandomShear RandomTranslation RandomWidth RandomZoom
    Resizing ReversibleEmbedding STFTSpectrogram Solarization StringLookup TFSMLayer
    TextVectorization TorchModuleWrapper Wrapper Layer AbstractRNNCell StackedRNNCells
    SimpleRNNCell GRUCell LSTMCell Functional Sequential Model""".split()
)


# The evaluator ---------------------------------------------------------------------------------
def output_codomains(
    graph: Graph, keras_version: str | None = None, weights: WeightSource | None = None
) -> dict[str, Codomain]:
    """The codomain of each model output, keyed by output name in `graph.outputs` order.

    The graph is evaluated iteratively in topological order, so depth is no limit. A reference
    to a node the graph does not have, or a cycle, raises VaecheckError. With `weights`, ends the
    architecture leaves open are taken from a second evaluation with the saved weights (see the
    module's docstring); without, what needs weights is the real line or unknown.
    """
    major = keras_major(keras_version)
    architecture = _evaluate_outputs(graph, major, None)
    if weights is None or all(_settled(c) for c in architecture.values()):
        return architecture
    ledger = WeightLedger(weights)
    with_weights = _evaluate_outputs(graph, major, ledger)
    return {
        output.name: _merged(
            architecture[output.name],
            with_weights[output.name],
            _ancestors(graph, output.ref.node),
            ledger,
        )
        for output in graph.outputs
    }


def _evaluate_outputs(
    graph: Graph, major: int | None, weights: WeightLedger | None
) -> dict[str, Codomain]:
    results: dict[str, Outputs] = {}
    for output in graph.outputs:
        if output.ref.node not in graph.nodes:
            raise VaecheckError(
                f"output '{output.name}' refers to '{output.ref.node}', which is not in the model graph"
            )
        _evaluate(graph, output.ref.node, major, results, weights)
    return {
        output.name: select_output(
            results[output.ref.node], output.ref, graph.nodes[output.ref.node]
        )
        for output in graph.outputs
    }


def _settled(codomain: Codomain) -> bool:
    """Known with two finite ends: the weights cannot change it."""
    return codomain.interval is not None and codomain.interval.is_bounded


SAVED_WEIGHTS_NOTE = (
    "{ends} from the saved weights of {layers}: {they} for the weights in this file, and "
    "training moves {them}"
)


def _merged(
    architecture: Codomain, saved: Codomain, ancestors: set[str], ledger: WeightLedger
) -> Codomain:
    """The architecture's range, with the ends it leaves infinite or unknown from the saved
    weights' evaluation."""
    if saved.interval is None:
        result = architecture if architecture.known else saved
        return _with_failures(result, ancestors, ledger)
    if architecture.interval is None:
        return _with_failures(_weights_note(saved, "both ends", ledger), ancestors, ledger)
    a, w = architecture.interval, saved.interval
    low_from_weights = math.isinf(a.low) and math.isfinite(w.low)
    high_from_weights = math.isinf(a.high) and math.isfinite(w.high)
    if not (low_from_weights or high_from_weights):
        return _with_failures(architecture, ancestors, ledger)
    low, low_closed = (w.low, w.low_closed) if low_from_weights else (a.low, a.low_closed)
    high, high_closed = (w.high, w.high_closed) if high_from_weights else (a.high, a.high_closed)
    if low > high or (low == high and not (low_closed and high_closed)):
        return _with_failures(architecture, ancestors, ledger)  # cannot happen when both are sound
    ends = (
        "both ends"
        if low_from_weights and high_from_weights
        else "the lower end" if low_from_weights else "the upper end"
    )
    merged = replace(saved, interval=Interval(low, high, low_closed, high_closed))
    return _with_failures(_weights_note(merged, ends, ledger), ancestors, ledger)


def _weights_note(codomain: Codomain, ends: str, ledger: WeightLedger) -> Codomain:
    # The layers whose weights moved the range are those among its steps: an activation
    # before them starts a new chain, and weights read before it no longer matter.
    used = [
        label
        for label in dict.fromkeys(ledger.used.values())
        if any(step.startswith(f"{label}: ") for step in codomain.bounded_by)
    ]
    if not used:
        return codomain
    codomain = replace(codomain, saved_weights=tuple(used))
    plural = ends != "the lower end" and ends != "the upper end"
    shown = ", ".join(used[:4]) + (f" and {len(used) - 4} more" if len(used) > 4 else "")
    return codomain.with_note(
        SAVED_WEIGHTS_NOTE.format(
            ends=ends[0].upper() + ends[1:] + (" come" if plural else " comes"),
            layers=shown,
            they="they hold" if plural else "it holds",
            them="them" if plural else "it",
        )
    )


def _with_failures(codomain: Codomain, ancestors: set[str], ledger: WeightLedger) -> Codomain:
    """Say why weights that could have bounded an open range were not used."""
    if codomain.interval is not None and codomain.interval.is_bounded:
        return codomain
    by_reason: dict[str, list[str]] = {}
    for node, (label, reason) in ledger.failed.items():
        if node in ancestors:
            by_reason.setdefault(reason, []).append(label)
    for reason, labels in by_reason.items():
        shown = ", ".join(labels[:4]) + (f" and {len(labels) - 4} more" if len(labels) > 4 else "")
        note = f"the saved weights of {shown} were not used: {reason}"
        if note not in codomain.notes:
            codomain = codomain.with_note(note)
    return codomain


def _ancestors(graph: Graph, root: str) -> set[str]:
    seen: set[str] = set()
    stack = [root]
    while stack:
        node_id = stack.pop()
        if node_id in seen or node_id not in graph.nodes:
            continue
        seen.add(node_id)
        stack.extend(ref.node for ref in graph.nodes[node_id].tensor_inputs())
    return seen


def _evaluate(
    graph: Graph,
    root: str,
    major: int | None,
    results: dict[str, Outputs],
    weights: WeightLedger | None = None,
) -> None:
    """Evaluate `root` and everything it depends on, depth-first with an explicit stack."""
    on_path: set[str] = set()
    stack: list[tuple[str, bool]] = [(root, False)]
    while stack:
        node_id, inputs_done = stack.pop()
        if node_id in results:
            continue
        node = graph.nodes[node_id]
        if inputs_done:
            results[node_id] = transfer(_call(graph, node, major, results, weights))
            on_path.discard(node_id)
            continue
        if node_id in on_path:  # reached again before it was finished: it depends on itself
            raise VaecheckError(f"the model graph has a cycle through '{node.label}'")
        on_path.add(node_id)
        stack.append((node_id, True))
        for ref in reversed(node.tensor_inputs()):
            if ref.node not in graph.nodes:
                raise VaecheckError(
                    f"'{node.label}' takes its input from '{ref.node}', which is not in the model graph"
                )
            if ref.node in on_path:
                raise VaecheckError(f"the model graph has a cycle through '{node.label}'")
            if ref.node not in results:
                stack.append((ref.node, False))


def _call(
    graph: Graph,
    node: Node,
    major: int | None,
    results: Mapping[str, Outputs],
    weights: WeightLedger | None = None,
) -> LayerCall:
    def codomain_of(ref: TensorRef) -> Codomain:
        return select_output(results[ref.node], ref, graph.nodes[ref.node])

    refs = tuple(node.tensor_inputs())
    return LayerCall(
        node=node,
        op=node.op,
        module=node.module,
        config=node.config,
        args=tuple(_substituted(list(node.args), codomain_of)),
        kwargs=_substituted(dict(node.kwargs), codomain_of),
        inputs=tuple(codomain_of(ref) for ref in refs),
        input_refs=refs,
        keras_major=major,
        graph=graph,
        weights=weights,
    )


def _substituted(structure: Any, codomain_of: Callable[[TensorRef], Codomain]) -> Any:
    if isinstance(structure, TensorRef):
        return codomain_of(structure)
    if isinstance(structure, Mapping):
        return {key: _substituted(value, codomain_of) for key, value in structure.items()}
    if isinstance(structure, (list, tuple)):
        return [_substituted(value, codomain_of) for value in structure]
    return structure


def select_output(outputs: Outputs, ref: TensorRef, node: Node) -> Codomain:
    if not isinstance(outputs, tuple):
        return outputs
    if 0 <= ref.index < len(outputs):
        return outputs[ref.index]
    return Codomain.unknown(node.label, f"output {ref.index} of {node.op} is not modelled")

"""Keras 3 op nodes (`keras.ops`, module `keras.src.ops.*`): shapes, reductions, activations
and elementwise math written in a functional model.

Shape ops move values; reductions pick or average them; activation ops are the activations;
elementwise ops (exp, log, sqrt, abs, power, ...) are exact images, with a note where a
value leaves their real domain. The ops named like merge layers are in `merging.py`. Facts:
KERAS_FACTS §1.3 (op nodes in a functional config), §4.2, §5.3-5.4.
"""

from __future__ import annotations

import math
from typing import Any

from vaecheck.codomain import Codomain
from vaecheck.intervals import INF, Interval, format_bound
from vaecheck.ranges.activations import layer_params, named_activation
from vaecheck.ranges.arithmetic import (
    DIVISION_NOTE,
    arithmetic_transfer,
    divide,
    operands,
    reaches_zero,
    reciprocal,
)
from vaecheck.ranges.layer_call import (
    LayerCall,
    Outputs,
    Transfer,
    activate_input,
    combined,
    identity,
    names,
    stepped,
    values_subset,
    without_simplex,
)
from vaecheck.ranges.merging import concatenate, sum_of_unknown_count, where_op
from vaecheck.ranges.piecewise import (
    REAL_LINE,
    Piecewise,
    constant_formula,
    exp_formula,
    expm1_formula,
    intersect,
    linear_formula,
    piecewise,
    power_formula,
    smooth,
    union_hull,
    union_note,
)
from vaecheck.ranges.values import ConfigProblem, compact, constant_interval, hull_all


def sum_op(call: LayerCall) -> Outputs:
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


def clip_op(call: LayerCall) -> Outputs:
    base = call.first_input()
    low = _argument(call, 1, ("x_min", "clip_value_min"))
    high = _argument(call, 2, ("x_max", "clip_value_max"))
    bounds = [_operand_interval(low), _operand_interval(high)]
    for bound in (low, high):
        if isinstance(bound, Codomain) and not bound.known:
            return bound
    interval = base.interval if base.known else REAL_LINE
    # clip(x, l, h) is monotone in l and h: the corners of their ranges bound every case.
    image = hull_all(
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


def negative_op(call: LayerCall) -> Outputs:
    base = without_simplex(call.first_input())
    return base if not base.known else stepped(base, -base.interval, f"{call.label}: -x")


def reciprocal_op(call: LayerCall) -> Outputs:
    base = without_simplex(call.first_input())
    if not base.known:
        return base
    note = DIVISION_NOTE if reaches_zero(base.interval) else None
    return stepped(base, reciprocal(base.interval), f"{call.label}: 1/x", note)


def power_op(call: LayerCall) -> Outputs:
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
        return _elementwise_op(text, piecewise(breakpoints, lambda _x0: power_formula(c)))(call)
    return _elementwise_op(
        text, smooth(power_formula(c), 0.0, INF), Interval(0.0, INF, True, False), "below 0"
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
        params = layer_params(call.config, *param_keys)
        for key, value in defaults.items():
            params.values.setdefault(key, value)
        return activate_input(call, named_activation(name, params, call.keras_major))

    return activation_op


TRANSFERS: dict[str, Transfer] = {
    # identity (§5.2)
    **dict.fromkeys(["StopGradient", "Copy"], identity),
    # shapes and value subsets (§5.3), convex combinations (§5.4)
    **dict.fromkeys(
        names("""
            Transpose Squeeze
            ExpandDims Ravel GetItem Flip Roll Tile Repeat BroadcastTo Moveaxis Swapaxes
            Slice Take TakeAlongAxis Sort MaxPool AveragePool
            AdaptiveMaxPool AdaptiveAveragePool
            """),
        values_subset,
    ),
    **dict.fromkeys(["Mean", "Max", "Min", "Amax", "Amin", "Median"], _reduction),
    "Sum": sum_op,
    "Cast": _cast,
    # the ops of the merge layers' names (Add, Concatenate, ...) are in merging.py
    "Divide": arithmetic_transfer(divide, " / ".join, arity=2, divides=True),
    "TrueDivide": arithmetic_transfer(divide, " / ".join, arity=2, divides=True),
    "Stack": concatenate,
    "Hstack": concatenate,
    "Vstack": concatenate,
    "Where": where_op,
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
    "Negative": negative_op,
    **dict.fromkeys(
        ["Absolute", "Abs", "Fabs"],
        _elementwise_op(
            "abs", piecewise([0.0], lambda x0: linear_formula(1.0 if x0 > 0 else -1.0))
        ),
    ),
    "Square": _elementwise_op("square", piecewise([0.0], lambda _x0: lambda x: x * x)),
    "Sqrt": _elementwise_op(
        "sqrt", smooth(math.sqrt, 0.0, INF), Interval(0.0, INF, True, False), "below 0"
    ),
    "Exp2": _elementwise_op("exp2", smooth(lambda x: exp_formula(x * math.log(2.0)), 0.0, INF)),
    "Expm1": _elementwise_op("expm1", smooth(expm1_formula, -1.0, INF)),
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
        "sign",
        piecewise([0.0], lambda x0: constant_formula(1.0 if x0 > 0 else -1.0 if x0 < 0 else 0.0)),
    ),
    "Erf": _elementwise_op("erf", smooth(math.erf, -1.0, 1.0)),
    "Arctan": _elementwise_op("arctan", smooth(math.atan, -math.pi / 2, math.pi / 2)),
    "Reciprocal": reciprocal_op,
    "Power": power_op,
    "Clip": clip_op,
}

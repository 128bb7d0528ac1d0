"""Keras activations, resolved from a configuration, and their exact images of intervals.

An `activation` argument can be a name, a function dict, a layer dict (ReLU, LeakyReLU, ...) or
something vaecheck cannot read (a custom function, a lambda), which is an `UnknownActivation`
with the reason. Each built-in is a `Piecewise` function, so `activation_image` of an interval
is exact. Facts: KERAS_FACTS §1.7 (how activations appear in configs), §4.1-4.3 (the list,
codomains, relu's arguments and the activation layers).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Union

from vaecheck.codomain import Codomain
from vaecheck.intervals import INF, Interval, format_bound
from vaecheck.ranges.piecewise import (
    REAL_LINE,
    Formula,
    Piecewise,
    clamped,
    constant_formula,
    dip,
    exp_formula,
    expm1_formula,
    gelu_formula,
    gelu_tanh_formula,
    interval_between,
    linear_formula,
    piecewise,
    sigmoid_formula,
    smooth,
    softplus_formula,
    squareplus_formula,
    union_hull,
    union_note,
    with_limits,
)
from vaecheck.ranges.values import ConfigProblem, is_int, number

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
MAX_KEPT_IMAGES = 64  # per activation: the images of intervals it has been applied to


def elementwise(name: str, function: Piecewise) -> Activation:
    # A deep model applies one activation to the same interval layer after layer (a Dense
    # stack's real line): the image is a pure function of the interval, so it is kept (and
    # an activation named by many layers is one object during an evaluation: `_by_name`).
    images: dict[Interval, Image] = {}

    def image(interval: Interval, _axis_size: int | None) -> Image:
        found = images.get(interval)
        if found is None:
            hull, components = union_hull(function.parts(interval))
            notes = (union_note(name, components),) if len(components) > 1 else ()
            found = Image(hull, notes)
            if len(images) < MAX_KEPT_IMAGES:
                images[interval] = found
        return found

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
        if value is None or is_int(value):
            return value
        if isinstance(value, list) and value and all(is_int(v) for v in value):
            return tuple(int(v) for v in value)
        raise ConfigProblem(f"{key} is not an axis")

    def unread(self) -> set[str]:
        return set(self.values) - self.read


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
    function = piecewise([0.0], lambda x0: linear_formula(1.0) if x0 > 0 else linear_formula(slope))
    return elementwise(_named("leaky_relu", ("negative_slope", slope, 0.2)), function)


def _elu(params: Params, _major: int | None, default: float = 1.0) -> Activation:
    alpha = params.number("alpha", default)
    negative = with_limits(lambda x: alpha * expm1_formula(x), -alpha, INF)
    function = piecewise([0.0], lambda x0: linear_formula(1.0) if x0 > 0 else negative)
    return elementwise(_named("elu", ("alpha", alpha, 1.0)), function)


def _selu(_params: Params, _major: int | None) -> Activation:
    negative = with_limits(
        lambda x: SELU_SCALE * SELU_ALPHA * expm1_formula(x), -SELU_SCALE * SELU_ALPHA, 0
    )
    function = piecewise([0.0], lambda x0: linear_formula(SELU_SCALE) if x0 > 0 else negative)
    return elementwise("selu", function)


def _celu(params: Params, _major: int | None) -> Activation:
    alpha = params.number("alpha", 1.0)
    if alpha <= 0:
        raise ConfigProblem("celu needs alpha > 0")
    negative = with_limits(lambda x: alpha * expm1_formula(x / alpha), -alpha, 0)
    function = piecewise([0.0], lambda x0: linear_formula(1.0) if x0 > 0 else negative)
    return elementwise(_named("celu", ("alpha", alpha, 1.0)), function)


def _gelu_activation(params: Params, _major: int | None, default: bool = False) -> Activation:
    if params.flag("approximate", default):
        return elementwise(
            "gelu(approximate=True)",
            dip(gelu_tanh_formula, GELU_TANH_MINIMISER, GELU_TANH_MINIMUM, INF),
        )
    return elementwise("gelu", dip(gelu_formula, GELU_MINIMISER, GELU_MINIMUM, INF))


def _silu(params: Params, _major: int | None) -> Activation:
    beta = params.number("beta", 1.0)  # tf.nn.silu / swish only
    silu = dip(lambda x: x * sigmoid_formula(x), SILU_MINIMISER, SILU_MINIMUM, INF)
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
            return constant_formula(0.0)
        if x0 >= 3:
            return linear_formula(1.0)
        return lambda x: x * (x + 3.0) / 6.0

    return elementwise("hard_silu", piecewise([-3.0, -1.5, 3.0], branch))


def _mish(_params: Params, _major: int | None) -> Activation:
    return elementwise("mish", dip(_mish_formula, MISH_MINIMISER, MISH_MINIMUM, INF))


def _mish_formula(x: float) -> float:
    return x * math.tanh(softplus_formula(x))


Builder = Callable[[Params, Union[int, None]], "ResolvedActivation"]


def fixed(name: str, function: Piecewise) -> Builder:
    """The builder of an activation that takes no arguments."""
    return lambda _params, _major: elementwise(name, function)


HARD_SIGMOID_KERAS3 = clamped(-3.0, 3.0, lambda x: (x + 3.0) / 6.0, 0.0, 1.0)  # relu6(x + 3) / 6
HARD_SIGMOID_KERAS2 = clamped(-2.5, 2.5, lambda x: 0.2 * x + 0.5, 0.0, 1.0)  # clip(0.2x + .5, 0, 1)
SPARSE_PLUS = piecewise(
    [-1.0, 1.0],
    lambda x0: (
        constant_formula(0.0)
        if x0 <= -1
        else linear_formula(1.0) if x0 >= 1 else (lambda x: 0.25 * (x + 1.0) ** 2)
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
    return elementwise(name, smooth(squareplus_formula(b), 0.0, INF))


def _soft_shrink(params: Params, _major: int | None) -> Activation:
    t = params.number("threshold", 0.5)

    def branch(x0: float) -> Formula:
        if x0 > t:
            return linear_formula(1.0, -t)
        if x0 < -t:
            return linear_formula(1.0, t)
        return constant_formula(0.0)

    return elementwise(_named("soft_shrink", ("threshold", t, 0.5)), piecewise([t, -t], branch))


def _hard_shrink(params: Params, _major: int | None) -> Activation:
    t = params.number("threshold", 0.5)
    function = piecewise(
        [t, -t], lambda x0: linear_formula(1.0) if abs(x0) > t else constant_formula(0.0)
    )
    return elementwise(_named("hard_shrink", ("threshold", t, 0.5)), function)


def _threshold(params: Params, _major: int | None) -> ResolvedActivation:
    t, default = params.optional("threshold"), params.optional("default_value")
    if t is None or default is None:
        return UnknownActivation(
            "the threshold activation needs threshold and default_value arguments; named "
            "without them, Keras cannot call it"
        )
    function = piecewise(
        [t], lambda x0: linear_formula(1.0) if x0 > t else constant_formula(default)
    )
    return elementwise(f"threshold({format_bound(t)}, {format_bound(default)})", function)


def _thresholded_relu(theta: float) -> Activation:
    function = piecewise(
        [theta], lambda x0: linear_formula(1.0) if x0 > theta else constant_formula(0.0)
    )
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
    low = 1.0 / (1.0 + (axis_size - 1) * exp_formula(spread))
    high = 1.0 / (1.0 + (axis_size - 1) * exp_formula(-spread))
    attained = interval.low_closed and interval.high_closed
    return interval_between(low, high, attained, attained)


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
            interval_between(
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

    def image(interval_between: Interval, _axis_size: int | None) -> Image:
        return Image(Interval(0.0, INF, True, False), (note,))

    return Activation("sparsemax", image)


def _glu(params: Params, _major: int | None) -> Activation:
    params.axis()
    sigmoid = smooth(sigmoid_formula, 0.0, 1.0)

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
    "relu6": fixed("relu6", clamped(0.0, 6.0, linear_formula(1.0), 0.0, 6.0)),
    "leaky_relu": _leaky_relu,
    "elu": _elu,
    "selu": _selu,
    "celu": _celu,
    "gelu": _gelu_activation,
    "silu": _silu,
    "hard_silu": _hard_silu,
    "mish": _mish,
    "softplus": fixed("softplus", smooth(softplus_formula, 0.0, INF)),
    "softsign": fixed("softsign", smooth(lambda x: x / (1.0 + abs(x)), -1.0, 1.0)),
    "sigmoid": fixed("sigmoid", smooth(sigmoid_formula, 0.0, 1.0)),
    "hard_sigmoid": _hard_sigmoid,
    "sparse_sigmoid": fixed(
        "sparse_sigmoid", clamped(-1.0, 1.0, lambda x: 0.5 * (x + 1.0), 0.0, 1.0)
    ),
    "tanh": fixed("tanh", smooth(math.tanh, -1.0, 1.0)),
    "hard_tanh": fixed("hard_tanh", clamped(-1.0, 1.0, linear_formula(1.0), -1.0, 1.0)),
    "tanh_shrink": fixed("tanh_shrink", smooth(lambda x: x - math.tanh(x), -INF, INF)),
    "softmax": _softmax,
    "log_softmax": _log_softmax,
    "sparsemax": _sparsemax,
    "log_sigmoid": fixed("log_sigmoid", smooth(lambda x: -softplus_formula(-x), -INF, 0.0)),
    "exponential": fixed("exponential", smooth(exp_formula, 0.0, INF)),
    "sparse_plus": fixed("sparse_plus", SPARSE_PLUS),
    "squareplus": _squareplus_activation,
    "soft_shrink": _soft_shrink,
    "hard_shrink": _hard_shrink,
    "threshold": _threshold,
    "glu": _glu,
}
ACTIVATION_ALIASES = {"swish": "silu", "hard_swish": "hard_silu", "softmax_v2": "softmax"}


def layer_params(config: Mapping[str, Any], *keys: str) -> Params:
    return Params({key: config[key] for key in keys if key in config})


# Activation layers, and the layer objects an `activation` argument can hold (KERAS_FACTS §4.3).
ACTIVATION_LAYERS: dict[
    str, Callable[[Mapping[str, Any], Union[int, None]], ResolvedActivation]
] = {
    "ReLU": lambda config, major: _relu(
        layer_params(config, "negative_slope", "max_value", "threshold"), major
    ),
    "LeakyReLU": lambda config, major: _leaky_relu(
        Params({"negative_slope": config.get("negative_slope", config.get("alpha"))}),
        major,
        default=0.3,
    ),
    "ELU": lambda config, major: _elu(layer_params(config, "alpha"), major),
    "Softmax": lambda config, major: _softmax(layer_params(config, "axis"), major),
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
            return _by_name(spec, keras_major)
        if not isinstance(spec, Mapping):
            return UnknownActivation(f"the activation {spec!r} is neither a name nor an object")
        class_name = spec.get("class_name")
        config = spec.get("config")
        if class_name == "function":
            module = spec.get("module")
            if not isinstance(config, str):
                return UnknownActivation("an activation function without a name")
            if isinstance(module, str) and module != "builtins" and not is_keras_module(module):
                return UnknownActivation(
                    f"custom activation '{config}' from module {module} (its code is not in the file)"
                )
            return _by_name(config, keras_major)
        if class_name == "__lambda__":
            return UnknownActivation("a lambda activation (its code is not read)")
        if config is None:  # Keras reads a null config as {}
            config = {}
        if not isinstance(config, Mapping):
            return UnknownActivation(
                f"the activation's configuration is not an object ({type(config).__name__})"
            )
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


# The activations resolved by name during one evaluation of a model: set by `kept_activations`,
# so that no state outlives the evaluation that filled it.
_KEPT: ContextVar[dict[tuple[str, int | None], ResolvedActivation] | None] = ContextVar(
    "vaecheck_kept_activations", default=None
)


@contextmanager
def kept_activations() -> Iterator[None]:
    """Within, an activation named without arguments is resolved once, and its images are kept
    for every layer that names it: a deep model applies one activation to the same interval
    layer after layer."""
    token = _KEPT.set({})
    try:
        yield
    finally:
        _KEPT.reset(token)


def _by_name(name: str, keras_major: int | None) -> ResolvedActivation:
    kept = _KEPT.get()
    if kept is None:
        return named_activation(name, Params(), keras_major)
    key = (name, keras_major)
    found = kept.get(key)
    if found is None:
        found = named_activation(name, Params(), keras_major)
        kept[key] = found
    return found


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


def is_keras_module(module: str) -> bool:
    top = module.split(".", 1)[0]
    return top in ("keras", "tf_keras", "keras_hub", "keras_cv", "keras_nlp", "tensorflow")


def prelu_function(alpha: float) -> Piecewise:
    return piecewise([0.0], lambda x0: linear_formula(1.0) if x0 > 0 else linear_formula(alpha))


def image_of_real_line(activation: Activation) -> Interval:
    if activation.image is None:
        return REAL_LINE
    return activation.image(REAL_LINE, None).interval

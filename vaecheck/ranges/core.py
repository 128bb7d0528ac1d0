"""Core layers: InputLayer, Identity, Masking, Dense, EinsumDense, Embedding, Lambda.

Dense and EinsumDense apply their activation to a pre-activation that is the real line, or x·W
+ b bounded by the saved weights over a bounded input (`weight_bounds.py`); the convolutions
take the same path (`convolutional.py`). Embedding is bounded by its saved table; a Lambda is
code, never read, unless it holds a Keras activation by name. Facts: KERAS_FACTS §5.1 (layers
with an activation argument), §5.5 (Masking injects zeros), §5.7 (opaque layers).
"""

from __future__ import annotations

from collections.abc import Mapping

from vaecheck.codomain import Codomain
from vaecheck.graph import WeightsUnavailable
from vaecheck.intervals import Interval
from vaecheck.ranges.activations import (
    ACTIVATIONS,
    ACTIVATION_ALIASES,
    Activation,
    Params,
    apply_activation,
    image_of_real_line,
    named_activation,
    resolve_activation,
)
from vaecheck.ranges.layer_call import LayerCall, Outputs, Transfer, activate_input, identity, names
from vaecheck.ranges.reshaping import pads_with_zero
from vaecheck.ranges.values import ConfigProblem, is_int
from vaecheck.ranges.weight_bounds import weighted_sum
from vaecheck.ranges.weights import KernelNotUsable, float_kernel


def input_layer(call: LayerCall) -> Outputs:
    return call.inputs[0] if call.inputs else Codomain.real_line()


def with_activation(call: LayerCall) -> Outputs:
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
        and not image_of_real_line(activation).is_bounded
    ):
        pre_activation = weighted_sum(call)
    return apply_activation(call.label, activation, pre_activation, size)


def _units(call: LayerCall) -> int | None:
    """The last-axis length of a layer with an activation argument, from its configuration."""
    config = call.config
    if call.op == "EinsumDense":
        shape = config.get("output_shape")
        last = shape[-1] if isinstance(shape, list) and shape else shape
        return last if is_int(last) else None
    if config.get("data_format") == "channels_first":
        return None
    for key in ("units", "filters"):  # DepthwiseConv has neither: its channel count is not at hand
        if is_int(config.get(key)):
            return config[key]
    return None


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
                return activate_input(call, activation)
    return Codomain.unknown(call.label, "Lambda layer (its code is not read)")


def _embedding(call: LayerCall) -> Outputs:
    """Rows of the saved embedding matrix: its smallest and largest entries bound them."""
    if call.weights is None:
        return Codomain.unknown(
            call.label, "Embedding: its vectors are in the weights file, which was not read"
        )
    try:
        (table,) = call.variables([("embeddings",)])
        values = float_kernel(table)
    except (WeightsUnavailable, KernelNotUsable) as exc:
        return Codomain.unknown(call.label, f"Embedding: its vectors cannot be read ({exc})")
    if values.size == 0:
        raise ConfigProblem("an empty embedding matrix")
    interval = Interval.closed(float(values.min()), float(values.max()))
    step = f"{call.label}: embedding rows (saved weights)"
    return Codomain(interval=interval, bounded_by=(step,))


TRANSFERS: dict[str, Transfer] = {
    "InputLayer": input_layer,
    "Identity": identity,
    "Masking": pads_with_zero("masked steps become 0"),
    **dict.fromkeys(
        names("""
            Dense EinsumDense
            """),
        with_activation,
    ),
    # opaque by nature
    "Lambda": _lambda,
    "Embedding": _embedding,
}

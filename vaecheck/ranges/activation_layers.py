"""Activation layers: Activation, ReLU, LeakyReLU, ELU, Softmax, PReLU, ThresholdedReLU.

Each is its activation's exact image of the input (`activations.py`); PReLU takes its saved
alpha when weights are read, and a masked Softmax can output 0. Facts: KERAS_FACTS §4.3 (the
activation layers and their arguments), §5.1.
"""

from __future__ import annotations

from dataclasses import replace

from vaecheck.codomain import Codomain
from vaecheck.graph import WeightsUnavailable
from vaecheck.intervals import format_bound
from vaecheck.ranges.activations import prelu_function, resolve_activation
from vaecheck.ranges.layer_call import LayerCall, Outputs, Transfer, activate_input
from vaecheck.ranges.piecewise import REAL_LINE, UNIT, union_hull
from vaecheck.ranges.values import compact, hull_all
from vaecheck.ranges.weights import KernelNotUsable, float_kernel


def _activation_layer(call: LayerCall) -> Outputs:
    activation = resolve_activation(call.config.get("activation", "linear"), call.keras_major)
    return activate_input(call, activation)


def _activation_class(call: LayerCall) -> Outputs:
    """ReLU, LeakyReLU, ELU, Softmax, PReLU, ThresholdedReLU."""
    if call.op == "PReLU" and call.weights is not None:
        with_alpha = _prelu_with_alpha(call)
        if with_alpha is not None:
            return with_alpha
    activation = resolve_activation(
        {"class_name": call.op, "config": call.config}, call.keras_major
    )
    result = activate_input(call, activation)
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
        alphas = sorted(set(float_kernel(alpha).ravel().tolist()))
    except (WeightsUnavailable, KernelNotUsable):
        return None
    if not alphas:
        return None
    assert interval is not None
    images = [union_hull(prelu_function(a).parts(interval))[0] for a in alphas]
    start = base if base.known else Codomain.real_line()
    shown = compact(alphas) if len(alphas) > 1 else format_bound(alphas[0])
    return start.with_step(hull_all(images), f"{call.label}: prelu(alpha={shown}, saved weights)")


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


TRANSFERS: dict[str, Transfer] = {
    "Activation": _activation_layer,
    **dict.fromkeys(
        ["ReLU", "LeakyReLU", "ELU", "Softmax", "PReLU", "ThresholdedReLU"], _activation_class
    ),
}

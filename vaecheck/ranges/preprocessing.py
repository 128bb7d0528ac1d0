"""Preprocessing layers that change values: Rescaling and Normalization.

Both are affine per channel, from their configuration or (an adapted Normalization) from the
saved weights. Facts: KERAS_FACTS §5.6 (affine, per channel).
"""

from __future__ import annotations

import math

import numpy as np

from vaecheck.codomain import Codomain
from vaecheck.graph import WeightsUnavailable
from vaecheck.ranges.layer_call import LayerCall, Outputs, Transfer, stepped
from vaecheck.ranges.values import ConfigProblem, array, channel_pairs, compact, hull_all, is_zero
from vaecheck.ranges.weights import float_kernel


def _rescaling(call: LayerCall) -> Outputs:
    scale, offset = call.config.get("scale", 1.0), call.config.get("offset", 0.0)
    pairs = channel_pairs(scale, offset, "Rescaling's scale and offset")
    base = call.first_input()
    if not base.known:
        return base
    image = hull_all(base.interval.affine(s, o) for s, o in pairs)
    expression = f"x*{compact(scale)}" + ("" if is_zero(offset) else f" + {compact(offset)}")
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
        mean, variance = float_kernel(saved[0]).tolist(), float_kernel(saved[1]).tolist()
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
    image = hull_all(images)
    std_text = compact(np.maximum(np.sqrt(array(variance, "variance")), 1e-7).tolist())
    expression = (
        f"x*{std_text} + {compact(mean)}" if invert else f"(x - {compact(mean)}) / {std_text}"
    )
    return stepped(base, image, f"{call.label}: {expression}{source}")


TRANSFERS: dict[str, Transfer] = {
    # affine (§5.6)
    "Rescaling": _rescaling,
    "Normalization": _normalization,
}

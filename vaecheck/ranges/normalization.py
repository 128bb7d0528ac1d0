"""Normalization layers: BatchNormalization, UnitNormalization, Layer/Group/RMSNormalization.

BatchNormalization is affine per channel with its saved statistics; UnitNormalization lies in
[-1, 1]; the others have learned scales the engine does not read, so they are unknown.
Facts: KERAS_FACTS §5.6 (affine per channel), §5.7 (range-changing or opaque layers).
"""

from __future__ import annotations

import math

import numpy as np

from vaecheck.codomain import Codomain
from vaecheck.graph import WeightsUnavailable
from vaecheck.intervals import Interval
from vaecheck.ranges.layer_call import (
    LayerCall,
    Outputs,
    Transfer,
    opaque,
    stepped,
    without_simplex,
)
from vaecheck.ranges.piecewise import REAL_LINE, ZERO
from vaecheck.ranges.values import ConfigProblem, hull_all, number
from vaecheck.ranges.weight_bounds import UNIT_ROUNDOFF_FLOAT32
from vaecheck.ranges.weights import KernelNotUsable, float_kernel


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
        saved = [float_kernel(a) for a in call.variables(expected)]
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
    return stepped(base, hull_all(images), f"{call.label}: batch normalization (saved statistics)")


def _magnitude(interval: Interval) -> float:
    return max(abs(interval.low), abs(interval.high))


def _widened(interval: Interval, slack: float) -> Interval:
    """`interval` grown by float rounding `slack` at each finite end (which it then holds)."""
    if slack == 0 or not math.isfinite(slack):
        return interval
    low = interval.low - slack if math.isfinite(interval.low) else interval.low
    high = interval.high + slack if math.isfinite(interval.high) else interval.high
    return Interval(low, high, True, True)


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
    image = hull_all(parts)
    return stepped(base if base.known else Codomain.real_line(), image, f"{call.label}: unit norm")


WEIGHTS_NOT_READ = "are learned weights, which the range engine does not interpret"


TRANSFERS: dict[str, Transfer] = {
    # affine and normalizing (§5.6, §5.7)
    "UnitNormalization": _unit_normalization,
    "BatchNormalization": _batch_normalization,
    **{
        name: opaque(f"{name}: its learned scale and offset {WEIGHTS_NOT_READ}")
        for name in ("LayerNormalization", "GroupNormalization", "RMSNormalization")
    },
}

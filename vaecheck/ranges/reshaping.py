"""Reshaping layers: Reshape, Flatten, Permute, RepeatVector, Cropping, UpSampling, ZeroPadding.

They move, repeat or pick values: the same range. Zero padding adds 0. UpSampling2D with
bicubic or Lanczos interpolation overshoots the input's range by the kernels' negative lobes,
bounded for every backend's kernel. Facts: KERAS_FACTS §5.3 (value subsets), §5.5 (layers that
inject zeros).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

from vaecheck.codomain import Codomain
from vaecheck.intervals import Interval
from vaecheck.ranges.layer_call import (
    LayerCall,
    Outputs,
    Transfer,
    names,
    stepped,
    values_subset,
    without_simplex,
)
from vaecheck.ranges.piecewise import REAL_LINE, ZERO
from vaecheck.ranges.values import ConfigProblem, is_int


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
    factors = (size, size) if is_int(size) else tuple(size) if isinstance(size, list) else ()
    if len(factors) != 2 or not all(is_int(f) and f >= 1 for f in factors):
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


def pads_with_zero(what: str) -> Transfer:
    def zero_padding(call: LayerCall) -> Outputs:
        base = without_simplex(call.first_input())
        if not base.known:
            return base
        return stepped(base, base.interval.hull(ZERO), f"{call.label}: {what}")

    return zero_padding


TRANSFERS: dict[str, Transfer] = {
    # shapes and value subsets (§5.3)
    **dict.fromkeys(
        names("""
            Reshape Flatten Permute RepeatVector Cropping1D Cropping2D Cropping3D
            UpSampling1D UpSampling3D
            """),
        values_subset,
    ),
    "UpSampling2D": _up_sampling_2d,
    "ZeroPadding1D": pads_with_zero("pads with 0"),
    "ZeroPadding2D": pads_with_zero("pads with 0"),
    "ZeroPadding3D": pads_with_zero("pads with 0"),
}

"""Bounds of x·W + b over a bounded input, from a layer's saved kernel and bias.

Dense, EinsumDense and the convolutions (plain, transposed, depthwise, separable): each output
unit is a sum over its kernel taps, bounded per column with the float32 rounding of the sum
allowed for. Over a half-open input a kernel of mixed signs reaches every value, so the
weights are not read there. Facts: KERAS_FACTS §5.1 (layers with an activation argument), §7
(kernel layouts in `model.weights.h5`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from vaecheck.codomain import Codomain
from vaecheck.graph import WeightsUnavailable
from vaecheck.intervals import Interval
from vaecheck.ranges.layer_call import LayerCall
from vaecheck.ranges.piecewise import point_interval
from vaecheck.ranges.weights import KernelNotUsable, float_kernel

UNIT_ROUNDOFF_FLOAT32 = 2.0**-24
MAX_BLOCK_ENTRIES = 1 << 22  # kernel entries handled at once, to keep the temporaries small
KERNEL_LAYERS_WITH_ZERO_INPUTS = frozenset(
    ["Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose"]  # border outputs miss some taps
)


def weighted_sum(call: LayerCall) -> Codomain:
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
    bounded = Interval(low, high, True, True) if low < high else point_interval(low)
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
        depthwise, pointwise = float_kernel(arrays[0]), float_kernel(arrays[1])
        if depthwise.ndim < 3 or pointwise.ndim < 3:
            raise KernelNotUsable("its kernels do not have the shape of a separable convolution")
        # Depthwise: one channel per (input channel, multiplier); then a Dense on those.
        lows, highs = _input_bounds(interval, depthwise.shape[0:-2], zero_inputs)
        depthwise_columns = depthwise.reshape(-1, math.prod(depthwise.shape[-2:]))
        mid_low, mid_high = linear_bounds(depthwise_columns, None, lows, highs)
        bias = float_kernel(arrays[2]) if use_bias else None
        pointwise_columns = pointwise.reshape(-1, pointwise.shape[-1])
        low, high = linear_bounds(pointwise_columns, bias, mid_low, mid_high)
        return float(low.min()), float(high.max())
    names = ("kernel", "depthwise_kernel") if op.startswith("DepthwiseConv") else ("kernel",)
    expected = [names] + ([("bias",)] if use_bias else [])
    arrays = call.variables(expected)
    kernel = float_kernel(arrays[0])
    bias = float_kernel(arrays[1]) if use_bias else None
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
    kernel = float_kernel(arrays[0])
    if kernel.ndim != len(kernel_axes):
        raise KernelNotUsable("its kernel does not match its equation")
    order = [kernel_axes.index(a) for a in summed + kept]
    columns = np.transpose(kernel, order).reshape(
        math.prod(kernel.shape[kernel_axes.index(a)] for a in summed),
        math.prod(kernel.shape[kernel_axes.index(a)] for a in kept),
    )
    bias = float_kernel(arrays[1]) if bias_axes else None
    per_column = bias is not None and bias_axes == "".join(kept) and bias.size == columns.shape[1]
    lows, highs = _input_bounds(interval, (columns.shape[0],), False)
    low, high = linear_bounds(columns, bias.ravel() if per_column else None, lows, highs)
    low_end, high_end = float(low.min()), float(high.max())
    if bias is not None and not per_column:  # any bias value may meet any column
        low_end += float(bias.min()) - UNIT_ROUNDOFF_FLOAT32 * abs(float(bias.min()))
        high_end += float(bias.max()) + UNIT_ROUNDOFF_FLOAT32 * abs(float(bias.max()))
    return low_end, high_end

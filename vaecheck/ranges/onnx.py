"""Transfer functions for ONNX operators (opsets 13 to the newest the onnx package knows).

An ONNX node reaches this table with `module` "onnx" (the default domain) or "onnx:<domain>";
its inputs are the codomains of computed tensors, `OnnxConstant`s for initializers and Constant
nodes, and None for an omitted optional input. Activations reuse the engine's exact images
(`vaecheck.ranges.activations.ACTIVATIONS`), with the parameters and defaults of the ONNX operator pages; the
facts relied on are listed in docs/onnx.md.

Weights. As for Keras, what only the saved weights bound is bounded only in the second
evaluation, with a weight ledger (`call.weights`): the initializers of Gemm, MatMul, Conv,
ConvTranspose, BatchNormalization, InstanceNormalization, LayerNormalization, PRelu and a
Gather from a table. Constants added, subtracted, multiplied or divided, Clip's bounds, Pad's
value, and Resize's parameters are architecture: they are read in both evaluations.

The runtime. Ranges hold for what onnxruntime computes in float32: where its float32 result
lands past the mathematical end (Tanh returns ±1.0000001, a float32 sum rounds), the end is
widened outward and a note says so.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from vaecheck.codomain import Codomain
from vaecheck.intervals import INF, Interval, format_bound
from vaecheck.ranges.activations import Activation, Params, apply_activation, elementwise, named_activation
from vaecheck.ranges.arithmetic import DIVISION_NOTE, reciprocal
from vaecheck.ranges.layer_call import LayerCall, Outputs, Transfer, combined, stepped, without_simplex
from vaecheck.ranges.merging import sum_of_unknown_count
from vaecheck.ranges.piecewise import REAL_LINE, piecewise, smooth
from vaecheck.ranges.values import ConfigProblem
from vaecheck.ranges.weight_bounds import linear_bounds
from vaecheck.ranges.weights import KernelNotUsable
from vaecheck.readers.onnx import ONNX_NODE, ConstantUnavailable, OnnxConstant
from vaecheck.readers.weights import WeightsUnavailable

UNIT_ROUNDOFF_FLOAT32 = 2.0**-24
ONE_ULP = 2.0**-23  # relative spacing of float32 numbers
FLOAT32_RUNTIME_NOTE = (
    "onnxruntime's float32 {op} can land a rounding step past its exact ends (tanh gives "
    "1.0000001): the range allows four such steps; the checks use the exact ends"
)
SUBGRAPH_OPS = frozenset({"If", "Loop", "Scan", "SequenceMap"})
Operand = Any  # Codomain | OnnxConstant | None


def onnx_transfer(call: LayerCall) -> Transfer:
    """The transfer function for an ONNX node (never None: an unknown operator is opaque)."""
    config = call.config
    if config.get("__onnx__") is not ONNX_NODE:
        return _opaque(f"custom layer {call.op} (module {call.module})")
    problem = config.get("__problem__")
    if isinstance(problem, str):
        return _opaque(problem)
    if call.module != "onnx":
        domain = config.get("__domain__") or call.module
        return _opaque(
            f"{call.op} is an operator of the custom domain '{domain}', whose meaning is not in "
            "the ONNX specification"
        )
    if call.op in SUBGRAPH_OPS:
        return _opaque(f"{call.op} runs a subgraph, which the range engine does not follow")
    function = ONNX_TRANSFERS.get(call.op)
    if function is None:
        return _opaque(f"the ONNX operator {call.op} is not supported by the range engine")
    return function


def _opaque(reason: str) -> Transfer:
    return lambda call: Codomain.unknown(call.label, reason)


# Operands ------------------------------------------------------------------------------------
def operand(call: LayerCall, index: int) -> Operand:
    return call.args[index] if index < len(call.args) else None


def constant_array(item: OnnxConstant) -> np.ndarray:
    try:
        return item.array()
    except (ConstantUnavailable, OSError, ValueError) as exc:
        raise ConfigProblem(str(exc)) from None


def as_codomain(item: Operand) -> Codomain:
    """A tensor's codomain, or a constant's hull (a constant is exact: no step)."""
    if isinstance(item, Codomain):
        return item
    if isinstance(item, OnnxConstant):
        values = constant_array(item)
        if values.size == 0:
            raise ConfigProblem(f"the constant '{item.name}' is empty")
        if values.dtype.kind not in "fiub":
            raise ConfigProblem(f"the constant '{item.name}' does not hold numbers")
        values = values.astype(np.float64)
        if np.isnan(values).any():
            return Codomain.unknown(item.name, "the constant holds NaN")
        return Codomain(interval=Interval.closed(float(values.min()), float(values.max())))
    raise ConfigProblem("a required input is missing")


def first_codomain(call: LayerCall) -> Codomain:
    return as_codomain(operand(call, 0))


def float_constant(item: Operand, what: str) -> np.ndarray:
    if not isinstance(item, OnnxConstant):
        raise KernelNotUsable(f"its {what} is computed, not an initializer")
    values = constant_array(item)
    if values.dtype.kind != "f":
        raise KernelNotUsable(f"its {what} holds {values.dtype} values, not floats")
    result = values.astype(np.float64)
    if not np.isfinite(result).all():
        raise KernelNotUsable(f"its {what} holds inf or nan")
    return result


def scalar_constant(item: Operand, what: str, default: float | None = None) -> float | None:
    if item is None:
        return default
    if not isinstance(item, OnnxConstant):
        raise ConfigProblem(f"its {what} is computed, not a constant")
    values = constant_array(item).astype(np.float64).ravel()
    if values.size != 1:
        raise ConfigProblem(f"its {what} is not a single number")
    return float(values[0])


def input_shape(call: LayerCall, index: int = 0) -> tuple[int | None, ...] | None:
    shapes = call.config.get("__input_shapes__")
    if isinstance(shapes, list) and index < len(shapes) and shapes[index] is not None:
        return tuple(shapes[index])
    item = operand(call, index)
    if isinstance(item, OnnxConstant):
        return item.dims
    return None


def use_weights(call: LayerCall) -> None:
    """Record that this node's initializers bound the range; raises without a ledger."""
    if call.weights is None:
        raise WeightsUnavailable("the architecture alone is being evaluated")
    call.weights.used[call.node.id] = call.label


def weight_failure(call: LayerCall, reason: str) -> Codomain:
    if call.weights is not None:
        call.weights.failed.setdefault(call.node.id, (call.label, reason))
    return Codomain.real_line()


def outward(interval: Interval, relative: float = ONE_ULP) -> Interval:
    """`interval` widened past each finite end by `relative` of its size (float32 rounding).

    An end keeps its kind: the widening is larger than the rounding it covers, so an open end
    stays unreached. An end at 0 does not move (float32 rounds no value across 0).
    """
    low, high = interval.low, interval.high
    if math.isfinite(low):
        low -= abs(low) * relative
    if math.isfinite(high):
        high += abs(high) * relative
    return Interval(low, high, interval.low_closed, interval.high_closed)


# Activations ---------------------------------------------------------------------------------
# onnxruntime's float32 activations land up to a rounding step past their exact ends (Tanh and
# Sigmoid reach 1.0000001, Mish and Gelu dip 2e-8 below their minima): four steps cover it.
RUNTIME_SLACK = 4 * ONE_ULP


def _activation(build: Callable[[LayerCall], Activation], runtime_slack: bool = True) -> Transfer:
    def transfer(call: LayerCall) -> Outputs:
        base = first_codomain(call)
        activation = build(call)
        size = None
        if activation.axis is not None:
            size = _axis_size(call, activation.axis)
        result = apply_activation(call.label, activation, base, size)
        if runtime_slack and result.interval is not None:
            widened = outward(result.interval, RUNTIME_SLACK)
            if widened != result.interval:
                result = stepped_interval(result, widened)
                note = FLOAT32_RUNTIME_NOTE.format(op=call.op)
                if note not in result.notes:
                    result = result.with_note(note)
        return result

    return transfer


def stepped_interval(codomain: Codomain, interval: Interval) -> Codomain:
    return replace(codomain, interval=interval)


def _axis_size(call: LayerCall, axis: Any) -> int | None:
    shape = input_shape(call)
    if shape is None or not isinstance(axis, int):
        return None
    if not -len(shape) <= axis < len(shape):
        raise ConfigProblem(f"axis {axis} is outside the input's {len(shape)} dimensions")
    return shape[axis]


def _named(name: str, **params: Any) -> Callable[[LayerCall], Activation]:
    def build(_call: LayerCall) -> Activation:
        resolved = named_activation(name, Params(params), 3)
        if not isinstance(resolved, Activation):
            raise ConfigProblem(resolved.reason)
        return resolved

    return build


def _with_attribute(name: str, key: str, attribute: str, default: float) -> Callable[[LayerCall], Activation]:
    def build(call: LayerCall) -> Activation:
        value = call.config.get(attribute, default)
        resolved = named_activation(name, Params({key: float(value)}), 3)
        if not isinstance(resolved, Activation):
            raise ConfigProblem(resolved.reason)
        return resolved

    return build


def _selu(call: LayerCall) -> Activation:
    # ONNX's defaults are the float32 roundings of SELU's constants.
    alpha = float(call.config.get("alpha", 1.67326319217681884765625))
    gamma = float(call.config.get("gamma", 1.05070102214813232421875))
    def negative(x: float) -> float:
        return gamma * alpha * math.expm1(max(x, -745.0))

    function = piecewise([0.0], lambda x0: (lambda x: gamma * x) if x0 > 0 else negative)
    return elementwise("selu", function)


def _hard_sigmoid(call: LayerCall) -> Activation:
    alpha = float(call.config.get("alpha", 0.2))
    beta = float(call.config.get("beta", 0.5))

    def image(interval: Interval, _size: int | None) -> Any:
        from vaecheck.ranges.activations import Image

        return Image(interval.affine(alpha, beta).clip(0.0, 1.0) if alpha else Interval.point(min(max(beta, 0.0), 1.0)))

    return Activation(f"hard_sigmoid(alpha={format_bound(alpha)}, beta={format_bound(beta)})", image)


def _gelu(call: LayerCall) -> Activation:
    approximate = call.config.get("approximate", "none") == "tanh"
    return _named("gelu", approximate=approximate)(call)


def _softmax(log: bool) -> Callable[[LayerCall], Activation]:
    def build(call: LayerCall) -> Activation:
        axis = call.config.get("axis", -1)
        return _named("log_softmax" if log else "softmax", axis=axis)(call)

    return build


ERF = elementwise("erf", smooth(math.erf, -1.0, 1.0))
ABS = elementwise("abs", piecewise([0.0], lambda x0: (lambda x: -x) if x0 < 0 else (lambda x: x)))
NEG = elementwise("neg", smooth(lambda x: -x, INF, -INF))
SQRT = elementwise("sqrt", smooth(lambda x: math.sqrt(x) if x < INF else INF, 0.0, INF))


def _prelu(call: LayerCall) -> Outputs:
    base = first_codomain(call)
    interval = base.interval if base.known else REAL_LINE
    if interval.low >= 0:  # x itself, whatever the slope
        return stepped(base, interval, f"{call.label}: prelu")
    try:
        use_weights(call)
        slopes = float_constant(operand(call, 1), "slope")
    except WeightsUnavailable:
        return Codomain.real_line()
    except KernelNotUsable as exc:
        return weight_failure(call, str(exc))
    parts = []
    for slope in {float(slopes.min()), float(slopes.max())}:
        function = piecewise([0.0], lambda x0, s=slope: (lambda x: x) if x0 > 0 else (lambda x: s * x))
        parts.extend(function.parts(interval))
    hull = parts[0]
    for part in parts[1:]:
        hull = hull.hull(part)
    # slope * x rounds in float32: one step past the exact product at most.
    return base.with_step(outward(hull, RUNTIME_SLACK), f"{call.label}: prelu (saved slope)", reset=True)


def _clip(call: LayerCall) -> Outputs:
    base = first_codomain(call)
    bounds = []
    for index in (1, 2):
        item = operand(call, index)
        if item is None:
            bounds.append(None)
            continue
        codomain = as_codomain(item)
        if not codomain.known:
            return codomain
        bounds.append(codomain.interval)
    interval = base.interval if base.known else REAL_LINE
    if not base.known and bounds[0] is None and bounds[1] is None:
        return base
    lows = (bounds[0].low, bounds[0].high) if bounds[0] is not None else (-INF,)
    highs = (bounds[1].low, bounds[1].high) if bounds[1] is not None else (INF,)
    image = None
    for low in lows:
        for high in highs:
            part = interval.clip(low, high)
            image = part if image is None else image.hull(part)
    assert image is not None
    shown = ", ".join(
        "-" if b is None else (format_bound(b.low) if b.low == b.high else str(b)) for b in bounds
    )
    if base.known:
        return stepped(base, image, f"{call.label}: clip({shown})")
    return Codomain(interval=image, bounded_by=(f"{call.label}: clip({shown})",))


# Structure -----------------------------------------------------------------------------------
def _same_values(call: LayerCall) -> Outputs:
    """Moves, repeats or picks values: the same range (a softmax's simplex may not survive)."""
    result = first_codomain(call)
    count = int(call.config.get("__outputs__", 1) or 1)
    keeps_simplex = call.op in ("Identity", "Dropout")
    result = result if keeps_simplex else without_simplex(result)
    if count > 1:
        return tuple([result] * count)
    return result


def _dropout(call: LayerCall) -> Outputs:
    training = operand(call, 2)
    if training is not None and (not isinstance(training, OnnxConstant) or constant_array(training).any()):
        return Codomain.unknown(call.label, "Dropout may run in training mode (training_mode input)")
    result = first_codomain(call)
    if int(call.config.get("__outputs__", 1) or 1) > 1:  # the mask: booleans
        return (result, Codomain(interval=Interval.closed(0.0, 1.0)))
    return result


def _split(call: LayerCall) -> Outputs:
    result = without_simplex(first_codomain(call))
    return tuple([result] * max(1, int(call.config.get("__outputs__", 1) or 1)))


def _concat(call: LayerCall) -> Outputs:
    parts = [as_codomain(item) for item in call.args if item is not None]
    unknown = next((p for p in parts if not p.known), None)
    if unknown is not None:
        return unknown
    hull = parts[0].interval
    for part in parts[1:]:
        hull = hull.hull(part.interval)
    tensors = [p for p in parts if p.bounded_by or p.notes]
    if len(parts) == 1:
        return without_simplex(parts[0])
    return combined(tensors, hull, f"{call.label}: concat" if hull != parts[0].interval else None)


def _pad(call: LayerCall) -> Outputs:
    base = first_codomain(call)
    mode = call.config.get("mode", "constant")
    if mode != "constant" or not base.known:
        return without_simplex(base)
    value = scalar_constant(operand(call, 2), "constant value", 0.0)
    assert value is not None
    return stepped(base, base.interval.hull(Interval.point(value)), f"{call.label}: pad with {format_bound(value)}")


def _gather(call: LayerCall) -> Outputs:
    data = operand(call, 0)
    if isinstance(data, OnnxConstant) and data.size > 1 and np.issubdtype(constant_array(data).dtype, np.floating):
        try:
            use_weights(call)
        except WeightsUnavailable:
            return Codomain.real_line()
        table = as_codomain(data)
        return table.with_step(table.interval, f"{call.label}: gather from a saved table")
    return without_simplex(as_codomain(data))


def _cast(call: LayerCall) -> Outputs:
    base = first_codomain(call)
    target = call.config.get("to")
    if not base.known:
        return base
    interval = base.interval
    if target in (1, 11):
        return base
    if target == 10:  # float16: rounds to 11 bits, overflows past 65504
        widened = outward(interval, 2.0**-11)
        if widened.high > 65504 or widened.low < -65504:
            widened = Interval(
                -INF if widened.low < -65504 else widened.low,
                INF if widened.high > 65504 else widened.high,
                widened.low_closed, widened.high_closed,
            )
        return stepped(base, widened, f"{call.label}: cast to float16")
    if target == 9:
        values = Interval.closed(0.0, 1.0)
        if not interval.contains(0.0):
            values = Interval.point(1.0)
        elif interval.low == interval.high == 0:
            values = Interval.point(0.0)
        return stepped(base, values, f"{call.label}: cast to bool")
    limits = {2: (0, 255), 3: (-128, 127), 4: (0, 65535), 5: (-32768, 32767), 6: (-(2**31), 2**31 - 1), 7: (-(2**63), 2**63 - 1), 12: (0, 2**32 - 1), 13: (0, 2**64 - 1)}
    if target in limits:
        low, high = limits[target]
        if not (low <= interval.low and interval.high <= high) or not interval.is_bounded:
            return Codomain.unknown(call.label, "a cast to integers of values past the integer type's range")
        truncated = Interval.closed(float(math.trunc(interval.low)), float(math.trunc(interval.high)))
        return stepped(base, truncated, f"{call.label}: cast to integers")
    return Codomain.unknown(call.label, f"Cast to type {target} is not supported by the range engine")


# Arithmetic ----------------------------------------------------------------------------------
def _arithmetic(operation: Callable[[Interval, Interval], Interval], symbol: str, divides: bool = False) -> Transfer:
    def transfer(call: LayerCall) -> Outputs:
        items = [operand(call, 0), operand(call, 1)]
        parts = [as_codomain(item) for item in items]
        unknown = next((p for p in parts if not p.known), None)
        if unknown is not None:
            return unknown
        a, b = parts[0].interval, parts[1].interval
        notes = []
        if divides and (b.low <= 0 <= b.high):
            notes.append(DIVISION_NOTE)
        interval = outward(operation(a, b), ONE_ULP)
        shown = [
            _constant_text(p.interval) if isinstance(item, OnnxConstant) else "x"
            for item, p in zip(items, parts)
        ]
        tensors = [p for item, p in zip(items, parts) if not isinstance(item, OnnxConstant)]
        return combined(tensors, interval, f"{call.label}: {f' {symbol} '.join(shown)}", notes)

    return transfer


def _constant_text(interval: Interval) -> str:
    return format_bound(interval.low) if interval.low == interval.high else str(interval)


def _divide(a: Interval, b: Interval) -> Interval:
    return a * reciprocal(b)


def _variadic(operation: Callable[[Interval, Interval], Interval], name: str) -> Transfer:
    def transfer(call: LayerCall) -> Outputs:
        parts = [as_codomain(item) for item in call.args if item is not None]
        unknown = next((p for p in parts if not p.known), None)
        if unknown is not None:
            return unknown
        interval = parts[0].interval
        for part in parts[1:]:
            interval = operation(interval, part.interval)
        if len(parts) == 1:
            return without_simplex(parts[0])
        return combined(parts, outward(interval), f"{call.label}: {name}")

    return transfer


def _mean(call: LayerCall) -> Outputs:
    return _variadic(Interval.hull, "mean")(call)


def _reduce_sum(call: LayerCall) -> Outputs:
    base = first_codomain(call)
    if not base.known:
        return base
    return stepped(base, sum_of_unknown_count(base.interval), f"{call.label}: sum")


def _reciprocal(call: LayerCall) -> Outputs:
    base = first_codomain(call)
    if not base.known:
        return base
    interval = base.interval
    note = DIVISION_NOTE if interval.low <= 0 <= interval.high else None
    return stepped(base, outward(reciprocal(interval)), f"{call.label}: reciprocal", note)


# Weighted sums -------------------------------------------------------------------------------
def _bounded_input(call: LayerCall, index: int = 0) -> tuple[Codomain, Interval] | None:
    base = as_codomain(operand(call, index))
    if not base.known or not base.interval.is_bounded:
        return None
    return base, base.interval


def _weighted(call: LayerCall, bounds: Callable[[Interval], tuple[float, float]], step: str, index: int = 0) -> Outputs:
    """A weighted sum of the input at `index` with saved weights, over its bounded range."""
    found = _bounded_input(call, index)
    base = as_codomain(operand(call, index))
    if not base.known and call.weights is None:
        return Codomain.real_line()
    if found is None:
        return Codomain.real_line()
    base, interval = found
    try:
        use_weights(call)
        low, high = bounds(interval)
    except WeightsUnavailable:
        return Codomain.real_line()
    except (KernelNotUsable, ConfigProblem) as exc:
        return weight_failure(call, str(exc))
    if not (math.isfinite(low) and math.isfinite(high)):
        return Codomain.real_line()
    result = Interval.point(low) if low >= high else Interval(low, high, True, True)
    return base.with_step(result, f"{call.label}: {step} (saved weights)")


def _columns_bounds(columns: np.ndarray, bias_low: np.ndarray | float, bias_high: np.ndarray | float, interval: Interval, zero_inputs: bool = False) -> tuple[float, float]:
    low, high = interval.low, interval.high
    if zero_inputs:
        low, high = min(low, 0.0), max(high, 0.0)
    rows = columns.shape[0]
    lows, highs = np.full(rows, low), np.full(rows, high)
    column_low, column_high = linear_bounds(columns, None, lows, highs)
    out_low = column_low + bias_low
    out_high = column_high + bias_high
    slack = (np.abs(out_low) + np.abs(out_high)) * UNIT_ROUNDOFF_FLOAT32 * 2
    return float((out_low - slack).min()), float((out_high + slack).max())


def _bias_per_column(bias: np.ndarray | None, width: int) -> tuple[np.ndarray | float, np.ndarray | float]:
    if bias is None:
        return 0.0, 0.0
    if bias.ndim == 0 or bias.size == 1:
        value = float(bias.ravel()[0])
        return value, value
    if bias.shape[-1] == width:
        flat = bias.reshape(-1, width)
        return flat.min(axis=0), flat.max(axis=0)
    if bias.shape[-1] == 1:
        return float(bias.min()), float(bias.max())
    raise KernelNotUsable("its bias does not match its weights")


def _gemm(call: LayerCall) -> Outputs:
    alpha = float(call.config.get("alpha", 1.0))
    beta = float(call.config.get("beta", 1.0))
    a, b, c = operand(call, 0), operand(call, 1), operand(call, 2)
    if isinstance(a, OnnxConstant) and not isinstance(b, OnnxConstant):
        return _weighted_operation(call, 1, a, c, alpha, beta, weights_first=True, transpose=bool(call.config.get("transA", 0)))
    if isinstance(b, OnnxConstant):
        return _weighted_operation(call, 0, b, c, alpha, beta, weights_first=False, transpose=bool(call.config.get("transB", 0)))
    return _product_of_tensors(call, c, alpha, beta)


def _matmul(call: LayerCall) -> Outputs:
    a, b = operand(call, 0), operand(call, 1)
    if isinstance(b, OnnxConstant):
        return _weighted_operation(call, 0, b, None, 1.0, 1.0, weights_first=False, transpose=False)
    if isinstance(a, OnnxConstant):
        return _weighted_operation(call, 1, a, None, 1.0, 1.0, weights_first=True, transpose=False)
    return _product_of_tensors(call, None, 1.0, 1.0)


def _weighted_operation(call: LayerCall, index: int, weights: OnnxConstant, bias: Operand, alpha: float, beta: float, *, weights_first: bool, transpose: bool) -> Outputs:
    def bounds(interval: Interval) -> tuple[float, float]:
        matrix = float_constant(weights, "weight matrix")
        if matrix.ndim < 2:
            raise KernelNotUsable("its weights are not a matrix")
        if transpose:
            matrix = np.swapaxes(matrix, -1, -2)
        if weights_first:  # W @ x: output row i sums W[i, k] x[k]
            matrix = np.swapaxes(matrix, -1, -2)
        # A batch of matrices: every one's columns, side by side.
        columns = np.moveaxis(matrix.reshape(-1, *matrix.shape[-2:]), 0, -2).reshape(matrix.shape[-2], -1)
        columns = columns * alpha
        bias_values = float_constant(bias, "bias") * beta if bias is not None else None
        if bias_values is not None and (weights_first or matrix.ndim != 2):
            bias_low, bias_high = float(bias_values.min()), float(bias_values.max())
        else:
            bias_low, bias_high = _bias_per_column(bias_values, columns.shape[1])
        return _columns_bounds(columns, bias_low, bias_high, interval)

    return _weighted(call, bounds, "x·W + b", index)


def _product_of_tensors(call: LayerCall, bias: Operand, alpha: float, beta: float) -> Outputs:
    a, b = as_codomain(operand(call, 0)), as_codomain(operand(call, 1))
    for part in (a, b):
        if not part.known:
            return part
    shape = input_shape(call, 0)
    count = shape[-1] if shape else None
    term = a.interval * b.interval
    if count is not None and term.is_bounded:
        total = Interval(term.low * count, term.high * count, term.low_closed, term.high_closed)
    else:
        total = sum_of_unknown_count(term)
    total = total.scale(alpha) if alpha != 1 else total
    if bias is not None:
        c = as_codomain(bias)
        if not c.known:
            return c
        total = total + c.interval.scale(beta)
    return combined([a, b], outward(total, 4 * ONE_ULP), f"{call.label}: product of tensors")


def _conv(transpose: bool) -> Transfer:
    def transfer(call: LayerCall) -> Outputs:
        def bounds(interval: Interval) -> tuple[float, float]:
            kernel = float_constant(operand(call, 1), "kernel")
            if kernel.ndim < 3:
                raise KernelNotUsable("its kernel does not have the shape of a convolution")
            group = int(call.config.get("group", 1) or 1)
            bias = float_constant(operand(call, 2), "bias") if operand(call, 2) is not None else None
            if transpose:
                # W is (C, M/group, k...): output channel g*M/group + m sums W[c in g, m].
                channels, per_group = kernel.shape[0], kernel.shape[1]
                if channels % group:
                    raise KernelNotUsable("its kernel does not divide into its groups")
                blocks = [
                    np.moveaxis(kernel[g * channels // group : (g + 1) * channels // group], 1, 0).reshape(per_group, -1)
                    for g in range(group)
                ]
                rows = np.concatenate(blocks, axis=0)  # (M, taps)
                zero_inputs = True  # an output may miss some taps at the borders
            else:
                rows = kernel.reshape(kernel.shape[0], -1)  # (M, taps per output)
                pads = call.config.get("pads", [])
                auto = call.config.get("auto_pad", "NOTSET")
                zero_inputs = (isinstance(pads, list) and any(pads)) or auto in ("SAME_UPPER", "SAME_LOWER")
            if bias is not None and bias.shape != (rows.shape[0],):
                raise KernelNotUsable("its bias does not match its kernel")
            columns = rows.T
            low, high = (bias, bias) if bias is not None else (0.0, 0.0)
            return _columns_bounds(columns, low, high, interval, zero_inputs)

        return _weighted(call, bounds, "convolution" if not transpose else "transposed convolution")

    return transfer


def _batch_normalization(call: LayerCall) -> Outputs:
    if int(call.config.get("training_mode", 0) or 0):
        return Codomain.unknown(call.label, "BatchNormalization in training mode")

    def bounds(interval: Interval) -> tuple[float, float]:
        scale = float_constant(operand(call, 1), "scale")
        bias = float_constant(operand(call, 2), "bias")
        mean = float_constant(operand(call, 3), "mean")
        var = float_constant(operand(call, 4), "variance")
        epsilon = float(call.config.get("epsilon", 1e-5))
        slope = scale / np.sqrt(np.maximum(var, 0.0) + epsilon)
        offset = bias - mean * slope
        ends = np.stack([slope * interval.low, slope * interval.high])
        low = ends.min(axis=0) + offset
        high = ends.max(axis=0) + offset
        slack = (np.abs(ends).max(axis=0) + np.abs(offset) + np.abs(bias)) * 4 * UNIT_ROUNDOFF_FLOAT32
        return float((low - slack).min()), float((high + slack).max())

    outputs = _weighted(call, bounds, "batch normalization")
    extra = int(call.config.get("__outputs__", 1) or 1)
    return outputs if extra == 1 else (outputs, *[Codomain.unknown(call.label, "running statistics")] * (extra - 1))


def _normalized_bound(call: LayerCall, interval: Interval, count: int | None, epsilon: float) -> float:
    """How far a normalized value can lie from 0, as the runtime computes it in float32.

    Exactly, |x - mean| / std <= sqrt(n - 1) (population std, Samuelson's inequality), and eps
    only shrinks it. In float32 the variance loses digits when the inputs share an offset large
    beside their spread; then only |x - mean| <= spread and std >= sqrt(eps) remain.
    """
    spread = interval.high - interval.low
    if spread == 0:
        return 0.0
    by_spread = spread / math.sqrt(epsilon) if epsilon > 0 else INF
    if count is None:
        return by_spread
    offset = max(abs(interval.low), abs(interval.high)) / spread
    relative_error = 8 * UNIT_ROUNDOFF_FLOAT32 * (1 + offset * offset) * count
    if relative_error > 0.01:
        return by_spread
    return min(math.sqrt(max(count - 1, 0)) * (1 + relative_error) * (1 + 1e-6), by_spread)


def _normalization(layer: bool) -> Transfer:
    def transfer(call: LayerCall) -> Outputs:
        shape = input_shape(call)
        if layer:
            axis = int(call.config.get("axis", -1))
            dims = shape[axis:] if shape is not None and -len(shape) <= axis < len(shape) else None
        else:
            dims = shape[2:] if shape is not None else None
        count = math.prod(dims) if dims is not None and None not in dims else None  # type: ignore[arg-type]
        epsilon = float(call.config.get("epsilon", 1e-5))

        def bounds(interval: Interval) -> tuple[float, float]:
            scale = float_constant(operand(call, 1), "scale")
            bias = float_constant(operand(call, 2), "bias") if operand(call, 2) is not None else np.zeros(1)
            reach = _normalized_bound(call, interval, count, epsilon)
            if not math.isfinite(reach):
                raise KernelNotUsable("the spread of its input is not bounded")
            magnitude = float(np.abs(scale).max()) * reach
            low = float(bias.min()) - magnitude
            high = float(bias.max()) + magnitude
            slack = (magnitude + float(np.abs(bias).max())) * 8 * UNIT_ROUNDOFF_FLOAT32
            return low - slack, high + slack

        result = _weighted(call, bounds, "layer normalization" if layer else "instance normalization")
        extra = int(call.config.get("__outputs__", 1) or 1)
        return result if extra == 1 else (result, *[Codomain.unknown(call.label, "mean and inverse deviation outputs")] * (extra - 1))

    return transfer


# Pooling and resizing ------------------------------------------------------------------------
def mixed(base: Codomain, interval: Interval, terms: int | None) -> Codomain:
    """A weighted mean of values in `interval`, as float32 computes it: the rounding of a sum
    of n terms is at most about n units of roundoff times the largest magnitude, so each end
    moves out by that (a linear Resize of values >= c can return c less a rounding step)."""
    if not interval.is_bounded:
        return replace(base, interval=interval) if base.interval != interval else base
    magnitude = max(abs(interval.low), abs(interval.high))
    slack = ((terms or 64) + 4) * UNIT_ROUNDOFF_FLOAT32 * magnitude
    widened = Interval(interval.low - slack, interval.high + slack, interval.low_closed, interval.high_closed)
    return replace(without_simplex(base), interval=widened)


def _pool_terms(call: LayerCall) -> int | None:
    kernel = call.config.get("kernel_shape")
    if isinstance(kernel, list) and kernel and all(isinstance(k, int) for k in kernel):
        return math.prod(kernel)
    return None


def _average_pool(call: LayerCall) -> Outputs:
    base = without_simplex(first_codomain(call))
    if not base.known:
        return base
    pads = call.config.get("pads", [])
    padded = (isinstance(pads, list) and any(pads)) or call.config.get("auto_pad", "NOTSET") in ("SAME_UPPER", "SAME_LOWER")
    interval = base.interval
    if padded and int(call.config.get("count_include_pad", 0) or 0):
        base = stepped(base, interval.hull(Interval.point(0.0)), f"{call.label}: average with zero padding")
        interval = base.interval
    return mixed(base, interval, _pool_terms(call))


def _global_average(call: LayerCall) -> Outputs:
    base = without_simplex(first_codomain(call))
    if not base.known:
        return base
    shape = input_shape(call)
    reduced = (shape[2:] if call.op == "GlobalAveragePool" else shape[1:]) if shape is not None else None
    terms = math.prod(reduced) if reduced is not None and None not in reduced else None  # type: ignore[arg-type]
    if terms is None:
        terms = 1 << 20  # an unknown image size: a generous count
    return mixed(base, base.interval, terms)


def _keys_weights(a: float, t: float) -> np.ndarray:
    def kernel(x: float) -> float:
        x = abs(x)
        if x <= 1:
            return (a + 2) * x**3 - (a + 3) * x**2 + 1
        if x < 2:
            return a * x**3 - 5 * a * x**2 + 8 * a * x - 4 * a
        return 0.0

    return np.array([kernel(1 + t), kernel(t), kernel(1 - t), kernel(2 - t)])


def cubic_negative_mass(a: float, exclude_outside: bool) -> float:
    """The largest sum of negative weights (over weights summing to 1) of the 1-D cubic
    resampler with coefficient `a`, over every phase and, with exclude_outside, every run of
    taps kept at a border (renormalized to sum to 1)."""
    worst = 0.0
    # The taps inside the image are a contiguous run of the four.
    subsets = (0b0011, 0b0110, 0b1100, 0b0111, 0b1110, 0b1111) if exclude_outside else (0b1111,)
    for t in np.linspace(0.0, 1.0, 1025)[:-1]:
        weights = _keys_weights(a, float(t))
        for mask in subsets:
            kept = weights[[bool(mask >> i & 1) for i in range(4)]]
            total = kept.sum()
            if total <= 1e-9:
                continue
            worst = max(worst, float(-kept[kept < 0].sum() / total))
    return worst * (1 + 1e-3) + 1e-9  # the phase grid is fine; this covers between its points


def _resize(call: LayerCall) -> Outputs:
    base = without_simplex(first_codomain(call))
    mode = call.config.get("mode", "nearest")
    if mode == "nearest" or not base.known:
        return base
    if mode == "linear":  # weights >= 0 summing to 1: a mean, up to float32 rounding
        return mixed(base, base.interval, 16)
    if mode != "cubic":
        return Codomain.unknown(call.label, f"Resize mode {mode!r} is not one vaecheck knows")
    if int(call.config.get("antialias", 0) or 0):
        return Codomain.unknown(call.label, "cubic Resize with antialias: its stretched kernel is not bounded here")
    dims = _resized_dims(call)
    if dims is None:
        return Codomain.unknown(call.label, "cubic Resize whose resized axes cannot be told")
    a = float(call.config.get("cubic_coeff_a", -0.75))
    negative = cubic_negative_mass(a, bool(int(call.config.get("exclude_outside", 0) or 0)))
    overshoot = ((1 + 2 * negative) ** dims - 1) / 2
    interval = base.interval
    spread = interval.high - interval.low
    widened = Interval(interval.low - overshoot * spread, interval.high + overshoot * spread, True, True) if spread else interval
    resized = stepped(base, widened, f"{call.label}: cubic resize (overshoots by up to {overshoot:.3g} × the spread)")
    return mixed(resized, widened, 4**dims)


def _resized_dims(call: LayerCall) -> int | None:
    scales, sizes = operand(call, 2), operand(call, 3)
    if isinstance(scales, OnnxConstant) and scales.size:
        return int(np.count_nonzero(constant_array(scales) != 1))
    shape = input_shape(call)
    if isinstance(sizes, OnnxConstant) and sizes.size:
        values = constant_array(sizes).ravel().tolist()
        if shape is not None and len(shape) == len(values):
            return sum(1 for s, v in zip(shape, values) if s is None or s != v)
        return len(values)
    return len(shape) if shape is not None else None


def _input(call: LayerCall) -> Outputs:
    return Codomain.real_line()


ONNX_TRANSFERS: dict[str, Transfer] = {
    "Input": _input,
    # Activations (exact images from the engine's table)
    "Relu": _activation(_named("relu")),
    "LeakyRelu": _activation(_with_attribute("leaky_relu", "negative_slope", "alpha", 0.01)),
    "Elu": _activation(_with_attribute("elu", "alpha", "alpha", 1.0)),
    "Celu": _activation(_with_attribute("celu", "alpha", "alpha", 1.0)),
    "Selu": _activation(_selu),
    "Sigmoid": _activation(_named("sigmoid")),
    "HardSigmoid": _activation(_hard_sigmoid),
    "HardSwish": _activation(_named("hard_silu")),
    "Tanh": _activation(_named("tanh")),
    "Softplus": _activation(_named("softplus")),
    "Softsign": _activation(_named("softsign")),
    "Gelu": _activation(_gelu),
    "Mish": _activation(_named("mish")),
    "Softmax": _activation(_softmax(log=False)),
    "LogSoftmax": _activation(_softmax(log=True)),
    "Exp": _activation(_named("exponential")),
    "Erf": _activation(lambda _call: ERF),
    "Abs": _activation(lambda _call: ABS),
    "Neg": _activation(lambda _call: NEG),
    "Sqrt": _activation(lambda _call: SQRT),
    "PRelu": _prelu,
    "Clip": _clip,
    # Structure
    **dict.fromkeys(
        "Reshape Flatten Transpose Squeeze Unsqueeze Identity Slice Expand Tile "
        "DepthToSpace SpaceToDepth MaxPool GlobalMaxPool ReduceMax ReduceMin".split(),
        _same_values,
    ),
    "Dropout": _dropout,
    "Split": _split,
    "Concat": _concat,
    "Pad": _pad,
    "Gather": _gather,
    "Cast": _cast,
    # Arithmetic
    "Add": _arithmetic(Interval.__add__, "+"),
    "Sub": _arithmetic(Interval.__sub__, "-"),
    "Mul": _arithmetic(Interval.__mul__, "*"),
    "Div": _arithmetic(_divide, "/", divides=True),
    "Sum": _variadic(Interval.__add__, "sum"),
    "Max": _variadic(Interval.maximum, "max"),
    "Min": _variadic(Interval.minimum, "min"),
    "Mean": _mean,
    "ReduceSum": _reduce_sum,
    "Reciprocal": _reciprocal,
    # Affine with initializers
    "Gemm": _gemm,
    "MatMul": _matmul,
    "Conv": _conv(transpose=False),
    "ConvTranspose": _conv(transpose=True),
    "BatchNormalization": _batch_normalization,
    "InstanceNormalization": _normalization(layer=False),
    "LayerNormalization": _normalization(layer=True),
    # Pooling and resizing
    "AveragePool": _average_pool,
    "GlobalAveragePool": _global_average,
    "ReduceMean": _global_average,
    "Resize": _resize,
}


def supported_operators() -> Sequence[str]:
    return sorted(op for op in ONNX_TRANSFERS if op != "Input")

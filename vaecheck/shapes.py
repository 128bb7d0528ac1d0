"""Output shapes, as far as the configuration states them.

Keras 3 records the shape of every tensor a layer consumes, so most shapes are read, not
computed; the model's final tensors are consumed by nothing and are derived here from the layer
that makes them. A shape that cannot be derived is None and is never guessed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from vaecheck.graph import Graph, Node, TensorRef

Shape = tuple[int | None, ...]

# Layers whose output has the shape of their (first) input.
SAME_SHAPE = frozenset(
    {
        "Activation", "ReLU", "LeakyReLU", "ELU", "PReLU", "Softmax", "ThresholdedReLU",
        "Rescaling", "Normalization", "BatchNormalization", "LayerNormalization",
        "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise",
        "GaussianDropout", "AlphaDropout", "ActivityRegularization", "Identity", "Masking",
        "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "InputLayer",
        "UnitNormalization", "GroupNormalization", "RMSNormalization",
        "Sigmoid", "Tanh", "Relu", "Relu6", "Abs", "Exp", "Clip", "Negative", "Divide",
        "TrueDivide", "Square", "Sqrt", "Log", "Softplus",
    }
)
CONVOLUTIONS = frozenset(
    f"Conv{n}D{t}" for n in (1, 2, 3) for t in ("", "Transpose")
)
MAX_DEPTH = 400


def output_shape(graph: Graph, ref: TensorRef) -> Shape | None:
    return _shape(graph, ref, depth=0)


def _shape(graph: Graph, ref: TensorRef, depth: int) -> Shape | None:
    if ref in graph.shapes:
        return graph.shapes[ref]
    if depth > MAX_DEPTH or ref.node not in graph.nodes or ref.index != 0:
        return None
    node = graph.nodes[ref.node]
    inputs = node.tensor_inputs()
    if not inputs:
        return None
    first = _shape(graph, inputs[0], depth + 1)
    if first is None:
        return None
    config = node.config
    op = node.op
    if op in SAME_SHAPE:
        return first
    if op in ("Dense", "EinsumDense") and isinstance(config.get("units"), int):
        return first[:-1] + (config["units"],)
    if op == "Reshape" and isinstance(config.get("target_shape"), list):
        return _reshape(first, config["target_shape"])
    if op == "Flatten":
        rest = first[1:]
        return first[:1] + ((math.prod(rest) if None not in rest else None),)  # type: ignore[arg-type]
    if op in CONVOLUTIONS:
        return _conv(first, config, transpose=op.endswith("Transpose"))
    return None


def _reshape(source: Shape, target: list[Any]) -> Shape | None:
    dims = [d if isinstance(d, int) else None for d in target]
    if -1 in dims:
        known = math.prod(d for d in dims if d not in (-1, None))
        total = math.prod(source[1:]) if None not in source[1:] else None  # type: ignore[arg-type]
        dims = [(total // known if total and known else None) if d == -1 else d for d in dims]
    return (source[0],) + tuple(dims)


def _conv(source: Shape, config: Mapping[str, Any], transpose: bool) -> Shape | None:
    filters = config.get("filters")
    kernel = config.get("kernel_size")
    strides = config.get("strides", 1)
    padding = config.get("padding", "valid")
    channels_first = config.get("data_format") == "channels_first"
    if not isinstance(filters, int) or channels_first:
        return None
    if config.get("output_padding") not in (None, 0) or _per_dim(
        config.get("dilation_rate", 1), len(source) - 2
    ) not in (None, [1] * (len(source) - 2)):
        return None
    spatial = source[1:-1]
    kernels = _per_dim(kernel, len(spatial))
    stride_list = _per_dim(strides, len(spatial))
    if kernels is None or stride_list is None:
        return None
    out: list[int | None] = []
    for size, k, s in zip(spatial, kernels, stride_list):
        if size is None:
            out.append(None)
        elif transpose:
            out.append(size * s if padding == "same" else (size - 1) * s + k)
        elif padding == "same":
            out.append(-(-size // s))
        else:
            out.append((size - k) // s + 1)
    return (source[0], *out, filters)


def _per_dim(value: Any, count: int) -> list[int] | None:
    if isinstance(value, int):
        return [value] * count
    if isinstance(value, list) and len(value) == count and all(isinstance(v, int) for v in value):
        return list(value)
    return None


def node_for(graph: Graph, ref: TensorRef) -> Node | None:
    return graph.nodes.get(ref.node)

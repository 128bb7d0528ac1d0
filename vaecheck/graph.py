"""The backend-neutral model graph that readers produce and the range engine interprets.

Nested models are flattened by the reader: a node of the graph is one call of one layer, named
by its path through the sub-models (`decoder/dec_out`). A model whose layers are called twice
(shared layers) gets one node per call (`shared#1`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import numpy as np

PATH_SEPARATOR = " › "


@dataclass(frozen=True)
class TensorRef:
    """One output tensor of a node."""

    node: str
    index: int = 0


@dataclass(frozen=True)
class Node:
    id: str
    label: str  # the path a person reads: "decoder › dec_out"
    op: str  # Keras class name: "Dense", "Activation", "Multiply", "TFOpLambda", ...
    module: str | None
    config: Mapping[str, Any]
    args: tuple[Any, ...] = ()  # positional call arguments; TensorRefs sit inside, constants inline
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    layer_path: tuple[str, ...] = ()  # layer names from the top model down, for weight look-up

    def tensor_inputs(self) -> list[TensorRef]:
        return list(self._tensor_inputs)

    @cached_property
    def _tensor_inputs(self) -> tuple[TensorRef, ...]:
        # Asked for at every step of an evaluation (twice over with weights): found once.
        return tuple(iter_refs((self.args, dict(self.kwargs))))


@dataclass(frozen=True)
class ModelOutput:
    name: str
    ref: TensorRef


@dataclass
class Graph:
    nodes: dict[str, Node]
    outputs: list[ModelOutput]
    # Shapes Keras recorded for tensors (Keras 3 writes one with every tensor a layer consumes).
    shapes: dict[TensorRef, tuple[int | None, ...]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def node(self, ref: TensorRef) -> Node:
        return self.nodes[ref.node]


def iter_refs(structure: Any) -> Iterator[TensorRef]:
    """Every TensorRef inside nested lists, tuples and dicts, in order."""
    stack = [structure]
    pending: list[Any] = []
    while stack:
        item = stack.pop()
        if isinstance(item, TensorRef):
            pending.append(item)
        elif isinstance(item, dict) or isinstance(item, Mapping):  # dict: no ABC check
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, (list, tuple)):
            stack.extend(reversed(item))
    yield from pending


# What the range engine needs of a model's weights --------------------------------------------
# A weight provider (the .keras/.h5 reader, a live model, an ONNX graph) is any object with
# `variables(layer_path) -> LayerVariables` and `close()`. `layer_path` is a Node's
# `layer_path`, the layer names from the top model down. The provider answers with the layer's
# arrays, named where it knows the names ("kernel", "bias", "moving_mean", ...; Keras's
# variable names, KERAS_FACTS §7) or else in Keras's save order, or raises WeightsUnavailable
# with a short reason the report shows ("no weights for layer 'dec_out'"). It is asked only
# when a range needs weights, so it can open its file on the first request. The engine never
# writes to the arrays.
class WeightsUnavailable(Exception):
    """The weights of a layer cannot be read; the message says why, for the report."""


@dataclass(frozen=True)
class LayerVariables:
    """A layer's variables in the order Keras saves them (trainable, then non-trainable).

    `names` holds each variable's name where the file records it ("kernel", "moving_mean"),
    else None (the `.keras` layout numbers them).
    """

    arrays: tuple[np.ndarray, ...]
    names: tuple[str | None, ...]


class WeightSource(Protocol):
    """What the range engine reads weights through: named arrays per layer, or unavailable."""

    def variables(self, layer_path: Sequence[str]) -> LayerVariables:
        """The variables of the layer at `layer_path`; raises WeightsUnavailable."""
        ...

    def close(self) -> None: ...

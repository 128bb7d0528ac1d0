"""What a transfer function sees (`LayerCall`), and the helpers transfer functions share.

A transfer function takes one layer call, with the codomains of its tensor arguments in place
of the tensors, and returns the codomain of each output. Facts: KERAS_FACTS §1.3 (a node's
`inbound_nodes`: its arguments and keyword arguments), §5.2-5.3 (identity and value subsets).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Union

import numpy as np

from vaecheck.codomain import Codomain
from vaecheck.graph import Graph, Node, TensorRef, WeightsUnavailable
from vaecheck.intervals import Interval
from vaecheck.ranges.activations import Activation, ResolvedActivation, apply_activation
from vaecheck.ranges.values import ConfigProblem
from vaecheck.ranges.weights import WeightLedger
from vaecheck.shapes import output_shape


@dataclass(frozen=True)
class LayerCall:
    """One layer call, with the codomains of its tensor arguments in place of the tensors.

    `args` and `kwargs` are the node's, each TensorRef replaced by its Codomain; `inputs` lists
    those codomains in order. A wrapper (TimeDistributed, Bidirectional) analyses its inner
    layer through a copy with that layer's `op`, `module` and `config`.
    """

    node: Node
    op: str
    module: str | None
    config: Mapping[str, Any]
    args: tuple[Any, ...]
    kwargs: Mapping[str, Any]
    inputs: tuple[Codomain, ...]
    input_refs: tuple[TensorRef, ...]
    keras_major: int | None
    graph: Graph
    depth: int = 0
    weights: WeightLedger | None = None  # None: the architecture alone

    @property
    def label(self) -> str:
        return self.node.label

    def variables(self, expected: Sequence[tuple[str, ...]]) -> list[np.ndarray]:
        """This layer's saved variables (see WeightLedger.variables); only for the layer
        itself, not for one a wrapper holds, whose variables sit elsewhere."""
        if self.weights is None:
            raise WeightsUnavailable("no weights were given")
        if self.depth > 0:
            raise WeightsUnavailable("the weights of a wrapped layer are not read")
        return self.weights.variables(self.node, expected)

    def first_input(self) -> Codomain:
        if not self.inputs:
            raise ConfigProblem("it has no input tensor")
        return self.inputs[0]

    def inner(self, layer: Any) -> LayerCall:
        """This call, for the layer a wrapper holds."""
        if not isinstance(layer, Mapping) or not isinstance(layer.get("class_name"), str):
            raise ConfigProblem("the wrapped layer is not a layer object")
        config = layer.get("config")
        module = layer.get("module")
        return replace(
            self,
            op=layer["class_name"],
            module=module if isinstance(module, str) else None,
            config=config if isinstance(config, Mapping) else {},
            depth=self.depth + 1,
        )


Outputs = Union[Codomain, tuple[Codomain, ...]]  # a tuple for layers with several outputs
Transfer = Callable[[LayerCall], Outputs]


def names(text: str) -> list[str]:
    """Class names written as a whitespace-separated block."""
    return text.split()


def opaque(reason: str) -> Transfer:
    return lambda call: Codomain.unknown(call.label, reason)


def stepped(base: Codomain, interval: Interval, step: str, note: str | None = None) -> Codomain:
    """`base` moved to `interval` by one more step; no step when nothing moved."""
    if base.known and base.interval == interval and note is None:
        return base if base.simplex_axis is None else replace(base, simplex_axis=None)
    return base.with_step(interval, step, note=note)


def without_simplex(codomain: Codomain) -> Codomain:
    return codomain if codomain.simplex_axis is None else replace(codomain, simplex_axis=None)


def combined(
    inputs: Iterable[Codomain], interval: Interval, step: str | None, notes: Iterable[str] = ()
) -> Codomain:
    """A codomain computed from several known ones: their steps and notes, then this step."""
    steps: list[str] = []
    kept_notes: list[str] = []
    for codomain in inputs:
        steps.extend(s for s in codomain.bounded_by if s not in steps)
        kept_notes.extend(n for n in codomain.notes if n not in kept_notes)
    if step is not None:
        steps.append(step)
    kept_notes.extend(n for n in notes if n not in kept_notes)
    return Codomain(interval=interval, bounded_by=tuple(steps), notes=tuple(kept_notes))


def first_unknown(codomains: Iterable[Codomain]) -> Codomain | None:
    return next((c for c in codomains if not c.known), None)


def codomains_in(structure: Any) -> list[Codomain]:
    found: list[Codomain] = []
    stack = [structure]
    while stack:
        item = stack.pop()
        if isinstance(item, Codomain):
            found.append(item)
        elif isinstance(item, Mapping):
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, (list, tuple)):
            stack.extend(reversed(item))
    return found


def identity(call: LayerCall) -> Outputs:
    """Identity at inference: the input unchanged, a softmax's simplex included."""
    return call.first_input()


def values_subset(call: LayerCall) -> Outputs:
    """Moves, repeats, picks or averages values: the same range, no step (shape changes)."""
    return without_simplex(call.first_input())


def axis_size(call: LayerCall, axis: int | tuple[int, ...] | None) -> int | None:
    """Length of the input along `axis`, as far as the configuration states it."""
    if axis is None or not call.input_refs:
        return None
    shape = output_shape(call.graph, call.input_refs[0])
    if shape is None:
        return None
    size = 1
    for a in (axis,) if isinstance(axis, int) else axis:
        if not -len(shape) <= a < len(shape) or shape[a] is None:
            return None
        size *= shape[a]  # type: ignore[operator]
    return size


def activate_input(call: LayerCall, activation: ResolvedActivation) -> Codomain:
    base = call.inputs[0] if call.inputs else Codomain.real_line()
    size = axis_size(call, activation.axis) if isinstance(activation, Activation) else None
    return apply_activation(call.label, activation, base, size)

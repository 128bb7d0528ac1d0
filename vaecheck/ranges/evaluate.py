"""The evaluator: the codomain of each model output, from the graph and, if given, its weights.

The graph is evaluated forward in topological order with an explicit stack (depth is no
limit), once for the architecture alone and, when an output is still open and weights are
given, once with them; the two are merged end by end (see the package docstring). Facts:
KERAS_FACTS §8 (the static algorithm), §1.3-1.5 (graphs of functional, sequential and nested
models).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from vaecheck.codomain import Codomain
from vaecheck.errors import VaecheckError
from vaecheck.graph import Graph, Node, TensorRef, WeightSource
from vaecheck.intervals import Interval
from vaecheck.ranges.activations import keras_major, kept_activations
from vaecheck.ranges.dispatch import transfer
from vaecheck.ranges.layer_call import LayerCall, Outputs
from vaecheck.ranges.weights import WeightLedger


def output_codomains(
    graph: Graph, keras_version: str | None = None, weights: WeightSource | None = None
) -> dict[str, Codomain]:
    """The codomain of each model output, keyed by output name in `graph.outputs` order.

    The graph is evaluated iteratively in topological order, so depth is no limit. A reference
    to a node the graph does not have, or a cycle, raises VaecheckError. With `weights`, ends the
    architecture leaves open are taken from a second evaluation with the saved weights (see the
    module's docstring); without, what needs weights is the real line or unknown.
    """
    with kept_activations():
        return _output_codomains(graph, keras_major(keras_version), weights)


def _output_codomains(
    graph: Graph, major: int | None, weights: WeightSource | None
) -> dict[str, Codomain]:
    architecture = _evaluate_outputs(graph, major, None)
    if weights is None or all(_settled(c) for c in architecture.values()):
        return architecture
    ledger = WeightLedger(weights)
    with_weights = _evaluate_outputs(graph, major, ledger)
    return {
        output.name: _merged(
            architecture[output.name],
            with_weights[output.name],
            _ancestors(graph, output.ref.node),
            ledger,
        )
        for output in graph.outputs
    }


def _evaluate_outputs(
    graph: Graph, major: int | None, weights: WeightLedger | None
) -> dict[str, Codomain]:
    results: dict[str, Outputs] = {}
    for output in graph.outputs:
        if output.ref.node not in graph.nodes:
            raise VaecheckError(
                f"output '{output.name}' refers to '{output.ref.node}', which is not in the model graph"
            )
        _evaluate(graph, output.ref.node, major, results, weights)
    return {
        output.name: select_output(
            results[output.ref.node], output.ref, graph.nodes[output.ref.node]
        )
        for output in graph.outputs
    }


def _settled(codomain: Codomain) -> bool:
    """Known with two finite ends: the weights cannot change it."""
    return codomain.interval is not None and codomain.interval.is_bounded


SAVED_WEIGHTS_NOTE = (
    "{ends} from the saved weights of {layers}: {they} for the weights in this file, and "
    "training moves {them}"
)


def _merged(
    architecture: Codomain, saved: Codomain, ancestors: set[str], ledger: WeightLedger
) -> Codomain:
    """The architecture's range, with the ends it leaves infinite or unknown from the saved
    weights' evaluation."""
    if saved.interval is None:
        result = architecture if architecture.known else saved
        return _with_failures(result, ancestors, ledger)
    if architecture.interval is None:
        return _with_failures(_weights_note(saved, "both ends", ledger), ancestors, ledger)
    a, w = architecture.interval, saved.interval
    low_from_weights = math.isinf(a.low) and math.isfinite(w.low)
    high_from_weights = math.isinf(a.high) and math.isfinite(w.high)
    if not (low_from_weights or high_from_weights):
        return _with_failures(architecture, ancestors, ledger)
    low, low_closed = (w.low, w.low_closed) if low_from_weights else (a.low, a.low_closed)
    high, high_closed = (w.high, w.high_closed) if high_from_weights else (a.high, a.high_closed)
    if low > high or (low == high and not (low_closed and high_closed)):
        return _with_failures(architecture, ancestors, ledger)  # cannot happen when both are sound
    ends = (
        "both ends"
        if low_from_weights and high_from_weights
        else "the lower end" if low_from_weights else "the upper end"
    )
    merged = replace(saved, interval=Interval(low, high, low_closed, high_closed))
    return _with_failures(_weights_note(merged, ends, ledger), ancestors, ledger)


def _weights_note(codomain: Codomain, ends: str, ledger: WeightLedger) -> Codomain:
    # The layers whose weights moved the range are those among its steps: an activation
    # before them starts a new chain, and weights read before it no longer matter.
    used = [
        label
        for label in dict.fromkeys(ledger.used.values())
        if any(step.startswith(f"{label}: ") for step in codomain.bounded_by)
    ]
    if not used:
        return codomain
    codomain = replace(codomain, saved_weights=tuple(used))
    plural = ends != "the lower end" and ends != "the upper end"
    shown = ", ".join(used[:4]) + (f" and {len(used) - 4} more" if len(used) > 4 else "")
    return codomain.with_note(
        SAVED_WEIGHTS_NOTE.format(
            ends=ends[0].upper() + ends[1:] + (" come" if plural else " comes"),
            layers=shown,
            they="they hold" if plural else "it holds",
            them="them" if plural else "it",
        )
    )


def _with_failures(codomain: Codomain, ancestors: set[str], ledger: WeightLedger) -> Codomain:
    """Say why weights that could have bounded an open range were not used."""
    if codomain.interval is not None and codomain.interval.is_bounded:
        return codomain
    by_reason: dict[str, list[str]] = {}
    for node, (label, reason) in ledger.failed.items():
        if node in ancestors:
            by_reason.setdefault(reason, []).append(label)
    for reason, labels in by_reason.items():
        shown = ", ".join(labels[:4]) + (f" and {len(labels) - 4} more" if len(labels) > 4 else "")
        note = f"the saved weights of {shown} were not used: {reason}"
        if note not in codomain.notes:
            codomain = codomain.with_note(note)
    return codomain


def _ancestors(graph: Graph, root: str) -> set[str]:
    seen: set[str] = set()
    stack = [root]
    while stack:
        node_id = stack.pop()
        if node_id in seen or node_id not in graph.nodes:
            continue
        seen.add(node_id)
        stack.extend(ref.node for ref in graph.nodes[node_id].tensor_inputs())
    return seen


def _evaluate(
    graph: Graph,
    root: str,
    major: int | None,
    results: dict[str, Outputs],
    weights: WeightLedger | None = None,
) -> None:
    """Evaluate `root` and everything it depends on, depth-first with an explicit stack."""
    on_path: set[str] = set()
    stack: list[tuple[str, bool]] = [(root, False)]
    while stack:
        node_id, inputs_done = stack.pop()
        if node_id in results:
            continue
        node = graph.nodes[node_id]
        if inputs_done:
            results[node_id] = transfer(_call(graph, node, major, results, weights))
            on_path.discard(node_id)
            continue
        if node_id in on_path:  # reached again before it was finished: it depends on itself
            raise VaecheckError(f"the model graph has a cycle through '{node.label}'")
        on_path.add(node_id)
        stack.append((node_id, True))
        for ref in reversed(node.tensor_inputs()):
            if ref.node not in graph.nodes:
                raise VaecheckError(
                    f"'{node.label}' takes its input from '{ref.node}', which is not in the model graph"
                )
            if ref.node in on_path:
                raise VaecheckError(f"the model graph has a cycle through '{node.label}'")
            if ref.node not in results:
                stack.append((ref.node, False))


def _call(
    graph: Graph,
    node: Node,
    major: int | None,
    results: Mapping[str, Outputs],
    weights: WeightLedger | None = None,
) -> LayerCall:
    def codomain_of(ref: TensorRef) -> Codomain:
        return select_output(results[ref.node], ref, graph.nodes[ref.node])

    refs = tuple(node.tensor_inputs())
    return LayerCall(
        node=node,
        op=node.op,
        module=node.module,
        config=node.config,
        args=tuple(_substituted(list(node.args), codomain_of)),
        kwargs=_substituted(dict(node.kwargs), codomain_of),
        inputs=tuple(codomain_of(ref) for ref in refs),
        input_refs=refs,
        keras_major=major,
        graph=graph,
        weights=weights,
    )


def _substituted(structure: Any, codomain_of: Callable[[TensorRef], Codomain]) -> Any:
    if isinstance(structure, TensorRef):
        return codomain_of(structure)
    if isinstance(structure, Mapping):
        return {key: _substituted(value, codomain_of) for key, value in structure.items()}
    if isinstance(structure, (list, tuple)):
        return [_substituted(value, codomain_of) for value in structure]
    return structure


def select_output(outputs: Outputs, ref: TensorRef, node: Node) -> Codomain:
    if not isinstance(outputs, tuple):
        return outputs
    if 0 <= ref.index < len(outputs):
        return outputs[ref.index]
    return Codomain.unknown(node.label, f"output {ref.index} of {node.op} is not modelled")

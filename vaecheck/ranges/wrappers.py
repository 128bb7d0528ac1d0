"""Wrapper layers: TimeDistributed, Bidirectional, SpectralNormalization.

The wrapped layer decides the range; Bidirectional merges its two directions by its
merge_mode. Facts: KERAS_FACTS §1.3 (nested layer objects in a configuration), §5.1.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vaecheck.codomain import Codomain
from vaecheck.ranges.dispatch import transfer
from vaecheck.ranges.layer_call import LayerCall, Outputs, Transfer, combined, first_unknown


def _wrapper(call: LayerCall) -> Outputs:
    """TimeDistributed, SpectralNormalization: the wrapped layer decides the range."""
    return transfer(call.inner(call.config.get("layer")))


def _bidirectional(call: LayerCall) -> Outputs:
    forward = transfer(call.inner(call.config.get("layer")))
    backward_layer = call.config.get("backward_layer")
    backward = (
        transfer(call.inner(backward_layer)) if isinstance(backward_layer, Mapping) else forward
    )
    forward_out, forward_states = _split(forward)
    backward_out, backward_states = _split(backward)
    states = forward_states + backward_states
    mode = call.config.get("merge_mode", "concat")
    if mode is None:
        return (forward_out, backward_out, *states)
    merged = _merge_directions(call.label, mode, forward_out, backward_out)
    return (merged, *states) if states else merged


def _split(outputs: Outputs) -> tuple[Codomain, tuple[Codomain, ...]]:
    if isinstance(outputs, tuple):
        return outputs[0], outputs[1:]
    return outputs, ()


def _merge_directions(label: str, mode: Any, forward: Codomain, backward: Codomain) -> Codomain:
    unknown = first_unknown((forward, backward))
    if unknown is not None:
        return unknown
    a, b = forward.interval, backward.interval
    assert a is not None and b is not None
    merges = {
        "concat": lambda: a.hull(b),
        "ave": lambda: (a + b).scale(0.5),
        "sum": lambda: a + b,
        "mul": lambda: a * b,
    }
    if mode not in merges:
        return Codomain.unknown(label, f"Bidirectional with merge_mode {mode!r}")
    interval = merges[mode]()
    moved = interval != a.hull(b)
    return combined(
        (forward, backward), interval, f"{label}: {mode} of both directions" if moved else None
    )


TRANSFERS: dict[str, Transfer] = {
    "Bidirectional": _bidirectional,
    "TimeDistributed": _wrapper,
    "SpectralNormalization": _wrapper,
}

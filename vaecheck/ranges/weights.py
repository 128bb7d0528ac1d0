"""The saved variables of a layer, as the range engine reads them for one evaluation.

`WeightLedger` wraps a `WeightSource` (vaecheck.graph) and records which layers read weights
and which failed, with why, for the notes of the report. Facts: KERAS_FACTS §7 (variable names
and save order in `model.weights.h5`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from vaecheck.graph import Node, WeightSource, WeightsUnavailable


@dataclass
class WeightLedger:
    """The weight source of one evaluation, and which layers read from it or failed to."""

    source: WeightSource
    used: dict[str, str] = field(default_factory=dict)  # node id -> label
    failed: dict[str, tuple[str, str]] = field(default_factory=dict)  # node id -> label, why

    def variables(self, node: Node, expected: Sequence[tuple[str, ...]]) -> list[np.ndarray]:
        """The variables of `node`'s layer in `expected` order, each named by its aliases
        (`("kernel", "depthwise_kernel")`); raises WeightsUnavailable."""
        try:
            found = self.source.variables(node.layer_path)
            arrays = _match_variables(found.arrays, found.names, expected)
        except WeightsUnavailable as exc:
            self.failed.setdefault(node.id, (node.label, str(exc)))
            raise
        self.used[node.id] = node.label
        return arrays


def _match_variables(
    arrays: Sequence[np.ndarray],
    names: Sequence[str | None],
    expected: Sequence[tuple[str, ...]],
) -> list[np.ndarray]:
    if names and all(name is not None for name in names):
        by_name = dict(zip(names, arrays))
        matched = []
        for aliases in expected:
            array = next((by_name[a] for a in aliases if a in by_name), None)
            if array is None:
                raise WeightsUnavailable(f"the layer has no {aliases[0]} variable")
            matched.append(array)
        return matched
    # Numbered variables (`vars/0`, `vars/1`, ...): Keras's save order is the only key.
    if len(arrays) != len(expected):
        wanted = ", ".join(a[0] for a in expected)
        raise WeightsUnavailable(
            f"the layer saved {len(arrays)} variables where {len(expected)} ({wanted}) "
            "were expected"
        )
    return list(arrays)


class KernelNotUsable(Exception):
    """A kernel the interval arithmetic does not cover; the range stays the real line."""


def float_kernel(array: np.ndarray) -> np.ndarray:
    if array.dtype.kind != "f":
        raise KernelNotUsable(f"its kernel holds {array.dtype} values, not floats")
    result = np.asarray(array, dtype=np.float64)
    if not np.isfinite(result).all():
        raise KernelNotUsable("its kernel or bias holds inf or nan")
    return result

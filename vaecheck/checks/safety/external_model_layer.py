"""A TFSMLayer or TorchModuleWrapper: a layer that loads and runs another model's code.

`keras.layers.TFSMLayer` loads a TensorFlow SavedModel from a path in its configuration and
runs its graph; an attacker chooses both the path and the graph (CVE-2026-1462, refused by
safe mode since 3.14.0, 3.13.2 and 3.12.1). `keras.layers.TorchModuleWrapper` stores a PyTorch
module that Keras 3.11.0-3.11.2 loaded with `torch.load(weights_only=False)`, which unpickles
arbitrary objects (CVE-2025-49655, fixed in 3.11.3).

Failing: a model with a `TFSMLayer(filepath="/models/other")` layer.
Passing: the same computation rebuilt from Keras layers.
"""

from __future__ import annotations

from collections.abc import Iterator

from vaecheck.checks.base import Problem
from vaecheck.checks.safety import evidence, place
from vaecheck.report import Severity
from vaecheck.safety import MODEL_WRAPPERS, ModelFacts

CODE = "VC304"
ID = "external-model-layer"
SEVERITY = Severity.ERROR
SUMMARY = "a TFSMLayer or TorchModuleWrapper loads and runs code from outside the model"
SCOPE = "model"

WHY = {
    "TFSMLayer": (
        "loads a TensorFlow SavedModel from a path in the configuration and runs its graph",
        "CVE-2026-1462",
        "3.14.0 (3.13.2, 3.12.1)",
    ),
    "TorchModuleWrapper": (
        "holds a pickled PyTorch module, which Keras 3.11.0-3.11.2 unpickled on loading",
        "CVE-2025-49655",
        "3.11.3",
    ),
}


def check(facts: ModelFacts) -> Iterator[Problem]:
    for reference in facts.references:
        if reference.kind != "class" or reference.name not in MODEL_WRAPPERS:
            continue
        why, cve, fixed = WHY[reference.name]
        path = reference.config.get("filepath") if isinstance(reference.config, dict) else None
        target = f" ('{path}')" if isinstance(path, str) else ""
        yield Problem(
            message=(
                f"{place(reference.where, reference.layer)}: a {reference.name}{target}, which {why} "
                f"({cve}; safe mode refuses it since Keras {fixed})"
            ),
            evidence=evidence(
                reference.where, reference.layer, class_name=reference.name, path=path, cve=cve, fixed_in=fixed
            ),
        )

"""Safety checks (VC3xx): what a model file makes Keras import, run or read when it is loaded.

They run on every model, with or without data, and see only `vaecheck.safety.ModelFacts`:
facts gathered statically from the configuration and the weights file's structure.
"""

from __future__ import annotations

from vaecheck.safety import Reference


def place(where: str, layer: str | None) -> str:
    """Where a finding is, as a person reads it: `config.layers[1].config.function (layer 'out')`."""
    shown = where or "the model's root object"
    return f"{shown} (layer '{layer}')" if layer else shown


def evidence(where: str, layer: str | None, **more: object) -> dict[str, object]:
    found: dict[str, object] = {"where": where, "layer": layer}
    found.update({key: value for key, value in more.items() if value is not None})
    return found


def reference_text(reference: Reference) -> str:
    if reference.kind == "function":
        module = f" from module '{reference.module}'" if reference.module not in (None, "builtins") else ""
        return f"function '{reference.name}'{module}"
    module = f" from module '{reference.module}'" if reference.module else ""
    return f"class '{reference.name}'{module}"

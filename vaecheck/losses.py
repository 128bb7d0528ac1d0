"""The loss a model was compiled with, read from `compile_config` / `training_config`."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Keras's short names and class names, mapped to the function names Keras uses.
ALIASES = {
    "bce": "binary_crossentropy",
    "mse": "mean_squared_error",
    "mae": "mean_absolute_error",
    "mape": "mean_absolute_percentage_error",
    "msle": "mean_squared_logarithmic_error",
    "kld": "kl_divergence",
    "kullback_leibler_divergence": "kl_divergence",
    "cce": "categorical_crossentropy",
    "scce": "sparse_categorical_crossentropy",
    "logcosh": "log_cosh",
}


@dataclass(frozen=True)
class LossSpec:
    name: str  # canonical function name: "binary_crossentropy"
    from_logits: bool | None = None

    @property
    def is_binary_crossentropy(self) -> bool:
        return self.name in ("binary_crossentropy", "binary_focal_crossentropy")


def canonical_loss_name(name: str) -> str:
    name = name.split(">")[-1]
    if re.search(r"[A-Z]", name):
        name = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
    return ALIASES.get(name, name)


def loss_spec(entry: Any) -> LossSpec | None:
    """One loss as Keras serialised it: a string, a loss object or a function dict."""
    if isinstance(entry, str):
        return LossSpec(canonical_loss_name(entry))
    if not isinstance(entry, Mapping):
        return None
    class_name = entry.get("class_name")
    config = entry.get("config")
    if class_name == "function" and isinstance(config, str):
        return LossSpec(canonical_loss_name(config))
    if isinstance(class_name, str):
        from_logits = config.get("from_logits") if isinstance(config, Mapping) else None
        name = class_name
        if class_name == "LossFunctionWrapper" and isinstance(config, Mapping):
            fn = config.get("fn")
            name = fn if isinstance(fn, str) else class_name
        return LossSpec(
            canonical_loss_name(name),
            from_logits if isinstance(from_logits, bool) else None,
        )
    return None


def losses_by_output(training: Mapping[str, Any] | None, outputs: Sequence[str]) -> dict[str, LossSpec]:
    """The loss of each named output, from a compile or training config."""
    if not training:
        return {}
    loss = training.get("loss")
    if loss is None:
        return {}
    if isinstance(loss, Mapping) and "class_name" not in loss:
        return {name: spec for name, entry in loss.items() if (spec := loss_spec(entry))}
    if isinstance(loss, list):
        return {
            name: spec for name, entry in zip(outputs, loss) if (spec := loss_spec(entry))
        }
    spec = loss_spec(loss)
    return {name: spec for name in outputs} if spec else {}

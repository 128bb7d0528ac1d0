"""What a model file asks Keras to import, call or read when it is loaded: facts for the VC3xx checks.

The configuration is walked once, statically: every serialized object (`{"module",
"class_name", "config", "registered_name"}`), every function reference and every Lambda is
recorded with its place in the configuration and what Keras would resolve it to. Nothing named
here is imported; the checks in `vaecheck.checks.safety` read these facts and never the file.

How Keras resolves a reference (`serialization_lib._retrieve_class_or_fn`, KERAS_FACTS §1.7, §6):
- `"module": "builtins", "class_name": "function", "config": NAME` is searched for in Keras's
  own activations, losses, metrics, ...; Keras writes every ordinary function this way
  (`keras.activations.tanh` -> `"tanh"`), and these are benign. Before 3.9, a name Keras did not
  find fell through to `importlib.import_module("builtins")`: `"exec"` meant Python's exec.
- `"module": null` is a class or function of the user's `__main__`: a custom object.
- `"registered_name": "pkg>Name"` is a registered custom object, found in the registry that
  the user's code fills; Keras before 3.9 imported `module` when the registry had no entry.
- Any other `module` outside Keras's own packages was imported by Keras before 3.9
  (CVE-2025-1550).
"""

from __future__ import annotations

import builtins
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

# Top-level packages Keras itself imports from when it resolves a `module` (3.11:
# {"keras", "keras_hub", "keras_cv", "keras_nlp"}), and the older writers' own names.
KERAS_PACKAGES = frozenset({"keras", "keras_hub", "keras_cv", "keras_nlp", "tf_keras", "tensorflow"})
# tensorflow is Keras's only when it is tensorflow.keras or tensorflow.python.keras.
KERAS_UNDER_TENSORFLOW = ("tensorflow.keras", "tensorflow.python.keras")
# Keras functions that reach the file system or the network, or turn safe mode off
# (`NON_MODELING_APIS`, CVE-2025-8747, CVE-2025-9906).
UNSAFE_KERAS_FUNCTIONS = frozenset(
    {
        "get_file",
        "enable_unsafe_deserialization",
        "load_model",
        "load_weights",
        "save_model",
        "save_weights",
        "register_keras_serializable",
        "KerasFileEditor",
        "set_floatx",
        "set_backend",
    }
)
MODEL_WRAPPERS = frozenset({"TFSMLayer", "TorchModuleWrapper"})
LOOKUP_LAYERS = frozenset(
    {"StringLookup", "IntegerLookup", "IndexLookup", "TextVectorization", "Hashing"}
)
MAX_DEPTH = 600
# One hostile file could name a million modules; a thousand of each kind say enough. Dangers and
# custom objects are counted apart, so that custom objects cannot crowd a danger out, and the
# many references to Keras's own classes are not kept at all.
MAX_FINDINGS = 1000


@dataclass(frozen=True)
class Reference:
    """One thing the configuration asks Keras to resolve: a class, or a function by name."""

    where: str  # the place in the configuration: "config.layers[3].config.activation"
    layer: str | None  # the layer it belongs to, when there is one
    kind: str  # "class" | "function"
    module: str | None
    name: str  # the class name, or the function's name
    registered_name: str | None
    config: Any = field(default=None, compare=False, repr=False)  # the object's own config
    module_given: bool = True  # False when the entry has no "module" key (Keras 2 files)

    @property
    def keras_module(self) -> bool:
        return self.module is not None and is_keras_module(self.module)

    @property
    def registered(self) -> bool:
        """Registered by the user's code (`pkg>Name`), so found in Keras's registry."""
        # Keras 3 keeps it in registered_name; legacy .h5 files write it as the class name.
        texts = (self.registered_name, self.name) if self.kind == "class" else (self.name,)
        return any(isinstance(text, str) and ">" in text for text in texts)

    @property
    def resolves_to(self) -> str:
        """What Keras would find: `module.name`, or the name alone for a registry lookup."""
        if self.module in (None, "builtins"):
            return self.name
        return f"{self.module}.{self.name.rsplit('>', 1)[-1]}"


@dataclass(frozen=True)
class LambdaCode:
    """Python bytecode stored in a Lambda, which Keras unmarshals and runs when safe mode is off."""

    where: str
    layer: str | None
    encoding: str  # "keras3" (__lambda__) | "keras2" (function_type lambda)


@dataclass(frozen=True)
class WeightsHazard:
    """Something in the weights file that makes Keras read beyond it, or allocate without bound."""

    where: str  # the HDF5 path: "/layers/dense/vars/0"
    kind: str  # "external-storage" | "external-link" | "soft-link" | "virtual" | "shape-bomb" | "unreadable"
    detail: str


@dataclass(frozen=True)
class ModelFacts:
    """What the safety checks see of one model file."""

    model_format: str  # "keras" | "keras-dir" | "h5" | "savedmodel"
    keras_version: str | None
    references: tuple[Reference, ...]
    lambdas: tuple[LambdaCode, ...]
    vocabularies: tuple[tuple[str, str | None, str], ...]  # (where, layer, the path or URL)
    weights_hazards: tuple[WeightsHazard, ...] = ()
    weights_note: str | None = None  # why the weights file was not scanned, when it was not


def is_keras_module(module: str) -> bool:
    top = module.split(".", 1)[0]
    if top == "tensorflow":
        return module.startswith(KERAS_UNDER_TENSORFLOW)
    return top in KERAS_PACKAGES


def is_python_builtin(name: str) -> bool:
    return hasattr(builtins, name)


def is_standard_library(module: str) -> bool:
    top = module.split(".", 1)[0]
    return top in sys.stdlib_module_names or top == "__builtin__"


def model_facts(
    config: Mapping[str, Any],
    training: Mapping[str, Any] | None,
    model_format: str,
    keras_version: str | None,
    weights_hazards: tuple[WeightsHazard, ...] = (),
    weights_note: str | None = None,
) -> ModelFacts:
    scan = _Scan()
    scan.walk(config, "", None, 0)
    if training is not None and training is not config.get("compile_config"):
        scan.walk(training, "training_config", None, 0)
    return ModelFacts(
        model_format=model_format,
        keras_version=keras_version,
        references=tuple(scan.references),
        lambdas=tuple(scan.lambdas),
        vocabularies=tuple(scan.vocabularies),
        weights_hazards=weights_hazards,
        weights_note=weights_note,
    )


class _Scan:
    def __init__(self) -> None:
        self.references: list[Reference] = []
        self.lambdas: list[LambdaCode] = []
        self.vocabularies: list[tuple[str, str | None, str]] = []
        self.kept = {"danger": 0, "custom": 0}

    def keep(self, reference: Reference) -> None:
        kind = _kind(reference)
        if kind is not None and self.kept[kind] < MAX_FINDINGS:
            self.kept[kind] += 1
            self.references.append(reference)

    def walk(self, value: Any, where: str, layer: str | None, depth: int) -> None:
        # Recursive over depth, which parse_json bounds at 512. Parsed JSON holds plain dicts
        # and lists: exact type tests cost a tenth of the abstract-class ones.
        if depth > MAX_DEPTH:
            return
        if type(value) is list:
            for index, item in enumerate(value):
                if type(item) is dict or type(item) is list:
                    self.walk(item, f"{where}[{index}]", layer, depth + 1)
            return
        if type(value) is not dict:
            return
        if type(value.get("class_name")) is str:
            layer = self.serialized(value, where, layer)
        for key, item in value.items():
            if type(item) is dict or type(item) is list:
                self.walk(item, _at(where, str(key)), layer, depth + 1)

    def serialized(self, entry: Mapping[str, Any], where: str, layer: str | None) -> str | None:
        class_name = entry["class_name"]
        config = entry.get("config")
        module = entry.get("module")
        module = module if isinstance(module, str) else None
        registered = entry.get("registered_name")
        registered = registered if isinstance(registered, str) else None
        if class_name == "__lambda__":
            if len(self.lambdas) < MAX_FINDINGS:
                self.lambdas.append(LambdaCode(where, layer, "keras3"))
            return layer
        if class_name.startswith("__") and class_name.endswith("__"):
            return layer  # tensors, numpy arrays, tuples, bytes: data, not code
        given = "module" in entry
        if class_name == "function":
            if isinstance(config, str):
                self.keep(Reference(where, layer, "function", module, config, registered, config, given))
            return layer
        if _is_layer_entry(entry):
            layer = _entry_name(entry) or layer
        self.keep(Reference(where, layer, "class", module, class_name, registered, config, given))
        if isinstance(config, Mapping):
            self.layer_config(class_name, config, where, layer)
        return layer

    def layer_config(self, class_name: str, config: Mapping[str, Any], where: str, layer: str | None) -> None:
        at = _at(where, "config")
        function = config.get("function")
        if class_name == "Lambda" or "function_type" in config:
            function_type = config.get("function_type")
            if function_type == "lambda" or (
                isinstance(function, list) and function and isinstance(function[0], str)
                and function_type != "function"
            ):
                if len(self.lambdas) < MAX_FINDINGS:
                    self.lambdas.append(LambdaCode(_at(at, "function"), layer, "keras2"))
            elif function_type in ("function", "raw") and isinstance(function, str):
                module = config.get("module")
                self.keep(
                    Reference(
                        _at(at, "function"),
                        layer,
                        "function",
                        module if isinstance(module, str) and module != "__main__" else None,
                        function,
                        None,
                        function,
                    )
                )
        if class_name in LOOKUP_LAYERS:
            for key in ("vocabulary", "vocabulary_path", "idf_weights"):
                path = config.get(key)
                if isinstance(path, str) and path and len(self.vocabularies) < MAX_FINDINGS:
                    self.vocabularies.append((_at(at, key), layer, path))


def _at(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _kind(reference: Reference) -> str | None:
    """"danger" for what a VC302-VC304 check reports, "custom" for VC306, None for Keras's own."""
    name = reference.name.rsplit(">", 1)[-1]
    if name in UNSAFE_KERAS_FUNCTIONS or name in MODEL_WRAPPERS:
        return "danger"
    module = reference.module
    if module is not None and module.startswith("keras") and is_keras_module(module):
        return None  # Keras's own class or function: the common case, decided at once
    if foreign(reference):
        return "danger"
    return "custom" if custom(reference) else None


def _entry_name(entry: Mapping[str, Any]) -> str | None:
    name = entry.get("name")
    config = entry.get("config")
    if not isinstance(name, str) and isinstance(config, Mapping):
        name = config.get("name")
    return name if isinstance(name, str) else None


def _is_layer_entry(entry: Mapping[str, Any]) -> bool:
    """A layer (with a name of its own), not a dtype policy, initializer or loss inside one."""
    return "inbound_nodes" in entry or "build_config" in entry or entry.get("class_name") == "InputLayer" or (
        isinstance(entry.get("config"), Mapping) and "trainable" in entry["config"]
    )


def iter_foreign(facts: ModelFacts) -> Iterator[Reference]:
    """References Keras would resolve outside its own namespaces (imports, Python builtins)."""
    for reference in facts.references:
        if foreign(reference):
            yield reference


def origin(reference: Reference) -> str:
    """Where a foreign reference leads: "python-builtin", "standard-library" or "third-party"."""
    module = reference.module or ""
    if module == "builtins":
        return "python-builtin"
    return "standard-library" if is_standard_library(module) else "third-party"


def foreign(reference: Reference) -> bool:
    module = reference.module
    if module is None:
        return False  # __main__ or a Keras 2 name: looked up among the user's custom objects
    if reference.kind == "function" and module == "builtins":
        # Keras's own functions are written so; Python's exec, eval, open, ... are not Keras's.
        return not reference.registered and is_python_builtin(reference.name) and not is_keras_function(reference.name)
    if is_keras_module(module):
        return False
    if is_standard_library(module):
        return True
    # A third-party module: the user's own registered object (info), or an import (error).
    return not reference.registered


# tf.keras (Keras 2.11 and later) registers its own optimizers under the package "Custom", so a
# legacy .h5 names them so in training_config.optimizer_config: Keras's own, not the user's code.
KERAS2_OWN_OPTIMIZERS = frozenset(
    f"Custom>{name}"
    for name in (
        "Adadelta", "Adafactor", "Adagrad", "Adam", "AdamW", "Adamax", "Ftrl", "Lion", "Nadam",
        "RMSprop", "SGD", "LossScaleOptimizer", "LossScaleOptimizerV3",
    )
)


def custom(reference: Reference) -> bool:
    """Needs the user's code to load (a custom or registered object), without being foreign."""
    if foreign(reference) or reference.name.rsplit(">", 1)[-1] in UNSAFE_KERAS_FUNCTIONS:
        return False  # VC302 or VC303 report it, as the danger it is
    module = reference.module
    if reference.kind == "function":
        if module is None or module == "builtins":
            return reference.registered or not is_keras_function(reference.name)
        return not is_keras_module(module)
    if module is None:
        if reference.name in KERAS2_OWN_OPTIMIZERS:
            return False
        # Keras 3 writes `"module": null` for a class of __main__; Keras 2 writes no module at
        # all for anything, so only a registered name marks its custom classes.
        return reference.module_given or reference.registered
    return not is_keras_module(module)


def is_keras_function(name: str) -> bool:
    """A function Keras finds among its own activations, losses and metrics by this name."""
    from vaecheck.losses import is_known_loss
    from vaecheck.ranges.activations import ACTIVATION_ALIASES, ACTIVATIONS

    return (
        name in ACTIVATIONS
        or name in ACTIVATION_ALIASES
        or name in KERAS_METRIC_FUNCTIONS
        or is_known_loss(name)
    )


KERAS_METRIC_FUNCTIONS = frozenset(
    {
        "accuracy", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
        "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy", "mae", "mse", "mape",
        "msle", "mean_absolute_error", "mean_squared_error", "mean_absolute_percentage_error",
        "mean_squared_logarithmic_error", "root_mean_squared_error", "cosine_similarity",
        "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
        "kl_divergence", "kld", "poisson", "hinge", "squared_hinge", "categorical_hinge",
        "logcosh", "log_cosh", "huber", "r2_score", "binary_focal_crossentropy",
        "categorical_focal_crossentropy", "ctc", "dice", "tversky", "circle",
    }
)

"""Strict reading: a model configuration Keras would refuse to deserialize is refused here too.

The graph reader is lenient by design (it reads what it can of odd but loadable files); this
pass runs first and stops the files Keras itself cannot load, with the place in the
configuration that is wrong: `config.layers[3].config: expected an object, got a list`.
Each rule mirrors what `keras.saving.load_model` does with the same structure:

- a serialized object's `class_name` is looked up as text (`config["class_name"]`);
- its `config` is passed to `from_config`: `null` stands for `{}`, anything else must be an
  object (a Sequential's may be a bare list of layers, as Keras <= 2.2.2 wrote it);
- a Functional model iterates `config["layers"]` and resolves every inbound reference,
  input and output by layer name;
- a Sequential iterates `config["layers"]`.

A model is taken for a subclassed one only when it looks like what Keras writes for one: a
class of its own, with an object (or nothing) as its config. A `Functional` or `Sequential`
whose structure is missing is an error, never a subclassed model.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from vaecheck.errors import MAX_NAME_CHARACTERS, printable
from vaecheck.readers.config import ConfigError

FUNCTIONAL = frozenset({"Functional"})
SEQUENTIAL = frozenset({"Sequential"})
# Keras 2.2-2.3 wrote a functional model as class "Model"; a subclass may be named so too, so
# it counts as Functional only when it carries a Functional's keys.
FUNCTIONAL_KEYS = ("layers", "input_layers", "output_layers")
MAX_DEPTH = 64


def check_model_config(model: Any, source: str) -> None:
    """Raise ConfigError naming the place, when Keras would refuse this model configuration."""
    _Strict(source).model(model, "", depth=0)


def describe(value: Any) -> str:
    """A JSON value's kind as a person reads it: 'a list', 'a number', 'null'."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def model_kind(entry: Mapping[str, Any]) -> str | None:
    """"functional", "sequential", or None for any other class (a layer, a subclassed model)."""
    name = entry.get("class_name")
    if name in FUNCTIONAL:
        return "functional"
    if name in SEQUENTIAL:
        return "sequential"
    config = entry.get("config")
    if name == "Model" and isinstance(config, Mapping) and any(k in config for k in FUNCTIONAL_KEYS):
        return "functional"
    return None


class _Strict:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, problem: str) -> None:
        raise ConfigError(f"{where or 'the model configuration'}: {problem}", self.source)

    def expect(self, value: Any, kind: type | tuple[type, ...], what: str, where: str) -> None:
        if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            self.fail(where, f"expected {what}, got {describe(value)}")

    # A serialized object: {"class_name": str, "config": object | null, ...} ------------------
    def serialized(self, entry: Any, where: str) -> Mapping[str, Any]:
        self.expect(entry, Mapping, "an object", where)
        if "class_name" not in entry:
            self.fail(where, "has no class_name")
        self.expect(entry["class_name"], str, "a string", _at(where, "class_name"))
        return entry

    def model(self, entry: Any, where: str, depth: int) -> None:
        if depth > MAX_DEPTH:
            self.fail(where, f"models nested more than {MAX_DEPTH} deep")
        entry = self.serialized(entry, where)
        kind = model_kind(entry)
        config = entry.get("config")
        config_at = _at(where, "config")
        if kind == "sequential" and isinstance(config, list):
            self.layers(config, config_at, depth, functional=False)
            return
        if kind is None:
            if config is not None:
                self.expect(config, Mapping, "an object", config_at)
            return
        self.expect(config, Mapping, "an object", config_at)
        if "layers" not in config:
            self.fail(config_at, f"a {entry['class_name']} model without a 'layers' entry")
        self.layers(config["layers"], _at(config_at, "layers"), depth, functional=kind == "functional")
        if kind == "functional":
            self.references(config, config_at)

    def layers(self, layers: Any, where: str, depth: int, functional: bool) -> None:
        self.expect(layers, list, "a list", where)
        for index, layer in enumerate(layers):
            at = f"{where}[{index}]"
            layer = self.serialized(layer, at)
            if model_kind(layer) is not None:
                self.model(layer, at, depth + 1)
            elif layer.get("config") is not None:
                self.expect(layer["config"], Mapping, "an object", _at(at, "config"))
            if functional and "inbound_nodes" in layer:
                self.expect(layer["inbound_nodes"], list, "a list", _at(at, "inbound_nodes"))

    def references(self, config: Mapping[str, Any], where: str) -> None:
        """Every layer name a Functional model's nodes, inputs and outputs refer to exists."""
        layers = config["layers"]
        names = {_layer_name(layer) for layer in layers} - {None}
        for index, layer in enumerate(layers):
            for node_index, node in enumerate(layer.get("inbound_nodes") or ()):
                for referred in _referred_names(node):
                    if referred not in names:
                        own = printable(_layer_name(layer) or "?", MAX_NAME_CHARACTERS)
                        self.fail(
                            f"{where}.layers[{index}].inbound_nodes[{node_index}]",
                            f"layer '{own}' refers to '{printable(referred, MAX_NAME_CHARACTERS)}', "
                            "which is not in the model",
                        )
        for key in ("input_layers", "output_layers"):
            if key not in config:
                self.fail(where, f"a Functional model without '{key}'")
            for referred in _history_names(config[key]):
                if referred not in names:
                    self.fail(
                        _at(where, key),
                        f"refers to '{printable(referred, MAX_NAME_CHARACTERS)}', which is not in "
                        "the model",
                    )


def _at(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _layer_name(entry: Mapping[str, Any]) -> str | None:
    name = entry.get("name")
    if name is None and isinstance(entry.get("config"), Mapping):
        name = entry["config"].get("name")
    return name if isinstance(name, str) else None


def _is_history(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) in (3, 4)
        and isinstance(value[0], str)
        and isinstance(value[1], int)
        and isinstance(value[2], int)
        and not isinstance(value[1], bool)
    )


def _history_names(structure: Any) -> Iterator[str]:
    stack = [structure]
    while stack:
        item = stack.pop()
        if _is_history(item):
            yield item[0]
        elif isinstance(item, Mapping):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _referred_names(node: Any) -> Iterator[str]:
    """Layer names in one inbound node: Keras 3 `keras_history`, Keras 2 `[name, n, t, {}]`."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, Mapping):
            if item.get("class_name") == "__keras_tensor__":
                config = item.get("config")
                history = config.get("keras_history") if isinstance(config, Mapping) else None
                if _is_history(history):
                    yield history[0]
                continue
            stack.extend(item.values())
        elif isinstance(item, list):
            if _is_history(item) and item[0] != "_CONSTANT_VALUE" and isinstance(node, list):
                yield item[0]
                if len(item) == 4:
                    stack.append(item[3])
                continue
            stack.extend(item)

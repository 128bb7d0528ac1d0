"""Layer weights, read from a saved model's HDF5 with every guard a hostile file calls for.

The range engine asks for the variables of one layer, by its path of layer names from the top
model down (`("decoder", "dec_out")`); the file is opened on the first request, so a model
whose ranges need no weights never pays for h5py. Two layouts (KERAS_FACTS §7):

- Keras 3 `.keras` archives (and their unzipped directories): the `model.weights.h5` member,
  `layers/<snake_case class + counter>/vars/0, 1, ...`. A layer's group is found by the
  `name` attribute of its `vars` group (Keras >= 3.6), else by the n-th occurrence of its
  class in the configuration's layer list.
- Legacy `.h5`: `model_weights/<top-level layer>/...`, listed by the `weight_names` attribute.

What is never done: following a soft or external link, reading a dataset stored outside the
file (`external`) or assembled from others (virtual), reading a dataset whose declared size is
out of proportion to what it stores, unpickling anything (`model.weights.npz` holds pickled
arrays, so it is not read).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vaecheck.graph import LayerVariables, WeightSource, WeightsUnavailable
from vaecheck.readers.config import find_submodels, is_model, is_sequential, layer_name
from vaecheck.readers.weights_file import (
    MAX_WEIGHTS_BYTES,
    WEIGHTS_MEMBER,
    _ArchiveOpener,
    _FileOpener,
    _Opener,
    declares_far_more,
)

# One variable of more than this is not a variable the range engine needs (a 4096 x 4096 float32
# kernel is 64 MB).
MAX_DATASET_BYTES = 256 * 1024 * 1024
MAX_GROUP_MEMBERS = 100_000
MAX_VARIABLES = 64
MAX_NAME_LENGTH = 4096
MAX_WEIGHT_NAMES = 100_000
MAX_MODEL_DEPTH = 64
OP_MODULES = ("keras.src.ops", "keras.ops")  # raw op nodes: in the config, not in model.layers


@dataclass
class WeightTable:
    """Weights given in memory, keyed by layer path: for Python callers and for tests.

    A value is a list of arrays in Keras's save order, or a mapping from variable name to array.
    """

    layers: Mapping[tuple[str, ...], Sequence[Any] | Mapping[str, Any]]

    def variables(self, layer_path: Sequence[str]) -> LayerVariables:
        entry = self.layers.get(tuple(layer_path))
        if entry is None:
            raise WeightsUnavailable(f"no weights for layer '{'/'.join(layer_path)}'")
        if isinstance(entry, Mapping):
            return LayerVariables(
                tuple(np.asarray(v) for v in entry.values()), tuple(str(k) for k in entry)
            )
        return LayerVariables(tuple(np.asarray(v) for v in entry), (None,) * len(entry))

    def close(self) -> None:
        return None


@dataclass
class NoWeights:
    """A model whose weights cannot be read at all; every request says why."""

    reason: str

    def variables(self, layer_path: Sequence[str]) -> LayerVariables:
        raise WeightsUnavailable(self.reason)

    def close(self) -> None:
        return None


def open_weights(
    path: str, model_format: str, config: Mapping[str, Any], keras_version: str | None
) -> WeightSource:
    """The weights of a model read by `readers.model`, opened lazily on the first request."""
    if model_format == "keras":
        return KerasWeights(_ArchiveOpener(path, MAX_WEIGHTS_BYTES), config, keras_version)
    if model_format == "keras-dir":
        member = _FileOpener(os.path.join(path, WEIGHTS_MEMBER), MAX_WEIGHTS_BYTES)
        return KerasWeights(member, config, keras_version)
    if model_format == "h5":
        return LegacyWeights(_FileOpener(path, MAX_WEIGHTS_BYTES))
    if model_format == "savedmodel":
        return NoWeights(
            "a SavedModel keeps its weights in a TensorFlow checkpoint, which vaecheck does "
            "not read"
        )
    return NoWeights(f"weights of a {model_format} model are not read")


# Guarded access ------------------------------------------------------------------------------
def _member(group: Any, name: str, where: str) -> Any:
    """`group[name]`, only through a hard link: soft and external links point elsewhere."""
    import h5py

    try:
        link = group.get(name, getlink=True)
    except (KeyError, ValueError, OSError, TypeError):
        link = None
    if link is None:
        raise WeightsUnavailable(f"the weights file has no {where}")
    if not isinstance(link, h5py.HardLink):
        raise WeightsUnavailable(
            f"{where} in the weights file is a {type(link).__name__}, which vaecheck never follows"
        )
    try:
        return group[name]
    except (KeyError, ValueError, OSError) as exc:
        raise WeightsUnavailable(f"cannot open {where} in the weights file ({exc})") from None


def _group(parent: Any, name: str, where: str) -> Any:
    import h5py

    member = _member(parent, name, where)
    if not isinstance(member, h5py.Group):
        raise WeightsUnavailable(f"{where} in the weights file is not a group")
    return member


def _dataset_array(parent: Any, name: str, where: str) -> np.ndarray:
    import h5py

    dataset = _member(parent, name, where)
    if not isinstance(dataset, h5py.Dataset):
        raise WeightsUnavailable(f"{where} in the weights file is not a dataset")
    if dataset.external:
        raise WeightsUnavailable(
            f"{where} is stored in files outside the weights file, which vaecheck never reads"
        )
    if dataset.is_virtual:
        raise WeightsUnavailable(f"{where} is a virtual dataset, which vaecheck never reads")
    if dataset.dtype.kind not in "fiub":
        raise WeightsUnavailable(f"{where} does not hold numbers ({dataset.dtype})")
    shape = dataset.shape if dataset.shape is not None else ()
    declared = math.prod(shape) * dataset.dtype.itemsize
    if declared > MAX_DATASET_BYTES:
        raise WeightsUnavailable(f"{where} declares {declared:,} bytes, too many to read")
    try:
        stored = dataset.id.get_storage_size()
    except Exception:  # h5py raises several error types on damaged metadata
        stored = 0
    if declares_far_more(declared, stored):
        raise WeightsUnavailable(
            f"{where} declares {declared:,} bytes but stores {stored:,}: refused as a "
            "decompression bomb"
        )
    try:
        return np.asarray(dataset[()])
    except Exception as exc:  # damaged chunks, unknown filters
        raise WeightsUnavailable(f"cannot read {where} ({exc})") from None


def _text_attribute(node: Any, name: str) -> str | None:
    try:
        if name not in node.attrs:
            return None
        value = node.attrs[name]
    except Exception:  # odd attribute types raise TypeError, OSError, ...
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str) or len(value) > MAX_NAME_LENGTH:
        return None
    return value


def _text_list_attribute(node: Any, name: str) -> list[str] | None:
    """A list-of-strings attribute, or its parts `name0`, `name1`, ... when Keras split it."""
    attrs = node.attrs
    try:
        if name in attrs:
            parts = [attrs[name]]
        else:
            parts = []
            while f"{name}{len(parts)}" in attrs and len(parts) < 1000:
                parts.append(attrs[f"{name}{len(parts)}"])
            if not parts:
                return None
    except Exception:
        return None
    values: list[str] = []
    for part in parts:
        items = part.tolist() if hasattr(part, "tolist") else part
        if isinstance(items, (str, bytes)):
            items = [items]
        for item in items:
            if isinstance(item, bytes):
                item = item.decode("utf-8", "replace")
            if not isinstance(item, str) or len(item) > MAX_NAME_LENGTH:
                return None
            values.append(item)
            if len(values) > MAX_WEIGHT_NAMES:
                return None
    return values


@dataclass
class _LazyFile:
    opener: _Opener
    handle: Any = None
    failure: str | None = None

    def get(self) -> Any:
        if self.failure is not None:
            raise WeightsUnavailable(self.failure)
        if self.handle is None:
            try:
                self.handle = self.opener.open()
            except WeightsUnavailable as exc:
                self.failure = str(exc)
                raise
        return self.handle

    def close(self) -> None:
        try:
            if self.handle is not None:
                self.handle.close()
        finally:
            self.handle = None
            self.opener.close()


# Keras 3 `.keras` layout -----------------------------------------------------------------------
def snake_case(class_name: str, keras_major: int | None) -> str:
    """The group name Keras gives a layer of this class (`PReLU` -> `p_re_lu`)."""
    name = class_name if keras_major == 2 else re.sub(r"\W+", "", class_name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()
    if keras_major == 2 and name.startswith("_"):
        name = "private" + name
    return name


def _layer_entries(model: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    config = model.get("config")
    if isinstance(config, Mapping):
        config = config.get("layers")
    if not isinstance(config, list):
        return []
    return [entry for entry in config if isinstance(entry, Mapping)]


def _saved_layers(model: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The configuration entries of `model.layers`, the list Keras numbers groups in."""
    sequential = is_sequential(model)
    saved = []
    for entry in _layer_entries(model):
        module = entry.get("module")
        if isinstance(module, str) and module.startswith(OP_MODULES):
            continue  # a raw op: recorded as a layer, but not a Layer
        if sequential and entry.get("class_name") == "InputLayer":
            continue
        saved.append(entry)
    return saved


def counted_group_name(
    model: Mapping[str, Any], layer: str, keras_major: int | None
) -> str | None:
    """The group of `layer` by Keras's per-class counter: the fallback for files without
    `name` attributes (Keras < 3.6, tf_keras)."""
    used: dict[str, int] = {}
    for entry in _saved_layers(model):
        base = snake_case(str(entry.get("class_name", "")), keras_major)
        if base in used:
            used[base] += 1
            group = f"{base}_{used[base]}"
        else:
            used[base] = 0
            group = base
        if layer_name(entry) == layer:
            return group
    return None


@dataclass
class KerasWeights:
    """Weights in the Keras 3 `model.weights.h5` layout."""

    opener: _Opener
    config: Mapping[str, Any]
    keras_version: str | None
    _file: _LazyFile = field(init=False)
    _names: dict[str, dict[str, str]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._file = _LazyFile(self.opener)

    @property
    def _major(self) -> int | None:
        match = re.match(r"\s*(\d+)", self.keras_version or "")
        return int(match.group(1)) if match else None

    def variables(self, layer_path: Sequence[str]) -> LayerVariables:
        group = self._layer_group(list(layer_path))
        vars_group = _group(group, "vars", f"'{group.name}/vars'")
        count = 0
        while str(count) in vars_group and count <= MAX_VARIABLES:
            count += 1
        if count > MAX_VARIABLES:
            raise WeightsUnavailable(f"layer '{layer_path[-1]}' has too many variables")
        arrays = tuple(
            _dataset_array(vars_group, str(k), f"'{vars_group.name}/{k}'") for k in range(count)
        )
        return LayerVariables(arrays, (None,) * count)

    def close(self) -> None:
        self._file.close()

    def _layer_group(self, path: list[str]) -> Any:
        if not path or len(path) > MAX_MODEL_DEPTH:
            raise WeightsUnavailable("no such layer")
        group = self._file.get()
        model = self.config
        if not is_model(model):
            # A subclassed model saves its sub-models under their attribute names; the graph
            # reader named each after the key it was found under.
            key = path.pop(0)
            submodel = dict(find_submodels(model.get("config"))).get(key)
            if submodel is None:
                raise WeightsUnavailable(f"the configuration holds no sub-model '{key}'")
            group = self._subclassed_group(group, key, layer_name(submodel))
            model = submodel
        for name in path:
            entry = next((e for e in _layer_entries(model) if layer_name(e) == name), None)
            if entry is None:
                raise WeightsUnavailable(f"the configuration has no layer '{name}'")
            group = self._child_layer(group, model, name)
            model = entry
        return group

    def _subclassed_group(self, root: Any, key: str, model_name: str | None) -> Any:
        if key in root:
            return _group(root, key, f"'{key}'")
        if model_name is not None:
            for name in _bounded_keys(root):
                if name in ("layers", "vars", "optimizer", "metrics"):
                    continue
                child = _safe_child_group(root, name)
                if child is not None and self._vars_name(child) == model_name:
                    return child
        raise WeightsUnavailable(f"the weights file has no group for the sub-model '{key}'")

    def _child_layer(self, group: Any, model: Mapping[str, Any], name: str) -> Any:
        layers = _group(group, "layers", f"'{group.name}/layers'")
        by_name = self._names_in(layers)
        if by_name:
            if name in by_name:
                return _group(layers, by_name[name], f"'{layers.name}/{by_name[name]}'")
            raise WeightsUnavailable(f"the weights file has no group for layer '{name}'")
        counted = counted_group_name(model, name, self._major)
        if counted is None or counted not in layers:
            raise WeightsUnavailable(f"the weights file has no group for layer '{name}'")
        return _group(layers, counted, f"'{layers.name}/{counted}'")

    def _names_in(self, layers: Any) -> dict[str, str]:
        """Layer name -> group name, from the `name` attributes of Keras >= 3.6."""
        key = layers.name
        if key not in self._names:
            names: dict[str, str] = {}
            for child_name in _bounded_keys(layers):
                child = _safe_child_group(layers, child_name)
                layer = self._vars_name(child) if child is not None else None
                if layer is not None:
                    names.setdefault(layer, child_name)
            self._names[key] = names
        return self._names[key]

    @staticmethod
    def _vars_name(group: Any) -> str | None:
        vars_group = _safe_child_group(group, "vars")
        return _text_attribute(vars_group, "name") if vars_group is not None else None


def _bounded_keys(group: Any) -> list[str]:
    keys: list[str] = []
    for key in group:
        keys.append(key)
        if len(keys) > MAX_GROUP_MEMBERS:
            raise WeightsUnavailable(f"'{group.name}' has too many members")
    return keys


def _safe_child_group(group: Any, name: str) -> Any:
    try:
        return _group(group, name, name)
    except WeightsUnavailable:
        return None


# Legacy `.h5` layout ---------------------------------------------------------------------------
@dataclass
class LegacyWeights:
    """Weights in `model_weights/<layer>/...` of a legacy HDF5 model file."""

    opener: _Opener
    _file: _LazyFile = field(init=False)

    def __post_init__(self) -> None:
        self._file = _LazyFile(self.opener)

    def variables(self, layer_path: Sequence[str]) -> LayerVariables:
        if not layer_path:
            raise WeightsUnavailable("no such layer")
        root = self._file.get()
        model_weights = _group(root, "model_weights", "model_weights group")
        top = layer_path[0]
        group = _group(model_weights, top, f"weights group '{top}'")
        weight_names = _text_list_attribute(group, "weight_names")
        if weight_names is None:
            raise WeightsUnavailable(f"the weights group '{top}' lists no weight_names")
        selected = weight_names if len(layer_path) == 1 else _owned_by(weight_names, layer_path)
        arrays = []
        for weight_name in selected:
            parent = group
            parts = [p for p in weight_name.split("/") if p]
            for part in parts[:-1]:
                parent = _group(parent, part, f"'{group.name}/{weight_name}'")
            arrays.append(_dataset_array(parent, parts[-1], f"'{group.name}/{weight_name}'"))
        names = tuple(_variable_name(n) for n in selected)
        return LayerVariables(tuple(arrays), names)

    def close(self) -> None:
        self._file.close()


def _variable_name(weight_name: str) -> str:
    """`decoder/dec_out/kernel:0` -> `kernel`."""
    return re.sub(r":\d+$", "", weight_name.rsplit("/", 1)[-1])


def _owned_by(weight_names: list[str], layer_path: Sequence[str]) -> list[str]:
    """The weights of a layer nested in a sub-model: those whose last scope is its name."""
    layer = layer_path[-1]
    owned = [n for n in weight_names if n.split("/")[-2:-1] == [layer]]
    variables = [_variable_name(n) for n in owned]
    if len(set(variables)) != len(variables):
        # Two layers of that name at different depths: keep the one whose scopes lie on the path.
        on_path = set(layer_path)
        owned = [n for n in owned if set(n.split("/")[:-2]) <= on_path]
        variables = [_variable_name(n) for n in owned]
        if len(set(variables)) != len(variables):
            raise WeightsUnavailable(f"cannot tell which weights belong to layer '{layer}'")
    if not owned:
        raise WeightsUnavailable(f"the weights file lists no weights for layer '{layer}'")
    return owned

"""Keras model configuration (the JSON inside `.keras`, `.h5` and SavedModel metadata) -> Graph.

Both serialisations are accepted: Keras 3 (`inbound_nodes` as `{"args", "kwargs"}` with
`__keras_tensor__` leaves) and Keras 2 / tf.keras (`inbound_nodes` as lists of
`[layer, node_index, tensor_index, kwargs]`). Nested Functional and Sequential models are
flattened into one graph. Nothing named in the configuration is imported or executed.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from vaecheck.errors import MAX_NAME_CHARACTERS, VaecheckError, printable
from vaecheck.graph import PATH_SEPARATOR, Graph, ModelOutput, Node, TensorRef, iter_refs

FUNCTIONAL_CLASSES = frozenset({"Functional", "Model"})
SEQUENTIAL_CLASSES = frozenset({"Sequential"})
MAX_MODEL_DEPTH = 64
# Layers over all sub-models. The largest Keras applications have about 1,000; the range engine
# takes about 0.1 ms a layer, so this bounds a hostile file's graph to about a second.
MAX_LAYERS = 10_000


class ConfigError(VaecheckError):
    pass


def graph_from_config(model: Any, source: str) -> Graph:
    """Build the graph of a serialized model (`{"class_name", "config", ...}`)."""
    if not isinstance(model, Mapping):
        raise ConfigError("the model configuration is not a JSON object", source)
    builder = _Builder(source)
    outputs = builder.top_level(model)
    graph = Graph(nodes=builder.nodes, outputs=outputs, shapes=builder.shapes, notes=builder.notes)
    return graph


def is_functional(entry: Mapping[str, Any]) -> bool:
    config = entry.get("config")
    if not isinstance(config, Mapping):
        return False
    if class_name(entry) in SEQUENTIAL_CLASSES:
        return False
    return isinstance(config.get("layers"), list) and "output_layers" in config


def is_sequential(entry: Mapping[str, Any]) -> bool:
    if class_name(entry) not in SEQUENTIAL_CLASSES:
        return False
    config = entry.get("config")
    return isinstance(config, list) or (
        isinstance(config, Mapping) and isinstance(config.get("layers"), list)
    )


def class_name(entry: Mapping[str, Any]) -> str | None:
    """The entry's class name, when the file gives it as text (a hostile one may not)."""
    name = entry.get("class_name")
    return name if isinstance(name, str) else None


def is_model(entry: Any) -> bool:
    return isinstance(entry, Mapping) and (is_functional(entry) or is_sequential(entry))


def layer_name(entry: Mapping[str, Any]) -> str:
    name = entry.get("name")
    if not isinstance(name, str):
        config = entry.get("config")
        name = config.get("name") if isinstance(config, Mapping) else None
    if not isinstance(name, str):
        name = str(entry.get("class_name", "layer"))
    return name


@dataclass
class _Scope:
    """Where a (sub-)model is being expanded: its path and how its inputs are bound."""

    path: tuple[str, ...]  # node-id parts ("decoder", or "decoder#1" for a second call)
    names: tuple[str, ...]  # layer names, for labels and weight look-up
    depth: int


@dataclass
class _Call:
    entry: Mapping[str, Any]
    index: int
    raw_node: Any
    outputs: list[TensorRef] | TensorRef | None = None  # TensorRef: a plain layer's node


@dataclass
class _Builder:
    source: str
    nodes: dict[str, Node] = field(default_factory=dict)
    shapes: dict[TensorRef, tuple[int | None, ...]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    layers: int = 0  # layer entries met so far, in every sub-model

    def _count_layers(self, layers: list[Any]) -> None:
        self.layers += len(layers)
        if self.layers > MAX_LAYERS:
            raise ConfigError(
                f"the model has more than {MAX_LAYERS:,} layers; vaecheck reads models up to "
                f"that size",
                self.source,
            )

    # Entry points ---------------------------------------------------------------------------
    def top_level(self, model: Mapping[str, Any]) -> list[ModelOutput]:
        scope = _Scope(path=(), names=(), depth=0)
        if is_functional(model):
            refs, names = self._functional(model, scope, bindings=None)
        elif is_sequential(model):
            refs = self._sequential(model, scope, bindings=None)
            names = [self._sequential_output_name(model)]
        else:
            return self._subclassed(model)
        return _named_outputs(names, refs)

    def _subclassed(self, model: Mapping[str, Any]) -> list[ModelOutput]:
        """A subclassed model stores only its __init__ arguments; look for sub-model configs."""
        class_name = str(model.get("class_name", "Model"))
        candidates = find_submodels(model.get("config"))
        decoders = [c for c in candidates if "decoder" in c[0].lower()]
        chosen = decoders or candidates
        if not chosen:
            node = self._add_node(
                node_id=class_name,
                label=class_name,
                entry=model,
                args=(),
                kwargs={},
                names=(class_name,),
            )
            self.notes.append(
                f"{class_name} is a subclassed model: its call() is Python code, not saved in "
                "the file, and its configuration holds no sub-model"
            )
            return [ModelOutput(class_name, TensorRef(node.id))]
        outputs: list[ModelOutput] = []
        for key, submodel in chosen:
            self.notes.append(
                f"{class_name} is a subclassed model; its output is taken from the sub-model "
                f"stored under '{key}'"
            )
            scope = _Scope(path=(key,), names=(key,), depth=1)
            if is_functional(submodel):
                refs, names = self._functional(submodel, scope, bindings=None)
                if len(refs) == 1:
                    names = [key]
                else:
                    names = [f"{key}{PATH_SEPARATOR}{n}" for n in names]
            else:
                refs = self._sequential(submodel, scope, bindings=None)
                names = [key]
            outputs.extend(_named_outputs(names, refs))
        return outputs

    # Functional -----------------------------------------------------------------------------
    def _functional(
        self,
        model: Mapping[str, Any],
        scope: _Scope,
        bindings: list[TensorRef] | None,
    ) -> tuple[list[TensorRef], list[str]]:
        if scope.depth > MAX_MODEL_DEPTH:
            raise ConfigError(f"models nested more than {MAX_MODEL_DEPTH} deep", self.source)
        config = model["config"]
        layers = config["layers"]
        self._count_layers(layers)
        entries: dict[str, Mapping[str, Any]] = {}
        for entry in layers:
            if not isinstance(entry, Mapping):
                raise ConfigError("a layer entry is not a JSON object", self.source)
            name = layer_name(entry)
            if name in entries:
                raise ConfigError(f"two layers are named '{name}'", self.source)
            entries[name] = entry
        keras2 = any(
            isinstance(node, list)
            for entry in layers
            for node in _as_list(entry.get("inbound_nodes"))
        )

        calls: dict[str, list[_Call]] = {}
        for name, entry in entries.items():
            nodes = _as_list(entry.get("inbound_nodes"))
            calls[name] = [_Call(entry, k, raw) for k, raw in enumerate(nodes)]

        # Inputs: bind the model's input layers, in the order Keras lists them.
        input_leaves = _history_leaves(config.get("input_layers"))
        for position, (name, _node_index, _tensor_index) in enumerate(input_leaves):
            entry = entries.get(name)
            if entry is None:
                raise ConfigError(f"input layer '{name}' is not among the layers", self.source)
            if bindings is not None and position < len(bindings):
                bound: TensorRef = bindings[position]
            else:
                node = self._add_node(
                    node_id=self._node_id(scope, name, 0),
                    label=self._label(scope, name),
                    entry=entry,
                    args=(),
                    kwargs={},
                    names=scope.names + (name,),
                )
                bound = TensorRef(node.id)
                shape = _input_shape(entry)
                if shape is not None:
                    self.shapes[bound] = shape
            calls[name] = [_Call(entry, 0, None, outputs=bound)]

        # Expand calls until everything is resolved. Keras writes layers in topological order,
        # but a file need not: a call that waits for a layer is set aside until a call of that
        # layer is expanded, so any order costs linear time. Calls still waiting at the end
        # are a cycle or an input that nothing produces.
        pending = deque(call for name in entries for call in calls[name] if call.outputs is None)
        waiting: dict[str, list[_Call]] = {}
        while pending:
            call = pending.popleft()
            blocker = self._try_expand(call, scope, entries, calls, keras2)
            if blocker is not None:
                waiting.setdefault(blocker, []).append(call)
                continue
            pending.extend(waiting.pop(layer_name(call.entry), ()))
        if waiting:
            self._raise_unresolvable([call for group in waiting.values() for call in group])

        output_leaves = _history_leaves(config.get("output_layers"))
        if not output_leaves:
            raise ConfigError(
                f"model '{layer_name(model)}' lists no output layers", self.source
            )
        refs = [
            self._resolve(leaf, entries, calls, keras2, in_output_layers=True)
            for leaf in output_leaves
        ]
        if any(ref is None for ref in refs):
            raise ConfigError(
                f"model '{layer_name(model)}' names an output that no layer produces",
                self.source,
            )
        names = _output_names(config.get("output_layers"))
        return [ref for ref in refs if ref is not None], names

    def _try_expand(
        self,
        call: _Call,
        scope: _Scope,
        entries: Mapping[str, Mapping[str, Any]],
        calls: dict[str, list[_Call]],
        keras2: bool,
    ) -> str | None:
        """Expand one call; None when done, else the name of the layer it still waits for."""
        args, kwargs, leaves = _decode_node(call.raw_node, self.source)
        resolved: dict[tuple[str, int, int], TensorRef] = {}
        for leaf in leaves:
            ref = self._resolve(leaf, entries, calls, keras2, in_output_layers=False)
            if ref is None:
                return leaf[0]
            resolved[leaf] = ref
        args = _substitute(args, resolved)
        kwargs = _substitute(kwargs, resolved)
        for leaf, shape in _keras_tensor_shapes(call.raw_node):
            if leaf in resolved:
                self.shapes.setdefault(resolved[leaf], shape)

        entry = call.entry
        name = layer_name(entry)
        node_id = self._node_id(scope, name, call.index)
        if is_model(entry):
            inner_scope = _Scope(
                path=scope.path + (_with_call(name, call.index),),
                names=scope.names + (name,),
                depth=scope.depth + 1,
            )
            bindings = _ordered_refs(args, kwargs)
            if is_functional(entry):
                outputs, _ = self._functional(entry, inner_scope, bindings)
            else:
                outputs = self._sequential(entry, inner_scope, bindings)
            call.outputs = outputs
        else:
            node = self._add_node(
                node_id=node_id,
                label=self._label(scope, name),
                entry=entry,
                args=tuple(args) if isinstance(args, list) else (args,),
                kwargs=kwargs if isinstance(kwargs, Mapping) else {},
                names=scope.names + (name,),
            )
            call.outputs = TensorRef(node.id)
        return None

    def _resolve(
        self,
        leaf: tuple[str, int, int],
        entries: Mapping[str, Mapping[str, Any]],
        calls: dict[str, list[_Call]],
        keras2: bool,
        in_output_layers: bool,
    ) -> TensorRef | None:
        name, node_index, tensor_index = leaf
        if name not in entries:
            raise ConfigError(f"a layer refers to '{name}', which is not in the model", self.source)
        layer_calls = calls[name]
        # Keras counts a nested Functional's own creation as node 0: references to it are one
        # higher in `output_layers` (Keras 3) and everywhere (Keras 2).
        if is_functional(entries[name]) and (keras2 or in_output_layers):
            node_index -= 1
        if node_index >= len(layer_calls) and len(layer_calls) == node_index:
            node_index -= 1  # the same quirk in writers that applied it elsewhere
        if not 0 <= node_index < len(layer_calls):
            raise ConfigError(
                f"a layer refers to call {leaf[1]} of '{name}', which is called "
                f"{len(layer_calls)} time(s)",
                self.source,
            )
        call = layer_calls[node_index]
        if call.outputs is None:
            return None
        if isinstance(call.outputs, TensorRef):
            if tensor_index == 0:
                return call.outputs
            return TensorRef(call.outputs.node, tensor_index)
        if not 0 <= tensor_index < len(call.outputs):
            raise ConfigError(
                f"a layer refers to output {tensor_index} of '{name}', which has "
                f"{len(call.outputs)}",
                self.source,
            )
        return call.outputs[tensor_index]

    def _raise_unresolvable(self, pending: list[_Call]) -> None:
        names = sorted({layer_name(call.entry) for call in pending})
        shown = ", ".join(f"'{n}'" for n in names[:5]) + (" ..." if len(names) > 5 else "")
        raise ConfigError(
            f"the layer graph has a cycle or an input that nothing produces (at {shown})",
            self.source,
        )

    # Sequential -----------------------------------------------------------------------------
    def _sequential(
        self,
        model: Mapping[str, Any],
        scope: _Scope,
        bindings: list[TensorRef] | None,
    ) -> list[TensorRef]:
        if scope.depth > MAX_MODEL_DEPTH:
            raise ConfigError(f"models nested more than {MAX_MODEL_DEPTH} deep", self.source)
        config = model["config"]
        layers = config if isinstance(config, list) else config["layers"]
        self._count_layers(layers)
        current: TensorRef | None = bindings[0] if bindings else None
        used: dict[str, int] = {}
        for entry in layers:
            if not isinstance(entry, Mapping):
                raise ConfigError("a layer entry is not a JSON object", self.source)
            name = layer_name(entry)
            used[name] = used.get(name, 0) + 1
            index = used[name] - 1
            if entry.get("class_name") == "InputLayer":
                if current is None:
                    node = self._add_node(
                        node_id=self._node_id(scope, name, index),
                        label=self._label(scope, name),
                        entry=entry,
                        args=(),
                        kwargs={},
                        names=scope.names + (name,),
                    )
                    current = TensorRef(node.id)
                    shape = _input_shape(entry)
                    if shape is not None:
                        self.shapes[current] = shape
                continue
            if current is None:
                current = self._sequential_input(model, scope, entry)
            if is_model(entry):
                inner = _Scope(
                    path=scope.path + (_with_call(name, index),),
                    names=scope.names + (name,),
                    depth=scope.depth + 1,
                )
                if is_functional(entry):
                    outputs, _ = self._functional(entry, inner, [current])
                else:
                    outputs = self._sequential(entry, inner, [current])
                current = outputs[0]
                continue
            node = self._add_node(
                node_id=self._node_id(scope, name, index),
                label=self._label(scope, name),
                entry=entry,
                args=(current,),
                kwargs={},
                names=scope.names + (name,),
            )
            current = TensorRef(node.id)
        if current is None:
            raise ConfigError(f"Sequential model '{layer_name(model)}' has no layers", self.source)
        return [current]

    def _sequential_input(
        self, model: Mapping[str, Any], scope: _Scope, first: Mapping[str, Any]
    ) -> TensorRef:
        name = "input"
        node = self._add_node(
            node_id=self._node_id(scope, name, 0),
            label=self._label(scope, name),
            entry={"class_name": "InputLayer", "config": {}},
            args=(),
            kwargs={},
            names=scope.names + (name,),
        )
        ref = TensorRef(node.id)
        config = model.get("config")
        shape = None
        if isinstance(config, Mapping):
            shape = _shape_tuple(config.get("build_input_shape"))
        if shape is None:
            shape = _input_shape(first)
        if shape is not None:
            self.shapes[ref] = shape
        return ref

    def _sequential_output_name(self, model: Mapping[str, Any]) -> str:
        return layer_name(model)

    # Nodes ----------------------------------------------------------------------------------
    def _node_id(self, scope: _Scope, name: str, index: int) -> str:
        return "/".join(scope.path + (_with_call(name, index),))

    def _label(self, scope: _Scope, name: str) -> str:
        # What a person reads: each name shortened, so a megabyte-long name stays one line.
        return PATH_SEPARATOR.join(printable(n, MAX_NAME_CHARACTERS) for n in scope.names + (name,))

    def _add_node(
        self,
        node_id: str,
        label: str,
        entry: Mapping[str, Any],
        args: tuple[Any, ...],
        kwargs: Mapping[str, Any],
        names: tuple[str, ...],
    ) -> Node:
        if node_id in self.nodes:
            raise ConfigError(f"layer path '{label}' occurs twice", self.source)
        config = entry.get("config")
        module = entry.get("module")
        node = Node(
            id=node_id,
            label=label,
            op=str(entry.get("class_name", "")),
            module=module if isinstance(module, str) else None,
            config=config if isinstance(config, Mapping) else {},
            args=args,
            kwargs=kwargs,
            layer_path=names,
        )
        self.nodes[node_id] = node
        return node


# Helpers -------------------------------------------------------------------------------------
def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _with_call(name: str, index: int) -> str:
    return name if index == 0 else f"{name}#{index}"


def _is_history(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) in (3, 4)
        and isinstance(value[0], str)
        and isinstance(value[1], int)
        and isinstance(value[2], int)
        and not isinstance(value[1], bool)
        and (len(value) == 3 or isinstance(value[3], Mapping))
    )


def _is_constant_leaf(value: Any) -> bool:
    """Keras 2's `["_CONSTANT_VALUE", -1, value, kwargs]`: a constant first call argument."""
    return (
        isinstance(value, list)
        and len(value) in (3, 4)
        and value[0] == "_CONSTANT_VALUE"
        and (len(value) == 3 or isinstance(value[3], Mapping))
    )


def _history_leaves(structure: Any) -> list[tuple[str, int, int]]:
    """[layer, node, tensor] leaves of an input_layers/output_layers structure, in order."""
    leaves: list[tuple[str, int, int]] = []
    stack = [structure]
    while stack:
        item = stack.pop()
        if _is_history(item):
            leaves.append((item[0], item[1], item[2]))
        elif isinstance(item, Mapping):
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            stack.extend(reversed(item))
    return leaves


def _output_names(structure: Any) -> list[str]:
    """One name per output leaf: the dict key where Keras kept one, else the layer's name."""
    names: list[str] = []
    stack: list[tuple[Any, str | None]] = [(structure, None)]
    while stack:
        item, key = stack.pop()
        if _is_history(item):
            names.append(key if key is not None else item[0])
        elif isinstance(item, Mapping):
            stack.extend(reversed([(v, str(k)) for k, v in item.items()]))
        elif isinstance(item, list):
            stack.extend(reversed([(v, None) for v in item]))
    return names


def _named_outputs(names: list[str], refs: list[TensorRef]) -> list[ModelOutput]:
    seen: dict[str, int] = {}
    outputs = []
    for name, ref in zip(names, refs):
        seen[name] = seen.get(name, 0) + 1
        unique = name if seen[name] == 1 else f"{name}#{seen[name] - 1}"
        outputs.append(ModelOutput(unique, ref))
    return outputs


def _keras_tensor_history(value: Any) -> tuple[str, int, int] | None:
    if isinstance(value, Mapping) and value.get("class_name") == "__keras_tensor__":
        config = value.get("config")
        history = config.get("keras_history") if isinstance(config, Mapping) else None
        if _is_history(history):
            return (history[0], history[1], history[2])
        raise ValueError("a tensor reference has no valid keras_history")
    return None


class _Leaf(tuple):
    """Placeholder for a tensor reference inside decoded call arguments."""


def _decode_node(raw: Any, source: str) -> tuple[Any, Any, list[tuple[str, int, int]]]:
    """One inbound node -> (args, kwargs, tensor leaves), with leaves as _Leaf placeholders."""
    leaves: list[tuple[str, int, int]] = []

    def convert(value: Any, depth: int = 0) -> Any:
        if depth > 100:
            raise ConfigError("a layer's call arguments are nested too deep", source)
        try:
            history = _keras_tensor_history(value)
        except ValueError as exc:
            raise ConfigError(str(exc), source) from None
        if history is not None:
            leaves.append(history)
            return _Leaf(history)
        if isinstance(value, Mapping):
            if value.get("class_name") in ("__numpy__", "__tensor__"):
                inner = value.get("config")
                return inner.get("value") if isinstance(inner, Mapping) else None
            return {k: convert(v, depth + 1) for k, v in value.items()}
        if isinstance(value, list):
            return [convert(v, depth + 1) for v in value]
        return value

    if isinstance(raw, Mapping):  # Keras 3
        args = convert(raw.get("args", []))
        kwargs = convert(raw.get("kwargs", {}))
        return (args if isinstance(args, list) else [args]), kwargs, leaves

    def convert_keras2(value: Any, depth: int = 0) -> Any:
        # Keras 2 writes tensors inside call kwargs as bare [layer, node, tensor] lists.
        if depth > 100:
            raise ConfigError("a layer's call arguments are nested too deep", source)
        if _is_history(value) and value[0] != "_CONSTANT_VALUE":
            leaf = (value[0], value[1], value[2])
            leaves.append(leaf)
            return _Leaf(leaf)
        if isinstance(value, Mapping):
            return {k: convert_keras2(v, depth + 1) for k, v in value.items()}
        if isinstance(value, list):
            return [convert_keras2(v, depth + 1) for v in value]
        return convert(value, depth)

    if isinstance(raw, list):  # Keras 2: [[layer, node, tensor, kwargs], ...] or one leaf
        entries = [raw] if _is_history(raw) or _is_constant_leaf(raw) else raw
        refs: list[Any] = []
        kwargs: dict[str, Any] = {}
        for item in entries:
            if _is_constant_leaf(item):  # ["_CONSTANT_VALUE", -1, value, kwargs]: a constant x
                refs.append(convert(item[2]))
                if len(item) == 4:
                    kwargs.update(convert_keras2(dict(item[3])))
                continue
            if _is_history(item):
                leaf = (item[0], item[1], item[2])
                leaves.append(leaf)
                refs.append(_Leaf(leaf))
                if len(item) == 4:
                    kwargs.update(convert_keras2(dict(item[3])))
                continue
            # Structures kept by TFOpLambda: walk them for leaves.
            for nested in _history_leaves(item):
                leaves.append(nested)
                refs.append(_Leaf(nested))
        args: list[Any] = refs if len(refs) <= 1 else [refs]
        return args, kwargs, leaves
    raise ConfigError("a layer's inbound node is neither a list nor an object", source)


def _substitute(structure: Any, resolved: Mapping[tuple[str, int, int], TensorRef]) -> Any:
    if isinstance(structure, _Leaf):
        return resolved[tuple(structure)]
    if isinstance(structure, Mapping):
        return {k: _substitute(v, resolved) for k, v in structure.items()}
    if isinstance(structure, list):
        return [_substitute(v, resolved) for v in structure]
    return structure


def _ordered_refs(args: Any, kwargs: Any) -> list[TensorRef]:
    """The tensors a sub-model is called with: positional first, then keyword (not masks)."""
    refs = list(iter_refs(args))
    if isinstance(kwargs, Mapping):
        for key, value in kwargs.items():
            if key != "mask":
                refs.extend(iter_refs(value))
    return refs


def _keras_tensor_shapes(raw: Any) -> list[tuple[tuple[str, int, int], tuple[int | None, ...]]]:
    """The shapes Keras 3 wrote next to each tensor a call consumes."""
    found = []
    stack = [raw]
    while stack:
        item = stack.pop()
        if isinstance(item, Mapping):
            if item.get("class_name") == "__keras_tensor__":
                config = item.get("config")
                if isinstance(config, Mapping):
                    history = config.get("keras_history")
                    shape = _shape_tuple(config.get("shape"))
                    if _is_history(history) and shape is not None:
                        found.append(((history[0], history[1], history[2]), shape))
                continue
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _shape_tuple(value: Any) -> tuple[int | None, ...] | None:
    if not isinstance(value, list):
        return None
    if not all(v is None or (isinstance(v, int) and not isinstance(v, bool)) for v in value):
        return None
    return tuple(value)


def _input_shape(entry: Mapping[str, Any]) -> tuple[int | None, ...] | None:
    config = entry.get("config")
    if not isinstance(config, Mapping):
        return None
    for key in ("batch_shape", "batch_input_shape"):
        shape = _shape_tuple(config.get(key))
        if shape is not None:
            return shape
    return None


def find_submodels(config: Any) -> list[tuple[str, Mapping[str, Any]]]:
    """Model configs stored anywhere inside a subclassed model's config, with their key."""
    found: list[tuple[str, Mapping[str, Any]]] = []
    stack: list[tuple[str, Any, int]] = [("", config, 0)]
    while stack:
        key, item, depth = stack.pop()
        if depth > 32:
            continue
        if isinstance(item, Mapping):
            if is_model(item):
                name = key or layer_name(item)
                found.append((name, item))
                continue
            stack.extend(
                (str(k), v, depth + 1) for k, v in reversed(list(item.items()))
            )
        elif isinstance(item, list):
            stack.extend((key, v, depth + 1) for v in reversed(item))
    return found

"""ONNX models -> the neutral graph, read statically with the `onnx` package.

Nothing runs: the protobuf is parsed, its nodes become graph nodes (`module` "onnx", `op` the
ONNX operator type), and initializers stay in the file until a transfer function asks for
their values. onnxruntime is never imported here; only `--probe` runs a model.

The file may be hostile. The protobuf's size is checked before it is parsed, every tensor's
declared size against the bytes that hold it (a header may not claim a terabyte of weights),
external-data files are read only from inside the model's folder, local functions are expanded
to a bounded depth (a function that calls itself is an unknown range, not a hang), and the
opset must be one whose operator semantics this version knows. Names are made printable before
anything can show them.
"""

from __future__ import annotations

import importlib.util
import math
import os
import stat
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vaecheck.extras import install_command
from vaecheck.errors import VaecheckError, printable
from vaecheck.graph import Graph, ModelOutput, Node, TensorRef
from vaecheck.readers.archive import refuse_link

ONNX_MODULE = "onnx"
# Marks the nodes this reader made: no configuration parsed from a file can hold this object,
# so a Keras layer whose JSON names the module "onnx" never reaches the ONNX transfer functions.
ONNX_NODE = object()
# The protobuf format itself stops at 2 GB; larger models keep their weights as external data.
MAX_MODEL_BYTES = 2**31
# An external-data tensor may be large, but not larger than this: vaecheck reads weights to
# bound ranges, and the sum over a kernel's rows is computed in float64 in memory.
MAX_TENSOR_BYTES = 4 * 2**30
MAX_NODES = 1_000_000
MAX_FUNCTION_DEPTH = 16
# The first opset whose operators the range engine follows (Softmax over one axis, Split,
# Squeeze and Unsqueeze with their axes as inputs, Clip with min and max as inputs).
MIN_OPSET = 13
DEFAULT_DOMAINS = ("", "ai.onnx")

_NUMPY_TYPES = {
    1: np.float32, 2: np.uint8, 3: np.int8, 4: np.uint16, 5: np.int16, 6: np.int32,
    7: np.int64, 9: np.bool_, 10: np.float16, 11: np.float64, 12: np.uint32, 13: np.uint64,
}  # fmt: skip
TYPE_NAMES = {
    1: "float32", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64",
    8: "string", 9: "bool", 10: "float16", 11: "float64", 12: "uint32", 13: "uint64",
    16: "bfloat16",
}  # fmt: skip


class ConstantUnavailable(Exception):
    """A constant whose values cannot be read (an unsupported type, a damaged field)."""


@dataclass(eq=False)
class OnnxConstant:
    """An initializer or a Constant node's value, read on first use."""

    name: str
    dims: tuple[int, ...]
    data_type: int
    _proto: Any = field(repr=False, default=None)
    _external: tuple[str, int, int] | None = field(repr=False, default=None)  # path, offset, length
    _array: np.ndarray | None = field(repr=False, default=None)

    @property
    def size(self) -> int:
        return math.prod(self.dims)

    def array(self) -> np.ndarray:
        """The values as numpy holds them; raises ConstantUnavailable."""
        if self._array is None:
            self._array = self._load()
            self._proto = None
        return self._array

    def _load(self) -> np.ndarray:
        dtype = _NUMPY_TYPES.get(self.data_type)
        if dtype is None:
            raise ConstantUnavailable(
                f"'{self.name}' holds {TYPE_NAMES.get(self.data_type, self.data_type)} values"
            )
        if self._external is not None:
            path, offset, length = self._external
            with open(path, "rb") as handle:
                handle.seek(offset)
                data = handle.read(length)
            expected = self.size * np.dtype(dtype).itemsize
            if len(data) != expected:
                raise ConstantUnavailable(f"'{self.name}': its external data is cut short")
            return np.frombuffer(data, dtype=dtype).reshape(self.dims)
        try:
            return tensor_values(self._proto, np.dtype(dtype), self.dims)
        except (ValueError, TypeError) as exc:
            raise ConstantUnavailable(f"'{self.name}': {exc}") from None


def tensor_values(tensor: Any, dtype: np.dtype, dims: tuple[int, ...]) -> np.ndarray:
    """A TensorProto's values held in the message itself (raw_data or a typed field)."""
    if tensor.HasField("raw_data"):
        values = np.frombuffer(tensor.raw_data, dtype=dtype.newbyteorder("<")).astype(dtype)
    elif dtype == np.float32:
        values = np.asarray(tensor.float_data, dtype=dtype)
    elif dtype == np.float64:
        values = np.asarray(tensor.double_data, dtype=dtype)
    elif dtype == np.int64:
        values = np.asarray(tensor.int64_data, dtype=dtype)
    elif dtype in (np.uint32, np.uint64):
        values = np.asarray(tensor.uint64_data, dtype=dtype)
    elif dtype == np.float16:  # the bit patterns, one per int32
        values = np.asarray(tensor.int32_data, dtype=np.uint16).view(np.float16)
    else:  # int32, int16, int8, uint16, uint8, bool: one per int32
        values = np.asarray(tensor.int32_data, dtype=np.int64).astype(dtype)
    return values.reshape(dims)


@dataclass(frozen=True)
class OnnxInfo:
    """What the file says about itself, for the report and the fix."""

    producer_name: str
    producer_version: str
    opset: int
    ir_version: int


# The newest opset whose operators this version of vaecheck was checked against. A model with
# a newer one is read when the installed onnx package knows that opset (asked only then:
# importing the package costs more than a whole check).
CHECKED_OPSET = 23
_PROTOS_MODULE = "vaecheck._onnx_ml_pb2"


def onnx_protos(source: str) -> Any:
    """The onnx package's generated protobuf classes (ModelProto, ...).

    Loaded from the package's onnx_ml_pb2.py without running the package's __init__, which
    imports ml_dtypes and the helpers (0.7 s of CPU, more than the rest of a check); the
    classes are the same ones `import onnx` gives, so both can live in one process.
    """
    loaded = sys.modules.get("onnx")
    if loaded is not None and hasattr(loaded, "onnx_ml_pb2"):
        return loaded.onnx_ml_pb2
    if _PROTOS_MODULE in sys.modules:
        return sys.modules[_PROTOS_MODULE]
    try:
        spec = importlib.util.find_spec("onnx")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise VaecheckError(
            f"reading ONNX models needs the onnx package, which is not installed: {install_command('onnx')}",
            source,
        )
    path = os.path.join(list(spec.submodule_search_locations)[0], "onnx_ml_pb2.py")
    try:
        module_spec = importlib.util.spec_from_file_location(_PROTOS_MODULE, path)
        assert module_spec is not None and module_spec.loader is not None
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
    except Exception:  # a layout this reader does not know: the package's own import
        return import_onnx(source).onnx_ml_pb2
    sys.modules[_PROTOS_MODULE] = module
    return module


def import_onnx(source: str) -> Any:
    try:
        import onnx
    except ImportError:
        raise VaecheckError(
            f"reading ONNX models needs the onnx package, which is not installed: {install_command('onnx')}",
            source,
        ) from None
    return onnx


def read_onnx_graph(source: str, *, follow_links: bool = False) -> tuple[Graph, OnnxInfo]:
    """The graph of an `.onnx` file and what the file says about its maker."""
    protos = onnx_protos(source)
    try:
        if not follow_links:
            refuse_link(source, source)
        info = os.stat(source)
    except ValueError:
        raise VaecheckError("not a valid path", source) from None
    except OSError as exc:
        raise VaecheckError(f"cannot read the model ({exc.strerror})", source) from None
    if not stat.S_ISREG(info.st_mode):
        raise VaecheckError("not a regular file", source)
    if info.st_size == 0:
        raise VaecheckError("the file is empty", source)
    if info.st_size > MAX_MODEL_BYTES:
        raise VaecheckError(
            f"the file is {info.st_size:,} bytes, more than the 2 GB an ONNX protobuf can hold",
            source,
        )
    try:
        with open(source, "rb") as handle:
            # Asked for exactly what the file holds: read(n) allocates n bytes before reading.
            data = handle.read(info.st_size + 1)
    except OSError as exc:
        raise VaecheckError(f"cannot read the model ({exc.strerror})", source) from None
    try:
        model = protos.ModelProto()
        model.ParseFromString(data)
    except Exception as exc:  # protobuf's DecodeError, or RuntimeError from the C parser
        detail = str(exc).splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise VaecheckError(
            f"not a valid ONNX model: the protobuf cannot be parsed ({printable(detail)[:120]})",
            source,
        ) from None
    del data
    if not model.HasField("graph"):
        raise VaecheckError("not a valid ONNX model: it holds no graph", source)
    opset = _default_opset(model, source)
    about = OnnxInfo(
        producer_name=printable(model.producer_name),
        producer_version=printable(model.producer_version),
        opset=opset,
        ir_version=int(model.ir_version),
    )
    builder = _GraphBuilder(model, source, follow_links, protos)
    return builder.build(), about


def newest_opset(source: str) -> int:
    """The newest opset the installed onnx package knows."""
    return int(import_onnx(source).defs.onnx_opset_version())


def _default_opset(model: Any, source: str) -> int:
    versions = [int(o.version) for o in model.opset_import if o.domain in DEFAULT_DOMAINS]
    if not versions:
        raise VaecheckError("the model imports no version of the ONNX operator set", source)
    opset = max(versions)
    newest = CHECKED_OPSET if opset <= CHECKED_OPSET else newest_opset(source)
    if opset > newest:
        raise VaecheckError(
            f"the model uses ONNX opset {opset}, newer than the {newest} that the installed onnx "
            f"package knows: operators may mean something else there; upgrade onnx "
            f"(pip install -U onnx) or export with opset {newest} or older",
            source,
        )
    if opset < MIN_OPSET:
        raise VaecheckError(
            f"the model uses ONNX opset {opset}; vaecheck reads opsets {MIN_OPSET} to {newest} "
            f"(re-export it with opset_version={MIN_OPSET} or newer)",
            source,
        )
    return opset


def shape_of(value_info: Any) -> tuple[int | None, ...] | None:
    """A value_info's tensor shape, symbolic and missing dimensions as None."""
    kind = value_info.type
    if not kind.HasField("tensor_type") or not kind.tensor_type.HasField("shape"):
        return None
    return tuple(
        int(d.dim_value) if d.HasField("dim_value") else None for d in kind.tensor_type.shape.dim
    )


def elem_type_of(value_info: Any) -> int | None:
    kind = value_info.type
    return int(kind.tensor_type.elem_type) if kind.HasField("tensor_type") else None


class _GraphBuilder:
    def __init__(self, model: Any, source: str, follow_links: bool, protos: Any) -> None:
        self.model = model
        self.protos = protos
        self.source = source
        self.follow_links = follow_links
        self.folder = os.path.dirname(os.path.abspath(source))
        self.nodes: dict[str, Node] = {}
        self.tensors: dict[str, TensorRef | OnnxConstant] = {}
        self.shapes: dict[TensorRef, tuple[int | None, ...]] = {}
        self.shapes_by_name: dict[str, tuple[int | None, ...]] = {}
        self.types_by_name: dict[str, int] = {}
        self.notes: list[str] = []
        self.functions = {(f.domain, f.name): f for f in model.functions}
        self.file_size = os.path.getsize(source)

    def build(self) -> Graph:
        graph = self.model.graph
        if len(graph.node) > MAX_NODES:
            raise VaecheckError(f"the graph holds more than {MAX_NODES:,} nodes", self.source)
        for value in (*graph.input, *graph.output, *graph.value_info):
            shape = shape_of(value)
            if shape is not None:
                self.shapes_by_name[value.name] = shape
            elem = elem_type_of(value)
            if elem:
                self.types_by_name[value.name] = elem
        for tensor in graph.initializer:
            self.tensors[tensor.name] = self._constant(tensor)
        if len(graph.sparse_initializer):
            for sparse in graph.sparse_initializer:
                self._declared(sparse.values, f"sparse initializer '{printable(sparse.values.name)}'")
            self.notes.append("sparse initializers are not read: what they feed is unknown")
        for value in graph.input:
            if value.name in self.tensors:
                continue  # an initializer that may be overridden: its saved value is used
            node_id = self._unique(f"input:{value.name}")
            self.nodes[node_id] = Node(
                id=node_id,
                label=printable(value.name),
                op="Input",
                module=ONNX_MODULE,
                config={"elem_type": elem_type_of(value), "__onnx__": ONNX_NODE},
                layer_path=(node_id,),
            )
            self.tensors[value.name] = TensorRef(node_id)
        self._add_nodes(list(graph.node), {}, "", depth=0, call_stack=())
        outputs = []
        for value in graph.output:
            found = self.tensors.get(value.name)
            if found is None:
                raise VaecheckError(
                    f"output '{printable(value.name)}' is made by no node of the graph", self.source
                )
            if isinstance(found, OnnxConstant):
                node_id = self._unique(f"constant:{value.name}")
                self.nodes[node_id] = Node(
                    id=node_id, label=printable(value.name), op="Identity",
                    module=ONNX_MODULE, config={"__onnx__": ONNX_NODE}, args=(found,),
                    layer_path=(node_id,),
                )  # fmt: skip
                found = TensorRef(node_id)
            outputs.append(ModelOutput(printable(value.name), found))
        for name, ref in self.tensors.items():
            if isinstance(ref, TensorRef) and name in self.shapes_by_name:
                self.shapes[ref] = self.shapes_by_name[name]
        return Graph(nodes=self.nodes, outputs=outputs, shapes=self.shapes, notes=self.notes)

    # Tensors --------------------------------------------------------------------------------
    def _declared(self, tensor: Any, what: str) -> int:
        """The bytes a tensor declares, checked against what holds them."""
        dims = tuple(int(d) for d in tensor.dims)
        if any(d < 0 for d in dims):
            raise VaecheckError(f"{what} declares a negative dimension", self.source)
        count = math.prod(dims)
        itemsize = np.dtype(_NUMPY_TYPES[tensor.data_type]).itemsize if tensor.data_type in _NUMPY_TYPES else 1
        declared = count * itemsize
        if declared > MAX_TENSOR_BYTES:
            raise VaecheckError(
                f"{what} declares {count:,} values ({declared:,} bytes), more than the "
                f"{MAX_TENSOR_BYTES // 2**30} GB vaecheck reads for one tensor",
                self.source,
            )
        return declared

    def _constant(self, tensor: Any, name: str | None = None) -> OnnxConstant:
        shown = printable(name or tensor.name)
        what = f"tensor '{shown}'"
        declared = self._declared(tensor, what)
        dims = tuple(int(d) for d in tensor.dims)
        constant = OnnxConstant(shown, dims, int(tensor.data_type))
        if tensor.data_location == 1:  # EXTERNAL
            constant._external = self._external_location(tensor, what, declared)
            return constant
        held = _stored_count(tensor)
        if held is not None and held != math.prod(dims) and tensor.data_type in _NUMPY_TYPES:
            raise VaecheckError(
                f"{what} declares {math.prod(dims):,} values but holds {held:,}", self.source
            )
        constant._proto = tensor
        return constant

    def _external_location(self, tensor: Any, what: str, declared: int) -> tuple[str, int, int]:
        entries = {entry.key: entry.value for entry in tensor.external_data}
        location = entries.get("location", "")
        try:
            offset = int(entries.get("offset", "0") or 0)
            length = int(entries.get("length", str(declared)) or declared)
        except ValueError:
            raise VaecheckError(f"{what}: its external-data offset or length is not a number", self.source) from None
        shown = printable(location)
        if not location or "\x00" in location:
            raise VaecheckError(f"{what}: its external data names no file", self.source)
        if os.path.isabs(location) or location.startswith(("/", "\\")) or ".." in location.replace("\\", "/").split("/"):
            raise VaecheckError(
                f"{what}: its external data '{shown}' lies outside the model's folder; "
                "vaecheck reads external data only from inside it",
                self.source,
            )
        path = os.path.join(self.folder, location)
        if not self.follow_links:
            refuse_link(path, self.source, f"external data '{shown}'")
        real = os.path.realpath(path)
        if os.path.commonpath([real, os.path.realpath(self.folder)]) != os.path.realpath(self.folder):
            raise VaecheckError(
                f"{what}: its external data '{shown}' leads outside the model's folder", self.source
            )
        try:
            info = os.stat(real)
        except OSError as exc:
            raise VaecheckError(f"{what}: cannot read its external data '{shown}' ({exc.strerror})", self.source) from None
        if not stat.S_ISREG(info.st_mode):
            raise VaecheckError(f"{what}: its external data '{shown}' is not a regular file", self.source)
        if offset < 0 or length != declared or offset + length > info.st_size:
            raise VaecheckError(
                f"{what} declares {declared:,} bytes, which its external data '{shown}' "
                f"(at offset {offset:,}, {info.st_size:,} bytes long) does not hold",
                self.source,
            )
        return real, offset, length

    # Nodes ----------------------------------------------------------------------------------
    def _unique(self, base: str) -> str:
        candidate, count = base, 1
        while candidate in self.nodes:
            count += 1
            candidate = f"{base}#{count}"
        return candidate

    def _add_nodes(
        self,
        nodes: Sequence[Any],
        renamed: Mapping[str, str],
        prefix: str,
        depth: int,
        call_stack: tuple[tuple[str, str], ...],
        attributes: Mapping[str, Any] | None = None,
    ) -> None:
        """Add `nodes`, their tensor names passed through `renamed` (a function's formal
        parameters -> the caller's tensors); `prefix` keeps a function body's names apart."""

        def tensor_name(name: str) -> str:
            return renamed.get(name, f"{prefix}{name}" if prefix and name else name)

        for index, proto in enumerate(nodes):
            if len(self.nodes) > MAX_NODES:
                raise VaecheckError(f"the graph holds more than {MAX_NODES:,} nodes", self.source)
            domain = proto.domain or ""
            outputs = [tensor_name(name) for name in proto.output]
            inputs = [tensor_name(name) if name else "" for name in proto.input]
            config = self._attributes(proto, attributes)
            if domain in DEFAULT_DOMAINS and proto.op_type == "Constant":
                value = self._constant_node(proto, config)
                if value is not None and outputs:
                    self.tensors[outputs[0]] = value
                    continue
            function = self.functions.get((domain, proto.op_type))
            if function is not None:
                key = (domain, proto.op_type)
                if key not in call_stack and depth < MAX_FUNCTION_DEPTH:
                    mapping = dict(zip(function.input, inputs))
                    mapping.update(zip(function.output, outputs))
                    caller = printable(proto.name or proto.op_type)
                    self._add_nodes(
                        list(function.node),
                        mapping,
                        f"{prefix}{caller}/",
                        depth + 1,
                        (*call_stack, key),
                        config,
                    )
                    continue
                config = {**config, "__problem__": (
                    f"the function {printable(proto.op_type)} calls itself"
                    if key in call_stack
                    else f"functions nested more than {MAX_FUNCTION_DEPTH} deep"
                )}  # fmt: skip
            name = printable(proto.name) if proto.name else f"{printable(proto.op_type)}_{index}"
            node_id = self._unique(f"{prefix}{name}")
            args: list[Any] = []
            for name_in in inputs:
                if not name_in:
                    args.append(None)
                    continue
                found = self.tensors.get(name_in)
                if found is None:
                    raise VaecheckError(
                        f"node '{printable(prefix + name)}' reads '{printable(name_in)}', which no "
                        "node, input or initializer of the graph makes",
                        self.source,
                    )
                args.append(found)
            config = {
                **config,
                "__outputs__": len(outputs),
                "__domain__": printable(domain),
                "__onnx__": ONNX_NODE,
            }
            input_shapes = [self.shapes_by_name.get(name_in) for name_in in inputs]
            config["__input_shapes__"] = input_shapes
            config["__output_types__"] = [self.types_by_name.get(name_out) for name_out in outputs]
            module = ONNX_MODULE if domain in DEFAULT_DOMAINS else f"{ONNX_MODULE}:{printable(domain)}"
            self.nodes[node_id] = Node(
                id=node_id,
                label=f"{prefix}{name}" if not prefix else node_id,
                op=printable(proto.op_type),
                module=module,
                config=config,
                args=tuple(args),
                layer_path=(node_id,),
            )
            for position, name_out in enumerate(outputs):
                if name_out:
                    self.tensors[name_out] = TensorRef(node_id, position)

    def _attributes(self, proto: Any, caller: Mapping[str, Any] | None) -> dict[str, Any]:
        AttributeProto = self.protos.AttributeProto  # noqa: N806

        values: dict[str, Any] = {}
        for attribute in proto.attribute:
            if attribute.ref_attr_name:
                if caller is not None and attribute.ref_attr_name in caller:
                    values[attribute.name] = caller[attribute.ref_attr_name]
                continue
            kind = attribute.type
            if kind == AttributeProto.FLOAT:
                values[attribute.name] = float(attribute.f)
            elif kind == AttributeProto.INT:
                values[attribute.name] = int(attribute.i)
            elif kind == AttributeProto.STRING:
                values[attribute.name] = printable(attribute.s.decode("utf-8", "replace"))
            elif kind == AttributeProto.FLOATS:
                values[attribute.name] = [float(v) for v in attribute.floats]
            elif kind == AttributeProto.INTS:
                values[attribute.name] = [int(v) for v in attribute.ints]
            elif kind == AttributeProto.TENSOR:
                values[attribute.name] = self._constant(attribute.t, f"{proto.name}.{attribute.name}")
            elif kind in (AttributeProto.GRAPH, AttributeProto.GRAPHS):
                values[attribute.name] = "<subgraph>"
        return values

    def _constant_node(self, proto: Any, config: Mapping[str, Any]) -> OnnxConstant | None:
        if isinstance(config.get("value"), OnnxConstant):
            return config["value"]
        for key, dtype in (("value_float", np.float32), ("value_int", np.int64)):
            if key in config:
                return _literal(proto, np.asarray(config[key], dtype=dtype))
        for key, dtype in (("value_floats", np.float32), ("value_ints", np.int64)):
            if key in config:
                return _literal(proto, np.asarray(config[key], dtype=dtype))
        return None


def _literal(proto: Any, values: np.ndarray) -> OnnxConstant:
    name = printable(proto.output[0] if proto.output else proto.name)
    constant = OnnxConstant(name, tuple(values.shape), 1 if values.dtype == np.float32 else 7)
    constant._array = values
    return constant


def _stored_count(tensor: Any) -> int | None:
    """How many values the tensor's own fields hold, or None when it cannot be told."""
    if tensor.HasField("raw_data"):
        itemsize = np.dtype(_NUMPY_TYPES[tensor.data_type]).itemsize if tensor.data_type in _NUMPY_TYPES else None
        return len(tensor.raw_data) // itemsize if itemsize else None
    for field_name in ("float_data", "double_data", "int64_data", "uint64_data"):
        count = len(getattr(tensor, field_name))
        if count:
            return count
    count = len(tensor.int32_data)
    if count:
        return count if tensor.data_type not in (10, 16) else count
    return 0

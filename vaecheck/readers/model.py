"""Saved Keras models -> their configuration JSON and graph, read statically.

Formats: the Keras 3 `.keras` zip (or its unzipped directory), the legacy HDF5 `.h5` written by
Keras 2, tf.keras or Keras 3, and tf.keras 2 SavedModel directories through the JSON in their
`keras_metadata.pb` (decoded here by hand: no protobuf, no TensorFlow). Only the configuration
is read; nothing in the file is imported, unpickled or executed.

The file may be hostile. Sizes are checked before anything is read or parsed: the archive's
member count, config.json's declared size, the JSON's element count and nesting depth, the
HDF5 attribute's declared size; a symbolic link is refused unless the caller follows links.
Names in the configuration are made printable before anything can show them.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vaecheck.errors import VaecheckError, printable
from vaecheck.graph import Graph
from vaecheck.readers.archive import open_zip, refuse_link, stat_input
from vaecheck.readers.config import graph_from_config
from vaecheck.readers.strict import check_model_config

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06")
# Real configurations are kilobytes to a few megabytes (ResNet50: 176 KB for 177 layers);
# anything past this is refused unread.
MAX_CONFIG_BYTES = 16 * 2**20
# Parsed, a JSON value costs up to 70 bytes (an empty object in a list) for 3 bytes of text:
# the count, not the size, bounds the memory. ResNet50 holds 10,770; this allows 15,000 layers.
MAX_JSON_VALUES = 1_000_000
# Keras nests about three levels per sub-model; 512 leaves room for the 64 sub-models the
# graph reader follows, and keeps every walk of the configuration far from Python's recursion
# limit.
MAX_JSON_NESTING = 512
MAX_METADATA_BYTES = 64 * 1024
# A JSON string, and the escapes or characters inside one that `printable` would change.
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_BRACKET_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")
_ESCAPED_UNPRINTABLE = re.compile(
    r"\\[nrtbf]|\\u00[0-9a-fA-F]{2}|\\u(?:061[cC]|200[eEfF]|202[89a-eA-E]|206[6-9])"
    "|[\x7f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)


@dataclass(frozen=True)
class ModelFile:
    path: str
    format: str  # "keras" | "keras-dir" | "h5" | "savedmodel" | "onnx"
    keras_version: str | None
    config: Mapping[str, Any]
    training: Mapping[str, Any] | None  # compile_config (Keras 3) or training_config (legacy)
    graph: Graph = field(compare=False)


def read_model(path: str | os.PathLike[str], *, follow_links: bool = False) -> ModelFile:
    """Read a saved model's configuration and graph; a symbolic link only with `follow_links`."""
    source = str(path)
    fmt = sniff_model_format(source, follow_links=follow_links)
    if fmt == "onnx":
        return _read_onnx(source, follow_links)
    if fmt == "keras":
        config_text, metadata = _read_keras_zip(source)
        config = parse_json(config_text, source, "config.json")
        version = _version_from_metadata(metadata, source)
        training = config.get("compile_config") if isinstance(config, Mapping) else None
    elif fmt == "keras-dir":
        config_path = Path(source, "config.json")
        config_text = _read_bounded(config_path, "config.json", source, follow_links)
        config = parse_json(config_text, source, "config.json")
        metadata_path = Path(source, "metadata.json")
        metadata = (
            _read_bounded(metadata_path, "metadata.json", source, follow_links)
            if os.path.lexists(metadata_path)
            else None
        )
        version = _version_from_metadata(metadata, source)
        training = config.get("compile_config") if isinstance(config, Mapping) else None
    elif fmt == "savedmodel":
        config, training, version = _read_saved_model(source)
    else:
        config, training, version = _read_h5(source)
    if not isinstance(config, Mapping):
        raise VaecheckError("the model configuration is not a JSON object", source)
    check_model_config(config, source)
    graph = graph_from_config(config, source)
    return ModelFile(
        path=source,
        format=fmt,
        keras_version=version,
        config=config,
        training=training if isinstance(training, Mapping) else None,
        graph=graph,
    )


def _read_onnx(source: str, follow_links: bool) -> ModelFile:
    from vaecheck.readers.onnx import read_onnx_graph

    graph, about = read_onnx_graph(source, follow_links=follow_links)
    config = {
        "format": "onnx",
        "producer_name": about.producer_name,
        "producer_version": about.producer_version,
        "opset": about.opset,
        "ir_version": about.ir_version,
    }
    return ModelFile(
        path=source, format="onnx", keras_version=None, config=config, training=None, graph=graph
    )


def sniff_model_format(source: str, *, follow_links: bool = False) -> str:
    try:
        if not follow_links:
            refuse_link(source, source)
    except ValueError:  # a NUL byte in the path
        raise VaecheckError("not a valid path", source) from None
    info = stat_input(source, "the model")
    if stat.S_ISDIR(info.st_mode):
        if os.path.lexists(os.path.join(source, "config.json")):
            return "keras-dir"
        if os.path.isfile(os.path.join(source, KERAS_METADATA)):
            return "savedmodel"
        if os.path.isfile(os.path.join(source, "saved_model.pb")):
            raise VaecheckError(
                "a TensorFlow SavedModel without keras_metadata.pb (as Keras 3's export() "
                "writes it): it holds no Keras configuration to read statically; only probing "
                "the model (--probe) can measure what its outputs produce",
                source,
            )
        raise VaecheckError(
            "a directory with no config.json or keras_metadata.pb: not a saved Keras model", source
        )
    if not stat.S_ISREG(info.st_mode):
        raise VaecheckError("not a regular file", source)
    if source.lower().endswith(".onnx"):  # a protobuf has no signature: the name says it
        return "onnx"
    if info.st_size == 0:
        raise VaecheckError("the file is empty", source)
    try:
        with open(source, "rb") as handle:
            head = handle.read(8)
    except OSError as exc:
        raise VaecheckError(f"cannot read the model ({exc.strerror})", source) from None
    if head.startswith(ZIP_SIGNATURES):
        return "keras"
    if head == HDF5_SIGNATURE:
        return "h5"
    raise VaecheckError(_not_a_model(head, source), source)


# What a file given as the model is, when it is no Keras model: said plainly, with the way on.
NEVER_UNPICKLES = (
    "vaecheck never unpickles a file (unpickling runs code stored in it); export the model to "
    "ONNX (torch.onnx.export) and run vaecheck on the .onnx file"
)
NPY_MAGIC = b"\x93NUMPY"
DATA_SUFFIXES = (".npy", ".npz", ".csv", ".tsv", ".tab")


def _not_a_model(head: bytes, source: str) -> str:
    if head.startswith(NPY_MAGIC):
        return "a .npy array, not a Keras model: it is data (give the model first, then the data)"
    # Pickle protocol 2 and later open with PROTO (0x80) and the protocol number.
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        suffix = os.path.splitext(source)[1].lower()
        what = (
            "a PyTorch file saved in the legacy pickle format"
            if suffix in (".pt", ".pth")
            else "a Python pickle (PyTorch, joblib or scikit-learn write these)"
        )
        return f"{what}, not a Keras model; {NEVER_UNPICKLES}"
    if os.path.splitext(source)[1].lower() in DATA_SUFFIXES:
        return "a data file, not a Keras model (give the model first, then the data)"
    return "not a Keras model: neither a .keras zip archive nor an HDF5 .h5 file"


def _refuse_other_archive(names: list[str], source: str) -> None:
    """A zip without config.json: name the archives users mistake for a model."""
    if any(name == "data.pkl" or name.endswith("/data.pkl") for name in names):
        raise VaecheckError(
            "a PyTorch checkpoint (torch.save: a zip around a pickle), not a Keras model; "
            + NEVER_UNPICKLES,
            source,
        )
    if names and all(name.endswith(".npy") for name in names if not name.endswith("/")):
        arrays = ", ".join(printable(name[:-4], MAX_NAME_LENGTH) for name in names[:5])
        raise VaecheckError(
            f"an .npz archive of arrays ({arrays}), not a Keras model: it is data "
            "(give the model first, then the data)",
            source,
        )


MAX_NAME_LENGTH = 60


def looks_like_model(path: str) -> bool:
    """Whether `path` is a saved Keras model vaecheck reads, judged cheaply (for messages)."""
    try:
        if not os.path.exists(path):
            return False
        fmt = sniff_model_format(path)
        if fmt == "keras":
            with zipfile.ZipFile(path) as archive:
                return "config.json" in archive.NameToInfo
        if fmt == "h5":
            import h5py

            with h5py.File(path, "r", locking=False) as handle:
                return "model_config" in handle.attrs
        return True
    except Exception:  # anything unreadable is not a model, for this question
        return False


def parse_json(
    text: str | bytes,
    source: str,
    what: str,
    object_hook: Callable[[dict[str, Any]], Any] | None = None,
) -> Any:
    """Parse a model's JSON within bounds of size, element count and depth; every string in
    the result is printable (a name can be shown as it is)."""
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    if len(data) > MAX_CONFIG_BYTES:
        raise VaecheckError(f"{what} is larger than {MAX_CONFIG_BYTES // 2**20} MB", source)
    # Every value but the first in a container follows a comma: an upper bound, counted in C.
    values = data.count(b",") + data.count(b"[") + data.count(b"{")
    if values > MAX_JSON_VALUES:
        raise VaecheckError(
            f"{what} holds more than {MAX_JSON_VALUES:,} JSON values; vaecheck reads models "
            f"up to that size",
            source,
        )
    if _nesting_depth(data, MAX_JSON_NESTING) > MAX_JSON_NESTING:
        raise VaecheckError(f"{what} is nested more than {MAX_JSON_NESTING} levels deep", source)
    try:
        decoded = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise VaecheckError(f"{what} is not UTF-8 text (byte {exc.start:,})", source) from None
    del data
    try:
        parsed = json.loads(decoded, object_hook=object_hook)
    except (ValueError, RecursionError) as exc:
        detail = str(exc).split(":")[0] if isinstance(exc, ValueError) else "nested too deep"
        raise VaecheckError(f"{what} is not valid JSON ({detail})", source) from None
    # Plain ASCII without escapes or DEL has nothing `printable` would change (JSON refuses raw
    # control characters in strings): the expression need not run on most configurations.
    maybe_unprintable = not decoded.isascii() or "\\" in decoded or "\x7f" in decoded
    if maybe_unprintable and _ESCAPED_UNPRINTABLE.search(decoded):
        parsed = _printable_strings(parsed)
    return parsed


def _nesting_depth(data: bytes, limit: int) -> int:
    """The deepest bracket nesting outside strings (or at most `limit` when it cannot exceed it).

    Done before parsing, so that json's recursion is never the thing that stops vaecheck; in C
    (a regular expression, a translation, a cumulative sum) so that a large file costs little.
    """
    if data.count(b"[") + data.count(b"{") <= limit:
        return 0
    import numpy as np

    if b"\\" in data:
        outside = _JSON_STRING.sub(b"", data)
    else:
        # With no escapes every quote opens or closes a string: what lies outside strings is
        # every other piece between quotes, found at C speed (the expression costs 20x more).
        outside = b"".join(data.split(b'"')[::2])
    brackets = outside.translate(None, _NOT_BRACKETS)
    steps = np.frombuffer(brackets.translate(_BRACKET_STEPS), dtype=np.int8)
    return int(np.cumsum(steps, dtype=np.int64).max(initial=0))


def _printable_strings(value: Any) -> Any:
    """The parsed JSON with every key and string value passed through `printable`."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, list):
        return [_printable_strings(item) for item in value]
    if isinstance(value, dict):
        return {printable(key): _printable_strings(item) for key, item in value.items()}
    return value


def _read_keras_zip(source: str) -> tuple[bytes, bytes | None]:
    try:
        with open(source, "rb") as stream:
            archive = open_zip(stream, source, "a .keras archive", "not a valid .keras archive")
            with archive:
                if "config.json" not in archive.NameToInfo:
                    _refuse_other_archive(archive.namelist(), source)
                config = _read_member(archive, "config.json", source, required=True)
                metadata = _read_member(archive, "metadata.json", source, required=False)
    except OSError as exc:
        raise VaecheckError(f"cannot read the model ({exc.strerror or exc})", source) from None
    assert config is not None
    return config, metadata


def _read_member(
    archive: zipfile.ZipFile, name: str, source: str, required: bool
) -> bytes | None:
    try:
        info = archive.getinfo(name)
    except KeyError:
        if required:
            raise VaecheckError(
                f"the archive has no {name}: not a Keras 3 model file", source
            ) from None
        return None
    if info.file_size > MAX_CONFIG_BYTES:
        raise VaecheckError(
            f"{name} declares {info.file_size:,} bytes, more than the "
            f"{MAX_CONFIG_BYTES // (1024 * 1024)} MB a model configuration may have",
            source,
        )
    try:
        with archive.open(info) as member:
            # At most one byte past the declared size: zipfile inflates as much as it is asked
            # for before it cuts to the declared size, so a lying header must not set the ask.
            data = member.read(info.file_size + 1)
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError) as exc:
        raise VaecheckError(f"cannot read {name} from the archive ({exc})", source) from None
    except Exception as exc:  # zlib and lzma raise their own error types on corrupt data
        raise VaecheckError(f"cannot read {name} from the archive ({exc})", source) from None
    if len(data) > MAX_CONFIG_BYTES:
        raise VaecheckError(f"{name} is larger than its size header says", source)
    return data


def _read_bounded(path: Path, what: str, source: str, follow_links: bool = False) -> bytes:
    """A file of an unzipped model folder: a regular file (never a FIFO that would block), of
    bounded size, and no symbolic link unless links are followed."""
    try:
        if not follow_links:
            refuse_link(str(path), source, what)
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
        fd = os.open(path, flags)
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise VaecheckError(f"{what} is not a regular file", source)
            if info.st_size > MAX_CONFIG_BYTES:
                raise VaecheckError(
                    f"{what} is {info.st_size:,} bytes, more than the "
                    f"{MAX_CONFIG_BYTES // 2**20} MB a model configuration may have",
                    source,
                )
            return handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise VaecheckError(f"cannot read {what} ({exc.strerror})", source) from None


def _version_from_metadata(metadata: bytes | None, source: str) -> str | None:
    # metadata.json is a line of two keys; a large one is not worth parsing.
    if metadata is None or len(metadata) > MAX_METADATA_BYTES:
        return None
    try:
        parsed = json.loads(metadata)
    except (ValueError, RecursionError):
        return None
    version = parsed.get("keras_version") if isinstance(parsed, Mapping) else None
    return version if isinstance(version, str) else None


def _read_h5(source: str) -> tuple[Any, Any, str | None]:
    import h5py  # only when an .h5 is read: it is the slowest import of the static path

    try:
        handle = h5py.File(source, "r", locking=False)
    except OSError as exc:
        raise VaecheckError(f"not a readable HDF5 file ({_first_line(exc)})", source) from None
    # Only attributes of the root group are read: no dataset, group or link is opened, so
    # external links, external storage and virtual datasets are never followed.
    with handle:
        try:
            present = set(handle.attrs.keys())
        except Exception as exc:  # a damaged attribute table raises from deep inside h5py
            raise VaecheckError(
                f"cannot read the file's attributes ({_first_line(exc)})", source
            ) from None
        if "model_config" not in present:
            raise VaecheckError(_h5_without_model(handle, present), source)
        config_text = _h5_text_attr(handle, "model_config", source)
        training_text = (
            _h5_text_attr(handle, "training_config", source) if "training_config" in present else None
        )
        version = (
            _h5_text_attr(handle, "keras_version", source) if "keras_version" in present else None
        )
    config = parse_json(config_text, source, "model_config")
    training = parse_json(training_text, source, "training_config") if training_text else None
    return config, training, version


def _h5_without_model(handle: Any, attributes: set[str]) -> str:
    """An HDF5 file with no model_config: weights saved alone, or data."""
    import h5py

    # Names of the root's links only: no link is followed, no dataset read.
    names = list(handle.keys())
    weights = "layer_names" in attributes or any(
        name in ("model_weights", "layers", "vars", "_layer_checkpoint_dependencies")
        for name in names
    )
    if weights:
        return "this HDF5 file has no model_config: a weights-only file, not a saved model"
    datasets = [
        name
        for name in names
        if isinstance(handle.get(name, getlink=True), h5py.HardLink)
        and handle.get(name, getclass=True) is h5py.Dataset
    ]
    if datasets:
        shown = ", ".join(printable(name, MAX_NAME_LENGTH) for name in datasets[:5])
        more = f" and {len(datasets) - 5} more" if len(datasets) > 5 else ""
        return (
            f"this HDF5 file has no model_config: it holds datasets ({shown}{more}) and no "
            "model, so it is data (give the model first, then the data)"
        )
    return "this HDF5 file has no model_config: not a saved Keras model"


# tf.keras SavedModel: keras_metadata.pb ---------------------------------------------------------
KERAS_METADATA = "keras_metadata.pb"
# The metadata repeats each layer's configuration next to the model's: a few times the config.
MAX_SAVED_METADATA_BYTES = 4 * MAX_CONFIG_BYTES
# Field numbers of keras/protobuf/saved_metadata.proto (KERAS_FACTS §3).
SAVED_METADATA_NODES = 1
SAVED_OBJECT_NODE_ID, SAVED_OBJECT_NODE_PATH, SAVED_OBJECT_METADATA = 2, 3, 5
WIRE_VARINT, WIRE_FIXED64, WIRE_BYTES, WIRE_FIXED32 = 0, 1, 2, 5


class ProtobufError(ValueError):
    pass


def protobuf_fields(data: bytes) -> list[tuple[int, int, int | bytes]]:
    """The (field number, wire type, value) triples of one protobuf message, in order.

    Varints come back as ints and length-delimited fields as bytes (sub-messages are decoded
    by calling this again); fixed-width fields as their raw bytes.
    """
    fields: list[tuple[int, int, int | bytes]] = []
    position = 0
    end = len(data)
    while position < end:
        key, position = _varint(data, position)
        number, wire = key >> 3, key & 0x7
        if number == 0:
            raise ProtobufError("field number 0")
        value: int | bytes
        if wire == WIRE_VARINT:
            value, position = _varint(data, position)
        elif wire == WIRE_BYTES:
            length, position = _varint(data, position)
            if length > end - position:
                raise ProtobufError("a field runs past the end of the message")
            value = data[position : position + length]
            position += length
        elif wire in (WIRE_FIXED64, WIRE_FIXED32):
            width = 8 if wire == WIRE_FIXED64 else 4
            if width > end - position:
                raise ProtobufError("a field runs past the end of the message")
            value = data[position : position + width]
            position += width
        else:  # groups (3, 4) are long deprecated and not in this message
            raise ProtobufError(f"wire type {wire}")
        fields.append((number, wire, value))
    return fields


def _varint(data: bytes, position: int) -> tuple[int, int]:
    result = 0
    for shift in range(0, 70, 7):
        if position >= len(data):
            raise ProtobufError("a number runs past the end of the message")
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, position
    raise ProtobufError("a number longer than 10 bytes")


def saved_model_root_metadata(data: bytes) -> bytes | None:
    """The metadata JSON of the root object (node path "root", node id 0) in keras_metadata.pb."""
    for number, wire, node in protobuf_fields(data):
        if number != SAVED_METADATA_NODES or wire != WIRE_BYTES:
            continue
        assert isinstance(node, bytes)
        node_id, path, metadata = 0, None, None
        for field_number, field_wire, value in protobuf_fields(node):
            if field_number == SAVED_OBJECT_NODE_ID and field_wire == WIRE_VARINT:
                node_id = value  # type: ignore[assignment]
            elif field_number == SAVED_OBJECT_NODE_PATH and field_wire == WIRE_BYTES:
                path = value
            elif field_number == SAVED_OBJECT_METADATA and field_wire == WIRE_BYTES:
                metadata = value
        if path == b"root" or (path is None and node_id == 0 and metadata is not None):
            return metadata  # type: ignore[return-value]
    return None


def _read_saved_model(source: str) -> tuple[Any, Any, str | None]:
    path = Path(source, KERAS_METADATA)
    try:
        if path.stat().st_size > MAX_SAVED_METADATA_BYTES:
            raise VaecheckError(
                f"{KERAS_METADATA} is larger than {MAX_SAVED_METADATA_BYTES // 2**20} MB", source
            )
        data = path.read_bytes()
    except OSError as exc:
        raise VaecheckError(f"cannot read {KERAS_METADATA} ({exc.strerror})", source) from None
    try:
        metadata_text = saved_model_root_metadata(data)
    except ProtobufError as exc:
        raise VaecheckError(
            f"{KERAS_METADATA} is not a valid protobuf message ({exc})", source
        ) from None
    if metadata_text is None:
        raise VaecheckError(f"{KERAS_METADATA} has no root object", source)
    metadata = parse_json(metadata_text, source, KERAS_METADATA, object_hook=_untupled)
    if not isinstance(metadata, Mapping):
        raise VaecheckError(f"the root metadata in {KERAS_METADATA} is not a JSON object", source)
    config = metadata.get("model_config")
    if not isinstance(config, Mapping):
        # A subclassed model records only its own get_config(); the graph reader looks there
        # for sub-model configurations.
        config = {
            "class_name": metadata.get("class_name", "Model"),
            "config": metadata.get("config"),
        }
    version = metadata.get("keras_version")
    return config, metadata.get("training_config"), version if isinstance(version, str) else None


def _untupled(value: dict[str, Any]) -> Any:
    """SavedModel metadata writes tuples as {"class_name": "__tuple__", "items": [...]}."""
    if value.get("class_name") == "__tuple__" and isinstance(value.get("items"), list):
        return value["items"]
    return value


def _h5_text_attr(handle: Any, name: str, source: str) -> str:
    """A text attribute, its declared size checked before h5py allocates room for it."""
    import h5py

    try:
        declared = handle.attrs.get_id(name)
        shape = declared.shape
        dtype = declared.dtype
        if shape is None or math.prod(shape) > 1:
            raise VaecheckError(f"the {name} attribute is not text", source)
        string = h5py.check_string_dtype(dtype)
        # A variable-length string's bytes sit in the file's heap, bounded by the file.
        size = dtype.itemsize if string is None or string.length is not None else 0
        if size > MAX_CONFIG_BYTES or declared.get_storage_size() > MAX_CONFIG_BYTES:
            raise VaecheckError(
                f"the {name} attribute declares {max(size, declared.get_storage_size()):,} "
                f"bytes, more than the {MAX_CONFIG_BYTES // 2**20} MB a model configuration "
                f"may have",
                source,
            )
        value = handle.attrs[name]
    except VaecheckError:
        raise
    except Exception as exc:  # h5py raises OSError, TypeError, KeyError or RuntimeError here
        raise VaecheckError(f"cannot read the {name} attribute ({_first_line(exc)})", source) from None
    if hasattr(value, "tolist") and not isinstance(value, (bytes, str)):
        value = value.tolist()
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError as exc:
            # Keras decodes strictly too: a file it cannot read is not read here with guesses.
            raise VaecheckError(
                f"the {name} attribute is not UTF-8 text (byte {exc.start:,})", source
            ) from None
    if not isinstance(value, str):
        raise VaecheckError(f"the {name} attribute is not text", source)
    if _has_lone_surrogate(value):
        raise VaecheckError(f"the {name} attribute is not UTF-8 text", source)
    return value


def _has_lone_surrogate(text: str) -> bool:
    """h5py hands undecodable bytes of a text attribute back as lone surrogates."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]

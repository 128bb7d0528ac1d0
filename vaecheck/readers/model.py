"""Saved Keras models -> their configuration JSON and graph, read statically.

Formats: the Keras 3 `.keras` zip (or its unzipped directory) and the legacy HDF5 `.h5`
written by Keras 2, tf.keras or Keras 3. Only `config.json` / the `model_config` attribute is
read; nothing in the file is imported, unpickled or executed.
"""

from __future__ import annotations

import json
import os
import stat
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path
from typing import Any

from vaecheck.errors import VaecheckError
from vaecheck.graph import Graph
from vaecheck.readers.config import graph_from_config

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06")
# Real configurations are kilobytes to a few megabytes; anything past this is refused unread.
MAX_CONFIG_BYTES = 64 * 1024 * 1024
MAX_JSON_NESTING = 2000
# The nesting of a config is measured on its brackets outside strings, a segment at a time.
_DEPTH_SEGMENT = 2**20
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_BRACKET_STEP = [0] * 256
_BRACKET_STEP[ord("[")] = _BRACKET_STEP[ord("{")] = 1
_BRACKET_STEP[ord("]")] = _BRACKET_STEP[ord("}")] = -1


@dataclass(frozen=True)
class ModelFile:
    path: str
    format: str  # "keras" | "keras-dir" | "h5"
    keras_version: str | None
    config: Mapping[str, Any]
    training: Mapping[str, Any] | None  # compile_config (Keras 3) or training_config (legacy)
    graph: Graph = field(compare=False)


def read_model(path: str | os.PathLike[str]) -> ModelFile:
    source = str(path)
    fmt = sniff_model_format(source)
    if fmt == "keras":
        config_text, metadata = _read_keras_zip(source)
        config = parse_json(config_text, source, "config.json")
        version = _version_from_metadata(metadata, source)
        training = config.get("compile_config") if isinstance(config, Mapping) else None
    elif fmt == "keras-dir":
        config_text = _read_bounded(Path(source, "config.json"), "config.json", source)
        config = parse_json(config_text, source, "config.json")
        metadata_path = Path(source, "metadata.json")
        metadata = (
            _read_bounded(metadata_path, "metadata.json", source) if metadata_path.is_file() else None
        )
        version = _version_from_metadata(metadata, source)
        training = config.get("compile_config") if isinstance(config, Mapping) else None
    else:
        config, training, version = _read_h5(source)
    if not isinstance(config, Mapping):
        raise VaecheckError("the model configuration is not a JSON object", source)
    graph = graph_from_config(config, source)
    return ModelFile(
        path=source,
        format=fmt,
        keras_version=version,
        config=config,
        training=training if isinstance(training, Mapping) else None,
        graph=graph,
    )


def sniff_model_format(source: str) -> str:
    try:
        info = os.stat(source)
    except FileNotFoundError:
        raise VaecheckError("no such file or directory", source) from None
    except OSError as exc:
        raise VaecheckError(f"cannot read the model ({exc.strerror})", source) from None
    if stat.S_ISDIR(info.st_mode):
        if os.path.isfile(os.path.join(source, "config.json")):
            return "keras-dir"
        if os.path.isfile(os.path.join(source, "saved_model.pb")):
            raise VaecheckError(
                "a TensorFlow SavedModel directory; vaecheck reads .keras and .h5 models",
                source,
            )
        raise VaecheckError("a directory with no config.json: not a saved Keras model", source)
    if not stat.S_ISREG(info.st_mode):
        raise VaecheckError("not a regular file", source)
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
    raise VaecheckError(
        "not a Keras model: neither a .keras zip archive nor an HDF5 .h5 file", source
    )


def parse_json(text: str | bytes, source: str, what: str) -> Any:
    if _nesting_depth_exceeds(text, MAX_JSON_NESTING):
        raise VaecheckError(f"{what} is nested more than {MAX_JSON_NESTING} levels deep", source)
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        detail = str(exc).split(":")[0] if isinstance(exc, ValueError) else "nested too deep"
        raise VaecheckError(f"{what} is not valid JSON ({detail})", source) from None


def _nesting_depth_exceeds(text: str | bytes, limit: int) -> bool:
    """A cheap bracket count, so that json's recursion is never the thing that stops us."""
    data = text.encode("utf-8", "replace") if isinstance(text, str) else text
    # Counting only needs to run when the text could possibly be that deep.
    if data.count(b"[") + data.count(b"{") <= limit:
        return False
    if b'\\"' in data:
        return _nesting_depth_exceeds_escaped(data, limit)
    # No quote is escaped, so every quote opens or closes a string: the pieces between quotes
    # alternate outside and inside strings. Done a segment at a time in C, not byte by byte in
    # Python (a 500-layer config took 15 ms), and still stopping early on a hostile file.
    depth = 0
    inside = False
    for start in range(0, len(data), _DEPTH_SEGMENT):
        pieces = data[start : start + _DEPTH_SEGMENT].split(b'"')
        outside = pieces[1::2] if inside else pieces[::2]
        inside ^= len(pieces) % 2 == 0
        brackets = b"".join(outside).translate(None, _NOT_BRACKETS)
        if brackets:
            depths = list(accumulate(map(_BRACKET_STEP.__getitem__, brackets), initial=depth))
            if max(depths) > limit:
                return True
            depth = depths[-1]
    return False


def _nesting_depth_exceeds_escaped(data: bytes, limit: int) -> bool:
    depth = 0
    in_string = False
    escaped = False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


def _read_keras_zip(source: str) -> tuple[bytes, bytes | None]:
    try:
        archive = zipfile.ZipFile(source)
    except zipfile.BadZipFile as exc:
        raise VaecheckError(f"not a valid .keras archive ({exc})", source) from None
    except OSError as exc:
        raise VaecheckError(f"cannot read the model ({exc.strerror or exc})", source) from None
    with archive:
        config = _read_member(archive, "config.json", source, required=True)
        metadata = _read_member(archive, "metadata.json", source, required=False)
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
            # Read at most one byte past the limit: a lying size header cannot make us read more.
            data = member.read(MAX_CONFIG_BYTES + 1)
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError) as exc:
        raise VaecheckError(f"cannot read {name} from the archive ({exc})", source) from None
    except Exception as exc:  # zlib and lzma raise their own error types on corrupt data
        raise VaecheckError(f"cannot read {name} from the archive ({exc})", source) from None
    if len(data) > MAX_CONFIG_BYTES:
        raise VaecheckError(f"{name} is larger than its size header says", source)
    return data


def _read_bounded(path: Path, what: str, source: str) -> bytes:
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise VaecheckError(f"{what} is larger than {MAX_CONFIG_BYTES:,} bytes", source)
        return path.read_bytes()
    except OSError as exc:
        raise VaecheckError(f"cannot read {what} ({exc.strerror})", source) from None


def _version_from_metadata(metadata: bytes | None, source: str) -> str | None:
    if metadata is None:
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
        handle = h5py.File(source, "r")
    except OSError as exc:
        raise VaecheckError(f"not a readable HDF5 file ({exc})", source) from None
    with handle:
        attrs = handle.attrs
        if "model_config" not in attrs:
            raise VaecheckError(
                "this HDF5 file has no model_config: a weights-only file, not a saved model",
                source,
            )
        config_text = _h5_text_attr(attrs, "model_config", source)
        training_text = (
            _h5_text_attr(attrs, "training_config", source)
            if "training_config" in attrs
            else None
        )
        version = _h5_text_attr(attrs, "keras_version", source) if "keras_version" in attrs else None
    config = parse_json(config_text, source, "model_config")
    training = parse_json(training_text, source, "training_config") if training_text else None
    return config, training, version


def _h5_text_attr(attrs: Any, name: str, source: str) -> str:
    try:
        value = attrs[name]
    except Exception as exc:  # h5py raises OSError, TypeError or KeyError on odd attributes
        raise VaecheckError(f"cannot read the {name} attribute ({exc})", source) from None
    if hasattr(value, "tolist") and not isinstance(value, (bytes, str)):
        value = value.tolist()
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        raise VaecheckError(f"the {name} attribute is not text", source)
    if len(value) > MAX_CONFIG_BYTES:
        raise VaecheckError(f"the {name} attribute is larger than {MAX_CONFIG_BYTES:,} bytes", source)
    return value

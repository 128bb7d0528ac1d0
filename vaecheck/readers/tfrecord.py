"""TFRecord files of `tf.train.Example` as a DataSource: one row per record, read in order.

Read without TensorFlow: the record framing (length, masked CRC-32C of the length, data,
masked CRC-32C of the data) is checked here with google-crc32c, and each record is parsed by
protobuf (both in the `tfrecord` extra) with the `tf.train.Example` schema built below as a
descriptor, in a pool of its own so that it never clashes with TensorFlow's when both are
loaded. A record that fails its CRC, declares more bytes than the file holds, or does not
parse is exit 2 naming the file and the record's index (from 0).

`--key FEATURE` names the feature: a `float_list` (float32) or `int64_list` gives its values
as the row; a `bytes_list` holding one encoded image per record (PNG, JPEG, ...) is decoded
with Pillow (the `images` extra) into an array of height × width × channels. Every record
must give the same number of values. Files are uncompressed or GZIP (recognised by content).
"""

from __future__ import annotations

import functools
import gzip
import io
import math
import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np

from vaecheck.errors import MAX_NAME_CHARACTERS, VaecheckError, printable
from vaecheck.readers.source import DataSource, Index, _open_regular, _reason
from vaecheck.readers.optional import require
from vaecheck.readers.urls import is_url, remote_errors, url_filesystem

TFRECORD_SUFFIXES = (".tfrecord", ".tfrecords", ".tfrec", ".tfrecord.gz", ".tfrecords.gz")
GZIP_MAGIC = b"\x1f\x8b"
HEADER = struct.Struct("<QI")
FOOTER = struct.Struct("<I")
CRC_MASK_DELTA = 0xA282EAD8
# One record is parsed at a time: bound what it may claim, whatever the file's size.
MAX_RECORD_BYTES = 512 * 2**20
MAX_LISTED = 20
KINDS = ("float_list", "int64_list", "bytes_list")


def is_tfrecord_name(path: str) -> bool:
    return path.lower().endswith(TFRECORD_SUFFIXES)


@dataclass(frozen=True)
class _Feature:
    name: str
    kind: str  # "float_list" | "int64_list" | "bytes_list"
    shape: tuple[int, ...]  # of one row
    dtype: np.dtype


def open_tfrecord(path: str, key: str | None = None, shown: str | None = None) -> DataSource:
    """Open a TFRecord file of tf.train.Example; `key` names the feature to read."""
    shown = shown or path
    _parser(shown)
    compressed = _is_gzip(path)
    feature: _Feature | None = None
    records = 0
    # Counting the records skips their data (where the file can seek): the CRCs of the data are
    # checked as each record is read.
    for index, record in _records(path, compressed, shown, skip_after=1):
        if feature is None:
            assert record is not None
            feature = _describe(_parse(record, index, shown), key, index, shown)
        records += 1
    if feature is None:
        raise VaecheckError("the file holds no records", shown)
    return DataSource(
        path=shown,
        description=printable(f"{os.path.basename(path)}[{feature.name}]", MAX_NAME_CHARACTERS),
        shape=(records, *feature.shape),
        dtype=feature.dtype,
        fortran_order=False,
        _body=_RecordsBody(path, compressed, feature),
    )


@functools.cache
def _example_class() -> Any:
    """tf.train.Example's message class, from its schema (tensorflow/core/example/*.proto)."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    F = descriptor_pb2.FieldDescriptorProto
    schema = descriptor_pb2.FileDescriptorProto(
        name="vaecheck/tensorflow_example.proto", package="tensorflow", syntax="proto3"
    )

    def message(name: str) -> Any:
        added = schema.message_type.add()
        added.name = name
        return added

    def field(owner: Any, name: str, number: int, kind: int, label: int = F.LABEL_OPTIONAL,
              type_name: str | None = None) -> Any:
        added = owner.field.add(name=name, number=number, type=kind, label=label)
        if type_name is not None:
            added.type_name = type_name
        return added

    field(message("BytesList"), "value", 1, F.TYPE_BYTES, F.LABEL_REPEATED)
    field(message("FloatList"), "value", 1, F.TYPE_FLOAT, F.LABEL_REPEATED).options.packed = True
    field(message("Int64List"), "value", 1, F.TYPE_INT64, F.LABEL_REPEATED).options.packed = True
    feature = message("Feature")
    feature.oneof_decl.add(name="kind")
    for number, (name, type_name) in enumerate(
        [("bytes_list", ".tensorflow.BytesList"), ("float_list", ".tensorflow.FloatList"),
         ("int64_list", ".tensorflow.Int64List")], start=1
    ):
        field(feature, name, number, F.TYPE_MESSAGE, type_name=type_name).oneof_index = 0
    features = message("Features")
    entry = features.nested_type.add(name="FeatureEntry")
    entry.options.map_entry = True
    field(entry, "key", 1, F.TYPE_STRING)
    field(entry, "value", 2, F.TYPE_MESSAGE, type_name=".tensorflow.Feature")
    field(features, "feature", 1, F.TYPE_MESSAGE, F.LABEL_REPEATED, ".tensorflow.Features.FeatureEntry")
    field(message("Example"), "features", 1, F.TYPE_MESSAGE, type_name=".tensorflow.Features")
    pool = descriptor_pool.DescriptorPool()
    pool.Add(schema)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("tensorflow.Example"))


def _parser(shown: str) -> None:
    require("google.protobuf", "TFRecord data", "tfrecord", shown, package="protobuf")
    require("google_crc32c", "TFRecord data", "tfrecord", shown)


def _is_gzip(path: str) -> bool:
    stream, _ = _open_input(path)
    with stream:
        return stream.read(2) == GZIP_MAGIC


def _open_input(path: str) -> tuple[BinaryIO, int]:
    """The file to read and its size: a URL through fsspec, a local file after the usual checks."""
    if is_url(path):
        filesystem, inside = url_filesystem(path)
        with remote_errors(path):
            return filesystem.open(inside, "rb"), int(filesystem.size(inside))
    raw = _open_regular(path)
    return raw, os.fstat(raw.fileno()).st_size


def _masked_crc(data: bytes | memoryview) -> int:
    import google_crc32c

    crc = google_crc32c.value(bytes(data) if isinstance(data, memoryview) else data)
    return (((crc >> 15) | (crc << 17)) + CRC_MASK_DELTA) & 0xFFFFFFFF


def _records(
    path: str, compressed: bool, shown: str, skip_after: int | None = None
) -> Iterator[tuple[int, bytes | None]]:
    """Each record's data, CRCs checked, with its index in the file; from record `skip_after`
    on, an uncompressed file's data is skipped (None) and only the framing checked."""
    raw, size = _open_input(path)
    stream: BinaryIO = gzip.GzipFile(fileobj=raw, mode="rb") if compressed else raw  # type: ignore[assignment]
    index = 0
    try:
        with raw, stream:
            while True:
                header = _read(stream, HEADER.size, shown, index)
                if not header:
                    return
                if len(header) < HEADER.size:
                    raise VaecheckError(f"record {index}: the file ends inside its header", shown)
                length, length_crc = HEADER.unpack(header)
                if _masked_crc(header[:8]) != length_crc:
                    raise VaecheckError(f"record {index}: its length fails the CRC check", shown)
                left = size - raw.tell() if not compressed else None
                if length > MAX_RECORD_BYTES or (left is not None and length + FOOTER.size > left):
                    limit = f"the {left:,} left in the file" if left is not None and length + FOOTER.size > left else f"the {MAX_RECORD_BYTES:,} a record may have"
                    raise VaecheckError(f"record {index}: declares {length:,} bytes, more than {limit}", shown)
                if skip_after is not None and index >= skip_after and not compressed:
                    raw.seek(length, os.SEEK_CUR)
                    if len(_read(stream, FOOTER.size, shown, index)) < FOOTER.size:
                        raise VaecheckError(f"record {index}: the file ends inside it", shown)
                    yield index, None
                    index += 1
                    continue
                data = _read(stream, length, shown, index)
                footer = _read(stream, FOOTER.size, shown, index)
                if len(data) < length or len(footer) < FOOTER.size:
                    raise VaecheckError(f"record {index}: the file ends inside it (it declares {length:,} bytes)", shown)
                if _masked_crc(data) != FOOTER.unpack(footer)[0]:
                    raise VaecheckError(f"record {index}: its data fails the CRC check", shown)
                yield index, data
                index += 1
    except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise VaecheckError(f"record {index}: cannot read it ({_reason(exc)})", shown) from None
    except Exception as exc:
        if not is_url(path) or isinstance(exc, VaecheckError):
            raise
        # A storage client's own error (botocore, aiohttp, ...), mid-file.
        text = (str(exc).strip() or type(exc).__name__).splitlines()[0]
        raise VaecheckError(f"record {index}: cannot read it ({text})", shown) from None


def _read(stream: BinaryIO, size: int, shown: str, index: int) -> bytes:
    parts: list[bytes] = []
    wanted = size
    while wanted > 0:
        part = stream.read(min(wanted, 2**24))
        if not part:
            break
        parts.append(part)
        wanted -= len(part)
    return b"".join(parts)


def _parse(record: bytes, index: int, shown: str) -> Any:
    from google.protobuf.message import DecodeError

    example = _example_class()()
    try:
        example.ParseFromString(record)
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise VaecheckError(f"record {index} is not a tf.train.Example ({exc})", shown) from None
    return example


def _describe(example: Any, key: str | None, index: int, shown: str) -> _Feature:
    features = example.features.feature
    names = sorted(features.keys())
    if key is None:
        usable = [name for name in names if features[name].WhichOneof("kind") in ("float_list", "int64_list")]
        if len(names) == 1 or len(usable) == 1:
            key = names[0] if len(names) == 1 else usable[0]
        else:
            raise VaecheckError(
                f"the records hold features {_list(names)}; name one with --key", shown
            )
    if key not in features:
        raise VaecheckError(f"record {index} has no feature '{key}'; it holds {_list(names)}", shown)
    kind = features[key].WhichOneof("kind")
    if kind is None:
        raise VaecheckError(f"feature '{key}' of record {index} holds no list", shown)
    values = _values(features[key], key, kind, index, shown)
    if values.size == 0:
        raise VaecheckError(f"feature '{key}' of record {index} holds no values", shown)
    return _Feature(key, kind, values.shape, values.dtype)


def _values(feature: Any, key: str, kind: str, index: int, shown: str) -> np.ndarray:
    if kind == "float_list":
        return np.asarray(feature.float_list.value, dtype=np.float32)
    if kind == "int64_list":
        return np.asarray(feature.int64_list.value, dtype=np.int64)
    encoded = feature.bytes_list.value
    if len(encoded) != 1:
        raise VaecheckError(
            f"feature '{key}' of record {index} holds {len(encoded)} byte strings; vaecheck reads "
            f"one encoded image per record",
            shown,
        )
    return _decode_image(encoded[0], key, index, shown)


def _decode_image(data: bytes, key: str, index: int, shown: str) -> np.ndarray:
    require("PIL", "images in TFRecord bytes features", "images", shown, package="Pillow")
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            pixels = np.asarray(image)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise VaecheckError(
            f"feature '{key}' of record {index} is not an image Pillow can decode ({exc})", shown
        ) from None
    return pixels[..., np.newaxis] if pixels.ndim == 2 else pixels


def _list(names: list[str]) -> str:
    if not names:
        return "no features"
    shown = ", ".join(repr(n) for n in names[:MAX_LISTED])
    return shown if len(names) <= MAX_LISTED else f"{shown}, … ({len(names) - MAX_LISTED} more)"


@dataclass(frozen=True)
class _RecordsBody:
    file: str
    compressed: bool
    feature: _Feature

    def blocks(self, source: DataSource, max_bytes: int, reuse: int) -> Iterator[tuple[Index, np.ndarray]]:
        feature = self.feature
        row_bytes = math.prod(feature.shape) * feature.dtype.itemsize
        per_block = max(1, max_bytes // max(row_bytes, 1))
        rest = (slice(None),) * len(feature.shape)
        block = np.empty((min(per_block, source.rows), *feature.shape), dtype=feature.dtype)
        filled = start = 0
        for index, record in _records(self.file, self.compressed, source.path):
            if index >= source.rows:
                raise VaecheckError("the file changed while vaecheck was reading it", source.path)
            assert record is not None
            row = self._row(record, index, source.path)
            block[filled] = row
            filled += 1
            if filled == block.shape[0]:
                yield (slice(start, start + filled), *rest), block
                start += filled
                filled = 0
                block = np.empty((min(per_block, source.rows - start), *feature.shape), dtype=feature.dtype)
        if filled:
            yield (slice(start, start + filled), *rest), block[:filled]
        if start + filled != source.rows:
            raise VaecheckError("the file changed while vaecheck was reading it", source.path)

    def _row(self, record: bytes, index: int, shown: str) -> np.ndarray:
        feature = self.feature
        features = _parse(record, index, shown).features.feature
        if feature.name not in features:
            raise VaecheckError(f"record {index} has no feature '{feature.name}'", shown)
        kind = features[feature.name].WhichOneof("kind")
        if kind != feature.kind:
            raise VaecheckError(
                f"feature '{feature.name}' of record {index} is a {kind}, where record 0's is a "
                f"{feature.kind}",
                shown,
            )
        values = _values(features[feature.name], feature.name, kind, index, shown)
        if values.shape != feature.shape:
            what = "an image of shape" if kind == "bytes_list" else "values:"
            first = feature.shape if kind == "bytes_list" else math.prod(feature.shape)
            found = values.shape if kind == "bytes_list" else values.size
            raise VaecheckError(
                f"feature '{feature.name}' of record {index} holds {what} {found}, where record 0 "
                f"holds {first}; every record needs the same",
                shown,
            )
        return values

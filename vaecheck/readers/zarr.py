"""Zarr arrays (format 2 and 3) as a DataSource read chunk row by chunk row.

zarr (the `zarr` extra) is imported only here, and only when a store is opened. A store is
a directory (`data.zarr/`) or a zip file (`data.zarr.zip`); the array in it is named as
`store.zarr:/group/array` or with `--key`, and a store holding one array needs no name.

Blocks are whole rows of chunks along the first axis, so each chunk is decompressed once. A
chunk the store does not hold reads as the array's fill value, as Zarr defines it; how many
chunks are missing is counted when the store is opened (from its listing) and shown in the
report, because an array that is mostly fill value is usually an array not written yet.

A directory store is walked before anything is read: a symbolic link anywhere in it is
refused, since a chunk that is a link would read a file outside the store. zarr itself
refuses `..` in array paths and chunk key separators other than `.` and `/`.
"""

from __future__ import annotations

import math
import os
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from vaecheck.errors import MAX_NAME_CHARACTERS, VaecheckError, printable
from vaecheck.readers.source import (
    DataSource,
    Index,
    MissingChunks,
    _Body,
    _format_shape,
    _layout_problem,
    _open_regular,
    row_batches,
)
from vaecheck.readers.optional import require
from vaecheck.readers.urls import is_url, remote_errors, url_filesystem

METADATA_NAMES = ("zarr.json", ".zarray", ".zgroup")
ZIP_SUFFIXES = (".zip",)
# A whole chunk is decompressed to read any of it: bound what one chunk can cost.
MAX_CHUNK_BYTES = 256 * 2**20
# The shape-bomb guard of the HDF5 reader: more than 4 GiB declared, 1000 times what is stored.
BOMB_DECLARED_BYTES = 4 * 2**30
BOMB_RATIO = 1000
PART_BYTES = 64 * 2**20
MAX_LISTED = 20
MAX_STORE_ENTRIES = 10_000_000
MAX_CHUNKS = 10_000_000


@dataclass(frozen=True)
class _Store:
    location: str  # the directory or zip file
    array: str  # the array's path in the store, "" for an array at the root
    zipped: bool


@dataclass(frozen=True)
class _ArrayInfo:
    shape: tuple[int, ...]
    dtype: np.dtype
    chunks: tuple[int, ...]
    zarr_format: int


def is_zarr_directory(path: str) -> bool:
    return any(os.path.isfile(os.path.join(path, name)) for name in METADATA_NAMES)


def is_zarr_zip(path: str) -> bool:
    """A zip file whose members include Zarr metadata (and so is a store, not an .npz)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return any(
                name.rsplit("/", 1)[-1] in METADATA_NAMES for name in archive.namelist()[:100_000]
            )
    except (OSError, zipfile.BadZipFile, ValueError):
        return False


def open_zarr(location: str, key: str | None = None, shown: str | None = None) -> DataSource:
    """Open the array `key` (a path in the store) of a Zarr directory or zip store."""
    shown = shown or location
    require("zarr", "Zarr data", "zarr", shown)
    remote = is_url(location)
    zipped = not remote and not os.path.isdir(location)
    if zipped:
        _open_regular(location).close()
    name = _array_path(key, shown)
    if remote:
        stored = _remote_stored_bytes(location, name)
    else:
        stored = 0 if zipped else _walk_store(location, name, shown)
    with _zarr_errors(shown, "not a Zarr store, or a damaged one"):
        with _opened(_Store(location, name, zipped)) as node:
            array, name = _choose_array(node, name, shown)
            info = _inspect(array, name, shown)
            if zipped:
                stored = _zip_stored_bytes(location, name)
            _refuse_bomb(info, name, stored, shown)
            chunks = int(array.nchunks)
            # zarr lists the store's keys to count the chunks it holds.
            missing = chunks - int(array.nchunks_initialized)
            fill_value = array.fill_value
    store = _Store(location, name, zipped)
    base = location.rstrip("/").rsplit("/", 1)[-1] if remote else os.path.basename(os.path.normpath(location))
    return DataSource(
        path=shown,
        description=printable(f"{base}:/{name}" if name else base, MAX_NAME_CHARACTERS),
        shape=info.shape,
        dtype=info.dtype,
        fortran_order=False,
        _body=_ArrayBody(store, info, 0, info.shape[0]),
        missing_chunks=MissingChunks(missing, chunks, _fill_number(fill_value)) if missing else None,
    )


def _refuse_bomb(info: _ArrayInfo, name: str, stored: int, shown: str) -> None:
    declared = math.prod(info.shape) * info.dtype.itemsize
    if declared > BOMB_DECLARED_BYTES and declared > BOMB_RATIO * stored:
        raise VaecheckError(
            f"array '/{name}' declares {declared:,} bytes ({info.dtype}, shape "
            f"{_format_shape(info.shape)}) but stores {stored:,}: refusing a likely shape bomb",
            shown,
        )
    grid = math.prod(math.ceil(d / c) for d, c in zip(info.shape, info.chunks))
    if grid > MAX_CHUNKS:
        raise VaecheckError(
            f"array '/{name}' is split into {grid:,} chunks, more than the {MAX_CHUNKS:,} "
            f"vaecheck reads",
            shown,
        )


def split_store_path(source: str) -> tuple[str, str] | None:
    """`data.zarr:/group/array` -> (`data.zarr`, `group/array`) when `data.zarr` is a store."""
    position = source.find(":")
    while position != -1:
        location, name = source[:position], source[position + 1 :]
        if name and (
            (os.path.isdir(location) and is_zarr_directory(location))
            or (os.path.isfile(location) and location.lower().endswith(ZIP_SUFFIXES))
        ):
            return location, name
        position = source.find(":", position + 1)
    return None


def _array_path(key: str | None, shown: str) -> str:
    if key is None:
        return ""
    parts = [part for part in key.replace("\\", "/").split("/") if part]
    if any(part in (".", "..") for part in parts):
        raise VaecheckError(f"the array path '{key}' holds '.' or '..': name it from the store's root", shown)
    return "/".join(parts)


def _walk_store(location: str, name: str, shown: str) -> int:
    """The bytes the array's directory holds; a symbolic link anywhere in it is refused."""
    stored = 0
    seen = 0
    for root, folders, files in os.walk(os.path.join(location, name) if name else location):
        for entry in (*folders, *files):
            full = os.path.join(root, entry)
            seen += 1
            if seen > MAX_STORE_ENTRIES:
                raise VaecheckError(f"the store holds more than {MAX_STORE_ENTRIES:,} entries", shown)
            if os.path.islink(full):
                raise VaecheckError(
                    f"'{os.path.relpath(full, location)}' in the store is a symbolic link: "
                    f"refused, a chunk that is a link reads a file outside the store",
                    shown,
                )
        for entry in files:
            stored += os.lstat(os.path.join(root, entry)).st_size
    return stored


def _remote_stored_bytes(location: str, name: str) -> int:
    filesystem, root = url_filesystem(location)
    with remote_errors(location):
        if not filesystem.exists(root):
            raise FileNotFoundError(location)
        return int(filesystem.du(f"{root.rstrip('/')}/{name}" if name else root))


def _zip_stored_bytes(location: str, name: str) -> int:
    prefix = f"{name}/" if name else ""
    with zipfile.ZipFile(location) as archive:
        return sum(info.compress_size for info in archive.infolist() if info.filename.startswith(prefix))


@contextmanager
def _opened(store: _Store) -> Iterator[Any]:
    import zarr
    from zarr.storage import LocalStore, ZipStore

    if is_url(store.location):
        from zarr.storage import FsspecStore

        backing = FsspecStore.from_url(store.location, read_only=True)
    elif store.zipped:
        backing = ZipStore(store.location, mode="r")
    else:
        backing = LocalStore(store.location, read_only=True)
    try:
        yield zarr.open(store=backing, path=store.array or None, mode="r")
    finally:
        backing.close()


@contextmanager
def _zarr_errors(shown: str, doing: str) -> Iterator[None]:
    """zarr raises what its codecs and stores raise on damage: each is one line naming the store."""
    try:
        yield
    except VaecheckError:
        raise
    except Exception as exc:  # zarr's errors have no common base: JSON, codec, store, ...
        text = (str(exc).strip() or type(exc).__name__).splitlines()[0]
        raise VaecheckError(f"{doing} ({text})", shown) from None


def _choose_array(node: Any, name: str, shown: str) -> tuple[Any, str]:
    import zarr

    if isinstance(node, zarr.Array):
        return node, name
    arrays = sorted(path for path, _ in node.arrays())
    nested = sorted(f"{path}/{sub}" for path, group in node.groups() for sub, _ in group.arrays())
    found = arrays + nested
    where = f"group '/{name}'" if name else "the store"
    if len(found) == 1:
        chosen = f"{name}/{found[0]}" if name else found[0]
        return node[found[0]], chosen
    if not found:
        raise VaecheckError(f"{where} holds no array", shown)
    listed = ", ".join(found[:MAX_LISTED]) + (f", … ({len(found) - MAX_LISTED} more)" if len(found) > MAX_LISTED else "")
    raise VaecheckError(
        f"{where} holds {len(found)} arrays ({listed}); name one as STORE:/path or with --key",
        shown,
    )


def _inspect(array: Any, name: str, shown: str) -> _ArrayInfo:
    shape = tuple(int(d) for d in array.shape)
    dtype = np.dtype(array.dtype)
    problem = _layout_problem(dtype, shape)
    if problem:
        raise VaecheckError(f"array '/{name}': {problem}", shown)
    chunks = tuple(int(c) for c in array.chunks)
    chunk_bytes = math.prod(chunks) * dtype.itemsize
    if chunk_bytes > MAX_CHUNK_BYTES:
        raise VaecheckError(
            f"array '/{name}' is stored in chunks of {chunk_bytes:,} bytes, more than the "
            f"{MAX_CHUNK_BYTES:,} vaecheck decompresses at once",
            shown,
        )
    return _ArrayInfo(shape, dtype, chunks, int(array.metadata.zarr_format))


def _fill_number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class _ArrayBody:
    """Rows `start:stop` of the array: the whole of it, or one part."""

    store: _Store
    info: _ArrayInfo
    start: int
    stop: int

    def blocks(self, source: DataSource, max_bytes: int, reuse: int) -> Iterator[tuple[Index, np.ndarray]]:
        info = self.info
        rest = (slice(None),) * (len(info.shape) - 1)
        with self._array(source) as array:
            for first, last in _row_spans(info, self.start, self.stop, max_bytes):
                with _zarr_errors(source.path, f"cannot read array '/{self.store.array}'"):
                    block = np.asarray(array[first:last])
                yield (slice(first - self.start, last - self.start), *rest), block

    def parts(self, source: DataSource) -> tuple[DataSource, ...]:
        spans = list(_row_spans(self.info, self.start, self.stop, PART_BYTES))
        if len(spans) <= 1:
            return (source,)
        return tuple(
            replace(source, shape=(last - first, *source.shape[1:]), _body=replace(self, start=first, stop=last))
            for first, last in spans
        )

    def take_rows(self, source: DataSource, rows: np.ndarray) -> _Body:
        return _ArrayRowsBody(self, rows + self.start)

    @contextmanager
    def _array(self, source: DataSource) -> Iterator[Any]:
        with _zarr_errors(source.path, "cannot open the Zarr store"):
            opened = _opened(self.store)
            array = opened.__enter__()
        try:
            if (tuple(array.shape), np.dtype(array.dtype), tuple(array.chunks)) != (
                self.info.shape,
                self.info.dtype,
                self.info.chunks,
            ):
                raise VaecheckError("the store changed while vaecheck was reading it", source.path)
            yield array
        finally:
            opened.__exit__(None, None, None)


def _row_spans(info: _ArrayInfo, start: int, stop: int, max_bytes: int) -> Iterator[tuple[int, int]]:
    """Row ranges of whole chunk rows (cut at `start` and `stop`) of about `max_bytes`."""
    row_bytes = math.prod(info.shape[1:]) * info.dtype.itemsize
    chunk_rows = info.chunks[0]
    per_block = max(1, max_bytes // max(row_bytes, 1))
    per_block = max(chunk_rows, per_block - per_block % chunk_rows)
    first = start
    while first < stop:
        # Up to a chunk boundary, so that every later span starts on one.
        boundary = (first // chunk_rows) * chunk_rows + per_block
        last = min(stop, boundary)
        yield first, last
        first = last


@dataclass(frozen=True, eq=False)
class _ArrayRowsBody:
    """Some rows of the array: only the chunks that hold them are read."""

    whole: _ArrayBody
    rows: np.ndarray  # in the whole array's rows

    def blocks(self, source: DataSource, max_bytes: int, reuse: int) -> Iterator[tuple[Index, np.ndarray]]:
        info = self.whole.info
        rest = (slice(None),) * (len(info.shape) - 1)
        row_bytes = math.prod(info.shape[1:]) * info.dtype.itemsize
        with self.whole._array(source) as array:
            for start, chosen in row_batches(self.rows, row_bytes, max_bytes):
                with _zarr_errors(source.path, f"cannot read array '/{self.whole.store.array}'"):
                    block = np.asarray(array.get_orthogonal_selection((chosen,)))
                yield (slice(start, start + chosen.size), *rest), block

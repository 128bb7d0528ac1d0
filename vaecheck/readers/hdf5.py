"""HDF5 datasets (`file.h5:/group/dataset`, or `--key`) as a DataSource read in row blocks.

h5py is imported only here, and only when an HDF5 file is opened. The reader never follows
anything that reaches outside the file: soft and external links are refused, as are datasets
stored in external files and virtual datasets (KERAS_FACTS §6: the same holes were CVEs in
Keras's own HDF5 loading). A dataset that declares far more data than it stores, or chunks
too large to decompress in bounded memory, is refused before any data is read.

A file named by URL is read by h5py through the seekable file of readers/remote, each read a
range request: the superblock, the object headers, then only the chunks (or the rows of a
contiguous dataset) that are read.
"""

from __future__ import annotations

import gc
import math
import os
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from vaecheck.errors import MAX_NAME_CHARACTERS, VaecheckError, printable
from vaecheck.readers.remote import display_name, is_url
from vaecheck.readers.source import (
    BufferRing,
    DataSource,
    Index,
    _Body,
    _format_shape,
    _layout_problem,
    _open_regular,
    row_batches,
    row_runs,
)

# The shape-bomb guard Keras 3.15 applies to weights: more than 4 GiB declared, and more than
# 1000 times what is stored.
BOMB_DECLARED_BYTES = 4 * 2**30
BOMB_RATIO = 1000
# HDF5 decompresses a whole chunk to read any part of it: bound what one chunk can cost.
MAX_CHUNK_BYTES = 64 * 2**20
MAX_CACHE_BYTES = 256 * 2**20
MAX_LISTED = 20


@dataclass(frozen=True)
class _DatasetInfo:
    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    chunks: tuple[int, ...] | None
    cache_bytes: int  # chunk cache that holds a whole row of chunks


def open_hdf5(path: str, dataset: str | None, shown: str | None = None) -> DataSource:
    """Open one dataset of an HDF5 file; without a name, the file's only numeric dataset."""
    with _h5_file(path) as handle:
        with _damage_is_an_error(path):
            name = _choose_dataset(handle, path) if dataset is None else _normalize(dataset)
            info = _inspect(handle, name, path)
    return DataSource(
        path=shown or path,
        description=printable(f"{_basename(path)}:{name}", MAX_NAME_CHARACTERS),
        shape=info.shape,
        dtype=info.dtype,
        fortran_order=False,
        _body=_DatasetBody(path, info),
    )


@contextmanager
def _damage_is_an_error(path: str) -> Iterator[None]:
    """libhdf5 reports a damaged file from wherever it notices, as whatever h5py makes of it
    (OSError, RuntimeError, KeyError, ...): each is the file's problem, said in one line."""
    try:
        yield
    except VaecheckError:
        raise
    except Exception as exc:
        raise VaecheckError(f"a damaged HDF5 file ({_first_line(exc)})", path) from None


def _h5_file(path: str, cache_bytes: int | None = None) -> Any:
    import h5py

    # Open the path through the same checks as every data file (no FIFOs, devices, ...); an
    # object in remote storage is read through this file (h5py takes a Python file object).
    stream: Any = _open_regular(path)
    remote = is_url(path)
    if remote:
        stream = _Uncollected(stream)
    else:
        stream.close()
    # No file locking: data often sits on read-only or network file systems that refuse locks,
    # and vaecheck only reads.
    options: dict[str, Any] = {"locking": False}
    if cache_bytes is not None:
        options.update(rdcc_nbytes=cache_bytes, rdcc_nslots=100_003)
    try:
        handle = h5py.File(stream if remote else path, "r", **options)
    except VaecheckError:  # the storage's own error, from a read
        stream.close()
        raise
    except OSError as exc:
        stream.close()
        raise VaecheckError(f"not an HDF5 file, or a damaged one ({_first_line(exc)})", path) from None
    if remote:
        weakref.finalize(handle, stream.close)  # the file object lives as long as the handle
    return handle


class _Uncollected:
    """A remote file as h5py reads it: no cyclic garbage collection while a read waits.

    h5py holds its global lock while it calls the file's methods, and deleting any h5py object
    needs that lock; the read waits on fsspec's I/O thread. Were the collector to run on that
    thread (or on any other the read waits for) and meet an h5py object, neither thread could go
    on (h5py issue 2019). Pausing collection during each read, as h5py's documentation advises,
    prevents it."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def readinto(self, buffer: Any) -> int:
        with _collection_paused():
            return int(self._stream.readinto(buffer))

    def read(self, size: int = -1) -> bytes:
        with _collection_paused():
            return bytes(self._stream.read(size))

    def __getattr__(self, name: str) -> Any:  # seek, tell, close, ...
        return getattr(self._stream, name)


@contextmanager
def _collection_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _normalize(name: str) -> str:
    return "/" + name.strip("/")


def _resolve(handle: Any, name: str, path: str) -> Any:
    """The object at `name`, reached through hard links only."""
    import h5py

    node = handle
    walked = ""
    for part in [p for p in name.split("/") if p]:
        walked += "/" + part
        if not isinstance(node, h5py.Group):
            raise VaecheckError(f"'{walked[: -len(part) - 1]}' is a dataset, not a group", path)
        link = node.get(part, getlink=True)
        if link is None:
            raise VaecheckError(
                f"no dataset '{name}' in the file; it holds {_listing(handle)}", path
            )
        if isinstance(link, h5py.SoftLink):
            raise VaecheckError(
                f"'{walked}' is a soft link (to '{link.path}'): vaecheck does not follow links "
                f"in data files; name the dataset itself",
                path,
            )
        if isinstance(link, h5py.ExternalLink):
            raise VaecheckError(
                f"'{walked}' is an external link (to '{link.filename}'): vaecheck reads only "
                f"what the file itself holds",
                path,
            )
        node = node[part]
    return node


def _inspect(handle: Any, name: str, path: str) -> _DatasetInfo:
    import h5py

    node = _resolve(handle, name, path)
    if not isinstance(node, h5py.Dataset):
        raise VaecheckError(
            f"'{name}' is a group, not a dataset; it holds {_listing(node)}", path
        )
    if node.is_virtual:
        raise VaecheckError(
            f"dataset '{name}' is virtual (its data lives in other files): refused", path
        )
    if node.external:
        raise VaecheckError(
            f"dataset '{name}' is stored in external files: refused, vaecheck reads only what "
            f"the file itself holds",
            path,
        )
    if node.shape is None:
        raise VaecheckError(f"dataset '{name}' has no data (an empty dataspace)", path)
    shape = tuple(int(d) for d in node.shape)
    dtype = node.dtype
    problem = _layout_problem(dtype, shape)
    if problem:
        raise VaecheckError(f"dataset '{name}': {problem}", path)
    declared = math.prod(shape) * dtype.itemsize
    stored = node.id.get_storage_size()
    if declared > BOMB_DECLARED_BYTES and declared > BOMB_RATIO * stored:
        raise VaecheckError(
            f"dataset '{name}' declares {declared:,} bytes ({dtype}, shape "
            f"{_format_shape(shape)}) but stores {stored:,}: refusing a likely shape bomb",
            path,
        )
    chunks = tuple(int(c) for c in node.chunks) if node.chunks else None
    cache_bytes = 1 * 2**20
    if chunks is not None:
        chunk_bytes = math.prod(chunks) * dtype.itemsize
        if chunk_bytes > MAX_CHUNK_BYTES:
            raise VaecheckError(
                f"dataset '{name}' is stored in chunks of {chunk_bytes:,} bytes, more than the "
                f"{MAX_CHUNK_BYTES:,} vaecheck decompresses at once",
                path,
            )
        across = math.prod(math.ceil(d / c) for d, c in zip(shape[1:], chunks[1:]))
        cache_bytes = min(MAX_CACHE_BYTES, max(cache_bytes, across * chunk_bytes + chunk_bytes))
    return _DatasetInfo(name, shape, dtype, chunks, cache_bytes)


def _choose_dataset(handle: Any, path: str) -> str:
    if "model_config" in handle.attrs:
        raise VaecheckError(
            "a saved Keras model, not data: pass it as the model (or name a dataset)", path
        )
    names = _dataset_names(handle)
    if len(names) == 1:
        return names[0]
    if not names:
        raise VaecheckError("the HDF5 file holds no dataset", path)
    raise VaecheckError(
        f"the HDF5 file holds {len(names)} datasets ({_list(names)}); name one as "
        f"FILE:/dataset or with --key",
        path,
    )


def _dataset_names(group: Any, limit: int = 10_000) -> list[str]:
    """Datasets reachable through hard links, breadth first; links are not followed."""
    import h5py

    found: list[str] = []
    pending = [group]
    seen = 0
    while pending and seen < limit:
        current = pending.pop(0)
        for part in current:
            seen += 1
            link = current.get(part, getlink=True)
            if not isinstance(link, h5py.HardLink):
                continue
            child = current[part]
            if isinstance(child, h5py.Dataset):
                found.append(child.name)
            elif isinstance(child, h5py.Group):
                pending.append(child)
    return found


def _listing(group: Any) -> str:
    names = _dataset_names(group)
    return f"datasets {_list(names)}" if names else "no datasets"


def _list(names: list[str]) -> str:
    shown = ", ".join(names[:MAX_LISTED])
    return shown if len(names) <= MAX_LISTED else f"{shown}, … ({len(names) - MAX_LISTED} more)"


@dataclass(frozen=True)
class _DatasetBody:
    file: str
    info: _DatasetInfo
    reads_row_ranges = True

    @property
    def row_alignment(self) -> int:
        """Rows per chunk: a range of whole chunks decompresses each chunk once."""
        return self.info.chunks[0] if self.info.chunks is not None else 1

    def blocks(
        self, source: DataSource, max_bytes: int, reuse: int
    ) -> Iterator[tuple[Index, np.ndarray]]:
        return self.blocks_between(source, 0, self.info.shape[0], max_bytes, reuse)

    def blocks_between(
        self, source: DataSource, first: int, last: int, max_bytes: int, reuse: int
    ) -> Iterator[tuple[Index, np.ndarray]]:
        """The blocks of rows `first` to `last` (excluded), indexed from `first`."""
        info = self.info
        row_bytes = math.prod(info.shape[1:]) * info.dtype.itemsize
        per_block = max(1, max_bytes // row_bytes)
        if info.chunks is not None and info.chunks[0] <= per_block:
            per_block -= per_block % info.chunks[0]  # whole chunks: each decompressed once
        rest = (slice(None),) * (len(info.shape) - 1)
        buffers = BufferRing(reuse)
        with self._dataset(source) as dataset:
            for start in range(first, last, per_block):
                stop = min(start + per_block, last)
                shape = (stop - start, *info.shape[1:])
                nbytes = math.prod(shape) * info.dtype.itemsize
                block = buffers.next(nbytes).view(info.dtype).reshape(shape)
                self._read(dataset, block, np.s_[start:stop], source)
                yield (slice(start - first, stop - first), *rest), block

    def row_range(self, source: DataSource, start: int, stop: int) -> _Body:
        return _DatasetRangeBody(self, start, stop)

    def take_rows(self, source: DataSource, rows: np.ndarray) -> _Body:
        return _DatasetRowsBody(self, rows)

    def _dataset(self, source: DataSource) -> Any:
        return _OpenDataset(self.file, self.info, source.path)

    @staticmethod
    def _read(dataset: Any, block: np.ndarray, selection: Any, source: DataSource,
              destination: Any = None) -> None:
        try:
            dataset.read_direct(block, source_sel=selection, dest_sel=destination)
        except VaecheckError:  # the storage's own error, raised by a read of a remote file
            raise
        except Exception as exc:  # libhdf5 on damaged chunks: OSError, RuntimeError, ...
            raise VaecheckError(
                f"cannot read dataset '{dataset.name}' ({_first_line(exc)})", source.path
            ) from None


@dataclass(frozen=True)
class _DatasetRangeBody:
    """Rows [start, stop) of a dataset, read like the whole of it."""

    whole: _DatasetBody
    start: int
    stop: int

    def blocks(
        self, source: DataSource, max_bytes: int, reuse: int
    ) -> Iterator[tuple[Index, np.ndarray]]:
        return self.whole.blocks_between(source, self.start, self.stop, max_bytes, reuse)


@dataclass(frozen=True, eq=False)
class _DatasetRowsBody:
    """Some rows of a dataset, each run of consecutive rows read as one selection."""

    whole: _DatasetBody
    rows: np.ndarray

    def blocks(
        self, source: DataSource, max_bytes: int, reuse: int
    ) -> Iterator[tuple[Index, np.ndarray]]:
        info = self.whole.info
        row_bytes = math.prod(info.shape[1:]) * info.dtype.itemsize
        rest = (slice(None),) * (len(info.shape) - 1)
        with self.whole._dataset(source) as dataset:
            for start, chosen in row_batches(self.rows, row_bytes, max_bytes):
                block = np.empty((chosen.size, *info.shape[1:]), dtype=info.dtype)
                for first, stop in row_runs(chosen):
                    row = int(chosen[first])
                    rows = np.s_[row : row + stop - first]
                    self.whole._read(dataset, block, rows, source, np.s_[first:stop])
                yield (slice(start, start + chosen.size), *rest), block


class _OpenDataset:
    """The dataset reopened for reading, checked to be the one that was opened."""

    def __init__(self, file: str, info: _DatasetInfo, shown: str) -> None:
        self._file = file
        self._info = info
        self._shown = shown
        self._handle: Any = None

    def __enter__(self) -> Any:
        self._handle = _h5_file(self._file, self._info.cache_bytes)
        try:
            with _damage_is_an_error(self._file):
                current = _inspect(self._handle, self._info.name, self._file)
        except BaseException:
            self._handle.close()
            raise
        if current != self._info:
            self._handle.close()
            raise VaecheckError("the file changed while vaecheck was reading it", self._shown)
        return self._handle[self._info.name]

    def __exit__(self, *exc_info: object) -> None:
        self._handle.close()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def _basename(path: str) -> str:
    return display_name(path) if is_url(path) else os.path.basename(path)

"""What every data reader shares: the DataSource they return, and reading a file safely.

A `DataSource` is an array on disk or in memory, read block by block through its body (one
per format: `.npy`, `.npz`, stdin and arrays in memory in readers/data, CSV in
readers/delimited, HDF5 in readers/hdf5, shards in readers/shards). Here too: the dtype and
shape checks every format applies, opening a regular file without following it into a FIFO,
and the short reason a damaged file gives.
"""

from __future__ import annotations

import math
import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import BinaryIO, Protocol

import numpy as np

from vaecheck.errors import VaecheckError
from vaecheck.readers.archive import stat_input
from vaecheck.readers.locations import is_url

DEFAULT_BLOCK_BYTES = 32 * 2**20
DELIMITED_SUFFIXES = {".csv": ",", ".tsv": "\t", ".tab": "\t"}
HDF5_SUFFIXES = (".h5", ".hdf5", ".he5", ".hdf")
# TFRecord files join as shards too; tables and Zarr stores name their own files (readers/sources).
DATA_SUFFIXES = (".npy", ".npz", *DELIMITED_SUFFIXES, *HDF5_SUFFIXES, ".tfrecord", ".tfrecords", ".tfrec")
SUPPORTED = (
    "vaecheck reads .npy, .npz, .csv, .tsv, .h5, .hdf5, Parquet, Feather, Arrow IPC, Zarr and "
    "TFRecord"
)

Index = tuple[slice, ...]


class _Body(Protocol):
    def blocks(
        self, source: DataSource, max_bytes: int, reuse: int
    ) -> Iterator[tuple[Index, np.ndarray]]: ...


@dataclass(frozen=True)
class MissingChunks:
    """Chunks a chunked store (Zarr) does not hold, which read as the array's fill value."""

    missing: int
    chunks: int  # in the whole array
    fill_value: float | None


@dataclass(frozen=True)
class DataSource:
    """An array on disk or in memory, read block by block.

    Blocks keep the stored dtype (a big-endian file yields big-endian blocks).
    """

    path: str  # as the user gave it
    description: str  # e.g. "standardized.npy", "data.npz[x_train]"
    shape: tuple[int, ...]
    dtype: np.dtype
    fortran_order: bool
    _body: _Body = field(repr=False, compare=False)
    feature_names: tuple[str, ...] | None = None  # names along the last axis (CSV headers)
    sampled_from: int | None = None  # rows of the data this source is a random sample of
    sample_seed: int | None = None
    missing_chunks: MissingChunks | None = None

    @property
    def size(self) -> int:
        """The number of values in the array."""
        return math.prod(self.shape)

    @property
    def rows(self) -> int:
        return self.shape[0]

    def chunks(
        self, max_bytes: int = DEFAULT_BLOCK_BYTES, *, reuse: bool | int = False
    ) -> Iterator[tuple[Index, np.ndarray]]:
        """Yield `(index, block)` with `full_array[index] == block`, in file order.

        C order: blocks of whole rows along axis 0; Fortran order: blocks of whole slices along
        the last axis, so that each block is contiguous on disk. A block is a fresh in-memory
        array of at most about `max_bytes`, but never less than one row or slice.

        With `reuse`, a block's memory may be refilled for a later block: with True, for the
        next block; with a number k, for the block k places later (a consumer that hands
        blocks to k - 1 workers). For a consumer that keeps nothing of a block past that, this
        saves allocating (and page-faulting) fresh memory for every block.
        """
        if max_bytes <= 0:
            raise ValueError(f"max_bytes must be positive, not {max_bytes}")
        return self._body.blocks(self, max_bytes, int(reuse))

    def parts(self) -> tuple[DataSource, ...]:
        """The shards this source joins, in order; a single file is its own only part."""
        parts = getattr(self._body, "parts", None)
        return parts(self) if parts is not None else (self,)

    @property
    def reads_row_ranges(self) -> bool:
        """Whether a range of rows is read without reading the rows before it (a .npy in C
        order, an HDF5 dataset): such a source splits into row ranges for a cluster."""
        return bool(getattr(self._body, "reads_row_ranges", False))

    @property
    def held_here(self) -> bool:
        """Whether the data exists only in this process (an array in memory, standard input),
        where no other process can read it."""
        body = self._body
        parent = getattr(body, "parent", None)  # some rows of it, or its values rescaled
        if isinstance(parent, DataSource):
            return parent.held_here
        return bool(getattr(body, "held_here", False))

    def row_range(self, start: int, stop: int) -> DataSource:
        """A source over rows `start` to `stop` (excluded): read directly where the format
        allows (see reads_row_ranges), else as take_rows."""
        if not 0 <= start < stop <= self.rows:
            raise ValueError(f"rows {start} to {stop} are not a range within the array")
        ranged = getattr(self._body, "row_range", None)
        if ranged is None:
            return self.take_rows(np.arange(start, stop, dtype=np.int64))
        return replace(self, shape=(stop - start, *self.shape[1:]), _body=ranged(self, start, stop))

    def take_rows(self, rows: Sequence[int] | np.ndarray) -> DataSource:
        """A source over some rows (axis 0) of this one, given sorted and without repeats.

        Formats with random access read only those rows; the others stream through once.
        """
        chosen = np.asarray(rows, dtype=np.int64).reshape(-1)
        if chosen.size == 0:
            raise ValueError("take_rows needs at least one row")
        if chosen[0] < 0 or chosen[-1] >= self.rows or np.any(np.diff(chosen) <= 0):
            raise ValueError("rows must be sorted, unique and within the array")
        take = getattr(self._body, "take_rows", None)
        body = take(self, chosen) if take is not None else _SelectedRowsBody(self, chosen)
        return replace(self, shape=(int(chosen.size), *self.shape[1:]), _body=body)

    def sample(self, rows: int, seed: int | None = 0) -> DataSource:
        """A uniform random sample of `rows` rows, without repeats, in file order.

        The same seed gives the same rows. Asking for as many rows as there are, or more,
        gives the whole source back.
        """
        if rows <= 0:
            raise VaecheckError(f"a sample needs at least one row, not {rows}")
        if rows >= self.rows:
            return self
        generator = np.random.default_rng(seed)
        chosen = np.sort(generator.choice(self.rows, size=rows, replace=False))
        return replace(self.take_rows(chosen), sampled_from=self.rows, sample_seed=seed)


def _layout_problem(dtype: np.dtype, shape: tuple[int, ...]) -> str | None:
    """Why vaecheck cannot measure an array of this dtype and shape, or None if it can."""
    return _dtype_problem(dtype) or _shape_problem(shape)


def _dtype_problem(dtype: np.dtype) -> str | None:
    if dtype.hasobject:
        return "object arrays are refused: vaecheck never unpickles"
    if dtype.names is not None or dtype.subdtype is not None:
        return f"structured arrays (dtype {dtype}) are not supported: vaecheck needs plain numbers"
    kind = dtype.kind
    if kind == "c":
        return f"complex data has no order (dtype {dtype}): save its real and imaginary parts apart"
    if kind in "USa":
        return f"string data (dtype {dtype}) is not numeric"
    if kind in "Mm":
        return f"date and time data (dtype {dtype}) is not supported: vaecheck needs plain numbers"
    if kind == "f" and dtype.itemsize > 8:
        # Extended precision is laid out differently on x86 and ARM: its bytes are not portable.
        return f"extended-precision floats (dtype {dtype}) are not supported: convert to float64"
    if kind not in "biuf":
        return f"dtype {dtype} is not supported: vaecheck reads bool, integer and float data"
    return None


def _shape_problem(shape: tuple[int, ...]) -> str | None:
    if len(shape) == 0:
        return "a 0-d array: vaecheck needs samples along the first axis"
    if 0 in shape:
        return f"the array is empty (shape {_format_shape(shape)})"
    return None


def row_batches(
    rows: np.ndarray, row_bytes: int, max_bytes: int
) -> Iterator[tuple[int, np.ndarray]]:
    """Chosen rows in batches of about `max_bytes`: (the batch's place in the selection, rows)."""
    per_block = max(1, max_bytes // max(row_bytes, 1))
    for start in range(0, rows.size, per_block):
        yield start, rows[start : start + per_block]


def row_runs(chosen: np.ndarray) -> Iterator[tuple[int, int]]:
    """(first, stop) positions in `chosen` of each run of consecutive rows: one read each."""
    breaks = np.flatnonzero(np.diff(chosen) != 1) + 1
    firsts = np.concatenate(([0], breaks)).tolist()
    stops = np.concatenate((breaks, [chosen.size])).tolist()
    return zip(firsts, stops)


@dataclass(frozen=True, eq=False)
class _SelectedRowsBody:
    """The chosen rows of a source without random access: one pass, keeping only those rows."""

    parent: DataSource
    rows: np.ndarray

    def blocks(
        self, source: DataSource, max_bytes: int, reuse: int
    ) -> Iterator[tuple[Index, np.ndarray]]:
        parent = self.parent
        if parent.fortran_order and len(parent.shape) > 1:
            # Each block holds every row of some slices along the last axis.
            for index, block in parent.chunks(max_bytes):
                yield (slice(None), *index[1:]), np.asfortranarray(block[self.rows])
            return
        done = 0
        for index, block in parent.chunks(max_bytes):
            start, stop = index[0].start, index[0].stop
            end = int(np.searchsorted(self.rows, stop, side="left"))
            if end > done:
                picked = block[self.rows[done:end] - start]
                yield (slice(done, end), *index[1:]), picked
                done = end
            if done == self.rows.size:
                break


class BufferRing:
    """Byte buffers handed out in turn, each refilled `size` blocks after it was handed out;
    a size of 0 hands out a fresh buffer every time."""

    def __init__(self, size: int) -> None:
        self._buffers: list[np.ndarray | None] = [None] * max(size, 0)
        self._turn = 0

    def next(self, nbytes: int) -> np.ndarray:
        if not self._buffers:
            return np.empty(nbytes, dtype=np.uint8)
        slot = self._turn % len(self._buffers)
        self._turn += 1
        buffer = self._buffers[slot]
        if buffer is None or buffer.size < nbytes:
            buffer = self._buffers[slot] = np.empty(nbytes, dtype=np.uint8)
        return buffer[:nbytes]


def _open_regular(source: str) -> BinaryIO:
    """Open a regular file (or an object in remote storage) for reading; refuse anything else
    before opening it.

    A FIFO opened for reading would block until a writer appears, so its type is checked with
    stat first, and the open itself is non-blocking in case the path is swapped in between.
    """
    if is_url(source):
        from vaecheck.readers.remote import open_url

        return open_url(source)
    info = stat_input(source, "the data")
    _refuse_irregular(info.st_mode, source)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(source, flags)
    except OSError as exc:
        raise VaecheckError(f"cannot read the data ({_reason(exc)})", source) from None
    try:
        _refuse_irregular(os.fstat(fd).st_mode, source)
        return os.fdopen(fd, "rb", buffering=0)
    except BaseException:
        os.close(fd)
        raise


def _refuse_irregular(mode: int, source: str) -> None:
    if stat.S_ISDIR(mode):
        raise VaecheckError(f"a directory, not a data file ({SUPPORTED} files)", source)
    if not stat.S_ISREG(mode):
        raise VaecheckError(
            f"not a regular file (a FIFO, socket or device): {SUPPORTED} files", source
        )


def _reason(exc: BaseException) -> str:
    """A damaged file's exception as a short clause for the one-line problem."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    if isinstance(exc, EOFError):
        return "the compressed data ends early"
    return str(exc) or type(exc).__name__


def _format_shape(shape: tuple[int, ...]) -> str:
    return f"({shape[0]},)" if len(shape) == 1 else f"({', '.join(map(str, shape))})"

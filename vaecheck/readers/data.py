"""Data files -> a DataSource that yields the array in blocks, so memory stays flat.

Formats: `.npy` (versions 1.0, 2.0 and 3.0) and `.npz` (a zip of `.npy` members, stored or
deflated), `.csv`/`.tsv` (readers/delimited), HDF5 datasets (readers/hdf5), recognised by
content first and by suffix second; directories and globs of shards of any of these
(readers/shards); and `-`, a `.npy` streamed on standard input. The `.npy` header is parsed
here with `ast.literal_eval` and its body read with plain reads at computed offsets: no
`np.load`, no memory map, no pickle. Every problem with a file is a VaecheckError naming it.

`open_file` is where a format is recognised and its reader called: a new format is a reader
module (importing what readers share from readers/source, never this module) and a branch
there. `open_data` adds standard input and shards on top.

A source can be narrowed to some of its rows (`take_rows`, `sample`): formats that allow it
(`.npy` in C order, HDF5, arrays in memory) then read only those rows; the others stream
through the file once and keep the chosen rows.
"""

from __future__ import annotations

import ast
import math
import os
import re
import struct
import sys
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import BinaryIO

import numpy as np

from vaecheck.errors import MAX_NAME_CHARACTERS, VaecheckError, printable
from vaecheck.readers.archive import open_zip, refuse_link
from vaecheck.readers.locations import display_name, is_url
from vaecheck.readers.source import (
    DATA_SUFFIXES,
    DELIMITED_SUFFIXES,
    HDF5_SUFFIXES,
    SUPPORTED,
    BufferRing,
    DataSource,
    Index,
    MissingChunks,
    _Body,
    _dtype_problem,
    _format_shape,
    _layout_problem,
    _open_regular,
    _reason,
    _SelectedRowsBody,
    _shape_problem,
    row_batches,
    row_runs,
)

NPY_MAGIC = b"\x93NUMPY"
NPY_VERSIONS = {(1, 0): ("<H", "latin1"), (2, 0): ("<I", "latin1"), (3, 0): ("<I", "utf8")}
ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06")
# numpy refuses longer headers by default too; a numeric array's header is a few hundred bytes.
MAX_HEADER_BYTES = 10_000
# numpy 1.x allows 32 dimensions (2.x allows 64); no data sample needs more.
MAX_DIMS = 32
# Deflate cannot expand past 1032:1 (a 258-byte match costs at least two bits), so a member that
# declares more than that is lying, and decompressing it would be a zip bomb.
DEFLATE_MAX_RATIO = 1032
DEFLATE_SLACK_BYTES = 64 * 1024
# zipfile copies what one read asks for several times over; reading in pieces bounds that.
READ_PIECE_BYTES = 2**20
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
GLOB_CHARACTERS = "*?["
STDIN = "-"
STDIN_NAME = "<stdin>"
CHANGED = "the file changed while vaecheck was reading it"
# `s3://bucket/x.h5:/group/dataset`: a dataset named in a URL, as in a local path.
REMOTE_DATASET = re.compile(r"^(.*?\.(?:h5|hdf5|he5|hdf)):(/.*)$", re.IGNORECASE)


# What a damaged file or archive can raise from os, zipfile, zlib and struct while being read.
_READ_ERRORS = (
    OSError,
    EOFError,
    ValueError,
    OverflowError,
    RuntimeError,
    NotImplementedError,
    zipfile.BadZipFile,
    zlib.error,
    struct.error,
)


class _BadArray(Exception):
    """A problem with one .npy stream; the caller knows which file or member it is."""


@dataclass(frozen=True)
class _NpyHeader:
    dtype: np.dtype
    shape: tuple[int, ...]
    fortran_order: bool
    length: int  # bytes from the start of the .npy stream to its first data byte

    @property
    def data_bytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


def open_data(
    path: str | os.PathLike[str],
    key: str | None = None,
    columns: str | Sequence[str | int] | None = None,
    *,
    follow_links: bool = False,
) -> DataSource:
    """Open a data file, a directory or glob of shards, or `-` for a .npy on standard input.

    `key` picks the array of an `.npz` holding several, or the dataset of an HDF5 file (which
    can also be named as `file.h5:/group/dataset`); `columns` selects columns of a `.csv` or
    `.tsv` by name or index. A symbolic link, given or among shards, is refused unless
    `follow_links`: a link in a pull request can point at any file on the machine.
    """
    source = os.fsdecode(os.fspath(path))
    if source == STDIN:
        if key is not None or columns is not None:
            raise VaecheckError("--key and --columns do not apply to a .npy on standard input")
        return open_stream(_standard_input())
    if is_url(source):
        from vaecheck.readers.sources import open_url

        remote = open_url(source, key, columns)
        if remote is not None:
            return remote
        if source.endswith("/") or _is_glob(source.split("://", 1)[1].split("?", 1)[0]):
            from vaecheck.readers.shards import open_remote_shards

            def open_remote_shard(url: str) -> DataSource:
                return open_file(url, key=key, columns=columns)

            return open_remote_shards(source, open_remote_shard, DATA_SUFFIXES)
        named = REMOTE_DATASET.match(source)
        if named is not None:
            location, dataset = named.groups()
            if key is not None and key.strip("/") != dataset.strip("/"):
                raise VaecheckError(
                    f"the dataset is named twice: '{dataset}' in the path, '{key}' by --key",
                    source,
                )
            return open_file(location, key=dataset, columns=columns, shown=source)
        return open_file(source, key=key, columns=columns)
    if not follow_links:
        _refuse_link(source)
    if os.path.isdir(source):
        from vaecheck.readers.sources import open_other_directory

        other = open_other_directory(source, key, columns)
        if other is not None:
            return other
    if os.path.isdir(source) or (not os.path.lexists(source) and _is_glob(source)):
        from vaecheck.readers.shards import open_shards

        def open_shard(shard: str) -> DataSource:
            return open_file(shard, key=key, columns=columns, follow_links=follow_links)

        return open_shards(source, open_shard, DATA_SUFFIXES)
    if not os.path.lexists(source):
        from vaecheck.readers.sources import open_store_path

        store = open_store_path(source, key, columns)
        if store is not None:
            return store
        split = _split_dataset_path(source)
        if split is not None:
            file_path, dataset = split
            if key is not None and key != dataset:
                raise VaecheckError(
                    f"the dataset is named twice: '{dataset}' in the path, '{key}' by --key",
                    source,
                )
            return open_file(
                file_path, key=dataset, columns=columns, shown=source, follow_links=follow_links
            )
    return open_file(source, key=key, columns=columns)


def _refuse_link(source: str) -> None:
    try:
        refuse_link(source, source)
    except ValueError:  # a NUL byte in the path
        raise VaecheckError("not a valid path", source) from None


def open_file(
    source: str,
    key: str | None = None,
    columns: str | Sequence[str | int] | None = None,
    shown: str | None = None,
    *,
    follow_links: bool = True,
) -> DataSource:
    """Open one data file, of whichever supported format its content (or suffix) says.

    The caller decides about links (open_data and the shards refuse them by default); with
    `follow_links` False, a link is refused here too.
    """
    if not follow_links and not is_url(source):
        _refuse_link(source)
    with _open_regular(source) as stream:
        head = _read_exact(stream, len(HDF5_SIGNATURE))
        if not head:
            raise VaecheckError("the file is empty", source)
        if not head.startswith((NPY_MAGIC, HDF5_SIGNATURE)):  # the other formats' readers
            from vaecheck.readers.sources import open_other_file

            other = open_other_file(source, head, key, columns, shown)
            if other is not None:
                return other
        if head.startswith(NPY_MAGIC) or head[:4] in ZIP_SIGNATURES:
            if columns is not None:
                raise VaecheckError("--columns selects columns of .csv and .tsv files", source)
            if head.startswith(NPY_MAGIC):
                if key is not None:
                    problem = f"--key {key!r} is for .npz archives and HDF5 files, not a .npy file"
                    raise VaecheckError(problem, source)
                return _open_npy(stream, source)
            return _open_npz(stream, source, key)
    suffix = os.path.splitext(source)[1].lower()
    if head == HDF5_SIGNATURE or suffix in HDF5_SUFFIXES:
        if columns is not None:
            raise VaecheckError("--columns selects columns of .csv and .tsv files", source)
        from vaecheck.readers.hdf5 import open_hdf5

        return open_hdf5(source, key, shown=shown)
    if suffix in DELIMITED_SUFFIXES:
        if key is not None:
            raise VaecheckError(f"--key does not apply to {suffix} files: use --columns", source)
        from vaecheck.readers.delimited import open_delimited

        return open_delimited(source, DELIMITED_SUFFIXES[suffix], columns)
    if suffix == ".npy":
        raise VaecheckError(_npy_magic_problem(head[: len(NPY_MAGIC)]), source)
    if suffix == ".npz":
        raise VaecheckError("not an .npz file: it is not a zip archive", source)
    if not suffix:
        raise VaecheckError(
            f"unrecognised data format: no suffix, and the content is neither .npy, .npz nor "
            f"HDF5 ({SUPPORTED})",
            source,
        )
    raise VaecheckError(f"unsupported data format '{suffix}' ({SUPPORTED})", source)


def _is_glob(source: str) -> bool:
    return any(character in source for character in GLOB_CHARACTERS)


def _split_dataset_path(source: str) -> tuple[str, str] | None:
    """`file.h5:/group/dataset` -> (`file.h5`, `/group/dataset`), when that file exists."""
    position = source.find(":")
    while position != -1:
        file_path, dataset = source[:position], source[position + 1 :]
        if dataset and os.path.isfile(file_path):
            return file_path, dataset
        position = source.find(":", position + 1)
    return None


def array_source(array: np.ndarray, description: str = "<array>") -> DataSource:
    """A DataSource over an array already in memory, checked like a file's."""
    array = np.asarray(array)
    problem = _layout_problem(array.dtype, array.shape)
    if problem:
        raise VaecheckError(problem, description)
    fortran_order = bool(array.flags.f_contiguous and not array.flags.c_contiguous)
    return DataSource(
        path=description,
        description=description,
        shape=tuple(array.shape),
        dtype=array.dtype,
        fortran_order=fortran_order,
        _body=_ArrayBody(array),
    )


def _read_npy_header(stream: BinaryIO) -> _NpyHeader:
    """Parse a .npy header from the start of `stream`, leaving it at the first data byte.

    Raises _BadArray with a one-line problem; nothing in the header is executed or unpickled.
    """
    magic = _read_exact(stream, len(NPY_MAGIC))
    if magic != NPY_MAGIC:
        raise _BadArray(_npy_magic_problem(magic))
    version = _read_exact(stream, 2)
    if len(version) < 2:
        raise _BadArray("the .npy header is cut short")
    major, minor = version[0], version[1]
    if (major, minor) not in NPY_VERSIONS:
        raise _BadArray(
            f"unsupported .npy format version {major}.{minor} (vaecheck reads 1.0, 2.0 and 3.0)"
        )
    length_format, encoding = NPY_VERSIONS[major, minor]
    length_field = _read_exact(stream, struct.calcsize(length_format))
    if len(length_field) < struct.calcsize(length_format):
        raise _BadArray("the .npy header is cut short")
    (header_length,) = struct.unpack(length_format, length_field)
    if header_length > MAX_HEADER_BYTES:
        raise _BadArray(
            f"the .npy header declares {header_length:,} bytes, more than the "
            f"{MAX_HEADER_BYTES:,} a header may have"
        )
    raw = _read_exact(stream, header_length)
    if len(raw) < header_length:
        raise _BadArray("the .npy header is cut short")
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError:
        raise _BadArray(f"the .npy header is not valid {encoding} text") from None
    dtype, shape, fortran_order = _parse_header_dict(text)
    return _NpyHeader(
        dtype=dtype,
        shape=shape,
        fortran_order=fortran_order,
        length=len(NPY_MAGIC) + 2 + len(length_field) + header_length,
    )


def _parse_header_dict(text: str) -> tuple[np.dtype, tuple[int, ...], bool]:
    try:
        header = ast.literal_eval(text.strip())
    except (SyntaxError, ValueError, TypeError, RecursionError, MemoryError):
        raise _BadArray("the .npy header is not a Python dict literal") from None
    if not isinstance(header, dict):
        raise _BadArray("the .npy header is not a Python dict literal")
    expected = {"descr", "fortran_order", "shape"}
    missing = sorted(expected - header.keys())
    if missing:
        raise _BadArray(f"the .npy header lacks {', '.join(missing)}")
    unexpected = sorted(repr(k) for k in header.keys() - expected)
    if unexpected:
        raise _BadArray(f"the .npy header has unexpected keys {', '.join(unexpected)}")
    dtype = _header_dtype(header["descr"])
    fortran_order = header["fortran_order"]
    if not isinstance(fortran_order, bool):
        raise _BadArray(f"the .npy header's fortran_order is {fortran_order!r}, not True or False")
    shape = header["shape"]
    if not isinstance(shape, tuple) or not all(
        isinstance(d, int) and not isinstance(d, bool) for d in shape
    ):
        raise _BadArray(f"the .npy header's shape {shape!r} is not a tuple of integers")
    if any(d < 0 for d in shape):
        raise _BadArray(f"the .npy header's shape {_format_shape(shape)} has a negative dimension")
    if len(shape) > MAX_DIMS:
        raise _BadArray(f"the .npy header declares {len(shape)} dimensions, more than {MAX_DIMS}")
    problem = _shape_problem(shape)
    if problem:
        raise _BadArray(problem)
    return dtype, shape, fortran_order


def _header_dtype(descr: object) -> np.dtype:
    if not isinstance(descr, (str, list)):
        raise _BadArray(f"the .npy header's descr {descr!r} is not a dtype")
    try:
        dtype = np.dtype(descr)
    except Exception:  # numpy's dtype parser raises what its parts raise (SyntaxError too)
        shown = descr if isinstance(descr, str) else "a list"
        raise _BadArray(f"the .npy header's descr {shown!r} is not a valid dtype") from None
    problem = _dtype_problem(dtype)
    if problem:
        raise _BadArray(problem)
    return dtype


def _npy_magic_problem(head: bytes) -> str:
    return f"not a .npy file: it starts with {head!r}, not the .npy magic {NPY_MAGIC!r}"


# --- .npy files -------------------------------------------------------------------------------


def _open_npy(stream: BinaryIO, source: str) -> DataSource:
    header = _npy_file_header(stream, source)
    return DataSource(
        path=source,
        description=printable(_file_name(source), MAX_NAME_CHARACTERS),
        shape=header.shape,
        dtype=header.dtype,
        fortran_order=header.fortran_order,
        _body=_NpyFileBody(header),
    )


def _npy_file_header(stream: BinaryIO, source: str) -> _NpyHeader:
    """Parse the header and check that the file holds exactly the data it declares."""
    try:
        stream.seek(0)
        header = _read_npy_header(stream)
        file_bytes = _stream_size(stream)
    except _BadArray as exc:
        raise VaecheckError(str(exc), source) from None
    except OSError as exc:
        raise VaecheckError(f"cannot read the data ({_reason(exc)})", source) from None
    held = file_bytes - header.length
    if held < header.data_bytes:
        raise VaecheckError(
            f"the file is truncated: its header declares {header.data_bytes:,} bytes of data "
            f"({_describe(header)}), the file holds {max(held, 0):,}",
            source,
        )
    if held > header.data_bytes:
        raise VaecheckError(
            f"the file holds {held - header.data_bytes:,} bytes after the "
            f"{header.data_bytes:,} bytes of data its header declares",
            source,
        )
    return header


@dataclass(frozen=True)
class _NpyFileBody:
    header: _NpyHeader

    def blocks(
        self, source: DataSource, max_bytes: int, reuse: int
    ) -> Iterator[tuple[Index, np.ndarray]]:
        with _open_regular(source.path) as stream:
            if _npy_file_header(stream, source.path) != self.header:
                raise VaecheckError(CHANGED, source.path)
            yield from _stream_blocks(stream, self.header, max_bytes, source.path, "", reuse)

    @property
    def reads_row_ranges(self) -> bool:
        return not self.header.fortran_order

    def take_rows(self, source: DataSource, rows: np.ndarray) -> _Body:
        if self.header.fortran_order:
            # A row of a Fortran-ordered array is scattered over the whole file.
            return _SelectedRowsBody(source, rows)
        return _NpyRowsBody(self.header, rows)

    def row_range(self, source: DataSource, start: int, stop: int) -> _Body:
        if self.header.fortran_order:
            return _SelectedRowsBody(source, np.arange(start, stop, dtype=np.int64))
        return _NpyRangeBody(self.header, start, stop)


@dataclass(frozen=True)
class _NpyRangeBody:
    """Rows [start, stop) of a C-ordered .npy file: one seek, then read like a file of its own
    (in blocks that can reuse their memory)."""

    header: _NpyHeader
    start: int
    stop: int

    def blocks(
        self, source: DataSource, max_bytes: int, reuse: int
    ) -> Iterator[tuple[Index, np.ndarray]]:
        header = self.header
        row_bytes = math.prod(header.shape[1:]) * header.dtype.itemsize
        rows = replace(header, shape=(self.stop - self.start, *header.shape[1:]))
        with _open_regular(source.path) as stream:
            if _npy_file_header(stream, source.path) != header:
                raise VaecheckError(CHANGED, source.path)
            try:
                stream.seek(header.length + self.start * row_bytes)
            except _READ_ERRORS as exc:
                raise VaecheckError(f"cannot read the data ({_reason(exc)})", source.path) from None
            yield from _stream_blocks(stream, rows, max_bytes, source.path, "", reuse)


@dataclass(frozen=True, eq=False)
class _NpyRowsBody:
    """Some rows of a C-ordered .npy file, each run of consecutive rows read with one seek."""

    header: _NpyHeader
    rows: np.ndarray

    def blocks(
        self, source: DataSource, max_bytes: int, reuse: int
    ) -> Iterator[tuple[Index, np.ndarray]]:
        header = self.header
        row_shape = header.shape[1:]
        row_bytes = math.prod(row_shape) * header.dtype.itemsize
        if is_url(source.path):
            yield from self._remote_blocks(source, max_bytes, row_bytes)
            return
        with _open_regular(source.path) as stream:
            if _npy_file_header(stream, source.path) != header:
                raise VaecheckError(CHANGED, source.path)
            for start, chosen in row_batches(self.rows, row_bytes, max_bytes):
                buffer = np.empty(chosen.size * row_bytes, dtype=np.uint8)
                for first, stop in row_runs(chosen):
                    piece = buffer[first * row_bytes : stop * row_bytes]
                    try:
                        stream.seek(header.length + int(chosen[first]) * row_bytes)
                        filled = _fill(stream, piece)
                    except _READ_ERRORS as exc:
                        problem = f"cannot read the data ({_reason(exc)})"
                        raise VaecheckError(problem, source.path) from None
                    if filled < piece.size:
                        raise VaecheckError(f"the data ended early: {CHANGED}", source.path)
                if header.dtype.kind == "b":
                    np.not_equal(buffer, 0, out=buffer)
                index = (slice(start, start + chosen.size),) + (slice(None),) * len(row_shape)
                yield index, buffer.view(header.dtype).reshape((chosen.size, *row_shape))

    def _remote_blocks(
        self, source: DataSource, max_bytes: int, row_bytes: int
    ) -> Iterator[tuple[Index, np.ndarray]]:
        """The rows of an object in remote storage: one range request per run of nearby rows,
        sent together, so a sample transfers about what it keeps, not the whole object."""
        from vaecheck.readers.remote import read_ranges

        header = self.header
        row_shape = header.shape[1:]
        with _open_regular(source.path) as stream:
            if _npy_file_header(stream, source.path) != header:
                raise VaecheckError(CHANGED, source.path)
        for start, chosen in row_batches(self.rows, row_bytes, max_bytes):
            runs = list(row_runs(chosen))
            ranges = [
                (
                    header.length + int(chosen[first]) * row_bytes,
                    header.length + (int(chosen[stop - 1]) + 1) * row_bytes,
                )
                for first, stop in runs
            ]
            buffer = np.empty(chosen.size * row_bytes, dtype=np.uint8)
            for (first, stop), piece in zip(runs, read_ranges(source.path, ranges)):
                buffer[first * row_bytes : stop * row_bytes] = np.frombuffer(piece, dtype=np.uint8)
            if header.dtype.kind == "b":
                np.not_equal(buffer, 0, out=buffer)
            index = (slice(start, start + chosen.size),) + (slice(None),) * len(row_shape)
            yield index, buffer.view(header.dtype).reshape((chosen.size, *row_shape))


# --- .npz archives ----------------------------------------------------------------------------


def _open_npz(stream: BinaryIO, source: str, key: str | None) -> DataSource:
    with _zip_archive(stream, source) as archive:
        info = _select_member(archive, source, key)
        member, header = _open_member(archive, info, source)
        member.close()
    return DataSource(
        path=source,
        description=printable(
            f"{_file_name(source)}[{_array_name(info.filename)}]", MAX_NAME_CHARACTERS
        ),
        shape=header.shape,
        dtype=header.dtype,
        fortran_order=header.fortran_order,
        _body=_NpzMemberBody(info.filename, header),
    )


def _zip_archive(stream: BinaryIO, source: str) -> zipfile.ZipFile:
    """Open the archive and refuse it if any member declares an impossible size."""
    try:
        stream.seek(0)
        archive_bytes = _stream_size(stream)
        archive = open_zip(stream, source, "an .npz file", "not an .npz file: not a valid zip archive")
    except OSError as exc:
        problem = f"not an .npz file: not a valid zip archive ({_reason(exc)})"
        raise VaecheckError(problem, source) from None
    try:
        for info in archive.infolist():
            problem = _declared_size_problem(info, archive_bytes)
            if problem:
                raise VaecheckError(problem, source)
    except BaseException:
        archive.close()
        raise
    return archive


def _declared_size_problem(info: zipfile.ZipInfo, archive_bytes: int) -> str | None:
    name = info.filename
    if info.compress_size > archive_bytes:
        return (
            f"member '{name}' declares {info.compress_size:,} compressed bytes, "
            f"more than the whole archive ({archive_bytes:,} bytes)"
        )
    if info.compress_type == zipfile.ZIP_STORED:
        if info.file_size != info.compress_size:
            return (
                f"member '{name}' is stored uncompressed, yet declares {info.file_size:,} bytes "
                f"in an entry of {info.compress_size:,}"
            )
    elif info.file_size > DEFLATE_MAX_RATIO * info.compress_size + DEFLATE_SLACK_BYTES:
        return (
            f"member '{name}' declares {info.file_size:,} bytes from {info.compress_size:,} "
            f"compressed bytes, more than deflate can produce: refusing a likely zip bomb"
        )
    return None


def _select_member(archive: zipfile.ZipFile, source: str, key: str | None) -> zipfile.ZipInfo:
    # Not ZipInfo.is_dir: a hostile archive can hold a member with an empty name.
    members = [info for info in archive.infolist() if not info.filename.endswith("/")]
    if not any(info.filename.endswith(".npy") for info in members):
        looks_like_model = any(info.filename == "config.json" for info in members)
        hint = " (it looks like a .keras model: pass it as the model)" if looks_like_model else ""
        raise VaecheckError(f"a zip archive with no .npy arrays, not an .npz{hint}", source)
    names = [_array_name(info.filename) for info in members]
    if key is None:
        if len(members) > 1:
            raise VaecheckError(
                f"the .npz archive holds {len(members)} arrays ({_list_names(names)}); "
                f"pass --key to choose one",
                source,
            )
        chosen = members[0]
    else:
        matches = [info for info in members if key in (info.filename, _array_name(info.filename))]
        if not matches:
            raise VaecheckError(
                f"no array '{key}' in the .npz archive; it holds {_list_names(names)}", source
            )
        chosen = matches[-1]
    if chosen.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise VaecheckError(
            f"array '{_array_name(chosen.filename)}' uses zip compression method "
            f"{chosen.compress_type}; .npz members are stored or deflated",
            source,
        )
    return chosen


def _open_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, source: str
) -> tuple[BinaryIO, _NpyHeader]:
    """Open a member, parse its .npy header and check it against the entry's declared size.

    Returns the member's stream at its first data byte: deflated members cannot seek cheaply,
    so their data is read on from there.
    """
    name = _array_name(info.filename)
    try:
        member = archive.open(info)
        try:
            header = _read_npy_header(member)
        except BaseException:
            member.close()
            raise
    except _BadArray as exc:
        raise VaecheckError(f"array '{name}': {exc}", source) from None
    except _READ_ERRORS as exc:
        problem = f"cannot read array '{name}' from the archive ({_reason(exc)})"
        raise VaecheckError(problem, source) from None
    if header.length + header.data_bytes != info.file_size:
        member.close()
        raise VaecheckError(
            f"array '{name}': its .npy header declares {header.data_bytes:,} bytes of data "
            f"({_describe(header)}), the archive entry holds "
            f"{max(info.file_size - header.length, 0):,}",
            source,
        )
    return member, header


@dataclass(frozen=True)
class _NpzMemberBody:
    member: str
    header: _NpyHeader

    def blocks(
        self, source: DataSource, max_bytes: int, reuse: int
    ) -> Iterator[tuple[Index, np.ndarray]]:
        with _open_regular(source.path) as stream, _zip_archive(stream, source.path) as archive:
            try:
                info = archive.getinfo(self.member)
            except KeyError:
                raise VaecheckError(CHANGED, source.path) from None
            member, header = _open_member(archive, info, source.path)
            with member:
                if header != self.header:
                    raise VaecheckError(CHANGED, source.path)
                prefix = f"array '{_array_name(self.member)}': "
                yield from _stream_blocks(member, header, max_bytes, source.path, prefix, reuse)


def _array_name(member: str) -> str:
    return member[: -len(".npy")] if member.endswith(".npy") else member


def _list_names(names: list[str], most: int = 20) -> str:
    shown = ", ".join(names[:most])
    return shown if len(names) <= most else f"{shown}, … ({len(names) - most} more)"


# --- arrays in memory -------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _ArrayBody:
    array: np.ndarray
    held_here = True  # no other process can read it

    def blocks(
        self, source: DataSource, max_bytes: int, reuse: int
    ) -> Iterator[tuple[Index, np.ndarray]]:
        for index, _ in _block_plan(source.shape, source.dtype, source.fortran_order, max_bytes):
            yield index, np.array(self.array[index], order="K", copy=True)

    def take_rows(self, source: DataSource, rows: np.ndarray) -> _Body:
        return _ArrayRowsBody(self.array, rows)


@dataclass(frozen=True, eq=False)
class _ArrayRowsBody:
    array: np.ndarray
    rows: np.ndarray
    held_here = True

    def blocks(
        self, source: DataSource, max_bytes: int, reuse: int
    ) -> Iterator[tuple[Index, np.ndarray]]:
        row_bytes = math.prod(source.shape[1:]) * source.dtype.itemsize
        rest = (slice(None),) * (len(source.shape) - 1)
        for start, chosen in row_batches(self.rows, row_bytes, max_bytes):
            yield (slice(start, start + chosen.size), *rest), self.array[chosen]


# --- standard input ---------------------------------------------------------------------------


def _standard_input() -> BinaryIO:
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:
        raise VaecheckError("standard input is not available", STDIN_NAME)
    try:
        terminal = stream.isatty()
    except (OSError, ValueError):  # a closed stream
        terminal = False
    if terminal:
        # Reading would wait, silently, for a .npy typed at the keyboard.
        raise VaecheckError(
            "standard input is a terminal, not a .npy stream: pipe the data in "
            "(python make_data.py | vaecheck MODEL -) or name a data file",
            STDIN_NAME,
        )
    return stream


def open_stream(stream: BinaryIO, name: str = STDIN_NAME) -> DataSource:
    """A `.npy` arriving on a stream (a pipe): its header now, its body once, in order.

    Nothing is buffered beyond one block, so a pipe of any size fits in flat memory; the
    price is that the data can be read only once.
    """
    try:
        header = _read_npy_header(stream)
    except _BadArray as exc:
        problem = str(exc)
        if problem.startswith("not a .npy file"):
            problem += " (standard input takes a .npy stream, as np.save writes it)"
        raise VaecheckError(problem, name) from None
    except _READ_ERRORS as exc:
        raise VaecheckError(f"cannot read the data ({_reason(exc)})", name) from None
    return DataSource(
        path=name,
        description=name,
        shape=header.shape,
        dtype=header.dtype,
        fortran_order=header.fortran_order,
        _body=_StreamBody(stream, header, name),
    )


class _StreamBody:
    held_here = True  # standard input, or a stream opened by the caller

    def __init__(self, stream: BinaryIO, header: _NpyHeader, name: str) -> None:
        self._stream = stream
        self._header = header
        self._name = name
        self._used = False

    def blocks(
        self, source: DataSource, max_bytes: int, reuse: int
    ) -> Iterator[tuple[Index, np.ndarray]]:
        if self._used:
            raise VaecheckError("a stream can be read only once", self._name)
        self._used = True
        return self._read(max_bytes, reuse)

    def _read(self, max_bytes: int, reuse: int) -> Iterator[tuple[Index, np.ndarray]]:
        header = self._header
        try:
            yield from _stream_blocks(self._stream, header, max_bytes, self._name, "", reuse)
        except VaecheckError as error:
            if CHANGED in error.problem:
                raise VaecheckError(
                    f"the stream ended early: its header declares {header.data_bytes:,} bytes "
                    f"of data ({_describe(header)})",
                    self._name,
                ) from None
            raise
        try:
            extra = self._stream.read(1)
        except _READ_ERRORS:
            extra = b""
        if extra:
            raise VaecheckError(
                f"the stream goes on after the {header.data_bytes:,} bytes of data its header "
                f"declares",
                self._name,
            )


# --- shared plumbing --------------------------------------------------------------------------


def _block_plan(
    shape: tuple[int, ...], dtype: np.dtype, fortran_order: bool, max_bytes: int
) -> Iterator[tuple[Index, tuple[int, ...]]]:
    """The index and shape of each block, in the order the values are stored."""
    axis = len(shape) - 1 if fortran_order else 0
    length = shape[axis]
    slice_bytes = math.prod(shape) // length * dtype.itemsize
    per_block = max(1, max_bytes // slice_bytes)
    for start in range(0, length, per_block):
        stop = min(start + per_block, length)
        index = tuple(slice(start, stop) if a == axis else slice(None) for a in range(len(shape)))
        block_shape = tuple(stop - start if a == axis else d for a, d in enumerate(shape))
        yield index, block_shape


def _stream_blocks(
    stream: BinaryIO,
    header: _NpyHeader,
    max_bytes: int,
    source: str,
    prefix: str,
    reuse: int = 0,
) -> Iterator[tuple[Index, np.ndarray]]:
    order = "F" if header.fortran_order else "C"
    plan = _block_plan(header.shape, header.dtype, header.fortran_order, max_bytes)
    buffers = BufferRing(int(reuse))
    for index, block_shape in plan:
        nbytes = math.prod(block_shape) * header.dtype.itemsize
        try:
            buffer = buffers.next(nbytes)
        except (ValueError, MemoryError):  # a block a header declares beyond any memory
            raise VaecheckError(
                f"{prefix}its header declares blocks of {nbytes:,} bytes, more than memory holds",
                source,
            ) from None
        try:
            filled = _fill(stream, buffer)
        except _READ_ERRORS as exc:
            raise VaecheckError(f"{prefix}cannot read the data ({_reason(exc)})", source) from None
        if filled < buffer.size:
            raise VaecheckError(f"{prefix}the data ended early: {CHANGED}", source)
        if header.dtype.kind == "b":
            # numpy stores True as 1, but any non-zero byte reads as True: keep blocks 0 and 1.
            np.not_equal(buffer, 0, out=buffer)
        yield index, buffer.view(header.dtype).reshape(block_shape, order=order)


def _fill(stream: BinaryIO, buffer: np.ndarray) -> int:
    """Read into `buffer` until it is full or the stream ends; return the bytes read."""
    view = memoryview(buffer)
    filled = 0
    while filled < len(view):
        got = stream.readinto(view[filled : filled + READ_PIECE_BYTES])
        if not got:
            break
        filled += got
    return filled


def _read_exact(stream: BinaryIO, size: int) -> bytes:
    """Up to `size` bytes: fewer only where the stream ends."""
    parts: list[bytes] = []
    wanted = size
    while wanted > 0:
        part = stream.read(wanted)
        if not part:
            break
        parts.append(part)
        wanted -= len(part)
    return b"".join(parts)


def _stream_size(stream: BinaryIO) -> int:
    """The size of an open file, local (by fstat) or remote (as the storage states it)."""
    size = getattr(stream, "size", None)
    if isinstance(size, int):
        return size
    return os.fstat(stream.fileno()).st_size


def _file_name(source: str) -> str:
    return display_name(source) if is_url(source) else os.path.basename(source)


def _describe(header: _NpyHeader) -> str:
    return f"{header.dtype}, shape {_format_shape(header.shape)}"

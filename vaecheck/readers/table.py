"""Parquet, Feather and Arrow IPC tables as a DataSource of rows, read record batch by batch.

pyarrow (the `parquet` extra) is imported only here, and only when a table is opened. A
source is one file, or a directory of files (any nesting, so a hive-partitioned dataset
`year=2024/part-0.parquet` reads as the rows of all its files, in path order). Every selected
column must hold numbers: integers, floats or booleans, or lists of them; a fixed-size-list
or list column (an embedding, a flattened image) gives one feature per element, and every row
of a list column must have the same length. A null in a float column is a missing value, read
as NaN and counted as non-finite, as an empty CSV cell is; integers and booleans have no NaN,
so a null there is an error naming the column and the row.

Parquet is read by row group with pre-buffering off (pyarrow would otherwise buffer a whole
row group's column chunks at once), so memory stays near one block whatever the file size.
A source splits into parts of whole row groups (or whole files), each reopened on its own; a
random sample reads only the row groups that hold chosen rows.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from vaecheck.errors import MAX_NAME_CHARACTERS, VaecheckError, printable
from vaecheck.readers.source import (
    DataSource,
    Index,
    _Body,
    _dtype_problem,
    _open_regular,
    _SelectedRowsBody,
)
from vaecheck.readers.delimited import _select_columns
from vaecheck.readers.optional import require
from vaecheck.readers.urls import is_url, remote_errors, url_filesystem

PARQUET_MAGIC = b"PAR1"
ARROW_FILE_MAGIC = b"ARROW1"
ARROW_STREAM_MAGIC = b"\xff\xff\xff\xff"
PARQUET_SUFFIXES = (".parquet", ".parq", ".pq")
ARROW_FILE_SUFFIXES = (".feather", ".arrow", ".ipc")
ARROW_STREAM_SUFFIXES = (".arrows",)
TABLE_SUFFIXES = (*PARQUET_SUFFIXES, *ARROW_FILE_SUFFIXES, *ARROW_STREAM_SUFFIXES)
# Row groups are joined into parts of at least this many (uncompressed) bytes: a part is the
# unit a worker measures, and a part per small row group would cost more to merge than to read.
PART_BYTES = 64 * 2**20
# The widest table measured per feature (stats.MAX_FEATURES); wider is refused from the schema.
MAX_FEATURES = 2**18
MAX_FILES = 100_000
READ_BUFFER_BYTES = 2**20
# A footer bigger than this is not a table's: pyarrow's own limits are 100 MB and 1M entries.
THRIFT_STRING_LIMIT = 16 * 2**20
THRIFT_CONTAINER_LIMIT = 2**20
FORMAT_NAMES = {"parquet": "Parquet", "arrow-file": "Arrow IPC (Feather)", "arrow-stream": "Arrow IPC stream"}


@dataclass(frozen=True)
class _Column:
    name: str
    dtype: np.dtype
    shape: tuple[int, ...]  # values per row: () for a scalar, (n,) or (n, m, ...) for lists
    varying: bool  # a list column whose length is learned from the data, not the schema

    @property
    def width(self) -> int:
        return math.prod(self.shape)


@dataclass(frozen=True)
class _Layout:
    format: str  # "parquet" | "arrow-file" | "arrow-stream"
    columns: tuple[_Column, ...]
    sample_shape: tuple[int, ...]
    dtype: np.dtype

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.columns]


@dataclass(frozen=True)
class _Piece:
    """Whole row groups of one file (all of a file's batches, for Arrow IPC): one part."""

    file: str
    groups: tuple[int, ...]  # Parquet row groups; () for every batch of an Arrow file
    rows: int
    group_rows: tuple[int, ...] = ()  # rows of each group, for a sample's seek


def table_format(head: bytes, path: str) -> str | None:
    """"parquet", "arrow-file" or "arrow-stream" from a file's first bytes (or suffix)."""
    if head.startswith(PARQUET_MAGIC):
        return "parquet"
    if head.startswith(ARROW_FILE_MAGIC):
        return "arrow-file"
    suffix = os.path.splitext(path)[1].lower()
    if head.startswith(ARROW_STREAM_MAGIC) and suffix in (*ARROW_STREAM_SUFFIXES, *ARROW_FILE_SUFFIXES):
        return "arrow-stream"
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    if suffix in ARROW_FILE_SUFFIXES:
        return "arrow-file"
    if suffix in ARROW_STREAM_SUFFIXES:
        return "arrow-stream"
    return None


def is_table_directory(path: str) -> bool:
    """Whether a directory holds table files (at any depth) rather than array shards."""
    for _, _, names in os.walk(path):
        if any(_is_table_name(name) for name in names):
            return True
    return False


def open_table(
    path: str,
    columns: str | Sequence[str | int] | None = None,
    *,
    format: str | None = None,
    shown: str | None = None,
) -> DataSource:
    """Open a Parquet/Feather/Arrow IPC file, or a directory of them, as rows of numbers."""
    what = "Parquet and Arrow data"
    require("pyarrow", what, "parquet", shown or path)
    if is_url(path):
        files = _remote_files(path)
        if len(files) == 1 and files[0] == path:
            description = path.rstrip("/").rsplit("/", 1)[-1]
            format = format or table_format(b"", path)
            if format is None:
                raise VaecheckError(f"a URL to a table needs a suffix ({', '.join(TABLE_SUFFIXES)})", path)
        else:
            format = _one_format(files, path)
            description = f"{path.rstrip('/').rsplit('/', 1)[-1]}/ ({len(files)} file{'s' if len(files) != 1 else ''})"
    elif os.path.isdir(path):
        files = _dataset_files(path)
        formats = {table_format(b"", file) for file in files}
        if len(formats) > 1:
            raise VaecheckError(
                "the directory mixes Parquet and Arrow files: name one kind", shown or path
            )
        format = formats.pop()
        description = f"{os.path.basename(os.path.normpath(path))}{os.sep} ({len(files)} file{'s' if len(files) != 1 else ''})"
    else:
        files = [path]
        if format is None:
            with _open_regular(path) as stream:
                format = table_format(stream.read(8), path)
        description = os.path.basename(path)
    assert format is not None
    layout, pieces = _inspect(files, format, columns, shown or path)
    rows = sum(piece.rows for piece in pieces)
    if rows == 0:
        raise VaecheckError("the table has no rows", shown or path)
    names = (
        None
        if len(layout.sample_shape) != 1
        else tuple(printable(name, MAX_NAME_CHARACTERS) for name in _feature_names(layout))
    )
    return DataSource(
        path=shown or path,
        description=printable(description, MAX_NAME_CHARACTERS),
        shape=(rows, *layout.sample_shape),
        dtype=layout.dtype,
        fortran_order=False,
        _body=_TableBody(layout, tuple(pieces)),
        feature_names=names,
    )


def _one_format(files: list[str], shown: str) -> str:
    formats = {table_format(b"", file) for file in files}
    if len(formats) > 1:
        raise VaecheckError("the directory mixes Parquet and Arrow files: name one kind", shown)
    found = formats.pop()
    assert found is not None
    return found


def _remote_files(url: str) -> list[str]:
    """The URL itself when it names an object; the table files under it when it is a prefix."""
    filesystem, root = url_filesystem(url)
    with remote_errors(url):
        if filesystem.isfile(root):
            return [url]
        if not filesystem.isdir(root):
            raise FileNotFoundError(url)
        found = [
            path
            for path in filesystem.find(root)
            if _is_table_name(path.rsplit("/", 1)[-1])
            and not any(part.startswith((".", "_")) for part in path[len(root) :].split("/"))
        ]
    if not found:
        raise VaecheckError(f"no table files ({', '.join(TABLE_SUFFIXES)}) under this URL", url)
    if len(found) > MAX_FILES:
        raise VaecheckError(f"the dataset has more than {MAX_FILES:,} files", url)
    return [filesystem.unstrip_protocol(path) for path in sorted(found, key=_natural)]


def _is_table_name(name: str) -> bool:
    return not name.startswith((".", "_")) and name.lower().endswith(TABLE_SUFFIXES)


def _dataset_files(directory: str) -> list[str]:
    """Table files under a directory, in path order; `_SUCCESS`, `_metadata` and hidden files
    skipped. A symbolic link is refused: it could reach any file on the machine."""
    files: list[str] = []
    for root, folders, names in os.walk(directory):
        folders[:] = sorted(f for f in folders if not f.startswith((".", "_")))
        for name in sorted(folders + names):
            full = os.path.join(root, name)
            if os.path.islink(full):
                raise VaecheckError(
                    f"'{os.path.relpath(full, directory)}' is a symbolic link: refused, vaecheck "
                    f"reads only what the dataset itself holds",
                    directory,
                )
        files.extend(os.path.join(root, name) for name in sorted(names, key=_natural) if _is_table_name(name))
        if len(files) > MAX_FILES:
            raise VaecheckError(f"the dataset has more than {MAX_FILES:,} files", directory)
    if not files:
        raise VaecheckError(f"the directory holds no table files ({', '.join(TABLE_SUFFIXES)})", directory)
    return files


def _natural(name: str) -> list[object]:
    return [int(piece) if piece.isdigit() else piece for piece in re.split(r"(\d+)", name)]


@contextmanager
def _arrow_errors(path: str, doing: str) -> Iterator[None]:
    """pyarrow reports a damaged file as ArrowInvalid, OSError, ...: one line naming it."""
    import pyarrow as pa

    try:
        yield
    except VaecheckError:
        raise
    except Exception as exc:
        known = (pa.ArrowException, OSError, ValueError, EOFError, IndexError, MemoryError)
        if not isinstance(exc, known) and not is_url(path):
            raise
        from vaecheck.readers.remote import RANGES_REFUSED, redact, refuses_ranges

        if is_url(path) and refuses_ranges(exc):  # footer first, then row groups: out of order
            raise VaecheckError(RANGES_REFUSED, redact(path)) from None
        # Over a URL, the storage client's own errors (botocore, aiohttp, ...) arrive here too.
        text = (str(exc).strip() or type(exc).__name__).splitlines()[0]
        raise VaecheckError(f"{doing} ({text})", path) from None


def _parquet_file(path: str) -> Any:
    import pyarrow.parquet as pq

    filesystem = None
    if is_url(path):
        # Read by range requests: the footer, then each column chunk through the buffer.
        filesystem, path = url_filesystem(path)
    else:
        _open_regular(path).close()  # the same checks as every data file: no FIFOs, devices, ...
    # No pre-buffering, and column chunks read through a 1 MiB buffer rather than whole: the
    # memory a row group costs is then about one batch of it.
    return pq.ParquetFile(
        path,
        pre_buffer=False,
        buffer_size=READ_BUFFER_BYTES,
        memory_map=False,
        filesystem=filesystem,
        thrift_string_size_limit=THRIFT_STRING_LIMIT,
        thrift_container_size_limit=THRIFT_CONTAINER_LIMIT,
    )


def _inspect(
    files: list[str], format: str, columns: str | Sequence[str | int] | None, shown: str
) -> tuple[_Layout, list[_Piece]]:
    import pyarrow as pa

    name = FORMAT_NAMES[format]
    layout: _Layout | None = None
    schema: Any = None
    pieces: list[_Piece] = []
    for file in files:
        article = "an" if name[0] in "AEIOU" else "a"
        with _arrow_errors(file, f"not {article} {name} file, or a damaged one"):
            if format == "parquet":
                handle = _parquet_file(file)
                file_schema = handle.schema_arrow
            elif format == "arrow-file":
                handle = pa.ipc.open_file(_arrow_input(file))
                file_schema = handle.schema
            else:
                handle = pa.ipc.open_stream(_arrow_input(file))
                file_schema = handle.schema
            if layout is None:
                schema = file_schema
                layout = _layout(file_schema, format, columns, file, handle)
            else:
                _check_same_columns(schema, file_schema, layout, file)
            pieces.extend(_pieces(handle, format, file))
    assert layout is not None
    return layout, pieces


def _check_same_columns(first: Any, schema: Any, layout: _Layout, file: str) -> None:
    for column in layout.columns:
        index = schema.get_field_index(column.name)
        if index < 0:
            raise VaecheckError(f"the file has no column '{column.name}', as the first file does", file)
        if not schema.field(index).type.equals(first.field(column.name).type):
            raise VaecheckError(
                f"column '{column.name}' has type {schema.field(index).type} here, "
                f"{first.field(column.name).type} in the first file",
                file,
            )


def _pieces(handle: Any, format: str, file: str) -> list[_Piece]:
    if format == "arrow-file":
        return [_Piece(file, (), int(handle.count_rows()))]
    if format == "arrow-stream":
        # A stream declares no row count: counting it costs one pass, batch by batch.
        return [_Piece(file, (), sum(batch.num_rows for batch in handle))]
    metadata = handle.metadata
    pieces: list[_Piece] = []
    groups: list[int] = []
    rows: list[int] = []
    size = 0
    for group in range(metadata.num_row_groups):
        info = metadata.row_group(group)
        if info.num_rows == 0:
            continue
        groups.append(group)
        rows.append(info.num_rows)
        size += max(info.total_byte_size, 0)
        if size >= PART_BYTES:
            pieces.append(_Piece(file, tuple(groups), sum(rows), tuple(rows)))
            groups, rows, size = [], [], 0
    if groups:
        pieces.append(_Piece(file, tuple(groups), sum(rows), tuple(rows)))
    return pieces


def _layout(
    schema: Any, format: str, columns: str | Sequence[str | int] | None, file: str, handle: Any
) -> _Layout:
    names = list(schema.names)
    if len(names) > MAX_FEATURES:
        raise VaecheckError(f"the table has {len(names):,} columns, more than {MAX_FEATURES:,}", file)
    chosen = _select_columns(columns, tuple(names), len(names), file)
    selected = [_column(schema.field(index), file, format) for index in chosen]
    if any(column.varying for column in selected):
        selected = _learn_list_lengths(selected, handle, format, file)
    dtype = np.result_type(*(column.dtype for column in selected))
    if len(selected) == 1 and selected[0].shape:
        sample_shape = selected[0].shape
    else:
        sample_shape = (sum(column.width for column in selected),)
    if math.prod(sample_shape) > MAX_FEATURES:
        raise VaecheckError(
            f"the selected columns hold {math.prod(sample_shape):,} values per row, more than "
            f"{MAX_FEATURES:,}",
            file,
        )
    return _Layout(format, tuple(selected), sample_shape, dtype)


def _column(field: Any, file: str, format: str) -> _Column:
    """A column's element dtype and per-row shape, from its Arrow type; refused if not numbers."""
    import pyarrow as pa

    kind = field.type
    shape: list[int] = []
    varying = False
    while pa.types.is_fixed_size_list(kind) or pa.types.is_list(kind) or pa.types.is_large_list(kind):
        if pa.types.is_fixed_size_list(kind):
            shape.append(kind.list_size)
        elif shape or varying:
            raise _non_numeric(field, file, "lists of lists of varying length are not a row of numbers")
        else:
            varying = True
            shape.append(0)  # learned from the data
        kind = kind.value_type
    if not (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind)):
        hint = ""
        if pa.types.is_decimal(kind):
            hint = ": cast it to float64"
        elif pa.types.is_dictionary(kind):
            hint = ": a categorical column, encode it as numbers"
        raise _non_numeric(field, file, f"not numbers{hint}")
    dtype = np.dtype(kind.to_pandas_dtype())
    problem = _dtype_problem(dtype)
    if problem:
        raise VaecheckError(f"column '{field.name}': {problem}", file)
    return _Column(field.name, dtype, tuple(shape), varying)


def _non_numeric(field: Any, file: str, why: str) -> VaecheckError:
    return VaecheckError(
        f"column '{field.name}' has type {field.type}, {why}; choose numeric columns with "
        f"--columns",
        file,
    )


def _learn_list_lengths(columns: list[_Column], handle: Any, format: str, file: str) -> list[_Column]:
    """The length of each list column's first row: every row must then have it."""
    import pyarrow.compute as pc

    varying = [column.name for column in columns if column.varying]
    first = _first_batch(handle, format, varying, file)
    learned: dict[str, int] = {}
    for name in varying:
        if first is None or first.num_rows == 0:
            learned[name] = 0
            continue
        array = first.column(name)
        if not array.is_valid().to_numpy(zero_copy_only=False)[0]:
            raise VaecheckError(f"column '{name}': row 0 is null, not a list of numbers", file)
        learned[name] = int(pc.list_value_length(array)[0].as_py())
    result = []
    for column in columns:
        if column.varying:
            length = learned[column.name]
            if length == 0:
                raise VaecheckError(f"column '{column.name}': row 0 is an empty list", file)
            column = replace(column, shape=(length, *column.shape[1:]))
        result.append(column)
    return result


def _first_batch(handle: Any, format: str, names: list[str], file: str) -> Any:
    import pyarrow as pa

    if format == "parquet":
        return next(iter(handle.iter_batches(batch_size=1, columns=names)), None)
    if format == "arrow-file":
        return handle.get_batch(0) if handle.num_record_batches else None
    # A stream reads once: its first batch, from the start again.
    return next(iter(pa.ipc.open_stream(_arrow_input(file))), None)


def _arrow_input(file: str, mapped: bool = False) -> Any:
    """An Arrow IPC file to read: a URL through fsspec, a local file after the usual checks."""
    import pyarrow as pa

    if is_url(file):
        filesystem, path = url_filesystem(file)
        with remote_errors(file):
            return pa.PythonFile(filesystem.open(path, "rb"), mode="r")
    _open_regular(file).close()
    return pa.memory_map(file, "r") if mapped else pa.OSFile(file)


def _feature_names(layout: _Layout) -> list[str]:
    names: list[str] = []
    for column in layout.columns:
        if not column.shape:
            names.append(column.name)
        else:
            names.extend(f"{column.name}[{i}]" for i in range(column.width))
    return names


# --- reading ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _TableBody:
    layout: _Layout
    pieces: tuple[_Piece, ...]

    def blocks(self, source: DataSource, max_bytes: int, reuse: int) -> Iterator[tuple[Index, np.ndarray]]:
        layout = self.layout
        row_bytes = math.prod(layout.sample_shape) * layout.dtype.itemsize
        per_block = max(1, max_bytes // max(row_bytes, 1))
        rest = (slice(None),) * len(layout.sample_shape)
        start = 0
        for piece in self.pieces:
            read = 0
            for batch in _batches(layout, piece, per_block, source.path):
                block = _block(batch, layout, piece.file, read)
                read += batch.num_rows
                if read > piece.rows:
                    break
                yield (slice(start, start + batch.num_rows), *rest), block
                start += batch.num_rows
            if read != piece.rows:
                raise VaecheckError(
                    f"the file holds {read:,} rows where its metadata declared {piece.rows:,}: "
                    f"it changed while vaecheck was reading it, or is damaged",
                    piece.file,
                )

    def parts(self, source: DataSource) -> tuple[DataSource, ...]:
        if len(self.pieces) == 1:
            return (source,)
        return tuple(
            replace(source, shape=(piece.rows, *source.shape[1:]), _body=_TableBody(self.layout, (piece,)))
            for piece in self.pieces
        )

    def take_rows(self, source: DataSource, rows: np.ndarray) -> _Body:
        if self.layout.format != "parquet":
            return _SelectedRowsBody(source, rows)
        return _TableRowsBody(self, rows)


def _batches(layout: _Layout, piece: _Piece, batch_rows: int, shown: str) -> Iterator[Any]:
    import pyarrow as pa

    name = FORMAT_NAMES[layout.format]
    with _arrow_errors(piece.file, f"cannot read the {name} data"):
        if layout.format == "parquet":
            handle = _parquet_file(piece.file)
            batches = handle.iter_batches(
                batch_size=batch_rows, row_groups=list(piece.groups), columns=layout.names
            )
        elif layout.format == "arrow-file":
            reader = pa.ipc.open_file(_arrow_input(piece.file, mapped=True))
            batches = (reader.get_batch(i) for i in range(reader.num_record_batches))
        else:
            batches = iter(pa.ipc.open_stream(_arrow_input(piece.file)))
        while True:
            with _arrow_errors(piece.file, f"cannot read the {name} data"):
                batch = next(batches, None)
            if batch is None:
                return
            if layout.format != "parquet":
                batch = batch.select(layout.names)
                # Arrow batches are as the writer made them: cut big ones to the block size.
                for offset in range(0, batch.num_rows, batch_rows):
                    yield batch.slice(offset, batch_rows)
            else:
                yield batch


def _block(batch: Any, layout: _Layout, file: str, first_row: int) -> np.ndarray:
    """One record batch as an array of rows (rows, *sample_shape)."""
    rows = batch.num_rows
    if len(layout.columns) == 1:
        values = _values(batch.column(0), layout.columns[0], rows, file, first_row)
        return values.reshape((rows, *layout.sample_shape))
    # Columns are stored apart: filled as the rows of a (features, rows) array, each write is
    # contiguous. Its transpose is the block, a Fortran-ordered view of the same rows.
    columns = np.empty((layout.sample_shape[0], rows), dtype=layout.dtype)
    position = 0
    for column, array in zip(layout.columns, batch.columns):
        values = _values(array, column, rows, file, first_row)
        if column.width == 1:
            columns[position] = values
        else:
            columns[position : position + column.width] = values.reshape(rows, column.width).T
        position += column.width
    return columns.T


def _values(array: Any, column: _Column, rows: int, file: str, first_row: int) -> np.ndarray:
    """A column's values for some rows, flat (row by row), as numpy."""
    import pyarrow.compute as pc

    depth = len(column.shape)
    for level in range(depth):
        if array.null_count:
            row = _first_null(array)
            raise VaecheckError(
                f"column '{column.name}': row {first_row + row // _inner(column, level)} holds a "
                f"null list, not {column.width} numbers",
                file,
            )
        if level == 0 and column.varying:
            lengths = pc.list_value_length(array).to_numpy(zero_copy_only=False)
            wrong = np.flatnonzero(lengths != column.shape[0])
            if wrong.size:
                raise VaecheckError(
                    f"column '{column.name}': row {first_row + int(wrong[0])} holds a list of "
                    f"{int(lengths[wrong[0]])} values where row 0 holds {column.shape[0]}; every "
                    f"row needs the same number",
                    file,
                )
        array = array.flatten()
    if array.null_count:
        if column.dtype.kind != "f":
            row = _first_null(array) // max(column.width, 1)
            raise VaecheckError(
                f"column '{column.name}' ({column.dtype}): row {first_row + row} is null, and "
                f"integers and booleans have no NaN to read it as; fill it, or cast the column "
                f"to float",
                file,
            )
    values = array.to_numpy(zero_copy_only=False)
    if values.size != rows * column.width:
        raise VaecheckError(f"column '{column.name}' holds fewer values than its rows need", file)
    return values


def _inner(column: _Column, level: int) -> int:
    return math.prod(column.shape[:level]) if level else 1


def _first_null(array: Any) -> int:
    return int(np.flatnonzero(~array.is_valid().to_numpy(zero_copy_only=False))[0])


@dataclass(frozen=True, eq=False)
class _TableRowsBody:
    """Some rows of a Parquet source: only the row groups holding chosen rows are read."""

    whole: _TableBody
    rows: np.ndarray

    def blocks(self, source: DataSource, max_bytes: int, reuse: int) -> Iterator[tuple[Index, np.ndarray]]:
        layout = self.whole.layout
        rest = (slice(None),) * len(layout.sample_shape)
        row_bytes = math.prod(layout.sample_shape) * layout.dtype.itemsize
        per_block = max(1, max_bytes // max(row_bytes, 1))
        taken = 0
        offset = 0  # the first row of the current row group, in the whole source
        for piece in self.whole.pieces:
            for group, group_rows in zip(piece.groups, piece.group_rows):
                low = int(np.searchsorted(self.rows, offset))
                high = int(np.searchsorted(self.rows, offset + group_rows))
                if high > low:
                    wanted = self.rows[low:high] - offset
                    single = _Piece(piece.file, (group,), group_rows)
                    read = 0
                    for batch in _batches(layout, single, per_block, source.path):
                        first = int(np.searchsorted(wanted, read))
                        last = int(np.searchsorted(wanted, read + batch.num_rows))
                        if last > first:
                            chosen = batch.take(wanted[first:last] - read)
                            block = _block(chosen, layout, piece.file, read)
                            yield (slice(taken, taken + chosen.num_rows), *rest), block
                            taken += chosen.num_rows
                        read += batch.num_rows
                offset += group_rows
        if taken != self.rows.size:
            raise VaecheckError("the data changed while vaecheck was reading it", source.path)


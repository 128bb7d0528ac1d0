"""`.csv` and `.tsv` tables of numbers as a DataSource of float64 rows, parsed in blocks.

The first non-blank line is a header when any of its cells is not a number (an empty cell
counts as not a number there); its cells then name the columns. Lines starting with `#` are
comments, as numpy.loadtxt and np.savetxt have them; blank lines are skipped. Data cells must
be numbers (`nan` and `inf` are numbers); an empty data cell is a missing value, read as NaN
and so counted as non-finite. Anything else is an error naming the line and the column.

Columns and lines are numbered as a person sees them in a report: lines from 1, as an editor
shows them; columns from 0, as `--columns` and the report's feature numbers count them.

A first pass counts the rows (the shape is known before any statistics start); blocks of
lines are then parsed by numpy.loadtxt, and a block it refuses is parsed again cell by cell to
name what is wrong, or to read its empty cells as NaN.

A file named by URL is read the same way, front to back, through the file of readers/remote,
a megabyte per request (or streamed, from an HTTP server that ignores range requests).
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TextIO

import numpy as np

from vaecheck.errors import MAX_NAME_CHARACTERS, VaecheckError, printable
from vaecheck.readers.remote import display_name, is_url
from vaecheck.readers.source import DataSource, Index, _Body, _open_regular, _reason

TEXT_BLOCK_BYTES = 4 * 2**20  # lines parsed at a time: their strings cost several times this
MAX_LINE_CHARACTERS = 16 * 2**20  # a row of MAX_COLUMNS numbers fits several times over
# Per-feature statistics stop at 2**18 features (stats.MAX_FEATURES); a table wider than that is
# refused before its first line is split into a string per cell.
MAX_COLUMNS = 2**18
COMMENT = "#"
QUOTE = '"'
MAX_SHOWN_CELL = 40
MAX_LISTED = 20
# Remote text is read a megabyte at a time: a request per megabyte, not per 8 KiB buffer.
REMOTE_BUFFER_BYTES = 2**20


@dataclass(frozen=True)
class _Table:
    delimiter: str
    header: tuple[str, ...] | None
    width: int  # cells per line
    rows: int
    columns: tuple[int, ...]  # the selected columns, in the order asked for


def open_delimited(
    path: str, delimiter: str, columns: str | Sequence[str | int] | None
) -> DataSource:
    table = _scan(path, delimiter, columns)
    names = None
    if table.header is not None:
        # Column names are shown in reports: made printable, as every name from a file is.
        names = tuple(printable(table.header[c], MAX_NAME_CHARACTERS) for c in table.columns)
    return DataSource(
        path=path,
        description=printable(
            display_name(path) if is_url(path) else os.path.basename(path), MAX_NAME_CHARACTERS
        ),
        shape=(table.rows, len(table.columns)),
        dtype=np.dtype(np.float64),
        fortran_order=False,
        _body=_TableBody(table),
        feature_names=names,
    )


def _open_text(path: str) -> TextIO:
    raw = _open_regular(path)
    # newline="" keeps quoted line breaks inside the line they belong to, as csv expects.
    text = io.TextIOWrapper(io.BufferedReader(raw), encoding="utf-8-sig", newline="")
    if is_url(path):
        # The wrapper reads the raw file in pieces of this size (8 KiB by default).
        text._CHUNK_SIZE = REMOTE_BUFFER_BYTES  # type: ignore[attr-defined]
    return text


def _lines(path: str) -> Iterator[tuple[int, str]]:
    """(line number, line) for every line holding data or a header, comments and blanks out."""
    with _open_text(path) as text:
        number = 0
        try:
            # readline with a limit: a file with no line breaks must not be read in one piece.
            for line in iter(lambda: text.readline(MAX_LINE_CHARACTERS), ""):
                number += 1
                if len(line) == MAX_LINE_CHARACTERS and not line.endswith("\n"):
                    raise VaecheckError(
                        f"line {number} is longer than {MAX_LINE_CHARACTERS:,} characters",
                        path,
                    )
                stripped = line.strip()
                if stripped and not stripped.startswith(COMMENT):
                    yield number, line.rstrip("\r\n")
        except UnicodeDecodeError:
            raise VaecheckError(
                f"line {_undecodable_line(path)} is not UTF-8 text: vaecheck reads CSV as UTF-8",
                path,
            ) from None
        except OSError as exc:
            raise VaecheckError(f"cannot read the data ({_reason(exc)})", path) from None


def _undecodable_line(path: str) -> int:
    """The number of the first line that is not UTF-8 (text is decoded ahead, in pieces)."""
    with _open_regular(path) as raw, io.BufferedReader(raw) as lines:
        for number, line in enumerate(lines, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return 1


def _split(line: str, delimiter: str, number: int = 0, path: str = "") -> list[str]:
    if QUOTE in line:
        try:
            return next(csv.reader([line], delimiter=delimiter))
        except csv.Error as exc:  # e.g. a quoted cell longer than the csv module allows
            raise VaecheckError(f"line {number}: {exc}", path) from None
    return line.split(delimiter)


def _is_number(cell: str) -> bool:
    text = cell.strip()
    if not text or "_" in text:  # float() reads "1_000"; loadtxt and people do not
        return False
    try:
        float(text)
    except ValueError:
        return False
    return True


def _scan(path: str, delimiter: str, columns: str | Sequence[str | int] | None) -> _Table:
    lines = _lines(path)
    first = next(lines, None)
    if first is None:
        raise VaecheckError("the file holds no rows of data", path)
    number, line = first
    if line.count(delimiter) >= MAX_COLUMNS and QUOTE not in line:
        _refuse_width(line.count(delimiter) + 1, number, path)
    cells = _split(line, delimiter, number, path)
    if len(cells) > MAX_COLUMNS:
        _refuse_width(len(cells), number, path)
    header: tuple[str, ...] | None = None
    rows = 1
    if not all(_is_number(cell) for cell in cells):
        header = tuple(cell.strip() for cell in cells)
        rows = 0
    rows += sum(1 for _ in lines)
    if rows == 0:
        raise VaecheckError("the file holds a header and no rows of data", path)
    width = len(cells)
    selected = _select_columns(columns, header, width, path)
    return _Table(delimiter, header, width, rows, selected)


def _refuse_width(cells: int, number: int, path: str) -> None:
    raise VaecheckError(
        f"line {number} has {cells:,} cells, more than the {MAX_COLUMNS:,} columns vaecheck reads",
        path,
    )


def _select_columns(
    columns: str | Sequence[str | int] | None,
    header: tuple[str, ...] | None,
    width: int,
    path: str,
) -> tuple[int, ...]:
    """Column indices from names, indices and `start:stop` ranges (`1:` drops column 0)."""
    if columns is None:
        return tuple(range(width))
    tokens: list[str | int] = (
        [t.strip() for t in columns.split(",")] if isinstance(columns, str) else list(columns)
    )
    chosen: list[int] = []
    for token in tokens:
        if token == "":
            continue
        if isinstance(token, int):
            chosen.append(_column_index(token, width, path))
            continue
        if header is not None and token in header:
            chosen.append(header.index(token))
        elif ":" in token:
            start_text, _, stop_text = token.partition(":")
            try:
                start = int(start_text) if start_text.strip() else 0
                stop = int(stop_text) if stop_text.strip() else width
            except ValueError:
                raise VaecheckError(f"--columns: '{token}' is not a range like 2:10", path) from None
            # A range past the last column is refused, not silently cut to the columns there are.
            if stop_text.strip() and not -width <= stop <= width:
                raise VaecheckError(
                    f"--columns: the range '{token}' runs to column {stop - 1}, and the file has "
                    f"{width} columns (0 to {width - 1}; '{start_text.strip()}:' runs to the last)",
                    path,
                )
            chosen.extend(range(width)[start:stop])
        else:
            try:
                index = int(token)
            except ValueError:
                if header is None:
                    raise VaecheckError(
                        f"--columns: the file has no header row to find '{token}' in; select "
                        f"columns by index (from 0)",
                        path,
                    ) from None
                raise VaecheckError(
                    f"--columns: no column '{token}'; the columns are {_list(header)}", path
                ) from None
            chosen.append(_column_index(index, width, path))
    if not chosen:
        raise VaecheckError(f"--columns {columns!r} selects no column", path)
    repeated = sorted({c for c in chosen if chosen.count(c) > 1})
    if repeated:
        raise VaecheckError(f"--columns selects column {repeated[0]} twice", path)
    return tuple(chosen)


def _column_index(index: int, width: int, path: str) -> int:
    if not -width <= index < width:
        raise VaecheckError(
            f"--columns: column {index} does not exist; the file has {width} columns (0 to "
            f"{width - 1})",
            path,
        )
    return index % width


def _list(names: Sequence[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:MAX_LISTED])
    return shown if len(names) <= MAX_LISTED else f"{shown}, … ({len(names) - MAX_LISTED} more)"


@dataclass(frozen=True, eq=False)
class _TableBody:
    table: _Table
    rows: np.ndarray | None = None  # only these data rows (0-based), for a sample

    def blocks(
        self, source: DataSource, max_bytes: int, reuse: int
    ) -> Iterator[tuple[Index, np.ndarray]]:
        table = self.table
        per_block = max(1, max_bytes // (8 * len(table.columns)))
        pending: list[str] = []
        numbers: list[int] = []
        pending_bytes = 0
        done = 0
        wanted = self.rows
        next_wanted = 0
        lines = _lines(source.path)
        if table.header is not None:
            next(lines, None)
        for row, (number, line) in enumerate(lines):
            if row >= table.rows:
                raise VaecheckError("the file changed while vaecheck was reading it", source.path)
            if wanted is not None:
                if next_wanted == wanted.size:
                    break
                if row != wanted[next_wanted]:
                    continue
                next_wanted += 1
            pending.append(line)
            numbers.append(number)
            pending_bytes += len(line)
            if len(pending) >= per_block or pending_bytes >= TEXT_BLOCK_BYTES:
                yield (slice(done, done + len(pending)), slice(None)), self._parse(
                    pending, numbers, source.path
                )
                done += len(pending)
                pending, numbers, pending_bytes = [], [], 0
        if pending:
            yield (slice(done, done + len(pending)), slice(None)), self._parse(
                pending, numbers, source.path
            )
            done += len(pending)
        if done != source.shape[0]:
            raise VaecheckError(
                f"read {done:,} rows where {source.shape[0]:,} were counted: the file changed "
                f"while vaecheck was reading it, or a quoted cell holds a line break",
                source.path,
            )

    def take_rows(self, source: DataSource, rows: np.ndarray) -> _Body:
        if self.rows is not None:
            rows = self.rows[rows]
        return _TableBody(self.table, rows)

    def _parse(self, lines: list[str], numbers: list[int], path: str) -> np.ndarray:
        table = self.table
        delimiter = table.delimiter
        if not any(QUOTE in line for line in lines):
            expected = table.width - 1
            if all(line.count(delimiter) == expected for line in lines):
                try:
                    return np.loadtxt(
                        lines,
                        delimiter=delimiter,
                        dtype=np.float64,
                        usecols=table.columns,
                        ndmin=2,
                        comments=None,
                    )
                except ValueError:
                    pass  # the careful parse below says where, or reads empty cells as NaN
        return self._parse_cells(lines, numbers, path)

    def _parse_cells(self, lines: list[str], numbers: list[int], path: str) -> np.ndarray:
        table = self.table
        block = np.empty((len(lines), len(table.columns)))
        for position, (line, number) in enumerate(zip(lines, numbers)):
            cells = _split(line, table.delimiter, number, path)
            if len(cells) != table.width:
                raise VaecheckError(
                    f"line {number} has {len(cells)} cells where the first line has "
                    f"{table.width}",
                    path,
                )
            for slot, column in enumerate(table.columns):
                cell = cells[column].strip()
                if not cell:
                    block[position, slot] = math.nan
                elif _is_number(cell):
                    block[position, slot] = float(cell)
                else:
                    raise VaecheckError(
                        f"line {number}, column {self._column_name(column)}: "
                        f"{_shown(cell)} is not a number",
                        path,
                    )
        return block

    def _column_name(self, column: int) -> str:
        header = self.table.header
        if header is not None and header[column]:
            return f"{column} '{header[column]}'"
        return str(column)


def _shown(cell: str) -> str:
    if len(cell) > MAX_SHOWN_CELL:
        cell = cell[: MAX_SHOWN_CELL - 1] + "…"
    return repr(cell)

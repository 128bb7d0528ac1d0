"""Which reader opens a data path that is not an array file: a table (Parquet, Feather, Arrow
IPC), a Zarr store or a TFRecord file, recognised by content first and name second.

Each answers None when the path is none of these, and the array readers go on as before.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

from vaecheck.errors import VaecheckError
from vaecheck.readers.source import DataSource

ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06")


def open_other_file(
    source: str,
    head: bytes,
    key: str | None,
    columns: str | Sequence[str | int] | None,
    shown: str | None = None,
) -> DataSource | None:
    """A Parquet/Arrow file, a zipped Zarr store or a TFRecord file; None for anything else."""
    if head.startswith((b"\x93NUMPY", b"\x89HDF\r\n\x1a\n")):
        return None  # the array readers' own: nothing else to import
    from vaecheck.readers.table import FORMAT_NAMES, table_format

    table = table_format(head, source)
    if table is not None:
        if key is not None:
            raise VaecheckError(
                f"--key does not apply to {FORMAT_NAMES[table]} files: use --columns", source
            )
        from vaecheck.readers.table import open_table

        return open_table(source, columns, format=table, shown=shown)
    if head[:4] in ZIP_SIGNATURES and not source.lower().endswith(".npz"):
        from vaecheck.readers.zarr import is_zarr_zip, open_zarr

        if is_zarr_zip(source):
            _no_columns(columns, source, "Zarr arrays")
            return open_zarr(source, key, shown=shown)
    from vaecheck.readers.tfrecord import is_tfrecord_name, open_tfrecord

    if is_tfrecord_name(source):
        _no_columns(columns, source, "TFRecord files")
        return open_tfrecord(source, key, shown=shown)
    return None


def open_other_directory(
    source: str, key: str | None, columns: str | Sequence[str | int] | None
) -> DataSource | None:
    """A Zarr directory store, or a directory (or hive-partitioned tree) of table files."""
    from vaecheck.readers.zarr import is_zarr_directory

    if is_zarr_directory(source):
        from vaecheck.readers.zarr import open_zarr

        _no_columns(columns, source, "Zarr arrays")
        return open_zarr(source, key)
    from vaecheck.readers.table import is_table_directory

    if is_table_directory(source):
        from vaecheck.readers.source import DATA_SUFFIXES

        arrays = [n for n in os.listdir(source) if os.path.splitext(n)[1].lower() in DATA_SUFFIXES]
        if arrays:
            raise VaecheckError(
                f"the directory holds both table files and array files (such as '{sorted(arrays)[0]}'): "
                f"name one kind, with a glob for the arrays",
                source,
            )
        if key is not None:
            raise VaecheckError("--key does not apply to a directory of tables: use --columns", source)
        from vaecheck.readers.table import open_table

        return open_table(source, columns)
    return None


def open_store_path(
    source: str, key: str | None, columns: str | Sequence[str | int] | None
) -> DataSource | None:
    """`data.zarr:/group/array`: an array named in the path of a Zarr directory store."""
    from vaecheck.readers.zarr import split_store_path

    split = split_store_path(source)
    if split is None or not os.path.isdir(split[0]):
        return None
    location, name = split
    if key is not None and key.strip("/") != name.strip("/"):
        raise VaecheckError(
            f"the array is named twice: '{name}' in the path, '{key}' by --key", source
        )
    _no_columns(columns, source, "Zarr arrays")
    from vaecheck.readers.zarr import open_zarr

    return open_zarr(location, name, shown=source)


def open_url(
    source: str, key: str | None, columns: str | Sequence[str | int] | None
) -> DataSource | None:
    """Parquet/Arrow files or datasets, Zarr stores and TFRecord files named by URL."""
    from vaecheck.readers.table import TABLE_SUFFIXES, open_table
    from vaecheck.readers.tfrecord import is_tfrecord_name, open_tfrecord

    lower = source.lower().rstrip("/")
    named = re.match(r"^(.*?\.zarr)(?::(/.*))?$", source.rstrip("/"), re.IGNORECASE)
    if named is not None:
        location, name = named.group(1), named.group(2)
        if name is not None and key is not None and key.strip("/") != name.strip("/"):
            raise VaecheckError(f"the array is named twice: '{name}' in the path, '{key}' by --key", source)
        _no_columns(columns, source, "Zarr arrays")
        from vaecheck.readers.zarr import open_zarr

        return open_zarr(location, name or key, shown=source)
    if is_tfrecord_name(lower):
        _no_columns(columns, source, "TFRecord files")
        return open_tfrecord(source, key, shown=source)
    if lower.endswith(TABLE_SUFFIXES) or (source.endswith("/") and _folder_of_tables(source)):
        if key is not None:
            raise VaecheckError("--key does not apply to tables: use --columns", source)
        return open_table(source, columns)
    return None


def _folder_of_tables(url: str) -> bool:
    """Whether a storage folder holds a table dataset (table files, or hive partitions), not
    array shards; a folder that cannot be listed is left to the table reader's own message."""
    from vaecheck.readers.table import TABLE_SUFFIXES
    from vaecheck.readers.urls import url_filesystem

    fs, path = url_filesystem(url)
    try:
        entries = fs.ls(path, detail=True)
    except Exception:
        return True
    for entry in entries:
        name = str(entry.get("name", "")).rstrip("/").rsplit("/", 1)[-1]
        if name.lower().endswith(TABLE_SUFFIXES) or (entry.get("type") == "directory" and "=" in name):
            return True
    return False


def _no_columns(columns: object, source: str, what: str) -> None:
    if columns is not None:
        raise VaecheckError(f"--columns selects columns of tables; {what} have none: use --key", source)

"""A directory or a glob of data files, joined along the first axis as one DataSource.

Each shard is a file of any supported format, opened with the same `--key` and `--columns`.
Their samples must have one shape (the shapes after the first axis); their dtypes may differ
(the source reports the common one). Statistics are measured shard by shard, and merged.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from vaecheck.errors import VaecheckError
from vaecheck.readers.source import DataSource, Index, _Body, _format_shape

MAX_NAMED = 3


def open_shards(
    location: str, open_shard: Callable[[str], DataSource], suffixes: Sequence[str]
) -> DataSource:
    """Open every data file in a directory (not recursing), or every file a glob matches.

    `open_shard` opens one file (the format dispatch, with the caller's `--key`, `--columns`
    and link policy); in a directory, the files taken are those ending in one of `suffixes`.
    """
    if os.path.isdir(location):
        files = _directory_files(location, suffixes)
        if not files:
            raise VaecheckError(
                f"the directory holds no data files ({', '.join(suffixes)})", location
            )
        description = os.path.basename(os.path.normpath(location)) + os.sep
    else:
        files = sorted(
            (path for path in glob.glob(location, recursive=True) if os.path.isfile(path)),
            key=_natural,
        )
        if not files:
            raise VaecheckError("no data file matches this pattern", location)
        description = location
    return _joined(location, description, tuple(open_shard(path) for path in files))


def _joined(location: str, description: str, shards: tuple[DataSource, ...]) -> DataSource:
    """The shards, alike in sample shape, as one source along the first axis."""
    _check_alike(shards, location)
    offsets = []
    rows = 0
    for shard in shards:
        offsets.append(rows)
        rows += shard.rows
    return DataSource(
        path=location,
        description=f"{description} ({len(shards)} shard{'s' if len(shards) != 1 else ''})",
        shape=(rows, *shards[0].shape[1:]),
        dtype=np.result_type(*(shard.dtype for shard in shards)),
        fortran_order=False,
        _body=_ShardsBody(shards, tuple(offsets)),
        feature_names=next((s.feature_names for s in shards if s.feature_names), None),
    )


def _directory_files(directory: str, suffixes: Sequence[str]) -> list[str]:
    names = [
        name
        for name in os.listdir(directory)
        if not name.startswith(".") and os.path.splitext(name)[1].lower() in suffixes
    ]
    paths = [os.path.join(directory, name) for name in sorted(names, key=_natural)]
    return [path for path in paths if os.path.isfile(path)]


def _natural(name: str) -> list[object]:
    """part-2 before part-10, as a person orders shards."""
    return [int(piece) if piece.isdigit() else piece for piece in re.split(r"(\d+)", name)]


def _check_alike(shards: tuple[DataSource, ...], location: str) -> None:
    first = shards[0]
    odd = [s for s in shards if s.shape[1:] != first.shape[1:]]
    if odd:
        shown = [first, *odd[: MAX_NAMED - 1]]
        listing = ", ".join(
            f"{os.path.basename(s.path)} has {_format_shape(s.shape)}" for s in shown
        )
        more = f", and {len(odd) - len(shown) + 1} more" if len(odd) > len(shown) - 1 else ""
        raise VaecheckError(
            f"ragged shards: their samples differ in shape ({listing}{more})", location
        )
    named = [s for s in shards if s.feature_names is not None]
    for shard in named[1:]:
        if shard.feature_names != named[0].feature_names:
            raise VaecheckError(
                f"the shards' columns differ: {os.path.basename(named[0].path)} has "
                f"{', '.join(named[0].feature_names or ())}; {os.path.basename(shard.path)} has "
                f"{', '.join(shard.feature_names or ())}",
                location,
            )


@dataclass(frozen=True, eq=False)
class _ShardsBody:
    shards: tuple[DataSource, ...]
    offsets: tuple[int, ...]  # the row at which each shard starts

    def blocks(
        self, source: DataSource, max_bytes: int, reuse: int
    ) -> Iterator[tuple[Index, np.ndarray]]:
        for shard, offset in zip(self.shards, self.offsets):
            for index, block in shard.chunks(max_bytes, reuse=reuse):
                rows = index[0]
                start = (rows.start or 0) + offset
                stop = (rows.stop if rows.stop is not None else shard.rows) + offset
                yield (slice(start, stop), *index[1:]), block

    def parts(self, source: DataSource) -> tuple[DataSource, ...]:
        return self.shards

    def take_rows(self, source: DataSource, rows: np.ndarray) -> _Body:
        shards: list[DataSource] = []
        offsets: list[int] = []
        taken = 0
        for shard, offset in zip(self.shards, self.offsets):
            low = int(np.searchsorted(rows, offset))
            high = int(np.searchsorted(rows, offset + shard.rows))
            if high > low:
                shards.append(shard.take_rows(rows[low:high] - offset))
                offsets.append(taken)
                taken += high - low
        return _ShardsBody(tuple(shards), tuple(offsets))


def open_remote_shards(
    location: str, open_shard: Callable[[str], DataSource], suffixes: Sequence[str]
) -> DataSource:
    """Every data file under a folder (prefix) of remote storage, not recursing, or every
    object a glob matches (`s3://bucket/train/part-*.npy`); each read by range requests.
    `open_shard` and `suffixes` are as for `open_shards`."""
    from vaecheck.readers.remote import display_name, redact, storage_error, url_filesystem

    fs, path = url_filesystem(location)
    try:
        if any(character in path for character in "*?["):
            found = fs.glob(path, detail=True)
            listed = [name for name, info in found.items() if info.get("type") != "directory"]
        else:
            listed = [
                info["name"]
                for info in fs.ls(path.rstrip("/"), detail=True)
                if info.get("type") != "directory"
                and os.path.splitext(info["name"])[1].lower() in suffixes
                and not info["name"].rsplit("/", 1)[-1].startswith(".")
            ]
    except Exception as error:
        raise storage_error(error, location) from None
    if not listed:
        raise VaecheckError("no data file in this folder of the storage, or matching this pattern", location)
    files = [name if "://" in name else fs.unstrip_protocol(name) for name in sorted(listed, key=_natural)]
    shown = display_name(location.rstrip("/")) + "/" if not any(c in location for c in "*?[") else redact(location)
    return _joined(location, shown, tuple(open_shard(url) for url in files))


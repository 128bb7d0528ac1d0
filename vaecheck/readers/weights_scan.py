"""The whole structure of a model's weights file, scanned for what makes Keras read beyond it.

Keras loads every variable in the file, not only those a range needs, so every group and
dataset is visited: metadata only (links, storage layout, declared shape and stored size),
never a dataset's values. What is found becomes a `WeightsHazard` for the VC307 check:

- external and soft links, which Keras before 3.15.0 followed to other files or places
  (CVE-2026-1669);
- datasets stored in external files or assembled from others (virtual) (CVE-2026-1669);
- datasets whose declared shape is far beyond the bytes stored: a memory bomb on load
  (CVE-2026-0897).

Only the structure is read, in place, so a weights file of any size is scanned (a compressed
member, decompressed into memory, up to the weights reader's limit). Links are looked at with
`getlink=True` and never followed; the walk is bounded in objects visited and depth, so a
hostile file cannot make it long. A file that cannot be scanned to the end says why, and VC307
warns of it.

A file in the plain layout Keras writes, with none of these, is proven so from its bytes
(readers/hdf5_plain.py) without importing h5py, which would cost a small check more than the
rest of it; every other file is walked with h5py, which reports what it finds.
"""

from __future__ import annotations

import math
import os
from typing import Any

from vaecheck.readers.hdf5_plain import is_plain_and_clean
from vaecheck.readers.weights_file import (
    MAX_DEPTH,
    MAX_OBJECTS,
    WEIGHTS_MEMBER,
    WeightsUnavailable,
    _ArchiveOpener,
    _FileOpener,
    declares_far_more,
)
from vaecheck.safety import WeightsHazard

MAX_HAZARDS = 100


def scan_weights(path: str, model_format: str) -> tuple[tuple[WeightsHazard, ...], str | None]:
    """The hazards in a model's weights file, and why it was not scanned when it was not."""
    if model_format == "keras":
        opener: Any = _ArchiveOpener(path, limit=None)
    elif model_format == "keras-dir":
        member = os.path.join(path, WEIGHTS_MEMBER)
        if not os.path.lexists(member):
            return (), None
        if os.path.islink(member):
            return (
                (WeightsHazard(WEIGHTS_MEMBER, "soft-link", "the weights file is a symbolic link"),),
                None,
            )
        opener = _FileOpener(member, limit=None)
    elif model_format == "h5":
        opener = _FileOpener(path, limit=None)
    else:
        return (), None
    try:
        raw, size = opener.open_bytes()
        try:
            if is_plain_and_clean(raw, size):
                return (), None  # proven without importing h5py: nothing to report
        finally:
            raw.close()
            opener.close()
        handle = opener.open()
    except WeightsUnavailable as exc:
        if "holds no model.weights.h5" in str(exc):
            return (), None
        return (), f"the weights file was not scanned: {exc}"
    try:
        with handle:
            hazards: list[WeightsHazard] = []
            _Walk(hazards).group(handle, "/", 0)
            return tuple(hazards), None
    except Exception as exc:  # damaged metadata raises from deep inside h5py
        return (), f"the weights file could not be scanned to the end ({_first_line(exc)})"
    finally:
        opener.close()


class _Walk:
    def __init__(self, hazards: list[WeightsHazard]) -> None:
        self.hazards = hazards
        self.visited = 0

    def add(self, where: str, kind: str, detail: str) -> None:
        if len(self.hazards) < MAX_HAZARDS:
            self.hazards.append(WeightsHazard(where, kind, detail))

    def group(self, group: Any, where: str, depth: int) -> None:
        import h5py

        if depth > MAX_DEPTH:
            self.add(where, "deep", f"groups nested more than {MAX_DEPTH} deep")
            return
        for name in group:
            self.visited += 1
            if self.visited > MAX_OBJECTS:
                raise RuntimeError(f"more than {MAX_OBJECTS:,} objects")
            at = f"{where.rstrip('/')}/{name}"
            link = group.get(name, getlink=True)
            if isinstance(link, h5py.ExternalLink):
                self.add(at, "external-link", f"an external link to '{link.filename}:{link.path}'")
                continue
            if isinstance(link, h5py.SoftLink):
                self.add(at, "soft-link", f"a soft link to '{link.path}'")
                continue
            item = group[name]
            if isinstance(item, h5py.Group):
                self.group(item, at, depth + 1)
            elif isinstance(item, h5py.Dataset):
                self.dataset(item, at)

    def dataset(self, dataset: Any, where: str) -> None:
        if dataset.external:
            files = ", ".join(f"'{entry[0]}'" for entry in dataset.external[:3])
            self.add(where, "external-storage", f"its values are stored in other files ({files})")
            return
        if dataset.is_virtual:
            self.add(where, "virtual", "a virtual dataset: its values are read from other datasets or files")
            return
        shape = dataset.shape or ()
        declared = math.prod(shape) * dataset.dtype.itemsize
        try:
            stored = dataset.id.get_storage_size()
        except Exception:  # damaged layout messages
            stored = 0
        if declares_far_more(declared, stored):
            self.add(
                where,
                "shape-bomb",
                f"declares shape {tuple(shape)} ({declared:,} bytes) but stores {stored:,} bytes",
            )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]

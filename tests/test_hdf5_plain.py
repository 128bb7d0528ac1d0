"""The plain-layout proof of a weights file (readers/hdf5_plain.py) against the h5py walk it spares.

The proof may say "not proven" of any file (the scan then walks it with h5py); it must never
say "plain" of a file in which the h5py walk finds a hazard. Every file here is written by
h5py itself, as Keras writes its weights or with one structure changed.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from vaecheck.readers.hdf5_plain import is_plain_and_clean
from vaecheck.readers.weights_scan import _Walk, scan_weights

SAMPLES = Path(__file__).resolve().parent.parent / "sample_models"


def keras_like(handle: h5py.File) -> None:
    """The groups and datasets Keras 3 writes in model.weights.h5 for two Dense layers."""
    for name in ("dense", "dense_1"):
        variables = handle.create_group(f"layers/{name}/vars")
        variables["0"] = np.ones((4, 3), "f4")
        variables["1"] = np.zeros(3, "f4")
    handle.create_group("optimizer/vars")["0"] = np.int64(3)
    handle.attrs["keras_version"] = "3.13.0"


def written(*changes: Callable[[h5py.File], None], **options: Any) -> bytes:
    buffer = io.BytesIO()
    with h5py.File(buffer, "w", **options) as handle:
        keras_like(handle)
        for change in changes:
            change(handle)
    return buffer.getvalue()


def proven(data: bytes) -> bool:
    return is_plain_and_clean(io.BytesIO(data), len(data))


def h5py_hazards(data: bytes) -> list[tuple[str, str]]:
    """What the h5py walk of the scan finds, as (kind, where)."""
    hazards: list[Any] = []
    with h5py.File(io.BytesIO(data), "r") as handle:
        _Walk(hazards).group(handle, "/", 0)
    return [(hazard.kind, hazard.where) for hazard in hazards]


def compact(handle: h5py.File) -> None:
    create = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    create.set_layout(h5py.h5d.COMPACT)
    values = np.arange(6, dtype="f4")
    space = h5py.h5s.create_simple(values.shape)
    dataset = h5py.h5d.create(handle.id, b"compact", h5py.h5t.NATIVE_FLOAT, space, dcpl=create)
    dataset.write(h5py.h5s.ALL, h5py.h5s.ALL, values)


def many(count: int) -> Callable[[h5py.File], None]:
    def change(handle: h5py.File) -> None:
        group = handle.create_group("many")
        for i in range(count):
            group[f"v{i:04d}"] = np.full(2, i, "f4")

    return change


def deep(levels: int) -> Callable[[h5py.File], None]:
    def change(handle: h5py.File) -> None:
        handle.create_group("/".join(["g"] * levels))

    return change


# Files Keras writes, and harmless variations of them: proven plain, and clean under h5py.
PLAIN: dict[str, Callable[[h5py.File], None]] = {
    "keras-like": lambda handle: None,
    "every plain number type": lambda handle: [
        handle.create_dataset(f"t_{dtype}", data=np.ones(3, dtype)) for dtype in ("f2", "f8", "u1", "i2", "i4", "u8")
    ],
    "a large attribute in a continuation block": lambda handle: handle.attrs.create("model_config", "x" * 60_000),
    "many attributes": lambda handle: [handle["layers"].attrs.create(f"a{i}", i) for i in range(40)],
    "a group B-tree of two levels": many(300),
    "a group B-tree of three levels": many(2_000),
    "compact storage": compact,
    "a named datatype": lambda handle: handle.__setitem__("type", np.dtype("f4")),
    "a scalar float": lambda handle: handle.create_dataset("scalar", data=1.5),
    "a dataset of 2 MB": lambda handle: handle.create_dataset("big", data=np.ones(2**19, "f4")),
    "groups 64 deep": deep(64),
}

# Harmless, but not the plain layout: not proven, so walked with h5py, which finds nothing.
NOT_PLAIN_CLEAN: dict[str, tuple[Callable[[h5py.File], None], dict[str, Any]]] = {
    "chunked and compressed": (lambda handle: handle.create_dataset("z", data=np.ones(64, "f4"), chunks=(8,), compression="gzip"), {}),
    "a group tracking creation order": (lambda handle: handle.create_group("ordered", track_order=True).create_dataset("x", data=[1.0]), {}),
    "the newest file format": (lambda handle: None, {"libver": "latest"}),
    "a user block": (lambda handle: None, {"userblock_size": 512}),
    "variable-length strings": (lambda handle: handle.create_dataset("names", data=["a", "bc"], dtype=h5py.string_dtype()), {}),
    "storage never written": (lambda handle: handle.create_dataset("unwritten", shape=(4,), dtype="f4"), {}),
    "a second hard link": (lambda handle: handle.__setitem__("again", handle["layers/dense/vars/0"]), {}),
}

# Hazards: never proven, and the h5py walk reports each.
HAZARDS: dict[str, tuple[Callable[[h5py.File], None], str]] = {
    "soft link": (lambda handle: handle.__setitem__("layers/dense/vars/2", h5py.SoftLink("/layers/dense/vars/0")), "soft-link"),
    "external link": (lambda handle: handle.__setitem__("layers/dense/vars/2", h5py.ExternalLink("/etc/other.h5", "/k")), "external-link"),
    "external storage": (lambda handle: handle["layers/dense/vars"].create_dataset("2", shape=(4,), dtype="f4", external=[("/etc/hostname", 0, 16)]), "external-storage"),
    "virtual dataset": (lambda handle: _virtual(handle), "virtual"),
    "shape bomb": (lambda handle: handle.create_dataset("bomb", shape=(10**11,), dtype="f4", chunks=(1024,)), "shape-bomb"),
    "groups 66 deep": (deep(66), "deep"),
}


def _virtual(handle: h5py.File) -> None:
    layout = h5py.VirtualLayout(shape=(4,), dtype="f4")
    layout[:] = h5py.VirtualSource("/etc/other.h5", "data", shape=(4,))
    handle["layers/dense/vars"].create_virtual_dataset("2", layout)


@pytest.mark.parametrize("name", list(PLAIN))
def test_files_in_the_plain_layout_are_proven_and_h5py_agrees(name):
    data = written(PLAIN[name])
    assert proven(data)
    assert h5py_hazards(data) == []


@pytest.mark.parametrize("name", list(NOT_PLAIN_CLEAN))
def test_other_layouts_are_left_to_h5py_which_finds_nothing(name):
    change, options = NOT_PLAIN_CLEAN[name]
    data = written(change, **options)
    assert not proven(data)
    assert h5py_hazards(data) == []


@pytest.mark.parametrize("name", list(HAZARDS))
def test_no_hazard_is_proven_plain_and_the_scan_reports_each(name, tmp_path):
    change, kind = HAZARDS[name]
    data = written(change)
    assert not proven(data)
    path = tmp_path / "weights.h5"
    path.write_bytes(data)
    hazards, note = scan_weights(str(path), "h5")
    assert note is None
    assert [hazard.kind for hazard in hazards] == [kind] == [k for k, _ in h5py_hazards(data)]


def test_weights_files_written_by_keras_are_proven_plain():
    archives = sorted(SAMPLES.glob("*.keras"))
    assert archives
    for archive in archives:
        with zipfile.ZipFile(archive) as opened:
            assert proven(opened.read("model.weights.h5")), archive.name
    legacy = sorted(SAMPLES.glob("*.h5"))
    assert legacy  # tf.keras: the whole model in one HDF5 file, its config in attributes
    for path in legacy:
        assert proven(path.read_bytes()), path.name


def test_a_contiguous_dataset_that_stores_less_than_it_declares_is_not_proven():
    data = bytearray(written(lambda handle: handle.create_dataset("big", data=np.ones(2**19, "f4"))))
    stored = (2**21).to_bytes(8, "little")
    at = data.find(stored)  # the layout message's size of the only 2 MB dataset
    assert at > 0 and data.find(stored, at + 1) < 0
    data[at : at + 8] = (2**10).to_bytes(8, "little")
    assert not proven(bytes(data))


def _float32_type_at(data: bytes) -> int:
    """Where the first float32 datatype message's header starts (type 3, 24 bytes, constant)."""
    at = data.find(bytes.fromhex("0300180001000000" "11201f0004000000"))
    assert at > 0
    return at


def _edit(data: bytes, at: int, new: bytes) -> bytes:
    return data[:at] + new + data[at + len(new) :]


def _superblock_eof(data: bytes) -> bytes:
    return _edit(data, 40, (len(data) + 4096).to_bytes(8, "little"))  # version 0: after 24 + 2 * 8


def _heap_free_list(data: bytes) -> bytes:
    heap = data.find(b"HEAP")
    size = int.from_bytes(data[heap + 8 : heap + 16], "little")
    return _edit(data, heap + 16, (size + 8).to_bytes(8, "little"))  # its head, past the heap


def _names_out_of_order(data: bytes) -> bytes:
    at = data.find(b"dense_1\x00")
    assert at > 0
    return _edit(data, at, b"a")  # "aense_1" now sorts before "dense", where it is stored after


def _mantissa(data: bytes) -> bytes:
    return _edit(data, _float32_type_at(data) + 8 + 15, b"\x30")  # mantissa of 48 bits in 32


def _message_flags(data: bytes) -> bytes:
    return _edit(data, _float32_type_at(data) + 4, b"\x20")  # "was unknown" on a known message


DAMAGED = {
    "a superblock end past the file": _superblock_eof,
    "a local heap free list leaving the heap": _heap_free_list,
    "names out of order in their group": _names_out_of_order,
    "a float32 with a 48-bit mantissa": _mantissa,
    "message flags HDF5 refuses": _message_flags,
}


@pytest.mark.parametrize("name", list(DAMAGED))
def test_damage_that_h5py_refuses_is_not_proven_plain(name):
    damaged = DAMAGED[name](written())
    assert not proven(damaged)
    with pytest.raises(Exception):  # and it is damage: h5py cannot walk the file either
        h5py_hazards(damaged)


def test_files_that_are_not_hdf5_are_not_proven():
    for data in (b"", b"\x89HDF\r\n\x1a\n", b"PK\x03\x04" + bytes(100), written()[:200]):
        assert not proven(data)


BASE = written()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(BASE) - 1), st.integers(0, 255)), min_size=1, max_size=4))
@example([(8, 2)])  # a superblock of another version
@example([(0, 0)])  # no signature
def test_a_damaged_file_is_never_proven_plain_when_h5py_finds_a_hazard(edits):
    data = bytearray(BASE)
    for at, value in edits:
        data[at] = value
    if not proven(bytes(data)):
        return
    try:
        found = h5py_hazards(bytes(data))
    except Exception:  # damaged beyond what h5py opens: Keras cannot load it either
        return
    assert found == []

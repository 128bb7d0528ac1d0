"""The data reader on real .npy and .npz files written by numpy, and on damaged ones."""

from __future__ import annotations

import ast
import io
import math
import os
import struct
import subprocess
import sys
import textwrap
import threading
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pytest

from vaecheck.errors import VaecheckError
from vaecheck.readers.data import DataSource, Index, array_source, open_data

DTYPES = ["bool", "uint8", "int64", "float16", "float32", "float64", ">f4"]
SHAPES = [(37,), (23, 5), (7, 3, 4), (5, 2, 3, 4)]


def sample_array(shape: tuple[int, ...], dtype: str, order: str = "C") -> np.ndarray:
    rng = np.random.default_rng(sum(shape))
    dtype_ = np.dtype(dtype)
    if dtype_.kind == "b":
        values = rng.integers(0, 2, size=shape).astype(dtype_)
    elif dtype_.kind in "iu":
        info = np.iinfo(dtype_)
        values = rng.integers(info.min, info.max, size=shape, dtype=dtype_, endpoint=True)
    else:
        values = (rng.standard_normal(size=shape) * 100).astype(dtype_)
        values.flat[0] = np.nan
        values.flat[-1] = -np.inf
    return np.asarray(values, order=order)


def reassemble(source: DataSource, max_bytes: int) -> tuple[np.ndarray, int]:
    """Rebuild the array from its blocks, checking the chunks() contract on the way."""
    whole = np.zeros(source.shape, source.dtype)
    covered = np.zeros(source.shape, np.int8)
    axis = len(source.shape) - 1 if source.fortran_order else 0
    slice_bytes = math.prod(source.shape) // source.shape[axis] * source.dtype.itemsize
    next_start = 0
    blocks = 0
    for index, block in source.chunks(max_bytes):
        blocks += 1
        assert type(block) is np.ndarray and not isinstance(block.base, np.memmap)
        assert block.flags.writeable
        assert block.dtype == source.dtype
        assert block.flags.f_contiguous if source.fortran_order else block.flags.c_contiguous
        assert block.nbytes <= max(max_bytes, slice_bytes)
        assert len(index) == len(source.shape)
        assert all(s == slice(None) for a, s in enumerate(index) if a != axis)
        assert index[axis].start == next_start  # file order, no gap
        next_start = index[axis].stop
        whole[index] = block
        covered[index] += 1
    assert next_start == source.shape[axis]
    assert (covered == 1).all()
    return whole, blocks


def write_npy(
    path: Path,
    header: str | dict,
    body: bytes = b"",
    version: tuple[int, int] = (1, 0),
    magic: bytes = b"\x93NUMPY",
) -> Path:
    """A .npy file with exactly this header text and body, however wrong they are."""
    text = (header if isinstance(header, str) else repr(header)).encode("latin1") + b"\n"
    length = struct.pack("<H" if version == (1, 0) else "<I", len(text))
    path.write_bytes(magic + bytes(version) + length + text + body)
    return path


def write_raw(data: bytes) -> Callable[[Path], Path]:
    def make(path: Path) -> Path:
        path.write_bytes(data)
        return path

    return make


def npy_bytes(array: np.ndarray, **kwargs: object) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, **kwargs)
    return buffer.getvalue()


def refused(path: Path, key: str | None = None) -> str:
    """The problem open_data reports, read through to the last block."""
    with pytest.raises(VaecheckError) as caught:
        source = open_data(path, key=key)
        for _ in source.chunks():
            pass
    assert caught.value.path == str(path)
    assert str(caught.value) == f"{path}: {caught.value.problem}"
    assert "\n" not in caught.value.problem
    return caught.value.problem


# --- round trips --------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{len(s)}d")
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_npy_blocks_rebuild_the_array(tmp_path: Path, dtype: str, order: str, shape: tuple) -> None:
    array = sample_array(shape, dtype, order)
    path = tmp_path / "data.npy"
    np.save(path, array)
    source = open_data(path)
    assert source.shape == shape and source.dtype == np.dtype(dtype)
    assert source.fortran_order == (order == "F" and len(shape) > 1)
    assert source.description == "data.npy" and source.path == str(path)
    whole, blocks = reassemble(source, max_bytes=16)
    np.testing.assert_array_equal(whole, array)
    assert blocks > 1
    # A budget below one row or slice still yields one whole row or slice per block.
    assert reassemble(source, max_bytes=1)[1] == shape[-1 if source.fortran_order else 0]
    assert reassemble(source, max_bytes=2**20)[1] == 1


@pytest.mark.parametrize("version", [(1, 0), (2, 0), (3, 0)])
def test_all_npy_format_versions(tmp_path: Path, version: tuple[int, int]) -> None:
    array = np.arange(12, dtype="<i4").reshape(3, 4)
    header = {"descr": "<i4", "fortran_order": False, "shape": (3, 4)}
    path = write_npy(tmp_path / "v.npy", header, array.tobytes(), version=version)
    np.testing.assert_array_equal(reassemble(open_data(path), 16)[0], array)


@pytest.mark.parametrize("save", [np.savez, np.savez_compressed], ids=["stored", "deflated"])
def test_npz_members_by_key(tmp_path: Path, save: Callable) -> None:
    arrays = {
        "x_train": sample_array((40, 6), "float32"),
        "y_train": sample_array((40,), "uint8"),
        "fortran": sample_array((4, 5, 6), ">f4", "F"),
    }
    path = tmp_path / "data.npz"
    save(path, **arrays)
    for name, array in arrays.items():
        for key in (name, f"{name}.npy"):
            source = open_data(path, key=key)
            assert source.description == f"data.npz[{name}]"
            assert source.shape == array.shape and source.dtype == array.dtype
            whole, blocks = reassemble(source, max_bytes=30)
            np.testing.assert_array_equal(whole, array)
            assert blocks > 1


def test_npz_with_one_array_needs_no_key(tmp_path: Path) -> None:
    path = tmp_path / "one.npz"
    np.savez_compressed(path, images=np.arange(100, dtype=np.uint8).reshape(10, 10))
    source = open_data(path)
    assert source.description == "one.npz[images]"
    assert reassemble(source, 25)[0].sum() == sum(range(100))


def test_highly_compressible_npz_is_not_taken_for_a_bomb(tmp_path: Path) -> None:
    path = tmp_path / "zeros.npz"
    np.savez_compressed(path, x=np.zeros((2000, 1000), np.uint8))  # about 1000:1
    info = zipfile.ZipFile(path).infolist()[0]
    assert info.file_size / info.compress_size > 900
    whole, _ = reassemble(open_data(path), 2**18)
    assert not whole.any()


@pytest.mark.parametrize("name", ["data.csv", "data", "data.NPY"])
def test_content_wins_over_a_missing_or_lying_suffix(tmp_path: Path, name: str) -> None:
    array = np.arange(6.0).reshape(2, 3)
    npy = tmp_path / name
    np.save(tmp_path / "x.npy", array)
    os.replace(tmp_path / "x.npy", npy)
    np.testing.assert_array_equal(reassemble(open_data(npy), 8)[0], array)
    npz = tmp_path / f"archive-{name}"
    np.savez(tmp_path / "x.npz", a=array)
    os.replace(tmp_path / "x.npz", npz)
    assert open_data(npz).description == f"archive-{name}[a]"


@pytest.mark.parametrize("layout", ["C", "F", "strided"])
def test_array_source_matches_file_reading(layout: str) -> None:
    base = sample_array((6, 5, 4), "float64")
    array = {"C": base, "F": np.asfortranarray(base), "strided": base[::2, :, 1:]}[layout]
    source = array_source(array, "x_train")
    assert source.description == source.path == "x_train"
    assert source.fortran_order == (layout == "F")
    original = array.copy()
    whole, _ = reassemble(source, 64)
    np.testing.assert_array_equal(whole, original)
    for _, block in source.chunks(64):
        block[...] = 0  # blocks are copies: the caller's array is untouched
    np.testing.assert_array_equal(array, original)


def test_bool_blocks_hold_only_zeros_and_ones(tmp_path: Path) -> None:
    header = {"descr": "|b1", "fortran_order": False, "shape": (4,)}
    path = write_npy(tmp_path / "mask.npy", header, b"\x00\x02\x01\xff")
    (_, block), = open_data(path).chunks()
    assert block.tolist() == [False, True, True, True]
    assert block.view(np.uint8).tolist() == [0, 1, 1, 1]


def test_chunks_can_be_read_again_and_abandoned(tmp_path: Path) -> None:
    path = tmp_path / "a.npy"
    np.save(path, np.arange(1000.0))
    source = open_data(path)
    first = next(iter(source.chunks(80)))
    assert first[1].tolist() == list(range(10))
    assert reassemble(source, 800)[0].sum() == sum(range(1000))
    with pytest.raises(ValueError):
        source.chunks(0)


# --- refused dtypes and shapes -----------------------------------------------------------------


NO_PICKLE = "object arrays are refused: vaecheck never unpickles"
REFUSED_ARRAYS = [
    ("object", np.array([1, "a", None], dtype=object), NO_PICKLE),
    ("object-field", np.zeros(2, dtype=[("a", "O")]), NO_PICKLE),
    ("structured", np.zeros(3, dtype=[("a", "<f4"), ("b", "<i4")]), "structured arrays"),
    ("subarray", np.zeros(3, dtype=[("a", "<f4", (2,))]), "structured arrays"),
    ("unicode", np.array(["ab", "c"]), "string data (dtype <U2) is not numeric"),
    ("bytes", np.array([b"ab"]), "string data (dtype |S2) is not numeric"),
    ("complex", np.zeros(3, np.complex128), "complex data has no order"),
    ("complex64", np.zeros((2, 2), np.complex64), "complex data has no order"),
    ("datetime", np.array(["2020-01-01"], dtype="M8[D]"), "date and time data"),
    ("timedelta", np.array([1], dtype="m8[s]"), "date and time data"),
    ("void", np.zeros(3, "V4"), "dtype |V4 is not supported"),
    ("0-d", np.float32(3.0), "a 0-d array: vaecheck needs samples along the first axis"),
    ("empty", np.zeros((0,), np.float32), "the array is empty (shape (0,))"),
    ("empty-feature", np.zeros((5, 0, 2), np.float32), "the array is empty (shape (5, 0, 2))"),
]
if np.dtype(np.longdouble).itemsize > 8:
    REFUSED_ARRAYS.append(("longdouble", np.zeros(3, np.longdouble), "extended-precision floats"))


@pytest.mark.parametrize(
    "array,problem", [case[1:] for case in REFUSED_ARRAYS], ids=[case[0] for case in REFUSED_ARRAYS]
)
def test_refused_arrays(tmp_path: Path, array: np.ndarray, problem: str) -> None:
    path = tmp_path / "bad.npy"
    np.save(path, array, allow_pickle=True)
    assert refused(path).startswith(problem)
    npz = tmp_path / "bad.npz"
    np.savez(npz, x=array)
    assert refused(npz) == f"array 'x': {refused(path)}"
    with pytest.raises(VaecheckError) as caught:
        array_source(array, "<array>")
    assert caught.value.problem == refused(path) and caught.value.path == "<array>"


# --- damaged .npy files ------------------------------------------------------------------------

F8 = {"descr": "<f8", "fortran_order": False, "shape": (4,)}
BODY = np.arange(4.0).tobytes()

BAD_NPY: list[tuple[str, Callable[[Path], Path], str]] = [
    ("10**15 elements", lambda p: write_npy(p, {**F8, "shape": (10**15,)}, BODY),
     "the file is truncated: its header declares 8,000,000,000,000,000 bytes of data "
     "(float64, shape (1000000000000000,)), the file holds 32"),
    ("truncated body", lambda p: write_npy(p, F8, BODY[:-3]),
     "the file is truncated: its header declares 32 bytes of data (float64, shape (4,)), "
     "the file holds 29"),
    ("no body", lambda p: write_npy(p, F8), "the file is truncated"),
    ("trailing bytes", lambda p: write_npy(p, F8, BODY + b"junk"),
     "the file holds 4 bytes after the 32 bytes of data its header declares"),
    ("bad magic", lambda p: write_npy(p, F8, BODY, magic=b"\x93NUMPX"),
     "not a .npy file: it starts with b'\\x93NUMPX', not the .npy magic b'\\x93NUMPY'"),
    ("text file", write_raw(b"1,2,3\n"), "not a .npy file"),
    ("magic only", write_raw(b"\x93NUMPY"), "the .npy header is cut short"),
    ("version 9.9", lambda p: write_npy(p, F8, BODY, version=(9, 9)),
     "unsupported .npy format version 9.9 (vaecheck reads 1.0, 2.0 and 3.0)"),
    ("huge header", write_raw(b"\x93NUMPY\x02\x00" + struct.pack("<I", 10**6)),
     "the .npy header declares 1,000,000 bytes, more than the 10,000 a header may have"),
    ("header cut", write_raw(b"\x93NUMPY\x01\x00\x64\x00{'descr'"),
     "the .npy header is cut short"),
    ("bad utf8", write_raw(b"\x93NUMPY\x03\x00\x02\x00\x00\x00\xff\xfe"),
     "the .npy header is not valid utf8 text"),
    # Were the header run, its code would create `pwned` beside the file, in the test's own folder.
    ("code", lambda p: write_npy(p, f"__import__('pathlib').Path({str(p.parent / 'pwned')!r}).touch()", BODY),
     "the .npy header is not a Python dict literal"),
    ("not a dict", lambda p: write_npy(p, "[1, 2]", BODY),
     "the .npy header is not a Python dict literal"),
    ("nested", lambda p: write_npy(p, "(" * 3000 + ")" * 3000, BODY),
     "the .npy header is not a Python dict literal"),
    ("missing keys", lambda p: write_npy(p, {"descr": "<f8"}, BODY),
     "the .npy header lacks fortran_order, shape"),
    ("extra key", lambda p: write_npy(p, {**F8, "pickle": True}, BODY),
     "the .npy header has unexpected keys 'pickle'"),
    ("bad descr", lambda p: write_npy(p, {**F8, "descr": "nonsense"}, BODY),
     "the .npy header's descr 'nonsense' is not a valid dtype"),
    ("descr not text", lambda p: write_npy(p, {**F8, "descr": 8}, BODY),
     "the .npy header's descr 8 is not a dtype"),
    ("object descr", lambda p: write_npy(p, {**F8, "descr": "|O"}, BODY),
     NO_PICKLE),
    ("fortran_order 1", lambda p: write_npy(p, {**F8, "fortran_order": 1}, BODY),
     "the .npy header's fortran_order is 1, not True or False"),
    ("shape list", lambda p: write_npy(p, {**F8, "shape": [4]}, BODY),
     "the .npy header's shape [4] is not a tuple of integers"),
    ("shape float", lambda p: write_npy(p, {**F8, "shape": (4.0,)}, BODY),
     "the .npy header's shape (4.0,) is not a tuple of integers"),
    ("shape bool", lambda p: write_npy(p, {**F8, "shape": (True, 4)}, BODY),
     "the .npy header's shape (True, 4) is not a tuple of integers"),
    ("negative", lambda p: write_npy(p, {**F8, "shape": (-4,)}, BODY),
     "the .npy header's shape (-4,) has a negative dimension"),
    ("negative pair", lambda p: write_npy(p, {**F8, "shape": (-2, -2)}, BODY),
     "the .npy header's shape (-2, -2) has a negative dimension"),
    ("0-d", lambda p: write_npy(p, {**F8, "shape": ()}, BODY[:8]),
     "a 0-d array: vaecheck needs samples along the first axis"),
    ("empty", lambda p: write_npy(p, {**F8, "shape": (0, 4)}), "the array is empty (shape (0, 4))"),
    ("40 dims", lambda p: write_npy(p, {**F8, "shape": (1,) * 40}, BODY[:8]),
     "the .npy header declares 40 dimensions, more than 32"),
    ("empty file", write_raw(b""), "the file is empty"),
]


@pytest.mark.parametrize(
    "make,problem", [case[1:] for case in BAD_NPY], ids=[case[0] for case in BAD_NPY]
)
def test_damaged_npy(tmp_path: Path, make: Callable[[Path], Path], problem: str) -> None:
    path = make(tmp_path / "bad.npy")
    assert refused(path).startswith(problem)
    assert not (tmp_path / "pwned").exists()


def test_header_is_never_evaluated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = ast.literal_eval
    monkeypatch.setattr(ast, "literal_eval", lambda text: calls.append(text) or real(text))
    monkeypatch.setattr("builtins.eval", lambda *a: pytest.fail("eval was called"))
    path = tmp_path / "a.npy"
    np.save(path, np.ones(3))
    open_data(path)
    assert len(calls) == 1


def test_corrupted_files_raise_only_vaecheck_errors(tmp_path: Path) -> None:
    """Every truncation and many byte flips of a valid file: a clean error or a clean read."""
    originals = {
        "a.npy": npy_bytes(np.arange(24, dtype="<f4").reshape(6, 4)),
        "b.npz": (tmp_path / "seed.npz"),
    }
    np.savez_compressed(originals["b.npz"], x=np.arange(300, dtype=np.int16).reshape(30, 10))
    originals["b.npz"] = originals["b.npz"].read_bytes()
    rng = np.random.default_rng(0)
    outcomes = {"ok": 0, "refused": 0}
    for name, data in originals.items():
        variants = [data[:cut] for cut in range(len(data))]
        for _ in range(150):
            damaged = bytearray(data)
            for position in rng.integers(0, len(data), size=rng.integers(1, 4)):
                damaged[position] = int(rng.integers(0, 256))
            variants.append(bytes(damaged))
        for variant in variants:
            path = tmp_path / name
            path.write_bytes(variant)
            try:
                source = open_data(path, key="x" if name.endswith("npz") else None)
                for _ in source.chunks(16):
                    pass
                outcomes["ok"] += 1
            except VaecheckError as exc:
                assert exc.path == str(path) and "\n" not in exc.problem
                outcomes["refused"] += 1
    assert outcomes["refused"] > 300


def test_file_changed_between_open_and_read(tmp_path: Path) -> None:
    path = tmp_path / "a.npy"
    np.save(path, np.arange(100.0))
    source = open_data(path)
    np.save(path, np.arange(50.0))
    with pytest.raises(VaecheckError, match="the file changed while vaecheck was reading it"):
        list(source.chunks())


# --- .npz archives -----------------------------------------------------------------------------


def patch_declared_size(path: Path, member_size: int) -> None:
    """Rewrite the uncompressed size of the archive's first member in both its headers."""
    data = bytearray(path.read_bytes())
    local = data.index(b"PK\x03\x04")
    central = data.index(b"PK\x01\x02")
    struct.pack_into("<I", data, local + 22, member_size)
    struct.pack_into("<I", data, central + 24, member_size)
    path.write_bytes(bytes(data))


def test_zip_bomb_is_refused_before_decompressing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("x.npy", npy_bytes(np.zeros(10_000)))
    patch_declared_size(path, 0xFFFF_FFF0)  # 4 GB from a few hundred bytes
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda *a, **k: pytest.fail("decompressed"))
    problem = refused(path)
    assert problem.startswith("member 'x.npy' declares 4,294,967,280 bytes from ")
    assert problem.endswith("more than deflate can produce: refusing a likely zip bomb")


def test_stored_member_with_a_lying_size(tmp_path: Path) -> None:
    path = tmp_path / "lying.npz"
    np.savez(path, x=np.arange(10.0))
    patch_declared_size(path, 10**6)
    assert refused(path).startswith("member 'x.npy' is stored uncompressed, yet declares 1,000,000")


def test_member_whose_header_disagrees_with_its_entry(tmp_path: Path) -> None:
    path = tmp_path / "short.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("x.npy", npy_bytes(np.arange(100.0))[:-80])
    assert refused(path) == (
        "array 'x': its .npy header declares 800 bytes of data (float64, shape (100,)), "
        "the archive entry holds 720"
    )


def test_corrupt_member_data(tmp_path: Path) -> None:
    path = tmp_path / "crc.npz"
    np.savez(path, x=np.arange(1000.0))
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # inside the stored body: only the CRC can tell
    path.write_bytes(bytes(data))
    problem = refused(path)
    assert problem.startswith("array 'x': cannot read the data (Bad CRC-32")


NPZ_ERRORS: list[tuple[str, Callable[[Path], None], str | None, str]] = [
    ("several arrays", lambda p: np.savez(p, b=np.ones(2), a=np.ones(3), c=np.ones(1)), None,
     "the .npz archive holds 3 arrays (b, a, c); pass --key to choose one"),
    ("unknown key", lambda p: np.savez(p, b=np.ones(2), a=np.ones(3)), "z",
     "no array 'z' in the .npz archive; it holds b, a"),
    ("not a zip", lambda p: p.write_bytes(b"hello, world"), None,
     "not an .npz file: it is not a zip archive"),
    ("broken zip", lambda p: p.write_bytes(b"PK\x03\x04" + b"\0" * 40), None,
     "not an .npz file: not a valid zip archive"),
    ("empty zip", lambda p: zipfile.ZipFile(p, "w").close(), None,
     "a zip archive with no .npy arrays, not an .npz"),
    ("a keras model", lambda p: zipfile.ZipFile(p, "w").writestr("config.json", "{}"), None,
     "a zip archive with no .npy arrays, not an .npz (it looks like a .keras model: "
     "pass it as the model)"),
    ("member not npy", lambda p: zipfile.ZipFile(p, "w").writestr("x.npy", "just text"), None,
     "array 'x': not a .npy file: it starts with b'just t'"),
    ("bzip2 member", lambda p: zipfile.ZipFile(p, "w", zipfile.ZIP_BZIP2).writestr(
        "x.npy", npy_bytes(np.ones(3))), None,
     "array 'x' uses zip compression method 12; .npz members are stored or deflated"),
]


@pytest.mark.parametrize(
    "make,key,problem", [case[1:] for case in NPZ_ERRORS], ids=[case[0] for case in NPZ_ERRORS]
)
def test_npz_errors(
    tmp_path: Path, make: Callable[[Path], None], key: str | None, problem: str
) -> None:
    path = tmp_path / "data.npz"
    make(path)
    assert refused(path, key=key).startswith(problem)


def test_key_on_a_npy_file(tmp_path: Path) -> None:
    path = tmp_path / "a.npy"
    np.save(path, np.ones(3))
    assert refused(path, key="x") == (
        "--key 'x' is for .npz archives and HDF5 files, not a .npy file"
    )


# --- what is not a data file at all ------------------------------------------------------------


@pytest.mark.parametrize(
    "name,problem",
    [
        ("data.txt", "unsupported data format '.txt' (vaecheck reads .npy, .npz, .csv, .tsv, .h5"),
        ("model.h5", "not an HDF5 file"),
        ("data", "unrecognised data format: no suffix, and the content is neither .npy, .npz nor"),
    ],
)
def test_unsupported_formats(tmp_path: Path, name: str, problem: str) -> None:
    path = tmp_path / name
    path.write_text("1,2,3\n4,5,6\n")
    assert refused(path).startswith(problem)


def test_missing_file(tmp_path: Path) -> None:
    assert refused(tmp_path / "nope.npy") == "no such file or directory"


def test_directory_without_data_files(tmp_path: Path) -> None:
    (tmp_path / "dir.npy").mkdir()
    (tmp_path / "dir.npy" / "notes.txt").write_text("no data here")
    assert refused(tmp_path / "dir.npy").startswith("the directory holds no data files")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo")
def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    path = tmp_path / "pipe.npy"
    os.mkfifo(path)
    problems: list[str] = []

    def attempt() -> None:
        try:
            open_data(path)
        except VaecheckError as exc:
            problems.append(exc.problem)

    reader = threading.Thread(target=attempt, daemon=True)
    reader.start()
    reader.join(timeout=10)
    assert not reader.is_alive(), "open_data blocked on a FIFO"
    assert problems == [
        "not a regular file (a FIFO, socket or device): vaecheck reads .npy, .npz, .csv, .tsv, "
        ".h5, .hdf5, Parquet, Feather, Arrow IPC, Zarr and TFRecord files"
    ]


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "secret.npy"
    np.save(path, np.ones(3))
    path.chmod(0)
    try:
        assert refused(path) == "cannot read the data (Permission denied)"
    finally:
        path.chmod(0o600)


# --- memory ------------------------------------------------------------------------------------

MEMORY_PROBE = textwrap.dedent(
    """
    import resource, sys
    from vaecheck.readers.data import open_data

    def peak_mb():
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 2**20 if sys.platform == "darwin" else peak / 2**10

    source = open_data(sys.argv[1])
    before = peak_mb()
    values, high = 0, float("-inf")
    for _, block in source.chunks(8 * 2**20):
        values += block.size
        high = max(high, float(block.max()))
    print(values, high, before, peak_mb() - before)
    """
)
# ru_maxrss survives exec: a process started by pytest begins with pytest's own peak, which
# would hide any growth. Started by a small launcher instead, the probe's baseline is its own.
LAUNCHER = "import subprocess, sys; sys.exit(subprocess.run(sys.argv[1:]).returncode)"


def peak_rss_growth_mb(path: Path) -> tuple[int, float, float, float]:
    """Read `path` in 8 MiB blocks in a fresh process: values, max, baseline and peak growth."""
    result = subprocess.run(
        [sys.executable, "-c", LAUNCHER, sys.executable, "-c", MEMORY_PROBE, str(path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    values, high, baseline, growth = result.stdout.split()
    return int(values), float(high), float(baseline), float(growth)


def write_rows(handle: BinaryIO, rows: int, columns: int) -> None:
    """A float32 .npy of `rows` x `columns` whose row i holds i, written a slab at a time."""
    header = {"descr": "<f4", "fortran_order": False, "shape": (rows, columns)}
    np.lib.format.write_array_header_1_0(handle, header)
    for start in range(0, rows, 16_384):
        row_ids = np.arange(start, start + 16_384, dtype=np.float32)
        handle.write(np.repeat(row_ids[:, None], columns, axis=1).tobytes())


@pytest.mark.skipif(sys.platform == "win32", reason="resource is POSIX only")
@pytest.mark.parametrize("suffix", [".npy", ".npz"])
def test_memory_stays_flat_on_a_200_mb_array(tmp_path: Path, suffix: str) -> None:
    rows, columns = 409_600, 128  # float32: 200 MiB of data
    path = tmp_path / f"big{suffix}"
    if suffix == ".npy":
        with path.open("wb") as handle:
            write_rows(handle, rows, columns)
        assert path.stat().st_size > 200 * 2**20
    else:
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            with archive.open("x.npy", "w", force_zip64=True) as member:
                write_rows(member, rows, columns)
        assert archive.infolist()[0].file_size > 200 * 2**20
    values, high, baseline, growth = peak_rss_growth_mb(path)
    assert values == rows * columns and high == rows - 1
    print(f"{suffix}: peak RSS {baseline:.1f} MB before reading 200 MiB in 8 MiB blocks, "
          f"+{growth:.1f} MB")
    # At least one 8 MiB block must show: otherwise the measurement itself is blind.
    assert 4 < growth < 100


# --- standard input ----------------------------------------------------------------------------


def test_a_npy_stream_is_read_once_in_order() -> None:
    from vaecheck.readers.data import open_stream

    data = sample_array((23, 5), "float32")
    source = open_stream(io.BytesIO(npy_bytes(data)))
    assert source.path == "<stdin>" and source.shape == (23, 5)
    whole, blocks = reassemble(source, 64)
    assert blocks > 1
    np.testing.assert_array_equal(whole, data)
    with pytest.raises(VaecheckError, match="can be read only once"):
        next(iter(source.chunks()))


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda raw: raw[:-7], "the stream ended early: its header declares 460 bytes of data"),
        (lambda raw: raw + b"\0", "the stream goes on after the 460 bytes of data its header"),
        (lambda raw: b"1,2,3\n", "not a .npy file: it starts with b'1,2,3\\n'"),
        (lambda raw: b"", "not a .npy file"),
    ],
)
def test_damaged_streams(make: Callable[[bytes], bytes], problem: str) -> None:
    from vaecheck.readers.data import open_stream

    raw = make(npy_bytes(sample_array((23, 5), "float32")))
    with pytest.raises(VaecheckError) as caught:
        for _ in open_stream(io.BytesIO(raw)).chunks(64):
            pass
    assert caught.value.problem.startswith(problem)
    assert caught.value.path == "<stdin>"


def test_dash_reads_standard_input(monkeypatch: pytest.MonkeyPatch) -> None:
    data = sample_array((7, 3, 4), "uint8")

    class Stdin:
        buffer = io.BytesIO(npy_bytes(data))

    monkeypatch.setattr(sys, "stdin", Stdin)
    whole, _ = reassemble(open_data("-"), 48)
    np.testing.assert_array_equal(whole, data)
    with pytest.raises(VaecheckError, match="do not apply to a .npy on standard input"):
        open_data("-", key="x")


# --- rows and samples ---------------------------------------------------------------------------


def numbered_rows(rows: int, columns: int = 3) -> np.ndarray:
    """Row i holds i everywhere, so a block says which rows it came from."""
    return np.repeat(np.arange(rows, dtype=np.float64)[:, None], columns, axis=1)


def drawn_rows(source: DataSource, max_bytes: int = 4096) -> list[int]:
    got = np.zeros(source.shape)
    for index, block in source.chunks(max_bytes):
        got[index] = block
    assert (got == got[:, :1]).all()
    return got[:, 0].astype(int).tolist()


@pytest.mark.parametrize("kind", ["npy", "npy-F", "npz", "array", "stream"])
def test_take_rows_reads_those_rows_from_every_kind_of_source(tmp_path: Path, kind: str) -> None:
    from vaecheck.readers.data import open_stream

    data = numbered_rows(500)
    chosen = [0, 1, 2, 57, 58, 300, 499]
    if kind == "npy":
        np.save(tmp_path / "x.npy", data)
        source = open_data(tmp_path / "x.npy")
    elif kind == "npy-F":
        np.save(tmp_path / "x.npy", np.asfortranarray(data))
        source = open_data(tmp_path / "x.npy")
    elif kind == "npz":
        np.savez_compressed(tmp_path / "x.npz", x=data)
        source = open_data(tmp_path / "x.npz")
    elif kind == "array":
        source = array_source(data)
    else:
        source = open_stream(io.BytesIO(npy_bytes(data)))
    taken = source.take_rows(chosen)
    assert taken.shape == (7, 3)
    assert drawn_rows(taken, max_bytes=48) == chosen


def test_take_rows_refuses_unsorted_or_repeated_rows() -> None:
    source = array_source(numbered_rows(10))
    for rows in ([3, 1], [2, 2], [10], [-1]):
        with pytest.raises(ValueError):
            source.take_rows(rows)


def test_sample_is_reproducible_sorted_and_uniform(tmp_path: Path) -> None:
    np.save(tmp_path / "x.npy", numbered_rows(100))
    source = open_data(tmp_path / "x.npy")
    first = drawn_rows(source.sample(10, seed=1))
    assert first == drawn_rows(source.sample(10, seed=1))
    assert first != drawn_rows(source.sample(10, seed=2))
    assert first == sorted(set(first)) and len(first) == 10
    # Every row is as likely to be drawn: over 2,000 samples each is drawn about 200 times.
    counts = np.zeros(100, int)
    for seed in range(2000):
        counts[np.asarray(drawn_rows(source.sample(10, seed=seed)))] += 1
    assert counts.sum() == 20_000 and 140 < counts.min() and counts.max() < 260


def test_sample_of_everything_is_the_whole_source(tmp_path: Path) -> None:
    source = array_source(numbered_rows(10))
    assert source.sample(10) is source and source.sample(50) is source
    with pytest.raises(VaecheckError, match="at least one row"):
        source.sample(0)


@pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="needs Linux /proc/self/io")
def test_sample_of_a_npy_reads_only_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "big.npy"
    with path.open("wb") as handle:
        write_rows(handle, 262_144, 128)  # 128 MiB
    script = textwrap.dedent(
        f"""
        import re
        from vaecheck.readers.data import open_data
        def read_bytes():
            return int(re.search(r"rchar: (\\d+)", open("/proc/self/io").read()).group(1))
        source = open_data({str(path)!r}).sample(100, seed=0)
        before = read_bytes()
        rows = sum(block.shape[0] for _, block in source.chunks())
        print(rows, read_bytes() - before)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=True)
    rows, read = map(int, result.stdout.split())
    assert rows == 100
    assert read < 2 * 2**20  # 100 rows of 512 bytes, a header and some slack: not 128 MiB


def test_reused_blocks_share_one_buffer(tmp_path: Path) -> None:
    data = sample_array((64, 16), "float32")
    np.save(tmp_path / "x.npy", data)
    source = open_data(tmp_path / "x.npy")
    addresses = set()
    whole = np.zeros_like(data)
    for index, block in source.chunks(256, reuse=True):
        addresses.add(block.__array_interface__["data"][0])
        whole[index] = block
    assert len(addresses) == 1
    np.testing.assert_array_equal(whole, data)


def test_a_ring_of_buffers_keeps_each_block_until_its_turn_comes_again(tmp_path: Path) -> None:
    data = sample_array((64, 16), "float32")
    np.save(tmp_path / "x.npy", data)
    held: list[tuple[Index, np.ndarray]] = []
    addresses = set()
    for index, block in open_data(tmp_path / "x.npy").chunks(256, reuse=3):
        addresses.add(block.__array_interface__["data"][0])
        held = [*held[-2:], (index, block)]
        for earlier_index, earlier in held:  # the two blocks before are still intact
            np.testing.assert_array_equal(earlier, data[earlier_index])
    assert len(addresses) == 3

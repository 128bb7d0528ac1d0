"""HDF5 datasets written by h5py: read in blocks, named two ways, and never followed outside."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from vaecheck.errors import VaecheckError
from vaecheck.readers.data import DataSource, open_data


def read_all(source: DataSource, max_bytes: int = 2**20) -> np.ndarray:
    whole = np.zeros(source.shape, source.dtype)
    covered = np.zeros(source.shape, np.int8)
    for index, block in source.chunks(max_bytes):
        assert block.dtype == source.dtype
        whole[index] = block
        covered[index] += 1
    assert (covered == 1).all()
    return whole


def problem(spec: str | Path, **options: object) -> str:
    with pytest.raises(VaecheckError) as caught:
        read_all(open_data(spec, **options))  # type: ignore[arg-type]
    assert "\n" not in caught.value.problem
    return caught.value.problem


@pytest.fixture
def images() -> np.ndarray:
    return np.random.default_rng(1).integers(0, 256, (300, 8, 8, 3)).astype(np.uint8)


@pytest.fixture
def archive(tmp_path: Path, images: np.ndarray) -> Path:
    path = tmp_path / "data.h5"
    with h5py.File(path, "w") as handle:
        handle.create_dataset(
            "train/images", data=images, chunks=(16, 8, 8, 3), compression="gzip"
        )
        handle["train/labels"] = np.arange(300) % 10
        handle["scalar"] = 3.0
    return path


def test_dataset_named_in_the_path(archive: Path, images: np.ndarray) -> None:
    source = open_data(f"{archive}:/train/images")
    assert source.shape == images.shape and source.dtype == np.uint8
    assert source.description == "data.h5:/train/images"
    np.testing.assert_array_equal(read_all(source, max_bytes=5000), images)  # many blocks


def test_dataset_named_with_key(archive: Path) -> None:
    source = open_data(archive, key="train/labels")
    np.testing.assert_array_equal(read_all(source), np.arange(300) % 10)


def test_the_only_dataset_needs_no_name(tmp_path: Path) -> None:
    path = tmp_path / "one.hdf5"
    data = np.linspace(-1, 1, 120, dtype=">f8").reshape(40, 3)  # big-endian, as some tools write
    with h5py.File(path, "w") as handle:
        handle["group/x"] = data
    source = open_data(path)
    np.testing.assert_array_equal(read_all(source), data)


def test_dataset_named_twice_differently(archive: Path) -> None:
    assert "named twice" in problem(f"{archive}:/train/images", key="train/labels")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (None, "the HDF5 file holds 3 datasets (/scalar, /train/images, /train/labels); name one"),
        ("/train", "'/train' is a group, not a dataset; it holds datasets /train/images"),
        ("/nope", "no dataset '/nope' in the file; it holds datasets /scalar, /train/images"),
        ("/train/images/x", "'/train/images' is a dataset, not a group"),
        ("/scalar", "dataset '/scalar': a 0-d array"),
    ],
)
def test_naming_errors(archive: Path, name: str | None, message: str) -> None:
    assert message in problem(archive, key=name)


def test_links_are_never_followed(tmp_path: Path, archive: Path) -> None:
    path = tmp_path / "links.h5"
    with h5py.File(path, "w") as handle:
        handle["real"] = np.ones((4, 2))
        handle["soft"] = h5py.SoftLink("/real")
        handle["outside"] = h5py.ExternalLink(str(archive), "/train/labels")
        handle.create_group("g")["deeper"] = h5py.SoftLink("/real")
    assert "'/soft' is a soft link (to '/real')" in problem(path, key="soft")
    assert "'/outside' is an external link" in problem(path, key="/outside")
    assert "'/g/deeper' is a soft link" in problem(path, key="/g/deeper")
    # Finding the datasets to choose from does not walk through links either: /real is the
    # only dataset the file itself holds.
    source = open_data(path)
    assert source.description == "links.h5:/real"
    np.testing.assert_array_equal(read_all(source), np.ones((4, 2)))


def test_external_storage_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "secret.bin"
    outside.write_bytes(np.arange(16, dtype="<f8").tobytes())
    path = tmp_path / "external.h5"
    with h5py.File(path, "w") as handle:
        handle.create_dataset("x", shape=(4, 4), dtype="<f8", external=[(str(outside), 0, 128)])
    assert "stored in external files: refused" in problem(path)


def test_virtual_dataset_is_refused(tmp_path: Path) -> None:
    source_file = tmp_path / "source.h5"
    with h5py.File(source_file, "w") as handle:
        handle["x"] = np.arange(10.0)
    path = tmp_path / "virtual.h5"
    layout = h5py.VirtualLayout(shape=(10,), dtype="f8")
    layout[:] = h5py.VirtualSource(str(source_file), "x", shape=(10,))
    with h5py.File(path, "w") as handle:
        handle.create_virtual_dataset("v", layout)
    assert "is virtual" in problem(path)


def test_shape_bomb_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "bomb.h5"
    with h5py.File(path, "w") as handle:
        # 64 GiB declared, nothing stored.
        handle.create_dataset("x", shape=(2**32, 4), dtype="f4", chunks=(1024, 4))
    assert "refusing a likely shape bomb" in problem(path)


def test_huge_chunks_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "chunks.h5"
    with h5py.File(path, "w") as handle:
        handle.create_dataset("x", shape=(5000, 5000), dtype="f4", chunks=(5000, 5000))
    assert "chunks of 100,000,000 bytes" in problem(path)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (np.array([b"a", b"b"]), "string data"),
        (np.zeros(3, dtype=[("a", "f4"), ("b", "i4")]), "structured arrays"),
        (np.zeros((0, 3)), "the array is empty"),
    ],
)
def test_non_numeric_datasets(tmp_path: Path, data: np.ndarray, message: str) -> None:
    path = tmp_path / "odd.h5"
    with h5py.File(path, "w") as handle:
        handle["x"] = data
    assert message in problem(path)


def test_variable_length_strings_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "strings.h5"
    with h5py.File(path, "w") as handle:
        handle.create_dataset("x", data=["one", "two"], dtype=h5py.string_dtype())
    assert "object arrays are refused" in problem(path)


def test_not_an_hdf5_file(tmp_path: Path) -> None:
    path = tmp_path / "fake.h5"
    path.write_bytes(b"not hdf5 at all, just text")
    assert problem(path).startswith("not an HDF5 file, or a damaged one")


def test_a_keras_model_given_as_data_says_so(samples: Path) -> None:
    message = problem(samples / "relu_vae.h5")
    assert message == "a saved Keras model, not data: pass it as the model (or name a dataset)"


def test_sample_reads_the_chosen_rows(archive: Path, images: np.ndarray) -> None:
    source = open_data(f"{archive}:/train/images").sample(25, seed=4)
    assert source.shape == (25, 8, 8, 3) and source.sampled_from == 300
    blocks = read_all(source, max_bytes=1000)
    # Each drawn image appears once, in file order.
    rows = [int(np.flatnonzero((images == image).all(axis=(1, 2, 3)))[0]) for image in blocks]
    assert rows == sorted(set(rows)) and len(rows) == 25

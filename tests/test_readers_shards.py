"""Directories and globs of shards: joined along the first axis, measured part by part."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from vaecheck.errors import VaecheckError
from vaecheck.intervals import INF, Interval
from vaecheck.readers.data import DataSource, array_source, open_data
from vaecheck.stats import measure_source

RELU = Interval(0.0, INF, True, False)


def read_all(source: DataSource, max_bytes: int = 2**20) -> np.ndarray:
    whole = np.zeros(source.shape, np.float64)
    covered = np.zeros(source.shape, np.int8)
    for index, block in source.chunks(max_bytes):
        whole[index] = block
        covered[index] += 1
    assert (covered == 1).all()
    return whole


@pytest.fixture
def rows() -> np.ndarray:
    """Row i holds i in its first column, so any read says which rows it saw."""
    data = np.random.default_rng(2).standard_normal((100, 4))
    data[:, 0] = np.arange(100)
    return data


def write_mixed_shards(directory: Path, data: np.ndarray) -> None:
    directory.mkdir()
    np.save(directory / "part-2.npy", data[20:50].astype(np.float32))
    np.save(directory / "part-1.npy", np.asfortranarray(data[:20]))
    np.savetxt(directory / "part-10.csv", data[50:80], delimiter=",", header="a,b,c,d", comments="")
    with h5py.File(directory / "part-11.h5", "w") as handle:
        handle["x"] = data[80:]
    (directory / "README.txt").write_text("not data")
    (directory / ".hidden.npy").write_bytes(b"ignored")


def test_directory_of_mixed_formats_in_natural_order(tmp_path: Path, rows: np.ndarray) -> None:
    write_mixed_shards(tmp_path / "shards", rows)
    source = open_data(tmp_path / "shards")
    assert source.shape == (100, 4) and source.dtype == np.float64
    assert [Path(p.path).name for p in source.parts()] == [
        "part-1.npy", "part-2.npy", "part-10.csv", "part-11.h5"
    ]
    assert source.description == "shards/ (4 shards)"
    np.testing.assert_allclose(read_all(source, max_bytes=200), rows, rtol=1e-6)


def test_statistics_of_shards_equal_those_of_the_whole(tmp_path: Path, rows: np.ndarray) -> None:
    write_mixed_shards(tmp_path / "shards", rows)
    whole = measure_source(array_source(read_all(open_data(tmp_path / "shards"))), [RELU])
    sharded = measure_source(open_data(tmp_path / "shards"), [RELU])
    assert (sharded.min, sharded.max, sharded.count) == (whole.min, whole.max, whole.count)
    assert sharded.edges == whole.edges
    assert sharded.std == pytest.approx(whole.std, rel=1e-9)
    np.testing.assert_array_equal(
        sharded.features.edges_for(RELU).below, whole.features.edges_for(RELU).below
    )
    assert sharded.features.names == ("a", "b", "c", "d")  # from the CSV shard's header


def test_glob_selects_its_shards(tmp_path: Path, rows: np.ndarray) -> None:
    write_mixed_shards(tmp_path / "shards", rows)
    source = open_data(str(tmp_path / "shards" / "part-*.npy"))
    assert source.shape == (50, 4)
    np.testing.assert_allclose(read_all(source), rows[:50], rtol=1e-6)


def test_sample_across_shards_reads_the_drawn_rows(tmp_path: Path, rows: np.ndarray) -> None:
    write_mixed_shards(tmp_path / "shards", rows)
    sample = open_data(tmp_path / "shards").sample(30, seed=5)
    assert sample.shape == (30, 4) and sample.sampled_from == 100
    got = read_all(sample, max_bytes=64)
    drawn = got[:, 0].astype(int)
    assert np.all(np.diff(drawn) > 0)
    np.testing.assert_allclose(got, rows[drawn], rtol=1e-6)
    assert sum(part.rows for part in sample.parts()) == 30


def test_ragged_shards_name_their_shapes(tmp_path: Path) -> None:
    directory = tmp_path / "ragged"
    directory.mkdir()
    np.save(directory / "a.npy", np.zeros((10, 28, 28)))
    np.save(directory / "b.npy", np.zeros((10, 28, 28)))
    np.save(directory / "c.npy", np.zeros((5, 28, 27)))
    with pytest.raises(VaecheckError) as caught:
        open_data(directory)
    assert caught.value.problem == (
        "ragged shards: their samples differ in shape (a.npy has (10, 28, 28), "
        "c.npy has (5, 28, 27))"
    )


def test_csv_shards_with_different_columns(tmp_path: Path) -> None:
    directory = tmp_path / "tables"
    directory.mkdir()
    (directory / "a.csv").write_text("x,y\n1,2\n")
    (directory / "b.csv").write_text("x,z\n3,4\n")
    with pytest.raises(VaecheckError) as caught:
        open_data(directory)
    assert "the shards' columns differ: a.csv has x, y; b.csv has x, z" == caught.value.problem


def test_columns_apply_to_every_shard(tmp_path: Path) -> None:
    directory = tmp_path / "tables"
    directory.mkdir()
    (directory / "a.csv").write_text("x,y\n1,2\n")
    (directory / "b.csv").write_text("y,x\n4,3\n")
    source = open_data(directory, columns="x")
    assert read_all(source).ravel().tolist() == [1.0, 3.0]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d.mkdir(), "the directory holds no data files"),
        (lambda d: None, "no data file matches this pattern"),
    ],
)
def test_nothing_to_read(tmp_path: Path, make, message: str) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "empty"
    make(target)
    location = str(target) if target.exists() else str(target / "*.npy")
    with pytest.raises(VaecheckError) as caught:
        open_data(location)
    assert caught.value.problem.startswith(message)


def test_a_bad_shard_is_named(tmp_path: Path) -> None:
    directory = tmp_path / "shards"
    directory.mkdir()
    np.save(directory / "good.npy", np.zeros((3, 2)))
    (directory / "bad.npy").write_bytes(b"\x93NUMPY\x01\x00")
    with pytest.raises(VaecheckError) as caught:
        open_data(directory)
    assert caught.value.path == str(directory / "bad.npy")

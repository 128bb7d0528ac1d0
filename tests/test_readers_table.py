"""Parquet, Feather and Arrow IPC tables: real files written by pyarrow, read back as rows."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest

from vaecheck.cli import main
from vaecheck.extras import install_command
from vaecheck.errors import VaecheckError
from vaecheck.readers.data import DataSource, open_data

SAMPLES = Path(__file__).resolve().parent.parent / "sample_models"
SIGMOID_VAE = str(SAMPLES / "sigmoid_vae.keras")  # 16 features, sigmoid outputs


def read_all(source: DataSource, max_bytes: int = 2**20) -> np.ndarray:
    pieces = []
    covered = 0
    for index, block in source.chunks(max_bytes):
        assert index[0].start == covered, "blocks come in order and cover every row"
        covered = index[0].stop
        pieces.append(block)
    assert covered == source.rows
    return np.concatenate(pieces)


@pytest.fixture(scope="module")
def unit() -> np.ndarray:
    return np.load(SAMPLES / "unit.npy")  # 512 x 16 float32 in (0, 1)


def mixed_table(rows: int = 300) -> pa.Table:
    rng = np.random.default_rng(1)
    return pa.table(
        {
            "age": rng.integers(0, 90, rows).astype(np.int16),
            "score": rng.normal(size=rows),
            "embedding": pa.FixedSizeListArray.from_arrays(
                pa.array(rng.random(rows * 4).astype(np.float32)), 4
            ),
            "pair": pa.array([[float(i), -float(i)] for i in range(rows)]),
            "flag": pa.array(rng.random(rows) > 0.5),
        }
    )


def expected_rows(table: pa.Table) -> np.ndarray:
    return np.column_stack(
        [
            table["age"].to_numpy(),
            table["score"].to_numpy(),
            np.stack(table["embedding"].to_pylist()),
            np.stack(table["pair"].to_pylist()),
            table["flag"].to_numpy(zero_copy_only=False),
        ]
    )


@pytest.mark.parametrize("kind", ["parquet", "feather", "arrows"])
def test_every_column_kind_reads_as_features(tmp_path: Path, kind: str) -> None:
    table = mixed_table()
    path = tmp_path / f"mixed.{kind}"
    if kind == "parquet":
        pq.write_table(table, path, row_group_size=64)
    elif kind == "feather":
        feather.write_feather(table, path, chunksize=50)
    else:
        with pa.ipc.new_stream(path, table.schema) as writer:
            writer.write_table(table, max_chunksize=70)
    source = open_data(path)
    assert source.shape == (300, 9)
    assert source.dtype == np.float64
    assert source.feature_names == (
        "age", "score", "embedding[0]", "embedding[1]", "embedding[2]", "embedding[3]",
        "pair[0]", "pair[1]", "flag",
    )
    np.testing.assert_array_equal(read_all(source, max_bytes=40 * 72), expected_rows(table))


def test_columns_pick_and_keep_their_dtype(tmp_path: Path) -> None:
    table = mixed_table()
    path = tmp_path / "mixed.parquet"
    pq.write_table(table, path)
    embedding = open_data(path, columns="embedding")
    assert (embedding.shape, embedding.dtype) == ((300, 4), np.float32)
    np.testing.assert_array_equal(read_all(embedding), np.stack(table["embedding"].to_pylist()))
    picked = open_data(path, columns=["score", 0])
    assert picked.feature_names == ("score", "age")
    np.testing.assert_array_equal(
        read_all(picked), np.column_stack([table["score"].to_numpy(), table["age"].to_numpy()])
    )


def test_nested_fixed_size_lists_keep_their_shape(tmp_path: Path) -> None:
    images = np.arange(10 * 3 * 2, dtype=np.uint8).reshape(10, 3, 2)
    column = pa.FixedSizeListArray.from_arrays(
        pa.FixedSizeListArray.from_arrays(pa.array(images.reshape(-1)), 2), 3
    )
    path = tmp_path / "images.parquet"
    pq.write_table(pa.table({"image": column}), path)
    source = open_data(path)
    assert (source.shape, source.dtype, source.feature_names) == ((10, 3, 2), np.uint8, None)
    np.testing.assert_array_equal(read_all(source), images)


@pytest.mark.parametrize(
    ("column", "problem"),
    [
        (pa.array(["a", "b"]), "column 'bad' has type string, not numbers; choose numeric columns with --columns"),
        (pa.array([1.5, 2.25]).cast(pa.decimal128(5, 2)), "column 'bad' has type decimal128(5, 2), not numbers: cast it to float64"),
        (pa.array(["x", "y"]).dictionary_encode(), "a categorical column, encode it as numbers"),
        (pa.array([[[1.0], [2.0]], [[3.0]]]), "lists of lists of varying length are not a row of numbers"),
        (pa.array([1, 2], type=pa.timestamp("s")), "column 'bad' has type timestamp[ms], not numbers"),
    ],
)
def test_a_non_numeric_column_is_named_with_its_type(tmp_path: Path, column: pa.Array, problem: str) -> None:
    path = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"ok": [1.0, 2.0], "bad": column}), path)
    with pytest.raises(VaecheckError, match=None) as raised:
        open_data(path)
    assert raised.value.path == str(path)
    assert problem in raised.value.problem
    # Picking only the numeric column reads.
    assert open_data(path, columns="ok").shape == (2, 1)


def test_nulls_are_nan_in_floats_and_an_error_in_integers(tmp_path: Path) -> None:
    path = tmp_path / "nulls.parquet"
    pq.write_table(pa.table({"x": [1.0, None, 3.0], "n": pa.array([1, 2, None], pa.int32())}), path)
    values = read_all(open_data(path, columns="x"))
    assert np.isnan(values[1, 0]) and values[0, 0] == 1.0
    with pytest.raises(VaecheckError) as raised:
        read_all(open_data(path, columns="n"))
    assert raised.value.problem.startswith("column 'n' (int32): row 2 is null, and integers and booleans have no NaN")


def test_list_rows_of_another_length_name_the_row(tmp_path: Path) -> None:
    path = tmp_path / "ragged.parquet"
    rows = [[0.5, 0.5]] * 150 + [[0.5]] + [[0.5, 0.5]] * 9
    pq.write_table(pa.table({"v": rows}), path, row_group_size=40)
    source = open_data(path)
    assert source.shape == (160, 2)
    with pytest.raises(VaecheckError) as raised:
        read_all(source)
    assert raised.value.problem == (
        "column 'v': row 150 holds a list of 1 values where row 0 holds 2; every row needs the same number"
    )


def test_hive_partitioned_dataset_reads_every_file_in_path_order(tmp_path: Path, unit: np.ndarray) -> None:
    root = tmp_path / "dataset"
    for number, year in enumerate(("2023", "2024")):
        for month in (1, 11):
            folder = root / f"year={year}" / f"month={month}"
            folder.mkdir(parents=True)
            start = (number * 2 + (month == 11)) * 128
            block = unit[start : start + 128]
            pq.write_table(pa.table({f"f{i}": block[:, i] for i in range(16)}), folder / "part-0.parquet")
    (root / "_SUCCESS").write_text("")
    source = open_data(root)
    assert source.shape == (512, 16) and source.description == "dataset/ (4 files)"
    # month=1 before month=11 in each year: the order a person reads the paths in.
    np.testing.assert_array_equal(read_all(source), unit)


def test_parts_are_row_groups_reopened_on_their_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import vaecheck.readers.table as table_module

    data = np.arange(1000 * 4, dtype=np.float64).reshape(1000, 4)
    path = tmp_path / "groups.parquet"
    pq.write_table(pa.table({f"c{i}": data[:, i] for i in range(4)}), path, row_group_size=100)
    monkeypatch.setattr(table_module, "PART_BYTES", 3 * 100 * 4 * 8)  # three row groups a part
    source = open_data(path)
    parts = source.parts()
    assert [part.rows for part in parts] == [300, 300, 300, 100]
    rebuilt = np.concatenate([read_all(pickle.loads(pickle.dumps(part))) for part in parts])
    np.testing.assert_array_equal(rebuilt, data)


def test_a_sample_reads_only_the_row_groups_it_needs(tmp_path: Path) -> None:
    """Row group 1 is damaged on disk: reading everything fails, a sample outside it does not."""
    data = np.arange(400 * 2, dtype=np.float64).reshape(400, 2)
    path = tmp_path / "damaged.parquet"
    pq.write_table(pa.table({"a": data[:, 0], "b": data[:, 1]}), path, row_group_size=100,
                   compression="zstd", use_dictionary=False)
    metadata = pq.ParquetFile(path).metadata
    column = metadata.row_group(1).column(0)
    raw = bytearray(path.read_bytes())
    start = column.data_page_offset
    raw[start + 8 : start + column.total_compressed_size] = b"\xa5" * (column.total_compressed_size - 8)
    path.write_bytes(bytes(raw))
    source = open_data(path)
    with pytest.raises(VaecheckError) as raised:
        read_all(source)
    assert raised.value.problem.startswith("cannot read the Parquet data (")
    chosen = np.array([3, 50, 250, 399])
    picked = read_all(source.take_rows(chosen))
    np.testing.assert_array_equal(picked, data[chosen])


def test_cli_checks_a_parquet_file_and_names_a_bad_column(tmp_path: Path, unit: np.ndarray, capsys) -> None:  # type: ignore[no-untyped-def]
    clean = tmp_path / "unit.parquet"
    pq.write_table(pa.table({"x": pa.FixedSizeListArray.from_arrays(pa.array(unit.reshape(-1)), 16)}), clean, row_group_size=100)
    assert main([SIGMOID_VAE, str(clean), "--sample", "200"]) == 0
    out = capsys.readouterr().out
    assert "unit.parquet" in out and "sample: 200 of 512 rows" in out
    scaled = tmp_path / "scaled.parquet"
    table = pa.table({**{f"f{i}": unit[:, i] * 255 for i in range(16)}, "id": [str(i) for i in range(512)]})
    pq.write_table(table, scaled)
    assert main([SIGMOID_VAE, str(scaled)]) == 2
    captured = capsys.readouterr()
    assert captured.err == (
        f"vaecheck: error: {scaled}: column 'id' has type string, not numbers; choose numeric "
        f"columns with --columns\n"
    )
    assert main([SIGMOID_VAE, str(scaled), "--columns", "0:16"]) == 1
    assert "VC101" in capsys.readouterr().out


def test_a_missing_pyarrow_is_the_install_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "x.parquet"
    pq.write_table(pa.table({"x": [0.5]}), path)
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # what an install without the extra sees
    assert main([SIGMOID_VAE, str(path)]) == 2
    assert capsys.readouterr().err == (
        f"vaecheck: error: {path}: Parquet and Arrow data needs the optional package pyarrow: "
        f"{install_command('parquet')}\n"
    )


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"PAR1" + b"\x00" * 64 + b"\xff\xff\xff\x7fPAR1", "not a Parquet file, or a damaged one ("),
        (b"PAR1" + b"\x17" * 300 + (250).to_bytes(4, "little") + b"PAR1", "not a Parquet file, or a damaged one ("),
        (b"ARROW1\x00\x00" + b"\x01" * 40 + b"ARROW1", "not an Arrow IPC (Feather) file, or a damaged one ("),
    ],
    ids=["footer-longer-than-file", "garbage-footer", "garbage-arrow"],
)
def test_damaged_metadata_is_one_line(tmp_path: Path, content: bytes, problem: str) -> None:
    path = tmp_path / ("bad.feather" if content.startswith(b"ARROW1") else "bad.parquet")
    path.write_bytes(content)
    with pytest.raises(VaecheckError) as raised:
        open_data(path)
    assert raised.value.problem.startswith(problem)
    assert "\n" not in str(raised.value)


def test_a_link_inside_a_dataset_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "dataset"
    root.mkdir()
    pq.write_table(pa.table({"x": [0.5]}), root / "a.parquet")
    outside = tmp_path / "outside.parquet"
    pq.write_table(pa.table({"x": [0.5]}), outside)
    (root / "b.parquet").symlink_to(outside)
    with pytest.raises(VaecheckError, match="'b.parquet' is a symbolic link: refused"):
        open_data(root)


def test_a_directory_of_tables_and_arrays_is_ambiguous(tmp_path: Path) -> None:
    pq.write_table(pa.table({"x": [0.5]}), tmp_path / "a.parquet")
    np.save(tmp_path / "b.npy", np.zeros((1, 1)))
    with pytest.raises(VaecheckError) as raised:
        open_data(tmp_path)
    assert raised.value.problem == (
        "the directory holds both table files and array files (such as 'b.npy'): name one kind, "
        "with a glob for the arrays"
    )
    assert open_data(tmp_path / "*.npy").shape == (1, 1)

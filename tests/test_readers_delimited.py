"""CSV and TSV files written by numpy and the csv module, read back in blocks."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from vaecheck.errors import VaecheckError
from vaecheck.readers.data import DataSource, open_data


def read_all(source: DataSource, max_bytes: int = 2**20) -> np.ndarray:
    whole = np.full(source.shape, -12345.0)
    covered = np.zeros(source.shape, np.int8)
    for index, block in source.chunks(max_bytes):
        whole[index] = block
        covered[index] += 1
    assert (covered == 1).all()
    return whole


def problem(path: Path, **options: object) -> str:
    with pytest.raises(VaecheckError) as caught:
        read_all(open_data(path, **options))  # type: ignore[arg-type]
    assert caught.value.path == str(path) and "\n" not in caught.value.problem
    return caught.value.problem


@pytest.fixture
def table() -> np.ndarray:
    return np.random.default_rng(0).standard_normal((1000, 5)).round(6)


def test_header_is_detected_and_names_the_columns(tmp_path: Path, table: np.ndarray) -> None:
    path = tmp_path / "data.csv"
    np.savetxt(path, table, delimiter=",", header="a,b,c,d,e", comments="", fmt="%.6f")
    source = open_data(path)
    assert source.shape == (1000, 5) and source.dtype == np.float64
    assert source.feature_names == ("a", "b", "c", "d", "e")
    np.testing.assert_array_equal(read_all(source, max_bytes=4096), table)  # many blocks


def test_no_header_means_the_first_line_is_data(tmp_path: Path, table: np.ndarray) -> None:
    path = tmp_path / "data.csv"
    np.savetxt(path, table, delimiter=",", fmt="%.6f")
    source = open_data(path)
    assert source.shape == (1000, 5) and source.feature_names is None
    np.testing.assert_array_equal(read_all(source), table)


def test_tsv_with_comments_blank_lines_crlf_and_a_bom(tmp_path: Path) -> None:
    path = tmp_path / "data.tsv"
    text = "\ufeff# made by hand\r\nx\ty\r\n1\t2\r\n\r\n   \r\n3.5\t-4e3\r\n# trailing note\r\n"
    path.write_bytes(text.encode("utf-8"))
    source = open_data(path)
    assert source.feature_names == ("x", "y")
    np.testing.assert_array_equal(read_all(source), [[1, 2], [3.5, -4000]])


def test_np_savetxt_header_comment_is_skipped(tmp_path: Path, table: np.ndarray) -> None:
    path = tmp_path / "data.csv"
    np.savetxt(path, table, delimiter=",", header="a,b,c,d,e", fmt="%.6f")  # "# a,b,..."
    source = open_data(path)
    assert source.shape == (1000, 5) and source.feature_names is None


def test_quoted_cells_from_the_csv_module(tmp_path: Path) -> None:
    path = tmp_path / "quoted.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_ALL)
        writer.writerow(["first, name", "second"])
        writer.writerow(["1.5", "2"])
        writer.writerow(["-3", "nan"])
    source = open_data(path)
    assert source.feature_names == ("first, name", "second")
    result = read_all(source)
    assert result[0].tolist() == [1.5, 2.0] and result[1, 0] == -3 and np.isnan(result[1, 1])


@pytest.mark.parametrize(
    ("columns", "expected", "names"),
    [
        ("c,a", [2, 0], ("c", "a")),
        ("0,3", [0, 3], ("a", "d")),
        ("1:", [1, 2, 3, 4], ("b", "c", "d", "e")),
        (":2", [0, 1], ("a", "b")),
        ("-1", [4], ("e",)),
        (["e", 1], [4, 1], ("e", "b")),
    ],
)
def test_columns_by_name_index_and_range(
    tmp_path: Path, table: np.ndarray, columns: object, expected: list[int], names: tuple
) -> None:
    path = tmp_path / "data.csv"
    np.savetxt(path, table, delimiter=",", header="a,b,c,d,e", comments="", fmt="%.6f")
    source = open_data(path, columns=columns)  # type: ignore[arg-type]
    assert source.shape == (1000, len(expected)) and source.feature_names == names
    np.testing.assert_array_equal(read_all(source), table[:, expected])


@pytest.mark.parametrize(
    ("header", "columns", "message"),
    [
        (True, "a,zz", "--columns: no column 'zz'; the columns are 'a', 'b', 'c', 'd', 'e'"),
        (False, "a", "--columns: the file has no header row to find 'a' in"),
        (True, "7", "--columns: column 7 does not exist; the file has 5 columns (0 to 4)"),
        (True, "a,0", "--columns selects column 0 twice"),
        (True, "x:y", "--columns: 'x:y' is not a range like 2:10"),
        (True, "9:", "selects no column"),
    ],
)
def test_column_selection_errors(
    tmp_path: Path, table: np.ndarray, header: bool, columns: str, message: str
) -> None:
    path = tmp_path / "data.csv"
    np.savetxt(path, table, delimiter=",", header="a,b,c,d,e" if header else "", comments="")
    assert message in problem(path, columns=columns)


def test_non_numeric_cell_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    lines = ["id,height,weight"] + [f"{i},{170 + i},{60 + i}" for i in range(2000)]
    lines[1500] = "1499,tall,70"
    path.write_text("\n".join(lines) + "\n")
    assert problem(path) == "line 1501, column 1 'height': 'tall' is not a number"


def test_non_numeric_cell_in_an_unselected_column_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text("name,x\nalpha,1\nbeta,2\n")
    assert read_all(open_data(path, columns="x")).ravel().tolist() == [1.0, 2.0]
    assert problem(path) == "line 2, column 0 'name': 'alpha' is not a number"


def test_ragged_line_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("1,2,3\n4,5,6\n7,8\n")
    assert problem(path) == "line 3 has 2 cells where the first line has 3"


def test_empty_cells_are_missing_values(tmp_path: Path) -> None:
    path = tmp_path / "missing.csv"
    path.write_text("a,b\n1,\n,4\n5,6\n")
    result = read_all(open_data(path))
    assert np.isnan(result).sum() == 2 and result[2].tolist() == [5.0, 6.0]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"\n\n# only a comment\n", "the file holds no rows of data"),
        (b"a,b,c\n", "the file holds a header and no rows of data"),
        (b"a,b\n1,2\n\xff\xfe,3\n", "line 3 is not UTF-8 text"),
        (b"a,b\n1,1_000\n", "line 2, column 1 'b': '1_000' is not a number"),
    ],
)
def test_unusable_csv(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(content)
    assert problem(path).startswith(message)


def test_key_is_not_for_csv(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text("1,2\n")
    assert problem(path, key="x") == "--key does not apply to .csv files: use --columns"


def test_sample_parses_only_the_chosen_rows(tmp_path: Path) -> None:
    # Row i holds i; a non-numeric cell in a row that is not drawn is never parsed.
    path = tmp_path / "rows.csv"
    lines = ["row,double"] + [f"{i},{2 * i}" for i in range(5000)]
    path.write_text("\n".join(lines) + "\n")
    sample = open_data(path).sample(40, seed=2)
    rows = read_all(sample)
    drawn = rows[:, 0].astype(int)
    assert sample.shape == (40, 2) and sample.sampled_from == 5000
    assert np.all(np.diff(drawn) > 0) and np.array_equal(rows[:, 1], 2 * rows[:, 0])
    untouched = sorted(set(range(5000)) - set(drawn.tolist()))[0]
    lines[untouched + 1] = f"{untouched},oops"
    path.write_text("\n".join(lines) + "\n")
    again = open_data(path).sample(40, seed=2)
    np.testing.assert_array_equal(read_all(again), rows)


def test_a_line_without_end_is_refused_not_read_whole(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import vaecheck.readers.delimited as delimited

    monkeypatch.setattr(delimited, "MAX_LINE_CHARACTERS", 1000)
    path = tmp_path / "one_line.csv"
    path.write_text(",".join(["1.5"] * 2000))
    assert problem(path) == "line 1 is longer than 1,000 characters"


def test_a_quoted_cell_beyond_the_csv_limit_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    path.write_text('a,b\n1,"' + "9" * 200_000 + '"\n')
    assert problem(path).startswith("line 2: field larger than field limit")

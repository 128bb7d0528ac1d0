"""Zarr stores, format 2 and 3, directory and zip: real stores written by zarr, read back."""

from __future__ import annotations

import json
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest

zarr = pytest.importorskip("zarr", reason="zarr 3 needs Python 3.11")

from vaecheck.cli import main  # noqa: E402
from vaecheck.extras import install_command
from vaecheck.errors import VaecheckError  # noqa: E402
from vaecheck.readers.data import DataSource, MissingChunks, open_data  # noqa: E402

SAMPLES = Path(__file__).resolve().parent.parent / "sample_models"
SIGMOID_VAE = str(SAMPLES / "sigmoid_vae.keras")


def read_all(source: DataSource, max_bytes: int = 2**20) -> np.ndarray:
    pieces = []
    covered = 0
    for index, block in source.chunks(max_bytes):
        assert index[0].start == covered
        covered = index[0].stop
        pieces.append(block)
    assert covered == source.rows
    return np.concatenate(pieces)


@pytest.fixture(scope="module")
def unit() -> np.ndarray:
    return np.load(SAMPLES / "unit.npy")  # 512 x 16 float32 in (0, 1)


@pytest.mark.parametrize("zarr_format", [2, 3])
@pytest.mark.parametrize("zipped", [False, True], ids=["directory", "zip"])
def test_an_array_in_a_group_reads_chunk_row_by_chunk_row(
    tmp_path: Path, unit: np.ndarray, zarr_format: int, zipped: bool
) -> None:
    location = tmp_path / ("data.zarr.zip" if zipped else "data.zarr")
    store = zarr.storage.ZipStore(location, mode="w") if zipped else zarr.storage.LocalStore(location)
    group = zarr.open_group(store, mode="w", zarr_format=zarr_format)
    array = group.create_array("train/x", shape=unit.shape, chunks=(50, 8), dtype="f4")
    array[:] = unit
    group.create_array("train/y", shape=(512,), chunks=(100,), dtype="i8")[:] = 1
    store.close()
    for source in (open_data(f"{location}:/train/x"), open_data(location, key="/train/x")):
        assert (source.shape, source.dtype, source.missing_chunks) == ((512, 16), np.float32, None)
        assert source.description == f"{location.name}:/train/x"
        # 100 bytes a row: blocks of 3 rows would cut chunks; they hold whole chunk rows.
        spans = [(index[0].start, index[0].stop) for index, _ in source.chunks(300)]
        assert spans[:2] == [(0, 50), (50, 100)] and spans[-1] == (500, 512)
        np.testing.assert_array_equal(read_all(source), unit)
    with pytest.raises(VaecheckError) as raised:
        open_data(location)
    assert raised.value.problem == (
        "the store holds 2 arrays (train/x, train/y); name one as STORE:/path or with --key"
    )


def test_missing_chunks_read_as_fill_value_and_are_counted(tmp_path: Path) -> None:
    location = tmp_path / "sparse.zarr"
    array = zarr.create_array(location, shape=(100, 4), chunks=(10, 4), dtype="f8",
                              fill_value=np.nan, zarr_format=3)
    array[:30] = 0.25
    source = open_data(location)
    assert source.missing_chunks is not None
    assert source.missing_chunks.missing == 7 and source.missing_chunks.chunks == 10
    assert np.isnan(source.missing_chunks.fill_value)
    values = read_all(source)
    assert np.all(values[:30] == 0.25) and np.isnan(values[30:]).all()
    assert source.sample(5, 3).missing_chunks == source.missing_chunks


def test_parts_and_samples_read_the_chunks_they_cover(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import vaecheck.readers.zarr as zarr_module

    data = np.arange(1000 * 3, dtype=np.int32).reshape(1000, 3)
    location = tmp_path / "rows.zarr"
    zarr.create_array(location, shape=data.shape, chunks=(64, 3), dtype="i4", zarr_format=2)[:] = data
    monkeypatch.setattr(zarr_module, "PART_BYTES", 200 * 12)  # three chunk rows a part
    source = open_data(location)
    parts = source.parts()
    assert [part.rows for part in parts] == [192] * 5 + [40]
    rebuilt = np.concatenate([read_all(pickle.loads(pickle.dumps(part))) for part in parts])
    np.testing.assert_array_equal(rebuilt, data)
    chosen = np.array([0, 63, 64, 700, 999])
    np.testing.assert_array_equal(read_all(source.take_rows(chosen)), data[chosen])
    # A part's rows are its own: a sample of the last part picks from rows 960..999.
    np.testing.assert_array_equal(read_all(parts[-1].take_rows(np.array([0, 39]))), data[[960, 999]])


def test_report_counts_missing_chunks_in_text_and_json(tmp_path: Path, unit: np.ndarray, capsys) -> None:  # type: ignore[no-untyped-def]
    location = tmp_path / "half.zarr"
    array = zarr.create_array(location, shape=unit.shape, chunks=(64, 16), dtype="f4", fill_value=0.5)
    array[:256] = unit[:256]
    assert main([SIGMOID_VAE, str(location)]) == 0
    assert "missing chunks: 4 of 8 are not in the store and read as the fill value 0.5" in capsys.readouterr().out
    assert main([SIGMOID_VAE, str(location), "--format", "json"]) == 0
    summary = json.loads(capsys.readouterr().out)["data_summary"]
    assert summary["missing_chunks"] == {"count": 4, "of_chunks": 8, "fill_value": 0.5}
    assert summary["min"] == pytest.approx(float(unit[:256].min()))


def test_a_link_in_the_store_is_refused_before_reading(tmp_path: Path) -> None:
    """A chunk that is a symbolic link would read whatever file it points at."""
    location = tmp_path / "linked.zarr"
    zarr.create_array(location, shape=(4,), chunks=(2,), dtype="u1", zarr_format=2)[:] = 1
    secret = tmp_path / "secret"
    secret.write_bytes(b"\x07\x07")
    (location / "1").unlink()
    (location / "1").symlink_to(secret)
    with pytest.raises(VaecheckError) as raised:
        open_data(location)
    assert raised.value.problem == (
        "'1' in the store is a symbolic link: refused, a chunk that is a link reads a file outside the store"
    )


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda meta: meta.update(dimension_separator="/../../"), "not a Zarr store, or a damaged one (Expected an '.' or '/' separator"),
        (lambda meta: meta.update(dtype="|O"), "not a Zarr store, or a damaged one ("),
        (lambda meta: meta.update(chunks=[2**20, 2**20]), "more than the 268,435,456 vaecheck decompresses at once"),
        (lambda meta: meta.update(shape=[2**40, 4]), "refusing a likely shape bomb"),
    ],
    ids=["separator-traversal", "object-dtype", "huge-chunks", "shape-bomb"],
)
def test_hostile_metadata_is_one_line(tmp_path: Path, edit, problem: str) -> None:  # type: ignore[no-untyped-def]
    location = tmp_path / "hostile.zarr"
    zarr.create_array(location, shape=(10, 4), chunks=(5, 4), dtype="f4", zarr_format=2)[:] = 1
    meta = json.loads((location / ".zarray").read_text())
    edit(meta)
    (location / ".zarray").write_text(json.dumps(meta))
    with pytest.raises(VaecheckError) as raised:
        read_all(open_data(location))
    assert problem in raised.value.problem
    assert raised.value.path == str(location)


def test_an_array_path_climbing_out_of_the_store_is_refused(tmp_path: Path) -> None:
    location = tmp_path / "store.zarr"
    zarr.open_group(location, mode="w").create_array("x", shape=(2,), dtype="f4")[:] = 0
    with pytest.raises(VaecheckError, match="holds '.' or '..': name it from the store's root"):
        open_data(location, key="x/../../elsewhere")


def test_a_missing_zarr_is_the_install_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    location = tmp_path / "x.zarr"
    zarr.create_array(location, shape=(2,), dtype="f4")[:] = 0
    monkeypatch.setitem(sys.modules, "zarr", None)
    with pytest.raises(VaecheckError) as raised:
        open_data(location)
    assert raised.value.problem == "Zarr data needs the optional package zarr: " + install_command("zarr")


def test_no_new_source_imports_a_framework(tmp_path: Path, unit: np.ndarray) -> None:
    import subprocess

    import pyarrow as pa
    import pyarrow.parquet as pq

    zarr.create_array(tmp_path / "unit.zarr", shape=unit.shape, chunks=(64, 16), dtype="f4")[:] = unit
    pq.write_table(pa.table({f"f{i}": unit[:, i] for i in range(16)}), tmp_path / "unit.parquet")
    targets = [[SIGMOID_VAE, str(tmp_path / "unit.zarr")], [SIGMOID_VAE, str(tmp_path / "unit.parquet"), "--sample", "100"]]
    # pandas is left out: pyarrow.dataset imports it whenever it is installed.
    script = (
        "import sys\n"
        "from vaecheck.cli import main\n"
        f"codes = [main(args + ['--format', 'json']) for args in {targets!r}]\n"
        "assert codes == [0, 0], codes\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in "
        "('tensorflow', 'keras', 'tf_keras', 'torch', 'jax')]\n"
        "print('LOADED', loaded)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "LOADED []" in result.stdout

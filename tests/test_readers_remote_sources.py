"""Parquet, Zarr and TFRecord data in S3: a real moto server on 127.0.0.1, reached through s3fs."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("zarr", reason="zarr 3 needs Python 3.11")

from vaecheck.cli import main  # noqa: E402
from vaecheck.errors import VaecheckError  # noqa: E402
from vaecheck.readers.data import DataSource, open_data  # noqa: E402

SAMPLES = Path(__file__).resolve().parent.parent / "sample_models"
SIGMOID_VAE = str(SAMPLES / "sigmoid_vae.keras")
# Its own bucket: moto keeps one in-memory store per process, whichever server serves it.
BUCKET = "vaecheck-sources"


def read_all(source: DataSource) -> np.ndarray:
    return np.concatenate([block for _, block in source.chunks(2**16)])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A moto S3 server for this module, with a bucket of a Parquet file, a hive dataset, a
    Zarr store and a TFRecord file, all holding the sample's 512 x 16 values in (0, 1)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    import s3fs
    import zarr
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    patch = pytest.MonkeyPatch()
    endpoint = f"http://127.0.0.1:{port}"
    for name, value in {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing-key-id",
        "AWS_SECRET_ACCESS_KEY": "testing-secret-never-printed",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        patch.setenv(name, value)
    try:
        unit = np.load(SAMPLES / "unit.npy")
        local = tmp_path_factory.mktemp("s3-upload")
        table = pa.table({f"f{i}": unit[:, i] for i in range(16)})
        pq.write_table(table, local / "unit.parquet", row_group_size=100)
        zarr.create_array(local / "unit.zarr", shape=unit.shape, chunks=(64, 16), dtype="f4",
                          fill_value=0.5)[:384] = unit[:384]
        (local / "dataset" / "split=a").mkdir(parents=True)
        (local / "dataset" / "split=b").mkdir(parents=True)
        pq.write_table(table.slice(0, 200), local / "dataset" / "split=a" / "part-0.parquet")
        pq.write_table(table.slice(200), local / "dataset" / "split=b" / "part-0.parquet")
        filesystem = s3fs.S3FileSystem(client_kwargs={"endpoint_url": endpoint})
        filesystem.mkdir(BUCKET)
        filesystem.put(str(local / "unit.parquet"), f"{BUCKET}/unit.parquet")
        filesystem.put(str(local / "unit.zarr"), f"{BUCKET}/unit.zarr", recursive=True)
        filesystem.put(str(local / "dataset"), f"{BUCKET}/dataset", recursive=True)
        s3fs.S3FileSystem.clear_instance_cache()
        yield {"unit": unit, "endpoint": endpoint}
    finally:
        patch.undo()
        server.stop()


def test_a_parquet_object_and_a_hive_prefix_read_by_url(s3: dict[str, Any]) -> None:
    source = open_data(f"s3://{BUCKET}/unit.parquet")
    assert (source.shape, source.description) == ((512, 16), "unit.parquet")
    np.testing.assert_array_equal(read_all(source), s3["unit"])
    chosen = np.array([1, 150, 511])
    np.testing.assert_array_equal(read_all(source.take_rows(chosen)), s3["unit"][chosen])
    dataset = open_data(f"s3://{BUCKET}/dataset/")
    assert (dataset.shape, dataset.description) == ((512, 16), "dataset/ (2 files)")
    np.testing.assert_array_equal(read_all(dataset), s3["unit"])


def test_a_zarr_store_by_url_counts_its_missing_chunks(s3: dict[str, Any], capsys) -> None:  # type: ignore[no-untyped-def]
    source = open_data(f"s3://{BUCKET}/unit.zarr")
    assert source.missing_chunks is not None and (source.missing_chunks.missing, source.missing_chunks.chunks) == (2, 8)
    values = read_all(source)
    np.testing.assert_array_equal(values[:384], s3["unit"][:384])
    assert np.all(values[384:] == 0.5)
    assert main([SIGMOID_VAE, f"s3://{BUCKET}/unit.zarr", "--sample", "100"]) == 0
    out = capsys.readouterr().out
    assert "missing chunks: 2 of 8" in out and "sample: 100 of 512 rows" in out


def test_a_missing_object_or_bucket_is_one_line_without_secrets(s3: dict[str, Any], capsys) -> None:  # type: ignore[no-untyped-def]
    for url in (f"s3://{BUCKET}/absent.parquet", f"s3://no-such-bucket/x.parquet", f"s3://{BUCKET}/absent.zarr"):
        assert main([SIGMOID_VAE, url]) == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        assert captured.err == (
            f"vaecheck: error: {url}: no such object in the storage (or no access to list it)\n"
        )
        assert "testing-secret-never-printed" not in captured.err and "Traceback" not in captured.err


def test_a_refusing_endpoint_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    import s3fs

    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")  # nothing listens
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "k")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    s3fs.S3FileSystem.clear_instance_cache()
    try:
        with pytest.raises(VaecheckError) as raised:
            open_data(f"s3://{BUCKET}/unit.parquet")
    finally:
        s3fs.S3FileSystem.clear_instance_cache()
    assert raised.value.path == f"s3://{BUCKET}/unit.parquet"
    assert raised.value.problem == "cannot reach the storage endpoint (refused, unreachable or not answering)"
    assert "\n" not in str(raised.value)


def test_a_tfrecord_and_a_feather_file_by_url(s3: dict[str, Any], tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.feather as feather
    import s3fs
    import tensorflow as tf

    unit = s3["unit"]
    with tf.io.TFRecordWriter(str(tmp_path / "unit.tfrecord.gz"), options="GZIP") as writer:
        for row in unit:
            feature = {"x": tf.train.Feature(float_list=tf.train.FloatList(value=row))}
            writer.write(tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString())
    feather.write_feather(pa.table({f"f{i}": unit[:, i] for i in range(16)}), tmp_path / "unit.feather")
    filesystem = s3fs.S3FileSystem(client_kwargs={"endpoint_url": s3["endpoint"]})
    filesystem.put(str(tmp_path / "unit.tfrecord.gz"), f"{BUCKET}/unit.tfrecord.gz")
    filesystem.put(str(tmp_path / "unit.feather"), f"{BUCKET}/unit.feather")
    np.testing.assert_array_equal(read_all(open_data(f"s3://{BUCKET}/unit.tfrecord.gz")), unit)
    np.testing.assert_array_equal(read_all(open_data(f"s3://{BUCKET}/unit.feather")), unit)

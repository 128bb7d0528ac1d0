"""The data statistics on a real Dask LocalCluster (2 worker processes) equal the local run's.

Reports are compared as JSON, field by field: counts, extremes, non-finite and edge counts
exactly; the mean and standard deviation (and what is computed from them) within
cluster.MOMENT_TOLERANCE. The data here is small enough for the quantile sketch to see every
value, so the robust extremes are exact too.
"""

from __future__ import annotations

import json
import math
import logging
import os
import re
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

distributed = pytest.importorskip("distributed")
import dask.array as da  # noqa: E402

from vaecheck.api import check  # noqa: E402
from vaecheck.cli import main  # noqa: E402
from vaecheck.cluster import (  # noqa: E402
    MOMENT_TOLERANCE,
    DaskOptions,
    measure_on_dask,
    partitions_of,
)
from vaecheck.errors import VaecheckError  # noqa: E402
from vaecheck.formats.json import report_dict  # noqa: E402
from vaecheck.readers.data import open_data  # noqa: E402
from vaecheck.stats import StatsPlan, measure_source  # noqa: E402

SAMPLES = Path(__file__).resolve().parent.parent / "sample_models"
RELU_VAE = str(SAMPLES / "relu_vae.keras")
SIGMOID_VAE = str(SAMPLES / "sigmoid_vae.keras")
# Values that come from the moments: compared within the tolerance, everything else exactly.
MOMENT_FIELDS = {"mean", "std", "scale", "offset", "inverse_scale", "inverse_offset"}
SMALL_PARTITIONS = 16 * 1024  # bytes: many partitions out of small files


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    with distributed.LocalCluster(
        n_workers=2,
        processes=True,
        threads_per_worker=1,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
        silence_logs=logging.CRITICAL,  # the partitions that fail on purpose
    ) as local_cluster:
        with distributed.Client(local_cluster) as client:
            yield client


def awkward_data(rows: int, seed: int) -> np.ndarray:
    """16 features around 0 (relu cannot produce the negatives), with NaN, inf and values on 0."""
    generator = np.random.default_rng(seed)
    data = generator.normal(0.5, 2.0, (rows, 16)).astype(np.float32)
    data[generator.integers(0, rows, 7), generator.integers(0, 16, 7)] = np.nan
    data[3, 2] = np.inf
    data[rows - 2, 5] = -np.inf
    data[10:20, 0] = 0.0
    return data


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cluster-data")
    whole = awkward_data(3000, 1)
    np.save(root / "data.npy", whole)
    shards = root / "shards"
    shards.mkdir()
    for number, start in enumerate(range(0, 3000, 700)):
        np.save(shards / f"part-{number}.npy", whole[start : start + 700])
    with h5py.File(root / "data.h5", "w") as handle:
        handle.create_dataset("x", data=whole, chunks=(128, 16))
    csv = root / "tables"
    csv.mkdir()
    for number in range(3):
        np.savetxt(csv / f"t{number}.csv", whole[number * 100 : (number + 1) * 100], delimiter=",")
    return {"npy": root / "data.npy", "shards": shards, "h5": root / "data.h5", "csv": csv}


def assert_same_report(local: Any, remote: Any, path: str = "") -> None:
    """Field by field: exact, but for values computed from the moments."""
    if isinstance(local, dict):
        assert isinstance(remote, dict) and local.keys() == remote.keys(), path
        for key in local:
            assert_same_report(local[key], remote[key], f"{path}.{key}")
    elif isinstance(local, list):
        assert isinstance(remote, list) and len(local) == len(remote), path
        for index, (a, b) in enumerate(zip(local, remote)):
            assert_same_report(a, b, f"{path}[{index}]")
    elif isinstance(local, float) and path.rsplit(".", 1)[-1].split("[")[0] in MOMENT_FIELDS:
        assert math.isclose(local, remote, rel_tol=MOMENT_TOLERANCE, abs_tol=MOMENT_TOLERANCE), path
    else:
        assert local == remote, f"{path}: {local!r} != {remote!r}"


def report_json(model: str, data: Any, **options: Any) -> dict[str, Any]:
    return json.loads(json.dumps(report_dict(check(model, data, **options))))


def test_row_ranges_of_npy_and_hdf5_equal_the_local_report(cluster: Any, files: dict[str, Path]) -> None:
    for name in ("npy", "h5"):
        options = DaskOptions(cluster, partition_bytes=SMALL_PARTITIONS)
        source = open_data(files[name], key="x" if name == "h5" else None)
        partitions = partitions_of(source, SMALL_PARTITIONS)
        assert len(partitions) > 8  # really split: rows ranges, each read by a worker
        assert all(p.rows is not None for p in partitions)
        if name == "h5":  # whole chunks of 128 rows
            assert all(p.rows[0] % 128 == 0 for p in partitions)
        local = report_json(RELU_VAE, str(files[name]), key="x" if name == "h5" else None)
        remote = report_json(RELU_VAE, str(files[name]), key="x" if name == "h5" else None, dask=options)
        assert local["data_summary"]["nonfinite"] == 9
        assert local["outputs"][0]["data"]["count_below"] > 0
        assert_same_report(local, remote)


def test_a_row_range_reads_the_same_rows_as_take_rows(files: dict[str, Path], tmp_path: Path) -> None:
    np.save(tmp_path / "fortran.npy", np.asfortranarray(awkward_data(300, 7)))
    for path, key in ((files["npy"], None), (files["h5"], "x"), (tmp_path / "fortran.npy", None)):
        source = open_data(path, key=key)
        ranged = source.row_range(130, 290)
        assert ranged.shape == (160, 16)
        axis = -1 if source.fortran_order else 0  # blocks of whole columns, or of whole rows
        read = np.concatenate([block for _, block in ranged.chunks(4096)], axis)
        taken = np.concatenate([b for _, b in source.take_rows(np.arange(130, 290)).chunks(4096)], axis)
        np.testing.assert_array_equal(read, taken)
        if not source.fortran_order:  # indexed from the range's first row
            rows = [index[0] for index, _ in ranged.chunks(4096)]
            assert rows[0].start == 0 and rows[-1].stop == 160


def test_the_moments_differ_by_reordering_only(cluster: Any, files: dict[str, Path]) -> None:
    source = open_data(files["npy"])
    plan = StatsPlan(source.shape, source.dtype)
    local = measure_source(source, workers=1)
    remote = measure_on_dask(source, plan, DaskOptions(cluster, partition_bytes=SMALL_PARTITIONS))
    assert (local.count, local.nan, local.posinf, local.neginf) == (remote.count, remote.nan, remote.posinf, remote.neginf)
    assert (local.min, local.max) == (remote.min, remote.max)
    assert local.mean is not None and remote.mean is not None
    assert math.isclose(local.mean, remote.mean, rel_tol=MOMENT_TOLERANCE)
    assert local.features is not None and remote.features is not None
    np.testing.assert_array_equal(local.features.min, remote.features.min)
    np.testing.assert_array_equal(local.features.finite, remote.features.finite)
    np.testing.assert_allclose(local.features.std, remote.features.std, rtol=MOMENT_TOLERANCE)


def test_past_the_sketch_size_quantiles_are_within_the_stated_error(cluster: Any, tmp_path: Path) -> None:
    data = np.random.default_rng(6).standard_normal((40_000, 64)).astype(np.float32)  # 2.56M values
    np.save(tmp_path / "wide.npy", data)
    source = open_data(tmp_path / "wide.npy")
    plan = StatsPlan(source.shape, source.dtype)
    local = measure_source(source, seed=0)
    remote = measure_on_dask(source, plan, DaskOptions(cluster, partition_bytes=2**20))
    assert remote.quantiles is not None and not remote.quantiles.exact_counts
    assert local.quantiles is not None and remote.quantiles.rank_error > 0
    ordered = np.sort(data, axis=None)
    for stats in (local, remote):
        for value, q in ((stats.robust_low, 0.001), (stats.robust_high, 0.999)):
            # within the rank error, and the sketch's relative error on the value
            slack = stats.quantiles.rank_error / 100  # percentile points
            low = ordered[max(0, int((q - slack) * ordered.size) - 1)]
            high = ordered[min(ordered.size - 1, int((q + slack) * ordered.size) + 1)]
            relative = stats.quantiles.relative_error
            assert low - abs(low) * relative <= value <= high + abs(high) * relative, (q, value)


def cli_json(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any], str]:
    code = main([*args, "--format", "json"])
    captured = capsys.readouterr()
    return code, json.loads(captured.out), captured.err


def test_cli_shards_on_the_cluster_equal_the_local_run(
    cluster: Any, files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    address = cluster.scheduler.address
    for model, data, extra in (
        (RELU_VAE, files["shards"], []),
        (SIGMOID_VAE, files["shards"], ["--sample", "1000", "--seed", "3"]),
    ):
        local_code, local, _ = cli_json([model, str(data), *extra], capsys)
        code, remote, err = cli_json([model, str(data), *extra, "--dask", address], capsys)
        assert (code, err) == (local_code, "")
        assert_same_report(local, remote)
    assert local["data_summary"]["sample"]["rows"] == 1000


def test_csv_files_are_partitions(cluster: Any, files: dict[str, Path]) -> None:
    source = open_data(files["csv"])
    assert len(partitions_of(source)) == 3
    local = report_json(SIGMOID_VAE, str(files["csv"]))
    remote = report_json(SIGMOID_VAE, str(files["csv"]), dask=DaskOptions(cluster))
    assert_same_report(local, remote)


def test_parquet_row_groups_and_zarr_chunk_rows_are_partitions(
    cluster: Any, files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq
    import zarr

    from vaecheck.readers import table as table_reader
    from vaecheck.readers import zarr as zarr_reader

    data = np.load(files["npy"])
    columns = {f"f{i}": data[:, i] for i in range(16)}
    (tmp_path / "parquet").mkdir()
    pq.write_table(pa.table(columns), tmp_path / "parquet" / "a.parquet", row_group_size=400)
    pq.write_table(pa.table({k: v[:500] for k, v in columns.items()}), tmp_path / "parquet" / "b.parquet")
    zarr.create_array(tmp_path / "x.zarr", shape=data.shape, chunks=(128, 16), dtype="f4")[:] = data
    # The readers' parts are what a cluster measures: small ones, to have many of them.
    monkeypatch.setattr(table_reader, "PART_BYTES", 1)
    monkeypatch.setattr(zarr_reader, "PART_BYTES", 128 * 16 * 4 * 3)
    for path, parts in ((tmp_path / "parquet", 8 + 1), (tmp_path / "x.zarr", 8)):
        partitions = partitions_of(open_data(path))
        assert len(partitions) == parts
        local = report_json(RELU_VAE, str(path))
        remote = report_json(RELU_VAE, str(path), dask=DaskOptions(cluster))
        assert local["outputs"][0]["data"]["count_below"] > 0
        assert_same_report(local, remote)


def write_tfrecord(path: Path, rows: np.ndarray) -> None:
    """tf.train.Example records of feature "x", framed as TFRecord (length, data, masked CRCs)."""
    import struct

    from vaecheck.readers.tfrecord import _example_class, _masked_crc

    example_class = _example_class()
    with open(path, "wb") as stream:
        for row in rows:
            example = example_class()
            example.features.feature["x"].float_list.value.extend(row.tolist())
            data = example.SerializeToString()
            length = struct.pack("<Q", len(data))
            stream.write(length + struct.pack("<I", _masked_crc(length)))
            stream.write(data + struct.pack("<I", _masked_crc(data)))


def test_tfrecord_files_are_partitions(cluster: Any, tmp_path: Path) -> None:
    data = awkward_data(600, 9)
    for number in range(3):
        write_tfrecord(tmp_path / f"part-{number}.tfrecord", data[number * 200 : (number + 1) * 200])
    assert len(partitions_of(open_data(tmp_path, key="x"))) == 3
    local = report_json(RELU_VAE, str(tmp_path), key="x")
    remote = report_json(RELU_VAE, str(tmp_path), key="x", dask=DaskOptions(cluster))
    assert local["data_summary"]["shape"] == [600, 16] and local["data_summary"]["nonfinite"] > 0
    assert_same_report(local, remote)


def test_image_folders_and_rescaled_data_split_as_locally(
    cluster: Any, files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PIL import Image

    from vaecheck.readers import images as images_reader

    generator = np.random.default_rng(10)
    for number in range(12):
        pixels = generator.integers(0, 256, (16, 16), dtype=np.uint8)
        Image.fromarray(pixels).save(tmp_path / f"image-{number:02d}.png")
    monkeypatch.setattr(images_reader, "IMAGES_PER_PART", 4)
    assert len(partitions_of(images_reader.open_images(str(tmp_path), color_mode="grayscale"))) == 3
    tanh = str(SAMPLES / "tanh_generator.keras")
    local = report_json(tanh, str(tmp_path), rescaling="1/255")
    remote = report_json(tanh, str(tmp_path), rescaling="1/255", dask=DaskOptions(cluster))
    assert local["data_summary"]["shape"] == [12, 16, 16, 1]
    assert_same_report(local, remote)
    source = open_data(files["npy"])
    from vaecheck.readers.rescaling import Rescaling, rescaled

    assert len(partitions_of(rescaled(source, Rescaling(2.0)), SMALL_PARTITIONS)) > 8
    local = report_json(RELU_VAE, str(files["npy"]), rescaling="2,1")
    remote = report_json(
        RELU_VAE, str(files["npy"]), rescaling="2,1", dask=DaskOptions(cluster, partition_bytes=SMALL_PARTITIONS)
    )
    assert_same_report(local, remote)


def test_a_dask_array_is_measured_where_its_blocks_are(cluster: Any, files: dict[str, Path]) -> None:
    data = np.load(files["npy"])
    local = report_json(RELU_VAE, data)
    with distributed.Client(cluster.scheduler.address):  # the current client
        remote = report_json(RELU_VAE, da.from_array(data, chunks=(250, 8)))
    assert remote["data_summary"]["description"] == "dask array (12 partitions)"
    local["data_summary"]["description"] = remote["data_summary"]["description"]
    local["data"] = remote["data"]
    assert_same_report(local, remote)


def test_a_dask_dataframe_is_measured_where_its_partitions_are(
    cluster: Any, files: dict[str, Path], tmp_path: Path
) -> None:
    import dask.dataframe as dd
    import pandas as pd

    names = [f"c{i}" for i in range(16)]
    values = np.load(files["npy"]).astype(np.float64)
    np.savetxt(tmp_path / "named.csv", values, fmt="%.17g", delimiter=",", header=",".join(names), comments="")
    frame = dd.from_pandas(pd.DataFrame(values, columns=names), npartitions=5)
    local = report_json(RELU_VAE, str(tmp_path / "named.csv"))  # the same values and names
    with distributed.Client(cluster.scheduler.address):
        remote = report_json(RELU_VAE, frame)
    assert remote["data_summary"]["description"] == "dask dataframe (5 partitions)"
    assert remote["outputs"][0]["data"]["worst_features"][0]["name"].startswith("c")
    local["data_summary"]["description"] = remote["data_summary"]["description"]
    local["data"] = remote["data"]
    assert_same_report(local, remote)


def test_a_killed_worker_is_replaced_and_the_result_is_still_exact(
    cluster: Any, tmp_path: Path
) -> None:
    data = awkward_data(120_000, 2)  # 7.7 MB in 480 partitions of 16 KiB
    path = tmp_path / "big.npy"
    np.save(path, data)
    local = report_json(RELU_VAE, str(path))
    pids = cluster.run(os.getpid)
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["report"] = report_json(
                RELU_VAE, str(path), dask=DaskOptions(cluster, partition_bytes=SMALL_PARTITIONS)
            )
        except BaseException as error:  # noqa: BLE001 - handed to the test thread
            outcome["error"] = error

    runner = threading.Thread(target=run)
    runner.start()
    victim = None
    deadline = time.monotonic() + 30
    while victim is None and time.monotonic() < deadline:
        for worker, keys in cluster.processing().items():
            if any("vaecheck-partition" in str(key) for key in keys):
                victim = worker
                break
        time.sleep(0.01)
    assert victim is not None, "no partition was ever seen running"
    os.kill(pids[victim], signal.SIGKILL)
    assert runner.is_alive()  # killed mid-run
    runner.join(120)
    assert "error" not in outcome, outcome.get("error")
    assert_same_report(local, outcome["report"])
    cluster.wait_for_workers(2, timeout=60)
    assert pids[victim] not in cluster.run(os.getpid).values()


def test_a_partition_that_cannot_be_read_is_named(cluster: Any, tmp_path: Path) -> None:
    np.save(tmp_path / "a.npy", awkward_data(200, 3))
    np.save(tmp_path / "b.npy", awkward_data(200, 4))
    source = open_data(tmp_path)
    np.save(tmp_path / "b.npy", awkward_data(100, 4))  # changed after the client opened it
    with pytest.raises(VaecheckError) as caught:
        measure_on_dask(source, StatsPlan(source.shape, source.dtype), DaskOptions(cluster))
    message = str(caught.value)
    assert "b.npy" in message and "changed" in message and "Dask worker" in message
    assert "\n" not in message


def test_a_truncated_file_names_the_rows_a_worker_could_not_read(cluster: Any, tmp_path: Path) -> None:
    path = tmp_path / "data.npy"
    np.save(path, awkward_data(3000, 5))
    source = open_data(path)
    with open(path, "r+b") as stream:
        stream.truncate(os.path.getsize(path) - 100)
    with pytest.raises(VaecheckError) as caught:
        measure_on_dask(
            source, StatsPlan(source.shape, source.dtype), DaskOptions(cluster, partition_bytes=SMALL_PARTITIONS)
        )
    message = str(caught.value)
    assert re.fullmatch(
        rf"{re.escape(str(path))} rows \d+-\d+: the file is truncated: .* \(a partition read by a Dask worker\)",
        message,
    ), message


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_unreachable_scheduler_is_one_line_within_the_timeout(
    capsys: pytest.CaptureFixture[str],
) -> None:
    started = time.monotonic()
    address = f"tcp://127.0.0.1:{free_port()}"
    code = main([RELU_VAE, str(SAMPLES / "standardized.npy"), "--dask", address, "--dask-timeout", "1"])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert captured.err == (
        f"vaecheck: error: cannot reach the Dask scheduler at {address} within 1 s (--dask-timeout): "
        + captured.err.rsplit(": ", 1)[-1]
    )
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert time.monotonic() - started < 8


def test_dask_without_the_extra_names_the_install_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # what an install without it finds
    code = main([RELU_VAE, str(SAMPLES / "standardized.npy"), "--dask", "local:1"])
    err = capsys.readouterr().err
    assert code == 2
    assert "--dask needs vaecheck's optional 'dask' dependencies" in err
    assert "pip install" in err and "[dask]" in err


def test_data_held_here_is_refused(cluster: Any) -> None:
    with pytest.raises(VaecheckError, match="cannot be read by Dask workers"):
        check(RELU_VAE, np.zeros((4, 16), np.float32), dask=DaskOptions(cluster))


def test_the_api_names_its_own_arguments_in_errors() -> None:
    import vaecheck

    with pytest.raises(VaecheckError, match=r"^dask='not an address': not a scheduler address"):
        vaecheck.check(RELU_VAE, str(SAMPLES / "standardized.npy"), dask="not an address")


def test_partial_statistics_travel_small_and_whole() -> None:
    import pickle

    from vaecheck.sketch import QuantileSketch
    from vaecheck.stats import StatsAccumulator

    sketch = QuantileSketch(4, -40, 40, features=3)
    sketch.add(np.array([0.5, -2.0, 7.0, 1e-30]), np.array([0, 1, 2, 0]))
    travelled = pickle.loads(pickle.dumps(sketch))
    np.testing.assert_array_equal(travelled.counts, sketch.counts)
    assert travelled.counts.dtype == sketch.counts.dtype
    accumulator = StatsAccumulator((100_000, 16), np.dtype(np.float32))
    accumulator.update(awkward_data(1000, 8))
    payload = pickle.dumps(accumulator)
    assert len(payload) < 100_000  # the sketches' empty bins do not travel (dense: 700 kB)
    assert pickle.loads(payload).result().count == accumulator.result().count

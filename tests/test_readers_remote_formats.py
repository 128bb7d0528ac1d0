"""CSV/TSV and HDF5 data by URL, and an HTTP server that ignores range requests: a real moto
S3 server and two local HTTP servers on 127.0.0.1, each compared with the local file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np
import pytest

pytest.importorskip("s3fs")
pytest.importorskip("moto.moto_server.werkzeug_app")

from storage_servers import HTTPServer, S3Server  # noqa: E402

from vaecheck.cli import main  # noqa: E402
from vaecheck.errors import VaecheckError  # noqa: E402
from vaecheck.readers import remote  # noqa: E402
from vaecheck.readers.data import DataSource, open_data  # noqa: E402

SAMPLES = Path(__file__).resolve().parent.parent / "sample_models"
RELU_VAE = str(SAMPLES / "relu_vae.keras")
BUCKET = "vaecheck-formats"  # its own bucket: moto keeps one store per process
RANGES_REFUSED = "the HTTP server does not support range requests"


def read_all(source: DataSource) -> np.ndarray:
    return np.concatenate([block for _, block in source.chunks(2**16)])


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample data (512 x 16) as CSV, TSV, HDF5 (contiguous, chunked and compressed, a
    soft link), shards of CSV and HDF5, and a 1 MB .npy; the same files every server serves."""
    root = tmp_path_factory.mktemp("formats")
    data = np.load(SAMPLES / "standardized.npy").astype(np.float64)
    header = ",".join(f"f{i}" for i in range(16))
    np.savetxt(root / "table.csv", data, delimiter=",", header=header, comments="")
    np.savetxt(root / "table.tsv", data, delimiter="\t")
    with h5py.File(root / "data.h5", "w") as handle:
        handle["x"] = data
        handle.create_dataset("g/chunked", data=data, chunks=(64, 16), compression="gzip")
        handle["link"] = h5py.SoftLink("/x")
    shards = root / "shards"
    shards.mkdir()
    for part in range(3):
        rows = data[part * 100 : (part + 1) * 100]
        np.savetxt(shards / f"part-{part}.csv", rows, delimiter=",", header=header, comments="")
        with h5py.File(shards / f"part-{part}.h5", "w") as handle:
            handle["x"] = rows
    big = np.random.default_rng(3).standard_normal((8_000, 16))
    np.save(root / "big.npy", big)
    np.savez(root / "arrays.npz", x=big)
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:  # the parquet extra: its test below is skipped
        return root
    table = pa.table({f"f{i}": big[:, i] for i in range(16)})
    pq.write_table(table, root / "table.parquet", row_group_size=500)
    return root


@pytest.fixture(scope="module")
def s3(files: Path) -> Iterator[S3Server]:
    server = S3Server()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_ENDPOINT_URL", server.endpoint)
        env.setenv("AWS_ACCESS_KEY_ID", "testing")
        env.setenv("AWS_SECRET_ACCESS_KEY", "testing-secret")
        env.setenv("AWS_DEFAULT_REGION", "us-east-1")
        env.setenv("AWS_EC2_METADATA_DISABLED", "true")
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3"):
            env.delenv(name, raising=False)
        client = server.client()
        client.create_bucket(Bucket=BUCKET)
        for path in files.rglob("*"):
            if path.is_file():
                client.upload_file(str(path), BUCKET, path.relative_to(files).as_posix())
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture(scope="module")
def web(files: Path) -> Iterator[HTTPServer]:
    server = HTTPServer(files)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def plain(files: Path) -> Iterator[HTTPServer]:
    """A server that answers every GET with the whole file, as `python -m http.server`."""
    server = HTTPServer(files, ranges=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["s3", "http"])
def base(request: pytest.FixtureRequest) -> str:
    if request.param == "s3":
        request.getfixturevalue("s3")
        return f"s3://{BUCKET}"
    return request.getfixturevalue("web").url


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("table.csv", None),
        ("table.tsv", None),
        ("data.h5:/x", None),
        ("data.h5", "g/chunked"),
        ("shards/", None),
        ("shards/part-*.h5", None),
    ],
)
def test_csv_and_hdf5_at_a_url_read_as_the_local_files(base: str, files: Path, name: str, key: str | None) -> None:
    if name.startswith("shards/") and not base.startswith("s3://"):
        pytest.skip("an HTTP server lists no folders: shards are read from object storage")
    remote_source = open_data(f"{base}/{name}", key=key)
    local_source = open_data(str(files / name), key=key)
    assert remote_source.shape == local_source.shape
    assert remote_source.feature_names == local_source.feature_names
    assert np.array_equal(read_all(remote_source), read_all(local_source))
    if name == "shards/":  # the folder holds CSV and HDF5 shards alike, as a local folder does
        assert "6 shards" in remote_source.description


def test_the_report_by_url_is_the_local_report(s3: S3Server, files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name, extra in (("table.csv", []), ("data.h5", ["--key", "/g/chunked"])):
        url = f"s3://{BUCKET}/{name}"
        code, out, err = run([RELU_VAE, url, "--format", "json", *extra], capsys)
        local = json.loads(run([RELU_VAE, str(files / name), "--format", "json", *extra], capsys)[1])
        report = json.loads(out)
        assert (code, err) == (1, "")
        assert report["data"] == url
        assert report["outputs"][0]["findings"] == local["outputs"][0]["findings"]
        assert report["data_summary"] == local["data_summary"]


def test_a_sample_of_a_remote_hdf5_dataset_is_the_local_sample(base: str, files: Path) -> None:
    for key in ("x", "g/chunked"):
        remote_rows = read_all(open_data(f"{base}/data.h5", key=key).sample(37, seed=2))
        local_rows = read_all(open_data(str(files / "data.h5"), key=key).sample(37, seed=2))
        assert np.array_equal(remote_rows, local_rows)


def test_remote_hdf5_keeps_the_local_limits(s3: S3Server) -> None:
    with pytest.raises(VaecheckError, match="soft link"):
        open_data(f"s3://{BUCKET}/data.h5:/link")
    with pytest.raises(VaecheckError, match="named twice"):
        open_data(f"s3://{BUCKET}/data.h5:/x", key="g/chunked")
    s3.client().put_object(Bucket=BUCKET, Key="fake.h5", Body=b"\x89HDF\r\n\x1a\n" + b"\0" * 64)
    with pytest.raises(VaecheckError, match="not an HDF5 file, or a damaged one"):
        open_data(f"s3://{BUCKET}/fake.h5")


def test_remote_csv_is_read_a_megabyte_per_request(web: HTTPServer, files: Path) -> None:
    requests = web.requests
    source = open_data(f"{web.url}/table.csv")
    read_all(source)
    size = (files / "table.csv").stat().st_size
    # Two passes (count, then parse), a few requests each, not one per 8 KiB buffer.
    assert size > 8 * 2**10 * 10
    assert web.requests - requests <= 12


# --- an HTTP server that ignores range requests ------------------------------------------------


def test_a_npy_read_front_to_back_is_streamed_once(plain: HTTPServer, files: Path) -> None:
    before = remote.transferred_bytes()
    values = read_all(open_data(f"{plain.url}/big.npy"))
    assert np.array_equal(values, np.load(files / "big.npy"))
    size = (files / "big.npy").stat().st_size
    # The header, then the whole file once per pass (opening reads the header only).
    assert remote.transferred_bytes() - before < 1.2 * size


def test_csv_from_a_server_without_ranges_gives_the_local_report(
    plain: HTTPServer, files: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run([RELU_VAE, f"{plain.url}/table.csv", "--format", "json"], capsys)
    local = json.loads(run([RELU_VAE, str(files / "table.csv"), "--format", "json"], capsys)[1])
    assert (code, err) == (1, "")
    assert json.loads(out)["data_summary"] == local["data_summary"]
    code, out, err = run([RELU_VAE, f"{plain.url}/table.csv", "--format", "json", "--sample", "50"], capsys)
    assert (code, err) == (1, "") and json.loads(out)["data_summary"]["shape"] == [50, 16]


@pytest.mark.parametrize(
    ("name", "extra", "needs"),
    [
        ("big.npy", ["--sample", "10"], "--sample needs"),
        ("data.h5", ["--key", "x"], "reading this file needs"),
        ("data.h5", ["--key", "g/chunked", "--sample", "5"], "reading this file needs"),
    ],
)
def test_random_access_without_ranges_is_one_line(
    plain: HTTPServer, name: str, extra: list[str], needs: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run([RELU_VAE, f"{plain.url}/{name}", *extra], capsys)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and RANGES_REFUSED in err and needs in err, err
    assert f"{plain.url}/{name}" in err and "Traceback" not in err


def test_parquet_and_npz_without_ranges_are_one_line(
    plain: HTTPServer, files: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("pyarrow")
    for name in ("table.parquet", "arrays.npz"):
        code, out, err = run([RELU_VAE, f"{plain.url}/{name}"], capsys)
        assert (code, out) == (2, "")
        assert err.count("\n") == 1 and RANGES_REFUSED in err, err

"""Models and data at URLs: a real S3-compatible server (moto, on 127.0.0.1) read with s3fs
through AWS_ENDPOINT_URL, and a local HTTP server with range requests."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("s3fs")
pytest.importorskip("moto.moto_server.werkzeug_app")

from storage_servers import HTTPServer, S3Server, SilentServer, closed_port  # noqa: E402

from vaecheck.extras import install_command
from vaecheck.api import check  # noqa: E402
from vaecheck.cli import main  # noqa: E402
from vaecheck.readers import remote  # noqa: E402
from vaecheck.readers.data import open_data  # noqa: E402

SAMPLES = Path(__file__).resolve().parent.parent / "sample_models"
RELU_VAE = SAMPLES / "relu_vae.keras"
STANDARDIZED = SAMPLES / "standardized.npy"
FAKE_SECRET = "fAkE/SeCrEt+vaecheck+0123456789abcdefXYZ"
BUCKET = "vaecheck-data"
BIG_ROWS = 8_000  # 8,000 x 64 float64: 4 MB


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    server = S3Server()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_ENDPOINT_URL", server.endpoint)
        env.setenv("AWS_ACCESS_KEY_ID", "testing")
        env.setenv("AWS_SECRET_ACCESS_KEY", FAKE_SECRET)
        env.setenv("AWS_DEFAULT_REGION", "us-east-1")
        env.setenv("AWS_EC2_METADATA_DISABLED", "true")
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3"):
            env.delenv(name, raising=False)
        client = server.client()
        client.create_bucket(Bucket=BUCKET)
        client.upload_file(str(RELU_VAE), BUCKET, "models/relu_vae.keras")
        client.upload_file(str(STANDARDIZED), BUCKET, "data/standardized.npy")
        big = tmp_path_factory.mktemp("big") / "big.npy"
        np.save(big, np.random.default_rng(0).standard_normal((BIG_ROWS, 64)))
        client.upload_file(str(big), BUCKET, "data/big.npy")
        np.savez(big.with_suffix(".npz"), x=np.load(STANDARDIZED))
        client.upload_file(str(big.with_suffix(".npz")), BUCKET, "data/standardized.npz")
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HTTPServer]:
    root = tmp_path_factory.mktemp("web")
    shutil.copy(STANDARDIZED, root / "standardized.npy")
    shutil.copy(RELU_VAE, root / "relu_vae.keras")
    server = HTTPServer(root)
    try:
        yield server
    finally:
        server.stop()


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_is_url_and_redact() -> None:
    assert remote.is_url("s3://b/x.npy") and remote.is_url("HTTPS://h/x") and remote.is_url("az://c/x")
    assert not remote.is_url("data.npy") and not remote.is_url("file.h5:/x") and not remote.is_url("ftp://h/x")
    assert remote.redact("s3://bucket/x.npy") == "s3://bucket/x.npy"
    assert remote.redact("https://user:pw@h:8/x.npy?sig=abc&v=1") == "https://user:***@h:8/x.npy?sig=***&v=***"


def test_s3_data_reads_the_same_as_the_local_file(s3: S3Server) -> None:
    url = f"s3://{BUCKET}/data/standardized.npy"
    source = open_data(url)
    assert source.shape == (512, 16) and source.description == "standardized.npy"
    values = np.concatenate([block for _, block in source.chunks(4096)])
    assert np.array_equal(values, np.load(STANDARDIZED))
    npz = open_data(f"s3://{BUCKET}/data/standardized.npz", key="x")
    assert np.array_equal(np.concatenate([b for _, b in npz.chunks()]), np.load(STANDARDIZED))


def test_s3_model_and_data_end_to_end(s3: S3Server, capsys: pytest.CaptureFixture[str]) -> None:
    model = f"s3://{BUCKET}/models/relu_vae.keras"
    data = f"s3://{BUCKET}/data/standardized.npy"
    code, out, err = run([model, data, "--format", "json"], capsys)
    assert (code, err) == (1, "")
    report = json.loads(out)
    local = json.loads(run([str(RELU_VAE), str(STANDARDIZED), "--format", "json"], capsys)[1])
    assert (report["model"], report["data"]) == (model, data)
    assert report["outputs"][0]["findings"] == local["outputs"][0]["findings"]
    assert report["data_summary"]["min"] == local["data_summary"]["min"]


def test_a_sample_reads_only_its_rows(s3: S3Server) -> None:
    url = f"s3://{BUCKET}/data/big.npy"
    before, requests = s3.counter.sent, s3.counter.requests
    sampled = open_data(url).sample(100, seed=5)
    values = np.concatenate([block for _, block in sampled.chunks()])
    sent = s3.counter.sent - before
    chosen = np.sort(np.random.default_rng(5).choice(BIG_ROWS, size=100, replace=False))
    assert values.shape == (100, 64)
    size = BIG_ROWS * 64 * 8
    # 100 rows of 512 bytes, a few merged neighbours and the header: far below the 10 MB.
    assert sent < size / 20, (sent, size)
    assert s3.counter.requests - requests <= 100 + 10  # at most one per row, and a few HEADs


def test_sampled_rows_are_the_rows_a_local_sample_picks(s3: S3Server, tmp_path: Path) -> None:
    url = f"s3://{BUCKET}/data/standardized.npy"
    remote_rows = np.concatenate([b for _, b in open_data(url).sample(37, seed=2).chunks()])
    local_rows = np.concatenate([b for _, b in open_data(STANDARDIZED).sample(37, seed=2).chunks()])
    assert np.array_equal(remote_rows, local_rows)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"s3://{BUCKET}/data/missing.npy", "no such object"),
        ("s3://no-such-bucket-vaecheck/x.npy", "no such object"),
        (f"s3://{BUCKET}/models/relu_vae.keras/x.npy", "no such object"),
    ],
)
def test_missing_objects_are_one_line(s3: S3Server, url: str, expected: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run([str(RELU_VAE), url], capsys)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and expected in err and url in err
    assert "Traceback" not in err and FAKE_SECRET not in err


def test_missing_credentials_are_one_line_and_no_secret_is_printed(
    s3: S3Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("VAECHECK_TEST_TOKEN", FAKE_SECRET)
    code, out, err = run([str(RELU_VAE), f"s3://{BUCKET}/data/standardized.npy"], capsys)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and "no credentials for S3" in err
    assert FAKE_SECRET not in err


def test_wrong_credentials_never_print_the_secret(
    s3: S3Server, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", FAKE_SECRET + "x")
    code, out, err = run(
        [f"s3://{BUCKET}/models/relu_vae.keras", f"s3://{BUCKET}/data/standardized.npy", "--format", "json"],
        capsys,
    )
    assert FAKE_SECRET not in out + err
    assert code in (1, 2)  # moto accepts any key; a real store would deny it (exit 2)


def test_refused_and_unreachable_endpoints(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    port = closed_port()
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", FAKE_SECRET)
    for url in (f"s3://{BUCKET}/data/standardized.npy", f"http://127.0.0.1:{port}/x.npy"):
        code, out, err = run([str(RELU_VAE), url], capsys)
        assert (code, out) == (2, "")
        assert err.count("\n") == 1 and "cannot reach the storage endpoint" in err, err
        assert FAKE_SECRET not in err


def test_an_endpoint_that_never_answers_is_given_up_on(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(remote, "READ_SECONDS", 0.5)
    monkeypatch.setattr(remote, "CONNECT_SECONDS", 0.5)
    silent = SilentServer()
    try:
        code, out, err = run([str(RELU_VAE), f"http://127.0.0.1:{silent.port}/x.npy"], capsys)
    finally:
        silent.stop()
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and "cannot reach the storage endpoint" in err, err


def test_http_data_and_model(web: HTTPServer, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run([f"{web.url}/relu_vae.keras", f"{web.url}/standardized.npy", "--format", "json"], capsys)
    assert (code, err) == (1, "")
    report = json.loads(out)
    assert report["data_summary"]["count"] == 512 * 16
    assert report["outputs"][0]["findings"][0]["code"] == "VC001"


def test_http_errors_and_passwords_in_urls(web: HTTPServer, capsys: pytest.CaptureFixture[str]) -> None:
    host = web.url.split("://", 1)[1]
    code, _, err = run([str(RELU_VAE), f"{web.url}/forbidden/x.npy"], capsys)
    assert code == 2 and err.count("\n") == 1 and "access denied by the storage (HTTP 403)" in err
    code, _, err = run([f"{web.url}/forbidden/model.keras", str(STANDARDIZED)], capsys)
    assert code == 2 and err.count("\n") == 1 and "access denied" in err
    code, _, err = run([str(RELU_VAE), f"{web.url}/missing.npy"], capsys)
    assert code == 2 and err.count("\n") == 1 and "no such object" in err
    password = FAKE_SECRET.replace("/", "")  # a password in a URL cannot hold a bare /
    secret_url = f"http://reader:{password}@{host}/standardized.npy?X-Amz-Signature={password}"
    code, out, err = run([str(RELU_VAE), secret_url, "--format", "json"], capsys)
    assert password not in out + err
    assert code == 1 and json.loads(out)["data"].startswith("http://reader:***@")
    code, out, err = run([str(RELU_VAE), secret_url.replace("standardized", "missing")], capsys)
    assert code == 2 and password not in out + err and "reader:***@" in err


def test_python_api_reads_urls(web: HTTPServer) -> None:
    report = check(f"{web.url}/relu_vae.keras", f"{web.url}/standardized.npy", sample=100)
    assert report.model == f"{web.url}/relu_vae.keras"
    assert report.stats.shape == (100, 16)


def test_url_filesystem_for_other_readers(s3: S3Server) -> None:
    fs, path = remote.url_filesystem(f"s3://{BUCKET}/data/standardized.npy")
    assert path == f"{BUCKET}/data/standardized.npy"
    assert fs.size(path) == STANDARDIZED.stat().st_size


def test_missing_fsspec_names_the_install_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(__import__("sys").modules, "fsspec", None)
    code, out, err = run([str(RELU_VAE), "s3://bucket/x.npy"], capsys)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and install_command('cloud') in err


def test_a_folder_or_glob_of_remote_shards(s3: S3Server) -> None:
    client = s3.client()
    data = np.load(STANDARDIZED)
    for part in range(3):
        path = Path(__file__).parent / f".shard-{part}.npy"  # written, uploaded, removed
        np.save(path, data[part * 100 : (part + 1) * 100])
        try:
            client.upload_file(str(path), BUCKET, f"shards/part-{part}.npy")
        finally:
            path.unlink()
    client.put_object(Bucket=BUCKET, Key="shards/README.txt", Body=b"not data")
    for location in (f"s3://{BUCKET}/shards/", f"s3://{BUCKET}/shards/part-*.npy"):
        source = open_data(location)
        assert source.shape == (300, 16) and "3 shards" in source.description
        assert np.array_equal(np.concatenate([b for _, b in source.chunks()]), data[:300])
        assert len(source.parts()) == 3
    with pytest.raises(remote.VaecheckError, match="no data file"):
        open_data(f"s3://{BUCKET}/shards/none-*.npy")


def test_a_folder_of_images_in_remote_storage(s3: S3Server, tmp_path: Path) -> None:
    from PIL import Image

    blobs = np.load(SAMPLES / "images_uint8.npy")[:12]
    client = s3.client()
    for number, image in enumerate(blobs):
        path = tmp_path / f"{number}.png"
        Image.fromarray(image[:, :, 0], mode="L").save(path)
        client.upload_file(str(path), BUCKET, f"images/{'a' if number % 2 else 'b'}/{number}.png")
    tanh_generator = str(SAMPLES / "tanh_generator.keras")
    report = check(tanh_generator, f"s3://{BUCKET}/images/")
    assert report.stats.shape == (12, 16, 16, 1)
    assert (report.stats.min, report.stats.max) == (float(blobs.min()), float(blobs.max()))
    assert report.data_description.startswith("images/ (12 images")
    one = check(tanh_generator, f"s3://{BUCKET}/images/a/1.png")
    assert one.stats.shape == (1, 16, 16, 1)

"""Bytes transferred by `--sample N` on a large remote .npy, against the file's size.

    python bench/remote_sample.py --server http --size-gb 10 --sample 10000
    python bench/remote_sample.py --server s3 --size-gb 0.0625 --sample 1000

A benchmark run by hand, never a test (it needs the test extra: moto and s3fs). It serves a
float32 .npy of the given size from 127.0.0.1, by moto's S3 server (through
AWS_ENDPOINT_URL, with s3fs) or by a plain HTTP server that honours range requests, each with
a counter of the body bytes it sends; then runs the real command line, `vaecheck MODEL URL
--sample N`, and prints the bytes and requests the server answered, and their ratio to the
file size. The model is a local file.

moto answers each range request by copying the whole object in memory before slicing it, so
its server time grows with size times requests: use it for files of tens of megabytes, and
the HTTP server (which reads only the range from disk) for gigabytes. The file is written
sparse-free but fast: one random block repeated.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))


def write_npy(path: Path, rows: int, features: int) -> None:
    header = np.lib.format.header_data_from_array_1_0(np.zeros((1, features), np.float32))
    header["shape"] = (rows, features)
    block = np.random.default_rng(0).standard_normal((65536, features)).astype(np.float32).tobytes()
    with open(path, "wb") as stream:
        np.lib.format.write_array_header_1_0(stream, header)
        left = rows * features * 4
        while left:
            piece = block[: min(left, len(block))]
            stream.write(piece)
            left -= len(piece)


def main() -> int:
    from storage_servers import HTTPServer, S3Server

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--server", choices=["s3", "http"], default="http")
    parser.add_argument("--size-gb", type=float, default=1.0)
    parser.add_argument("--features", type=int, default=16)
    parser.add_argument("--sample", type=int, default=10_000)
    parser.add_argument("--model", default=str(REPO / "sample_models" / "relu_vae.keras"))
    options = parser.parse_args()
    rows = int(options.size_gb * 2**30) // (4 * options.features)
    with tempfile.TemporaryDirectory(prefix="vaecheck-bench-") as folder:
        path = Path(folder) / "big.npy"
        write_npy(path, rows, options.features)
        size = path.stat().st_size
        if options.server == "s3":
            server = S3Server()
            os.environ.update(
                AWS_ENDPOINT_URL=server.endpoint,
                AWS_ACCESS_KEY_ID="testing",
                AWS_SECRET_ACCESS_KEY="testing",
                AWS_DEFAULT_REGION="us-east-1",
            )
            client = server.client()
            client.create_bucket(Bucket="bench")
            client.upload_file(str(path), "bench", "big.npy")
            url = "s3://bench/big.npy"
            counter = server.counter
            sent_now = lambda: counter.sent  # noqa: E731
            requests_now = lambda: counter.requests  # noqa: E731
        else:
            server = HTTPServer(Path(folder))
            url = f"{server.url}/big.npy"
            sent_now = lambda: server.sent  # noqa: E731
            requests_now = lambda: server.requests  # noqa: E731
        try:
            from vaecheck.cli import main as vaecheck

            before, requests = sent_now(), requests_now()
            start = time.perf_counter()
            code = vaecheck([options.model, url, "--sample", str(options.sample), "-q"])
            seconds = time.perf_counter() - start
            sent = sent_now() - before
        finally:
            server.stop()
    kept = options.sample * options.features * 4
    print(f"{options.server}: file {size / 2**20:,.1f} MiB ({rows:,} rows x {options.features} float32), --sample {options.sample:,}")
    print(f"  transferred {sent / 2**20:,.2f} MiB in {requests_now() - requests:,} requests, {seconds:.1f} s, exit {code}")
    print(f"  transferred / file size {sent / size:.6f}; transferred / rows kept ({kept / 2**20:,.2f} MiB) {sent / kept:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Bytes transferred by `--sample N` on a large .npy in S3-compatible storage, against its size.

    python bench/remote_sample.py                       # 1 GiB .npy, --sample 10000
    python bench/remote_sample.py --size-gb 4 --sample 10000 --features 784

A benchmark run by hand, never a test (it needs the test extra: moto and s3fs). It starts
moto's S3 server on 127.0.0.1 with a counter of the body bytes it sends, uploads a float32
.npy of the given size, then runs the real command line, `vaecheck MODEL s3://.../big.npy
--sample N` through AWS_ENDPOINT_URL, and prints the bytes and requests the server answered,
and their ratio to the file size. The model is only read (a local file).
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


def main() -> int:
    from storage_servers import S3Server

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-gb", type=float, default=1.0)
    parser.add_argument("--features", type=int, default=16)
    parser.add_argument("--sample", type=int, default=10_000)
    parser.add_argument("--model", default=str(REPO / "sample_models" / "relu_vae.keras"))
    options = parser.parse_args()
    rows = int(options.size_gb * 2**30) // (4 * options.features)
    server = S3Server()
    try:
        os.environ.update(
            AWS_ENDPOINT_URL=server.endpoint,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_DEFAULT_REGION="us-east-1",
        )
        client = server.client()
        client.create_bucket(Bucket="bench")
        with tempfile.TemporaryDirectory(prefix="vaecheck-bench-") as folder:
            path = Path(folder) / "big.npy"
            with open(path, "wb") as stream:
                header = np.lib.format.header_data_from_array_1_0(np.zeros((1, options.features), np.float32))
                header["shape"] = (rows, options.features)
                np.lib.format.write_array_header_1_0(stream, header)
                block = np.random.default_rng(0).standard_normal((65536, options.features)).astype(np.float32)
                left = rows
                while left:
                    take = min(left, block.shape[0])
                    stream.write(block[:take].tobytes())
                    left -= take
            size = path.stat().st_size
            client.upload_file(str(path), "bench", "big.npy")
        from vaecheck.cli import main as vaecheck

        before, requests = server.counter.sent, server.counter.requests
        start = time.perf_counter()
        code = vaecheck([options.model, "s3://bench/big.npy", "--sample", str(options.sample), "-q"])
        seconds = time.perf_counter() - start
        sent = server.counter.sent - before
        print(f"file {size / 2**20:,.1f} MiB ({rows:,} rows x {options.features} float32), --sample {options.sample:,}")
        print(f"  transferred {sent / 2**20:,.2f} MiB in {server.counter.requests - requests:,} requests, {seconds:.1f} s, exit {code}")
        print(f"  ratio transferred / file size {sent / size:.5f}   (rows kept: {options.sample * options.features * 4 / 2**20:,.2f} MiB)")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

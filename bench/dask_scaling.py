"""The data statistics on a local Dask cluster against the local single-process path.

    python bench/dask_scaling.py                       # 2 GiB and 1 MiB, writes and deletes them
    python bench/dask_scaling.py --size-gb 0.25 2 --repeat 3

A benchmark run by hand, never a test (it needs vaecheck[dask]). It writes a float32 .npy of
--size-gb (rows of --features standardized values) and one of 1 MiB, then runs on each, every
run in a fresh process:

  local       open_data + measure_source, as `vaecheck MODEL DATA` measures (default threads)
  local:1     the same statistics with --dask local:1: a cluster of 1 worker process
  local:2     --dask local:2: 2 worker processes of one thread each

For the Dask runs it reports apart the cluster's start-up (spawning the worker processes and
their imports, paid once per `vaecheck` run with local:N and never with a running scheduler),
and the measuring itself: partitions sent out, read and measured by the workers, merged by a
tree of FAN_IN-wide merges. Ratios are against `local` in the same run. Each run is repeated
(--repeat) and the median kept; the file is read from the page cache (the harder case for the
cluster: no disk to wait on).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from data_throughput import write_data
from machine import describe

CHILD = """
import json, sys, time
start = time.perf_counter()
from vaecheck.intervals import INF, Interval
from vaecheck.readers.data import open_data
from vaecheck.stats import StatsPlan, measure_source
path, mode = sys.argv[1], sys.argv[2]
relu = [Interval(0.0, INF, True, False)]
source = open_data(path)
if mode == "local":
    begun = time.perf_counter()
    stats = measure_source(source, relu)
    started = begun
else:
    from vaecheck.cluster import DaskOptions, dask_client, measure_on_dask, partitions_of
    begun = time.perf_counter()
    with dask_client(DaskOptions(mode)) as client:
        started = time.perf_counter()
        plan = StatsPlan(source.shape, source.dtype, tuple(relu))
        stats = measure_on_dask(source, plan, DaskOptions(client))
        measured = time.perf_counter()
    partitions = len(partitions_of(source))
done = time.perf_counter()
print(json.dumps({
    "startup": started - begun,
    "measure": (measured if mode != "local" else done) - started,
    "total": done - begun,
    "partitions": partitions if mode != "local" else 0,
    "count": stats.count, "min": stats.min, "max": stats.max,
}))
"""

MODES = ("local", "local:1", "local:2")


def run(path: Path, mode: str) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), mode], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise SystemExit(f"{mode} on {path.name} failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def measure(path: Path, repeat: int) -> dict[str, dict[str, float]]:
    results: dict[str, dict[str, float]] = {}
    for mode in MODES:
        runs = [run(path, mode) for _ in range(repeat)]
        results[mode] = {
            key: statistics.median(r[key] for r in runs) for key in ("startup", "measure", "total")
        }
        results[mode]["partitions"] = runs[0]["partitions"]
        answers = {(r["count"], r["min"], r["max"]) for r in runs}
        assert len(answers) == 1, answers
        results[mode]["answer"] = answers.pop()  # type: ignore[assignment]
    assert len({results[mode]["answer"] for mode in MODES}) == 1, "the modes disagree"
    return results


def show(label: str, size: int, results: dict[str, dict[str, float]]) -> None:
    local = results["local"]["total"]
    print(f"\n{label}: {size / 2**20:,.1f} MiB")
    print(f"  {'':9} {'start-up':>9} {'measure':>9} {'total':>9} {'vs local':>9} {'MB/s':>8}  partitions, merge depth")
    for mode in MODES:
        r = results[mode]
        parts = int(r["partitions"])
        depth = math.ceil(math.log(parts, 8)) if parts > 1 else 0
        tree = f"{parts}, {depth}" if mode != "local" else ""
        rate = size / 1e6 / r["measure"] if r["measure"] else float("nan")
        print(
            f"  {mode:9} {r['startup']:8.2f}s {r['measure']:8.2f}s {r['total']:8.2f}s "
            f"{r['total'] / local:8.2f}x {rate:8.0f}  {tree}"
        )
    for mode in MODES[1:]:
        r = results[mode]
        if r["partitions"]:
            busy = min(int(mode.split(":")[1]), int(r["partitions"]))  # workers with work
            per = r["measure"] / r["partitions"] * busy
            print(f"  {mode}: {per:.3f} s of worker time per partition (measure time x busy workers / partitions)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-gb", type=float, nargs="+", default=[2.0], help="one or more sizes")
    parser.add_argument("--features", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=1)
    options = parser.parse_args()
    print(json.dumps(describe(), indent=1))
    with tempfile.TemporaryDirectory(prefix="vaecheck-dask-bench-") as folder:
        small = Path(folder) / "small.npy"
        _, small_size = write_data(small, 2**20, options.features)
        show("small file (scheduling cost)", small_size, measure(small, max(3, options.repeat)))
        small.unlink()
        for size_gb in options.size_gb:
            big = Path(folder) / "big.npy"
            _, big_size = write_data(big, int(size_gb * 2**30), options.features)
            show("large file", big_size, measure(big, options.repeat))
            big.unlink()


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()

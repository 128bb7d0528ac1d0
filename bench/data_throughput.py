"""Throughput and peak memory of vaecheck's data path against bare numpy, on one big .npy.

    python bench/data_throughput.py --size-gb 2            # writes, measures, deletes
    python bench/data_throughput.py --size-gb 4 --features 784 --cold

A benchmark run by hand, never a test: it writes a float32 .npy of the given size (rows of
standardized values, about half of them below 0), then times, each in a fresh process:

  vaecheck cli    the real command line, `vaecheck MODEL DATA --format json`: model reading,
                  statistics, checks and report (MODEL must take samples of --features values;
                  the default sample model takes 16)
  vaecheck data   the data path alone: open_data + measure_source (every statistic, with the
                  codomain of a relu output to count against), on its default threads
                  (one per idle CPU: CPUs less the load average, up to 4)
  vaecheck data 1T  the same on one thread (VAECHECK_THREADS=1)
  vaecheck data 2T  the same on two threads (VAECHECK_THREADS=2)
  numpy load      np.load(path), then .min() and .max(): the bare way, the whole file in memory
  numpy chunks    the file read in 32 MiB blocks with readinto, .min() and .max() of each
  numpy chunks 4M the same in 4 MiB blocks (the block size vaecheck's statistics use)
  numpy mmap      np.load(path, mmap_mode="r"), then .min() and .max(): no copy at all

Each run is repeated (--repeat) and the median kept. "work" is the time the process itself
measures after its imports; "wall" adds interpreter start-up and imports. With --cold the
file's pages are dropped from the page cache before each run (posix_fadvise DONTNEED), so the
disk is read; without it the file is read from memory, the harder case for the comparison.
Peak RSS is the child's own ru_maxrss, from wait4.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from machine import describe

REPO = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = REPO / "sample_models" / "relu_vae.keras"
SLAB_BYTES = 64 * 2**20

VAECHECK_DATA = """
import sys, time
start = time.perf_counter()
from vaecheck.intervals import INF, Interval
from vaecheck.readers.data import open_data
from vaecheck.stats import measure_source
imported = time.perf_counter()
stats = measure_source(open_data(sys.argv[1]), [Interval(0.0, INF, True, False)])
print(time.perf_counter() - imported, stats.min, stats.max, file=sys.stderr)
"""

VAECHECK_CLI = """
import sys, time
start = time.perf_counter()
from vaecheck.cli import main
imported = time.perf_counter()
code = main([sys.argv[2], sys.argv[1], "--format", "json"])
elapsed = time.perf_counter() - imported
assert code in (0, 1), code
print(elapsed, "-", "-", file=sys.stderr)
"""

NUMPY_LOAD = """
import sys, time
import numpy as np
start = time.perf_counter()
data = np.load(sys.argv[1])
low, high = data.min(), data.max()
print(time.perf_counter() - start, low, high, file=sys.stderr)
"""

NUMPY_MMAP = """
import sys, time
import numpy as np
start = time.perf_counter()
data = np.load(sys.argv[1], mmap_mode="r")
low, high = data.min(), data.max()
print(time.perf_counter() - start, low, high, file=sys.stderr)
"""

NUMPY_CHUNKS = """
import sys, time
import numpy as np
start = time.perf_counter()
with open(sys.argv[1], "rb", buffering=0) as stream:
    major, _ = np.lib.format.read_magic(stream)
    read_header = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
    shape, fortran, dtype = read_header(stream)
    block_bytes = int(sys.argv[3]) if len(sys.argv) > 3 else 32 * 2**20
    buffer = np.empty(block_bytes // dtype.itemsize * dtype.itemsize, np.uint8)
    low, high = np.inf, -np.inf
    while True:
        got = stream.readinto(buffer)
        if not got:
            break
        block = buffer[:got].view(dtype)
        low, high = min(low, block.min()), max(high, block.max())
print(time.perf_counter() - start, low, high, file=sys.stderr)
"""

RUNS = {
    "vaecheck cli": VAECHECK_CLI,
    "vaecheck data": VAECHECK_DATA,
    "vaecheck data 1T": VAECHECK_DATA,
    "vaecheck data 2T": VAECHECK_DATA,
    "numpy load": NUMPY_LOAD,
    "numpy chunks": NUMPY_CHUNKS,
    "numpy chunks 4M": NUMPY_CHUNKS,
    "numpy mmap": NUMPY_MMAP,
}


def write_data(path: Path, size_bytes: int, features: int) -> tuple[int, int]:
    """A float32 (rows, features) .npy of about size_bytes: random slabs, written repeatedly."""
    row_bytes = 4 * features
    rows = max(1, size_bytes // row_bytes)
    rng = np.random.default_rng(0)
    slab_rows = max(1, SLAB_BYTES // row_bytes)
    slabs = [rng.standard_normal((slab_rows, features)).astype(np.float32) for _ in range(4)]
    with path.open("wb") as handle:
        header = {"descr": "<f4", "fortran_order": False, "shape": (rows, features)}
        np.lib.format.write_array_header_1_0(handle, header)
        written = 0
        turn = 0
        while written < rows:
            slab = slabs[turn % len(slabs)][: rows - written]
            handle.write(slab.tobytes())
            written += slab.shape[0]
            turn += 1
    return rows, path.stat().st_size


def drop_cache(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())
        os.posix_fadvise(handle.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)


# ru_maxrss of a forked child starts at its parent's size, and survives exec: this benchmark
# holds its data slabs, so each run is started by a small launcher, whose own child's peak is
# that child's alone, and reported by wait4.
LAUNCHER = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[1:])
_, status, usage = os.wait4(child.pid, 0)
print("PEAK_KB", usage.ru_maxrss, file=sys.stderr)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_once(
    script: str, path: Path, model: Path, extra: tuple[str, ...] = (), threads: str | None = None
) -> tuple[float, float, float]:
    """(work seconds, wall seconds, peak RSS in MB) of one fresh process."""
    command = [
        sys.executable, "-c", LAUNCHER, sys.executable, "-c", script, str(path), str(model), *extra
    ]
    environment = dict(os.environ)
    if threads is not None:
        environment["VAECHECK_THREADS"] = threads
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        returncode = subprocess.run(
            command, stdout=out, stderr=err, cwd=REPO, env=environment
        ).returncode
        wall = time.perf_counter() - started
        err.seek(0)
        messages = err.read().strip().splitlines()
    if returncode != 0 or len(messages) < 2 or not messages[-1].startswith("PEAK_KB"):
        raise SystemExit(f"run failed ({returncode}):\n" + "\n".join(messages))
    work = float(messages[-2].split()[0])
    return work, wall, int(messages[-1].split()[1]) / 1024


def measure(
    name: str, path: Path, model: Path, repeat: int, cold: bool
) -> dict[str, float]:
    works, walls, peaks = [], [], []
    extra = (str(4 * 2**20),) if name.endswith("4M") else ()
    for _ in range(repeat):
        if cold:
            drop_cache(path)
        threads = name[-2] if name.endswith("T") else None
        work, wall, peak = run_once(RUNS[name], path, model, extra, threads)
        works.append(work)
        walls.append(wall)
        peaks.append(peak)
    return {
        "work": statistics.median(works),
        "wall": statistics.median(walls),
        "rss": max(peaks),
    }


def machine() -> str:
    return "; ".join(f"{key} {value}" for key, value in describe().items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-gb", type=float, default=2.0)
    parser.add_argument("--features", type=int, default=16)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cold", action="store_true", help="drop the file from the page cache")
    parser.add_argument("--both", action="store_true", help="warm and cold runs")
    parser.add_argument("--runs", default=",".join(RUNS), help="comma-separated subset of runs")
    parser.add_argument("--keep", action="store_true", help="keep the data file afterwards")
    parser.add_argument("--json", action="store_true", help="print the results as JSON too")
    args = parser.parse_args()

    path = args.dir / f"vaecheck-bench-{args.size_gb:g}gb-{args.features}f.npy"
    print(f"machine: {machine()}")
    print(f"writing {path} ...", flush=True)
    rows, size = write_data(path, int(args.size_gb * 2**30), args.features)
    print(f"data: float32 ({rows:,}, {args.features}), {size / 2**30:.2f} GiB ({size:,} bytes)")
    modes = [False, True] if args.both else [args.cold]
    results = []
    try:
        for cold in modes:
            rows_out = {}
            for name in args.runs.split(","):
                rows_out[name] = measure(name, path, args.model, args.repeat, cold)
            results.append((cold, rows_out))
    finally:
        if not args.keep:
            path.unlink()
            print(f"deleted {path}")
    for cold, rows_out in results:
        print()
        cache = "cold cache (pages dropped before each run)" if cold else "warm cache"
        print(f"{size / 2**30:.2f} GiB, {cache}, median of {args.repeat}:")
        header = (
            f"{'run':<16} {'work s':>8} {'wall s':>8} {'GB/s':>7} {'vs load':>8} "
            f"{'vs chunks':>9} {'vs mmap':>8} {'peak RSS MB':>12}"
        )
        print(header)
        print("-" * len(header))
        baseline = {k: rows_out[k]["work"] for k in ("numpy load", "numpy mmap") if k in rows_out}
        chunked = [rows_out[k]["work"] for k in ("numpy chunks", "numpy chunks 4M") if k in rows_out]
        if chunked:
            baseline["numpy chunks"] = min(chunked)  # the faster block size: the harder baseline
        for name, figures in rows_out.items():
            ratios = [
                f"{figures['work'] / baseline[k]:.2f}x" if k in baseline else "-"
                for k in ("numpy load", "numpy chunks", "numpy mmap")
            ]
            print(
                f"{name:<16} {figures['work']:>8.2f} {figures['wall']:>8.2f} "
                f"{size / figures['work'] / 1e9:>7.2f} {ratios[0]:>8} {ratios[1]:>9} "
                f"{ratios[2]:>8} {figures['rss']:>12.0f}"
            )
    if args.json:
        print(json.dumps([{"cold": c, "runs": r} for c, r in results], indent=2))


if __name__ == "__main__":
    main()

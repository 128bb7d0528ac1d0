"""Throughput and peak memory of vaecheck on a big Parquet file and a big Zarr array, against
the bare library reading the same data the way a careful user would.

    python bench/source_throughput.py --size-gb 2            # writes, measures, deletes
    python bench/source_throughput.py --size-gb 2 --formats zarr --repeat 1

A benchmark run by hand, never a test (it needs the parquet and zarr extras). It writes float32
standardized values, 16 features a row, as:

  parquet   16 float32 columns, row groups of 2**20 rows (64 MiB), pyarrow's default snappy
  zarr      one (rows, 16) float32 array, chunks of 2**16 rows (4 MiB), zarr's default codecs

then times, each in a fresh process (the launcher and wait4 of bench/data_throughput.py):

  vaecheck data    open_data + measure_source: every statistic vaecheck reports, on its
                   default threads, with a relu codomain to count against
  pyarrow batches  ParquetFile(pre_buffer=False).iter_batches(), pyarrow.compute.min_max of
                   every column of every batch: the bare read (pre_buffer left on would buffer
                   whole row groups)
  zarr chunks      the array read chunk row by chunk row, .min() and .max() of each

and prints, per format, vaecheck's time as a ratio of the bare library's, measured in the same
run (target 1.5 or less), and each run's peak RSS (target under 300 MB).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from data_throughput import DEFAULT_MODEL, drop_cache, machine, run_once  # noqa: E402

FEATURES = 16
SLAB_ROWS = 2**20

VAECHECK_DATA = """
import sys, time
from vaecheck.intervals import INF, Interval
from vaecheck.readers.data import open_data
from vaecheck.stats import measure_source
start = time.perf_counter()
stats = measure_source(open_data(sys.argv[1]), [Interval(0.0, INF, True, False)])
print(time.perf_counter() - start, stats.min, stats.max, file=sys.stderr)
"""

PYARROW_BATCHES = """
import sys, time
import pyarrow.compute as pc
import pyarrow.parquet as pq
start = time.perf_counter()
low, high = float("inf"), float("-inf")
for batch in pq.ParquetFile(sys.argv[1], pre_buffer=False).iter_batches():
    for column in batch.columns:
        extremes = pc.min_max(column)
        low = min(low, extremes["min"].as_py())
        high = max(high, extremes["max"].as_py())
print(time.perf_counter() - start, low, high, file=sys.stderr)
"""

ZARR_CHUNKS = """
import sys, time
import zarr
start = time.perf_counter()
array = zarr.open_array(sys.argv[1], mode="r")
step = array.chunks[0]
low, high = float("inf"), float("-inf")
for first in range(0, array.shape[0], step):
    block = array[first : first + step]
    low, high = min(low, float(block.min())), max(high, float(block.max()))
print(time.perf_counter() - start, low, high, file=sys.stderr)
"""

# The same with column chunks read through a 1 MiB buffer, as vaecheck reads them: less memory,
# and on this data less time too; shown beside the baseline, not used as it.
PYARROW_BUFFERED = PYARROW_BATCHES.replace("pre_buffer=False)", "pre_buffer=False, buffer_size=2**20)")

BARE = {"parquet": ("pyarrow batches", PYARROW_BATCHES), "zarr": ("zarr chunks", ZARR_CHUNKS)}
EXTRA = {"parquet": [("pyarrow buffered", PYARROW_BUFFERED)], "zarr": []}


def slabs(rows: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.standard_normal((min(SLAB_ROWS, rows), FEATURES)).astype(np.float32) for _ in range(4)]


def write_parquet(path: Path, rows: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    made = slabs(rows)
    schema = pa.schema([(f"f{i}", pa.float32()) for i in range(FEATURES)])
    with pq.ParquetWriter(path, schema) as writer:
        written = 0
        while written < rows:
            slab = made[(written // SLAB_ROWS) % len(made)][: rows - written]
            writer.write_table(
                pa.table({f"f{i}": slab[:, i] for i in range(FEATURES)}, schema=schema),
                row_group_size=SLAB_ROWS,
            )
            written += slab.shape[0]


def write_zarr(path: Path, rows: int) -> None:
    import zarr

    made = slabs(rows)
    array = zarr.create_array(path, shape=(rows, FEATURES), chunks=(2**16, FEATURES), dtype="f4")
    for first in range(0, rows, SLAB_ROWS):
        slab = made[(first // SLAB_ROWS) % len(made)][: rows - first]
        array[first : first + slab.shape[0]] = slab


def size_of(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def measure(script: str, path: Path, repeat: int, cold: bool) -> dict[str, float]:
    works, peaks = [], []
    for _ in range(repeat):
        if cold:
            for file in [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]:
                drop_cache(file)
        work, _, peak = run_once(script, path, DEFAULT_MODEL)
        works.append(work)
        peaks.append(peak)
    return {"work": statistics.median(works), "rss": max(peaks)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-gb", type=float, default=2.0, help="of float32 values")
    parser.add_argument("--formats", default="parquet,zarr")
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cold", action="store_true", help="drop the files from the page cache")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    rows = int(args.size_gb * 2**30) // (4 * FEATURES)
    print(f"machine: {machine()}")
    print(f"data: float32 ({rows:,}, {FEATURES}), {rows * 4 * FEATURES / 2**30:.2f} GiB of values")
    cache = "cold cache" if args.cold else "warm cache"
    header = f"{'format':<8} {'run':<16} {'work s':>8} {'GB/s':>6} {'ratio':>6} {'peak RSS MB':>12}"
    lines = [header, "-" * len(header)]
    for kind in args.formats.split(","):
        path = args.dir / f"vaecheck-bench-{args.size_gb:g}gb.{kind}"
        print(f"writing {path} ...", flush=True)
        started = time.perf_counter()
        (write_parquet if kind == "parquet" else write_zarr)(path, rows)
        print(f"  {size_of(path) / 2**30:.2f} GiB on disk in {time.perf_counter() - started:.0f} s", flush=True)
        try:
            bare_name, bare_script = BARE[kind]
            bare = measure(bare_script, path, args.repeat, args.cold)
            extra = [(name, measure(script, path, args.repeat, args.cold)) for name, script in EXTRA[kind]]
            ours = measure(VAECHECK_DATA, path, args.repeat, args.cold)
        finally:
            if not args.keep:
                shutil.rmtree(path) if path.is_dir() else path.unlink()
                print(f"  deleted {path}", flush=True)
        values = rows * 4 * FEATURES
        for name, figures in ((bare_name, bare), *extra, ("vaecheck data", ours)):
            lines.append(
                f"{kind:<8} {name:<16} {figures['work']:>8.2f} {values / figures['work'] / 1e9:>6.2f} "
                f"{figures['work'] / bare['work']:>5.2f}x {figures['rss']:>12.0f}"
            )
    print(f"\n{cache}, median of {args.repeat}; ratio = time / the bare library's time:")
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

"""Memory stays flat on the whole data path, for every format: the statistics of a file far
larger than any block grow the peak RSS by a bounded amount, not by the file's size."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="resource is POSIX only")

ROWS, COLUMNS = 409_600, 128  # float32: 200 MiB

PROBE = textwrap.dedent(
    """
    import resource, sys
    from vaecheck.intervals import INF, Interval
    from vaecheck.readers.data import open_data
    from vaecheck.stats import measure_source

    def peak_mb():
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 2**20 if sys.platform == "darwin" else peak / 2**10

    source = open_data(sys.argv[1])
    before = peak_mb()
    stats = measure_source(source, [Interval(0.0, INF, True, False)])
    print(stats.count, stats.max, before, peak_mb() - before)
    """
)
# ru_maxrss survives exec: started by a small launcher, the probe's baseline is its own.
LAUNCHER = "import subprocess, sys; sys.exit(subprocess.run(sys.argv[1:]).returncode)"


def slabs(rows: int = ROWS, columns: int = COLUMNS):  # type: ignore[no-untyped-def]
    """float32 slabs whose row i holds i - 1000, written a slab at a time."""
    for start in range(0, rows, 16_384):
        ids = np.arange(start, min(start + 16_384, rows), dtype=np.float32) - 1000
        yield np.repeat(ids[:, None], columns, axis=1)


def write_npy(path: Path) -> Path:
    with path.open("wb") as handle:
        header = {"descr": "<f4", "fortran_order": False, "shape": (ROWS, COLUMNS)}
        np.lib.format.write_array_header_1_0(handle, header)
        for slab in slabs():
            handle.write(slab.tobytes())
    return path


def write_hdf5(path: Path) -> Path:
    with h5py.File(path, "w") as handle:
        dataset = handle.create_dataset(
            "x", shape=(ROWS, COLUMNS), dtype="f4", chunks=(2048, COLUMNS), compression="lzf"
        )
        start = 0
        for slab in slabs():
            dataset[start : start + slab.shape[0]] = slab
            start += slab.shape[0]
    return path


def write_csv(path: Path) -> Path:
    rows = 200_000  # about 40 MB of text
    with path.open("w") as handle:
        handle.write(",".join(f"c{i}" for i in range(24)) + "\n")
        for slab in slabs(rows, 24):
            np.savetxt(handle, slab, delimiter=",", fmt="%.1f")
    return path


def write_shards(path: Path) -> Path:
    path.mkdir()
    start = 0
    for number, slab in enumerate(slabs()):
        np.save(path / f"part-{number}.npy", slab)
        start += slab.shape[0]
    return path


@pytest.mark.parametrize(
    ("name", "write", "values", "high"),
    [
        ("data.npy", write_npy, ROWS * COLUMNS, ROWS - 1001),
        ("data.h5", write_hdf5, ROWS * COLUMNS, ROWS - 1001),
        ("data.csv", write_csv, 200_000 * 24, 200_000 - 1001),
        ("shards", write_shards, ROWS * COLUMNS, ROWS - 1001),
    ],
)
def test_statistics_in_flat_memory(
    tmp_path: Path, name: str, write: Callable[[Path], Path], values: int, high: float
) -> None:
    path = write(tmp_path / name)
    result = subprocess.run(
        [sys.executable, "-c", LAUNCHER, sys.executable, "-c", PROBE, str(path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    count, maximum, baseline, growth = result.stdout.split()
    assert int(count) == values and float(maximum) == high
    print(f"{name}: peak RSS {float(baseline):.1f} MB before measuring, +{float(growth):.1f} MB")
    # Blocks of 4 MiB, their temporaries and the sketches: tens of MB, whatever the size.
    assert float(growth) < 80

"""The data statistics measured on a Dask cluster, with the same result as on this machine.

A source is split into partitions: small descriptions of a part of it that a worker reopens
itself (a shard file, a range of rows of a `.npy` or of an HDF5 dataset, row groups of a
Parquet file, chunk rows of a Zarr array, a TFRecord file, a group of image files; rescaled
with `--rescaling` on the worker), or the blocks of a Dask array or
dataframe, which stay on the workers. Each partition is measured on a worker by
the same `measure_part` the local path runs on each shard, and the partial statistics merge
with the same `StatsAccumulator.merge`, as a tree of merges FAN_IN wide. Only the statistics
travel: a few kilobytes per partition, never the data.

What is the same as the local run:
- counts, minimum, maximum, non-finite counts and edge counts, exactly (integers and extremes
  do not depend on the order they are combined in);
- the mean and standard deviation up to floating-point reordering: blocks are summed in the
  data's precision, so partitions that start at other rows give sums rounded otherwise, within
  MOMENT_TOLERANCE relative (a few float32 roundings; float64 data agrees far closer);
- the quantiles (robust extremes) exactly when the sketch sees every value (up to
  stats.SKETCH_VALUES values); beyond, each is a sample's quantile within the sketch's stated
  rank error, as on this machine, drawn from other blocks.

Partition protocol: the parts a source names (`DataSource.parts()`: shard files, Parquet row
groups of about 64 MiB, Zarr chunk rows of about 64 MiB) are partitions, and a part whose body
has `reads_row_ranges` True (a `.npy` in C order, HDF5) is split further into row ranges of
about PARTITION_BYTES (aligned to its `row_alignment`, the rows of an HDF5 chunk), read by its
`row_range`; a body with `partition_rows(source, target_bytes)` names its own ranges instead.
Any other part is one partition. Workers read the files
themselves, so paths and URLs must be reachable from them; data held only in this process (an
array in memory, standard input) cannot be measured there.

`distributed` is imported only here, and only when a cluster is asked for (`vaecheck[dask]`).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from vaecheck.errors import VaecheckError
from vaecheck.extras import missing_extra
from vaecheck.readers.data import DataSource
from vaecheck.stats import DataStats, StatsAccumulator, StatsPlan, measure_part

# A partition costs the scheduler about a millisecond; 64 MiB takes a worker a few tenths of a
# second, so scheduling stays a small share, and a 10 GB file still spreads over 150 tasks.
PARTITION_BYTES = 64 * 2**20
# A format without row_range reads a range through a list of its rows (8 bytes each).
MAX_PARTITION_ROWS = 2**22
FAN_IN = 8  # partial statistics merged per task: a tree of depth log8(partitions)
DEFAULT_TIMEOUT = 10.0  # seconds to reach a scheduler
MOMENT_TOLERANCE = 1e-5  # relative, for the mean and standard deviation (absolute near 0)
LOCAL = re.compile(r"local(?::(\d+))?")
ADDRESS = re.compile(r"(?:(?:tcp|tls|ws|wss|inproc|ucx)://)?[^\s/:]+(?::\d+)?")


@dataclass(frozen=True)
class DaskOptions:
    """Where and how to measure on Dask.

    `scheduler`: an address (`tcp://host:8786`), `local` or `local:N` for a cluster of N worker
    processes started for this run, a `distributed.Client`, or None for the current client.
    `timeout`: seconds to reach the scheduler. `progress`: a bar on stderr as partitions finish.
    """

    scheduler: Any = None
    timeout: float = DEFAULT_TIMEOUT
    progress: bool = False
    partition_bytes: int = PARTITION_BYTES


def dask_options(value: Any) -> DaskOptions | None:
    """`check(dask=...)`'s value as options: None, True (the current client), an address, a
    Client, or DaskOptions."""
    if value is None or value is False:
        return None
    if value is True:
        return DaskOptions()
    if isinstance(value, DaskOptions):
        return value
    return DaskOptions(scheduler=value)


def is_dask_collection(data: object) -> bool:
    """A Dask array, dataframe or series (without importing Dask to find out)."""
    return hasattr(data, "__dask_graph__") and type(data).__module__.split(".")[0] == "dask"


# --- partitions ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Partition:
    """A part of a source that a worker opens itself: a file, or a range of its rows."""

    place: tuple[int, ...]  # seeds its random draws: (part,) as locally, or (part, first row)
    part: DataSource  # a file (its header, not its data), reopened and checked by the worker
    rows: tuple[int, int] | None = None  # [start, stop) of the part's rows; None for all

    @property
    def location(self) -> str:
        """The file and row range, as a person finds them."""
        if self.rows is None:
            return self.part.path
        start, stop = self.rows
        return f"{self.part.path} rows {start}-{stop - 1}"

    def open(self) -> DataSource:
        if self.rows is None:
            return self.part
        return self.part.row_range(*self.rows)


def partitions_of(source: DataSource, target_bytes: int = PARTITION_BYTES) -> tuple[Partition, ...]:
    """The partitions of `source`, in row order, each about `target_bytes` where it can split."""
    if source.held_here:
        raise VaecheckError(
            "data held only in this process (an array in memory or standard input) cannot be "
            "read by Dask workers: give a file or URL, or a Dask array",
            source.path,
        )
    partitions: list[Partition] = []
    for number, part in enumerate(source.parts()):
        ranges = _row_ranges(part, target_bytes)
        if ranges is None:
            partitions.append(Partition((number,), part))
        else:
            partitions.extend(Partition((number, start), part, (start, stop)) for start, stop in ranges)
    return tuple(partitions)


def _row_ranges(part: DataSource, target_bytes: int) -> Sequence[tuple[int, int]] | None:
    body = part._body
    named = getattr(body, "partition_rows", None)
    if named is not None:
        return named(part, target_bytes)
    row_bytes = max(1, part.size // max(part.rows, 1) * part.dtype.itemsize)
    if not part.reads_row_ranges or part.rows * row_bytes <= target_bytes:
        return None
    alignment = max(1, int(getattr(body, "row_alignment", 1)))
    per = max(1, min(target_bytes // row_bytes, MAX_PARTITION_ROWS))
    per = max(alignment, per - per % alignment)
    return [(start, min(start + per, part.rows)) for start in range(0, part.rows, per)]


# --- what runs on a worker ----------------------------------------------------------------------


def measure_partition(partition: Partition, plan: StatsPlan) -> StatsAccumulator:
    """A worker's task: the statistics of one partition, read by the worker."""
    try:
        return measure_part(partition.open(), plan, partition.place)
    except VaecheckError as error:
        raise VaecheckError(f"{error.problem} (a partition read by a Dask worker)", partition.location) from None


def measure_block(block: np.ndarray, plan: StatsPlan, place: tuple[int, ...]) -> StatsAccumulator:
    """A worker's task: the statistics of one block of a Dask array, where the block is."""
    accumulator = plan.accumulator(place)
    accumulator.update(np.asarray(block))
    return accumulator


def merge_partials(*partials: StatsAccumulator) -> StatsAccumulator:
    return functools.reduce(StatsAccumulator.merge, partials)


# --- running ------------------------------------------------------------------------------------


def measure_on_dask(source: DataSource, plan: StatsPlan, options: DaskOptions) -> DataStats:
    """The statistics of `source`, measured on the cluster `options` names."""
    with dask_client(options) as client:
        array = getattr(source._body, "dask_array", None)
        if array is not None:
            futures = _block_futures(client, array, plan)
        else:
            partitions = partitions_of(source, options.partition_bytes)
            futures = client.map(
                measure_partition, partitions, plan=plan, pure=False, key=_keys("partition", len(partitions))
            )
        return _reduce(client, futures, options.progress).result()


def _keys(kind: str, count: int) -> list[str]:
    import uuid

    run = uuid.uuid4().hex[:8]
    return [f"vaecheck-{kind}-{run}-{number}" for number in range(count)]


def _block_futures(client: Any, array: Any, plan: StatsPlan) -> list[Any]:
    blocks = client.compute(array.to_delayed().ravel().tolist())
    return [
        client.submit(measure_block, block, plan, (0, number), pure=False, key=key)
        for number, (block, key) in enumerate(zip(blocks, _keys("block", len(blocks))))
    ]


def _reduce(client: Any, futures: list[Any], progress: bool) -> StatsAccumulator:
    from distributed import as_completed

    level = futures
    while len(level) > 1:
        level = [
            client.submit(merge_partials, *level[start : start + FAN_IN], pure=False)
            for start in range(0, len(level), FAN_IN)
        ]
    bar = _ProgressBar(len(futures)) if progress else None
    try:
        for future in as_completed(futures):
            if future.status == "error":
                failure = future.exception()
                client.cancel(level + futures)
                raise failure
            if bar is not None:
                bar.advance()
        return level[0].result()
    except VaecheckError:
        raise
    except Exception as error:
        known = _cluster_error(error)
        if known is None:
            raise
        raise known from None
    finally:
        if bar is not None:
            bar.close()


def _cluster_error(error: Exception) -> VaecheckError | None:
    """What a failure of the cluster itself means to the user; None for anything else."""
    name = type(error).__name__
    if name == "KilledWorker":
        return VaecheckError(
            f"Dask workers died while measuring a partition, too often to retry ({error})"
        )
    if isinstance(error, (OSError, TimeoutError)) or name in ("CancelledError", "CommClosedError"):
        return VaecheckError(f"the Dask cluster was lost during the run ({name}: {error})")
    return None


class _ProgressBar:
    def __init__(self, total: int) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            TextColumn("dask: partitions"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._progress.start()
        self._task = self._progress.add_task("partitions", total=total)

    def advance(self) -> None:
        self._progress.advance(self._task)

    def close(self) -> None:
        self._progress.stop()


@contextmanager
def dask_client(options: DaskOptions) -> Iterator[Any]:
    """A client of the cluster `options` names; a local cluster started here is closed after."""
    try:
        import distributed
    except ImportError:
        raise missing_extra("dask", "--dask") from None
    scheduler = options.scheduler
    if scheduler is None:
        try:
            yield distributed.get_client()
        except ValueError:
            raise VaecheckError(
                "no Dask client is running: start one (distributed.Client(...)) or name a "
                "scheduler with dask='tcp://host:8786' or dask='local:2'"
            ) from None
        return
    if not isinstance(scheduler, str):
        yield scheduler  # a Client the caller owns and closes
        return
    local = LOCAL.fullmatch(scheduler)
    if local is not None:
        import os

        workers = int(local.group(1) or os.cpu_count() or 1)
        if workers < 1:
            raise VaecheckError(f"--dask '{scheduler}': a local cluster needs at least one worker")
        cluster = distributed.LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            # The scheduler serves HTTP whatever this says: on a free port of this machine only,
            # not on 8787, which another cluster may hold (Dask would warn on stderr).
            dashboard_address="127.0.0.1:0",
            # A partition's error reaches the user as one line; the workers' own log of it (a
            # traceback) would only repeat it.
            silence_logs=logging.CRITICAL,
        )
        try:
            with distributed.Client(cluster) as client:
                yield client
        finally:
            cluster.close()
        return
    if not ADDRESS.fullmatch(scheduler):
        raise VaecheckError(
            f"--dask {scheduler!r}: not a scheduler address (tcp://host:8786) nor local[:N]"
        )
    try:
        client = distributed.Client(scheduler, timeout=options.timeout)
    except (OSError, TimeoutError) as error:
        raise VaecheckError(
            f"cannot reach the Dask scheduler at {scheduler} within {options.timeout:g} s "
            f"(--dask-timeout): {type(error).__name__}"
        ) from None
    try:
        yield client
    finally:
        client.close()


# --- Dask collections as sources ----------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class DaskArrayBody:
    """A Dask array in row blocks; the statistics run where its blocks are, on the cluster.

    Reading blocks here (for --probe or a sample) computes them one at a time."""

    dask_array: Any

    def blocks(self, source: DataSource, max_bytes: int, reuse: int) -> Iterator[tuple[tuple[slice, ...], np.ndarray]]:
        start = 0
        rest = (slice(None),) * (len(source.shape) - 1)
        for rows in self.dask_array.chunks[0]:
            block = np.asarray(self.dask_array[start : start + rows].compute())
            yield (slice(start, start + rows), *rest), block
            start += rows


def dask_source(data: Any) -> DataSource:
    """A DataSource over a Dask array, dataframe or series, in blocks of whole rows."""
    names: tuple[str, ...] | None = None
    kind = "array"
    if hasattr(data, "to_dask_array"):  # a dataframe or series: row counts are computed
        kind = "dataframe" if hasattr(data, "columns") else "series"
        if hasattr(data, "columns"):
            names = tuple(str(column) for column in data.columns)
        data = data.to_dask_array(lengths=True)
    if any(np.isnan(size) for sizes in data.chunks for size in sizes):
        data = data.compute_chunk_sizes()
    if data.ndim == 0:
        raise VaecheckError(f"a Dask {kind} of a single value is not data to check")
    dtype = np.dtype(data.dtype)
    if dtype.kind not in "biuf":
        raise VaecheckError(f"a Dask {kind} of {dtype} values: vaecheck measures numbers")
    if data.ndim > 1:
        data = data.rechunk({axis: -1 for axis in range(1, data.ndim)})
    blocks = len(data.chunks[0])
    return DataSource(
        path=f"<dask {kind}>",
        description=f"dask {kind} ({blocks} partition{'s' if blocks != 1 else ''})",
        shape=tuple(int(size) for size in data.shape),
        dtype=dtype,
        fortran_order=False,
        _body=DaskArrayBody(data),
        feature_names=names,
    )


"""Data in memory and data pipelines -> the inputs and targets the checks compare.

Accepted: a numpy array or anything `np.asarray` takes (lists, pandas DataFrame and Series,
tensors of any framework through their `.numpy()`); a tuple `(x,)`, `(x, y)` or
`(x, y, sample_weight)` as Keras's `fit` unpacks it; a dict of named arrays; a
`tf.data.Dataset`, a `keras.utils.PyDataset` or `Sequence`, a generator or any iterable of such
batches (a PyTorch `DataLoader` included: torch is never imported, its tensors give arrays
through `.numpy()`).

For `(x, y)` the targets are `y`; for `x` alone (an autoencoder) they are `x`. Reading is
bounded: at most `max_batches` batches, and by default no more than DEFAULT_MAX_BYTES of
arrays; an endless pipeline without `max_batches` is refused before one batch is read. The
batches read are joined and handed to the same streaming statistics a file goes through.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from vaecheck.errors import VaecheckError
from vaecheck.readers.data import DataSource, array_source

DEFAULT_MAX_BYTES = 64 * 2**20
INPUT_SAMPLE_ROWS = 2048  # input rows kept to run an untraceable model on
ACCEPTED = (
    "a numpy array or array-like, a pandas DataFrame or Series, a tuple (x, y) or "
    "(x, y, sample_weight), a dict of arrays, a tf.data.Dataset, a keras.utils.PyDataset or "
    "Sequence, or an iterable or generator of batches"
)


@dataclass(frozen=True)
class LiveData:
    """The targets (one array, or one per output name) and a few input rows."""

    targets: DataSource | dict[str, DataSource]
    inputs: Any  # up to INPUT_SAMPLE_ROWS rows of x: an array, a list or a dict of arrays
    origin: str  # "<tf.data.Dataset>", "<DataFrame>", ...
    read_note: str | None  # how much of a pipeline was read
    targets_are_inputs: bool


def read_live_data(data: Any, *, max_batches: int | None = None, max_bytes: int | None = None) -> LiveData:
    origin = _origin(data)
    if max_batches is not None and max_batches <= 0:
        raise VaecheckError(f"max_batches must be at least 1, not {max_batches}", origin)
    budget = DEFAULT_MAX_BYTES if max_bytes is None else max_bytes
    batches = _batches(data, origin, max_batches)
    if batches is None:  # one batch in memory: an array, a frame, a tuple, a dict
        x, y = _unpack(data, origin)
        return _live_data([(x, y)], origin, None)
    read: list[tuple[Any, Any]] = []
    total = 0
    stopped = None
    for index, batch in enumerate(batches.iterate):
        x, y = _unpack(batch, f"{origin} batch {index}")
        read.append((x, y))
        total += _nbytes(x) + (_nbytes(y) if y is not None else 0)
        if max_batches is not None and len(read) >= max_batches:
            stopped = f"max_batches={max_batches}"
            break
        if total >= budget and max_batches is None:
            stopped = f"the default bound of {budget // 2**20} MiB"
            break
    if not read:
        raise VaecheckError("the data yielded no batch", origin)
    rows = sum(_length(y if y is not None else x) for x, y in read)
    of = f" of {batches.length:,}" if batches.length is not None else ""
    if stopped is None:
        note = f"read all {len(read):,} batches{of} of {origin} ({rows:,} rows)"
    else:
        note = f"read {len(read):,} batches{of} of {origin} ({rows:,} rows), stopped at {stopped}"
    return _live_data(read, origin, note)


def _origin(data: Any) -> str:
    """How the data is named in the report: its kind, as the user would say it."""
    if isinstance(data, tuple) and 1 <= len(data) <= 3:
        return "<" + ("(x,)", "(x, y)", "(x, y, sample_weight)")[len(data) - 1] + ">"
    for cls in type(data).__mro__:
        module = (cls.__module__ or "").split(".")[0]
        if module == "tensorflow" and cls.__name__ in ("DatasetV2", "DatasetV1"):
            return "<tf.data.Dataset>"
        if module in ("keras", "tf_keras") and cls.__name__ in ("PyDataset", "Sequence"):
            return f"<{type(data).__name__} ({cls.__name__})>"
        if module == "pandas" and cls.__name__ in ("DataFrame", "Series"):
            return f"<pandas {cls.__name__}>"
    return f"<{type(data).__name__}>"


@dataclass(frozen=True)
class _Batches:
    iterate: Iterator[Any]
    length: int | None


def _batches(data: Any, origin: str, max_batches: int | None) -> _Batches | None:
    names = {(c.__module__ or "").split(".")[0] + "." + c.__name__ for c in type(data).__mro__}
    if any(n.startswith("tensorflow.") and n.endswith(("DatasetV2", "DatasetV1")) for n in names):
        return _tf_dataset(data, origin, max_batches)
    if any(n.endswith((".PyDataset", ".Sequence")) for n in names) and hasattr(data, "__getitem__"):
        return _py_dataset(data, origin, max_batches)
    if isinstance(data, (np.ndarray, tuple, list, Mapping)) or _array_like(data):
        return None
    if hasattr(data, "__iter__") or hasattr(data, "__next__"):
        return _Batches(iter(data), _known_length(data))
    raise VaecheckError(f"unsupported data {type(data).__name__}: give {ACCEPTED}", origin)


def _array_like(data: Any) -> bool:
    """Something np.asarray reads as a whole: a frame, a series, a tensor."""
    return any(
        hasattr(data, attribute) for attribute in ("__array__", "__array_interface__", "to_numpy")
    ) or callable(getattr(data, "numpy", None))


def _known_length(data: Any) -> int | None:
    try:
        return len(data)
    except Exception:
        return None


def _tf_dataset(data: Any, origin: str, max_batches: int | None) -> _Batches:
    import tensorflow as tf

    cardinality = int(data.cardinality())
    if cardinality == int(tf.data.INFINITE_CARDINALITY) and max_batches is None:
        raise VaecheckError(
            "the dataset is endless (it repeats): give max_batches= to say how many batches to "
            "read",
            origin,
        )
    length = cardinality if cardinality >= 0 else None
    return _Batches(iter(data), length)


def _py_dataset(data: Any, origin: str, max_batches: int | None) -> _Batches:
    length = getattr(data, "num_batches", None) if hasattr(data, "num_batches") else None
    if length is None:
        length = _known_length(data)
    if length is None and max_batches is None:
        raise VaecheckError(
            "the dataset has no length (it is endless): give max_batches= to say how many "
            "batches to read",
            origin,
        )

    def items() -> Iterator[Any]:
        index = 0
        while length is None or index < length:
            yield data[index]
            index += 1

    return _Batches(items(), length)


def _unpack(element: Any, where: str) -> tuple[Any, Any]:
    """(x, y) as `keras.utils.unpack_x_y_sample_weight` splits a batch; y None for x alone."""
    if isinstance(element, list) and 1 <= len(element) <= 3 and not _is_numbers(element):
        element = tuple(element)
    if isinstance(element, tuple):
        if len(element) == 1:
            return _arrays(element[0], where), None
        if len(element) in (2, 3):
            x, y = element[0], element[1]
            return _arrays(x, where), (None if y is None else _arrays(y, where))
        raise VaecheckError(
            f"a batch is a tuple of {len(element)} items; Keras takes (x,), (x, y) or "
            "(x, y, sample_weight)",
            where,
        )
    return _arrays(element, where), None


def _is_numbers(items: list[Any]) -> bool:
    return all(isinstance(item, (int, float, bool, list)) for item in items)


def _arrays(value: Any, where: str) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _array(v, f"{where} ['{k}']") for k, v in value.items()}
    if isinstance(value, (list, tuple)) and value and not _is_numbers(list(value)):
        return [_array(v, f"{where} [{i}]") for i, v in enumerate(value)]
    return _array(value, where)


def _array(value: Any, where: str) -> np.ndarray:
    """An array from a tensor (any framework's, by `.numpy()`), a frame or a list."""
    for step in ("detach", "cpu"):  # a PyTorch tensor on a device or in a graph: no torch import
        method = getattr(value, step, None)
        if callable(method) and type(value).__module__.startswith("torch"):
            value = method()
    convert = getattr(value, "numpy", None)
    try:
        array = np.asarray(convert() if callable(convert) else value)
    except Exception as exc:
        raise VaecheckError(f"cannot read {type(value).__name__} as numbers ({exc})", where) from None
    if array.dtype.hasobject or array.dtype.kind not in "biuf":
        raise VaecheckError(
            f"non-numeric values (dtype {array.dtype}): vaecheck compares numbers", where
        )
    if array.ndim == 0:
        raise VaecheckError("a single number, not a batch of samples", where)
    return array


def _nbytes(value: Any) -> int:
    if isinstance(value, Mapping):
        return sum(v.nbytes for v in value.values())
    if isinstance(value, list):
        return sum(v.nbytes for v in value)
    return int(value.nbytes)


def _length(value: Any) -> int:
    if isinstance(value, Mapping):
        return min(len(v) for v in value.values())
    if isinstance(value, list):
        return min(len(v) for v in value)
    return len(value)


def _live_data(read: list[tuple[Any, Any]], origin: str, note: str | None) -> LiveData:
    with_targets = [y is not None for _, y in read]
    if any(with_targets) and not all(with_targets):
        first = with_targets.index(not with_targets[0])
        raise VaecheckError(
            f"batch {first} {'has' if with_targets[first] else 'lacks'} targets where batch 0 "
            f"{'has' if with_targets[0] else 'lacks'} them",
            origin,
        )
    targets_are_inputs = not with_targets[0]
    target_parts = [x if targets_are_inputs else y for x, y in read]
    joined = _join(target_parts, origin, "targets" if not targets_are_inputs else "x")
    inputs = _join([x for x, _ in read], origin, "x", rows=INPUT_SAMPLE_ROWS)
    if isinstance(joined, Mapping):
        targets: DataSource | dict[str, DataSource] = {
            name: array_source(array, f"{origin}['{name}']") for name, array in joined.items()
        }
    elif isinstance(joined, list):
        if len(joined) != 1:
            raise VaecheckError(
                f"the targets are a list of {len(joined)} arrays: give them as a dict keyed "
                "by output name, so that each meets its own output",
                origin,
            )
        targets = array_source(joined[0], origin)
    else:
        targets = array_source(joined, origin)
    return LiveData(targets, inputs, origin, note, targets_are_inputs)


def _join(parts: list[Any], origin: str, what: str, rows: int | None = None) -> Any:
    """The batches' arrays joined along the samples (the first `rows` of them, if given);
    a batch whose samples differ in shape from the first batch's is named."""
    first = parts[0]
    if isinstance(first, Mapping):
        keys = list(first)
        for index, part in enumerate(parts):
            if not isinstance(part, Mapping) or list(part) != keys:
                raise VaecheckError(f"batch {index} of {what} does not hold the keys {keys}", origin)
        return {k: _join_arrays([p[k] for p in parts], origin, f"{what}['{k}']", rows) for k in keys}
    if isinstance(first, list):
        for index, part in enumerate(parts):
            if not isinstance(part, list) or len(part) != len(first):
                raise VaecheckError(f"batch {index} of {what} is not a list of {len(first)} arrays", origin)
        return [
            _join_arrays([p[i] for p in parts], origin, f"{what}[{i}]", rows) for i in range(len(first))
        ]
    for index, part in enumerate(parts):
        if not isinstance(part, np.ndarray):
            raise VaecheckError(f"batch {index} of {what} is not an array like batch 0", origin)
    return _join_arrays(parts, origin, what, rows)


def _join_arrays(parts: list[np.ndarray], origin: str, what: str, rows: int | None) -> np.ndarray:
    sample = parts[0].shape[1:]
    for index, part in enumerate(parts):
        if part.shape[1:] != sample:
            raise VaecheckError(
                f"batch {index} of {what} has samples of shape {tuple(part.shape[1:])}, batch 0 "
                f"of shape {tuple(sample)}",
                origin,
            )
    if rows is not None:
        kept, count = [], 0
        for part in parts:
            if count >= rows:
                break
            kept.append(part[: rows - count])
            count += len(kept[-1])
        parts = kept
    if len(parts) == 1:
        return parts[0]
    dtype = np.result_type(*parts)
    return np.concatenate(parts, axis=0, dtype=dtype)

"""What every check sees and yields. Checks read facts, never files, Keras or the console."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vaecheck.codomain import Codomain
from vaecheck.intervals import Interval
from vaecheck.losses import LossSpec
from vaecheck.report import Fix, ProbeObservation, Severity
from vaecheck.shapes import Shape

if TYPE_CHECKING:  # the statistics module needs numpy, which listing the checks does not
    from vaecheck.stats import DataKind, DataStats, EdgeCounts, RowSums


@dataclass(frozen=True)
class OutputFacts:
    output: str
    codomain: Codomain
    stats: DataStats | None  # None: the model is checked alone (only checks needing no data run)
    data_kind: DataKind | None
    edges: EdgeCounts | None  # the data against this output's codomain, when it is known
    loss: LossSpec | None
    observed: ProbeObservation | None = None  # what --probe saw the output produce
    shape: Shape | None = None  # the output tensor's shape, batch axis first, when known

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """The shape of one data sample (the targets of one model input)."""
        return tuple(self.stats.shape[1:])

    @property
    def units(self) -> int | None:
        """The output's length along its last axis (the classes of a classifier)."""
        if self.shape is None or not self.shape:
            return None
        return self.shape[-1]

    @property
    def softmax_axis(self) -> int | None:
        """The axis a softmax normalizes this output over, when a softmax bounds it."""
        return self.codomain.simplex_axis

    @property
    def softmax_axis_size(self) -> int | None:
        axis = self.codomain.simplex_axis
        if axis is None:
            return None
        if self.shape is not None and -len(self.shape) <= axis < len(self.shape):
            size = self.shape[axis]
            if size is not None:
                return size
        # The range engine makes a softmax over one value the constant 1.
        interval = self.codomain.interval
        if interval is not None and interval.low == interval.high == 1.0:
            return 1
        return None

    @property
    def sparse_targets(self) -> bool:
        """Targets shaped like class indices of this output: (N,) or (N, 1) against (None, C)."""
        if self.shape is None or len(self.shape) < 2 or self.shape[-1] in (1, None):
            return False
        leading = self.shape[1:-1]
        sample = self.sample_shape
        return _same(sample, leading) or _same(sample, (*leading, 1))

    @property
    def targets_are_output_values(self) -> bool:
        """Whether each target value is one the output should produce, so that ranges compare.

        False for logits, class indices and labels of a non-regression loss; with no loss
        known, the data is taken to be what the output reproduces (an autoencoder's input).
        """
        if self.sparse_targets:
            return False
        return self.loss is None or self.loss.targets_are_output_values

    def row_sums(self, tensor_axis: int) -> RowSums | None:
        """The data's row sums along the output's `tensor_axis` (batch axis included)."""
        axis = sample_axis(tensor_axis, self.shape)
        return None if axis is None else self.stats.row_sums_along(axis)


def sample_axis(tensor_axis: int, shape: Shape | None) -> int | None:
    """A tensor axis (batch first, either sign) as a sample axis counted from the end."""
    if tensor_axis < 0:
        return tensor_axis
    if shape is None or tensor_axis == 0 or tensor_axis >= len(shape):
        return None
    return tensor_axis - len(shape)


def _same(sample: tuple[int, ...], expected: tuple[Any, ...]) -> bool:
    return len(sample) == len(expected) and all(e is None or e == s for e, s in zip(expected, sample))


@dataclass(frozen=True)
class StatsRequest:
    """What a check needs measured in the one pass over the data, beyond the basics."""

    intervals: tuple[Interval, ...] = ()  # count values beyond and on these ends
    row_axes: tuple[int, ...] = ()  # sum rows along these sample axes (negative)
    value_counts: tuple[float, ...] | None = None  # count these exact values and non-integers

    @classmethod
    def union(cls, requests: Iterable[StatsRequest]) -> StatsRequest:
        intervals: dict[Interval, None] = {}
        axes: dict[int, None] = {}
        values: dict[float, None] | None = None
        for request in requests:
            intervals.update(dict.fromkeys(request.intervals))
            axes.update(dict.fromkeys(request.row_axes))
            if request.value_counts is not None:
                values = values if values is not None else {}
                values.update(dict.fromkeys(request.value_counts))
        return cls(tuple(intervals), tuple(axes), tuple(values) if values is not None else None)


@dataclass(frozen=True)
class Problem:
    """A check's raw finding; the engine stamps the code, id and configured severity on it."""

    message: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    severity: Severity | None = None  # only to lower or raise the default for this instance
    fix: Fix | None = None  # what to change, when the check knows better than the range fix

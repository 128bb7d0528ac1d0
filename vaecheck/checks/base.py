"""What every check sees and yields. Checks read facts, never files, Keras or the console."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from vaecheck.codomain import Codomain
from vaecheck.losses import LossSpec
from vaecheck.report import ProbeObservation, Severity
from vaecheck.stats import DataKind, DataStats, EdgeCounts


@dataclass(frozen=True)
class OutputFacts:
    output: str
    codomain: Codomain
    stats: DataStats
    data_kind: DataKind
    edges: EdgeCounts | None  # the data against this output's codomain, when it is known
    loss: LossSpec | None
    observed: ProbeObservation | None = None  # what --probe saw the output produce


@dataclass(frozen=True)
class Problem:
    """A check's raw finding; the engine stamps the code, id and configured severity on it."""

    message: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    severity: Severity | None = None  # only to lower or raise the default for this instance

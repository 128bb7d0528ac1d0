"""The immutable results that formatters turn into text, JSON and the rest."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

import numpy as np

from vaecheck.codomain import Codomain
from vaecheck.stats import DataKind, DataStats, FeatureOutside

REPORT_VERSION = 1


class Severity(IntEnum):
    INFO = 1
    WARNING = 2
    ERROR = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            choices = ", ".join(s.label for s in cls)
            raise ValueError(f"unknown severity '{text}' (choose from {choices})") from None


@dataclass(frozen=True)
class Finding:
    code: str  # stable: "VC001"
    id: str  # stable name: "data-outside-codomain"
    severity: Severity
    output: str
    message: str
    evidence: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Rescale:
    """x_model = x * scale + offset, and back: x = x_model * inverse_scale + inverse_offset."""

    scale: float
    offset: float
    target_low: float
    target_high: float

    @property
    def inverse_scale(self) -> float:
        return 1.0 / self.scale

    @property
    def inverse_offset(self) -> float:
        return -self.offset / self.scale


@dataclass(frozen=True, eq=False)
class FeatureRescale:
    """The affine map per feature (the last axis): x_model = x * scale + offset, elementwise."""

    scale: np.ndarray
    offset: np.ndarray
    target_low: float
    target_high: float
    axis_name: str  # "feature" or "channel"
    reason: str  # why per feature: asked for, or how far the features' ranges differ

    @property
    def inverse_scale(self) -> np.ndarray:
        return 1.0 / self.scale

    @property
    def inverse_offset(self) -> np.ndarray:
        return -self.offset / self.scale


@dataclass(frozen=True)
class Fix:
    kind: str  # "none" | "change-activation" | "rescale-data" | "encode-labels"
    summary: str
    activation: str | None = None  # the activation to use instead, for change-activation
    rescale: Rescale | None = None  # rescale the data into the (current or suggested) codomain
    rescale_for: str | None = None  # which activation the rescale targets
    alternative: str | None = None
    per_feature: FeatureRescale | None = None  # the same rescale, feature by feature


@dataclass(frozen=True)
class OutputResult:
    name: str
    label: str  # the node that produces it: "decoder › dec_out"
    shape: tuple[int | None, ...] | None
    codomain: Codomain
    findings: tuple[Finding, ...]
    fix: Fix
    loss: str | None = None
    worst_features: tuple[FeatureOutside, ...] = ()  # largest share outside the codomain first
    features_outside: int = 0  # how many features have values outside the codomain


@dataclass(frozen=True)
class SampleInfo:
    """The data checked is a uniform random sample of rows, not all of them."""

    rows: int
    of_rows: int
    seed: int | None


@dataclass(frozen=True)
class Report:
    model: str
    data: str
    data_description: str
    stats: DataStats
    data_kind: DataKind
    outputs: tuple[OutputResult, ...]
    skipped_outputs: tuple[tuple[str, str], ...] = ()  # (output, why it was not compared)
    notes: tuple[str, ...] = ()
    sampled: bool = False
    sample: SampleInfo | None = None  # set when sampled

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(f for output in self.outputs for f in output.findings)

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    def worst(self) -> Severity | None:
        return max((f.severity for f in self.findings), default=None)

    def fails(self, fail_on: Severity = Severity.ERROR) -> bool:
        worst = self.worst()
        return worst is not None and worst >= fail_on

    @property
    def ok(self) -> bool:
        return not self.fails(Severity.ERROR)

"""The immutable results that formatters turn into text, JSON and the rest."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from vaecheck.codomain import Codomain
from vaecheck.intervals import Interval
from vaecheck.losses import LossSpec

if TYPE_CHECKING:  # numpy is imported on use: listing the checks (`vaecheck rules`) needs none
    import numpy as np

    from vaecheck.readers.source import MissingChunks

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
    fix: Fix | None = None  # what to change; an output leads with its worst finding's fix


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
        return -self.offset / self.scale + 0.0  # + 0.0: no "-0.0" in a pasted line


@dataclass(frozen=True, eq=False)
class FeatureRescale:
    """The affine map per feature (the last axis): x_model = x * scale + offset, elementwise."""

    scale: np.ndarray
    offset: np.ndarray
    target_low: float
    target_high: float
    axis_name: str  # "feature" or "channel"
    reason: str  # why per feature: asked for, or how far the features' ranges differ

    # A scale of data spanning most of the float range has an inverse past the float maximum:
    # inf, as the scalar Rescale's would be, and no numpy warning about it.
    @property
    def inverse_scale(self) -> np.ndarray:
        import numpy as np

        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            return 1.0 / self.scale

    @property
    def inverse_offset(self) -> np.ndarray:
        import numpy as np

        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            return -self.offset / self.scale


@dataclass(frozen=True)
class Fix:
    kind: str  # "none" | "change-activation" | "rescale-data" | "encode-labels" | "change-loss" | "change-targets"
    summary: str
    activation: str | None = None  # the activation to use instead, for change-activation
    loss: str | None = None  # the loss to compile with, as Keras source, for change-loss
    rescale: Rescale | None = None  # rescale the data into the (current or suggested) codomain
    rescale_for: str | None = None  # which activation the rescale targets
    alternative: str | None = None
    per_feature: FeatureRescale | None = None  # the same rescale, feature by feature
    framework: str | None = None  # whose words the fix uses (ONNX models); None: Keras's


@dataclass(frozen=True)
class ProbeObservation:
    """What `--probe` saw one output produce, and how much of the data lies beyond it.

    Observed, never proven: other inputs may reach further. `low`/`high` are over the finite
    output values (None when none was finite).
    """

    low: float | None
    high: float | None
    samples: int  # model inputs run
    inputs: str  # "data" or "latent N(0,I) x1,x3,x10"
    safe_mode: bool
    values: int  # output values seen
    nonfinite: int
    count_outside: int | None = None  # finite data values outside [low, high]
    fraction_outside: float | None = None

    @property
    def interval(self) -> Interval | None:
        if self.low is None or self.high is None:
            return None
        return Interval.closed(self.low, self.high)


@dataclass(frozen=True)
class ProbeSummary:
    """How the model was run for `--probe`."""

    loader: str  # "keras.saving.load_model" or "keras.layers.TFSMLayer(call_endpoint='serve')"
    backend: str
    keras_version: str
    safe_mode: bool
    inputs: str
    samples: int
    seconds: float
    saved_model: bool = False  # a SavedModel without a Keras configuration: nothing proven


@dataclass(frozen=True)
class OutputResult:
    name: str
    label: str  # the node that produces it: "decoder › dec_out"
    shape: tuple[int | None, ...] | None
    codomain: Codomain
    findings: tuple[Finding, ...]
    fix: Fix
    loss: str | None = None
    loss_spec: LossSpec | None = None  # the loss in full (from_logits, where it was read)
    targets_compared: bool = True  # False when targets are labels or logits' probabilities
    probe: ProbeObservation | None = None
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
    data: str | None  # None: the model checked alone (its codomains, loss and safety checks)
    data_description: str
    stats: DataStats | None
    data_kind: DataKind | None
    outputs: tuple[OutputResult, ...]
    skipped_outputs: tuple[tuple[str, str], ...] = ()  # (output, why it was not compared)
    notes: tuple[str, ...] = ()
    sampled: bool = False
    probe: ProbeSummary | None = None
    sample: SampleInfo | None = None  # set when sampled
    saved_rescale: str | None = None  # where --save-rescale wrote the fix's rescaling
    missing_chunks: MissingChunks | None = None  # chunks a Zarr store lacks (read as fill value)
    rescaling: Any = None  # readers.rescaling.Rescaling: the pipeline's map, applied to the data
    skipped_files: tuple[tuple[str, str], ...] = ()  # (file, why) left out with --skip-bad
    # Findings about the model file as a whole (the VC3xx safety checks), not about one output.
    model_findings: tuple[Finding, ...] = ()

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(f for output in self.outputs for f in output.findings) + self.model_findings

    @property
    def model_only(self) -> bool:
        """Whether the model was checked without data."""
        return self.stats is None

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

    def _repr_html_(self) -> str:
        """Jupyter shows a report as HTML: verdict, each output, an SVG histogram of the data."""
        from vaecheck.formats.html import render_html

        return render_html(self)


@dataclass(frozen=True)
class UnusablePair:
    """A MODEL/DATA pair that could not be checked, and why (the one-line error)."""

    model: str
    data: str | None
    problem: str
    path: str | None = None  # the file the problem is in, when the error names one

    @property
    def location(self) -> str:
        return self.path or self.model


@dataclass(frozen=True)
class CheckRun:
    """Everything one invocation checked: a report per usable pair, and the pairs that were not."""

    reports: tuple[Report, ...]
    unusable: tuple[UnusablePair, ...] = ()

    @property
    def single(self) -> bool:
        """Whether exactly one pair was asked for: its report then stands alone."""
        return len(self.reports) + len(self.unusable) == 1

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(f for report in self.reports for f in report.findings)

    def count(self, severity: Severity) -> int:
        return sum(report.count(severity) for report in self.reports)

    def fails(self, fail_on: Severity = Severity.ERROR) -> bool:
        return any(report.fails(fail_on) for report in self.reports)

    @property
    def ok(self) -> bool:
        return not self.unusable and all(report.ok for report in self.reports)

    def _repr_html_(self) -> str:
        from vaecheck.formats.html import render_run_html

        return render_run_html(self)

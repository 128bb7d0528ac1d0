"""The JSON report: the stable, versioned contract of DESIGN.md.

One pair gives the single-report object of the contract. Several pairs give
`{"version", "ok", "summary", "reports": [<single-report object>, ...], "errors": [...]}`,
so a consumer reads `document.get("reports", [document])`.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from vaecheck.codomain import Codomain
from vaecheck.formats import RenderOptions
from vaecheck.report import (
    REPORT_VERSION,
    CheckRun,
    FeatureRescale,
    Finding,
    Fix,
    OutputResult,
    ProbeObservation,
    ProbeSummary,
    Report,
    Severity,
)
from vaecheck.stats import DataStats, FeatureOutside

# Per-feature vectors in the JSON report up to this many features; past it, a note says so.
MAX_JSON_FEATURES = 4096


class JsonFormat:
    def render(self, run: CheckRun, options: RenderOptions) -> str:
        document = report_dict(run.reports[0]) if run.single and run.reports else run_dict(run)
        return json.dumps(finite_or_null(document), indent=2, allow_nan=False) + "\n"


def render_json(report: Report) -> str:
    return json.dumps(finite_or_null(report_dict(report)), indent=2, allow_nan=False) + "\n"


def finite_or_null(document: Any) -> Any:
    """The document with every infinite or NaN number as null, wherever it sits.

    JSON has no infinities. Fields known to hold them say so through _number; this is the
    guarantee for every other one, since extreme data (values near the float maximum) can
    make any derived number overflow.
    """
    if isinstance(document, float):
        return document if math.isfinite(document) else None
    if isinstance(document, dict):
        return {key: finite_or_null(value) for key, value in document.items()}
    if isinstance(document, (list, tuple)):
        return [finite_or_null(value) for value in document]
    return document


def run_dict(run: CheckRun) -> dict[str, Any]:
    """Several pairs: each pair's report as in the single-pair contract, under `reports`."""
    return {
        "version": REPORT_VERSION,
        "ok": run.ok,
        "summary": {severity.label: run.count(severity) for severity in reversed(Severity)},
        "reports": [report_dict(report) for report in run.reports],
        "errors": [
            {"model": pair.model, "data": pair.data, "file": pair.location, "message": pair.problem}
            for pair in run.unusable
        ],
    }


def report_dict(report: Report) -> dict[str, Any]:
    result = _report_fields(report)
    # Only a probed report has probe fields: a static report stays exactly as it was.
    if report.probe is not None:
        result["probe"] = _probe_summary(report.probe)
    # Only a store with missing chunks says so: every other report stays exactly as it was.
    if report.missing_chunks is not None:
        missing = report.missing_chunks
        result["data_summary"]["missing_chunks"] = {
            "count": missing.missing,
            "of_chunks": missing.chunks,
            "fill_value": missing.fill_value,
        }
    return result


def _report_fields(report: Report) -> dict[str, Any]:
    stats = report.stats
    if stats is None:
        return _model_only_fields(report)
    return {
        "version": REPORT_VERSION,
        "ok": report.ok,
        "model": report.model,
        "data": report.data,
        "summary": {severity.label: report.count(severity) for severity in reversed(Severity)},
        "findings": [_finding(f) for f in report.model_findings],
        "data_summary": {
            "description": report.data_description,
            "shape": list(stats.shape),
            "dtype": stats.dtype,
            "kind": report.data_kind.name,
            "min": _number(stats.min),
            "max": _number(stats.max),
            "mean": _number(stats.mean),
            "std": _number(stats.std),
            "count": stats.count,
            "nonfinite": stats.nonfinite,
            "sampled": report.sampled,
            "sample": (
                {
                    "rows": report.sample.rows,
                    "of_rows": report.sample.of_rows,
                    "seed": report.sample.seed,
                }
                if report.sample is not None
                else None
            ),
            "rescaling": (
                {
                    "scale": report.rescaling.scale,
                    "offset": report.rescaling.offset,
                    "text": report.rescaling.text,
                }
                if report.rescaling is not None
                else None
            ),
            "skipped_files": [{"file": path, "problem": why} for path, why in report.skipped_files],
            "robust_low": _number(stats.robust_low),
            "robust_high": _number(stats.robust_high),
            "quantiles": _quantiles(stats),
            "per_feature": _per_feature(stats),
        },
        "outputs": [_output(report, output) for output in report.outputs],
        "skipped_outputs": [{"name": name, "reason": why} for name, why in report.skipped_outputs],
        "notes": list(report.notes),
        **({"saved_rescale": report.saved_rescale} if report.saved_rescale is not None else {}),
    }


def _model_only_fields(report: Report) -> dict[str, Any]:
    """The model checked without data: the same keys, with `data` and `data_summary` null."""
    return {
        "version": REPORT_VERSION,
        "ok": report.ok,
        "model": report.model,
        "data": None,
        "summary": {severity.label: report.count(severity) for severity in reversed(Severity)},
        "findings": [_finding(f) for f in report.model_findings],
        "data_summary": None,
        "outputs": [_output(report, output) for output in report.outputs],
        "skipped_outputs": [],
        "notes": list(report.notes),
    }


def _output(report: Report, output: OutputResult) -> dict[str, Any]:
    stats = report.stats
    if stats is None:
        return {**_output_fields(output), "data": None}
    codomain = output.codomain
    data: dict[str, Any] = {
        "min": _number(stats.min),
        "max": _number(stats.max),
        "count": stats.count,
        "nonfinite": stats.nonfinite,
    }
    edges = stats.edges_for(codomain.interval) if codomain.interval is not None else None
    if edges is not None:
        data.update(
            count_outside=edges.outside,
            count_below=edges.below,
            count_above=edges.above,
            count_on_low=edges.on_low,
            count_on_high=edges.on_high,
            fraction_outside=edges.outside / stats.finite if stats.finite else 0.0,
        )
    if stats.features is not None:
        data["features_outside"] = output.features_outside
        data["worst_features"] = [_feature_outside(f) for f in output.worst_features]
    result = {**_output_fields(output), "data": data}
    if output.probe is not None:
        result["probe"] = _probe_observation(output.probe)
    return result


def _output_fields(output: OutputResult) -> dict[str, Any]:
    codomain = output.codomain
    return {
        "name": output.name,
        "layer": output.label,
        "shape": list(output.shape) if output.shape is not None else None,
        "activation": codomain.activation_name(),
        "bounded_by": list(codomain.bounded_by),
        "range": _range(codomain),
        "loss": output.loss,
        "loss_from_logits": output.loss_spec.from_logits if output.loss_spec else None,
        "loss_origin": output.loss_spec.origin if output.loss_spec else None,
        "targets_compared": output.targets_compared,
        "findings": [_finding(f) for f in output.findings],
        "fix": _fix(output.fix),
    }


def _probe_observation(observed: ProbeObservation) -> dict[str, Any]:
    return {
        "observed_min": _number(observed.low),
        "observed_max": _number(observed.high),
        "proven": False,
        "label": "observed, not proven",
        "samples": observed.samples,
        "inputs": observed.inputs,
        "values": observed.values,
        "nonfinite": observed.nonfinite,
        "count_outside_observed": observed.count_outside,
        "fraction_outside_observed": observed.fraction_outside,
        "safe_mode": observed.safe_mode,
    }


def _probe_summary(probe: ProbeSummary) -> dict[str, Any]:
    return {
        "loader": probe.loader,
        "backend": probe.backend,
        "keras_version": probe.keras_version,
        "safe_mode": probe.safe_mode,
        "inputs": probe.inputs,
        "samples": probe.samples,
        "seconds": round(probe.seconds, 3),
        "saved_model_without_keras_metadata": probe.saved_model,
    }


def _range(codomain: Codomain) -> dict[str, Any]:
    interval = codomain.interval
    if interval is None:
        return {
            "known": False,
            "low": None,
            "high": None,
            "low_closed": False,
            "high_closed": False,
            "unknown_at": codomain.unknown_at,
            "reason": codomain.unknown_reason,
            "notes": list(codomain.notes),
        }
    return {
        "known": True,
        "low": _number(interval.low),
        "high": _number(interval.high),
        "low_closed": interval.low_closed,
        "high_closed": interval.high_closed,
        "notes": list(codomain.notes),
        "simplex_axis": codomain.simplex_axis,
        "saved_weights": list(codomain.saved_weights),
    }


def _finding(finding: Finding) -> dict[str, Any]:
    return {
        "code": finding.code,
        "id": finding.id,
        "severity": finding.severity.label,
        "message": finding.message,
        **{key: _plain(value) for key, value in finding.evidence.items()},
        **({"fix": _fix(finding.fix)} if finding.fix is not None else {}),
    }


def _fix(fix: Fix) -> dict[str, Any]:
    result: dict[str, Any] = {"kind": fix.kind, "summary": fix.summary}
    if fix.activation is not None:
        result["activation"] = fix.activation
    if fix.loss is not None:
        result["loss"] = fix.loss
    if fix.rescale is not None:
        result["rescale"] = {
            "scale": fix.rescale.scale,
            "offset": fix.rescale.offset,
            "inverse_scale": fix.rescale.inverse_scale,
            "inverse_offset": fix.rescale.inverse_offset,
            "target": [_number(fix.rescale.target_low), _number(fix.rescale.target_high)],
            "for_activation": fix.rescale_for,
        }
    if fix.alternative:
        result["alternative"] = fix.alternative
    if fix.per_feature is not None:
        result["per_feature"] = _feature_rescale(fix.per_feature)
    if fix.framework is not None:
        result["framework"] = fix.framework
    return result


def _feature_rescale(rescale: FeatureRescale) -> dict[str, Any]:
    return {
        "axis": rescale.axis_name,
        "reason": rescale.reason,
        "scale": _vector(rescale.scale),
        "offset": _vector(rescale.offset),
        "inverse_scale": _vector(rescale.inverse_scale),
        "inverse_offset": _vector(rescale.inverse_offset),
        "target": [_number(rescale.target_low), _number(rescale.target_high)],
    }


def _feature_outside(feature: FeatureOutside) -> dict[str, Any]:
    return {
        "index": feature.index,
        "name": feature.name,
        "label": feature.label,
        "count_below": feature.below,
        "count_above": feature.above,
        "fraction_below": feature.fraction_below,
        "fraction_above": feature.fraction_above,
        "fraction_outside": feature.fraction_outside,
    }


def _quantiles(stats: DataStats) -> dict[str, Any] | None:
    info = stats.quantiles
    if info is None:
        return None
    return {
        "low_percentile": 0.1,
        "high_percentile": 99.9,
        "values_seen": info.values_seen,
        "exact_counts": info.exact_counts,
        "relative_error": info.relative_error,
        "rank_error": info.rank_error,
    }


def _per_feature(stats: DataStats) -> dict[str, Any] | None:
    features = stats.features
    if features is None:
        return {"note": stats.feature_note} if stats.feature_note else None
    result: dict[str, Any] = {
        "axis": features.axis_name,
        "count": features.count,
        "note": stats.feature_note,
    }
    if features.count > MAX_JSON_FEATURES:
        result["note"] = (
            f"per-feature vectors left out: {features.count:,} features, more than "
            f"{MAX_JSON_FEATURES:,}"
        )
        return result
    result.update(
        names=list(features.names) if features.names is not None else None,
        min=_vector(features.min),
        max=_vector(features.max),
        mean=_vector(features.mean),
        std=_vector(features.std),
        nonfinite=[int(n) for n in features.nonfinite],
        robust_low=_vector(features.robust_low) if features.robust_low is not None else None,
        robust_high=_vector(features.robust_high) if features.robust_high is not None else None,
    )
    return result


def _vector(values: np.ndarray) -> list[float | None]:
    return [_number(float(v)) for v in np.asarray(values, dtype=np.float64)]


def _number(value: float | None) -> float | None:
    """JSON has no infinities: an infinite end is null, as the contract says."""
    if value is None or not math.isfinite(value):
        return None
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, float):
        return _number(value)
    return value

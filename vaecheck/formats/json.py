"""The JSON report: the stable, versioned contract of DESIGN.md."""

from __future__ import annotations

import json
import math
from typing import Any

from vaecheck.codomain import Codomain
from vaecheck.report import REPORT_VERSION, Finding, Fix, OutputResult, Report, Severity


def render_json(report: Report) -> str:
    return json.dumps(report_dict(report), indent=2, allow_nan=False) + "\n"


def report_dict(report: Report) -> dict[str, Any]:
    stats = report.stats
    return {
        "version": REPORT_VERSION,
        "ok": report.ok,
        "model": report.model,
        "data": report.data,
        "summary": {severity.label: report.count(severity) for severity in reversed(Severity)},
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
        },
        "outputs": [_output(report, output) for output in report.outputs],
        "skipped_outputs": [{"name": name, "reason": why} for name, why in report.skipped_outputs],
        "notes": list(report.notes),
    }


def _output(report: Report, output: OutputResult) -> dict[str, Any]:
    stats = report.stats
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
    return {
        "name": output.name,
        "layer": output.label,
        "shape": list(output.shape) if output.shape is not None else None,
        "activation": codomain.activation_name(),
        "bounded_by": list(codomain.bounded_by),
        "range": _range(codomain),
        "loss": output.loss,
        "data": data,
        "findings": [_finding(f) for f in output.findings],
        "fix": _fix(output.fix),
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
    }


def _fix(fix: Fix) -> dict[str, Any]:
    result: dict[str, Any] = {"kind": fix.kind, "summary": fix.summary}
    if fix.activation is not None:
        result["activation"] = fix.activation
    if fix.rescale is not None:
        result["rescale"] = {
            "scale": fix.rescale.scale,
            "offset": fix.rescale.offset,
            "inverse_scale": fix.rescale.inverse_scale,
            "inverse_offset": fix.rescale.inverse_offset,
            "target": [fix.rescale.target_low, fix.rescale.target_high],
            "for_activation": fix.rescale_for,
        }
    if fix.alternative:
        result["alternative"] = fix.alternative
    return result


def _number(value: float | None) -> float | None:
    """JSON has no infinities: an infinite end is null, as the contract says."""
    if value is None or not math.isfinite(value):
        return None
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, float):
        return _number(value)
    return value

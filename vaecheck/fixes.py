"""The fix for a range mismatch: the activation to use, or the affine rescaling and its inverse."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

from vaecheck.codomain import Codomain
from vaecheck.intervals import Interval, format_bound
from vaecheck.report import Finding, Fix, Rescale, Severity
from vaecheck.stats import DataKind, DataStats

# The nominal range of data recognized by its preprocessing: the fix maps the whole nominal range
# (0..255 for 8-bit images), not just the extremes this sample happens to reach.
NOMINAL_RANGES = {
    "uint8-images": (0.0, 255.0),
    "unit-interval": (0.0, 1.0),
    "binary": (0.0, 1.0),
    "symmetric-unit": (-1.0, 1.0),
}
# Bounded activations to suggest, by the sign of the data, when the current one is half-open.
SQUASHERS = {"tanh": Interval.open(-1.0, 1.0), "sigmoid": Interval.open(0.0, 1.0)}
MARGIN = 0.01
RANGE_CODES = ("VC001", "VC002")


def suggest_fix(
    codomain: Codomain,
    stats: DataStats,
    kind: DataKind,
    findings: Sequence[Finding],
) -> Fix:
    """The fix to lead with: that of the most severe finding (a range fix for VC001/VC002)."""
    candidates = []
    for finding in findings:
        if finding.severity < Severity.WARNING:
            continue
        fix = finding.fix
        if fix is None and finding.code in RANGE_CODES:
            fix = range_fix(codomain, stats, kind, [finding])
        if fix is not None and fix.kind != "none":
            candidates.append((finding.severity, fix))
    if candidates:
        # The first of the most severe: findings come in registry order, VC001 first.
        return max(candidates, key=lambda pair: pair[0])[1]
    if codomain.interval is None or stats.min is None or stats.max is None:
        return Fix("none", "no fix can be computed without a known range")
    return Fix("none", "nothing to fix: the output can reach every data value")


def with_range_fixes(
    codomain: Codomain, stats: DataStats, kind: DataKind, findings: Sequence[Finding]
) -> tuple[Finding, ...]:
    """The findings, with the range fix (activation, rescaling) attached to VC001 and VC002."""
    attached = []
    for finding in findings:
        if finding.fix is None and finding.code in RANGE_CODES and finding.severity >= Severity.WARNING:
            fix = range_fix(codomain, stats, kind, [finding])
            if fix.kind != "none":
                finding = replace(finding, fix=fix)
        attached.append(finding)
    return tuple(attached)


def range_fix(
    codomain: Codomain,
    stats: DataStats,
    kind: DataKind,
    findings: Sequence[Finding],
) -> Fix:
    """The fix for data out of the output's reach (VC001) or on its open ends (VC002)."""
    interval = codomain.interval
    if interval is None or stats.min is None or stats.max is None:
        return Fix("none", "no fix can be computed without a known range")
    codes = {f.code for f in findings if f.severity >= Severity.WARNING}
    source = source_range(stats, kind)
    if "VC001" in codes:
        return _fix_outside(codomain, interval, source, kind)
    if "VC002" in codes:
        target = _with_margin(interval, source)
        return Fix(
            "rescale-data",
            f"rescale the data into {_fmt_range(target)}, a margin inside the open ends",
            rescale=rescale_between(source, target),
            rescale_for=codomain.activation_name(),
        )
    return Fix("none", "nothing to fix: the output can reach every data value")


def source_range(stats: DataStats, kind: DataKind) -> tuple[float, float]:
    nominal = NOMINAL_RANGES.get(kind.name)
    assert stats.min is not None and stats.max is not None
    if nominal and nominal[0] <= stats.min and stats.max <= nominal[1]:
        return nominal
    return (stats.min, stats.max)


def _fix_outside(
    codomain: Codomain, interval: Interval, source: tuple[float, float], kind: DataKind
) -> Fix:
    activation = codomain.activation_name() or "the output"
    if not kind.bounded:
        squasher = "tanh" if source[0] < 0 else "sigmoid"
        target = SQUASHERS[squasher] if not interval.is_bounded else interval
        squasher = squasher if not interval.is_bounded else activation
        return Fix(
            "change-activation",
            f"use a linear output (activation=None): the data {kind.description.replace('looks', 'look')}, "
            "and a linear output reaches any value",
            activation="linear",
            rescale=rescale_between(source, (target.low, target.high)),
            rescale_for=squasher,
            alternative=(
                f"or keep a bounded output: {squasher}, with the data min-max rescaled into "
                f"[{format_bound(target.low)}, {format_bound(target.high)}] and back on the way out"
            ),
        )
    if interval.is_bounded:
        target = (interval.low, interval.high)
        return Fix(
            "rescale-data",
            f"rescale the data into {interval}, the range of {activation}, and back on the way out",
            rescale=rescale_between(source, target),
            rescale_for=activation,
            alternative=_cover_alternative(interval, source, activation),
        )
    # Half-bounded codomain (relu, softplus, elu, ...): shift the data past the finite end.
    if math.isfinite(interval.low):
        offset = interval.low - source[0]
        target = (interval.low, source[1] + offset)
    else:
        offset = interval.high - source[1]
        target = (source[0] + offset, interval.high)
    return Fix(
        "rescale-data",
        f"shift the data into {interval}, the range of {activation}, or use a linear output",
        activation="linear",
        rescale=Rescale(scale=1.0, offset=offset, target_low=target[0], target_high=target[1]),
        rescale_for=activation,
    )


def rescale_between(source: tuple[float, float], target: tuple[float, float]) -> Rescale:
    """The affine map taking [source] onto [target]."""
    low, high = source
    target_low, target_high = target
    if high == low:  # constant data: centre it in the target
        return Rescale(1.0, (target_low + target_high) / 2 - low, target_low, target_high)
    scale = (target_high - target_low) / (high - low)
    offset = target_low - low * scale
    return Rescale(scale, offset, target_low, target_high)


def _with_margin(interval: Interval, source: tuple[float, float]) -> tuple[float, float]:
    """The target range: the data's, moved a margin inside each open end it sits on."""
    if interval.is_bounded:
        width = interval.high - interval.low
        low = interval.low + (0 if interval.low_closed else MARGIN * width)
        high = interval.high - (0 if interval.high_closed else MARGIN * width)
        return (low, high)
    # Half-open (softplus, exponential): keep the data's scale, shift it off the finite end.
    margin = MARGIN * ((source[1] - source[0]) or 1.0)
    if math.isfinite(interval.low) and not interval.low_closed:
        return (source[0] + margin, source[1] + margin)
    if math.isfinite(interval.high) and not interval.high_closed:
        return (source[0] - margin, source[1] - margin)
    return source


def _cover_alternative(interval: Interval, source: tuple[float, float], activation: str) -> str:
    """Make the output speak in data units instead: a Rescaling layer after the activation."""
    cover = rescale_between((interval.low, interval.high), source)
    return (
        f"or make the output cover {_fmt_range(source)}: append "
        f"keras.layers.Rescaling(scale={_num(cover.scale)}, offset={_num(cover.offset)}) "
        f"after the {activation}"
    )


def _fmt_range(bounds: tuple[float, float] | Interval) -> str:
    if isinstance(bounds, Interval):
        return str(bounds)
    return f"[{format_bound(bounds[0])}, {format_bound(bounds[1])}]"


def _num(value: float) -> str:
    return format_bound(value) if float(value).is_integer() else f"{value:.8g}"


def describe_rescale(rescale: Rescale) -> str | None:
    """The familiar name of a rescaling, when it has one ("divide by 255")."""
    known = {
        (1 / 255, 0.0): "divide by 255",
        (2 / 255, -1.0): "x / 127.5 - 1",
        (2.0, -1.0): "x * 2 - 1",
        (0.5, 0.5): "(x + 1) / 2",
    }
    for (scale, offset), phrase in known.items():
        if math.isclose(rescale.scale, scale, rel_tol=1e-9) and math.isclose(
            rescale.offset, offset, rel_tol=1e-9, abs_tol=1e-12
        ):
            return phrase
    return None

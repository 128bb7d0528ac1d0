"""The fix for a range mismatch: the activation to use, or the affine rescaling and its inverse."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from vaecheck.checks.outside_codomain import percent
from vaecheck.codomain import Codomain
from vaecheck.intervals import Interval, format_bound
from vaecheck.report import FeatureRescale, Finding, Fix, Rescale, Severity
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
# Features are rescaled one by one when a single map would squeeze the narrowest of them into
# less than this share of the target range.
NARROW_SHARE = 0.1
RANGE_CODES = ("VC001", "VC002")


def suggest_fix(
    codomain: Codomain,
    stats: DataStats,
    kind: DataKind,
    findings: Sequence[Finding],
    per_feature: bool | None = None,
) -> Fix:
    """The fix to lead with: that of the most severe finding (a range fix for VC001/VC002).

    `per_feature` True forces per-feature rescaling vectors, False forbids them, None decides.
    """
    # Findings from the API already carry their range fixes; attaching again is a no-op.
    candidates = [
        (finding.severity, finding.fix)
        for finding in with_range_fixes(codomain, stats, kind, findings, per_feature)
        if finding.severity >= Severity.WARNING
        and finding.fix is not None
        and finding.fix.kind != "none"
    ]
    if candidates:
        # The first of the most severe: findings come in registry order, VC001 first.
        chosen = max(candidates, key=lambda pair: pair[0])[1]
        return _with_feature_vectors(chosen, stats, kind, per_feature)
    if codomain.interval is None or stats.min is None or stats.max is None:
        return Fix("none", "no fix can be computed without a known range")
    return Fix("none", "nothing to fix: the output can reach every data value")


def with_range_fixes(
    codomain: Codomain,
    stats: DataStats,
    kind: DataKind,
    findings: Sequence[Finding],
    per_feature: bool | None = None,
) -> tuple[Finding, ...]:
    """The findings, with the range fix (activation, rescaling) attached to VC001 and VC002."""
    attached = []
    for finding in findings:
        if finding.fix is None and finding.code in RANGE_CODES and finding.severity >= Severity.WARNING:
            fix = range_fix(codomain, stats, kind, [finding], per_feature)
            if fix.kind != "none":
                finding = replace(finding, fix=fix)
        attached.append(finding)
    return tuple(attached)


def range_fix(
    codomain: Codomain,
    stats: DataStats,
    kind: DataKind,
    findings: Sequence[Finding],
    per_feature: bool | None = None,
) -> Fix:
    """The fix for data out of the output's reach (VC001) or on its open ends (VC002)."""
    return _with_feature_vectors(
        _global_fix(codomain, stats, kind, findings), stats, kind, per_feature
    )


def _with_feature_vectors(
    fix: Fix, stats: DataStats, kind: DataKind, per_feature: bool | None
) -> Fix:
    """The fix with per-feature rescaling vectors onto its target, where they are worth it."""
    if fix.rescale is None or fix.per_feature is not None or per_feature is False:
        return fix
    vectors = feature_rescale(stats, kind, fix.rescale, forced=bool(per_feature))
    return replace(fix, per_feature=vectors) if vectors is not None else fix


def _global_fix(
    codomain: Codomain,
    stats: DataStats,
    kind: DataKind,
    findings: Sequence[Finding],
) -> Fix:
    interval = codomain.interval
    if interval is None or stats.min is None or stats.max is None:
        return Fix("none", "no fix can be computed without a known range")
    codes = {f.code for f in findings if f.severity >= Severity.WARNING}
    source = source_range(stats, kind)
    if "VC001" in codes:
        if kind.name == "integer-labels" and stats.shape[1:] in ((), (1,)):
            return _fix_labels(codomain, stats)
        return _fix_outside(codomain, interval, source, kind)
    if "VC002" in codes:
        target = _with_margin(interval, source)
        rescale = rescale_between(source, target)
        summary = f"rescale the data into {_fmt_range(target)}, a margin inside the open ends"
        if kind.name in ("one-hot", "probability-rows"):
            summary = (
                f"smooth the {kind.name.replace('-rows', '')} rows into {_fmt_range(target)} "
                f"(label smoothing), a margin inside the open ends"
            )
        return Fix(
            "rescale-data",
            summary,
            rescale=rescale,
            rescale_for=codomain.activation_name(),
        )
    return Fix("none", "nothing to fix: the output can reach every data value")


def _fix_labels(codomain: Codomain, stats: DataStats) -> Fix:
    """Class indices are categories, not quantities: encode them rather than rescale them."""
    classes = int(stats.max or 0) + 1
    return Fix(
        "encode-labels",
        f"the data are class indices (0 to {classes - 1}): one-hot encode them "
        f"(keras.utils.to_categorical(y, {classes})) for a softmax output of {classes} units, "
        f"or keep them and train with sparse_categorical_crossentropy",
        activation="softmax",
        alternative="or, to regress on the index as a number, use a linear output",
    )


@np.errstate(over="ignore", invalid="ignore")  # the widths of extreme ranges overflow to inf
def feature_rescale(
    stats: DataStats, kind: DataKind, rescale: Rescale, forced: bool = False
) -> FeatureRescale | None:
    """Per-feature scale and offset onto the same target as `rescale`, when they are worth it.

    They are worth it when asked for, or when one map for all features would squeeze the
    narrowest feature into less than NARROW_SHARE of the target range.
    """
    features = stats.features
    if features is None or stats.min is None or stats.max is None:
        return None
    low = features.min.astype(np.float64)
    high = features.max.astype(np.float64)
    present = ~np.isnan(low)
    if not present.any():
        return None
    nominal = NOMINAL_RANGES.get(kind.name)
    if nominal is not None:
        within = present & (low >= nominal[0]) & (high <= nominal[1])
        low = np.where(within, nominal[0], low)
        high = np.where(within, nominal[1], high)
    width = high - low
    overall = float(np.nanmax(high) - np.nanmin(low))
    varying = present & (width > 0)
    narrowest = float(width[varying].min()) if varying.any() else 0.0
    spread = narrowest / overall if overall > 0 else 1.0
    if not forced and (not varying.any() or spread >= NARROW_SHARE):
        return None
    target_low, target_high = rescale.target_low, rescale.target_high
    if rescale.scale == 1.0 and not (math.isfinite(target_low) and math.isfinite(target_high)):
        # A shift past a half-open codomain's end: shift each feature by its own minimum.
        scale = np.ones_like(low)
        offset = np.where(present, target_low - low, rescale.offset)
    else:
        safe_width = np.where(varying, width, 1.0)
        scale = np.where(varying, (target_high - target_low) / safe_width, 1.0)
        # Ranges near the float maximum: their width overflows to inf, the halves' does not.
        overflowed = np.isinf(safe_width)
        if overflowed.any():
            halves = np.where(overflowed, high / 2 - low / 2, 1.0)
            scale = np.where(overflowed, ((target_high - target_low) / 2) / halves, scale)
        # Constant features (and features without a finite value) sit at the target's centre.
        centre = (target_low + target_high) / 2
        offset = np.where(varying, target_low - low * scale, centre - np.where(present, low, 0.0))
    if forced:
        reason = "asked for with --per-feature"
    else:
        reason = (
            f"the features' ranges differ: one map for all would squeeze the narrowest "
            f"{features.axis_name} into {percent(spread)} of the target range"
        )
    return FeatureRescale(
        scale=scale,
        offset=offset,
        target_low=target_low,
        target_high=target_high,
        axis_name=features.axis_name,
        reason=reason,
    )


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
            f"use a linear output (activation=None): the data {_data_is(kind)}, "
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
        rescale = rescale_between(source, target)
        phrase = describe_rescale(rescale)
        how = f" ({phrase})" if phrase else ""
        alternative = _cover_alternative(interval, source, activation)
        if kind.name in ("one-hot", "probability-rows"):
            alternative = f"or, for rows that sum to 1, use a softmax output; {alternative[3:]}"
        return Fix(
            "rescale-data",
            f"rescale the data into {interval}{how}, the range of {activation}, and back on "
            f"the way out",
            rescale=rescale,
            rescale_for=activation,
            alternative=alternative,
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


def _data_is(kind: DataKind) -> str:
    """The kind's description after "the data": "look standardized", "are heavy-tailed"."""
    description = kind.description
    if description.startswith("looks "):
        return "look " + description[len("looks ") :]
    return "are " + description


def rescale_between(source: tuple[float, float], target: tuple[float, float]) -> Rescale:
    """The affine map taking [source] onto [target]."""
    low, high = source
    target_low, target_high = target
    if high == low:  # constant data: centre it in the target
        return Rescale(1.0, (target_low + target_high) / 2 - low, target_low, target_high)
    span = high - low
    if math.isinf(span):  # ends near the float maximum: their distance overflows, halves do not
        scale = ((target_high - target_low) / 2) / (high / 2 - low / 2)
    else:
        scale = (target_high - target_low) / span
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

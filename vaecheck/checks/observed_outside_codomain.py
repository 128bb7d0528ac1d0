"""Values the model really produced outside the codomain vaecheck computed: a bug in vaecheck.

With `--probe`, vaecheck runs the model and records the smallest and largest value each output
produced. Those values must lie inside the codomain the static analysis proved, up to float32
rounding (float32 saturates open ends: a sigmoid reaches exactly 0.0 and 1.0). A value beyond it
means the range engine got this model wrong, so every static verdict on this output is suspect.
This is an internal error of vaecheck, not a problem of the model: please report it, with the
model's configuration (`config.json` in the `.keras` archive) and the vaecheck version.

Failing: the static analysis says [0, inf) for a relu output, and the probe sees -0.3.
Passing: the static analysis says (0, 1) for a sigmoid output, and the probe sees [0.0, 1.0]
(float32 saturation, within tolerance).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from vaecheck.checks.base import OutputFacts, Problem
from vaecheck.intervals import format_bound
from vaecheck.report import Severity

CODE = "VC201"
ID = "observed-outside-codomain"
SEVERITY = Severity.ERROR
SUMMARY = "internal error: the model produced values outside the codomain vaecheck computed"


def check(facts: OutputFacts) -> Iterator[Problem]:
    observed = facts.observed
    interval = facts.codomain.interval
    if observed is None or interval is None or observed.low is None or observed.high is None:
        return
    from vaecheck.stats import end_tolerance  # numpy: imported on use

    sides = []
    if math.isfinite(interval.low) and observed.low < interval.low - end_tolerance(interval.low):
        sides.append(f"down to {format_bound(observed.low)}")
    if math.isfinite(interval.high) and observed.high > interval.high + end_tolerance(
        interval.high
    ):
        sides.append(f"up to {format_bound(observed.high)}")
    if not sides:
        return
    bound = " → ".join(facts.codomain.bounded_by) or "the output"
    yield Problem(
        message=(
            f"internal error in vaecheck: running the model gave values {' and '.join(sides)}, "
            f"outside the codomain {interval} computed from {bound}; the static verdict for this "
            "output is wrong. Please report this bug with the model's configuration"
        ),
        evidence={
            "observed_min": observed.low,
            "observed_max": observed.high,
            "codomain_low": interval.low,
            "codomain_high": interval.high,
        },
    )

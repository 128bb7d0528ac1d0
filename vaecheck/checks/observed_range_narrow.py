"""An output that barely moves when the model runs: a dead relu, a pinned sigmoid.

With `--probe`, vaecheck runs the model and compares the span of the values each output
produced with the span it should cover: the codomain's width when both its ends are finite,
otherwise the data's range. An output whose values stay within 1% of that span hardly depends on
its input: a relu output whose units are all dead (every value 0, no gradient to revive them),
a sigmoid or tanh pinned at one end, a decoder that ignores its latent input. Such a model
cannot reconstruct the data, whatever its codomain allows.

A freshly initialised model can look like this too (tiny initial weights, a large negative
bias): read the finding in the light of which weights were probed.

Failing: a decoder ending in `Dense(16, activation="relu")` whose outputs are all 0 on the data.
Passing: the same decoder producing values across [0, 3.2], for data in [-2.9, 3.1].
"""

from __future__ import annotations

from collections.abc import Iterator

from vaecheck.checks.base import OutputFacts, Problem
from vaecheck.checks.outside_codomain import percent
from vaecheck.intervals import format_bound
from vaecheck.report import Severity

CODE = "VC202"
ID = "observed-range-narrow"
SEVERITY = Severity.WARNING
SUMMARY = "the values the model produced span a tiny part of the range the output should cover"

NARROW_FRACTION = 0.01


def check(facts: OutputFacts) -> Iterator[Problem]:
    observed = facts.observed
    if observed is None or observed.low is None or observed.high is None:
        return
    interval = facts.codomain.interval
    if interval is not None and interval.is_bounded:
        reference = interval.high - interval.low
        against = f"the codomain {interval}"
    elif facts.stats.min is not None and facts.stats.max is not None:
        reference = facts.stats.max - facts.stats.min
        against = (
            f"the data's range [{format_bound(facts.stats.min)}, {format_bound(facts.stats.max)}]"
        )
    else:
        return
    span = observed.high - observed.low
    if reference <= 0 or span > NARROW_FRACTION * reference:
        return
    seen = f"on {observed.samples:,} {_inputs(observed.inputs)}"
    if span == 0:
        value = format_bound(observed.low)
        what = f"every value was {value}"
        if observed.low == 0 and facts.codomain.activation_name() == "relu":
            what += " (a dead relu: its inputs were all negative)"
    else:
        what = (
            f"the values stayed in [{format_bound(observed.low)}, {format_bound(observed.high)}], "
            f"{percent(span / reference)} of the width of {against}"
        )
    yield Problem(
        message=(
            f"{seen} {what}: the output hardly depends on its input, so it cannot follow the data"
        ),
        evidence={
            "observed_min": observed.low,
            "observed_max": observed.high,
            "observed_span_fraction": span / reference,
        },
    )


def _inputs(inputs: str) -> str:
    return "data samples" if inputs == "data" else f"inputs ({inputs})"

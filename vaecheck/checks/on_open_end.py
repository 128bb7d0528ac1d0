"""Data values sitting exactly on an end the activation only approaches.

`sigmoid` never outputs exactly 0 or 1 and `tanh` never exactly -1 or 1: it gets there only as
its input runs to infinity (float32 rounds it there at about |x| > 17 for sigmoid, 9 for tanh).
Targets on those ends drive the pre-activation towards infinity: weights grow, gradients vanish
and training stalls on exactly those values. A small margin fixes it (rescale into
[0.01, 0.99] rather than [0, 1]).

With binary cross-entropy, targets of exactly 0 and 1 are the intended use (the loss stays
finite because it is computed from the logits or with clipping), so this is reported as info.

Failing: `tanh` output with data scaled to exactly [-1, 1] and trained with MSE.
Passing: data in [-0.98, 0.98]; or a sigmoid output with 0/1 targets and binary cross-entropy.
"""

from __future__ import annotations

from collections.abc import Iterator

from vaecheck.checks.base import OutputFacts, Problem
from vaecheck.checks.outside_codomain import percent
from vaecheck.intervals import format_bound
from vaecheck.report import Severity

CODE = "VC002"
ID = "data-on-open-end"
SEVERITY = Severity.WARNING
SUMMARY = "data values sit exactly on an end the output only approaches"


def check(facts: OutputFacts) -> Iterator[Problem]:
    edges = facts.edges
    interval = facts.codomain.interval
    # Data beyond the ends is the larger problem, and its fix moves these values too.
    if edges is None or interval is None or edges.outside:
        return
    on_open = 0
    ends = []
    if not interval.low_closed and edges.on_low:
        on_open += edges.on_low
        ends.append(format_bound(interval.low))
    if not interval.high_closed and edges.on_high:
        on_open += edges.on_high
        ends.append(format_bound(interval.high))
    if not on_open:
        return
    finite = facts.stats.finite
    bound = facts.codomain.activation_name() or "the output"
    loss = facts.loss
    lowered = loss is not None and loss.is_binary_crossentropy
    reason = (
        "expected with binary cross-entropy"
        if lowered
        else f"{bound} reaches them only in the limit, which saturates training"
    )
    yield Problem(
        message=(
            f"{percent(on_open / finite)} of values ({on_open:,}) sit exactly on "
            f"{' and '.join(ends)}, the open end(s) of {interval}: {reason}"
        ),
        evidence={"count_on_open_end": on_open, "fraction_on_open_end": on_open / finite},
        severity=Severity.INFO if lowered else None,
    )

"""Data values sitting exactly on an end the activation only approaches.

`sigmoid` never outputs exactly 0 or 1 and `tanh` never exactly -1 or 1: it gets there only as
its input runs to infinity (float32 rounds it there at about |x| > 17 for sigmoid, 9 for tanh).
Targets on those ends drive the pre-activation towards infinity: weights grow, gradients vanish
and training stalls on exactly those values. A small margin fixes it (rescale into
[0.01, 0.99] rather than [0, 1]).

This is the saturation problem of a sigmoid or tanh output trained with a regression loss
(mean squared error and the like) on data at the asymptotes; the finding names the loss, and
the fix gives the rescaling into the range with a margin. With a cross-entropy on
probabilities (binary, categorical, KL divergence), targets of exactly 0 and 1 are the intended
use (the loss stays finite because Keras computes it from the logits or with clipping), and so
are zero counts under Poisson loss: these are reported as info. Targets that are not output
values (class indices, labels, probabilities against logits) are not compared, and multi-hot
rows on a softmax are VC109's.

Failing: `tanh` output with data scaled to exactly [-1, 1] and trained with MSE.
Passing: data in [-0.98, 0.98]; or a sigmoid output with 0/1 targets and binary cross-entropy.
"""

from __future__ import annotations

from collections.abc import Iterator

from vaecheck.checks import softmax_multilabel
from vaecheck.checks.base import OutputFacts, Problem
from vaecheck.checks.outside_codomain import percent
from vaecheck.intervals import format_bound
from vaecheck.report import Severity

CODE = "VC002"
ID = "data-on-open-end"
SEVERITY = Severity.WARNING
SUMMARY = "data values sit exactly on an end the output only approaches"

EXPECTED_ON_ENDS = ("kl_divergence", "poisson")


def check(facts: OutputFacts) -> Iterator[Problem]:
    edges = facts.edges
    interval = facts.codomain.interval
    # Data beyond the ends is the larger problem, and its fix moves these values too.
    if edges is None or interval is None or edges.outside or not facts.targets_are_output_values:
        return
    if softmax_multilabel.multilabel_rows(facts) is not None:
        return  # multi-hot rows on a softmax: VC109 names the real problem and its fix
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
    # Targets of exactly 0 and 1 are what these losses are for (zero counts, for Poisson).
    lowered = loss is not None and (loss.expects_probabilities or loss.name in EXPECTED_ON_ENDS)
    trained = f"trained with {loss.name}, " if loss is not None else ""
    reason = (
        f"expected with {loss.name}"
        if lowered and loss is not None
        else f"{trained}{bound} reaches them only in the limit, which saturates training"
    )
    yield Problem(
        message=(
            f"{percent(on_open / finite)} of values ({on_open:,}) sit exactly on "
            f"{' and '.join(ends)}, the open end(s) of {interval}: {reason}"
        ),
        evidence={"count_on_open_end": on_open, "fraction_on_open_end": on_open / finite},
        severity=Severity.INFO if lowered else None,
    )

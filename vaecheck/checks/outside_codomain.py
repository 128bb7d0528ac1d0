"""Data values that the output can never produce.

The model's output is bounded by its last activation and the layers after it: a `relu` output
is never negative, a `sigmoid` output stays inside (0, 1), a `tanh` output inside (-1, 1). When
the values the output is trained against (for an autoencoder, the input itself) lie outside that
codomain, no amount of training can fit them: the loss plateaus while the model pushes the
out-of-reach values to the nearest end.

Failing: a decoder ending in `Dense(16, activation="relu")`, trained on standardized data, of
which about half is negative.

Passing: the same decoder with a linear output, or the data rescaled into the codomain
(`x_model = x * scale + offset`, the fix vaecheck prints, and the inverse on the way out).

Targets that are not output values (class indices, hinge labels, probabilities against
logits) are not compared. Where the loss itself bounds its targets (binary cross-entropy
[0, 1], Poisson [0, inf), ...) and the output reaches that whole bound, the loss check reports
the values instead, with the loss's fix; a softmax over one unit is VC108's.

A range that only the weights saved in the file bound (a linear `Dense` after a `tanh`, read
with its kernel and bias) holds for those weights, and training moves it: for a model saved
before training that is no verdict on the architecture, so it is reported as a warning that
names the layers, with "check again after training" as the fix.
"""

from __future__ import annotations

from collections.abc import Iterator

from vaecheck.checks.base import OutputFacts, Problem
from vaecheck.intervals import format_bound
from vaecheck.report import Fix, Severity

CODE = "VC001"
ID = "data-outside-codomain"
SEVERITY = Severity.ERROR
SUMMARY = "data values lie outside the output's codomain, where the model cannot reach them"


def check(facts: OutputFacts) -> Iterator[Problem]:
    edges = facts.edges
    interval = facts.codomain.interval
    if edges is None or interval is None or edges.outside == 0:
        return
    if not facts.targets_are_output_values or facts.softmax_axis_size == 1:
        return
    domain = facts.loss.target_domain if facts.loss is not None else None
    if domain is not None and domain.is_subset_of(interval.closure()):
        return  # every value out of this output's reach is out of the loss's domain too
    finite = facts.stats.finite
    fraction = edges.outside / finite
    sides = []
    if edges.below:
        sides.append(f"{percent(edges.below / finite)} below {format_bound(interval.low)}")
    if edges.above:
        sides.append(f"{percent(edges.above / finite)} above {format_bound(interval.high)}")
    evidence = {
        "count_outside": edges.outside,
        "count_below": edges.below,
        "count_above": edges.above,
        "fraction_outside": fraction,
    }
    weighted = facts.codomain.saved_weights
    if weighted:
        layers = ", ".join(weighted)
        yield Problem(
            message=(
                f"{percent(fraction)} of values ({edges.outside:,} of {finite:,}) lie outside "
                f"{interval}, the range the weights saved in the file give ({layers}): "
                f"{' and '.join(sides)}"
            ),
            evidence={**evidence, "saved_weights": list(weighted)},
            severity=Severity.WARNING,
            fix=Fix(
                "check-after-training",
                f"this range comes from the saved weights of {layers}, not from an activation: "
                "a trained model with these weights cannot produce these values, while an "
                "untrained one will move the range as it trains; check again after training",
            ),
        )
        return
    bound = facts.codomain.activation_name() or "the output"
    yield Problem(
        message=(
            f"{percent(fraction)} of values ({edges.outside:,} of {finite:,}) lie outside "
            f"{interval}, where {bound} cannot go: {' and '.join(sides)}"
        ),
        evidence=evidence,
    )


def percent(fraction: float) -> str:
    value = fraction * 100
    if value == 0:
        return "0%"
    if value < 0.1:
        return "<0.1%"
    if value > 99.9 and fraction < 1:
        return ">99.9%"
    return f"{value:.1f}%"

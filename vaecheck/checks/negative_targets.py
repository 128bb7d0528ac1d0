"""Negative targets for a loss that takes counts or logarithms: Poisson, MSLE, KL divergence.

These losses are defined for non-negative targets only, and Keras does not say so when it gets
others: Poisson loss (y_pred - y·log y_pred) falls as the prediction goes to 0 when y is
negative, so those samples drag predictions to zero and the loss turns negative; mean squared
logarithmic error replaces every target below 1e-7 with 1e-7 (`maximum(y_true, epsilon)`), and
KL divergence clips targets into [1e-7, 1], so each negative target is silently trained as
(almost) zero.

Failing: a `softplus` count model compiled with `poisson`, trained on standardized counts.
Passing: the raw counts (0, 1, 2, ...), or `mean_squared_error` for signed targets.
"""

from __future__ import annotations

from collections.abc import Iterator

from vaecheck.checks.base import OutputFacts, Problem, StatsRequest
from vaecheck.checks.outside_codomain import percent
from vaecheck.codomain import Codomain
from vaecheck.intervals import INF, Interval, format_bound
from vaecheck.losses import LossSpec
from vaecheck.report import Fix, Rescale, Severity
from vaecheck.shapes import Shape

CODE = "VC104"
ID = "negative-targets"
SEVERITY = Severity.ERROR
SUMMARY = "Poisson, MSLE or KL divergence targets are negative"

NON_NEGATIVE = Interval(0.0, INF, True, False)
WHAT_KERAS_DOES = {
    "poisson": "Poisson loss falls as the prediction goes to 0 for a negative target, so these "
    "samples drag predictions to zero and the loss turns negative",
    "mean_squared_logarithmic_error": "Keras replaces targets below 1e-7 with 1e-7 before the "
    "log, so each one is silently trained as 0",
    "kl_divergence": "Keras clips targets into [1e-7, 1], so each one is silently trained as 1e-7",
}


def statistics(loss: LossSpec | None, codomain: Codomain, shape: Shape | None) -> StatsRequest:
    if loss is not None and loss.known and loss.name in WHAT_KERAS_DOES:
        return StatsRequest(intervals=(NON_NEGATIVE,))
    return StatsRequest()


def check(facts: OutputFacts) -> Iterator[Problem]:
    loss = facts.loss
    stats = facts.stats
    if loss is None or not loss.known or loss.name not in WHAT_KERAS_DOES:
        return
    edges = stats.edges_for(NON_NEGATIVE)
    if edges is None or not edges.below or stats.min is None or stats.max is None:
        return
    finite = stats.finite
    if loss.name == "kl_divergence":
        fix = Fix(
            "change-targets",
            "KL divergence compares probability distributions: make each target row "
            "non-negative and divide it by its sum",
        )
    else:
        shift = -stats.min
        fix = Fix(
            "change-loss",
            "for targets that can be negative, compile with a loss for signed values",
            loss="keras.losses.MeanSquaredError()",
            rescale=Rescale(1.0, shift, 0.0, stats.max + shift),
            alternative=(
                f"or, if the targets are shifted counts, shift them back to start at 0 "
                f"(the lowest is {format_bound(stats.min)})"
            ),
        )
    yield Problem(
        message=(
            f"{percent(edges.below / finite)} of targets ({edges.below:,} of {finite:,}) are "
            f"negative (down to {format_bound(stats.min)}), which {loss.name} does not accept: "
            f"{WHAT_KERAS_DOES[loss.name]}"
        ),
        evidence={"count_negative": edges.below, "fraction_negative": edges.below / finite},
        fix=fix,
    )

"""A softmax output trained on multi-label targets (rows summing to more than 1).

Softmax makes the values along its axis sum to exactly 1: the classes compete for one unit of
probability. Multi-label targets (an image that is both "cat" and "outdoor", rows like
[1, 0, 1]) ask for 1 on several classes at once, which no softmax output can give: the loss
settles with the probability shared between the true classes, and every prediction of a
present class is capped near 1/k.

Under categorical cross-entropy or KL divergence, only multi-hot rows (0/1 values) count as
multi-label here; soft rows that do not sum to 1 are VC102's to report.

Failing: `Dense(5, activation="softmax")` trained on multi-hot rows such as [1, 0, 1, 0, 0].
Passing: `Dense(5, activation="sigmoid")` with binary cross-entropy on the same rows; or the
softmax with one-hot rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from vaecheck.checks.base import OutputFacts, Problem, StatsRequest, sample_axis
from vaecheck.checks.outside_codomain import percent
from vaecheck.codomain import Codomain
from vaecheck.intervals import format_bound
from vaecheck.losses import LossSpec
from vaecheck.report import Fix, Severity
from vaecheck.shapes import Shape

if TYPE_CHECKING:
    from vaecheck.stats import RowSums

CODE = "VC109"
ID = "softmax-with-multilabel-targets"
SEVERITY = Severity.ERROR
SUMMARY = "a softmax output trained on multi-label targets (rows summing to more than 1)"


def statistics(loss: LossSpec | None, codomain: Codomain, shape: Shape | None) -> StatsRequest:
    if codomain.simplex_axis is None:
        return StatsRequest()
    axis = sample_axis(codomain.simplex_axis, shape)
    return StatsRequest(row_axes=(axis,) if axis is not None else ())


def multilabel_rows(facts: OutputFacts) -> RowSums | None:
    """The row sums, when this is a softmax output whose targets are multi-label."""
    axis = facts.softmax_axis
    stats = facts.stats
    if axis is None or not facts.targets_are_output_values or (facts.softmax_axis_size or 0) < 2:
        return None
    if stats.min is None or stats.max is None:
        return None
    from vaecheck.stats import end_tolerance  # numpy: imported on use

    if stats.min < -end_tolerance(0.0) or stats.max > 1.0 + end_tolerance(1.0):
        return None  # not probabilities at all: the range checks say so
    loss = facts.loss
    distribution_loss = loss is not None and (
        loss.is_categorical_crossentropy or loss.name == "kl_divergence"
    )
    if distribution_loss and not stats.integer_valued:
        return None  # soft rows off 1 under a distribution loss: VC102 says normalize them
    rows = facts.row_sums(axis)
    return rows if rows is not None and rows.above else None


def check(facts: OutputFacts) -> Iterator[Problem]:
    rows = multilabel_rows(facts)
    if rows is None:
        return
    yield Problem(
        message=(
            f"{percent(rows.above / rows.rows)} of target rows ({rows.above:,} of "
            f"{rows.rows:,}) sum to more than 1 (up to {format_bound(rows.max or 0)}): these "
            "are multi-label targets, but softmax makes every row sum to 1, so the classes "
            "compete and none of those rows can be fit"
        ),
        evidence={
            "count_rows": rows.rows,
            "count_rows_above_1": rows.above,
            "row_sum_max": rows.max,
        },
        fix=Fix(
            "change-activation",
            "use sigmoid instead of softmax, one independent probability per class, and "
            "compile with binary cross-entropy",
            activation="sigmoid",
            loss="keras.losses.BinaryCrossentropy()",
        ),
    )

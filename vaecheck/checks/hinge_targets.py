"""Hinge or squared hinge with targets that are not -1/1 labels (or 0/1, which Keras converts).

Hinge loss, max(0, 1 - y·ŷ), expects each target to be -1 or 1. Keras converts 0/1 labels to
-1/1, but it decides per batch (`convert_binary_labels_to_hinge` in keras/src/losses/losses.py,
`_maybe_convert_labels` in Keras 2): a batch is converted only when every value in it is 0 or
1. Targets mixing -1, 0 and 1 are therefore read two ways: in a batch without a -1, 0 means -1;
in a batch with one, 0 stays 0, and max(0, 1 - 0·ŷ) is a constant 1 with no gradient. Any other
value (0.5, 2, 255) scales the margin instead of naming a side.

Failing: a linear scorer compiled with `hinge`, trained on labels in {-1, 0, 1}, or on 0/255
masks.
Passing: labels in {-1, 1}, or labels in {0, 1} throughout.
"""

from __future__ import annotations

from collections.abc import Iterator

from vaecheck.checks.base import OutputFacts, Problem, StatsRequest
from vaecheck.checks.outside_codomain import percent
from vaecheck.codomain import Codomain
from vaecheck.intervals import format_bound
from vaecheck.losses import LossSpec
from vaecheck.report import Fix, Severity
from vaecheck.shapes import Shape

CODE = "VC105"
ID = "hinge-targets-invalid"
SEVERITY = Severity.ERROR
SUMMARY = "hinge targets are not -1/1 (or 0/1) labels"

LABELS = (-1.0, 0.0, 1.0)


def statistics(loss: LossSpec | None, codomain: Codomain, shape: Shape | None) -> StatsRequest:
    if loss is not None and loss.is_hinge:
        return StatsRequest(value_counts=LABELS)
    return StatsRequest()


def check(facts: OutputFacts) -> Iterator[Problem]:
    loss = facts.loss
    stats = facts.stats
    counts = stats.value_counts
    if loss is None or not loss.is_hinge or counts is None or stats.min is None or stats.max is None:
        return
    from vaecheck.fixes import rescale_between  # numpy: imported on use

    minus, zero, plus = (counts.count(v) for v in LABELS)
    others = counts.others
    finite = stats.finite
    if others:
        yield Problem(
            message=(
                f"{percent(others / finite)} of targets ({others:,} of {finite:,}) are not "
                f"-1, 0 or 1 (targets {format_bound(stats.min)} to {format_bound(stats.max)}): "
                f"{loss.name} reads a target as the side of the margin, and other values "
                "scale the margin instead"
            ),
            evidence={"count_not_label": others, "fraction_not_label": others / finite},
            fix=Fix(
                "rescale-data",
                f"if the targets are two classes, {format_bound(stats.min)} and "
                f"{format_bound(stats.max)}, map them to -1 and 1",
                rescale=rescale_between((stats.min, stats.max), (-1.0, 1.0))
                if stats.max > stats.min
                else None,
                alternative="or, for real-valued targets, use mean_squared_error or huber",
            ),
        )
        return
    if minus and zero:
        yield Problem(
            message=(
                f"targets mix -1 ({minus:,}), 0 ({zero:,}) and 1 ({plus:,}): Keras turns 0/1 "
                "into -1/1 only in batches with no -1, so a 0 means -1 in some batches and "
                "gives a constant loss with no gradient in the others"
            ),
            evidence={"count_minus_one": minus, "count_zero": zero, "count_one": plus},
            fix=Fix(
                "change-targets",
                "use -1 and 1 only: y = np.where(y == 0, -1, y), or drop the samples "
                "labelled 0 if 0 means unknown",
            ),
        )

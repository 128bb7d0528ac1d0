"""Categorical cross-entropy or KL divergence on targets that are not distributions.

Both losses compare the predicted distribution with a target distribution along the class
axis: each target row must be non-negative and sum to 1 (one-hot, or soft labels). A row
summing to 2 (multi-hot) asks for full probability on two classes at once, which a softmax
cannot give; an all-zero row contributes no loss, so the sample is silently ignored; a
negative value rewards pushing that probability down without end. Class indices (shape (N,))
in place of one-hot rows are the most common form of this mistake.

Failing: `Dense(10, activation="softmax")` compiled with `categorical_crossentropy`, with
targets of shape (N,) holding class indices 0..9, or multi-hot rows.
Passing: one-hot rows (`keras.utils.to_categorical(y, 10)`), or class indices with
`sparse_categorical_crossentropy`.
"""

from __future__ import annotations

from collections.abc import Iterator

from vaecheck.checks import softmax_multilabel
from vaecheck.checks.base import OutputFacts, Problem, StatsRequest, sample_axis
from vaecheck.checks.outside_codomain import percent
from vaecheck.codomain import Codomain
from vaecheck.intervals import INF, Interval, format_bound
from vaecheck.losses import LossSpec
from vaecheck.report import Fix, Severity
from vaecheck.shapes import Shape

CODE = "VC102"
ID = "categorical-targets-not-distributions"
SEVERITY = Severity.ERROR
SUMMARY = "categorical cross-entropy or KL divergence targets are not distributions"

NON_NEGATIVE = Interval(0.0, INF, True, False)


def _applies(loss: LossSpec | None) -> bool:
    return loss is not None and (loss.is_categorical_crossentropy or loss.name == "kl_divergence")


def statistics(loss: LossSpec | None, codomain: Codomain, shape: Shape | None) -> StatsRequest:
    if not _applies(loss):
        return StatsRequest()
    assert loss is not None
    axis = sample_axis(loss.axis, shape)
    return StatsRequest(intervals=(NON_NEGATIVE,), row_axes=(axis,) if axis is not None else ())


def check(facts: OutputFacts) -> Iterator[Problem]:
    loss = facts.loss
    if not _applies(loss):
        return
    assert loss is not None
    if facts.sparse_targets:
        yield _class_indices(facts, loss)
        return
    stats = facts.stats
    rows = facts.row_sums(loss.axis)
    edges = stats.edges_for(NON_NEGATIVE)
    # KL divergence's negative targets are the negative-targets check's (VC104) to report.
    negative = edges.below if edges is not None and loss.name != "kl_divergence" else 0
    # Multi-hot rows on a softmax output are reported, with the better fix, by VC109.
    above = rows.above if rows is not None and softmax_multilabel.multilabel_rows(facts) is None else 0
    below = rows.below if rows is not None else 0
    if not (negative or above or below):
        return
    assert rows is not None or negative
    parts = []
    if rows is not None and (above or below):
        parts.append(
            f"{percent((above + below) / rows.rows)} of target rows ({above + below:,} of "
            f"{rows.rows:,}) do not sum to 1 (row sums {format_bound(rows.min or 0)} to "
            f"{format_bound(rows.max or 0)})"
        )
    if negative:
        parts.append(f"{negative:,} target values are negative")
    consequence = []
    if above:
        consequence.append("rows summing to more than 1 ask for full probability on several classes")
    if below:
        consequence.append("rows summing to less than 1 are partly or wholly ignored")
    if negative:
        consequence.append("negative values reward pushing a probability down without end")
    multi_hot = above and stats.integer_valued and (stats.min or 0) >= 0 and (stats.max or 0) <= 1
    if multi_hot:
        fix = Fix(
            "change-loss",
            "these are multi-label targets: end the output with sigmoid and compile with "
            "binary cross-entropy, one independent yes/no per class",
            activation="sigmoid",
            loss="keras.losses.BinaryCrossentropy()",
        )
    else:
        fix = Fix(
            "change-targets",
            "make each target row a distribution: non-negative values divided by the row sum, "
            f"y = y / y.sum(axis={loss.axis}, keepdims=True)",
        )
    yield Problem(
        message=f"{'; '.join(parts)}: {loss.name} needs distributions ({'; '.join(consequence)})",
        evidence={
            "count_rows": rows.rows if rows is not None else 0,
            "count_rows_above_1": above,
            "count_rows_below_1": below,
            "row_sum_min": rows.min if rows is not None else None,
            "row_sum_max": rows.max if rows is not None else None,
            "count_negative": negative,
        },
        fix=fix,
    )


def _class_indices(facts: OutputFacts, loss: LossSpec) -> Problem:
    units = facts.units
    shown = "(N,)" if len(facts.sample_shape) == 0 else f"(N, {', '.join(map(str, facts.sample_shape))})"
    sparse = LossSpec("sparse_categorical_crossentropy", from_logits=loss.from_logits)
    return Problem(
        message=(
            f"targets have shape {shown}, one class index per sample, but {loss.name} expects "
            f"one-hot rows of {units} values like the output: Keras fails on the shapes"
        ),
        evidence={"target_shape": list(facts.sample_shape), "classes": units},
        fix=Fix(
            "change-loss",
            "for class indices, compile with sparse categorical cross-entropy",
            loss=sparse.code(),
            alternative=f"or one-hot encode the targets: keras.utils.to_categorical(y, {units})",
        ),
    )

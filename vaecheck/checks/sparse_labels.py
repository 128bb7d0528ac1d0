"""Sparse categorical cross-entropy with labels that are not class indices of this output.

Sparse categorical cross-entropy takes one integer class index per sample, from 0 to C - 1 for
an output of C units. Keras casts the labels to int64 without a word, so 0.7 is trained as
class 0; a label of C or more (or below 0, unless it is `ignore_class`) makes TensorFlow stop
with an error on CPU and return NaN losses on GPU. One-hot rows in place of indices fail on
their shapes.

Failing: `Dense(10, activation="softmax")` compiled with `sparse_categorical_crossentropy`,
with labels 1..10 (one past the last unit), or with one-hot rows of 10.
Passing: integer labels 0..9 of shape (N,) or (N, 1).
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

CODE = "VC103"
ID = "sparse-labels-invalid"
SEVERITY = Severity.ERROR
SUMMARY = "sparse categorical cross-entropy labels are not integer class indices of the output"


def _classes(shape: Shape | None) -> int | None:
    return shape[-1] if shape else None


def label_range(shape: Shape | None) -> Interval:
    classes = _classes(shape)
    if classes is None or classes < 1:
        return Interval(0.0, INF, True, False)
    return Interval.closed(0.0, float(classes - 1))


def statistics(loss: LossSpec | None, codomain: Codomain, shape: Shape | None) -> StatsRequest:
    if loss is None or not loss.is_sparse_categorical:
        return StatsRequest()
    ignored = (float(loss.ignore_class),) if loss.ignore_class is not None else ()
    return StatsRequest(intervals=(label_range(shape),), value_counts=ignored)


def check(facts: OutputFacts) -> Iterator[Problem]:
    loss = facts.loss
    if loss is None or not loss.is_sparse_categorical:
        return
    stats = facts.stats
    classes = facts.units
    if classes is not None and classes > 1 and not facts.sparse_targets:
        yield _one_hot(facts, loss, classes)
        return
    finite = stats.finite
    if not finite or stats.min is None or stats.max is None:
        return
    counts = stats.value_counts
    non_integer = counts.non_integer if counts is not None else (0 if stats.integer_valued else finite)
    edges = stats.edges_for(label_range(facts.shape))
    ignored = counts.count(float(loss.ignore_class)) if counts and loss.ignore_class is not None else 0
    below = above = 0
    if edges is not None:
        below = edges.below - (ignored if loss.ignore_class is not None and loss.ignore_class < 0 else 0)
        above = edges.above - (
            ignored if loss.ignore_class is not None and classes and loss.ignore_class >= classes else 0
        )
    if not (non_integer or below or above):
        return
    parts = []
    if non_integer:
        parts.append(
            f"{percent(non_integer / finite)} of labels ({non_integer:,}) are not integers, "
            "and Keras truncates them to one (0.7 becomes class 0)"
        )
    if below or above:
        span = f"0..{classes - 1}" if classes else "0 or more"
        where = f"for this output's {classes} units" if classes else ""
        parts.append(
            f"{below + above:,} of {finite:,} labels lie outside {span} {where} (labels "
            f"{format_bound(stats.min)} to {format_bound(stats.max)}): TensorFlow stops "
            "with an error on CPU and returns NaN losses on GPU".replace("  ", " ")
        )
    yield Problem(
        message="; ".join(parts),
        evidence={
            "count_non_integer": non_integer,
            "count_below_0": below,
            "count_above_last_class": above,
            "classes": classes,
        },
        fix=_fix(facts, loss, classes, non_integer, below, above),
    )


def _fix(
    facts: OutputFacts, loss: LossSpec, classes: int | None, non_integer: int, below: int, above: int
) -> Fix:
    stats = facts.stats
    assert stats.min is not None and stats.max is not None
    if non_integer:
        dense = LossSpec("categorical_crossentropy", from_logits=loss.from_logits)
        return Fix(
            "change-loss",
            "for soft or fractional targets, compile with categorical cross-entropy on "
            "rows of class probabilities",
            loss=dense.code(),
            alternative="or turn the labels into integer class indices 0..C-1",
        )
    if classes and not below and stats.min == 1 and stats.max == classes:
        return Fix(
            "change-targets",
            f"the labels count from 1: subtract 1 so that they run 0..{classes - 1}",
            rescale=Rescale(1.0, -1.0, 0.0, float(classes - 1)),
        )
    if above and not below:
        needed = int(stats.max) + 1
        return Fix(
            "change-activation",
            f"give the output one unit per class: {needed} units for labels up to "
            f"{format_bound(stats.max)}, or relabel the classes 0..{(classes or needed) - 1}",
        )
    return Fix(
        "change-targets",
        "relabel the classes 0..C-1, or pass ignore_class= for a label that marks samples "
        "to skip",
        loss=LossSpec(loss.name, from_logits=loss.from_logits).code(ignore_class=int(stats.min))
        if below and stats.min == int(stats.min)
        else None,
    )


def _one_hot(facts: OutputFacts, loss: LossSpec, classes: int) -> Problem:
    dense = LossSpec("categorical_crossentropy", from_logits=loss.from_logits)
    return Problem(
        message=(
            f"targets have one value per class (rows of {classes}, like the output), but "
            f"{loss.name} expects one class index per sample: Keras fails on the shapes"
        ),
        evidence={"target_shape": list(facts.sample_shape), "classes": classes},
        fix=Fix(
            "change-loss",
            "for one-hot or soft targets, compile with categorical cross-entropy",
            loss=dense.code(),
            alternative="or turn the rows into class indices: y = y.argmax(axis=-1)",
        ),
    )

"""Binary cross-entropy with targets outside [0, 1].

Binary cross-entropy, -(y·log p + (1 - y)·log(1 - p)), is smallest at p = y only when the
target y lies in [0, 1]. For a target above 1 the loss keeps falling as p rises, so the model
pushes that prediction to 1 and the loss turns negative; a target below 0 pushes it to 0. The
loss curve looks like progress (it even goes below zero) while those values are never fit.
Focal binary cross-entropy has the same requirement.

Failing: a sigmoid decoder compiled with `binary_crossentropy` and trained on 8-bit images
(0..255), or on standardized data.
Passing: the same images divided by 255, so that every target lies in [0, 1].
"""

from __future__ import annotations

from collections.abc import Iterator

from vaecheck.checks.base import OutputFacts, Problem, StatsRequest
from vaecheck.checks.outside_codomain import percent
from vaecheck.codomain import Codomain
from vaecheck.intervals import Interval
from vaecheck.losses import LossSpec
from vaecheck.report import Fix, Severity
from vaecheck.shapes import Shape

CODE = "VC101"
ID = "binary-targets-outside-unit-interval"
SEVERITY = Severity.ERROR
SUMMARY = "binary cross-entropy targets lie outside [0, 1]"

UNIT = Interval.closed(0.0, 1.0)


def statistics(loss: LossSpec | None, codomain: Codomain, shape: Shape | None) -> StatsRequest:
    if loss is not None and loss.is_binary_crossentropy:
        return StatsRequest(intervals=(UNIT,))
    return StatsRequest()


def check(facts: OutputFacts) -> Iterator[Problem]:
    loss = facts.loss
    stats = facts.stats
    if loss is None or not loss.is_binary_crossentropy:
        return
    edges = stats.edges_for(UNIT)
    if edges is None or not edges.outside or stats.min is None or stats.max is None:
        return
    finite = stats.finite
    sides = []
    if edges.below:
        sides.append(f"{edges.below:,} below 0")
    if edges.above:
        sides.append(f"{edges.above:,} above 1")
    from vaecheck.fixes import rescale_between, source_range  # numpy: imported on use

    source = source_range(stats, facts.data_kind)
    alternative = None
    if not facts.data_kind.bounded:
        alternative = (
            "or, as these data are not probabilities, use mean_squared_error with a linear output"
        )
    yield Problem(
        message=(
            f"{percent(edges.outside / finite)} of targets ({edges.outside:,} of {finite:,}) "
            f"lie outside [0, 1] ({' and '.join(sides)}): {loss.name} pushes those "
            "predictions to 0 or 1 and its loss goes negative"
        ),
        evidence={
            "count_outside_unit": edges.outside,
            "count_below_0": edges.below,
            "count_above_1": edges.above,
            "fraction_outside_unit": edges.outside / finite,
        },
        fix=Fix(
            "rescale-data",
            f"rescale the targets into [0, 1], the range {loss.name} is defined on, "
            "and back on the way out",
            rescale=rescale_between(source, (0.0, 1.0)),
            rescale_for=facts.codomain.activation_name(),
            alternative=alternative,
        ),
    )


"""NaN or infinite values in the data.

No output can produce NaN or infinity, and a single non-finite target turns the loss, then every
gradient and weight, into NaN at the first batch that holds it.

Failing: a standardized column with a zero standard deviation (0/0 gives NaN).
Passing: the same data with constant columns dropped or their std floored.

The fix names the features (the last axis) that hold the non-finite values, with their counts,
and gives the line that drops the rows holding any; imputing (the feature's mean or median) is
the alternative when too many rows would go.
"""

from __future__ import annotations

from collections.abc import Iterator

from vaecheck.checks.base import OutputFacts, Problem
from vaecheck.checks.outside_codomain import percent
from vaecheck.report import Fix, Severity

CODE = "VC003"
ID = "nonfinite-data"
SEVERITY = Severity.ERROR
SUMMARY = "the data holds NaN or infinite values"


def check(facts: OutputFacts) -> Iterator[Problem]:
    stats = facts.stats
    if not stats.nonfinite:
        return
    parts = [
        f"{count:,} {label}"
        for count, label in ((stats.nan, "NaN"), (stats.posinf, "+inf"), (stats.neginf, "-inf"))
        if count
    ]
    yield Problem(
        message=(
            f"{percent(stats.nonfinite / stats.count)} of values are not finite "
            f"({', '.join(parts)}): one such target makes the loss NaN"
        ),
        evidence={
            "nan": stats.nan,
            "posinf": stats.posinf,
            "neginf": stats.neginf,
            "fraction_nonfinite": stats.nonfinite / stats.count,
        },
        fix=_clean_fix(facts),
    )


SHOWN_FEATURES = 3


def _clean_fix(facts: OutputFacts) -> Fix:
    stats = facts.stats
    features = stats.features
    where = ""
    if features is not None and features.count > 1:
        holding = [int(i) for i in features.nonfinite.nonzero()[0]]
        worst = sorted(holding, key=lambda i: -int(features.nonfinite[i]))[:SHOWN_FEATURES]
        named = ", ".join(
            f"{features.label(i)}: {int(features.nonfinite[i]):,}" for i in sorted(worst)
        )
        more = f", and {len(holding) - len(worst)} more" if len(holding) > len(worst) else ""
        where = (
            f" ({len(holding):,} of {features.count:,} {features.axis_name}s hold them: "
            f"{named}{more})"
        )
    return Fix(
        kind="clean-data",
        summary=(
            f"drop or impute the {stats.nonfinite:,} non-finite values before training{where}"
        ),
        alternative=(
            "to drop the rows that hold any: "
            "x = x[np.isfinite(x).reshape(len(x), -1).all(axis=1)]"
        ),
    )

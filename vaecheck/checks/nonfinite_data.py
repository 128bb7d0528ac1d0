"""NaN or infinite values in the data.

No output can produce NaN or infinity, and a single non-finite target turns the loss, then every
gradient and weight, into NaN at the first batch that holds it.

Failing: a standardized column with a zero standard deviation (0/0 gives NaN).
Passing: the same data with constant columns dropped or their std floored.
"""

from __future__ import annotations

from collections.abc import Iterator

from vaecheck.checks.base import OutputFacts, Problem
from vaecheck.checks.outside_codomain import percent
from vaecheck.report import Severity

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
    )

"""An output whose range vaecheck cannot determine from the saved model.

Lambda layers, custom layers and custom activations keep their code outside the file, and
layers whose range depends on learned statistics need weights that are not read. vaecheck never
guesses a range: it names the layer that stopped the analysis, and compares nothing.

Failing: a decoder ending in `Lambda(lambda x: 2 * x)`, or a custom `ScaledTanh` layer.
Passing: the same computation with built-in layers (`Activation("tanh")`, `Rescaling(2.0)`).
"""

from __future__ import annotations

from collections.abc import Iterator

from vaecheck.checks.base import OutputFacts, Problem
from vaecheck.report import Severity

CODE = "VC004"
ID = "unknown-codomain"
SEVERITY = Severity.WARNING
SUMMARY = "the output's range cannot be determined statically"


def check(facts: OutputFacts) -> Iterator[Problem]:
    codomain = facts.codomain
    if codomain.known:
        return
    yield Problem(
        message=(
            f"the output range is unknown at {codomain.unknown_at} ({codomain.unknown_reason}); "
            "the data was not compared"
        ),
        evidence={"layer": codomain.unknown_at, "reason": codomain.unknown_reason},
    )

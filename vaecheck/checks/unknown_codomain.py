"""An output whose range vaecheck cannot determine from the saved model.

Lambda layers, custom layers and custom activations keep their code outside the file, and
layers whose range depends on learned statistics need weights that are not read. vaecheck never
guesses a range: it names the layer that stopped the analysis, and compares nothing. With
`--probe` the message adds the range the model produced when run, labelled "observed, not
proven", and how much of the data lies outside it.

Failing: a decoder ending in `Lambda(lambda x: 2 * x)`, or a custom `ScaledTanh` layer.
Passing: the same computation with built-in layers (`Activation("tanh")`, `Rescaling(2.0)`).

The fix says what would make the range known: `--probe` to run the model and see the range it
produces (with `--custom-objects FILE.py` defining the layer, when Keras cannot load it
otherwise), or built-in layers in the named layer's place, whose ranges vaecheck proves.
"""

from __future__ import annotations

from collections.abc import Iterator

from vaecheck.checks.base import OutputFacts, Problem
from vaecheck.checks.outside_codomain import percent
from vaecheck.intervals import format_bound
from vaecheck.report import Fix, Severity

CODE = "VC004"
ID = "unknown-codomain"
SEVERITY = Severity.WARNING
SUMMARY = "the output's range cannot be determined statically"
NEEDS_DATA = False  # also runs on a model checked without data


def check(facts: OutputFacts) -> Iterator[Problem]:
    codomain = facts.codomain
    if codomain.known:
        return
    observed = facts.observed
    compared = "the data was not compared"
    if observed is not None and observed.low is not None and observed.high is not None:
        compared = (
            f"--probe observed [{format_bound(observed.low)}, {format_bound(observed.high)}] "
            "(observed, not proven)"
        )
        if observed.fraction_outside is not None:
            compared += f", and {percent(observed.fraction_outside)} of the data lies outside it"
    yield Problem(
        message=(
            f"the output range is unknown at {codomain.unknown_at} ({codomain.unknown_reason}); "
            f"{compared}"
        ),
        evidence={"layer": codomain.unknown_at, "reason": codomain.unknown_reason},
        fix=_known_range_fix(facts),
    )


def _known_range_fix(facts: OutputFacts) -> Fix:
    layer = facts.codomain.unknown_at
    builtin = (
        f"to have the range proven, build '{layer}' from built-in layers "
        "(Activation, Rescaling, Dense with an activation)"
    )
    if facts.observed is not None:
        return Fix(
            kind="make-range-known",
            summary=f"the probe's range is observed, not proven; {builtin}",
        )
    return Fix(
        kind="make-range-known",
        summary=(
            f"run with --probe to see the range the model produces past '{layer}' (add "
            "--custom-objects FILE.py defining the layer if Keras cannot load it); or, "
            f"{builtin}"
        ),
    )

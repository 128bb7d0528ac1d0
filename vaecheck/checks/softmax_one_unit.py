"""A softmax over an axis of size 1: the output is the constant 1.0.

Softmax divides exp(x) by the sum of exp over its axis. Over a single value that is
exp(x) / exp(x) = 1, whatever the input: the output never changes, its gradient is zero, and
nothing before it is trained. It is the classic slip of a binary classifier written as
`Dense(1, activation="softmax")`.

Failing: `Dense(1, activation="softmax")`, whatever the loss and the data.
Passing: `Dense(1, activation="sigmoid")` with binary cross-entropy, or `Dense(2,
activation="softmax")` with (sparse) categorical cross-entropy.
"""

from __future__ import annotations

from collections.abc import Iterator

from vaecheck.checks.base import OutputFacts, Problem
from vaecheck.report import Fix, Severity

CODE = "VC108"
ID = "softmax-over-one-unit"
SEVERITY = Severity.ERROR
SUMMARY = "softmax over an axis of size 1 always outputs 1.0"
NEEDS_DATA = False  # also runs on a model checked without data


def check(facts: OutputFacts) -> Iterator[Problem]:
    if facts.softmax_axis_size != 1:
        return
    yield Problem(
        message=(
            f"softmax over axis {facts.softmax_axis}, which has size 1, always outputs 1.0: "
            "the output is constant and nothing before it learns"
        ),
        evidence={"softmax_axis": facts.softmax_axis, "softmax_axis_size": 1},
        fix=Fix(
            "change-activation",
            "for one yes/no output use Dense(1, activation='sigmoid') with binary "
            "cross-entropy; for C classes, Dense(C, activation='softmax')",
            activation="sigmoid",
            loss="keras.losses.BinaryCrossentropy()",
        ),
    )

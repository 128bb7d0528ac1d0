"""A cross-entropy that expects probabilities (`from_logits=False`) on an unbounded output.

Without `from_logits=True`, binary and categorical cross-entropy take the output as
probabilities. Keras clips them into [1e-7, 1 - 1e-7] before the log, so an output above 1 or
below 0 gets no gradient at all and stays wrong; categorical cross-entropy first divides each
row by its sum, which is meaningless for outputs that can be negative and a division by zero
for a row of zeros (a relu output).
The usual cause is a missing activation: a linear last layer meant as logits, compiled without
`from_logits=True`.

Failing: `Dense(1)` (linear) compiled with `binary_crossentropy`.
Passing: `Dense(1)` with `BinaryCrossentropy(from_logits=True)`, or `Dense(1,
activation="sigmoid")` with `binary_crossentropy`.
"""

from __future__ import annotations

from collections.abc import Iterator

from vaecheck.checks.base import OutputFacts, Problem
from vaecheck.intervals import Interval
from vaecheck.report import Fix, Severity

CODE = "VC107"
ID = "probability-loss-on-unbounded-output"
SEVERITY = Severity.ERROR
SUMMARY = "a cross-entropy expecting probabilities on an output not bounded to [0, 1]"
NEEDS_DATA = False  # also runs on a model checked without data

UNIT = Interval.closed(0.0, 1.0)


def check(facts: OutputFacts) -> Iterator[Problem]:
    loss = facts.loss
    interval = facts.codomain.interval
    if loss is None or not loss.expects_probabilities or interval is None:
        return
    if interval.is_subset_of(UNIT):
        return
    squash = "sigmoid" if loss.is_binary_crossentropy else "softmax"
    bound = facts.codomain.activation_name()
    how = f"bounded only by {bound}, to {interval}" if bound else f"linear, with range {interval}"
    if loss.is_categorical_crossentropy:
        effect = (
            "Keras divides each row by its sum before the log, which breaks down for outputs "
            "that can be negative or all zero"
        )
    else:
        effect = "Keras clips predictions into [1e-7, 1 - 1e-7], so values beyond get no gradient"
    logits = loss.code(from_logits=True)
    if interval.is_real_line:
        fix = Fix(
            "change-loss",
            f"treat the linear output as logits: compile with from_logits=True, and apply "
            f"{squash} when predicting",
            loss=logits,
            alternative=f"or end the output with activation='{squash}'",
        )
    else:
        fix = Fix(
            "change-activation",
            f"end the output with activation='{squash}' so that it gives probabilities",
            activation=squash,
            alternative="or make it linear (activation=None) and compile with from_logits=True",
        )
    yield Problem(
        message=(
            f"{loss.name} expects probabilities (from_logits=False), but this output is {how}: "
            f"{effect}"
        ),
        evidence={"activation": bound or "linear"},
        fix=fix,
    )

"""`from_logits=True` on an output that is already bounded, usually by sigmoid or softmax.

With `from_logits=True` the loss applies sigmoid (binary) or softmax (categorical) to the
output itself. An output that sigmoid or softmax already squashed into [0, 1] is squashed a
second time, so the probabilities the loss works with stay in a narrow band: sigmoid of
(0, 1) is (0.5, 0.731), and no sample can be predicted as the negative class. Keras on
TensorFlow recovers the logits, with a warning, only when the activation is the model's very
last operation; on JAX and PyTorch, or with any layer after the activation, it does not. A
logit bounded on one side (relu) has the same effect: sigmoid of [0, inf) is [0.5, 1).

Failing: `Dense(1, activation="sigmoid")` compiled with `BinaryCrossentropy(from_logits=True)`.
Passing: the same output with `from_logits=False`, or a linear output (`activation=None`)
with `from_logits=True`.
"""

from __future__ import annotations

from collections.abc import Iterator

from vaecheck.checks.base import OutputFacts, Problem
from vaecheck.intervals import Interval
from vaecheck.ranges.activations import activation_image, softmax_image
from vaecheck.report import Fix, Severity

CODE = "VC106"
ID = "logits-loss-on-squashed-output"
SEVERITY = Severity.ERROR
SUMMARY = "from_logits=True on an output already squashed by sigmoid or softmax (or bounded)"
NEEDS_DATA = False  # also runs on a model checked without data

# Logits must be free enough to express confident predictions both ways.
CONFIDENT = Interval.closed(0.01, 0.99)
UNIT = Interval.closed(0.0, 1.0)


def probabilities_seen(facts: OutputFacts) -> Interval | None:
    """The probabilities the loss derives from this output when it takes it for logits."""
    loss = facts.loss
    interval = facts.codomain.interval
    if loss is None or interval is None:
        return None
    if loss.is_binary_crossentropy:
        return activation_image("sigmoid", interval).interval
    # A softmax over more classes only narrows the band: two classes is the widest case.
    classes = facts.shape[loss.axis] if facts.shape and -len(facts.shape) <= loss.axis < len(facts.shape) else None
    return softmax_image(interval, classes if isinstance(classes, int) and classes >= 1 else 2)


def check(facts: OutputFacts) -> Iterator[Problem]:
    loss = facts.loss
    interval = facts.codomain.interval
    if loss is None or not loss.logits or interval is None:
        return
    seen = probabilities_seen(facts)
    if seen is None or CONFIDENT.is_subset_of(seen):
        return
    bound = facts.codomain.activation_name() or "its last layers"
    squash = "sigmoid" if loss.is_binary_crossentropy else "softmax"
    if interval.is_subset_of(UNIT):
        what = (
            f"{bound} already squashes this output into {interval}, and the loss applies "
            f"{squash} again"
        )
        fix = Fix(
            "change-loss",
            "the output is already a probability: compile with from_logits=False",
            loss=loss.code(from_logits=False),
            alternative=(
                f"or remove the {bound} (activation=None) and keep from_logits=True, applying "
                f"{squash} when predicting"
            ),
        )
    else:
        what = f"{bound} bounds these logits to {interval}"
        fix = Fix(
            "change-activation",
            "logits must be free to take any value: use a linear output (activation=None)",
            activation="linear",
        )
    yield Problem(
        message=(
            f"{loss.name} has from_logits=True, but {what}: the probabilities it sees stay "
            f"within {seen}, so confident predictions are out of reach"
        ),
        evidence={
            "probability_low": seen.low,
            "probability_high": seen.high,
            "activation": bound,
        },
        fix=fix,
    )

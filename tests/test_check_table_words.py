"""VC002, VC004, VC101, VC103, VC104, VC201 and VC202, and the check registry, word for word.

Facts are built by hand, with no model: each finding's code, severity, message, evidence and
fix is worked out from the data in the test, with the numbers at the edges of each condition.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from vaecheck.checks import negative_targets
from vaecheck.checks.base import StatsRequest
from vaecheck.codomain import Codomain
from vaecheck.intervals import INF, Interval
from vaecheck.losses import LossSpec
from vaecheck.report import Fix, Rescale, Severity

from test_loss_check_table import LINEAR, RELU, SIGMOID, SOFTMAX, TANH, THREE, UNKNOWN, facts, found

# --- VC104: negative targets for Poisson, MSLE and KL divergence ---------------------------------

POISSON_SAYS = (
    "Poisson loss falls as the prediction goes to 0 for a negative target, so these samples drag "
    "predictions to zero and the loss turns negative"
)


def test_vc104_poisson_word_for_word():
    finding = found("VC104", RELU, [-2.0, -0.5, 0.0, 3.0], "poisson")
    assert finding.severity is Severity.ERROR
    assert finding.id == "negative-targets"
    assert finding.output == "out"
    assert finding.message == (
        "50.0% of targets (2 of 4) are negative (down to -2), which poisson does not accept: "
        + POISSON_SAYS
    )
    assert finding.evidence == {"count_negative": 2, "fraction_negative": 0.5}
    assert finding.fix == Fix(
        "change-loss",
        "for targets that can be negative, compile with a loss for signed values",
        loss="keras.losses.MeanSquaredError()",
        rescale=Rescale(1.0, 2.0, 0.0, 5.0),
        alternative="or, if the targets are shifted counts, shift them back to start at 0 "
        "(the lowest is -2)",
    )

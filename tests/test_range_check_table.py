"""VC001 (data outside the codomain) and VC003 (non-finite data), word for word, on facts.

The counts in each message are worked out by hand from the data in the test.
"""

from __future__ import annotations

import numpy as np
import pytest

from vaecheck.checks import run_checks
from vaecheck.checks.outside_codomain import percent
from vaecheck.codomain import Codomain
from vaecheck.intervals import INF, Interval
from vaecheck.report import Fix, Severity

from test_loss_check_table import LINEAR, RELU, SIGMOID, SOFTMAX, THREE, found

CLEAN_ALTERNATIVE = (
    "to drop the rows that hold any: x = x[np.isfinite(x).reshape(len(x), -1).all(axis=1)]"
)


@pytest.mark.parametrize(
    ("fraction", "shown"),
    [(0.0, "0%"), (0.0005, "<0.1%"), (0.001, "0.1%"), (0.5, "50.0%"), (0.999, "99.9%"),
     (0.9995, ">99.9%"), (1.0, "100.0%")],
)
def test_percent(fraction, shown):
    assert percent(fraction) == shown


def test_vc003_counts_each_kind_of_non_finite_value():
    finding = found("VC003", LINEAR, [1.0, np.nan, np.inf, -np.inf, np.nan, 2.0, 3.0, 4.0])
    assert finding.message == (
        "50.0% of values are not finite (2 NaN, 1 +inf, 1 -inf): one such target makes the loss NaN"
    )
    assert finding.evidence == {"nan": 2, "posinf": 1, "neginf": 1, "fraction_nonfinite": 0.5}
    assert finding.fix == Fix(
        "clean-data",
        "drop or impute the 4 non-finite values before training",
        alternative=CLEAN_ALTERNATIVE,
    )
    only_nan = found("VC003", LINEAR, [np.nan, 1.0, 2.0, 3.0])
    assert only_nan.message.startswith("25.0% of values are not finite (1 NaN): ")
    only_inf = found("VC003", LINEAR, [np.inf, 1.0, 2.0, 3.0])
    assert only_inf.message.startswith("25.0% of values are not finite (1 +inf): ")
    assert found("VC003", LINEAR, [1.0, 2.0]) is None


def test_vc003_names_the_features_holding_the_most():
    data = [[np.nan, np.nan, 0.0, np.nan, np.inf], [np.nan, 1.0, 2.0, 3.0, -np.inf]]
    finding = found("VC003", LINEAR, data)
    assert finding.message.startswith("60.0% of values are not finite (4 NaN, 1 +inf, 1 -inf)")
    # Features 0 and 4 hold 2, features 1 and 3 hold 1: the three shown are 0, 4 and the first 1.
    assert finding.fix.summary == (
        "drop or impute the 6 non-finite values before training (4 of 5 features hold them: "
        "feature 0: 2, feature 1: 1, feature 4: 2, and 1 more)"
    )
    three = found("VC003", LINEAR, [[np.nan, np.nan, 0.0], [np.nan, 1.0, np.inf]])
    assert three.fix.summary == (
        "drop or impute the 4 non-finite values before training (3 of 3 features hold them: "
        "feature 0: 2, feature 1: 1, feature 2: 1)"
    )
    two = found("VC003", LINEAR, [[np.nan, 1.0], [2.0, 3.0]])
    assert two.fix.summary.endswith("(1 of 2 features hold them: feature 0: 1)")
    # One feature: nothing to point at.
    column = found("VC003", LINEAR, [[np.nan], [1.0]])
    assert column.fix.summary == "drop or impute the 1 non-finite values before training"


def test_vc001_both_sides():
    finding = found("VC001", SIGMOID, [-1.0, 0.5, 2.0, 3.0])
    assert finding.message == (
        "75.0% of values (3 of 4) lie outside (0, 1), where sigmoid cannot go: "
        "25.0% below 0 and 50.0% above 1"
    )
    assert finding.evidence == {
        "count_outside": 3, "count_below": 1, "count_above": 2, "fraction_outside": 0.75,
    }
    assert finding.severity is Severity.ERROR
    above = found("VC001", SIGMOID, [0.5, 2.0])
    assert above.message.endswith("where sigmoid cannot go: 50.0% above 1")
    plain = Codomain(Interval(0.0, INF, True, False))
    assert found("VC001", plain, [-1.0, 1.0]).message == (
        "50.0% of values (1 of 2) lie outside [0, inf), where the output cannot go: 50.0% below 0"
    )


def test_vc001_on_a_range_from_saved_weights_is_a_warning_to_check_after_training():
    weighted = Codomain(
        Interval.closed(-2.0, 2.0), bounded_by=("h: tanh",), saved_weights=("out/kernel", "out/bias")
    )
    finding = found("VC001", weighted, [-3.0, 0.0, 3.0, 1.0])
    assert finding.severity is Severity.WARNING
    assert finding.message == (
        "50.0% of values (2 of 4) lie outside [-2, 2], the range the weights saved in the file "
        "give (out/kernel, out/bias): 25.0% below -2 and 25.0% above 2"
    )
    assert finding.evidence == {
        "count_outside": 2, "count_below": 1, "count_above": 1, "fraction_outside": 0.5,
        "saved_weights": ["out/kernel", "out/bias"],
    }
    assert finding.fix == Fix(
        "check-after-training",
        "this range comes from the saved weights of out/kernel, out/bias, not from an activation: "
        "a trained model with these weights cannot produce these values, while an untrained one "
        "will move the range as it trains; check again after training",
    )


def test_vc001_passes_where_another_check_speaks():
    assert found("VC001", SOFTMAX, [[2.0]], None, (None, 1)) is None  # VC108's
    assert found("VC001", SOFTMAX, [0.0, 7.0], "sparse_categorical_crossentropy", THREE) is None
    assert found("VC001", SIGMOID, [0.5, 2.0], "binary_crossentropy") is None  # VC101's
    assert found("VC001", RELU, [0.0, 2.0]) is None

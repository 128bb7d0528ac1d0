"""Fix suggestions: the numbers map the data into the codomain, and the choice fits the data."""

from __future__ import annotations

import numpy as np
import pytest

from vaecheck.checks import OutputFacts, run_checks
from vaecheck.codomain import Codomain
from vaecheck.fixes import describe_rescale, rescale_between, suggest_fix
from vaecheck.intervals import INF, Interval
from vaecheck.stats import measure, recognize

TANH = Codomain(Interval.open(-1.0, 1.0), bounded_by=("image: tanh",))
SIGMOID = Codomain(Interval.open(0.0, 1.0), bounded_by=("out: sigmoid",))
RELU = Codomain(Interval(0.0, INF, True, False), bounded_by=("out: relu",))


def fix_for(codomain, data):
    data = np.asarray(data)
    stats = measure([data], data.shape, data.dtype, [codomain.interval])
    kind = recognize(stats)
    facts = OutputFacts("out", codomain, stats, kind, stats.edges_for(codomain.interval), None)
    return suggest_fix(codomain, stats, kind, list(run_checks(facts))), data


def test_uint8_images_into_tanh_is_x_over_127_5_minus_1():
    fix, _ = fix_for(TANH, np.array([[0, 17, 200, 250]], dtype=np.uint8))
    assert fix.kind == "rescale-data"
    assert fix.rescale.scale == pytest.approx(1 / 127.5)
    assert fix.rescale.offset == pytest.approx(-1.0)
    assert describe_rescale(fix.rescale) == "x / 127.5 - 1"
    # 0..255 is the nominal range of 8-bit images, even when this sample stops at 250.
    assert fix.rescale.inverse_scale == pytest.approx(127.5)
    assert fix.rescale.inverse_offset == pytest.approx(127.5)


def test_standardized_data_under_relu_recommends_linear_with_tanh_alternative():
    data = np.random.default_rng(0).standard_normal((2000, 3))
    fix, data = fix_for(RELU, data)
    assert fix.kind == "change-activation" and fix.activation == "linear"
    assert fix.rescale_for == "tanh"
    mapped = data * fix.rescale.scale + fix.rescale.offset
    assert mapped.min() == pytest.approx(-1.0) and mapped.max() == pytest.approx(1.0)
    back = mapped * fix.rescale.inverse_scale + fix.rescale.inverse_offset
    np.testing.assert_allclose(back, data, atol=1e-12)


def test_bounded_data_above_sigmoid_is_rescaled_into_it():
    data = np.linspace(10.0, 20.0, 50)
    fix, data = fix_for(SIGMOID, data)
    assert fix.kind == "rescale-data"
    mapped = data * fix.rescale.scale + fix.rescale.offset
    assert mapped.min() == pytest.approx(0.0) and mapped.max() == pytest.approx(1.0)
    assert "Rescaling(scale=10" in fix.alternative  # make the output cover [10, 20] instead


def test_values_on_open_ends_get_a_margin():
    fix, data = fix_for(SIGMOID, np.array([0.0, 0.3, 1.0]))
    mapped = data * fix.rescale.scale + fix.rescale.offset
    assert 0 < mapped.min() < 0.05 and 0.95 < mapped.max() < 1


def test_clean_data_needs_no_fix():
    fix, _ = fix_for(SIGMOID, np.array([0.2, 0.7]))
    assert fix.kind == "none" and fix.rescale is None


def test_rescale_between_constant_data():
    rescale = rescale_between((3.0, 3.0), (-1.0, 1.0))
    assert 3.0 * rescale.scale + rescale.offset == 0.0

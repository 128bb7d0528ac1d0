"""Interval arithmetic: ends, openness and infinities."""

from __future__ import annotations

import math

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from vaecheck.intervals import INF, Interval, format_bound

finite = st.floats(-1e6, 1e6, allow_nan=False)


@st.composite
def intervals(draw):
    low, high = sorted((draw(finite), draw(finite)))
    if low == high:
        return Interval.point(low)
    return Interval(low, high, draw(st.booleans()), draw(st.booleans()))


def members(interval: Interval) -> list[float]:
    """Points of the interval: its ends where they belong, the floats next to its ends, and
    points in between. Each candidate is kept only if it lies in the interval: in a very
    narrow open interval, (0, 5e-324) say, the in-between points round onto the open ends,
    and some intervals hold no float at all."""
    low, high = interval.low, interval.high
    candidates = [low + (high - low) * t for t in (0.25, 0.5, 0.75)]
    candidates += [low, high, math.nextafter(low, high), math.nextafter(high, low)]
    return [point for point in candidates if interval.contains(point)]


# Open intervals so narrow that no float, or a single one, lies strictly inside.
NARROWEST = Interval(0.0, 5e-324, False, False)
ONE_FLOAT_INSIDE = Interval(0.0, 1e-323, False, False)


def test_members_lie_in_their_interval_even_when_it_is_narrow():
    assert members(NARROWEST) == []
    assert set(members(ONE_FLOAT_INSIDE)) == {5e-324}
    assert set(members(Interval(0.0, 1.0, True, False))) == {
        0.0, 0.25, 0.5, 0.75, math.nextafter(0.0, 1.0), math.nextafter(1.0, 0.0)
    }


def test_infinite_ends_are_open():
    interval = Interval(0.0, INF, True, True)
    assert interval.high_closed is False
    assert str(interval) == "[0, inf)"


def test_empty_or_nan_intervals_are_refused():
    with pytest.raises(ValueError, match="empty interval: 1.0, 0.0"):
        Interval(1.0, 0.0)
    with pytest.raises(ValueError, match="^interval bounds cannot be NaN$"):
        Interval(math.nan, 1.0)
    for low_closed, high_closed in ((True, False), (False, True), (False, False)):
        with pytest.raises(ValueError, match="empty interval"):
            Interval(1.0, 1.0, low_closed, high_closed)  # a point needs both ends


def test_contains_respects_open_ends():
    sigmoid = Interval.open(0.0, 1.0)
    assert not sigmoid.contains(0.0) and not sigmoid.contains(1.0)
    assert sigmoid.contains(0.5)
    assert Interval.closed(0.0, 1.0).contains(1.0)


@given(intervals(), intervals())
@example(NARROWEST, Interval.point(1.0))
@example(Interval.point(-1.0), ONE_FLOAT_INSIDE)
def test_hull_contains_both(a, b):
    hull = a.hull(b)
    for point in members(a) + members(b):
        assert hull.contains(point)


@given(intervals(), st.floats(-100, 100, allow_nan=False), st.floats(-100, 100, allow_nan=False))
@example(ONE_FLOAT_INSIDE, -1.0, 0.0)
def test_affine_image_contains_every_image(interval, scale, offset):
    image = interval.affine(scale, offset)
    for point in members(interval):
        value = point * scale + offset
        assert image.closure().contains(value) or math.isclose(value, image.low) or math.isclose(value, image.high)


def test_negative_scale_swaps_and_keeps_openness():
    assert Interval(0.0, 1.0, True, False).scale(-2.0) == Interval(-2.0, 0.0, False, True)


@given(intervals(), intervals())
@example(NARROWEST, ONE_FLOAT_INSIDE)
def test_sum_and_product_contain_pointwise_results(a, b):
    total = a + b
    product = a * b
    for x in members(a):
        for y in members(b):
            assert total.closure().contains(x + y) or math.isclose(x + y, total.low, abs_tol=1e-9) or math.isclose(x + y, total.high, abs_tol=1e-9)
            p = x * y
            assert product.low - 1e-6 * max(1, abs(p)) <= p <= product.high + 1e-6 * max(1, abs(p))


def test_product_with_unbounded_factor():
    relu = Interval(0.0, INF, True, False)
    assert relu * Interval.open(0.0, 1.0) == Interval(0.0, INF, True, False)
    assert (relu * Interval.closed(-1.0, 1.0)).is_real_line


def test_maximum_minimum_and_clip():
    a = Interval.closed(-2.0, 1.0)
    zero = Interval.point(0.0)
    assert a.maximum(zero) == Interval.closed(0.0, 1.0)
    assert a.minimum(zero) == Interval.closed(-2.0, 0.0)
    assert Interval.real_line().clip(0.0, 6.0) == Interval.closed(0.0, 6.0)
    assert Interval.open(0.0, 1.0).clip(-1.0, 2.0) == Interval.open(0.0, 1.0)
    assert Interval.closed(5.0, 7.0).clip(0.0, 1.0) == Interval.point(1.0)


def test_clip_beyond_either_end_and_with_crossed_bounds():
    assert Interval.closed(-7.0, -5.0).clip(0.0, 1.0) == Interval.point(0.0)
    assert Interval.closed(-7.0, 5.0).clip(2.0, 1.0) == Interval.point(1.0)  # numpy: the upper


def test_clip_at_an_open_end_keeps_it_open():
    # clip((0, 1), 0, 0.5): no value reaches 0, so 0 stays out; likewise 1 for clip to [-1, 1].
    assert Interval.open(0.0, 1.0).clip(0.0, 0.5) == Interval(0.0, 0.5, False, True)
    assert Interval.open(0.0, 1.0).clip(-1.0, 1.0) == Interval.open(0.0, 1.0)
    assert Interval.closed(0.0, 1.0).clip(0.0, 1.0) == Interval.closed(0.0, 1.0)


def test_scale_by_zero_or_an_infinite_factor():
    assert Interval.closed(1.0, 2.0).scale(0.0) == Interval.point(0.0)
    assert Interval.closed(1.0, 2.0).scale(math.inf).is_real_line
    assert Interval.closed(1.0, 2.0).scale(-math.inf).is_real_line


def test_a_point_near_the_float_maximum_survives_arithmetic():
    # (x + x) / 2 overflows there: a collapsed interval keeps its end as it is.
    assert Interval.point(1e308).shift(0.0) == Interval.point(1e308)
    assert Interval.point(1e308).scale(1.0) == Interval.point(1e308)


def test_subset_compares_each_end_and_its_openness():
    unit = Interval.closed(0.0, 1.0)
    assert not unit.is_subset_of(Interval(0.0, 1.0, False, True))
    assert not unit.is_subset_of(Interval(0.0, 1.0, True, False))
    assert not unit.is_subset_of(Interval.closed(0.5, 1.0))
    assert not unit.is_subset_of(Interval.closed(0.0, 0.5))
    half_open = Interval(0.0, 1.0, False, True)
    assert half_open.is_subset_of(half_open)
    assert Interval(0.0, 1.0, True, False).is_subset_of(Interval(0.0, 1.0, True, False))


def test_bounds_are_printed_as_integers_below_1e15():
    assert format_bound(-INF) == "-inf" and format_bound(INF) == "inf"
    assert format_bound(999999999999999.0) == "999999999999999"
    assert format_bound(1e15) == "1e+15"
    assert format_bound(0.1) == "0.1" and format_bound(-0.0) == "0"


def test_clip_to_the_open_end_of_an_interval_is_that_end():
    # softplus's (0, inf) clipped to [-1, 0]: every value is above 0, and becomes 0.
    assert Interval(0.0, INF, False, False).clip(-1.0, 0.0) == Interval.point(0.0)
    assert Interval.open(0.0, 1.0).clip(1.0, 3.0) == Interval.point(1.0)


def test_maximum_of_equal_low_ends_is_open_unless_both_are_closed():
    open_low = Interval(0.0, 1.0, False, True)
    closed_low = Interval(0.0, 1.0, True, True)
    assert not open_low.maximum(closed_low).low_closed
    assert closed_low.maximum(closed_low).low_closed
    assert open_low.minimum(closed_low).low_closed  # min reaches 0 through the closed one


def test_subset():
    assert Interval.open(0.0, 1.0).is_subset_of(Interval.closed(0.0, 1.0))
    assert not Interval.closed(0.0, 1.0).is_subset_of(Interval.open(0.0, 1.0))


@pytest.mark.parametrize(
    ("ci", "expected"),
    [("true", "ci True None 100"), (None, "dev False set 500"), ("1", "dev False set 500")],
)
def test_ci_replays_fixed_examples_and_local_runs_draw_more(ci, expected):
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = (
        "import conftest\n"
        "from hypothesis import settings\n"
        "s = settings.default\n"
        "print(conftest.HYPOTHESIS_PROFILE, s.derandomize, s.database and 'set', s.max_examples)\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "HYPOTHESIS_PROFILE")}
    if ci:
        env["CI"] = ci
    tests = Path(__file__).resolve().parent
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tests, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.stdout.strip() == expected, done.stderr

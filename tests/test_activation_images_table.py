"""Activation images, row by row: each activation's exact image of chosen intervals.

Keras-free. Every expected interval is worked out here from the definitions of KERAS_FACTS §4.2
and §4.3 with numpy/math (or is a known constant), and compared with the computed one end for
end, including which ends are open: a range wider than needed fails as surely as a narrower
one. Arguments read from configurations (alpha, max_value, threshold, approximate, beta, b,
axis, theta, ...) and their defaults each have rows. Where a jump of the function sits on an
open end of the input, the value at the jump counts, since float32 reaches such ends:
relu((0, 2]) is [0, 2]. The second half checks the monotone-piece machinery
(`vaecheck.ranges.piecewise`) and the resolution of activation specs directly.

Every activation is resolved while a test runs, never at collection: mutation testing
(README, Development) switches the mutated code on per test, after collection.
"""

from __future__ import annotations

import math
import re
import sys
from typing import Any

import numpy as np
import pytest

from vaecheck.codomain import Codomain
from vaecheck.intervals import INF, Interval
from vaecheck.ranges import piecewise as pw
from vaecheck.ranges.activations import (
    LINEAR,
    SELU_ALPHA,
    SELU_SCALE,
    Activation,
    Params,
    UnknownActivation,
    activation_image,
    apply_activation,
    fixed,
    image_of_real_line,
    is_keras_module,
    keras_major,
    named_activation,
    prelu_function,
    resolve_activation,
    softmax_image,
)
from vaecheck.ranges.values import ConfigProblem

R = Interval.real_line()
MAX = sys.float_info.max


def slug(value: Any) -> str:
    """A test id of plain characters, which the command line hands back to pytest unchanged."""
    return re.sub(r"[^A-Za-z0-9_.=+-]+", "_", str(value)).strip("_") or "_"


def C(low: float, high: float) -> Interval:
    return Interval.closed(low, high)


def O(low: float, high: float) -> Interval:  # noqa: E741, E743
    return Interval.open(low, high)


def LO(low: float, high: float) -> Interval:
    """(low, high]"""
    return Interval(low, high, False, True)


def HO(low: float, high: float) -> Interval:
    """[low, high)"""
    return Interval(low, high, True, False)


def P(value: float) -> Interval:
    return Interval.point(value)


# Independent definitions (KERAS_FACTS §4.2), in numpy.
def sig(x: float) -> float:
    return float(1.0 / (1.0 + np.exp(-np.float64(x))))


def softplus(x: float) -> float:
    return float(np.logaddexp(0.0, x))


def gelu(x: float) -> float:
    return 0.5 * x * (1.0 + math.erf(x / math.sqrt(2.0)))


def gelu_tanh(x: float) -> float:
    return 0.5 * x * (1.0 + math.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


def mish(x: float) -> float:
    return x * math.tanh(softplus(x))


def hard_silu(x: float) -> float:
    return x * min(max(x + 3.0, 0.0), 6.0) / 6.0


def squareplus(x: float, b: float = 4.0) -> float:
    return (x + math.sqrt(x * x + b)) / 2.0


def grid_min(f: Any, low: float, high: float) -> float:
    """The smallest value of `f` on a fine grid of [low, high]."""
    return float(np.min(np.vectorize(f)(np.linspace(low, high, 20_001))))


def close(a: float, b: float, rel: float = 1e-12) -> bool:
    if a == b:
        return True
    if math.isinf(a) or math.isinf(b) or b == 0 or a == 0:
        return False
    return math.isclose(a, b, rel_tol=rel, abs_tol=0.0)


def same(actual: Interval | None, expected: Interval, rel: float = 1e-12) -> None:
    """Both ends equal (to `rel` where the formula is evaluated differently), flags exactly."""
    assert actual is not None
    assert (actual.low_closed, actual.high_closed) == (expected.low_closed, expected.high_closed), (
        f"{actual} != {expected}"
    )
    assert close(actual.low, expected.low, rel) and close(actual.high, expected.high, rel), (
        f"{actual} != {expected}"
    )


class Args:
    """An activation named with arguments, as a Lambda or a tf function gives them. It is
    resolved when a test runs, so that the builders run then (and not at collection)."""

    def __init__(self, name: str, **arguments: Any) -> None:
        self.name, self.arguments = name, arguments

    def __str__(self) -> str:
        return f"{self.name}({self.arguments})"

    def resolve(self, major: int | None = 3) -> Activation:
        resolved = named_activation(self.name, Params(self.arguments), major)
        assert isinstance(resolved, Activation), resolved
        return resolved


def image(spec: Any, interval: Interval, major: int | None = 3, axis_size: int | None = None) -> Codomain:
    if isinstance(spec, Args):
        codomain = apply_activation("activation", spec.resolve(major), Codomain(interval=interval), axis_size)
    else:
        codomain = activation_image(spec, interval, major, axis_size=axis_size)
    assert codomain.known, codomain.unknown_reason
    return codomain


def with_args(name: str, **arguments: Any) -> Activation:
    return Args(name, **arguments).resolve()


def run(activation: Activation, interval: Interval, axis_size: int | None = None) -> Codomain:
    return apply_activation("act", activation, Codomain(interval=interval), axis_size)


def layer(class_name: str, **config: Any) -> dict[str, Any]:
    return {"module": "keras.layers", "class_name": class_name, "config": config}


# The rows: (spec, input, expected image). Strings name activations with their defaults,
# dicts are layer objects with their config keys.
E1 = math.expm1(-1.0)
E2 = math.expm1(-2.0)
ROWS: list[tuple[Any, Interval, Interval]] = [
    # relu and its arguments (§4.3)
    ("relu", C(-2, 3), C(0, 3)),
    ("relu", Interval(-INF, 5.0, False, False), HO(0, 5)),
    ("relu", O(1, 5), O(1, 5)),
    ("relu", LO(0, 2), C(0, 2)),  # a jump on an open end: see the machinery below
    ("relu", C(-3, -1), P(0)),
    ("relu", O(-3, 0), P(0)),
    (layer("ReLU"), C(-2, 3), C(0, 3)),
    (layer("ReLU", max_value=6.0), R, C(0, 6)),
    (layer("ReLU", max_value=6.0), O(-1, 4), HO(0, 4)),
    (layer("ReLU", max_value=6.0), O(2, 6), LO(2, 6)),
    (layer("ReLU", max_value=6.0), O(7, 9), P(6)),
    (layer("ReLU", max_value=6.0), O(5, 9), LO(5, 6)),
    (layer("ReLU", max_value=2.5), C(-1, 1), C(0, 1)),
    (layer("ReLU", threshold=1.0), C(-1, 0.5), P(0)),
    (layer("ReLU", threshold=1.0), O(1, 3), HO(0, 3)),
    (layer("ReLU", threshold=1.0), O(1.5, 3), O(1.5, 3)),
    (layer("ReLU", threshold=1.0), C(1, 3), C(0, 3)),
    (layer("ReLU", threshold=1.0), O(0.5, 3), HO(0, 3)),
    (layer("ReLU", threshold=1.0, max_value=3.0), R, C(0, 3)),
    (layer("ReLU", threshold=1.0, max_value=3.0), O(2, 5), LO(2, 3)),
    (layer("ReLU", threshold=2.0, max_value=1.0), R, C(0, 1)),
    (layer("ReLU", threshold=2.0, max_value=1.0), O(2, 5), C(0, 1)),
    (layer("ReLU", threshold=2.0, max_value=1.0), O(2.5, 5), P(1)),
    (layer("ReLU", negative_slope=0.1), R, R),
    (layer("ReLU", negative_slope=0.1), C(-2, 3), C(-0.2, 3)),
    (layer("ReLU", negative_slope=0.1), O(-2, 3), O(-0.2, 3)),
    (layer("ReLU", negative_slope=0.1, max_value=6.0), R, Interval(-INF, 6.0, False, True)),
    (layer("ReLU", negative_slope=0.1, max_value=6.0), C(-2, 3), C(-0.2, 3)),
    (layer("ReLU", negative_slope=0.5, threshold=1.0), C(-1, 3), C(-1, 3)),
    (layer("ReLU", negative_slope=0.5, threshold=1.0), C(-1, 0.5), C(-1, -0.25)),
    # The row KERAS_FACTS §4.3 verified on Keras: [-1, 7] -> [-0.15, 0] ∪ (0.5, 6]
    (layer("ReLU", negative_slope=0.1, max_value=6.0, threshold=0.5), C(-1, 7), C(-0.15, 6)),
    (layer("ReLU", negative_slope=0.1, max_value=6.0, threshold=0.5), C(0, 0.4), C(-0.05, -0.01)),
    # relu as a function takes any threshold and max_value: below 0, where() lets negatives
    # through unless a max_value clips them to [0, max_value]; a negative max_value is the
    # upper bound everywhere (clip with low > high)
    (Args("relu", threshold=-1.0), C(-2, 1), LO(-1, 1)),
    (Args("relu", threshold=-1.0), O(-1, -0.5), LO(-1, 0)),
    (Args("relu", threshold=-1.0, max_value=0.5), C(-2, 1), C(0, 0.5)),
    (Args("relu", threshold=-1.0, max_value=0.5), O(-0.9, -0.1), P(0)),
    (Args("relu", threshold=-1.0, negative_slope=0.5), C(-3, 1), C(-1, 1)),
    (Args("relu", threshold=-1.0, negative_slope=0.5), C(-3, -2), C(-1, -0.5)),
    (Args("relu", max_value=-1.0), C(-2, 3), P(-1)),
    (Args("relu", threshold=-2.0, max_value=-1.0), C(-3, 1), P(-1)),
    (Args("relu", max_value=1.0), C(-1, 2), C(0, 1)),
    (Args("relu", max_value=1.0), O(0.2, 0.8), O(0.2, 0.8)),
    (Args("relu", max_value=0.5), C(-2, 1), C(0, 0.5)),
    (Args("relu", max_value=0.5), C(-2, 0), P(0)),
    (Args("relu", max_value=-1.0), C(1, 3), P(-1)),
    (Args("relu", negative_slope=0.25), C(-4, 2), C(-1, 2)),
    (Args("relu", max_value=4.0), C(-4, 2), C(0, 2)),
    (Args("relu", threshold=0.5), C(0, 0.25), P(0)),
    (Args("relu"), C(-4, 2), C(0, 2)),
    ("relu6", R, C(0, 6)),
    ("relu6", O(-1, 4), HO(0, 4)),
    ("relu6", O(1, 9), LO(1, 6)),
    ("relu6", C(7, 9), P(6)),
    # leaky_relu: 0.2 as a function, 0.3 as a layer, `alpha` in Keras 2 layers
    ("leaky_relu", C(-2, 3), C(-0.4, 3)),
    ("leaky_relu", O(-2, 3), O(-0.4, 3)),
    ("leaky_relu", Interval(-INF, 0.0, False, False), LO(-INF, 0)),
    ("leaky_relu", Interval(-INF, -1.0, False, False), O(-INF, -0.2)),
    ("leaky_relu", C(0, 3), C(0, 3)),
    (layer("LeakyReLU"), C(-2, 3), C(-0.6, 3)),
    (layer("LeakyReLU", negative_slope=0.1), C(-2, 3), C(-0.2, 3)),
    (layer("LeakyReLU", alpha=0.5), C(-2, 3), C(-1, 3)),
    (layer("LeakyReLU", negative_slope=0.1, alpha=0.5), C(-2, 3), C(-0.2, 3)),
    (layer("LeakyReLU", negative_slope=0.0), C(-2, 3), C(0, 3)),
    # elu (alpha 1), its layer, selu, celu
    ("elu", C(-2, 3), C(E2, 3)),
    ("elu", R, O(-1, INF)),
    ("elu", Interval(-INF, 0.0, False, True), LO(-1, 0)),
    ("elu", O(0, 2), HO(0, 2)),
    ("elu", O(1, 2), O(1, 2)),
    (layer("ELU"), R, O(-1, INF)),
    (layer("ELU", alpha=0.5), R, O(-0.5, INF)),
    (layer("ELU", alpha=0.5), C(-1, 1), C(0.5 * E1, 1)),
    (layer("ELU", alpha=2.0), Interval(-INF, -1.0, False, False), O(-2, 2 * E1)),
    ("selu", R, O(-1.7580993408473766, INF)),
    ("selu", C(-1, 2), C(SELU_SCALE * SELU_ALPHA * E1, 2 * 1.0507009873554804934193349852946)),
    ("selu", O(0.5, 1), O(0.5 * SELU_SCALE, 1.0507009873554804934193349852946)),
    ("selu", Interval(-INF, 0.0, False, True), LO(-1.7580993408473766, 0)),
    ("celu", C(-2, 1), C(E2, 1)),
    ("celu", R, O(-1, INF)),
    ("celu", Interval(-INF, 0.0, False, True), LO(-1, 0)),
    (Args("celu", alpha=2.0), C(-2, 1), C(2 * E1, 1)),
    (Args("celu", alpha=2.0), R, O(-2, INF)),
    (Args("celu", alpha=0.5), C(-1, 1), C(0.5 * E2, 1)),
    # gelu (erf by default, tanh approximation on request): minimum inside, or one side of it
    ("gelu", C(0, 1), C(0, gelu(1.0))),
    ("gelu", C(-3, -1), C(gelu(-1.0), gelu(-3.0))),
    ("gelu", O(-1, 0.5), HO(-0.16997120747990369, gelu(0.5))),
    ("gelu", Interval(-INF, -1.0, False, False), O(gelu(-1.0), 0)),
    ("gelu", O(0, INF), O(0, INF)),
    (Args("gelu", approximate=False), C(-3, -1), C(gelu(-1.0), gelu(-3.0))),
    (Args("gelu", approximate=True), R, HO(-0.17004075057125403, INF)),
    (Args("gelu", approximate=True), C(-3, -1), C(gelu_tanh(-1.0), gelu_tanh(-3.0))),
    (Args("gelu", approximate=True), C(0, 2), C(0, gelu_tanh(2.0))),
    # silu / swish, with tf's beta
    ("silu", C(0, 2), C(0, 2 * sig(2.0))),
    ("silu", C(-3, 0), C(-0.27846454276107374, 0)),
    ("silu", C(-4, -2), C(-2 * sig(-2.0), -4 * sig(-4.0))),
    ("swish", O(1, 2), O(sig(1.0), 2 * sig(2.0))),
    (Args("silu", beta=2.0), C(0, 1), C(0, sig(2.0))),
    (Args("silu", beta=2.0), R, HO(-0.27846454276107374 / 2, INF)),
    (Args("silu", beta=0.5), C(-1, 2), C(-sig(-0.5), 2 * sig(1.0))),
    (Args("silu", beta=1.0), C(0, 2), C(0, 2 * sig(2.0))),
    # hard_silu / hard_swish: 0 up to -3, x from 3, x(x+3)/6 between, minimum -3/8 at -1.5
    ("hard_silu", R, HO(-0.375, INF)),
    ("hard_silu", C(-5, -3), P(0)),
    ("hard_silu", C(-3, 0), C(-0.375, 0)),
    ("hard_silu", C(-1, 4), C(hard_silu(-1.0), 4)),
    ("hard_silu", O(-2, -1), HO(-0.375, hard_silu(-1.0))),
    ("hard_silu", O(-4, -2.9), LO(hard_silu(-2.9), 0)),
    ("hard_silu", C(2, 3), C(hard_silu(2.0), 3)),
    ("hard_silu", O(3, 5), HO(3, 5)),
    ("hard_silu", O(3.5, 5), O(3.5, 5)),
    ("hard_swish", O(-1, 1), O(hard_silu(-1.0), hard_silu(1.0))),
    # mish
    ("mish", C(0, 1), C(0, mish(1.0))),
    ("mish", C(-3, -2), C(mish(-2.0), mish(-3.0))),
    ("mish", R, HO(-0.3088434130172504, INF)),
    # smooth monotone ones
    ("softplus", R, O(0, INF)),
    ("softplus", C(-1, 2), C(softplus(-1.0), softplus(2.0))),
    ("softplus", Interval(-INF, 0.0, False, True), LO(0, math.log(2.0))),
    ("softsign", C(-1, 3), C(-0.5, 0.75)),
    ("softsign", R, O(-1, 1)),
    ("sigmoid", C(-1, 2), C(sig(-1.0), sig(2.0))),
    ("sigmoid", O(0, INF), O(0.5, 1)),
    ("sigmoid", Interval(-INF, 0.0, False, True), LO(0, 0.5)),
    ("tanh", C(-1, 2), C(math.tanh(-1.0), math.tanh(2.0))),
    ("tanh", R, O(-1, 1)),
    ("tanh_shrink", C(-1, 2), C(-1 - math.tanh(-1.0), 2 - math.tanh(2.0))),
    ("tanh_shrink", R, R),
    ("log_sigmoid", C(-1, 2), C(-softplus(1.0), -softplus(-2.0))),
    ("log_sigmoid", R, O(-INF, 0)),
    ("exponential", C(-1, 2), C(math.exp(-1.0), math.exp(2.0))),
    ("exponential", C(0, 1000), HO(1, INF)),
    ("exponential", R, O(0, INF)),
    # clamped ones: hard_sigmoid by Keras version, sparse_sigmoid, hard_tanh
    ("hard_sigmoid", C(-4, 4), C(0, 1)),
    ("hard_sigmoid", C(-1, 2), C(1 / 3, 5 / 6)),
    ("hard_sigmoid", O(-3, 3), C(0, 1)),
    ("hard_sigmoid", O(-2, 2), O(1 / 6, 5 / 6)),
    ("hard_sigmoid", C(2.5, 4), C(2.5 / 6 + 0.5, 1)),
    ("hard_sigmoid", C(-4, -2.5), C(0, -2.5 / 6 + 0.5)),
    ("sparse_sigmoid", C(-0.5, 0.5), C(0.25, 0.75)),
    ("sparse_sigmoid", C(-2, 0), C(0, 0.5)),
    ("sparse_sigmoid", O(-1, 1), C(0, 1)),
    ("sparse_sigmoid", O(-0.5, 0.9), O(0.25, 0.95)),
    ("sparse_sigmoid", O(-3, 0.5), HO(0, 0.75)),
    ("sparse_sigmoid", C(2, 3), P(1)),
    ("hard_tanh", C(-0.5, 2), C(-0.5, 1)),
    ("hard_tanh", O(-0.5, 0.7), O(-0.5, 0.7)),
    ("hard_tanh", Interval(-INF, -2.0, False, True), P(-1)),
    # sparse_plus: 0 up to -1, (x+1)²/4 between, x from 1
    ("sparse_plus", C(-2, -1), P(0)),
    ("sparse_plus", C(-1, 1), C(0, 1)),
    ("sparse_plus", C(-0.5, 0.5), C(1 / 16, 9 / 16)),
    ("sparse_plus", C(0.5, 3), C(9 / 16, 3)),
    ("sparse_plus", O(-3, 2), HO(0, 2)),
    ("sparse_plus", O(-0.5, 2), O(1 / 16, 2)),
    # squareplus: b = 4 by default, relu at b = 0
    ("squareplus", C(0, 1), C(1, squareplus(1.0))),
    ("squareplus", C(-2, 0), C(squareplus(-2.0), 1)),
    ("squareplus", R, O(0, INF)),
    # b / (2 (sqrt(x² + b) - x)) for x < 0, where (x + sqrt(x² + b)) / 2 cancels to 0
    ("squareplus", C(-1e8, -1e7), C(2 / (math.hypot(1e8, 2) + 1e8), 2 / (math.hypot(1e7, 2) + 1e7))),
    (Args("squareplus", b=1.0), C(0, 3), C(0.5, squareplus(3.0, 1.0))),
    (Args("squareplus", b=1.0), C(-3, 0), C(squareplus(-3.0, 1.0), 0.5)),
    (Args("squareplus", b=0.0), R, HO(0, INF)),
    (Args("squareplus", b=0.0), C(-2, 3), C(0, 3)),
    (Args("squareplus", b=0.0), O(0.2, 0.8), O(0.2, 0.8)),
    # the shrinks: threshold 0.5 by default
    ("soft_shrink", C(-2, 3), C(-1.5, 2.5)),
    ("soft_shrink", C(-0.5, 0.5), P(0)),
    ("soft_shrink", LO(0.5, 1), C(0, 0.5)),
    ("soft_shrink", LO(0.75, 1), LO(0.25, 0.5)),
    ("soft_shrink", O(-1, 0), LO(-0.5, 0)),
    ("soft_shrink", R, R),
    (Args("soft_shrink", threshold=1.0), C(-2, 3), C(-1, 2)),
    (Args("soft_shrink", threshold=1.0), C(0, 1.5), C(0, 0.5)),
    ("hard_shrink", C(-2, 3), C(-2, 3)),
    ("hard_shrink", C(-0.4, 0.4), P(0)),
    ("hard_shrink", C(-0.5, 0.5), P(0)),
    ("hard_shrink", O(0.5, 1), HO(0, 1)),
    ("hard_shrink", O(0.6, 1), O(0.6, 1)),
    ("hard_shrink", O(-1, -0.5), LO(-1, 0)),
    ("hard_shrink", C(0, 1), C(0, 1)),
    (Args("hard_shrink", threshold=1.0), O(0.5, 2), HO(0, 2)),
    (Args("hard_shrink", threshold=1.0), C(-0.9, 0.9), P(0)),
    # threshold(x, t, default): x above t, the default elsewhere
    (Args("threshold", threshold=1.0, default_value=-2.0), C(0, 3), C(-2, 3)),
    (Args("threshold", threshold=1.0, default_value=-2.0), O(1, 3), HO(-2, 3)),
    (Args("threshold", threshold=1.0, default_value=-2.0), O(1.5, 3), O(1.5, 3)),
    (Args("threshold", threshold=1.0, default_value=-2.0), C(-5, 1), P(-2)),
    (Args("threshold", threshold=1.0, default_value=5.0), O(0, 3), LO(1, 5)),
    # Keras 2's ThresholdedReLU: theta 1 by default
    (layer("ThresholdedReLU"), C(0, 3), C(0, 3)),
    (layer("ThresholdedReLU"), O(1, 3), HO(0, 3)),
    (layer("ThresholdedReLU"), O(1.5, 3), O(1.5, 3)),
    (layer("ThresholdedReLU"), C(-1, 1), P(0)),
    (layer("ThresholdedReLU", theta=2.0), C(-1, 1.5), P(0)),
    (layer("ThresholdedReLU", theta=2.0), O(1.5, 3), HO(0, 3)),
    # glu: a * sigmoid(b), both halves in the input's interval
    ("glu", C(-2, 3), C(-2 * sig(3.0), 3 * sig(3.0))),
    ("glu", O(0, 1), O(0, sig(1.0))),
    ("glu", C(1, 2), C(sig(1.0), 2 * sig(2.0))),
    ("glu", R, R),
    ("glu", Interval(-INF, -1.0, False, True), O(-INF, 0)),  # a -> -inf while b -> -inf
    ("glu", HO(-1, INF), O(-1, INF)),  # -1 * sigmoid(b), b -> inf
    # PReLU's alpha is a weight: x on the non-negative side, unbounded otherwise
    (layer("PReLU"), C(0, 2), C(0, 2)),
    (layer("PReLU"), O(0, 2), O(0, 2)),
    (layer("PReLU"), C(-1, 2), R),
    # sparsemax as Keras 3.15.1 computes it
    ("sparsemax", C(-1, 1), HO(0, INF)),
    # Keras 2 accepted the layer classes by name
    ("ReLU", C(-2, 3), C(0, 3)),
    ("LeakyReLU", C(-2, 3), C(-0.6, 3)),
]


@pytest.mark.parametrize(("spec", "interval", "expected"), ROWS, ids=slug)
def test_activation_images(spec: Any, interval: Interval, expected: Interval) -> None:
    same(image(spec, interval).interval, expected)


# The minima of the activations that dip below 0, found here on a fine grid.
@pytest.mark.parametrize(
    ("spec", "f", "minimum"),
    [
        ("gelu", gelu, -0.16997120747990369),
        (Args("gelu", approximate=True), gelu_tanh, -0.17004075057125403),
        ("silu", lambda x: x * sig(x), -0.27846454276107374),
        ("mish", mish, -0.3088434130172504),
        ("hard_silu", hard_silu, -0.375),
    ],
    ids=["gelu", "gelu_tanh", "silu", "mish", "hard_silu"],
)
def test_minima_are_attained_and_are_the_grid_minimum(spec: Any, f: Any, minimum: float) -> None:
    found = grid_min(f, -2.0, 0.0)
    assert minimum <= found <= minimum + 1e-9
    interval = C(-2, 0)
    got = image(spec, interval)
    same(got.interval, C(minimum, 0))


# Names in the steps: the function and the arguments that differ from its defaults.
@pytest.mark.parametrize(
    ("spec", "step"),
    [
        ("relu", "relu"),
        (layer("ReLU", max_value=6.0), "relu(max_value=6)"),
        (layer("ReLU", negative_slope=0.0, max_value=None, threshold=0.0), "relu"),
        (layer("ReLU", negative_slope=0.1, max_value=6.0, threshold=0.5),
         "relu(negative_slope=0.1, max_value=6, threshold=0.5)"),
        ("leaky_relu", "leaky_relu"),
        (layer("LeakyReLU"), "leaky_relu(negative_slope=0.3)"),
        (layer("LeakyReLU", negative_slope=0.2), "leaky_relu"),
        ("elu", "elu"),
        (layer("ELU", alpha=0.5), "elu(alpha=0.5)"),
        ("selu", "selu"),
        ("celu", "celu"),
        ("gelu", "gelu"),
        ("silu", "silu"),
        ("swish", "silu"),
        ("hard_swish", "hard_silu"),
        ("mish", "mish"),
        ("hard_sigmoid", "hard_sigmoid"),
        ("squareplus", "squareplus"),
        ("soft_shrink", "soft_shrink"),
        ("hard_shrink", "hard_shrink"),
        ("softmax", "softmax"),
        ("softmax_v2", "softmax"),
        (layer("Softmax", axis=1), "softmax(axis=1)"),
        (layer("Softmax", axis=[1, 2]), "softmax(axis=(1, 2))"),
        ("log_softmax", "log_softmax"),
        ("sparsemax", "sparsemax"),
        ("glu", "glu"),
        (layer("PReLU"), "prelu"),
        (layer("ThresholdedReLU"), "thresholded_relu(theta=1)"),
        (layer("ThresholdedReLU", theta=0.25), "thresholded_relu(theta=0.25)"),
        ("relu6", "relu6"),
        ("tanh_shrink", "tanh_shrink"),
        ("sparse_plus", "sparse_plus"),
        ("exponential", "exponential"),
        ("log_sigmoid", "log_sigmoid"),
    ],
    ids=slug,
)
def test_the_step_names_the_function_and_its_arguments(spec: Any, step: str) -> None:
    assert image(spec, C(-1, 1), axis_size=4).bounded_by == (f"activation: {step}",)


@pytest.mark.parametrize(
    ("name", "arguments", "step"),
    [
        ("relu", {"negative_slope": 0.25}, "relu(negative_slope=0.25)"),
        ("relu", {"threshold": 2}, "relu(threshold=2)"),
        ("leaky_relu", {"negative_slope": 0.1}, "leaky_relu(negative_slope=0.1)"),
        ("elu", {"alpha": 2}, "elu(alpha=2)"),
        ("celu", {"alpha": 0.5}, "celu(alpha=0.5)"),
        ("gelu", {"approximate": True}, "gelu(approximate=True)"),
        ("gelu", {"approximate": False}, "gelu"),
        ("silu", {"beta": 2.0}, "silu(beta=2)"),
        ("silu", {"beta": 1.0}, "silu"),
        ("squareplus", {"b": 1.0}, "squareplus(b=1)"),
        ("squareplus", {"b": 0.0}, "squareplus(b=0)"),
        ("squareplus", {"b": 4.0}, "squareplus"),
        ("soft_shrink", {"threshold": 1.0}, "soft_shrink(threshold=1)"),
        ("hard_shrink", {"threshold": 0.25}, "hard_shrink(threshold=0.25)"),
        ("threshold", {"threshold": 1.0, "default_value": -2.5}, "threshold(1, -2.5)"),
        ("softmax", {"axis": 2}, "softmax(axis=2)"),
        ("log_softmax", {"axis": 0}, "log_softmax(axis=0)"),
        ("log_softmax", {"axis": -1}, "log_softmax"),
    ],
    ids=slug,
)
def test_arguments_given_by_name_show_in_the_step(
    name: str, arguments: dict[str, Any], step: str
) -> None:
    assert run(with_args(name, **arguments), C(-1, 1), axis_size=3).bounded_by == (f"act: {step}",)


NEEDS_BOTH = (
    "the threshold activation needs threshold and default_value arguments; named without "
    "them, Keras cannot call it"
)


@pytest.mark.parametrize(
    ("name", "arguments", "reason"),
    [
        ("celu", {"alpha": 0.0}, "activation celu: celu needs alpha > 0"),
        ("celu", {"alpha": -1.0}, "activation celu: celu needs alpha > 0"),
        ("silu", {"beta": 0.0}, "activation silu: silu needs beta > 0"),
        ("silu", {"beta": -2.0}, "activation silu: silu needs beta > 0"),
        ("squareplus", {"b": -1.0}, "activation squareplus: squareplus needs b >= 0"),
        ("gelu", {"approximate": "yes"}, "activation gelu: approximate is not true or false"),
        ("gelu", {"approximate": 1}, "activation gelu: approximate is not true or false"),
        ("elu", {"alpha": "big"}, "activation elu: alpha is not a number"),
        ("softmax", {"axis": "last"}, "activation softmax: axis is not an axis"),
        ("softmax", {"axis": True}, "activation softmax: axis is not an axis"),
        ("softmax", {"axis": []}, "activation softmax: axis is not an axis"),
        ("softmax", {"axis": [1, "2"]}, "activation softmax: axis is not an axis"),
        ("glu", {"axis": 1.5}, "activation glu: axis is not an axis"),
        ("sparsemax", {"axis": "x"}, "activation sparsemax: axis is not an axis"),
        ("log_softmax", {"axis": [True]}, "activation log_softmax: axis is not an axis"),
        ("threshold", {"threshold": 1.0}, NEEDS_BOTH),
        ("threshold", {"default_value": 1.0}, NEEDS_BOTH),
    ],
    ids=slug,
)
def test_arguments_keras_would_refuse_make_the_activation_unknown(
    name: str, arguments: dict[str, Any], reason: str
) -> None:
    resolved = named_activation(name, Params(arguments), 3)
    assert resolved == UnknownActivation(reason)


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        (3, "the activation 3 is neither a name nor an object"),
        (["relu"], "the activation ['relu'] is neither a name nor an object"),
        ({"class_name": "function", "config": None}, "an activation function without a name"),
        ({"class_name": "function", "config": 3, "module": "keras.activations"},
         "an activation function without a name"),
        ({"class_name": "function", "config": "f", "module": "mypkg.acts"},
         "custom activation 'f' from module mypkg.acts (its code is not in the file)"),
        ({"class_name": "function", "config": "relu", "module": "kerasextra"},
         "custom activation 'relu' from module kerasextra (its code is not in the file)"),
        ({"class_name": "function", "config": "mypkg>f", "module": "builtins"},
         "custom activation 'mypkg>f' (its code is not in the file)"),
        ({"class_name": "function", "config": "nope", "module": "builtins"},
         "unknown activation 'nope': not a Keras built-in, and its code is not in the file"),
        ({"class_name": "__lambda__", "config": {"code": "..."}}, "a lambda activation (its code is not read)"),
        ({"class_name": "ReLU", "config": [1, 2]}, "the activation's configuration is not an object (list)"),
        ({"class_name": "ReLU", "config": "max"}, "the activation's configuration is not an object (str)"),
        ({"class_name": "Swirl", "config": {}}, "the activation is a Swirl object, which vaecheck does not know"),
        ({"config": {}}, "the activation is a None object, which vaecheck does not know"),
        (layer("ELU", alpha="one"), "ELU: alpha is not a number"),
        (layer("ReLU", max_value=True), "ReLU: max_value is not a number"),
        (layer("Softmax", axis="x"), "Softmax: axis is not an axis"),
        (layer("ThresholdedReLU", theta="x"), "ThresholdedReLU: theta is not a number"),
        (layer("LeakyReLU", alpha="x"), "LeakyReLU: negative_slope is not a number"),
        ("Custom>f", "custom activation 'Custom>f' (its code is not in the file)"),
        ("unreg", "unknown activation 'unreg': not a Keras built-in, and its code is not in the file"),
        ("Activation", "unknown activation 'Activation': not a Keras built-in, and its code is not in the file"),
    ],
    ids=slug,
)
def test_specs_vaecheck_cannot_read_say_why(spec: Any, reason: str) -> None:
    assert resolve_activation(spec, 3) == UnknownActivation(reason)
    codomain = activation_image(spec, R, 3, label="dec › out")
    assert (codomain.interval, codomain.unknown_at, codomain.unknown_reason) == (None, "dec › out", reason)


def nested(depth: int) -> Any:
    spec: Any = "sigmoid"
    for _ in range(depth):
        spec = {"class_name": "Activation", "config": {"activation": spec}}
    return spec


def test_activation_objects_nest_up_to_sixteen_deep() -> None:
    assert image(nested(15), R).interval == O(0, 1)
    assert resolve_activation(nested(16), 3) == UnknownActivation("the activation is nested too deep")
    assert resolve_activation(nested(17), 3) == UnknownActivation("the activation is nested too deep")
    assert image({"class_name": "Activation", "config": {"activation": None}}, C(-5, 5)).interval == C(-5, 5)
    assert image({"class_name": "Activation", "config": None}, C(-5, 5)).interval == C(-5, 5)


@pytest.mark.parametrize(
    ("name", "major", "interval", "expected"),
    [
        ("elu", 3, R, O(-1, INF)),
        ("relu", 3, C(-2, 3), C(0, 3)),
        ("leaky_relu", 3, C(-2, 3), C(-0.4, 3)),
        ("gelu", 3, C(0, 1), C(0, gelu(1.0))),
        ("silu", 3, C(0, 2), C(0, 2 * sig(2.0))),
        ("hard_sigmoid", 3, C(-1, 2), C(1 / 3, 5 / 6)),
        ("hard_sigmoid", 2, C(-1, 2), C(0.3, 0.9)),
        ("softmax", 3, C(-1, 1), LO(0, 1)),
    ],
    ids=slug,
)
def test_function_dicts_reach_every_builder(
    name: str, major: int, interval: Interval, expected: Interval
) -> None:
    spec = {"module": "keras.activations", "class_name": "function", "config": name}
    same(image(spec, interval, major).interval, expected)
    wrapped = {"class_name": "Activation", "config": {"activation": spec}}
    same(image(wrapped, interval, major).interval, expected)


def test_builders_of_activations_without_arguments() -> None:
    builder = fixed("bump", pw.smooth(math.atan, -math.pi / 2, math.pi / 2))
    activation = builder(Params({"ignored": 1}), 3)
    assert isinstance(activation, Activation) and activation.name == "bump"
    assert run(activation, C(-1, 1)).interval == C(math.atan(-1.0), math.atan(1.0))
    assert run(activation, R) == Codomain(interval=O(-math.pi / 2, math.pi / 2), bounded_by=("act: bump",))


@pytest.mark.parametrize(
    "module",
    ["keras", "keras.activations", "keras.src.activations.activations", "tf_keras.activations",
     "keras_hub.layers", "keras_cv.x", "keras_nlp.y", "tensorflow.nn", "builtins", None],
    ids=slug,
)
def test_functions_from_keras_modules_are_built_ins(module: str | None) -> None:
    spec = {"class_name": "function", "config": "tanh", "module": module}
    assert image(spec, C(0, 1)).interval == C(0, math.tanh(1.0))


def test_is_keras_module_reads_the_top_package_only() -> None:
    keras = ("keras", "keras.layers", "tensorflow.python.ops", "tf_keras")
    assert [is_keras_module(m) for m in keras] == [True] * 4
    others = ("mykeras", "mypkg.keras", "kerasx.y", "tf", "builtins")
    assert [is_keras_module(m) for m in others] == [False] * 5


def test_layer_dicts_with_a_null_config_use_the_defaults() -> None:
    assert image({"class_name": "LeakyReLU", "config": None}, C(-2, 3)).interval == C(-0.6, 3)
    assert image({"class_name": "ReLU", "config": None}, C(-2, 3)).interval == C(0, 3)
    assert image({"class_name": "ELU", "config": None}, R).interval == O(-1, INF)


def test_keras_major() -> None:
    assert [keras_major(v) for v in ("3.15.1", " 2.15.0", "10.1", "3", "3rc1")] == [3, 2, 10, 3, 3]
    assert [keras_major(v) for v in (None, 3, "", "v3.1", "x")] == [None] * 5


# hard_sigmoid differs between Keras 2 and 3; with the version unknown, the hull of both.
@pytest.mark.parametrize(
    ("major", "interval", "expected", "noted"),
    [
        (3, C(-1, 2), C(1 / 3, 5 / 6), False),
        (4, C(-1, 2), C(1 / 3, 5 / 6), False),
        (2, C(-1, 2), C(0.3, 0.9), False),
        (1, C(-1, 2), C(0.3, 0.9), False),
        (2, O(-2.5, 2.5), C(0, 1), False),  # the jumps' ends are reached in float32
        (2, O(-2, 2), O(0.1, 0.9), False),
        (2, C(2.5, 4), P(1), False),
        (2, C(-2.7, -2.5), P(0), False),
        (3, C(-2.7, -2.5), C(-2.7 / 6 + 0.5, -2.5 / 6 + 0.5), False),
        (None, C(-1, 2), C(0.3, 0.9), True),
        (None, O(-3, 0), HO(0, 0.5), False),  # both [0, 0.5): Keras 3 reaches 0 at -3 (in float32)
        (None, O(-2.5, 0), HO(0, 0.5), True),
        (None, C(-1.5, -1), C(0.2, 1 / 3), True),
        (None, C(-5, 5), C(0, 1), False),
        (None, C(4, 5), P(1), False),
        (None, C(0, 0), P(0.5), False),
    ],
    ids=slug,
)
def test_hard_sigmoid_by_keras_version(
    major: int | None, interval: Interval, expected: Interval, noted: bool
) -> None:
    codomain = image("hard_sigmoid", interval, major)
    same(codomain.interval, expected, rel=1e-15)
    note = (
        "the Keras version is unknown: hull of the Keras 3 hard_sigmoid, relu6(x + 3)/6, "
        "and the Keras 2 one, clip(0.2x + 0.5, 0, 1)"
    )
    assert codomain.notes == ((note,) if noted else ())
    assert codomain.bounded_by == ("activation: hard_sigmoid",)


# Softmax: n inputs in [a, b] give outputs in [1/(1 + (n-1)e^(b-a)), 1/(1 + (n-1)e^(a-b))].
def softmax_low(spread: float, n: int) -> float:
    return float(1.0 / (1.0 + (n - 1) * np.exp(spread)))


@pytest.mark.parametrize(
    ("interval", "n", "expected"),
    [
        (C(-1, 1), None, LO(0, 1)),
        (C(-1, 1), 1, P(1)),
        (R, 1, P(1)),
        (C(-1, 1), 3, C(softmax_low(2, 3), softmax_low(-2, 3))),
        (C(-1, 1), 2, C(softmax_low(2, 2), softmax_low(-2, 2))),
        (O(-1, 1), 3, O(softmax_low(2, 3), softmax_low(-2, 3))),
        (LO(-1, 1), 3, O(softmax_low(2, 3), softmax_low(-2, 3))),
        (HO(-1, 1), 3, O(softmax_low(2, 3), softmax_low(-2, 3))),
        (C(0, 0.5), 5, C(softmax_low(0.5, 5), softmax_low(-0.5, 5))),
        (C(2, 2), 4, P(0.25)),
        (C(-1000, 1000), 3, C(0, 1)),
        (R, 3, O(0, 1)),
    ],
    ids=slug,
)
def test_softmax_image(interval: Interval, n: int | None, expected: Interval) -> None:
    same(softmax_image(interval, n), expected, rel=1e-15)
    same(image("softmax", interval, axis_size=n).interval, expected, rel=1e-15)


def test_softmax_of_an_empty_axis_is_a_config_problem() -> None:
    with pytest.raises(ConfigProblem, match="^the softmax axis is empty$"):
        softmax_image(C(0, 1), 0)


@pytest.mark.parametrize(
    ("interval", "n", "expected"),
    [
        (C(-1, 1), None, LO(-INF, 0)),
        (C(-1, 1), 1, P(0)),
        (C(-1, 1), 3, C(math.log(softmax_low(2, 3)), math.log(softmax_low(-2, 3)))),
        (O(-1, 1), 3, O(math.log(softmax_low(2, 3)), math.log(softmax_low(-2, 3)))),
        (C(-1000, 1000), 3, LO(-INF, 0)),
        (C(3, 3), 4, P(math.log(0.25))),
    ],
    ids=slug,
)
def test_log_softmax_image(interval: Interval, n: int | None, expected: Interval) -> None:
    same(image("log_softmax", interval, axis_size=n).interval, expected, rel=1e-15)


def test_softmax_marks_its_axis_as_a_simplex() -> None:
    assert image("softmax", C(0, 1), axis_size=3).simplex_axis == -1
    assert image(layer("Softmax", axis=1), C(0, 1), axis_size=3).simplex_axis == 1
    assert image(layer("Softmax", axis=[1, 2]), C(0, 1), axis_size=3).simplex_axis is None
    assert image(layer("Softmax", axis=None), C(0, 1)).simplex_axis is None
    assert image("log_softmax", C(0, 1), axis_size=3).simplex_axis is None
    assert image("sigmoid", C(0, 1)).simplex_axis is None
    softmax = resolve_activation(layer("Softmax", axis=[1, 2]), 3)
    assert isinstance(softmax, Activation) and (softmax.axis, softmax.simplex_axis) == ((1, 2), None)
    assert with_args("softmax").axis == -1 and with_args("softmax", axis=None).axis is None
    assert with_args("log_softmax", axis=2).axis == 2
    assert with_args("glu").axis is None and with_args("sparsemax").axis is None


def test_sparsemax_says_why_it_is_unbounded() -> None:
    codomain = image("sparsemax", C(0, 1))
    assert codomain.interval == HO(0, INF)
    assert codomain.notes == (
        "sparsemax is mathematically within [0, 1], but Keras 3 (3.15.1 checked) computes its "
        "threshold from the sum of the cumulative sums, so its outputs can exceed 1",
    )


def test_prelu_says_why_its_negative_side_is_unbounded() -> None:
    assert image(layer("PReLU"), C(-1, 1)).notes == (
        "PReLU's alpha is a learned weight, not read: its negative side is unbounded",
    )
    assert image(layer("PReLU"), C(0, 1)).notes == ()


def gap(what: str, union: str) -> str:
    return f"{what} takes values in {union}; the range shown is the hull of that union"


@pytest.mark.parametrize(
    ("spec", "interval", "note"),
    [
        ("hard_shrink", C(-2, 3),
         gap("hard_shrink", "[-2, -0.5) ∪ {0} ∪ (0.5, 3]")),
        ("hard_shrink", C(0, 1),
         gap("hard_shrink", "{0} ∪ (0.5, 1]")),
        (layer("ThresholdedReLU"), C(0, 3),
         gap("thresholded_relu(theta=1)", "{0} ∪ (1, 3]")),
        (layer("ReLU", threshold=1.0), R,
         gap("relu(threshold=1)", "{0} ∪ (1, inf)")),
        (layer("ReLU", threshold=2.0, max_value=1.0), R,
         gap("relu(max_value=1, threshold=2)", "{0} ∪ {1}")),
        (layer("ReLU", negative_slope=0.1, max_value=6.0, threshold=0.5), C(-1, 7),
         gap("relu(negative_slope=0.1, max_value=6, threshold=0.5)", "[-0.15, 0] ∪ (0.5, 6]")),
        (Args("threshold", threshold=1.0, default_value=-2.0), C(0, 3),
         gap("threshold(1, -2)", "{-2} ∪ (1, 3]")),
    ],
    ids=slug,
)
def test_gaps_in_an_image_are_noted(spec: Any, interval: Interval, note: str) -> None:
    codomain = image(spec, interval)
    assert codomain.notes == (note,)


@pytest.mark.parametrize(
    "spec", ["relu", "sigmoid", "gelu", "hard_silu", "elu", layer("ReLU", threshold=1.0)],
    ids=slug,
)
def test_images_without_a_gap_have_no_note(spec: Any) -> None:
    assert image(spec, C(1.5, 3)).notes == ()


def test_apply_activation_restarts_the_steps_and_keeps_its_notes() -> None:
    before = Codomain(interval=C(-2, 3), bounded_by=("dense: relu", "rescale"), notes=("old",))
    after = apply_activation("out", resolve_activation("hard_shrink", 3), before)
    assert after.bounded_by == ("out: hard_shrink",)
    assert after.notes == (
        gap("hard_shrink", "[-2, -0.5) ∪ {0} ∪ (0.5, 3]"),
    )
    assert after.interval == C(-2, 3)
    # An unknown input counts as the real line, and a linear activation changes nothing.
    unknown = Codomain.unknown("x", "why")
    assert apply_activation("out", resolve_activation("tanh", 3), unknown).interval == O(-1, 1)
    assert apply_activation("out", LINEAR, before) is before
    assert apply_activation("out", UnknownActivation("why"), before) == Codomain.unknown("out", "why")
    assert activation_image("linear", C(0, 1)) == Codomain(interval=C(0, 1))
    assert activation_image(None, C(0, 1)) == Codomain(interval=C(0, 1))


def test_activation_image_defaults_to_keras_3_and_the_label_activation() -> None:
    codomain = activation_image("hard_sigmoid", C(-1, 2))
    assert codomain.interval == C(1 / 3, 5 / 6) and codomain.bounded_by == ("activation: hard_sigmoid",)
    assert activation_image("softmax", C(-1, 1)).interval == LO(0, 1)


def test_image_of_the_real_line() -> None:
    assert image_of_real_line(LINEAR) == R
    assert image_of_real_line(with_args("sigmoid")) == O(0, 1)
    assert image_of_real_line(with_args("softmax")) == LO(0, 1)
    assert image_of_real_line(with_args("hard_silu")) == HO(-0.375, INF)


@pytest.mark.parametrize(
    ("alpha", "interval", "expected"),
    [
        (0.25, C(-2, 3), C(-0.5, 3)),
        (-1.0, C(-2, 3), C(0, 3)),
        (0.0, C(-2, 3), C(0, 3)),
        (0.25, O(-2, -1), O(-0.5, -0.25)),
        (2.0, R, R),
    ],
    ids=slug,
)
def test_prelu_with_a_known_alpha(alpha: float, interval: Interval, expected: Interval) -> None:
    assert pw.union_hull(prelu_function(alpha).parts(interval))[0] == expected


def test_params_read_numbers_flags_and_axes_and_remember_them() -> None:
    params = Params({"alpha": 2, "flag": True, "axis": [1, 2], "extra": 1})
    assert params.number("alpha", 1.0) == 2.0 and isinstance(params.number("alpha", 1.0), float)
    assert params.number("missing", 1.5) == 1.5
    assert params.optional("absent") is None
    assert params.flag("flag", False) is True and params.flag("other", False) is False
    assert params.flag("another", True) is True
    assert params.axis() == (1, 2)
    assert params.unread() == {"extra"}
    assert params.read == {"alpha", "missing", "absent", "flag", "other", "another", "axis"}
    assert Params({"axis": None}).axis() is None and Params({}).axis() == -1
    assert Params({}).axis("dim", 3) == 3 and Params({"dim": 0}).axis("dim") == 0
    assert Params({"max_value": None}).optional("max_value") is None
    assert Params(None).values == {} and Params().unread() == set()
    with pytest.raises(ConfigProblem, match="^alpha is not a number$"):
        Params({"alpha": "x"}).number("alpha", 1.0)
    with pytest.raises(ConfigProblem, match="^flag is not true or false$"):
        Params({"flag": 0}).flag("flag", True)
    with pytest.raises(ConfigProblem, match="^dim is not an axis$"):
        Params({"dim": 1.0}).axis("dim")


# The machinery: monotone pieces, their images, and the union of the parts.
def test_intersect() -> None:
    assert pw.intersect(C(0, 2), C(1, 3)) == C(1, 2)
    assert pw.intersect(C(1, 3), C(0, 2)) == C(1, 2)
    assert pw.intersect(O(0, 2), C(0, 2)) == O(0, 2)
    assert pw.intersect(C(0, 2), O(0, 2)) == O(0, 2)
    assert pw.intersect(C(0, 2), C(0, 2)) == C(0, 2)
    assert pw.intersect(LO(0, 2), HO(0, 2)) == O(0, 2)
    assert pw.intersect(HO(0, 2), LO(0, 2)) == O(0, 2)
    assert pw.intersect(C(0, 1), C(1, 2)) == P(1)
    assert pw.intersect(HO(0, 1), C(1, 2)) is None
    assert pw.intersect(C(0, 1), LO(1, 2)) is None
    assert pw.intersect(C(0, 1), C(2, 3)) is None
    assert pw.intersect(C(2, 3), C(0, 1)) is None
    assert pw.intersect(R, O(-INF, 0)) == O(-INF, 0)
    assert pw.intersect(HO(5, INF), O(0, INF)) == HO(5, INF)


def test_intersect_with_infinite_ends() -> None:
    assert pw.intersect(HO(0, INF), O(-INF, INF)) == HO(0, INF)
    assert pw.intersect(O(-INF, 0), O(-INF, -1)) == O(-INF, -1)


def test_union_hull_and_its_components() -> None:
    hull, components = pw.union_hull([C(2, 3), P(0), HO(-1, 0)])
    assert hull == C(-1, 3) and components == [C(-1, 0), C(2, 3)]
    hull, components = pw.union_hull([LO(0, 1), HO(-1, 0)])
    assert hull == C(-1, 1) and components == [HO(-1, 0), LO(0, 1)]
    hull, components = pw.union_hull([O(0, 1), O(1, 2)])
    assert hull == O(0, 2) and components == [O(0, 1), O(1, 2)]
    hull, components = pw.union_hull([O(0, 1), HO(1, 2)])
    assert components == [O(0, 2)]
    hull, components = pw.union_hull([LO(0, 1), O(1, 2)])
    assert components == [O(0, 2)]
    hull, components = pw.union_hull([O(0, 2), C(1, 3)])
    assert components == [LO(0, 3)]
    hull, components = pw.union_hull([LO(0, 1), HO(0, 1)])
    assert components == [C(0, 1)] and hull == C(0, 1)
    hull, components = pw.union_hull([LO(0, 1), C(0, 0.5)])
    assert components == [C(0, 1)]
    hull, components = pw.union_hull([P(5)])
    assert (hull, components) == (P(5), [P(5)])
    hull, components = pw.union_hull([P(3), P(1), P(2)])
    assert hull == C(1, 3) and components == [P(1), P(2), P(3)]
    hull, components = pw.union_hull([C(0, 5), C(1, 2), P(7)])
    assert hull == C(0, 7) and components == [C(0, 5), P(7)]


def test_union_note() -> None:
    assert pw.union_note("f", [P(0), LO(1, 2), P(3.5)]) == (
        "f takes values in {0} ∪ (1, 2] ∪ {3.5}; the range shown is the hull of that union"
    )


@pytest.mark.parametrize(
    ("low", "high", "inside"),
    [(-INF, INF, 0.0), (-INF, 0.5, -0.5), (-INF, -3.0, -6.0), (-INF, 2.0, 0.0),
     (0.5, INF, 1.5), (-3.0, INF, 0.0), (2.0, INF, 4.0), (1.0, 2.0, 1.5), (-4.0, -1.0, -2.5)],
    ids=slug,
)
def test_a_point_inside_each_segment(low: float, high: float, inside: float) -> None:
    assert pw._inside(low, high) == inside


def test_monotone_image() -> None:
    def square(x: float) -> float:
        return x * x

    assert pw._monotone_image(square, HO(1, 2)) == HO(1, 4)
    assert pw._monotone_image(square, LO(-2, -1)) == HO(1, 4)
    assert pw._monotone_image(square, O(-2, -1)) == O(1, 4)
    assert pw._monotone_image(lambda x: 3.0, O(-2, -1)) == P(3)
    with pytest.raises(ConfigProblem, match="^a function gave nan on its own domain$"):
        pw._monotone_image(lambda x: math.nan if x > 0 else x, C(-1, 1))
    with pytest.raises(ConfigProblem, match="^a function gave nan on its own domain$"):
        pw._monotone_image(lambda x: math.nan if x < 0 else x, C(-1, 1))


def test_points_and_thin_intervals_from_float_arithmetic() -> None:
    assert pw.point_interval(2.5) == P(2.5)
    assert pw.point_interval(INF) == HO(MAX, INF)
    assert pw.point_interval(-INF) == LO(-INF, -MAX)
    assert pw.interval_between(1.0, 2.0, False, True) == LO(1, 2)
    assert pw.interval_between(1.0, 2.0, True, False) == HO(1, 2)
    assert pw.interval_between(2.0, 2.0, False, False) == P(2)
    assert pw.interval_between(3.0, 1.0, False, False) == P(2)
    assert pw.interval_between(INF, INF, False, False) == HO(MAX, INF)
    assert pw.interval_between(MAX, MAX, True, True) == P(MAX)  # not (MAX + MAX) / 2


def test_formulas() -> None:
    limited = pw.with_limits(lambda x: 2 * x, -5.0, 7.0)
    assert (limited(-INF), limited(INF), limited(1.5)) == (-5.0, 7.0, 3.0)
    assert pw.linear_formula(0.0)(INF) == 0.0 and pw.linear_formula(0.0, 2.0)(-INF) == 2.0
    assert pw.linear_formula(2.0, 1.0)(3.0) == 7.0 and pw.linear_formula(-1.0)(INF) == -INF
    assert pw.constant_formula(4.0)(INF) == 4.0
    assert pw.exp_formula(1000.0) == INF and pw.exp_formula(1.0) == math.e
    assert pw.expm1_formula(1000.0) == INF and pw.expm1_formula(1e-20) == 1e-20
    assert pw.expm1_formula(-INF) == -1.0
    assert pw.sigmoid_formula(-1000.0) == 0.0 and pw.sigmoid_formula(1000.0) == 1.0
    assert pw.sigmoid_formula(0.0) == 0.5
    assert close(pw.sigmoid_formula(-30.0), float(np.exp(-30.0) / (1 + np.exp(-30.0))), 1e-15)
    assert close(pw.sigmoid_formula(2.0), sig(2.0), 1e-15)
    assert close(pw.sigmoid_formula(-2.0), sig(-2.0), 1e-15)
    assert pw.softplus_formula(-1000.0) == 0.0 and pw.softplus_formula(1000.0) == 1000.0
    assert close(pw.softplus_formula(-40.0), math.exp(-40.0), 1e-12)
    assert close(pw.softplus_formula(2.0), softplus(2.0), 1e-15)
    assert close(pw.softplus_formula(-2.0), softplus(-2.0), 1e-15)
    assert pw.softplus_formula(0.0) == math.log(2.0)
    # x * Phi(x) with Phi(x) = erfc(-x/sqrt 2)/2: erf would cancel to 0 far below 0
    assert close(pw.gelu_formula(-10.0), -5.0 * math.erfc(10.0 / math.sqrt(2.0)), 1e-15)
    assert close(pw.gelu_formula(1.3), gelu(1.3), 1e-15) and close(pw.gelu_formula(-1.3), gelu(-1.3), 1e-14)
    assert close(pw.gelu_tanh_formula(-1.3), gelu_tanh(-1.3), 1e-15)
    assert close(pw.gelu_tanh_formula(2.0), gelu_tanh(2.0), 1e-15)
    four = pw.squareplus_formula(4.0)
    assert four(0.0) == 1.0 and close(four(3.0), squareplus(3.0), 1e-15)
    assert close(four(-3.0), squareplus(-3.0), 1e-14)
    assert close(four(-1e9), 1e-9, 1e-9)  # the naive (x + root) / 2 would be 0
    assert pw.squareplus_formula(0.0)(-2.0) == 0.0 and pw.squareplus_formula(0.0)(2.0) == 2.0


@pytest.mark.parametrize(
    ("exponent", "x", "expected"),
    [
        (2.0, 3.0, 9.0),
        (3.0, -2.0, -8.0),
        (0.5, 4.0, 2.0),
        (2.0, 1e200, INF),
        (2.0, -1e200, INF),
        (3.0, -1e200, -INF),
        (3.0, 1e200, INF),
        (4.0, -1e200, INF),
        (5.0, -1e200, -INF),
        (-1.0, 1e-320, INF),
    ],
    ids=slug,
)
def test_power_formula(exponent: float, x: float, expected: float) -> None:
    assert pw.power_formula(exponent)(x) == expected


def test_piecewise_breakpoints_values_and_pins() -> None:
    step = pw.piecewise([1.0, -INF, 1.0, 3.0, INF], lambda x0: pw.constant_formula(float(x0 > 1)))
    assert step.breakpoints == (1.0, 3.0) and step.values == (0.0, 1.0)
    assert [f(0.0) for f in step.formulas] == [0.0, 1.0, 1.0]
    pinned = pw.piecewise([1.0, 3.0], lambda x0: pw.constant_formula(float(x0 > 1)), {3.0: 9.0})
    assert pinned.values == (0.0, 9.0)
    # The branch is asked at a point strictly inside each segment.
    seen: list[float] = []

    def branch(x0: float) -> pw.Formula:
        seen.append(x0)
        return pw.constant_formula(0.0)

    pw.piecewise([-2.0, 4.0], branch)
    assert seen[:3] == [-4.0, 1.0, 8.0]


def test_parts_add_the_value_at_a_jump_on_an_end_the_input_reaches() -> None:
    step = pw.piecewise([1.0], lambda x0: pw.linear_formula(1.0) if x0 > 1 else pw.constant_formula(-5.0))
    assert pw.union_hull(step.parts(O(1, 2)))[0] == HO(-5, 2)
    assert pw.union_hull(step.parts(C(1, 2)))[0] == C(-5, 2)  # the value at 1 is -5, not 1
    assert pw.union_hull(step.parts(O(1.5, 2)))[0] == O(1.5, 2)
    assert pw.union_hull(step.parts(O(0, 1)))[0] == P(-5)
    assert pw.union_hull(step.parts(R))[0] == HO(-5, INF)
    assert step.parts(P(1)) == [P(-5)]
    assert step.parts(O(2, 3)) == [O(2, 3)]
    # Rising to 1, then a jump down: the segment's own end stays open, the jump's value is added.
    drop = pw.piecewise([1.0], lambda x0: pw.linear_formula(1.0) if x0 < 1 else pw.constant_formula(-5.0))
    assert drop.parts(C(0, 2)) == [HO(0, 1), P(-5), P(-5)]
    assert pw.union_hull(drop.parts(C(0, 2))) == (HO(-5, 1), [P(-5), HO(0, 1)])


def test_smooth_dip_and_clamped() -> None:
    tanh = pw.smooth(math.tanh, -1.0, 1.0)
    assert tanh.breakpoints == () and tanh.parts(R) == [O(-1, 1)]
    dipping = pw.dip(lambda x: x * x - 1.0, 0.0, -1.0, INF)
    assert dipping.values == (-1.0,) and dipping.breakpoints == (0.0,)
    # Rounding near the minimiser is held at the minimum; -inf gives the limit 0.
    low_dip = pw.dip(lambda x: -2.0 if x == 0.5 else 0.0, 1.0, -1.0, 3.0)
    assert low_dip.formulas[0](0.5) == -1.0 and low_dip.formulas[0](-INF) == 0.0
    assert low_dip.formulas[1](INF) == 3.0 and low_dip.formulas[1](2.0) == 0.0
    clip = pw.clamped(-1.0, 2.0, pw.linear_formula(1.0), -1.0, 2.0)
    assert clip.breakpoints == (-1.0, 2.0) and clip.values == (-1.0, 2.0)
    assert pw.union_hull(clip.parts(R))[0] == C(-1, 2)
    assert pw.union_hull(clip.parts(O(-1, 2)))[0] == C(-1, 2)
    assert pw.union_hull(clip.parts(O(-0.5, 1.5)))[0] == O(-0.5, 1.5)
    assert clip.parts(C(3, 4)) == [P(2)] and clip.parts(C(-4, -3)) == [P(-1)]
    assert (pw.REAL_LINE, pw.ZERO, pw.UNIT) == (R, P(0), C(0, 1))
    # `low` up to low_x included, `high` from high_x included, whatever the formula gives there.
    jumpy = pw.clamped(0.0, 1.0, pw.linear_formula(1.0, 10.0), -3.0, 7.0)
    assert jumpy.values == (-3.0, 7.0)
    assert pw.union_hull(jumpy.parts(C(0, 1)))[0] == HO(-3, 11)

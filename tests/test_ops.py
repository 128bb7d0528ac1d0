"""The range engine: transfer functions on hand-built graphs, then real Keras models.

The first half needs no TensorFlow: activations are checked against independent numpy
definitions (KERAS_FACTS §4) by sampling, and layers against the facts of §4.3 and §5. The
second half builds real Keras 3 and tf_keras models once per session, reads them back
statically, and asserts that everything Keras outputs at input scales 1, 10 and 1000 lies in
the computed range, and that single activations reach their finite ends (tightness).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from vaecheck.codomain import Codomain
from vaecheck.errors import VaecheckError
from vaecheck.graph import Graph, ModelOutput, Node, TensorRef
from vaecheck.intervals import INF, Interval
from vaecheck.ranges.activations import activation_image, keras_major
from vaecheck.ranges.evaluate import output_codomains

R = Interval.real_line()
K3 = "3.15.1"


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


# Hand-built graphs ---------------------------------------------------------------------------
def layer(
    node_id: str,
    op: str,
    config: dict[str, Any] | None = None,
    *inputs: str,
    module: str | None = "keras.layers",
    args: tuple[Any, ...] | None = None,
    kwargs: dict[str, Any] | None = None,
) -> Node:
    refs = tuple(TensorRef(i) for i in inputs)
    return Node(
        id=node_id,
        label=node_id,
        op=op,
        module=module,
        config=config or {},
        args=args if args is not None else refs,
        kwargs=kwargs or {},
    )


def graph(*nodes: Node, outputs: Sequence[str] | None = None) -> Graph:
    names = list(outputs) if outputs is not None else [nodes[-1].id]
    return Graph(
        nodes={n.id: n for n in nodes},
        outputs=[ModelOutput(name, TensorRef(name)) for name in names],
    )


def chain(*steps: tuple[Any, ...], version: str | None = K3) -> Codomain:
    """The codomain after an input and `steps`, each (op, config[, module]), one after another."""
    nodes = [layer("x", "InputLayer")]
    for k, step in enumerate(steps):
        op, config = step[0], step[1]
        module = step[2] if len(step) > 2 else "keras.layers"
        nodes.append(layer(f"l{k}", op, config, nodes[-1].id, module=module))
    return single(graph(*nodes), version)


def single(g: Graph, version: str | None = K3) -> Codomain:
    (codomain,) = output_codomains(g, version).values()
    return codomain


def dense(activation: Any, units: int = 8) -> tuple[str, dict[str, Any]]:
    return ("Dense", {"units": units, "activation": activation})


SAMPLING = ("Sampling", {"name": "z"}, None)  # a VAE's custom layer: module null


# Activations against independent definitions -------------------------------------------------
def _erf(x: np.ndarray) -> np.ndarray:
    return np.vectorize(math.erf)(x)


SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805
REFERENCE: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "relu": lambda x: np.maximum(x, 0),
    "relu6": lambda x: np.clip(x, 0, 6),
    "leaky_relu": lambda x: np.where(x > 0, x, 0.2 * x),
    "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))),
    "selu": lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0))),
    "celu": lambda x: np.maximum(x, 0) + np.expm1(np.minimum(x, 0)),
    "gelu": lambda x: 0.5 * x * (1 + _erf(x / math.sqrt(2))),
    "silu": lambda x: x / (1 + np.exp(-x)),
    "swish": lambda x: x / (1 + np.exp(-x)),
    "hard_silu": lambda x: x * np.clip(x + 3, 0, 6) / 6,
    "hard_swish": lambda x: x * np.clip(x + 3, 0, 6) / 6,
    "mish": lambda x: x * np.tanh(np.logaddexp(0, x)),
    "softplus": lambda x: np.logaddexp(0, x),
    "softsign": lambda x: x / (1 + np.abs(x)),
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "hard_sigmoid": lambda x: np.clip(x + 3, 0, 6) / 6,
    "sparse_sigmoid": lambda x: np.clip(0.5 * (x + 1), 0, 1),
    "tanh": np.tanh,
    "hard_tanh": lambda x: np.clip(x, -1, 1),
    "tanh_shrink": lambda x: x - np.tanh(x),
    "log_sigmoid": lambda x: -np.logaddexp(0, -x),
    "exponential": np.exp,
    "sparse_plus": lambda x: np.where(x <= -1, 0, np.where(x < 1, (x + 1) ** 2 / 4, x)),
    "squareplus": lambda x: (x + np.sqrt(x * x + 4)) / 2,
    "soft_shrink": lambda x: np.where(x > 0.5, x - 0.5, np.where(x < -0.5, x + 0.5, 0)),
    "hard_shrink": lambda x: np.where(np.abs(x) > 0.5, x, 0),
    "linear": lambda x: x,
}
SAMPLED_INTERVALS = [
    R,
    Interval.open(-1.0, 1.0),
    Interval.closed(-3.0, 2.0),
    Interval(-INF, 0.0, False, True),
    Interval(0.5, INF, True, False),
    Interval(-0.9, -0.6, False, False),
    Interval.point(-0.75),
]


def samples(interval: Interval) -> np.ndarray:
    low = max(interval.low, -40.0)
    high = min(interval.high, 40.0)
    points = np.linspace(low, high, 40001)
    extra = [v for v, end in ((-1e4, interval.low), (1e4, interval.high)) if math.isinf(end)]
    points = np.concatenate([points, extra])
    inside = [interval.contains(float(p)) for p in points]
    return points[inside] if any(inside) else np.array([interval.low])


@pytest.mark.parametrize("interval", SAMPLED_INTERVALS, ids=str)
@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_activation_image_holds_every_value_and_reaches_its_ends(
    name: str, interval: Interval
) -> None:
    codomain = activation_image(name, interval, 3)
    image = codomain.interval
    assert image is not None
    with np.errstate(over="ignore"):
        values = REFERENCE[name](samples(interval))
    values = values[np.isfinite(values)]
    slack = 1e-12 * max(1.0, float(np.max(np.abs(values))))
    assert (
        values.min() >= image.low - slack and values.max() <= image.high + slack
    ), f"{name}{interval}: values [{values.min()}, {values.max()}] outside {image}"
    for end, reached in ((image.low, values.min()), (image.high, values.max())):
        if math.isfinite(end):
            assert abs(reached - end) <= 1e-3 * max(
                1.0, abs(end)
            ), f"{name}{interval}: {image} vs {reached}"


# KERAS_FACTS §4.2: the codomain of each activation on the real line, ends as mathematics has them.
FACT_CODOMAINS = {
    "linear": "(-inf, inf)",
    "relu": "[0, inf)",
    "relu6": "[0, 6]",
    "leaky_relu": "(-inf, inf)",
    "elu": "(-1, inf)",
    "selu": "(-1.7581, inf)",
    "celu": "(-1, inf)",
    "hard_silu": "[-0.375, inf)",
    "softplus": "(0, inf)",
    "softsign": "(-1, 1)",
    "sigmoid": "(0, 1)",
    "hard_sigmoid": "[0, 1]",
    "sparse_sigmoid": "[0, 1]",
    "tanh": "(-1, 1)",
    "hard_tanh": "[-1, 1]",
    "tanh_shrink": "(-inf, inf)",
    "log_softmax": "(-inf, 0]",
    "log_sigmoid": "(-inf, 0)",
    "exponential": "(0, inf)",
    "sparse_plus": "[0, inf)",
    "squareplus": "(0, inf)",
    "soft_shrink": "(-inf, inf)",
    "glu": "(-inf, inf)",
    "sparsemax": "[0, inf)",
    "swish": "[-0.278465, inf)",
    "hard_swish": "[-0.375, inf)",
    "softmax_v2": "(0, 1]",
}
FACT_MINIMA = {
    "gelu": -0.16997120747990369,
    "silu": -0.27846454276107374,
    "mish": -0.3088434130172504,
}


@pytest.mark.parametrize("name", sorted(FACT_CODOMAINS))
def test_codomains_on_the_real_line_are_the_documented_ones(name: str) -> None:
    assert str(activation_image(name, R, 3).interval) == FACT_CODOMAINS[name]


@pytest.mark.parametrize("name", sorted(FACT_MINIMA))
def test_dipping_activations_reach_their_minimum(name: str) -> None:
    image = activation_image(name, R, 3).interval
    assert image == Interval(FACT_MINIMA[name], INF, True, False)


def test_gelu_tanh_approximation_has_its_own_minimum() -> None:
    g = graph(
        layer("x", "InputLayer"),
        layer("gelu", "Gelu", {"approximate": True}, "x", module="keras.src.ops.nn"),
    )
    assert single(g).interval == Interval(-0.17004075057125403, INF, True, False)


def test_flat_regions_close_an_end_and_open_inputs_stay_open() -> None:
    assert activation_image("relu", Interval(-INF, 5.0, False, False), 3).interval == Interval(
        0.0, 5.0, True, False
    )
    assert activation_image("relu", Interval.open(1.0, 5.0), 3).interval == Interval.open(1.0, 5.0)
    assert activation_image("sigmoid", R, 3).interval == Interval.open(0.0, 1.0)
    assert activation_image("hard_tanh", Interval.open(-5.0, 0.5), 3).interval == Interval(
        -1.0, 0.5, True, False
    )


def test_sigmoid_of_tanh_is_the_image_of_tanhs_range() -> None:
    codomain = chain(dense("tanh"), ("Activation", {"activation": "sigmoid"}))
    assert codomain.interval == Interval.open(sigmoid(-1.0), sigmoid(1.0))
    assert codomain.bounded_by == ("l1: sigmoid",)


def test_hard_sigmoid_follows_the_keras_version() -> None:
    steps = (dense("tanh"), ("Activation", {"activation": "hard_sigmoid"}))
    assert chain(*steps, version="3.15.1").interval == Interval.open(
        1 / 3, 2 / 3
    )  # relu6(x + 3) / 6
    assert chain(*steps, version="2.21.0").interval == Interval.open(
        0.3, 0.7
    )  # clip(0.2x + 0.5, 0, 1)
    unknown_version = chain(*steps, version=None)
    assert unknown_version.interval == Interval.open(0.3, 0.7)
    assert any("Keras version is unknown" in note for note in unknown_version.notes)


def test_keras_major_version() -> None:
    assert [keras_major(v) for v in ("3.15.1", "2.21.0", "1", None, "dev")] == [3, 2, 1, None, None]


def test_leaky_relu_function_and_layer_have_different_default_slopes() -> None:
    assert chain(
        dense("tanh"), ("Activation", {"activation": "leaky_relu"})
    ).interval == Interval.open(-0.2, 1.0)
    assert chain(dense("tanh"), ("LeakyReLU", {})).interval == Interval.open(-0.3, 1.0)
    assert chain(dense("tanh"), ("LeakyReLU", {"negative_slope": 0.1})).interval == Interval.open(
        -0.1, 1.0
    )
    assert chain(
        dense("tanh"), ("LeakyReLU", {"alpha": 0.05}), version="2.21.0"
    ).interval == Interval.open(-0.05, 1.0)


RELU_CASES = [
    # (negative_slope, max_value, threshold), hull, whether the true image has a gap (§4.3)
    ((0.0, None, 0.0), Interval(0.0, INF, True, False), False),
    ((0.0, 6.0, 0.0), Interval.closed(0.0, 6.0), False),
    ((0.0, None, 0.5), Interval(0.0, INF, True, False), True),  # {0} ∪ (0.5, inf)
    ((0.0, 6.0, 0.5), Interval.closed(0.0, 6.0), True),  # {0} ∪ (0.5, 6]
    ((0.0, 1.0, 2.0), Interval.closed(0.0, 1.0), True),  # m <= t: {0, m}
    ((0.1, None, 0.0), R, False),
    ((0.1, 6.0, 0.0), Interval(-INF, 6.0, False, True), False),
    ((0.1, 6.0, 0.5), Interval(-INF, 6.0, False, True), True),  # (-inf, 0] ∪ (0.5, 6]
]


@pytest.mark.parametrize(("arguments", "hull", "gap"), RELU_CASES, ids=str)
def test_relu_layer_arguments(
    arguments: tuple[float, float | None, float], hull: Interval, gap: bool
) -> None:
    slope, max_value, threshold = arguments
    config = {"negative_slope": slope, "max_value": max_value, "threshold": threshold}
    codomain = chain(("Dense", {"units": 4}), ("ReLU", config))
    assert codomain.interval == hull
    assert any("hull of that union" in note for note in codomain.notes) == gap


def test_relu_with_arguments_holds_the_values_keras_computed() -> None:
    # KERAS_FACTS §4.3, verified in Keras: relu(x, negative_slope=.1, max_value=6, threshold=.5)
    keras_values = [-0.15, -0.05, -0.01, 0.0, 0.6, 5.0, 6.0]
    image = activation_image(
        {"class_name": "ReLU", "config": {"negative_slope": 0.1, "max_value": 6, "threshold": 0.5}},
        R,
        3,
    )
    assert all(image.interval.contains(v) for v in keras_values)


def test_hard_shrink_and_thresholded_relu_report_the_union_they_hull() -> None:
    shrink = activation_image("hard_shrink", R, 3)
    assert shrink.interval == R and "∪ {0} ∪" in shrink.notes[0]
    thresholded = chain(
        ("Dense", {"units": 4}), ("ThresholdedReLU", {"theta": 1.0}), version="2.21.0"
    )
    assert thresholded.interval == Interval(0.0, INF, True, False)
    assert "{0} ∪ (1, inf)" in thresholded.notes[0]


def test_a_jump_on_an_open_end_that_float32_reaches_is_an_output() -> None:
    # sigmoid(exp(x)) is (0.5, 1) in real numbers, but exp(-1000) is 0.0 in float32: it reaches
    # 0.5, which relu's threshold sends to 0 (found by the soundness property test).
    codomain = chain(
        ("Exp", {}, "keras.src.ops.numpy"),
        ("Activation", {"activation": "sigmoid"}),
        ("ReLU", {"threshold": 0.5}),
    )
    assert codomain.interval == Interval(0.0, 1.0, True, False)
    assert "{0} ∪ (0.5, 1)" in codomain.notes[0]
    assert chain(("Activation", {"activation": "sigmoid"}), ("ReLU", {})).interval == (
        Interval(0.0, 1.0, True, False)
    )


def test_ends_past_the_largest_float32_are_infinite() -> None:
    codomain = chain(
        ("Activation", {"activation": "relu6"}),
        ("Activation", {"activation": "exponential"}),
        ("Activation", {"activation": "exponential"}),
    )
    # exp(exp(6)) is about 1.6e175: Keras overflows it to inf.
    assert codomain.interval == Interval(math.e, INF, True, False)
    assert any("overflow to inf" in note for note in codomain.notes)
    assert chain(dense("exponential")).notes == ()  # (0, inf) has nothing to overflow


def test_softmax_depends_on_the_length_of_its_axis() -> None:
    one = chain(dense("softmax", units=1))
    assert one.interval == Interval.point(1.0)  # a one-element softmax is exactly 1
    several = chain(dense("softmax", units=4))
    assert several.interval == Interval.open(0.0, 1.0) and several.simplex_axis == -1
    unknown_length = chain(("Activation", {"activation": "softmax"}))
    assert unknown_length.interval == Interval(0.0, 1.0, False, True)
    bounded = activation_image("softmax", Interval.closed(-1.0, 1.0), 3, axis_size=3)
    low, high = bounded.interval.low, bounded.interval.high
    assert math.isclose(low, math.exp(-1) / (math.exp(-1) + 2 * math.e))
    assert math.isclose(high, math.e / (math.e + 2 * math.exp(-1)))
    assert chain(("Softmax", {"axis": 1})).simplex_axis == 1


def test_activation_specs_in_every_serialized_form() -> None:
    forms = [
        "sigmoid",
        {
            "module": "builtins",
            "class_name": "function",
            "config": "sigmoid",
            "registered_name": "function",
        },
        {
            "module": "keras.activations",
            "class_name": "function",
            "config": "sigmoid",
            "registered_name": "sigmoid",
        },
        {"module": "keras.layers", "class_name": "Activation", "config": {"activation": "sigmoid"}},
    ]
    for form in forms:
        assert activation_image(form, R, 3, label="out").bounded_by == ("out: sigmoid",)
    layer_form = activation_image(
        {"class_name": "LeakyReLU", "config": {"negative_slope": 0.1}}, Interval.open(-1, 1), 3
    )
    assert layer_form.interval == Interval.open(-0.1, 1.0)
    assert (
        activation_image(None, R, 3).interval == R
        and activation_image("linear", R, 3).bounded_by == ()
    )


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        (
            {"module": "builtins", "class_name": "function", "config": "mypkg>scaled_tanh"},
            "custom activation 'mypkg>scaled_tanh' (its code is not in the file)",
        ),
        ("Custom>scaled_tanh", "custom activation 'Custom>scaled_tanh'"),
        (
            {"module": "builtins", "class_name": "function", "config": "unreg"},
            "unknown activation 'unreg'",
        ),
        ("threshold", "threshold activation needs threshold and default_value"),
        ({"class_name": "__lambda__", "config": {"code": "..."}}, "lambda activation"),
        (
            {"module": "mypkg.acts", "class_name": "function", "config": "relu"},
            "from module mypkg.acts",
        ),
    ],
)
def test_unknown_activations_name_the_function(spec: Any, reason: str) -> None:
    codomain = activation_image(spec, R, 3, label="decoder › out")
    assert not codomain.known and codomain.unknown_at == "decoder › out"
    assert reason in codomain.unknown_reason


# Layers on hand-built graphs -----------------------------------------------------------------
def test_an_activation_bounds_an_unknown_input() -> None:
    assert chain(SAMPLING, dense("relu")).interval == Interval(0.0, INF, True, False)
    assert chain(SAMPLING, ("Activation", {"activation": "sigmoid"})).interval == Interval.open(
        0.0, 1.0
    )
    assert chain(SAMPLING, ("Dense", {"units": 3})).interval == R  # linear on the real line, known
    for passing in (
        ("Dropout", {"rate": 0.5}),
        ("Activation", {"activation": "linear"}),
        ("Rescaling", {"scale": 2.0}),
        ("Add", {}),
    ):
        codomain = chain(SAMPLING, passing)
        assert not codomain.known and codomain.unknown_at == "l0", passing
        assert codomain.unknown_reason == "custom layer Sampling (module null)"


@pytest.mark.parametrize(
    ("step", "reason"),
    [
        (("Sampling", {}, "mypkg.layers"), "custom layer Sampling (module mypkg.layers)"),
        (
            ("Lambda", {"function": {"class_name": "__lambda__", "config": {}}}),
            "Lambda layer (its code is not read)",
        ),
        (("BatchNormalization", {}), "statistics are in the weights file"),
        (
            ("Normalization", {"mean": None, "variance": None}),
            "mean and variance are in the weights file",
        ),
        (("UpSampling2D", {"interpolation": "gaussian"}), "gaussian interpolation"),
        (("Cholesky", {}, "keras.src.ops.linalg"), "the Cholesky op is not supported"),
        (("Embedding", {}), "Embedding"),
        (("RandomFlip", {}, None), "the RandomFlip layer is not supported"),
        (("TFOpLambda", {"function": "math.cumsum"}, None), "tf.math.cumsum"),
        (("Dense", {"activation": "mypkg>f"}), "custom activation 'mypkg>f'"),
        (("Rescaling", {"scale": "two"}), "cannot interpret its configuration"),
    ],
    ids=lambda v: v[0] if isinstance(v, tuple) else None,
)
def test_unknown_ranges_name_the_layer_and_the_reason(step: tuple[Any, ...], reason: str) -> None:
    codomain = chain(dense("sigmoid"), step)
    assert not codomain.known and codomain.unknown_at == "l1"
    assert reason in codomain.unknown_reason


def test_steps_start_at_the_activation_and_identity_layers_add_none() -> None:
    nodes = [
        layer("z", "InputLayer"),
        Node(
            "decoder/dec_out",
            "decoder › dec_out",
            "Dense",
            "keras.layers",
            {"units": 4, "activation": "sigmoid"},
            (TensorRef("z"),),
        ),
        layer("drop", "Dropout", {"rate": 0.2}, "decoder/dec_out"),
        layer("shape", "Reshape", {"target_shape": [2, 2]}, "drop"),
        layer("rescaling", "Rescaling", {"scale": 2.0, "offset": -1.0}, "shape"),
    ]
    codomain = single(graph(*nodes))
    assert codomain.interval == Interval.open(-1.0, 1.0)
    assert codomain.bounded_by == ("decoder › dec_out: sigmoid", "rescaling: x*2 + -1")
    assert codomain.activation_name() == "sigmoid"
    reset = chain(
        dense("relu"), ("Rescaling", {"scale": 3.0}), ("Activation", {"activation": "tanh"})
    )
    assert reset.bounded_by == ("l2: tanh",)


def test_identity_layers_keep_the_simplex_and_shape_layers_drop_it() -> None:
    assert chain(dense("softmax"), ("Dropout", {"rate": 0.1})).simplex_axis == -1
    assert chain(dense("softmax"), ("Flatten", {})).simplex_axis is None


def test_rescaling_per_channel_and_serialized_arrays() -> None:
    per_channel = chain(
        dense("sigmoid"), ("Rescaling", {"scale": [1.0, 2.0, -1.0], "offset": [0.0, 0.0, 1.0]})
    )
    assert per_channel.interval == Interval.open(0.0, 2.0)  # channels: (0, 1), (0, 2), (0, 1)
    array = {"class_name": "__numpy__", "config": {"value": [[0.5, 4.0]], "dtype": "float32"}}
    assert chain(
        dense("tanh"), ("Rescaling", {"scale": array, "offset": 0.0})
    ).interval == Interval.open(-4.0, 4.0)
    assert (
        chain(dense("linear"), ("Rescaling", {"scale": 0.5})).bounded_by == ()
    )  # R stays R: no step


def test_normalization_from_its_configuration() -> None:
    inverse = chain(
        dense("sigmoid"), ("Normalization", {"mean": 0.5, "variance": 4.0, "invert": True})
    )
    assert inverse.interval == Interval.open(0.5, 2.5)
    forward = chain(
        dense("tanh"),
        ("Normalization", {"mean": [0.0, 1.0], "variance": [1.0, 0.25], "invert": False}),
    )
    assert forward.interval == Interval.open(-4.0, 1.0)  # (x - 0) / 1 and (x - 1) / 0.5
    floor = chain(dense("sigmoid"), ("Normalization", {"mean": 0.0, "variance": 0.0}))
    assert floor.interval.high == pytest.approx(1e7)  # sqrt(variance) floored at 1e-7


def test_zero_padding_and_masking_add_zero() -> None:
    padded = chain(dense("sigmoid"), ("ZeroPadding1D", {"padding": 1}))
    assert padded.interval == Interval(0.0, 1.0, True, False) and len(padded.bounded_by) == 2
    masked = chain(dense("relu"), ("Masking", {"mask_value": 0.0}))
    assert masked.interval == Interval(0.0, INF, True, False) and masked.bounded_by == ("l0: relu",)


TANH, SIGMOID = Interval.open(-1.0, 1.0), Interval.open(0.0, 1.0)
MERGES = [
    ("Add", Interval.open(-1.0, 2.0)),
    ("Subtract", Interval.open(-2.0, 1.0)),  # tanh - sigmoid
    ("Multiply", Interval.open(-1.0, 1.0)),
    ("Average", Interval.open(-0.5, 1.0)),
    ("Maximum", Interval.open(0.0, 1.0)),
    ("Minimum", Interval.open(-1.0, 1.0)),
    ("Concatenate", Interval.open(-1.0, 1.0)),
    ("Dot", R),
]


@pytest.mark.parametrize(("op", "expected"), MERGES)
def test_merge_layers(op: str, expected: Interval) -> None:
    nodes = [
        layer("x", "InputLayer"),
        layer("t", "Dense", {"units": 2, "activation": "tanh"}, "x"),
        layer("s", "Dense", {"units": 2, "activation": "sigmoid"}, "x"),
        layer("m", op, {}, args=([TensorRef("t"), TensorRef("s")],)),
    ]
    codomain = single(graph(*nodes))
    assert codomain.interval == expected
    assert {"t: tanh", "s: sigmoid"} <= set(codomain.bounded_by)


def test_concatenating_disjoint_ranges_notes_the_union() -> None:
    nodes = [
        layer("x", "InputLayer"),
        layer("s", "Dense", {"units": 2, "activation": "sigmoid"}, "x"),
        layer("r", "Rescaling", {"scale": 1.0, "offset": 5.0}, "s"),
        layer("c", "Concatenate", {}, args=([TensorRef("s"), TensorRef("r")],)),
    ]
    codomain = single(graph(*nodes))
    assert codomain.interval == Interval.open(0.0, 6.0)
    assert "(0, 1) ∪ (5, 6)" in codomain.notes[-1]


def op_node(
    node_id: str,
    op: str,
    *args: Any,
    config: dict[str, Any] | None = None,
    module: str = "keras.src.ops.numpy",
) -> Node:
    return Node(
        node_id,
        node_id,
        op,
        module,
        config or {},
        tuple(TensorRef(a) if a in ("t", "s", "d") else a for a in args),
    )


def ops_graph(last: Node) -> Codomain:
    nodes = [
        layer("x", "InputLayer"),
        layer("d", "Dense", {"units": 4}, "x"),
        layer("t", "Dense", {"units": 4, "activation": "tanh"}, "x"),
        layer("s", "Dense", {"units": 4, "activation": "sigmoid"}, "x"),
        last,
    ]
    return single(graph(*nodes))


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        (op_node("o", "Multiply", "t", 2.0), Interval.open(-2.0, 2.0)),
        (op_node("o", "Subtract", 2.0, "t"), Interval.open(1.0, 3.0)),  # 2 - x, not x - 2
        (op_node("o", "Subtract", "t", 2.0), Interval.open(-3.0, -1.0)),
        (op_node("o", "TrueDivide", "s", 4), Interval.open(0.0, 0.25)),
        (op_node("o", "Divide", 1.0, "s"), Interval(1.0, INF, False, False)),
        (op_node("o", "Multiply", "t", [[1.0, 3.0], [0.5, 2.0]]), Interval.open(-3.0, 3.0)),
        (op_node("o", "Add", "t", "s"), Interval.open(-1.0, 2.0)),
        (op_node("o", "Maximum", "t", 0.5), Interval(0.5, 1.0, True, False)),
        (op_node("o", "Negative", "s"), Interval.open(-1.0, 0.0)),
        (op_node("o", "Absolute", "t"), Interval(0.0, 1.0, True, False)),
        (op_node("o", "Square", "t"), Interval(0.0, 1.0, True, False)),
        (op_node("o", "Exp", "t"), Interval.open(math.exp(-1), math.e)),
        (op_node("o", "Power", "t", 3), Interval.open(-1.0, 1.0)),
        (op_node("o", "Clip", "d", config={"x_min": 0.0, "x_max": 1.0}), Interval.closed(0.0, 1.0)),
        (op_node("o", "Where", "d", "s", -1.0), Interval(-1.0, 1.0, True, False)),
        (
            op_node("o", "Sigmoid", "t", module="keras.src.ops.nn"),
            Interval.open(sigmoid(-1), sigmoid(1)),
        ),
        (
            op_node(
                "o", "LeakyRelu", "t", config={"negative_slope": 0.5}, module="keras.src.ops.nn"
            ),
            Interval.open(-0.5, 1.0),
        ),
        (op_node("o", "GetItem", "s", [{"class_name": "__slice__", "config": {}}]), SIGMOID),
        (op_node("o", "Sqrt", "t"), Interval(0.0, 1.0, True, False)),
        (op_node("o", "Log", "s"), Interval.open(-INF, 0.0)),
        (op_node("o", "Sum", "s"), Interval(0.0, INF, False, False)),
    ],
    ids=lambda v: (
        v.op + "(" + ", ".join(a.node if isinstance(a, TensorRef) else str(a) for a in v.args) + ")"
        if isinstance(v, Node)
        else None
    ),
)
def test_keras3_op_nodes(node: Node, expected: Interval) -> None:
    assert ops_graph(node).interval == expected


def test_division_and_roots_that_meet_zero_or_negatives_say_so() -> None:
    divided = ops_graph(op_node("o", "TrueDivide", "s", "t"))
    assert divided.interval == R and any("division" in n for n in divided.notes)
    root = ops_graph(op_node("o", "Sqrt", "t"))
    assert any("nan" in n for n in root.notes)


def tf_op(function: str, *args: Any, **kwargs: Any) -> Node:
    def tensor(value: Any) -> Any:
        if isinstance(value, list):
            return [tensor(v) for v in value]
        return TensorRef(value) if value in ("t", "s", "d") else value

    refs = tuple(tensor(a) for a in args)
    return Node(
        "o",
        "tf.op",
        "TFOpLambda",
        None,
        {"function": function},
        refs,
        {k: tensor(v) for k, v in kwargs.items()},
    )


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        (tf_op("math.multiply", "t", y=2.0, name=None), Interval.open(-2.0, 2.0)),
        (
            tf_op("math.subtract", 2.0, y="t"),
            Interval.open(1.0, 3.0),
        ),  # ["_CONSTANT_VALUE", -1, 2.0, {"y": t}]
        (tf_op("__operators__.add", "t", y="s"), Interval.open(-1.0, 2.0)),
        (
            tf_op("clip_by_value", "d", clip_value_min=-0.5, clip_value_max=0.5),
            Interval.closed(-0.5, 0.5),
        ),
        (tf_op("nn.leaky_relu", "t", alpha=0.1), Interval.open(-0.1, 1.0)),
        (tf_op("math.sigmoid", "t"), Interval.open(sigmoid(-1), sigmoid(1))),
        (tf_op("nn.relu", "d", name=None), Interval(0.0, INF, True, False)),
        (tf_op("math.truediv", "s", y=[2.0, 4.0]), Interval.open(0.0, 0.5)),
        (tf_op("concat", ["t", "s"], axis=-1), Interval.open(-1.0, 1.0)),
    ],
    ids=lambda v: v.config["function"] if isinstance(v, Node) else None,
)
def test_keras2_tf_op_lambda(node: Node, expected: Interval) -> None:
    assert ops_graph(node).interval == expected


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"units": 3}, Interval.open(-1.0, 1.0)),  # LSTM: o * tanh(c)
        ({"units": 3, "activation": "relu"}, Interval(0.0, INF, True, False)),
        (
            {"units": 3, "activation": "sigmoid", "recurrent_activation": "hard_sigmoid"},
            Interval(0.0, 1.0, True, False),
        ),
    ],
)
def test_lstm(config: dict[str, Any], expected: Interval) -> None:
    assert chain(("Dense", {"units": 2}), ("LSTM", config)).interval == expected


def test_gru_and_simple_rnn() -> None:
    assert chain(("GRU", {"units": 2})).interval == Interval.open(-1.0, 1.0)
    # A convex combination with the zero initial state: 0 belongs to the range.
    assert chain(("GRU", {"units": 2, "activation": "sigmoid"})).interval == Interval(
        0.0, 1.0, True, False
    )
    assert chain(("SimpleRNN", {"units": 2, "activation": "sigmoid"})).interval == Interval.open(
        0.0, 1.0
    )
    assert chain(("GRU", {"units": 2, "recurrent_activation": "relu"})).interval == R


def test_recurrent_states_are_separate_outputs() -> None:
    nodes = [
        layer("x", "InputLayer"),
        layer("lstm", "LSTM", {"units": 2, "return_state": True}, "x"),
    ]
    g = Graph(
        nodes={n.id: n for n in nodes},
        outputs=[ModelOutput(f"out{i}", TensorRef("lstm", i)) for i in range(4)],
    )
    codomains = output_codomains(g, K3)
    assert codomains["out1"].interval == Interval.open(-1.0, 1.0)
    assert codomains["out2"].interval == R and codomains["out2"].notes  # the cell state
    assert not codomains["out3"].known


@pytest.mark.parametrize(
    ("merge_mode", "expected"),
    [
        ("concat", Interval.open(-1.0, 1.0)),
        ("ave", Interval.open(-1.0, 1.0)),
        ("sum", Interval.open(-2.0, 2.0)),
        ("mul", Interval.open(-1.0, 1.0)),
    ],
)
def test_bidirectional(merge_mode: str, expected: Interval) -> None:
    inner = {"class_name": "LSTM", "config": {"units": 2}}
    assert chain(("Bidirectional", {"layer": inner, "merge_mode": merge_mode})).interval == expected


def test_bidirectional_with_a_relu_backward_layer() -> None:
    config = {
        "layer": {"class_name": "GRU", "config": {"units": 2}},
        "backward_layer": {"class_name": "GRU", "config": {"units": 2, "activation": "relu"}},
        "merge_mode": "sum",
    }
    assert chain(("Bidirectional", config)).interval == Interval(-1.0, INF, False, False)


def test_time_distributed_analyses_its_layer() -> None:
    inner = {
        "module": "keras.layers",
        "class_name": "Dense",
        "config": {"units": 2, "activation": "softsign"},
    }
    codomain = chain(("TimeDistributed", {"layer": inner}))
    assert codomain.interval == Interval.open(-1.0, 1.0) and codomain.bounded_by == (
        "l0: softsign",
    )


def test_a_long_chain_is_evaluated_without_recursion() -> None:
    steps = [dense("sigmoid")] + [("Rescaling", {"scale": 1.0, "offset": 1.0})] * 3000
    codomain = chain(*steps)
    assert codomain.interval == Interval.open(3000.0, 3001.0)
    assert len(codomain.bounded_by) == 3001


def test_cycles_and_missing_references_are_errors() -> None:
    cycle = graph(layer("a", "Dense", {"units": 1}, "b"), layer("b", "Dense", {"units": 1}, "a"))
    with pytest.raises(VaecheckError, match="cycle"):
        output_codomains(cycle)
    with pytest.raises(VaecheckError, match="cycle"):
        output_codomains(graph(layer("x", "InputLayer"), layer("a", "Add", {}, "x", "a")))
    missing = graph(layer("x", "InputLayer"), layer("a", "Dense", {"units": 1}, "nowhere"))
    with pytest.raises(VaecheckError, match="'nowhere'"):
        output_codomains(missing)
    with pytest.raises(VaecheckError, match="not in the model graph"):
        output_codomains(graph(layer("x", "InputLayer"), outputs=["gone"]))


def test_outputs_are_keyed_by_name_in_graph_order() -> None:
    nodes = [
        layer("x", "InputLayer"),
        layer("b", "Dense", {"units": 1, "activation": "tanh"}, "x"),
        layer("a", "Dense", {"units": 1, "activation": "relu"}, "x"),
    ]
    codomains = output_codomains(graph(*nodes, outputs=["b", "a", "x"]))
    assert list(codomains) == ["b", "a", "x"]
    assert codomains["x"] == Codomain.real_line()


# Real models: what Keras outputs must lie in the computed range ------------------------------
SCALES = (1.0, 10.0, 1000.0)
WIDTH = 64
FLOAT32_ULP = float(np.finfo(np.float32).eps)


def grid_inputs() -> np.ndarray:
    """A dense grid over [-1, 1] at each scale, so that activations saturate at 1000.

    In the first block every feature (column) spans the whole grid, for per-channel layers;
    in the transposed block every sample (row) does, so one element can dominate a softmax.
    """
    base = np.linspace(-1.0, 1.0, WIDTH * WIDTH).reshape(WIDTH, WIDTH)
    return np.concatenate([block * s for s in SCALES for block in (base, base.T)]).astype(
        np.float32
    )


def random_inputs(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((24, *shape))
    return np.concatenate([base * s for s in SCALES]).astype(np.float32)


def assert_holds(codomain: Codomain, values: np.ndarray, name: str) -> None:
    """Every Keras output lies in the closure of the codomain, give or take float32 rounding."""
    interval = codomain.interval
    assert interval is not None, f"{name}: unknown ({codomain.unknown_reason})"
    values = np.asarray(values, dtype=np.float64).ravel()
    assert not np.isnan(values).any(), f"{name}: Keras produced nan"
    infinite = values[np.isinf(values)]
    assert all(
        (v > 0 and interval.high == INF) or (v < 0 and interval.low == -INF) for v in infinite
    ), name
    finite = values[np.isfinite(values)]
    low_slack = 4 * FLOAT32_ULP * max(1.0, abs(interval.low)) if math.isfinite(interval.low) else 0
    high_slack = (
        4 * FLOAT32_ULP * max(1.0, abs(interval.high)) if math.isfinite(interval.high) else 0
    )
    assert (
        finite.min() >= interval.low - low_slack
    ), f"{name}: Keras gave {finite.min()!r}, below {interval}"
    assert (
        finite.max() <= interval.high + high_slack
    ), f"{name}: Keras gave {finite.max()!r}, above {interval}"


def assert_tight(codomain: Codomain, values: np.ndarray, name: str) -> None:
    """Keras comes within 1% of every finite end (of 1 for ends near 0): the range is no wider
    than it must be."""
    interval = codomain.interval
    assert interval is not None
    values = np.asarray(values, dtype=np.float64).ravel()
    for end, reached in ((interval.low, np.nanmin(values)), (interval.high, np.nanmax(values))):
        if math.isfinite(end):
            assert abs(reached - end) <= 0.01 * max(
                abs(end), 1.0
            ), f"{name}: {interval}, Keras reached {reached}"


@dataclass(frozen=True)
class Head:
    """One output of a test model: how to build it from the shared tensors, what to expect."""

    name: str
    build: Callable[..., Any]  # (keras, tensors) -> output tensor
    tight: bool = False
    expected: Interval | str | None = None  # an interval, or the start of an unknown reason


@dataclass
class Checked:
    codomains: dict[str, Codomain]
    observed: dict[str, np.ndarray]
    heads: dict[str, Head]


def check_model(
    saved_models: Any,
    name: str,
    heads: Sequence[Head],
    inputs: Callable[[Any], Any],
    data: np.ndarray,
    suffix: str = ".keras",
    tf_keras: bool = False,
) -> Checked:
    """Build one multi-output model, save it, read it back statically, and run it on `data`."""
    from vaecheck.readers.model import read_model

    built: dict[str, Any] = {}

    def build(keras: Any) -> Any:
        x, tensors = inputs(keras)
        # A named linear Activation fixes each output's name; its range is its input's.
        outputs = [
            keras.layers.Activation("linear", name=f"head_{h.name}")(h.build(keras, tensors))
            for h in heads
        ]
        built["model"] = keras.Model(x, outputs)
        return built["model"]

    if tf_keras:
        path = saved_models.save_tf_keras(name, build, suffix)
    else:
        path = saved_models.save(name, build, suffix)
    assert "model" in built, f"another test already saved a model as {path}"
    model_file = read_model(path)
    codomains = {
        name.removeprefix("head_"): codomain
        for name, codomain in output_codomains(model_file.graph, model_file.keras_version).items()
    }
    assert list(codomains) == [h.name for h in heads]
    results = built["model"](data, training=False)
    observed = {h.name: np.asarray(r) for h, r in zip(heads, results)}
    return Checked(codomains, observed, {h.name: h for h in heads})


def verify(checked: Checked, name: str, activation_model: bool = False) -> None:
    head = checked.heads[name]
    codomain = checked.codomains[name]
    if isinstance(head.expected, str):
        assert not codomain.known and head.expected in codomain.unknown_reason, codomain
        return
    assert_holds(codomain, checked.observed[name], name)
    if isinstance(head.expected, Interval):
        assert codomain.interval == head.expected, f"{name}: {codomain.interval} != {head.expected}"
    if head.tight or activation_model:
        assert_tight(codomain, checked.observed[name], name)


def identity_dense(keras: Any, activation: Any, name: str, units: int = WIDTH) -> Any:
    return keras.layers.Dense(
        units,
        activation=activation,
        kernel_initializer="identity",
        bias_initializer="zeros",
        name=f"{name}_dense",
    )


def grid_model_inputs(keras: Any) -> tuple[Any, dict[str, Any]]:
    x = keras.Input((WIDTH,), name="x")
    d = identity_dense(keras, None, "pre")(x)  # the pre-activation is the input itself
    return x, {"x": x, "d": d}


def activation_head(activation: str) -> Head:
    name = activation
    return Head(name, lambda keras, t: identity_dense(keras, activation, name)(t["x"]))


def layer_head(name: str, make: Callable[[Any], Any]) -> Head:
    return Head(name, lambda keras, t: make(keras)(t["d"]))


KERAS3_ACTIVATIONS = [
    "relu",
    "relu6",
    "leaky_relu",
    "elu",
    "selu",
    "celu",
    "gelu",
    "silu",
    "swish",
    "hard_silu",
    "hard_swish",
    "mish",
    "softplus",
    "softsign",
    "sigmoid",
    "hard_sigmoid",
    "sparse_sigmoid",
    "tanh",
    "hard_tanh",
    "tanh_shrink",
    "softmax",
    "log_softmax",
    "sparsemax",
    "log_sigmoid",
    "exponential",
    "sparse_plus",
    "squareplus",
    "soft_shrink",
    "hard_shrink",
    "glu",
    "linear",
]
KERAS3_ACTIVATION_HEADS = [activation_head(a) for a in KERAS3_ACTIVATIONS] + [
    Head(
        "leaky_relu_object",
        lambda keras, t: identity_dense(
            keras, keras.layers.LeakyReLU(negative_slope=0.1), "leaky_relu_object"
        )(t["x"]),
    ),
    Head(
        "relu_object",
        lambda keras, t: identity_dense(
            keras,
            keras.layers.ReLU(max_value=6.0, negative_slope=0.1, threshold=0.5),
            "relu_object",
        )(t["x"]),
    ),
    layer_head("LeakyReLU", lambda keras: keras.layers.LeakyReLU()),
    layer_head("ReLU", lambda keras: keras.layers.ReLU(max_value=3.0, threshold=1.0)),
    layer_head("ELU", lambda keras: keras.layers.ELU(alpha=0.5)),
    layer_head("Softmax", lambda keras: keras.layers.Softmax()),
    layer_head("PReLU", lambda keras: keras.layers.PReLU()),
    layer_head("Activation_relu6", lambda keras: keras.layers.Activation("relu6")),
]
KERAS2_ACTIVATIONS = [
    "relu",
    "relu6",
    "leaky_relu",
    "elu",
    "selu",
    "gelu",
    "swish",
    "silu",
    "mish",
    "softplus",
    "softsign",
    "sigmoid",
    "hard_sigmoid",
    "tanh",
    "softmax",
    "log_softmax",
    "exponential",
    "linear",
]
KERAS2_ACTIVATION_HEADS = [activation_head(a) for a in KERAS2_ACTIVATIONS] + [
    layer_head("LeakyReLU", lambda keras: keras.layers.LeakyReLU()),  # alpha 0.3
    layer_head("ThresholdedReLU", lambda keras: keras.layers.ThresholdedReLU(theta=0.5)),
    layer_head(
        "ReLU", lambda keras: keras.layers.ReLU(max_value=6.0, negative_slope=0.1, threshold=0.5)
    ),
    layer_head("ELU", lambda keras: keras.layers.ELU(alpha=0.5)),
    layer_head("Softmax", lambda keras: keras.layers.Softmax()),
]


def tanh_of(keras: Any, t: dict[str, Any]) -> Any:
    return keras.layers.Activation("tanh")(t["d"])


def sigmoid_of(keras: Any, t: dict[str, Any]) -> Any:
    return keras.layers.Activation("sigmoid")(t["d"])


def merge_head(name: str, layer: str, tight_range: Interval | None = None) -> Head:
    build = lambda k, t: getattr(k.layers, layer)()([sigmoid_of(k, t), tanh_of(k, t)])  # noqa: E731
    return Head(name, build, tight_range is not None, tight_range)


def shared_stacks(hard_sigmoid_of_tanh: Interval) -> list[Head]:
    """Heads built alike in Keras 3 and tf_keras; hard_sigmoid's range depends on the version."""
    return [
        Head(
            "sigmoid_of_tanh",
            lambda k, t: k.layers.Activation("sigmoid")(tanh_of(k, t)),
            True,
            Interval.open(sigmoid(-1.0), sigmoid(1.0)),
        ),
        Head(
            "hard_sigmoid_of_tanh",
            lambda k, t: k.layers.Activation("hard_sigmoid")(tanh_of(k, t)),
            True,
            hard_sigmoid_of_tanh,
        ),
        Head(
            "rescaled",
            lambda k, t: k.layers.Rescaling(2.0, -1.0)(sigmoid_of(k, t)),
            True,
            Interval.open(-1.0, 1.0),
        ),
    ]


DENSE_STACKS = shared_stacks(Interval.open(1 / 3, 2 / 3)) + [  # relu6(x + 3) / 6
    Head(
        "rescaled_channels",
        lambda k, t: k.layers.Rescaling([0.5] * 32 + [2.0] * 32)(sigmoid_of(k, t)),
        True,
        Interval.open(0.0, 2.0),
    ),
    Head(
        "normalized_inverse",
        lambda k, t: k.layers.Normalization(mean=0.5, variance=4.0, invert=True)(sigmoid_of(k, t)),
        True,
        Interval.open(0.5, 2.5),
    ),
    Head(
        "normalized_channels",
        lambda k, t: k.layers.Normalization(
            mean=np.linspace(-1, 1, WIDTH).tolist(), variance=np.linspace(0.25, 4, WIDTH).tolist()
        )(tanh_of(k, t)),
        True,
    ),
    Head(
        "identity_stack",
        lambda k, t: k.layers.GaussianNoise(1.0)(
            k.layers.Flatten()(k.layers.Reshape((8, 8))(k.layers.Dropout(0.5)(sigmoid_of(k, t))))
        ),
        True,
        Interval.open(0.0, 1.0),
    ),
    Head(
        "zero_padded",
        lambda k, t: k.layers.ZeroPadding1D(1)(k.layers.Reshape((WIDTH, 1))(sigmoid_of(k, t))),
        True,
        Interval(0.0, 1.0, True, False),
    ),
    # Merges of sigmoid(x) and tanh(x) of the same x: tight where the combination is monotone.
    merge_head("added", "Add", Interval.open(-1.0, 2.0)),
    merge_head("subtracted", "Subtract"),
    merge_head("multiplied", "Multiply"),
    merge_head("averaged", "Average", Interval.open(-0.5, 1.0)),
    merge_head("maximum", "Maximum", Interval.open(0.0, 1.0)),
    merge_head("minimum", "Minimum", Interval.open(-1.0, 1.0)),
    merge_head("concatenated", "Concatenate", Interval.open(-1.0, 1.0)),
    Head(
        "cosine",
        lambda k, t: k.layers.Dot(axes=1, normalize=True)([sigmoid_of(k, t), tanh_of(k, t)]),
        True,
        Interval.closed(-1.0, 1.0),
    ),
    # A component of a unit vector reaches ±1 where every other component is 0, as tanh can be.
    Head(
        "unit_normalized",
        lambda k, t: k.layers.UnitNormalization()(tanh_of(k, t)),
        expected=Interval.closed(-1.0, 1.0),
    ),
    Head(
        "op_affine", lambda k, t: k.ops.sigmoid(t["d"]) * 2.0 - 1.0, True, Interval.open(-1.0, 1.0)
    ),
    Head("op_reversed", lambda k, t: 2.0 - k.ops.tanh(t["d"]), True, Interval.open(1.0, 3.0)),
    Head("op_divided", lambda k, t: k.ops.tanh(t["d"]) / 2, True, Interval.open(-0.5, 0.5)),
    Head("op_clip", lambda k, t: k.ops.clip(t["d"], -0.5, 0.5), True, Interval.closed(-0.5, 0.5)),
    Head("op_abs", lambda k, t: k.ops.abs(tanh_of(k, t)), True),
    Head("op_square", lambda k, t: k.ops.square(tanh_of(k, t)), True),
    Head(
        "op_exp", lambda k, t: k.ops.exp(tanh_of(k, t)), True, Interval.open(math.exp(-1), math.e)
    ),
    Head("op_where", lambda k, t: k.ops.where(t["d"] > 0, sigmoid_of(k, t), -1.0), True),
    Head(
        "op_leaky",
        lambda k, t: k.ops.leaky_relu(tanh_of(k, t), negative_slope=0.1),
        True,
        Interval.open(-0.1, 1.0),
    ),
    Head("op_gelu", lambda k, t: k.ops.gelu(t["d"]), True),
    Head(
        "op_relu_max",
        lambda k, t: k.activations.relu(t["d"], max_value=3.0),
        True,
        Interval.closed(0.0, 3.0),
    ),
    Head(
        "op_maximum",
        lambda k, t: k.ops.maximum(tanh_of(k, t), 0.5),
        True,
        Interval(0.5, 1.0, True, False),
    ),
    Head(
        "op_concat",
        lambda k, t: k.ops.concatenate([sigmoid_of(k, t), tanh_of(k, t)], axis=-1),
        True,
    ),
    Head(
        "op_scaled",
        lambda k, t: k.ops.multiply(tanh_of(k, t), np.linspace(0.5, 2.0, WIDTH).astype("float32")),
        True,
        Interval.open(-2.0, 2.0),
    ),
    Head("op_power", lambda k, t: t["d"] ** 2, True, Interval(0.0, INF, True, False)),
    Head("op_softmax", lambda k, t: k.ops.softmax(t["d"]), True, Interval.open(0.0, 1.0)),
    # keras.activations.threshold cannot be a string activation: it has required arguments.
    Head(
        "op_threshold",
        lambda k, t: k.ops.threshold(t["d"], 0.5, -2.0),
        True,
        Interval(-2.0, INF, True, False),
    ),
]


def _sampling_layer(keras: Any) -> Any:
    class Sampling(keras.layers.Layer):  # defined in the test: its module is recorded as null
        def call(self, inputs: Any) -> Any:
            mean, log_var = inputs
            noise = keras.random.normal(keras.ops.shape(mean), seed=1)
            return mean + keras.ops.exp(0.5 * log_var) * noise

    return Sampling


def _scaled_tanh(keras: Any) -> Any:
    @keras.saving.register_keras_serializable(package="vaecheck_tests")
    def scaled_tanh(x: Any) -> Any:
        return 2.0 * keras.ops.tanh(x)

    return scaled_tanh


CUSTOM_HEADS = [  # the Sampling layer gets tanh outputs: exp(0.5 * 1000) would overflow to nan
    Head(
        "sampled",
        lambda k, t: _sampling_layer(k)()([tanh_of(k, t), tanh_of(k, t)]),
        expected="custom layer Sampling (module",
    ),
    Head(
        "decoded",
        lambda k, t: k.layers.Dense(8, activation="relu")(
            _sampling_layer(k)()([tanh_of(k, t), tanh_of(k, t)])
        ),
        expected=Interval(0.0, INF, True, False),
    ),
    Head(
        "custom_activation",
        lambda k, t: k.layers.Dense(4, activation=_scaled_tanh(k))(t["d"]),
        expected="custom activation 'vaecheck_tests>scaled_tanh'",
    ),
]


def sequence_inputs(keras: Any) -> tuple[Any, dict[str, Any]]:
    x = keras.Input((6, 4), name="x")
    return x, {"x": x, "d": x}


def lstm_state(index: int) -> Callable[..., Any]:
    return lambda k, t: k.layers.LSTM(5, return_state=True)(t["x"])[index]


SEQUENCE_STACKS = [
    Head("lstm", lambda k, t: k.layers.LSTM(5)(t["x"]), expected=Interval.open(-1.0, 1.0)),
    Head(
        "lstm_relu",
        lambda k, t: k.layers.LSTM(5, activation="relu")(t["x"]),
        expected=Interval(0.0, INF, True, False),
    ),
    Head("lstm_state_h", lstm_state(1), expected=Interval.open(-1.0, 1.0)),
    Head("lstm_state_c", lstm_state(2), expected=R),
    Head(
        "gru",
        lambda k, t: k.layers.GRU(5, return_sequences=True)(t["x"]),
        expected=Interval.open(-1.0, 1.0),
    ),
    Head(
        "simple_rnn_sigmoid",
        lambda k, t: k.layers.SimpleRNN(5, activation="sigmoid")(t["x"]),
        expected=Interval.open(0.0, 1.0),
    ),
    Head(
        "bidirectional_sum",
        lambda k, t: k.layers.Bidirectional(k.layers.LSTM(5), merge_mode="sum")(t["x"]),
        expected=Interval.open(-2.0, 2.0),
    ),
    Head(
        "bidirectional_mul",
        lambda k, t: k.layers.Bidirectional(k.layers.GRU(5), merge_mode="mul")(t["x"]),
        True,
        Interval.open(-1.0, 1.0),
    ),
    Head(
        "bidirectional_ave",
        lambda k, t: k.layers.Bidirectional(k.layers.SimpleRNN(5), merge_mode="ave")(t["x"]),
        True,
        Interval.open(-1.0, 1.0),
    ),
    Head(
        "bidirectional_concat",
        lambda k, t: k.layers.Bidirectional(k.layers.LSTM(5))(t["x"]),
        expected=Interval.open(-1.0, 1.0),
    ),
    Head(
        "bidirectional_none",  # both directions as separate outputs; here the backward one
        lambda k, t: k.layers.Bidirectional(
            k.layers.GRU(5), backward_layer=k.layers.GRU(5, activation="sigmoid", go_backwards=True),
            merge_mode=None,
        )(t["x"])[1],
        expected=Interval(0.0, 1.0, True, False),
    ),
    Head(
        "time_distributed",
        lambda k, t: k.layers.TimeDistributed(k.layers.Dense(3, activation="sigmoid"))(t["x"]),
        expected=Interval.open(0.0, 1.0),
    ),
    Head(
        "conv1d_pooled",
        lambda k, t: k.layers.GlobalAveragePooling1D()(
            k.layers.MaxPooling1D(2)(k.layers.Conv1D(3, 2, activation="tanh")(t["x"]))
        ),
        expected=Interval.open(-1.0, 1.0),
    ),
    Head(
        "cropped_upsampled",
        lambda k, t: k.layers.UpSampling1D(2)(
            k.layers.Cropping1D(1)(k.layers.Conv1D(3, 2, activation="softplus")(t["x"]))
        ),
        expected=Interval(0.0, INF, False, False),
    ),
    Head(
        "masked_lstm",
        lambda k, t: k.layers.LSTM(5, activation="sigmoid")(k.layers.Masking(0.0)(t["x"])),
        # o * sigmoid(c) lies in (0, 1); a sequence masked throughout keeps the zero state.
        expected=Interval(0.0, 1.0, True, False),
    ),
]


def image_inputs(keras: Any) -> tuple[Any, dict[str, Any]]:
    x = keras.Input((8, 8, 2), name="x")
    return x, {"x": x, "d": x}


IMAGE_STACKS = [
    Head(
        "bilinear",
        lambda k, t: k.layers.UpSampling2D(2, interpolation="bilinear")(
            k.layers.Conv2D(3, 3, padding="same", activation="sigmoid")(t["x"])
        ),
        expected=Interval.open(0.0, 1.0),
    ),
    # Kernels with negative lobes overshoot the input's range: by up to 0.14 of its span per
    # axis for bicubic at factor 2 (Keys a = -0.75, the worst backend), more for Lanczos.
    Head(
        "bicubic",
        lambda k, t: k.layers.UpSampling2D(2, interpolation="bicubic")(
            k.layers.Conv2D(3, 3, padding="same", activation="sigmoid")(t["x"])
        ),
        expected=Interval.closed(-0.32080078125, 1.32080078125),  # 2 * 9/64 * (1 + 9/64)
    ),
    Head(
        "lanczos5",
        lambda k, t: k.layers.UpSampling2D((3, 1), interpolation="lanczos5")(
            k.layers.Conv2D(3, 3, padding="same", activation="tanh")(t["x"])
        ),
        True,  # the overshoot bound is reached: Keras comes within 1% of both ends
    ),
    Head(
        "transposed_tanh",
        lambda k, t: k.layers.Conv2DTranspose(2, 3, strides=2, activation="tanh")(t["x"]),
        expected=Interval.open(-1.0, 1.0),
    ),
    Head(
        "pooled_padded",
        lambda k, t: k.layers.ZeroPadding2D(1)(
            k.layers.MaxPooling2D()(
                k.layers.AveragePooling2D(1)(k.layers.Conv2D(3, 3, activation="sigmoid")(t["x"]))
            )
        ),
        expected=Interval(0.0, 1.0, True, False),
    ),
    Head(
        "separable_relu6",
        lambda k, t: k.layers.Cropping2D(1)(
            k.layers.SeparableConv2D(2, 3, activation="relu6")(t["x"])
        ),
        expected=Interval.closed(0.0, 6.0),
    ),
    Head(
        "depthwise_softsign",
        lambda k, t: k.layers.DepthwiseConv2D(3, activation="softsign")(t["x"]),
        expected=Interval.open(-1.0, 1.0),
    ),
    Head(
        "softmax_channels",
        lambda k, t: k.layers.Softmax(axis=-1)(k.layers.Conv2D(4, 1)(t["x"])),
        expected=Interval.open(0.0, 1.0),
    ),
    Head(
        "softmax_rows",
        lambda k, t: k.layers.Softmax(axis=1)(k.layers.Conv2D(4, 1)(t["x"])),
        expected=Interval.open(0.0, 1.0),
    ),
    Head(
        "global_max",
        lambda k, t: k.layers.GlobalMaxPooling2D()(k.layers.Conv2D(2, 3, activation="elu")(t["x"])),
        expected=Interval(-1.0, INF, False, False),
    ),
]


def _tf(keras: Any) -> Any:
    import tensorflow as tf

    return tf


KERAS2_STACKS = shared_stacks(Interval.open(0.3, 0.7)) + [  # clip(0.2x + 0.5, 0, 1)
    Head(
        "tf_affine",
        lambda k, t: _tf(k).math.sigmoid(t["d"]) * 2.0 - 1.0,
        True,
        Interval.open(-1.0, 1.0),
    ),
    Head("tf_reversed", lambda k, t: 2.0 - _tf(k).math.tanh(t["d"]), True, Interval.open(1.0, 3.0)),
    Head(
        "tf_clip",
        lambda k, t: _tf(k).clip_by_value(t["d"], -0.5, 0.5),
        True,
        Interval.closed(-0.5, 0.5),
    ),
    Head("tf_abs", lambda k, t: _tf(k).abs(tanh_of(k, t)), True),
    Head("tf_square", lambda k, t: _tf(k).math.square(tanh_of(k, t)), True),
    Head(
        "tf_exp", lambda k, t: _tf(k).exp(tanh_of(k, t)), True, Interval.open(math.exp(-1), math.e)
    ),
    Head(
        "tf_leaky",
        lambda k, t: _tf(k).nn.leaky_relu(tanh_of(k, t), alpha=0.1),
        True,
        Interval.open(-0.1, 1.0),
    ),
    Head("tf_added", lambda k, t: tanh_of(k, t) + sigmoid_of(k, t), True, Interval.open(-1.0, 2.0)),
    Head("tf_scaled", lambda k, t: 3.0 * sigmoid_of(k, t), True, Interval.open(0.0, 3.0)),
    Head("tf_concat", lambda k, t: _tf(k).concat([tanh_of(k, t), sigmoid_of(k, t)], axis=-1), True),
    Head("tf_softmax", lambda k, t: _tf(k).nn.softmax(t["d"]), True, Interval.open(0.0, 1.0)),
    Head("tf_relu6", lambda k, t: _tf(k).nn.relu6(t["d"]), True, Interval.closed(0.0, 6.0)),
]


KERAS2_SEQUENCES = [  # the same layers, built with tf_keras
    head
    for head in SEQUENCE_STACKS
    if head.name
    in {"lstm", "lstm_relu", "lstm_state_c", "gru", "bidirectional_sum", "time_distributed"}
]


def masked_sequences() -> np.ndarray:
    data = random_inputs((6, 4))
    data[::5, 3:] = 0.0  # whole steps at the mask value, for the Masking head
    return data


@dataclass(frozen=True)
class Suite:
    """One saved multi-output model: its heads, inputs, data and file format."""

    file: str
    heads: Sequence[Head]
    inputs: Callable[[Any], Any]
    data: Callable[[], np.ndarray]
    suffix: str = ".keras"
    tf_keras: bool = False
    single_activations: bool = False  # every head is one activation: all must be tight


SUITES = {
    "keras3_activations": Suite(
        "ops_activations",
        KERAS3_ACTIVATION_HEADS,
        grid_model_inputs,
        grid_inputs,
        single_activations=True,
    ),
    "keras3_activations_h5": Suite(
        "ops_activations",
        KERAS3_ACTIVATION_HEADS,
        grid_model_inputs,
        grid_inputs,
        ".h5",
        single_activations=True,
    ),
    "keras2_activations": Suite(
        "ops_activations",
        KERAS2_ACTIVATION_HEADS,
        grid_model_inputs,
        grid_inputs,
        tf_keras=True,
        single_activations=True,
    ),
    "keras3_dense_stacks": Suite(
        "ops_dense_stacks", DENSE_STACKS + CUSTOM_HEADS, grid_model_inputs, grid_inputs
    ),
    "keras3_sequences": Suite(
        "ops_sequence_stacks", SEQUENCE_STACKS, sequence_inputs, masked_sequences
    ),
    "keras3_images": Suite(
        "ops_image_stacks", IMAGE_STACKS, image_inputs, lambda: random_inputs((8, 8, 2))
    ),
    "keras2_dense_stacks": Suite(
        "ops_dense_stacks", KERAS2_STACKS, grid_model_inputs, grid_inputs, tf_keras=True
    ),
    "keras2_sequences": Suite(
        "ops_sequence_stacks",
        KERAS2_SEQUENCES,
        sequence_inputs,
        lambda: random_inputs((6, 4)),
        tf_keras=True,
    ),
}


class Suites:
    """Each suite built, saved, read back and run once per session, on first use."""

    def __init__(self, saved_models: Any) -> None:
        self.saved_models = saved_models
        self.checked: dict[str, Checked] = {}

    def __getitem__(self, key: str) -> Checked:
        if key not in self.checked:
            suite = SUITES[key]
            self.checked[key] = check_model(
                self.saved_models,
                suite.file,
                suite.heads,
                suite.inputs,
                suite.data(),
                suite.suffix,
                suite.tf_keras,
            )
        return self.checked[key]


@pytest.fixture(scope="session")
def suites(saved_models: Any) -> Suites:
    return Suites(saved_models)


@pytest.mark.parametrize(
    ("suite", "name"), [(key, head.name) for key, suite in SUITES.items() for head in suite.heads]
)
def test_what_keras_outputs_lies_in_the_computed_range(
    suites: Suites, suite: str, name: str
) -> None:
    verify(suites[suite], name, activation_model=SUITES[suite].single_activations)


@pytest.mark.parametrize("name", [head.name for head in KERAS3_ACTIVATION_HEADS])
def test_keras3_h5_reads_the_same_codomains_as_keras(suites: Suites, name: str) -> None:
    from_h5, from_keras = (
        suites["keras3_activations_h5"].codomains[name],
        suites["keras3_activations"].codomains[name],
    )
    assert (from_h5.interval, from_h5.notes, from_h5.simplex_axis) == (
        from_keras.interval,
        from_keras.notes,
        from_keras.simplex_axis,
    )


def test_softmax_outputs_carry_the_axis_they_sum_over(suites: Suites) -> None:
    images = suites["keras3_images"].codomains
    assert (images["softmax_channels"].simplex_axis, images["softmax_rows"].simplex_axis) == (-1, 1)
    assert suites["keras3_activations"].codomains["softmax"].simplex_axis == -1
    assert suites["keras3_images"].codomains["global_max"].simplex_axis is None


def test_during_an_evaluation_an_activation_named_by_many_layers_is_resolved_once():
    from vaecheck.ranges.activations import Activation, kept_activations, resolve_activation

    assert resolve_activation("tanh", 3) is not resolve_activation("tanh", 3)  # nothing outlives
    with kept_activations():
        tanh = resolve_activation("tanh", 3)
        assert isinstance(tanh, Activation) and resolve_activation("tanh", 3) is tanh
        assert resolve_activation("tanh", 2) is not tanh  # another Keras, another resolution
        real, unit = Interval(-math.inf, math.inf, False, False), Interval(0.0, 1.0)
        for _ in range(2):  # the second round reads what the first kept
            assert tanh.image(real, None).interval == Interval(-1.0, 1.0, False, False)
            assert tanh.image(unit, None).interval == Interval(0.0, math.tanh(1.0))
        relu = resolve_activation("relu", 3)
        assert relu.image(real, None).interval == Interval(0.0, math.inf, True, False)
        # Keras 2 and 3 define hard_sigmoid apart (0.2x + 0.5 against relu6(x + 3) / 6).
        near_one = Interval(0.0, 2.75)
        assert resolve_activation("hard_sigmoid", 3).image(near_one, None).interval == Interval(0.5, 5.75 / 6)
        assert resolve_activation("hard_sigmoid", 2).image(near_one, None).interval == Interval(0.5, 1.0)
        assert resolve_activation("hard_sigmoid", 3) is resolve_activation("hard_sigmoid", 3)
    assert resolve_activation("tanh", 3) is not tanh  # the evaluation is over


def test_a_model_evaluation_resolves_each_named_activation_once(monkeypatch):
    from vaecheck.ranges import activations

    resolved = []
    real = activations.named_activation
    monkeypatch.setattr(
        activations, "named_activation", lambda *args: resolved.append(args[0]) or real(*args)
    )
    codomain = chain(*[dense("tanh") for _ in range(30)])
    assert codomain.interval == Interval(-1.0, 1.0, False, False)
    assert resolved == ["tanh"]


def test_an_activation_keeps_the_images_of_its_first_64_intervals():
    from vaecheck.ranges.activations import MAX_KEPT_IMAGES, resolve_activation

    sigmoid = resolve_activation({"class_name": "function", "config": "sigmoid", "module": "keras.activations"}, 3)
    intervals = [Interval(0.0, i / 16) for i in range(1, MAX_KEPT_IMAGES + 3)]
    first = [sigmoid.image(interval, None) for interval in intervals]
    again = [sigmoid.image(interval, None) for interval in intervals]
    kept = [a is b for a, b in zip(first, again)]
    assert MAX_KEPT_IMAGES == 64 and kept == [True] * 64 + [False] * 2
    assert [image.interval for image in again] == [image.interval for image in first]
    assert again[-1].interval == Interval(0.5, 1.0 / (1.0 + math.exp(-66 / 16)))

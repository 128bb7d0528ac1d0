"""Soundness, proven against Keras: random models from the supported vocabulary, saved, read back
statically with their weights, and run by Keras on inputs at scales 1, 10 and 1000.

Every output value Keras produces must lie in the computed range (closed, give or take a few
float32 ulps: float32 saturates, and a sum rounds; see `rounding_slack`). A violation is a bug
in vaecheck.

The suite runs a few models (marker `soundness`); the full proof runs many more:

    VAECHECK_SOUNDNESS_EXAMPLES=250 .venv/bin/python -m pytest tests/test_soundness.py -s

which prints how many models were built and checked, and how many output values. The models
are the same every run; VAECHECK_SOUNDNESS_SEED=<n> draws others, and
VAECHECK_SOUNDNESS_VERBOSE=1 lists the outputs where Keras produced nan (such samples are
skipped: a range is about real numbers, and nan comes from inf - inf or 0 * inf after a float32
overflow).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from vaecheck.codomain import Codomain
from vaecheck.intervals import INF

EXAMPLES = int(os.environ.get("VAECHECK_SOUNDNESS_EXAMPLES", "12"))
SEED = os.environ.get("VAECHECK_SOUNDNESS_SEED")  # other models than the fixed default ones
SCALES = (1.0, 10.0, 1000.0)
ULPS = 8
FLOAT32_EPS = float(np.finfo(np.float32).eps)

pytestmark = pytest.mark.soundness

# The vocabulary -----------------------------------------------------------------------------------
ACTIVATIONS = [
    "relu", "relu6", "leaky_relu", "elu", "selu", "celu", "gelu", "silu", "hard_silu", "mish",
    "softplus", "softsign", "sigmoid", "hard_sigmoid", "sparse_sigmoid", "tanh", "hard_tanh",
    "tanh_shrink", "softmax", "log_softmax", "sparsemax", "log_sigmoid", "exponential",
    "sparse_plus", "squareplus", "soft_shrink", "hard_shrink", "linear", None,
]  # fmt: skip
# glu is left out: Keras sizes the next layer for the unhalved output, so a model with glu
# anywhere but at its end cannot run (test_ops checks glu as a final activation).
MERGES = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate"]
UNARY_OPS = ["abs", "exp", "tanh", "sigmoid", "relu", "negative", "square", "softplus"]
CONSTANT_OPS = ["multiply", "add", "subtract", "rsubtract", "divide", "maximum", "minimum"]

Stage = tuple[str, dict[str, Any]]
numbers = st.floats(-3.0, 3.0, allow_nan=False).map(lambda v: round(v, 3))
positive = st.floats(0.05, 3.0, allow_nan=False).map(lambda v: round(v, 3))


def leaf_stages(image: bool) -> list[st.SearchStrategy[Stage]]:
    """One strategy per kind of stage, so that each kind comes up about as often."""
    activation = st.sampled_from(ACTIVATIONS)
    leaves = [
        st.builds(
            lambda units, a, bias: ("Dense", {"units": units, "activation": a, "use_bias": bias}),
            st.integers(1, 5), activation, st.booleans(),
        ),
        st.builds(
            lambda m, s, t: ("ReLU", {"max_value": m, "negative_slope": s, "threshold": t}),
            st.one_of(st.none(), positive.map(lambda v: v * 2)),
            st.sampled_from([0.0, 0.1, 0.5]),
            st.sampled_from([0.0, 0.0, 0.5, 1.0]),
        ),
        st.builds(lambda s: ("LeakyReLU", {"negative_slope": s}), st.sampled_from([0.0, 0.1, 0.3])),
        st.builds(lambda a: ("ELU", {"alpha": a}), positive),
        st.just(("Softmax", {})),
        st.just(("PReLU", {})),
        st.builds(lambda a: ("Activation", {"activation": a}), st.sampled_from(ACTIVATIONS[:-1])),
        st.builds(
            lambda scale, offset, per_channel: (
                "Rescaling", {"scale": scale, "offset": offset, "per_channel": per_channel}
            ),
            numbers, numbers, st.booleans(),
        ),
        st.builds(
            lambda mean, variance, invert: (
                "NormalizationConfig", {"mean": mean, "variance": variance, "invert": invert}
            ),
            numbers, positive, st.booleans(),
        ),
        st.builds(lambda invert: ("NormalizationAdapted", {"invert": invert}), st.booleans()),
        st.builds(
            lambda center, scale, epsilon: (
                "BatchNormalization", {"center": center, "scale": scale, "epsilon": epsilon}
            ),
            st.booleans(), st.booleans(), st.sampled_from([1e-3, 1e-5, 0.1]),
        ),
        st.builds(lambda op: ("unary", {"op": op}), st.sampled_from(UNARY_OPS)),
        st.builds(
            lambda op, c: ("constant", {"op": op, "value": c}), st.sampled_from(CONSTANT_OPS), numbers
        ),
        st.builds(lambda a, b: ("clip", {"low": min(a, b), "high": max(a, b)}), numbers, numbers),
        st.builds(
            lambda m, i: ("merge", {"kind": m, "partner": i}), st.sampled_from(MERGES), st.integers(0, 9)
        ),
    ]
    if image:
        leaves += [
            st.builds(
                lambda f, k, pad, a: ("Conv2D", {"filters": f, "kernel_size": k, "padding": pad, "activation": a}),
                st.integers(1, 3), st.integers(1, 3), st.sampled_from(["valid", "same"]), activation,
            ),
            st.builds(
                lambda f, s, a: ("Conv2DTranspose", {"filters": f, "kernel_size": 2, "strides": s, "activation": a}),
                st.integers(1, 3), st.integers(1, 2), activation,
            ),
            st.builds(
                lambda pad, a: ("DepthwiseConv2D", {"kernel_size": 2, "padding": pad, "activation": a}),
                st.sampled_from(["valid", "same"]), activation,
            ),
            st.builds(
                lambda f, a: ("SeparableConv2D", {"filters": f, "kernel_size": 2, "padding": "same", "activation": a}),
                st.integers(1, 3), activation,
            ),
            st.sampled_from([("MaxPooling2D", {}), ("AveragePooling2D", {})]),
            st.just(("ZeroPadding2D", {})),
            st.builds(
                lambda i: ("UpSampling2D", {"interpolation": i}),
                st.sampled_from(["nearest", "bilinear", "bicubic", "lanczos3"]),
            ),
        ]
    return leaves


def stage(image: bool, depth: int = 0) -> st.SearchStrategy[Stage]:
    leaves = leaf_stages(image)
    if depth < 2:
        inner = st.lists(st.deferred(lambda: stage(image, depth + 1)), min_size=1, max_size=3)
        leaves.append(
            st.builds(lambda stages, seq: ("nested", {"stages": stages, "sequential": seq}), inner, st.booleans())
        )
    return st.one_of(*leaves)


@dataclass(frozen=True)
class Recipe:
    image: bool
    width: int
    stages: tuple[Stage, ...]
    second_output: int | None
    suffix: str
    seed: int


recipes = st.booleans().flatmap(
    lambda image: st.builds(
        Recipe,
        st.just(image),
        st.integers(2, 4) if image else st.integers(1, 5),
        st.lists(stage(image), min_size=1, max_size=8).map(tuple),
        st.one_of(st.none(), st.integers(0, 9)),
        st.sampled_from([".keras", ".keras", ".keras", ".h5"]),
        st.integers(0, 2**16),
    )
)


# Building a recipe into a real Keras model --------------------------------------------------------
@dataclass
class Built:
    keras: Any
    rng: np.random.Generator
    counter: int = 0
    after: list[Callable[[], None]] = field(default_factory=list)  # weights set once built

    exps: int = 0

    def tamed(self, function: str | None) -> str | None:
        """One exp per model: float32 rounding amplified through exp(exp(x)) grows past any
        few-ulp tolerance (a relative 1e-6), which says nothing about the range engine."""
        if function in ("exp", "exponential"):
            self.exps += 1
            if self.exps > 1:
                return "tanh"
        return function

    def name(self, kind: str) -> str:
        self.counter += 1
        return f"l{self.counter}_{kind.lower()}"  # never a name Keras gives an op


def _sequential_friendly(stages: tuple[Stage, ...] | list[Stage]) -> bool:
    return all(kind not in ("merge", "unary", "constant", "clip", "nested") for kind, _ in stages)


def apply_stages(built: Built, x: Any, stages: Any, pool: list[Any]) -> Any:
    for kind, params in stages:
        x = apply_stage(built, x, kind, params, pool)
        pool.append(x)
    return x


def apply_stage(built: Built, x: Any, kind: str, params: dict[str, Any], pool: list[Any]) -> Any:
    keras = built.keras
    ops, layers = keras.ops, keras.layers
    shape = tuple(x.shape[1:])
    if kind == "nested":
        stages = params["stages"]
        inner_input = keras.Input(shape)
        if params["sequential"] and _sequential_friendly(stages):
            model_layers = []
            current = inner_input
            for inner_kind, inner_params in stages:
                layer = layer_for(built, inner_kind, inner_params, tuple(current.shape[1:]))
                if layer is not None:
                    model_layers.append(layer)
                    current = layer(current)
            if not model_layers:
                return x
            model = keras.Sequential([keras.Input(shape), *model_layers], name=built.name("seq"))
            return model(x)
        inner_output = apply_stages(built, inner_input, stages, [inner_input])
        if inner_output is inner_input:
            return x
        return keras.Model(inner_input, inner_output, name=built.name("sub"))(x)
    if kind == "merge":
        partners = [t for t in pool if tuple(t.shape[1:]) == shape and t is not x]
        if not partners:
            return x
        partner = partners[params["partner"] % len(partners)]
        return getattr(layers, params["kind"])(name=built.name(params["kind"]))([x, partner])
    if kind == "unary":
        return getattr(ops, built.tamed(params["op"]))(x)
    if kind == "constant":
        c, op = params["value"], params["op"]
        if op == "divide":
            return x / (c if abs(c) > 0.05 else 0.5)
        if op == "rsubtract":
            return c - x
        return getattr(ops, op)(x, c)
    if kind == "clip":
        return ops.clip(x, params["low"], params["high"])
    layer = layer_for(built, kind, params, shape)
    return x if layer is None else layer(x)


IMAGE_LAYERS = frozenset(
    """Conv2D Conv2DTranspose DepthwiseConv2D SeparableConv2D MaxPooling2D AveragePooling2D
    ZeroPadding2D UpSampling2D""".split()
)


def layer_for(built: Built, kind: str, params: dict[str, Any], shape: tuple[int, ...]) -> Any:
    """The layer a stage stands for on an input of `shape`, or None where it does not fit."""
    keras, rng = built.keras, built.rng
    layers = keras.layers
    channels = shape[-1]
    name = built.name(kind)
    params = dict(params)
    if "activation" in params:
        params["activation"] = built.tamed(params["activation"])
    if kind in IMAGE_LAYERS:
        if len(shape) != 3:
            return None
        side = min(shape[:2])
        if kind in ("MaxPooling2D", "AveragePooling2D") and side < 2:
            return None
        if kind in ("UpSampling2D", "Conv2DTranspose") and max(shape[:2]) > 8:
            return None
        if params.get("padding", "same") == "valid" and side < params.get("kernel_size", 1):
            return None
    if kind == "Dense":
        return layers.Dense(**params, name=name)
    if kind in ("ReLU", "LeakyReLU", "ELU", "Softmax", "Activation"):
        return getattr(layers, kind)(**params, name=name)
    if kind == "PReLU":
        layer = layers.PReLU(name=name)
        built.after.append(
            lambda: layer.set_weights([rng.uniform(-1.5, 1.5, layer.get_weights()[0].shape)])
        )
        return layer
    if kind == "Rescaling":
        scale = params["scale"]
        if params["per_channel"]:
            scale = np.round(rng.uniform(-3, 3, channels), 3).tolist()
        return layers.Rescaling(scale, params["offset"], name=name)
    if kind == "NormalizationConfig":
        return layers.Normalization(
            mean=params["mean"], variance=params["variance"], invert=params["invert"], name=name
        )
    if kind == "NormalizationAdapted":
        layer = layers.Normalization(invert=params["invert"], name=name)
        sample = rng.standard_normal((32, *shape)) * rng.uniform(0.1, 3) + rng.uniform(-2, 2)
        layer.adapt(sample.astype("float32"))
        return layer
    if kind == "BatchNormalization":
        layer = layers.BatchNormalization(**params, name=name)

        def set_statistics() -> None:
            size = layer.get_weights()[-1].shape
            weights = []
            if params["scale"]:
                weights.append(rng.uniform(-2, 2, size))  # negative gamma flips a channel
            if params["center"]:
                weights.append(rng.uniform(-2, 2, size))
            weights += [rng.uniform(-2, 2, size), rng.uniform(0.0, 3.0, size)]
            layer.set_weights([w.astype("float32") for w in weights])

        built.after.append(set_statistics)
        return layer
    if kind in ("Conv2D", "Conv2DTranspose", "DepthwiseConv2D", "SeparableConv2D"):
        return getattr(layers, kind)(**params, name=name)
    if kind in ("MaxPooling2D", "AveragePooling2D"):
        return getattr(layers, kind)(2, padding="same", name=name)
    if kind == "ZeroPadding2D":
        return layers.ZeroPadding2D(1, name=name)
    if kind == "UpSampling2D":
        return layers.UpSampling2D(2, **params, name=name)
    raise AssertionError(f"no layer for {kind}")


def build_model(keras: Any, recipe: Recipe) -> tuple[Any, list[Any]]:
    keras.utils.set_random_seed(recipe.seed)
    built = Built(keras, np.random.default_rng(recipe.seed))
    shape = (recipe.width + 2, recipe.width + 2, 2) if recipe.image else (recipe.width,)
    x = keras.Input(shape, name="x")
    pool: list[Any] = [x]
    first = keras.layers.Dense(shape[-1], name="pre")(x)  # a real-line start, as a model has
    pool.append(first)
    output = apply_stages(built, first, recipe.stages, pool)
    outputs = [output]
    if recipe.second_output is not None:
        other = pool[2 + recipe.second_output % max(1, len(pool) - 2)] if len(pool) > 2 else None
        if other is not None and other is not output:
            outputs.append(other)
    # A named linear Activation gives each output its own layer, whatever produced it.
    outputs = [keras.layers.Activation("linear", name=f"out_{k}")(o) for k, o in enumerate(outputs)]
    model = keras.Model(x, outputs)
    for setter in built.after:
        setter()
    return model, outputs


def model_inputs(shape: tuple[int, ...], seed: int) -> np.ndarray:
    """Gaussian rows, and rows of ± signs that push saturating layers into their corners."""
    rng = np.random.default_rng(seed)
    gaussian = rng.standard_normal((24, *shape))
    signs = rng.choice([-1.0, 1.0], size=(40, *shape))
    base = np.concatenate([gaussian, signs])
    return np.concatenate([base * s for s in SCALES]).astype(np.float32)


# The property ------------------------------------------------------------------------------------
@dataclass
class Tally:
    models: int = 0
    outputs: int = 0
    bounded: int = 0  # outputs with two finite ends
    from_weights: int = 0  # outputs with an end from the saved weights
    values: int = 0
    nan_values: int = 0
    formats: dict[str, int] = field(default_factory=dict)
    nan_sources: list[str] = field(default_factory=list)


TALLY = Tally()


@pytest.fixture(scope="module")
def tally() -> Any:
    yield TALLY
    print(
        f"\nsoundness: {TALLY.models} models ({TALLY.formats}), {TALLY.outputs} outputs "
        f"({TALLY.bounded} bounded, {TALLY.from_weights} with ends from saved weights), "
        f"{TALLY.values:,} output values checked, {TALLY.nan_values:,} values of samples with nan skipped"
    )
    if os.environ.get("VAECHECK_SOUNDNESS_VERBOSE"):
        print("\n".join(TALLY.nan_sources))


def rounding_slack(end: float) -> float:
    """How far float32 rounding can carry a computed value past a real-number end: a few ulps,
    times ln|end| for large ends, since a value M can come out of exp(ln M), whose argument's
    own rounding (ln M ulps of 1) becomes a relative error of ln M ulps."""
    if not math.isfinite(end):
        return 0.0
    magnitude = max(1.0, abs(end))
    return ULPS * FLOAT32_EPS * magnitude * max(1.0, math.log(magnitude))


def assert_inside(codomain: Codomain, values: np.ndarray, what: str) -> None:
    interval = codomain.interval
    assert interval is not None, f"{what}: unknown at {codomain.unknown_at}: {codomain.unknown_reason}"
    finite = values[np.isfinite(values)]
    infinite = values[np.isinf(values)]
    assert all((v > 0 and interval.high == INF) or (v < 0 and interval.low == -INF) for v in infinite), (
        f"{what}: Keras gave {infinite[:3]} for {interval}"
    )
    if finite.size == 0:
        return
    low_slack, high_slack = rounding_slack(interval.low), rounding_slack(interval.high)
    assert finite.min() >= interval.low - low_slack, (
        f"{what}: Keras gave {finite.min()!r}, below {interval} ({codomain.describe_bound()})"
    )
    assert finite.max() <= interval.high + high_slack, (
        f"{what}: Keras gave {finite.max()!r}, above {interval} ({codomain.describe_bound()})"
    )


@hypothesis_seed(int(SEED) if SEED else 0)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not SEED,  # the same models every run, unless a seed asks for others
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
@given(recipe=recipes)
def test_keras_outputs_lie_in_the_static_range(
    recipe: Recipe, tmp_path_factory: pytest.TempPathFactory, tally: Tally
) -> None:
    import keras

    from vaecheck.ranges.evaluate import output_codomains
    from vaecheck.readers.model import read_model
    from vaecheck.readers.weights import open_weights

    model, _ = build_model(keras, recipe)
    path = Path(tmp_path_factory.mktemp("soundness")) / f"model{recipe.suffix}"
    model.save(path)
    model_file = read_model(path)
    weights = open_weights(str(path), model_file.format, model_file.config, model_file.keras_version)
    try:
        codomains = output_codomains(model_file.graph, model_file.keras_version, weights)
    finally:
        weights.close()
    data = model_inputs(tuple(model.input.shape[1:]), recipe.seed)
    results = model(data, training=False)
    outputs = [np.asarray(r, dtype=np.float64) for r in (results if isinstance(results, (list, tuple)) else [results])]
    assert len(codomains) == len(outputs)
    # A sample whose output holds nan went through an overflow (exp(1000) is inf, inf * 0 and
    # inf - inf are nan). A range is about real numbers; past an overflow, what a softmax makes
    # of a nan is not, so such samples are left out, all their values, and counted.
    overflowed = np.zeros(len(data), dtype=bool)
    for result in outputs:
        overflowed |= np.isnan(result.reshape(len(data), -1)).any(axis=1)
    for (name, codomain), result in zip(codomains.items(), outputs):
        kept = result.reshape(len(data), -1)[~overflowed].ravel()
        skipped = result.size - kept.size
        tally.nan_values += skipped
        if skipped:
            tally.nan_sources.append(f"{skipped} values in nan samples, range {codomain.interval}: {recipe}")
        tally.values += kept.size
        tally.outputs += 1
        tally.bounded += bool(codomain.interval is not None and codomain.interval.is_bounded)
        tally.from_weights += bool(codomain.saved_weights)
        assert_inside(codomain, kept, f"{recipe} output {name}")
    tally.models += 1
    tally.formats[recipe.suffix] = tally.formats.get(recipe.suffix, 0) + 1

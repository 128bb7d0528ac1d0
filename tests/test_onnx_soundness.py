"""Soundness of the ONNX ranges against what onnxruntime computes, and their tightness.

A hypothesis property builds random graphs from the supported operators with onnx.helper,
random initializers included, runs each with onnxruntime on standard normal inputs scaled x1,
x10 and x1000, and checks that every value lies inside the range vaecheck reports. The count is
VAECHECK_ONNX_EXAMPLES (default 200; 60 when CI is set, derandomized there).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
import onnx  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from onnx_graphs import model, run, save, single  # noqa: E402
from vaecheck.pipeline import _candidates  # noqa: E402
from vaecheck.codomain import Codomain  # noqa: E402
from vaecheck.readers.model import read_model  # noqa: E402

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
EXAMPLES = int(os.environ.get("VAECHECK_ONNX_EXAMPLES", "60" if IN_CI else "200"))
SCALES = (1.0, 10.0, 1000.0)

ACTIVATIONS: list[tuple[str, dict[str, Any]]] = [
    ("Relu", {}), ("LeakyRelu", {"alpha": 0.1}), ("Elu", {"alpha": 0.5}), ("Selu", {}),
    ("Celu", {"alpha": 2.0}), ("Sigmoid", {}), ("HardSigmoid", {"alpha": 0.3, "beta": 0.4}),
    ("HardSwish", {}), ("Tanh", {}), ("Softplus", {}), ("Softsign", {}), ("Gelu", {}),
    ("Gelu", {"approximate": "tanh"}), ("Mish", {}), ("Softmax", {}), ("LogSoftmax", {}),
    ("Exp", {}), ("Erf", {}), ("Abs", {}),
]  # fmt: skip
FLAT_LAYERS = [
    "act", "act", "act", "gemm", "matmul", "add", "sub", "mul", "div", "clip", "prelu",
    "layernorm", "batchnorm", "concat", "pad", "identity", "gather", "reshape", "transpose",
]  # fmt: skip
IMAGE_LAYERS = [
    "act", "act", "conv", "convtranspose", "instancenorm", "avgpool", "maxpool", "resize",
    "add", "mul", "clip", "globalpool",
]  # fmt: skip


class Builder:
    def __init__(self, seed: int, image: bool) -> None:
        self.rng = np.random.default_rng(seed)
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.count = 0
        self.tensor = "x"
        self.image = image
        self.shape: list[int] = [0, 2, 5, 5] if image else [0, 4]
        self.initial_shape = list(self.shape)

    def name(self, base: str) -> str:
        self.count += 1
        return f"{base}{self.count}"

    def const(self, values: Any, dtype: Any = np.float32) -> str:
        name = self.name("c")
        self.initializers.append(numpy_helper.from_array(np.asarray(values, dtype=dtype), name))
        return name

    def weights(self, *shape: int) -> np.ndarray:
        return (self.rng.standard_normal(shape) * self.rng.choice([0.1, 1.0, 5.0])).astype(np.float32)

    def node(self, op: str, inputs: list[str], **attributes: Any) -> None:
        out = self.name("t")
        self.nodes.append(helper.make_node(op, inputs, [out], name=self.name(op), **attributes))
        self.tensor = out

    def add(self, layer: str, choice: int) -> None:
        x, rng = self.tensor, self.rng
        features = self.shape[1]
        if self.image and layer in ("conv", "avgpool", "maxpool") and self.shape[2] < 4:
            layer = "resize"  # the image would shrink to nothing
        if self.image and self.shape[2] > 24 and layer in ("resize", "convtranspose"):
            layer = "act"  # keep it small
        if layer == "act":
            op, attributes = ACTIVATIONS[choice % len(ACTIVATIONS)]
            if op in ("Softmax", "LogSoftmax") and self.image:
                attributes = {"axis": 1}
            self.node(op, [x], **attributes)
        elif layer in ("gemm", "matmul"):
            width = int(rng.integers(1, 6))
            if layer == "gemm":
                trans = bool(choice % 2)
                w = self.weights(width, features) if trans else self.weights(features, width)
                self.node("Gemm", [x, self.const(w), self.const(self.weights(width))], transB=int(trans), alpha=float(rng.choice([1.0, 0.5])))
            else:
                self.node("MatMul", [x, self.const(self.weights(features, width))])
            self.shape = [0, width]
        elif layer in ("add", "sub", "mul", "div"):
            shape = [features] if not self.image else [features, 1, 1]
            values = self.weights(*shape)
            if layer == "div":
                values = np.where(np.abs(values) < 0.05, 0.5, values).astype(np.float32)
            operands = [x, self.const(values)] if choice % 2 == 0 or layer == "div" else [self.const(values), x]
            self.node(layer.capitalize(), operands)
        elif layer == "clip":
            low = float(rng.uniform(-3, 1))
            high = low + float(rng.uniform(0.1, 4))
            inputs = [x, self.const(low), self.const(high)] if choice % 3 else [x, self.const(low)]
            self.node("Clip", inputs)
        elif layer == "prelu":
            self.node("PRelu", [x, self.const(self.weights(features))])
        elif layer == "layernorm":
            self.node("LayerNormalization", [x, self.const(self.weights(features)), self.const(self.weights(features))], axis=-1)
        elif layer == "batchnorm":
            variance = np.abs(self.weights(features)) + 0.1
            self.node("BatchNormalization", [x, self.const(self.weights(features)), self.const(self.weights(features)), self.const(self.weights(features)), self.const(variance)])
        elif layer == "concat":
            self.node("Concat", [x, x] if choice % 2 else [x, x, x], axis=1)
            self.shape = [0, features * (2 if choice % 2 else 3), *self.shape[2:]]
        elif layer == "pad":
            value = float(rng.uniform(-5, 5))
            self.node("Pad", [x, self.const([0, 1, 0, 2], np.int64), self.const(value)], mode="constant")
            self.shape = [0, features + 3]
        elif layer == "identity":
            self.node(["Identity", "Dropout", "Cast"][choice % 3], [x], **({"to": TensorProto.FLOAT} if choice % 3 == 2 else {}))
        elif layer == "gather":
            indices = rng.integers(0, features, size=2)
            self.node("Gather", [x, self.const(indices, np.int64)], axis=1)
            self.shape = [0, 2]
        elif layer == "reshape":
            self.node("Reshape", [x, self.const([-1, features], np.int64)])
        elif layer == "transpose":
            self.node("Transpose", [x], perm=[0, 1])
        elif layer == "conv":
            k = [1, 3][choice % 2]
            out = int(rng.integers(1, 4))
            pads = [1, 1, 1, 1] if k == 3 and choice % 3 else [0, 0, 0, 0]
            self.node("Conv", [x, self.const(self.weights(out, features, k, k)), self.const(self.weights(out))], pads=pads, kernel_shape=[k, k])
            side = self.shape[2] - k + 1 + (2 if pads[0] else 0)
            self.shape = [0, out, side, side]
        elif layer == "convtranspose":
            k = [2, 3][choice % 2]
            stride = [1, 2][(choice // 2) % 2]
            out = int(rng.integers(1, 3))
            self.node("ConvTranspose", [x, self.const(self.weights(features, out, k, k)), self.const(self.weights(out))], strides=[stride, stride], kernel_shape=[k, k])
            side = (self.shape[2] - 1) * stride + k
            self.shape = [0, out, side, side]
        elif layer == "instancenorm":
            self.node("InstanceNormalization", [x, self.const(self.weights(features)), self.const(self.weights(features))])
        elif layer in ("avgpool", "maxpool"):
            padded = bool(choice % 2)
            attributes: dict[str, Any] = {"kernel_shape": [2, 2], "pads": [1, 1, 1, 1] if padded else [0, 0, 0, 0]}
            if layer == "avgpool":
                attributes["count_include_pad"] = (choice // 2) % 2
            self.node("AveragePool" if layer == "avgpool" else "MaxPool", [x], **attributes)
            self.shape = [0, features, self.shape[2] + (1 if padded else -1), self.shape[3] + (1 if padded else -1)]
        elif layer == "globalpool":
            self.node("GlobalAveragePool", [x])
            self.shape = [0, features, 1, 1]
        elif layer == "resize":
            mode = ["nearest", "linear", "cubic", "cubic"][choice % 4]
            attributes = {"mode": mode}
            if mode == "cubic":
                attributes["cubic_coeff_a"] = [-0.75, -0.5][(choice // 4) % 2]
                attributes["exclude_outside"] = (choice // 8) % 2
            self.node("Resize", [x, "", self.const([1, 1, 2, 2])], **attributes)
            self.shape = [0, features, self.shape[2] * 2, self.shape[3] * 2]
        else:
            raise AssertionError(layer)

    def build(self) -> Any:
        shape: list[int | str] = ["N", *self.initial_shape[1:]]
        graph = helper.make_graph(
            self.nodes,
            "random",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
            [helper.make_tensor_value_info(self.tensor, TensorProto.FLOAT, None)],
            self.initializers,
        )
        built = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
        built.ir_version = 9
        return built


def random_graph(seed: int, image: bool, layers: list[tuple[str, int]]) -> Any:
    builder = Builder(seed, image)
    for layer, choice in layers:
        builder.add(layer, choice)
    built = builder.build()
    # A graph onnxruntime could not run would be a bug in this builder: shape inference says.
    onnx.shape_inference.infer_shapes(built, check_type=True, strict_mode=True)
    return built, builder.initial_shape


def codomain_of(path: Path) -> Codomain:
    [candidate] = _candidates(read_model(path))
    return candidate.codomain


def violations(codomain: Codomain, values: np.ndarray) -> str | None:
    """Why `values` escape `codomain`, or None when they all lie inside its closure.

    As in tests/test_soundness.py, a sample whose output holds NaN went through a float32
    overflow (exp(100) is inf, inf - inf is NaN): a range is about numbers, so such samples are
    left out. An infinite value must sit on an infinite end.
    """
    interval = codomain.interval
    if interval is None:
        return None
    rows = values.reshape(len(values), -1)
    rows = rows[~np.isnan(rows).any(axis=1)]
    if rows.size == 0:
        return None
    finite = rows[np.isfinite(rows)]
    infinite = rows[np.isinf(rows)]
    if any((v > 0 and interval.high != math.inf) or (v < 0 and interval.low != -math.inf) for v in infinite):
        return f"an infinite value outside {interval}"
    if finite.size:
        low, high = float(finite.min()), float(finite.max())
        if low < interval.low or high > interval.high:
            return f"values in [{low!r}, {high!r}] escape {interval} ({codomain.describe_bound()})"
    return None


layer_plans = st.tuples(
    st.integers(0, 2**16),
    st.booleans(),
    st.lists(st.tuples(st.sampled_from(FLAT_LAYERS), st.integers(0, 63)), min_size=1, max_size=5),
    st.lists(st.tuples(st.sampled_from(IMAGE_LAYERS), st.integers(0, 63)), min_size=1, max_size=4),
    st.integers(0, 63),
).map(
    # Most graphs start with an activation, so that what follows sees a bounded input and the
    # weights have something to bound.
    lambda p: (p[0], p[1], [("act", p[4])] + p[2] if p[4] % 4 else p[2], [("act", p[4])] + p[3] if p[4] % 4 else p[3])
)


@pytest.mark.soundness
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=IN_CI,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(plan=layer_plans)
def test_every_value_onnxruntime_computes_lies_in_the_range(plan, tmp_path):
    seed, image, flat, convolutional = plan
    built, shape = random_graph(seed, image, convolutional if image else flat)
    path = save(built, tmp_path / "random.onnx")
    codomain = codomain_of(path)
    rng = np.random.default_rng(seed)
    for scale in SCALES:
        x = rng.standard_normal((16, *shape[1:])) * scale
        produced = run(built, x)
        problem = violations(codomain, produced)
        assert problem is None, f"x{scale:g}: {problem}; layers {convolutional if image else flat}"


# Tightness: each activation's finite ends are reached within 1% ---------------------------------
TIGHTNESS = [
    ("Relu", {}), ("LeakyRelu", {}), ("Elu", {"alpha": 0.7}), ("Selu", {}), ("Celu", {"alpha": 1.5}),
    ("Sigmoid", {}), ("HardSigmoid", {}), ("HardSwish", {}), ("Tanh", {}), ("Softplus", {}),
    ("Softsign", {}), ("Gelu", {}), ("Gelu", {"approximate": "tanh"}), ("Mish", {}),
    ("Softmax", {}), ("LogSoftmax", {}), ("Exp", {}), ("Erf", {}), ("Abs", {}),
]  # fmt: skip


def wide_inputs() -> np.ndarray:
    # Steps of 0.01 up to ±20 hold tanh's float32 overshoot (tanh(8.44) is 1.0000001).
    values = np.concatenate([np.linspace(-3, 3, 60001), np.linspace(-20, 20, 4001), np.linspace(-200, 200, 4001), [-1e4, 1e4]])
    values = values[: len(values) // 8 * 8]
    return values.reshape(-1, 8)


@pytest.mark.parametrize(("op", "attributes"), TIGHTNESS, ids=[f"{o}{a or ''}" for o, a in TIGHTNESS])
def test_activation_ends_are_reached_within_one_percent(op, attributes, tmp_path):
    built = single(op, **attributes)
    codomain = codomain_of(save(built, tmp_path / "act.onnx"))
    interval = codomain.interval
    assert interval is not None
    produced = run(built, wide_inputs())
    assert violations(codomain, produced) is None
    finite = [end for end in (interval.low, interval.high) if math.isfinite(end)]
    if not finite:  # the real line: the values must reach far both ways
        assert produced.min() < -1 and produced.max() > 100, op
    for end, reached in ((interval.low, produced.min()), (interval.high, produced.max())):
        if math.isfinite(end):
            assert abs(float(reached) - end) <= 0.01 * max(abs(end), 1e-2), (op, end, reached)


def test_clip_ends_from_its_inputs_are_reached(tmp_path):
    built = model(
        [helper.make_node("Clip", ["x", "lo", "hi"], ["y"])],
        ["N", 8],
        initializers=[("lo", np.float32(-2.0)), ("hi", np.float32(3.0))],
    )
    codomain = codomain_of(save(built, tmp_path / "clip.onnx"))
    produced = run(built, wide_inputs())
    assert (codomain.interval.low, codomain.interval.high) == (-2.0, 3.0)
    assert (produced.min(), produced.max()) == (-2.0, 3.0)


def test_tanh_in_float32_passes_one_and_the_range_says_so(tmp_path):
    built = single("Tanh")
    codomain = codomain_of(save(built, tmp_path / "tanh.onnx"))
    produced = run(built, wide_inputs())
    assert produced.max() > 1.0  # onnxruntime's float32 tanh: 1.0000001
    assert 1.0 < codomain.interval.high < 1.000001
    assert any("float32" in note for note in codomain.notes)


def test_layer_normalization_with_a_large_shared_offset_stays_inside(tmp_path):
    """float32 LayerNormalization can pass sqrt(n-1) when the inputs share a large offset."""
    n = 64
    built = model(
        [
            helper.make_node("Sigmoid", ["x"], ["s"]),
            helper.make_node("Add", ["s", "offset"], ["o"]),
            helper.make_node("LayerNormalization", ["o", "scale", "bias"], ["y"], axis=-1),
        ],
        ["N", n],
        initializers=[("offset", np.float32(3000.0)), ("scale", np.ones(n)), ("bias", np.zeros(n))],
    )
    codomain = codomain_of(save(built, tmp_path / "ln.onnx"))
    x = np.full((4, n), -30.0)
    x[:, 0] = 30.0  # one value apart: the normalized one is sqrt(n-1) exactly
    x[1] = np.random.default_rng(0).standard_normal(n) * 30
    produced = run(built, x)
    assert violations(codomain, produced) is None
    assert codomain.saved_weights  # the scale and bias are saved weights: a warning, not proof

"""Ranges from saved weights: the engine's arithmetic on given arrays, the guarded reader on
crafted HDF5 files, and real Keras 3 and tf_keras models whose outputs Keras computes."""

from __future__ import annotations

import io
import itertools
import json
import math
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from vaecheck.codomain import Codomain
from vaecheck.graph import Graph, ModelOutput, Node, TensorRef
from vaecheck.intervals import INF, Interval
from vaecheck.ranges.evaluate import output_codomains
from vaecheck.readers import weights as weights_module
from vaecheck.readers.model import read_model
from vaecheck.readers.weights import (
    NoWeights,
    WeightsUnavailable,
    WeightTable,
    counted_group_name,
    open_weights,
    snake_case,
)

K3 = "3.15.1"
FLOAT32_EPS = float(np.finfo(np.float32).eps)


# Hand-built graphs with weights given in memory -------------------------------------------------
def node(node_id: str, op: str, config: dict[str, Any] | None = None, *inputs: str) -> Node:
    return Node(
        id=node_id,
        label=node_id,
        op=op,
        module="keras.layers",
        config=config or {},
        args=tuple(TensorRef(i) for i in inputs),
        layer_path=(node_id,),
    )


def chain_codomain(*steps: tuple[str, dict[str, Any]], weights: Any = None) -> Codomain:
    nodes = [node("x", "InputLayer")]
    for k, (op, config) in enumerate(steps):
        nodes.append(node(f"l{k}", op, config, nodes[-1].id))
    graph = Graph(nodes={n.id: n for n in nodes}, outputs=[ModelOutput("out", TensorRef(nodes[-1].id))])
    return output_codomains(graph, K3, weights)["out"]


def close_to(interval: Interval, low: float, high: float, slack: float = 1e-5) -> bool:
    """`interval` holds [low, high] and is no wider than float32 rounding allows."""
    return (
        interval.low <= low <= interval.low + slack * max(1.0, abs(low))
        and interval.high - slack * max(1.0, abs(high)) <= high <= interval.high
    )


def test_batch_normalization_flips_the_channels_whose_gamma_is_negative() -> None:
    gamma, beta = np.array([2.0, -1.0]), np.array([0.5, 0.0])
    mean, variance = np.array([0.25, 0.5]), np.array([1.0, 4.0])
    epsilon = 0.01
    weights = WeightTable({("l1",): [gamma, beta, mean, variance]})
    codomain = chain_codomain(
        ("Activation", {"activation": "sigmoid"}),
        ("BatchNormalization", {"epsilon": epsilon}),
        weights=weights,
    )
    # sigmoid's (0, 1) through each channel's y = gamma (x - mean) / sqrt(var + eps) + beta.
    ends = [
        g * (x - m) / math.sqrt(v + epsilon) + b
        for g, b, m, v in zip(gamma, beta, mean, variance)
        for x in (0.0, 1.0)
    ]
    assert close_to(codomain.interval, min(ends), max(ends))
    assert min(ends) == ends[3]  # the low end is channel 1's, reached where its input is 1
    assert codomain.saved_weights == ("l1",)
    assert any("from the saved weights of l1" in note for note in codomain.notes)


def test_batch_normalization_without_scale_or_center_reads_two_statistics() -> None:
    weights = WeightTable({("l1",): [np.array([1.0]), np.array([0.25])]})
    codomain = chain_codomain(
        ("Activation", {"activation": "tanh"}),
        ("BatchNormalization", {"scale": False, "center": False, "epsilon": 0.0}),
        weights=weights,
    )
    assert close_to(codomain.interval, -4.0, 0.0)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "hard_sigmoid", "relu6"])
def test_dense_after_a_bounded_activation_is_bounded_by_its_kernel(activation: str) -> None:
    rng = np.random.default_rng(3)
    kernel, bias = rng.normal(size=(3, 4)), rng.normal(size=4)
    weights = WeightTable({("l1",): {"kernel": kernel, "bias": bias}})
    codomain = chain_codomain(
        ("Activation", {"activation": activation}), ("Dense", {"units": 4}), weights=weights
    )
    low, high = {"tanh": (-1, 1), "sigmoid": (0, 1), "hard_sigmoid": (0, 1), "relu6": (0, 6)}[
        activation
    ]
    # Independently: the extremes of a linear map over a box sit at its corners.
    corners = np.array(list(itertools.product((low, high), repeat=3)))
    values = corners @ kernel + bias
    assert close_to(codomain.interval, values.min(), values.max())
    assert codomain.bounded_by[-1] == "l1: x·W + b (saved weights)"


def test_dense_with_its_own_relu_takes_only_the_open_end_from_the_weights() -> None:
    kernel, bias = np.array([[1.0, -2.0]]), np.array([0.5, 0.5])
    weights = WeightTable({("l1",): [kernel, bias]})
    codomain = chain_codomain(
        ("Activation", {"activation": "tanh"}),
        ("Dense", {"units": 2, "activation": "relu"}),
        weights=weights,
    )
    # relu bounds below at 0 whatever the weights; above, tanh * 1 + 0.5 and -2 tanh + 0.5
    # reach 2.5 at most.
    assert codomain.interval.low == 0 and codomain.interval.low_closed
    assert close_to(Interval.closed(0.0, codomain.interval.high), 0.0, 2.5)
    assert any("The upper end comes from the saved weights of l1" in n for n in codomain.notes)


def test_saved_weights_never_narrow_what_an_activation_bounds() -> None:
    """An untrained decoder's sigmoid must still be allowed to reach near 0 and 1."""
    weights = WeightTable({("l1",): [np.full((2, 2), 0.01), np.zeros(2)]})
    codomain = chain_codomain(
        ("Activation", {"activation": "tanh"}),
        ("Dense", {"units": 2}),
        ("Activation", {"activation": "sigmoid"}),
        weights=weights,
    )
    assert codomain.interval == Interval.open(0.0, 1.0)
    assert codomain.saved_weights == ()


def test_convolution_kernels_sum_over_taps_and_padding_adds_zero() -> None:
    kernel = np.ones((2, 1, 1))  # two taps, one channel in, one out
    table = WeightTable({("l2",): [kernel, np.zeros(1)]})
    steps = [("Activation", {"activation": "sigmoid"}), ("Rescaling", {"scale": 1.0, "offset": 1.0})]
    valid = chain_codomain(*steps, ("Conv1D", {"filters": 1, "padding": "valid"}), weights=table)
    same = chain_codomain(*steps, ("Conv1D", {"filters": 1, "padding": "same"}), weights=table)
    assert close_to(valid.interval, 2.0, 4.0)
    assert close_to(same.interval, 0.0, 4.0)  # a border output sees one tap and a padded zero


def test_transposed_convolution_reads_its_kernel_as_filters_by_inputs() -> None:
    kernel = np.zeros((2, 3, 1))  # (taps, filters, inputs)
    kernel[:, 0, 0] = [1.0, 1.0]
    kernel[:, 2, 0] = [-3.0, 0.0]
    table = WeightTable({("l1",): [kernel, np.zeros(3)]})
    codomain = chain_codomain(
        ("Activation", {"activation": "sigmoid"}), ("Conv1DTranspose", {"filters": 3}), weights=table
    )
    assert close_to(codomain.interval, -3.0, 2.0)


def test_prelu_with_its_saved_alpha_has_an_exact_range() -> None:
    table = WeightTable({("l1",): [np.array([0.25, -0.5])]})
    codomain = chain_codomain(
        ("Activation", {"activation": "tanh"}), ("PReLU", {}), weights=table
    )
    # alpha 0.25: (-0.25, 1); alpha -0.5: |x|/2 below 0, so [0, 1). The hull: (-0.25, 1).
    assert codomain.interval == Interval.open(-0.25, 1.0)
    without = chain_codomain(("Activation", {"activation": "tanh"}), ("PReLU", {}))
    assert without.interval.is_real_line


def test_adapted_normalization_reads_mean_and_variance() -> None:
    table = WeightTable({("l1",): [np.array([0.5, 1.0]), np.array([0.25, 4.0]), np.array(10)]})
    codomain = chain_codomain(
        ("Activation", {"activation": "sigmoid"}),
        ("Normalization", {"mean": None, "variance": None, "invert": False}),
        weights=table,
    )
    assert codomain.interval == Interval.open(-1.0, 1.0)  # (0 - .5)/.5 .. (1 - .5)/.5, and -0.5..0
    assert "(saved weights)" in codomain.bounded_by[-1]


def test_embedding_rows_lie_between_the_matrix_extremes() -> None:
    table = WeightTable({("l0",): [np.array([[0.5, -2.0], [3.0, 0.0]])]})
    codomain = chain_codomain(("Embedding", {"input_dim": 2, "output_dim": 2}), weights=table)
    assert codomain.interval == Interval.closed(-2.0, 3.0)


def test_without_weights_what_needs_them_is_unbounded_or_unknown() -> None:
    reason = "the weights file declares 900 MB, more than the 512 MB vaecheck reads"
    unread = NoWeights(reason)
    dense = chain_codomain(
        ("Activation", {"activation": "tanh"}), ("Dense", {"units": 2}), weights=unread
    )
    assert dense.interval.is_real_line
    assert any(reason in note and "l1" in note for note in dense.notes)
    batch_norm = chain_codomain(
        ("Activation", {"activation": "tanh"}), ("BatchNormalization", {}), weights=unread
    )
    assert not batch_norm.known and batch_norm.unknown_at == "l1"
    assert reason in batch_norm.unknown_reason
    no_source = chain_codomain(("Activation", {"activation": "tanh"}), ("BatchNormalization", {}))
    assert "which was not read" in no_source.unknown_reason


def test_numbered_variables_must_be_as_many_as_the_layer_saves() -> None:
    table = WeightTable({("l1",): [np.ones(2), np.ones(2), np.ones(2)]})  # BN needs 4
    codomain = chain_codomain(
        ("Activation", {"activation": "tanh"}), ("BatchNormalization", {}), weights=table
    )
    assert not codomain.known and "saved 3 variables where 4" in codomain.unknown_reason


def test_a_quantized_kernel_is_not_read() -> None:
    table = WeightTable({("l1",): [np.ones((2, 2)), np.zeros(2)]})
    codomain = chain_codomain(
        ("Activation", {"activation": "tanh"}),
        ("Dense", {"units": 2, "dtype": {"class_name": "DTypePolicy", "config": {"name": "int8_from_float32"}}}),
        weights=table,
    )
    assert codomain.interval.is_real_line
    assert any("quantized" in note for note in codomain.notes)


# Group names ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("class_name", "group"),
    [("PReLU", "p_re_lu"), ("Conv2DTranspose", "conv2d_transpose"), ("UpSampling2D", "up_sampling2d"),
     ("BatchNormalization", "batch_normalization"), ("LeakyReLU", "leaky_re_lu"), ("LSTM", "lstm")],
)  # fmt: skip
def test_snake_case_group_names(class_name: str, group: str) -> None:
    assert snake_case(class_name, 3) == snake_case(class_name, 2) == group


def test_counted_group_names_skip_ops_and_sequential_inputs() -> None:
    functional = {
        "class_name": "Functional",
        "config": {
            "layers": [
                {"class_name": "InputLayer", "name": "x", "config": {}},
                {"class_name": "Dense", "name": "a", "config": {}},
                {"class_name": "Sigmoid", "module": "keras.src.ops.nn", "name": "sigmoid", "config": {}},
                {"class_name": "Dense", "name": "b", "config": {}},
            ],
            "output_layers": ["b", 0, 0],
        },
    }
    assert counted_group_name(functional, "x", 3) == "input_layer"
    assert counted_group_name(functional, "b", 3) == "dense_1"
    assert counted_group_name(functional, "sigmoid", 3) is None
    sequential = {"class_name": "Sequential", "config": {"layers": [
        {"class_name": "InputLayer", "config": {"name": "in"}},
        {"class_name": "Dense", "config": {"name": "d"}},
    ]}}  # fmt: skip
    assert counted_group_name(sequential, "d", 3) == "dense"


# The guarded reader on crafted files ----------------------------------------------------------------
CONFIG = {
    "class_name": "Functional",
    "config": {
        "name": "m",
        "layers": [
            {"class_name": "InputLayer", "name": "x", "config": {"name": "x"}, "inbound_nodes": []},
            {"class_name": "Dense", "name": "out", "config": {"name": "out", "units": 2}},
        ],
        "input_layers": ["x", 0, 0],
        "output_layers": ["out", 0, 0],
    },
}


def weights_file(build: Any, path: Path | None = None) -> bytes | None:
    """An HDF5 file made by `build(h5py.File)`, as bytes (or written to `path`)."""
    import h5py

    buffer = io.BytesIO()
    with h5py.File(path if path is not None else buffer, "w") as handle:
        build(handle)
    return None if path is not None else buffer.getvalue()


def keras_archive(path: Path, weights: bytes | None, member: str = "model.weights.h5") -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": K3}))
        archive.writestr("config.json", json.dumps(CONFIG))
        if weights is not None:
            archive.writestr(member, weights)
    return path


def dense_group(handle: Any, name: str | None = "out") -> Any:
    handle.create_group("layers/input_layer/vars")
    group = handle.create_group("layers/dense/vars")
    if name is not None:
        group.attrs["name"] = name
    return group


def read(path: Path, layer: str = "out") -> list[np.ndarray]:
    source = open_weights(str(path), "keras", CONFIG, K3)
    try:
        return list(source.variables((layer,)).arrays)
    finally:
        source.close()


def test_reads_numbered_variables_by_name_attribute_and_by_counter(tmp_path: Path) -> None:
    def build(handle: Any, named: bool) -> None:
        group = dense_group(handle, "out" if named else None)
        group["0"] = np.eye(2, dtype="float32")
        group["1"] = np.array([1.0, 2.0], dtype="float32")

    for named in (True, False):
        path = keras_archive(tmp_path / f"m{named}.keras", weights_file(lambda h: build(h, named)))
        kernel, bias = read(path)
        assert kernel.tolist() == [[1, 0], [0, 1]] and bias.tolist() == [1, 2]


def test_compressed_weights_member_is_read_into_memory(tmp_path: Path) -> None:
    def build(handle: Any) -> None:
        dense_group(handle)["0"] = np.full((2, 2), 3.0, dtype="float32")

    path = tmp_path / "deflated.keras"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", json.dumps(CONFIG))
        archive.writestr("model.weights.h5", weights_file(build))
    assert read(path)[0].tolist() == [[3, 3], [3, 3]]


@pytest.mark.parametrize("link", ["soft", "external"])
def test_links_are_never_followed(tmp_path: Path, link: str) -> None:
    secret = tmp_path / "secret.h5"
    weights_file(lambda h: h.create_dataset("kernel", data=np.ones((2, 2))), secret)

    def build(handle: Any) -> None:
        import h5py

        group = dense_group(handle)
        handle["elsewhere"] = np.ones((2, 2))
        group["0"] = h5py.SoftLink("/elsewhere") if link == "soft" else h5py.ExternalLink(str(secret), "kernel")

    path = keras_archive(tmp_path / "linked.keras", weights_file(build))
    with pytest.raises(WeightsUnavailable, match="Link, which vaecheck never follows"):
        read(path)


def test_external_and_virtual_datasets_are_refused(tmp_path: Path) -> None:
    import h5py

    raw = tmp_path / "raw.bin"
    raw.write_bytes(np.ones(4, dtype="float32").tobytes())

    def external(handle: Any) -> None:
        dense_group(handle).create_dataset("0", shape=(2, 2), dtype="float32", external=[(str(raw), 0, 16)])

    path = tmp_path / "external.h5"  # external storage needs a real file, as Keras writes it
    weights_file(external, path)
    source = open_weights(str(tmp_path / "dir"), "keras-dir", CONFIG, K3)
    (tmp_path / "dir").mkdir()
    path.rename(tmp_path / "dir" / "model.weights.h5")
    with pytest.raises(WeightsUnavailable, match="outside the weights file"):
        source.variables(("out",))

    def virtual(handle: Any) -> None:
        handle["real"] = np.ones((2, 2), dtype="float32")
        layout = h5py.VirtualLayout(shape=(2, 2), dtype="float32")
        layout[:] = h5py.VirtualSource(handle["real"])
        dense_group(handle).create_virtual_dataset("0", layout)

    archive = keras_archive(tmp_path / "virtual.keras", weights_file(virtual))
    with pytest.raises(WeightsUnavailable, match="virtual dataset"):
        read(archive)


def test_a_dataset_declaring_far_more_than_it_stores_is_refused(tmp_path: Path) -> None:
    def bomb(handle: Any) -> None:  # 32 MB declared, nothing stored
        dense_group(handle).create_dataset("0", shape=(4096, 2048), dtype="float32", chunks=(64, 64))

    with pytest.raises(WeightsUnavailable, match="decompression bomb"):
        read(keras_archive(tmp_path / "bomb.keras", weights_file(bomb)))


def test_too_large_weights_and_npz_weights_are_not_read(tmp_path: Path, monkeypatch: Any) -> None:
    def build(handle: Any) -> None:
        dense_group(handle)["0"] = np.ones((64, 64), dtype="float32")

    path = keras_archive(tmp_path / "big.keras", weights_file(build))
    monkeypatch.setattr(weights_module, "MAX_WEIGHTS_BYTES", 1024)
    with pytest.raises(WeightsUnavailable, match="more than the 0 MB vaecheck reads"):
        read(path)
    npz = keras_archive(tmp_path / "npz.keras", b"PK", member="model.weights.npz")
    with pytest.raises(WeightsUnavailable, match="pickled objects"):
        read(npz)
    with pytest.raises(WeightsUnavailable, match="no model.weights.h5"):
        read(keras_archive(tmp_path / "none.keras", None))


def test_a_damaged_weights_file_is_a_reason_not_a_crash(tmp_path: Path) -> None:
    path = keras_archive(tmp_path / "damaged.keras", b"\x89HDF\r\n\x1a\n" + bytes(100))
    with pytest.raises(WeightsUnavailable, match="not a readable HDF5 file"):
        read(path)


def test_a_missing_layer_group_says_so(tmp_path: Path) -> None:
    path = keras_archive(tmp_path / "m.keras", weights_file(lambda h: dense_group(h, "other")))
    with pytest.raises(WeightsUnavailable, match="no group for layer 'out'"):
        read(path)


def test_legacy_weights_are_matched_by_their_recorded_names(tmp_path: Path) -> None:
    def build(handle: Any) -> None:
        group = handle.create_group("model_weights/decoder")
        group.attrs["weight_names"] = [b"dec_h/kernel:0", b"dec_out/kernel:0", b"dec_out/bias:0"]
        group["dec_h/kernel:0"] = np.zeros((2, 2))
        group["dec_out/kernel:0"] = np.ones((2, 3))
        group["dec_out/bias:0"] = np.full(3, 2.0)

    path = tmp_path / "legacy.h5"
    weights_file(build, path)
    source = open_weights(str(path), "h5", {}, "2.21.0")
    found = source.variables(("decoder", "dec_out"))
    source.close()
    assert found.names == ("kernel", "bias")
    assert found.arrays[0].shape == (2, 3) and found.arrays[1].tolist() == [2, 2, 2]


# Real models -----------------------------------------------------------------------------------------
WIDTH = 4


def _weighted_model(keras: Any) -> Any:
    """sigmoid -> BatchNormalization (negative gammas) -> PReLU (negative alphas) -> Dense ->
    adapted Normalization, each stage an output; and a tanh -> Conv1D head."""
    x = keras.Input((WIDTH,), name="x")
    squashed = keras.layers.Dense(WIDTH, activation="sigmoid", kernel_initializer="identity", name="squash")(x)
    batch_norm = keras.layers.BatchNormalization(epsilon=0.01, name="bn")
    normalized = batch_norm(squashed)
    prelu = keras.layers.PReLU(name="prelu")
    rectified = prelu(normalized)
    mixed = keras.layers.Dense(3, name="mix")(rectified)
    adapted = keras.layers.Normalization(name="adapted")
    adapted.adapt(np.random.default_rng(0).normal(2.0, 3.0, (64, 3)).astype("float32"))
    final = adapted(mixed)
    sequence = keras.layers.Reshape((WIDTH, 1))(keras.layers.Activation("tanh")(x))
    conv = keras.layers.Conv1D(2, 2, padding="same", name="conv")(sequence)
    model = keras.Model(x, [normalized, rectified, mixed, final, conv])
    batch_norm.set_weights(
        [np.array(v, dtype="float32") for v in ([2.0, -1.0, 0.5, -3.0], [0.1, 0.2, -0.3, 0.0],
                                                [0.5, 0.25, 0.0, 1.0], [1.0, 4.0, 0.5, 2.0])]
    )  # fmt: skip
    prelu.set_weights([np.array([0.2, -0.5, 1.5, 0.0], dtype="float32")])
    return model


def _saturating_inputs() -> np.ndarray:
    grid = np.linspace(-10.0, 10.0, 41)
    columns = np.stack(np.meshgrid(*[grid[::10]] * WIDTH), axis=-1).reshape(-1, WIDTH)
    sweep = np.repeat(grid[:, None], WIDTH, axis=1)
    return np.concatenate([columns, sweep, columns * 100]).astype("float32")


def _check(path: Path, model: Any, tight: set[int]) -> list[Codomain]:
    model_file = read_model(path)
    source = open_weights(str(path), model_file.format, model_file.config, model_file.keras_version)
    try:
        codomains = list(output_codomains(model_file.graph, model_file.keras_version, source).values())
    finally:
        source.close()
    outputs = model(_saturating_inputs(), training=False)
    for index, (codomain, output) in enumerate(zip(codomains, outputs)):
        values = np.asarray(output, dtype=np.float64).ravel()
        interval = codomain.interval
        assert interval is not None and interval.is_bounded, (index, codomain)
        slack = 8 * FLOAT32_EPS * max(1.0, abs(interval.low), abs(interval.high))
        assert interval.low - slack <= values.min() and values.max() <= interval.high + slack, (
            index, interval, values.min(), values.max()
        )
        if index in tight:  # per-channel maps of a saturated sigmoid reach both ends (PReLU on
            # the hull of all channels is sound, not tight: ranges are not kept per channel)
            assert abs(values.min() - interval.low) <= 0.01 * max(1.0, abs(interval.low)), index
            assert abs(values.max() - interval.high) <= 0.01 * max(1.0, abs(interval.high)), index
        assert codomain.saved_weights, index
    return codomains


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_keras3_weights_bound_what_the_architecture_leaves_open(saved_models: Any, suffix: str) -> None:
    built: dict[str, Any] = {}

    def build(keras: Any) -> Any:
        built["model"] = _weighted_model(keras)
        return built["model"]

    path = saved_models.save("weighted", build, suffix)
    codomains = _check(path, built["model"], tight={0})
    assert codomains[0].saved_weights == ("bn",)
    assert codomains[3].bounded_by[-1].startswith("adapted: (x - ")


@pytest.mark.parametrize("suffix", [".h5", ".keras"])
def test_tf_keras_weights_bound_the_same_layers(saved_models: Any, suffix: str) -> None:
    built: dict[str, Any] = {}

    def build(keras: Any) -> Any:
        built["model"] = _weighted_model(keras)
        return built["model"]

    path = saved_models.save_tf_keras("weighted", build, suffix)
    _check(path, built["model"], tight={0})


def test_name_attributes_win_over_the_class_counter(saved_models: Any, tmp_path: Path) -> None:
    """Two adapted Normalization layers whose names cross their group names (KERAS_FACTS §7),
    read with the `name` attributes and again with them stripped (as Keras < 3.6 wrote)."""
    built: dict[str, Any] = {}

    def build(keras: Any) -> Any:
        first = keras.layers.Normalization()  # auto-named "normalization"
        second = keras.layers.Normalization()  # "normalization_1", but called first
        rng = np.random.default_rng(1)
        first.adapt(rng.normal(10.0, 1.0, (32, 2)).astype("float32"))
        second.adapt(rng.normal(-5.0, 0.1, (32, 2)).astype("float32"))
        x = keras.Input((2,), name="x")
        out = first(keras.layers.Activation("tanh")(second(keras.layers.Activation("tanh")(x))))
        built["model"] = keras.Model(x, out)
        return built["model"]

    path = saved_models.save("crossed_names", build)
    stripped = tmp_path / "stripped.keras"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(stripped, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "model.weights.h5":
                data = _without_name_attributes(data)
            target.writestr(info, data)
    outputs = np.asarray(built["model"](_saturating_inputs()[:, :2] * 10), dtype=np.float64)
    ranges = []
    for file in (path, stripped):
        model_file = read_model(file)
        source = open_weights(str(file), model_file.format, model_file.config, model_file.keras_version)
        (codomain,) = output_codomains(model_file.graph, model_file.keras_version, source).values()
        source.close()
        ranges.append(codomain.interval)
        slack = 4 * FLOAT32_EPS * 16  # float32 rounding of values near -10
        assert codomain.interval.low - slack <= outputs.min()
        assert outputs.max() <= codomain.interval.high + slack
    assert ranges[0] == ranges[1]
    assert ranges[0].low < -10  # the mean-10 statistics, not the mean -5 ones: (-1 - 10)/1


def _without_name_attributes(data: bytes) -> bytes:
    import h5py

    buffer = io.BytesIO(data)
    with h5py.File(buffer, "r+") as handle:
        def strip(name: str, item: Any) -> None:
            if "name" in item.attrs:
                del item.attrs["name"]

        handle.visititems(strip)
    return buffer.getvalue()


def test_cli_reports_ranges_from_saved_weights(saved_models: Any, tmp_path: Path, capsys: Any) -> None:
    from vaecheck.cli import main

    def build(keras: Any) -> Any:
        x = keras.Input((3,), name="x")
        hidden = keras.layers.Dense(3, activation="tanh", name="hidden")(x)
        out = keras.layers.Dense(3, name="head")(hidden)  # linear head: bounded only by weights
        return keras.Model(x, out)

    path = saved_models.save("weighted_head", build)
    data = tmp_path / "data.npy"
    np.save(data, np.full((8, 3), 1000.0, dtype="float32"))
    code, out = main([str(path), str(data), "--format", "json"]), capsys.readouterr().out
    [output] = json.loads(out)["outputs"]
    # 1000 lies past what these weights can reach; but training moves weights, so a range that
    # only they bound is a warning with "check again after training", not an error.
    assert code == 0
    assert output["range"]["saved_weights"] == ["head"]
    assert any("saved weights of head" in note for note in output["range"]["notes"])
    [finding] = output["findings"]
    assert (finding["code"], finding["severity"]) == ("VC001", "warning")
    assert finding["saved_weights"] == ["head"] and "head" in finding["message"]
    assert finding["fix"]["kind"] == "check-after-training"
    assert output["fix"]["kind"] == "check-after-training"
    assert main([str(path), str(data), "--fail-on", "warning"]) == 1


def test_einsum_dense_sums_over_its_kernels_summed_axes(saved_models: Any) -> None:
    built: dict[str, Any] = {}

    def build(keras: Any) -> Any:
        x = keras.Input((4, 3), name="x")
        squashed = keras.layers.Activation("tanh")(x)
        shared = keras.layers.EinsumDense("abc,cd->abd", output_shape=(4, 2), bias_axes="d", name="shared")
        per_row = keras.layers.EinsumDense("abc,bcd->abd", output_shape=(4, 2), name="per_row")
        built["model"] = keras.Model(x, [shared(squashed), per_row(squashed)])
        built["layers"] = (shared, per_row)
        return built["model"]

    path = saved_models.save("einsum", build)
    model_file = read_model(path)
    source = open_weights(str(path), model_file.format, model_file.config, model_file.keras_version)
    shared_range, per_row_range = output_codomains(model_file.graph, model_file.keras_version, source).values()
    source.close()
    shared, per_row = built["layers"]
    kernel, bias = (np.asarray(w, dtype=np.float64) for w in shared.get_weights())
    # Each output sums |kernel| over the summed axis c, the tanh inputs reaching -1 and 1.
    spread = np.abs(kernel).sum(axis=0)
    assert close_to(shared_range.interval, float((bias - spread).min()), float((bias + spread).max()))
    (per_row_kernel,) = (np.asarray(w, dtype=np.float64) for w in per_row.get_weights())
    spread = np.abs(per_row_kernel).sum(axis=1)  # (b, d): summed over c only
    assert close_to(per_row_range.interval, float(-spread.max()), float(spread.max()))
    data = np.random.default_rng(0).choice([-1000.0, 1000.0], size=(256, 4, 3)).astype("float32")
    for codomain, output in zip((shared_range, per_row_range), built["model"](data)):
        values = np.asarray(output, dtype=np.float64)
        assert codomain.interval.low <= values.min() and values.max() <= codomain.interval.high


def _nested_model(keras: Any) -> Any:
    """Weights two levels down: a Functional decoder and a Sequential inside the top model."""
    z = keras.Input((4,), name="z_in")
    decoded = keras.layers.Dense(3, name="dec_out")(keras.layers.Activation("tanh")(z))
    decoder = keras.Model(z, decoded, name="decoder")
    stack = keras.Sequential(
        [keras.Input((3,)), keras.layers.Activation("sigmoid"), keras.layers.Dense(2, name="sd"),
         keras.layers.BatchNormalization(name="seq_bn")],
        name="stack",
    )  # fmt: skip
    x = keras.Input((4,), name="x")
    model = keras.Model(x, stack(decoder(x)))
    stack.get_layer("seq_bn").set_weights(
        [np.array(v, "float32") for v in ([-2.0, 1.0], [0.5, 0.0], [0.1, -0.2], [0.5, 2.0])]
    )
    return model


@pytest.mark.parametrize(
    ("writer", "suffix"), [("keras", ".keras"), ("keras", ".h5"), ("tf_keras", ".h5"), ("tf_keras", ".keras")]
)
def test_weights_of_nested_sub_models_in_every_format(saved_models: Any, writer: str, suffix: str) -> None:
    built: dict[str, Any] = {}

    def build(keras: Any) -> Any:
        built["model"] = _nested_model(keras)
        return built["model"]

    save = saved_models.save if writer == "keras" else saved_models.save_tf_keras
    path = save("nested_weights", build, suffix)
    model_file = read_model(path)
    source = open_weights(str(path), model_file.format, model_file.config, model_file.keras_version)
    (codomain,) = output_codomains(model_file.graph, model_file.keras_version, source).values()
    source.close()
    assert codomain.saved_weights == ("stack › sd", "stack › seq_bn")
    values = np.asarray(built["model"](_saturating_inputs()), dtype=np.float64)
    slack = 8 * FLOAT32_EPS * max(1.0, abs(codomain.interval.low), abs(codomain.interval.high))
    assert codomain.interval.low - slack <= values.min()
    assert values.max() <= codomain.interval.high + slack

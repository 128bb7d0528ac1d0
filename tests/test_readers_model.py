"""The static model reader on real saved Keras models: graph shape, outputs, formats, errors."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from vaecheck.errors import VaecheckError
from vaecheck.readers.config import graph_from_config
from vaecheck.readers.model import read_model
from vaecheck.shapes import output_shape


def _vae(keras, final_activation="relu"):
    x = keras.Input((8,), name="x")
    h = keras.layers.Dense(4, activation="relu", name="enc_h")(x)
    z_mean = keras.layers.Dense(2, name="z_mean")(h)
    z_log_var = keras.layers.Dense(2, name="z_log_var")(h)
    encoder = keras.Model(x, [z_mean, z_log_var], name="encoder")
    z_in = keras.Input((2,), name="z_in")
    d = keras.layers.Dense(4, activation="selu", name="dec_h")(z_in)
    out = keras.layers.Dense(8, activation=final_activation, name="dec_out")(d)
    decoder = keras.Model(z_in, out, name="decoder")
    inp = keras.Input((8,), name="vae_in")
    mean, _ = encoder(inp)
    return keras.Model(inp, decoder(mean), name="vae")


def _labels(path: Path) -> dict[str, str]:
    graph = read_model(path).graph
    return {o.name: graph.nodes[o.ref.node].label for o in graph.outputs}


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_nested_vae_output_is_the_decoders_last_layer(saved_models, suffix):
    path = saved_models.save("vae", _vae, suffix)
    model = read_model(path)
    assert model.format == ("keras" if suffix == ".keras" else "h5")
    assert model.keras_version and model.keras_version.startswith("3.")
    [output] = model.graph.outputs
    node = model.graph.nodes[output.ref.node]
    assert node.label == "decoder › dec_out"
    assert node.config["activation"] == "relu"
    assert output_shape(model.graph, output.ref) == (None, 8)
    # The decoder consumes the encoder's first output (z_mean), not its second.
    decoder_input = model.graph.nodes["decoder/dec_h"].tensor_inputs()[0]
    assert model.graph.nodes[decoder_input.node].label == "encoder › z_mean"


def test_keras2_h5_nested_functional(saved_models):
    path = saved_models.save_tf_keras("vae", lambda k: _vae(k, "hard_sigmoid"))
    model = read_model(path)
    assert model.keras_version and model.keras_version.startswith("2.")
    [output] = model.graph.outputs
    node = model.graph.nodes[output.ref.node]
    assert node.label == "decoder › dec_out"
    assert node.config["activation"] == "hard_sigmoid"
    decoder_input = model.graph.nodes["decoder/dec_h"].tensor_inputs()[0]
    assert model.graph.nodes[decoder_input.node].label == "encoder › z_mean"


def _sequential(keras):
    return keras.Sequential(
        [
            keras.Input((5,)),
            keras.layers.Dense(3, activation="tanh", name="hidden"),
            keras.layers.Dense(2, name="logits"),
            keras.layers.Activation("softmax", name="probs"),
        ],
        name="seq",
    )


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_sequential_output_is_the_last_layer(saved_models, suffix):
    model = read_model(saved_models.save("seq", _sequential, suffix))
    [output] = model.graph.outputs
    node = model.graph.nodes[output.ref.node]
    assert node.op == "Activation" and node.label == "probs"
    assert [model.graph.nodes[r.node].label for r in node.tensor_inputs()] == ["logits"]


def test_keras2_sequential(saved_models):
    model = read_model(saved_models.save_tf_keras("seq", _sequential))
    [output] = model.graph.outputs
    assert model.graph.nodes[output.ref.node].op == "Activation"


def _multi_output(keras, as_dict):
    x = keras.Input((4,), name="x")
    h = keras.layers.Dense(4, activation="relu", name="h")(x)
    recon = keras.layers.Dense(4, activation="sigmoid", name="recon")(h)
    cls = keras.layers.Dense(3, activation="softmax", name="cls")(h)
    outputs = {"reconstruction": recon, "label": cls} if as_dict else [recon, cls]
    return keras.Model(x, outputs, name="multi")


def test_multiple_outputs_as_list(saved_models):
    labels = _labels(saved_models.save("multi_list", lambda k: _multi_output(k, False)))
    assert labels == {"recon": "recon", "cls": "cls"}


def test_multiple_outputs_as_dict_keep_their_keys(saved_models):
    labels = _labels(saved_models.save("multi_dict", lambda k: _multi_output(k, True)))
    assert labels == {"reconstruction": "recon", "label": "cls"}


def test_shared_layer_called_twice_gets_one_node_per_call(saved_models):
    def build(keras):
        a = keras.Input((3,), name="a")
        b = keras.Input((3,), name="b")
        shared = keras.layers.Dense(3, activation="tanh", name="shared")
        merged = keras.layers.Add(name="add")([shared(a), shared(b)])
        return keras.Model([a, b], merged)

    graph = read_model(saved_models.save("shared", build)).graph
    add = graph.nodes["add"]
    inputs = [graph.nodes[r.node] for r in add.tensor_inputs()]
    assert [n.id for n in inputs] == ["shared", "shared#1"]
    assert [graph.nodes[n.tensor_inputs()[0].node].id for n in inputs] == ["a", "b"]


def test_nested_sequential_inside_functional(saved_models):
    def build(keras):
        dec = keras.Sequential(
            [keras.Input((2,)), keras.layers.Dense(4, activation="sigmoid", name="dec_out")],
            name="dec_seq",
        )
        x = keras.Input((2,), name="x")
        return keras.Model(x, {"recon": dec(x)})

    labels = _labels(saved_models.save("nested_seq", build))
    assert labels == {"recon": "dec_seq › dec_out"}


def test_subclassed_model_uses_its_stored_decoder(tmp_path):
    decoder = {
        "class_name": "Functional",
        "config": {
            "name": "decoder",
            "layers": [
                {"class_name": "InputLayer", "config": {"batch_shape": [None, 2], "name": "z"},
                 "name": "z", "inbound_nodes": []},
                {"class_name": "Dense", "config": {"name": "out", "units": 3, "activation": "sigmoid"},
                 "name": "out", "inbound_nodes": [[["z", 0, 0, {}]]]},
            ],
            "input_layers": [["z", 0, 0]],
            "output_layers": [["out", 0, 0]],
        },
    }
    config = {"module": None, "class_name": "VAE", "config": {"latent": 2, "decoder": decoder}}
    graph = graph_from_config(config, "vae.keras")
    [output] = graph.outputs
    assert output.name == "decoder"
    assert graph.nodes[output.ref.node].label == "decoder › out"
    assert any("subclassed" in note for note in graph.notes)


def test_subclassed_model_without_submodels_is_one_opaque_node():
    graph = graph_from_config({"class_name": "VAE", "config": {"latent": 2}}, "vae.keras")
    [output] = graph.outputs
    assert graph.nodes[output.ref.node].op == "VAE"


def _write_keras(path: Path, config: object) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
        archive.writestr("config.json", json.dumps(config) if not isinstance(config, str) else config)
    return path


def _functional(layers, outputs):
    return {"class_name": "Functional", "config": {"name": "m", "layers": layers,
            "input_layers": [["x", 0, 0]], "output_layers": outputs}}


def _dense(name, source):
    return {"class_name": "Dense", "config": {"name": name, "units": 1}, "name": name,
            "inbound_nodes": [[[source, 0, 0, {}]]]}


INPUT = {"class_name": "InputLayer", "config": {"name": "x"}, "name": "x", "inbound_nodes": []}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "config.json is not valid JSON"),
        ("[1, 2]", "not a JSON object"),
        ("[" * 5000 + "]" * 5000, "nested more than"),
        (_functional([INPUT, _dense("a", "b"), _dense("b", "a")], [["b", 0, 0]]), "cycle"),
        (_functional([INPUT, _dense("a", "ghost")], [["a", 0, 0]]), "'ghost', which is not in the model"),
        (_functional([INPUT, _dense("a", "x")], [["nothing", 0, 0]]), "'nothing', which is not in the model"),
    ],
)
def test_broken_configs_raise_one_line_errors(tmp_path, content, message):
    path = _write_keras(tmp_path / "broken.keras", content)
    with pytest.raises(VaecheckError) as error:
        read_model(path)
    assert message in str(error.value)
    assert str(error.value).startswith(str(path))
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("escaped", [False, True], ids=["plain-strings", "escaped-quotes"])
def test_brackets_inside_strings_are_not_nesting(tmp_path, escaped):
    # json.dumps writes the quotes of the note as \", the path that tracks escapes.
    note = ('a "quoted" ' if escaped else "") + "[{" * 3000
    layers = [{**INPUT, "config": {"name": "x", "note": note}}, _dense("a", "x")]
    model = read_model(_write_keras(tmp_path / "strings.keras", _functional(layers, [["a", 0, 0]])))
    assert [output.ref.node for output in model.graph.outputs] == ["a"]


@pytest.mark.parametrize("escaped", [False, True], ids=["plain-strings", "escaped-quotes"])
def test_deep_nesting_after_a_long_string_is_refused(tmp_path, escaped):
    # The string spans more than one of the segments the nesting is measured in.
    padding = ('\\"' if escaped else "") + "]" * (3 * 2**20)
    text = '{"pad": "' + padding + '", "deep": ' + "[" * 2500 + "]" * 2500 + "}"
    with pytest.raises(VaecheckError, match="nested more than"):
        read_model(_write_keras(tmp_path / "deep.keras", text))


def test_archive_without_config_is_refused(tmp_path):
    path = tmp_path / "empty.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", "{}")
    with pytest.raises(VaecheckError, match="no config.json"):
        read_model(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "empty"), (b"hello world", "not a Keras model"), (b"PK\x03\x04garbage", "not a valid .keras")],
)
def test_non_models_are_refused(tmp_path, content, message):
    path = tmp_path / "model.keras"
    path.write_bytes(content)
    with pytest.raises(VaecheckError, match=message):
        read_model(path)


def test_weights_only_h5_is_refused(saved_models, tmp_path):
    import h5py

    path = tmp_path / "weights.h5"
    with h5py.File(path, "w") as handle:
        handle.create_dataset("w", data=[1.0, 2.0])
    with pytest.raises(VaecheckError, match="no model_config"):
        read_model(path)


def test_missing_model_file(tmp_path):
    with pytest.raises(VaecheckError, match="no such file"):
        read_model(tmp_path / "absent.keras")


# tf.keras SavedModel directories ------------------------------------------------------------------
def test_tf_keras_saved_model_is_read_through_keras_metadata(saved_models):
    directory = saved_models.save_tf_keras("vae", lambda k: _vae(k, "hard_sigmoid"), suffix="")
    assert (directory / "keras_metadata.pb").is_file() and directory.is_dir()
    model = read_model(directory)
    assert model.format == "savedmodel"
    assert model.keras_version and model.keras_version.startswith("2.")
    [output] = model.graph.outputs
    node = model.graph.nodes[output.ref.node]
    assert node.label == "decoder › dec_out"
    assert node.config["activation"] == "hard_sigmoid"
    # Its tuples (written as {"class_name": "__tuple__"}) are lists again: shapes are known.
    assert output_shape(model.graph, output.ref) == (None, 8)
    h5 = read_model(saved_models.save_tf_keras("vae", lambda k: _vae(k, "hard_sigmoid")))
    assert sorted(model.graph.nodes) == sorted(h5.graph.nodes)


def test_saved_model_of_a_compiled_model_carries_its_training_config(saved_models):
    def build(keras):
        model = _sequential(keras)
        model.compile(loss="categorical_crossentropy")
        return model

    model = read_model(saved_models.save_tf_keras("compiled_seq", build, suffix=""))
    assert model.training is not None
    assert "categorical_crossentropy" in json.dumps(model.training)


def test_keras3_export_without_keras_metadata_is_refused(saved_models, tmp_path):
    import keras

    model = _sequential(keras)
    model.export(str(tmp_path / "exported"), verbose=False)
    with pytest.raises(VaecheckError) as error:
        read_model(tmp_path / "exported")
    message = str(error.value)
    assert "without keras_metadata.pb" in message and "probing" in message
    assert "\n" not in message


def _varint(value):
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number, payload):
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x0a\xff\xff\xff\x0f", "not a valid protobuf message (a field runs past"),
        (b"\x0a\x80", "not a valid protobuf message (a number runs past"),
        (_field(1, _field(3, b"root.layer-0") + _field(5, b"{}")), "has no root object"),
        (_field(1, _field(3, b"root") + _field(5, b"[1]")), "is not a JSON object"),
        (_field(1, _field(3, b"root") + _field(5, b"{oops")), "keras_metadata.pb is not valid JSON"),
    ],
)
def test_broken_keras_metadata_is_one_line_error(tmp_path, content, message):
    (tmp_path / "keras_metadata.pb").write_bytes(content)
    with pytest.raises(VaecheckError) as error:
        read_model(tmp_path)
    assert message in str(error.value) and str(error.value).startswith(str(tmp_path))


def test_keras_metadata_decoder_finds_the_root_among_other_nodes(tmp_path):
    config = {"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "Dense", "config": {"name": "d", "units": 2, "activation": "softsign",
                                           "batch_input_shape": {"class_name": "__tuple__", "items": [None, 3]}}}]}}
    root = json.dumps({"class_name": "Sequential", "keras_version": "2.15.0", "model_config": config})
    layer = _field(2, b"") + _field(3, b"root.layer-0") + _field(5, b'{"class_name": "Dense"}')
    data = _field(1, layer) + _field(1, _field(3, b"root") + _field(4, b"_tf_keras_sequential")
                                    + _field(5, root.encode()) + _field(6, b"\x08\x02\x10\x01"))
    (tmp_path / "keras_metadata.pb").write_bytes(data)
    model = read_model(tmp_path)
    [output] = model.graph.outputs
    assert model.keras_version == "2.15.0"
    assert model.graph.nodes[output.ref.node].config["activation"] == "softsign"
    assert output_shape(model.graph, output.ref) == (None, 2)


# Subclassed models --------------------------------------------------------------------------------
def _subclassed_vae(keras):
    """The canonical Keras VAE, made saveable as KERAS_FACTS §1.5 says users do it: get_config
    serializes the encoder and decoder; its Sampling layer is defined here and registered
    nowhere, so Keras itself could not load the file."""

    class Sampling(keras.layers.Layer):
        def call(self, inputs):
            mean, log_var = inputs
            return mean + keras.ops.exp(0.5 * log_var) * keras.random.normal(keras.ops.shape(mean))

    class VAE(keras.Model):
        def __init__(self, encoder, decoder, **kwargs):
            super().__init__(**kwargs)
            self.encoder, self.decoder, self.sampling = encoder, decoder, Sampling()

        def call(self, x):
            return self.decoder(self.sampling(self.encoder(x)))

        def get_config(self):
            config = super().get_config()
            config["encoder"] = keras.saving.serialize_keras_object(self.encoder)
            config["decoder"] = keras.saving.serialize_keras_object(self.decoder)
            return config

    x = keras.Input((6,), name="x")
    h = keras.layers.Dense(4, activation="relu", name="enc_h")(x)
    encoder = keras.Model(
        x, [keras.layers.Dense(2, name="z_mean")(h), keras.layers.Dense(2, name="z_log_var")(h)],
        name="encoder",
    )
    z = keras.Input((2,), name="z")
    t = keras.layers.Dense(5, activation="tanh", name="dec_h")(z)
    t = keras.layers.BatchNormalization(name="bn")(t)
    decoder = keras.Model(z, keras.layers.Dense(6, name="dec_out")(t), name="decoder")
    vae = VAE(encoder, decoder, name="vae")
    vae(np.zeros((1, 6), "float32"))
    bn = decoder.get_layer("bn")
    bn.set_weights([np.array(v, "float32") for v in ([1.5, -2.0, 1, 1, 0.5], [0.0] * 5,
                                                     [0.1] * 5, [0.5, 1, 2, 1, 1])])
    return vae


def test_real_subclassed_vae_is_read_through_its_stored_decoder(saved_models):
    built = {}

    def build(keras):
        built["vae"] = _subclassed_vae(keras)
        return built["vae"]

    path = saved_models.save("subclassed_vae", build)
    assert "vae" in built, f"another test already saved a model as {path}"
    model = read_model(path)
    assert model.config["class_name"] == model.config["registered_name"] == "VAE"
    [output] = model.graph.outputs
    assert output.name == "decoder"
    assert model.graph.nodes[output.ref.node].label == "decoder › dec_out"
    assert any("subclassed" in note and "'decoder'" in note for note in model.graph.notes)

    from vaecheck.ranges.evaluate import output_codomains
    from vaecheck.readers.weights import open_weights

    weights = open_weights(str(path), model.format, model.config, model.keras_version)
    codomain = output_codomains(model.graph, model.keras_version, weights)["decoder"]
    weights.close()
    # The decoder's weights are found under the attribute the VAE keeps it in.
    assert codomain.saved_weights == ("decoder › bn", "decoder › dec_out")
    z = np.random.default_rng(0).normal(size=(300, 2)).astype("float32") * np.repeat(
        [1.0, 10.0, 1000.0], 100
    )[:, None].astype("float32")
    outputs = np.asarray(built["vae"].decoder(z, training=False))
    assert codomain.interval.low <= outputs.min() and outputs.max() <= codomain.interval.high

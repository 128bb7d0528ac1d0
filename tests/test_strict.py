"""Strict reading: a structure Keras refuses to deserialize is refused, naming its place.

Each case starts from a real model saved by Keras, corrupts one thing in its configuration,
confirms that `keras.saving.load_model` refuses the result, and then that vaecheck exits 2 with
one line naming the file and the place in the configuration, with and without data.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from vaecheck.cli import main
from vaecheck.readers.config import ConfigError
from vaecheck.readers.strict import check_model_config


def _build(keras: Any) -> Any:
    x = keras.Input((4,), name="x")
    h = keras.layers.Dense(4, activation="relu", name="h")(x)
    return keras.Model(x, keras.layers.Dense(4, activation="sigmoid", name="out")(h), name="m")


def _rewrite_keras(source: Path, target: Path, change: Callable[[dict], Any]) -> Path:
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w") as copy:
        for info in original.infolist():
            data = original.read(info)
            if info.filename == "config.json":
                config = json.loads(data)
                change(config)
                data = json.dumps(config).encode()
            copy.writestr(info, data)
    return target


def _layers(config: dict) -> list:
    return config["config"]["layers"]


def _set(path: tuple, value: Any) -> Callable[[dict], None]:
    def change(config: dict) -> None:
        node = config
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return change


def _delete(path: tuple) -> Callable[[dict], None]:
    def change(config: dict) -> None:
        node = config
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return change


def _dangling(config: dict) -> None:
    _layers(config)[2]["inbound_nodes"][0]["args"][0]["config"]["keras_history"][0] = "ghost"


# (name, corruption, the place and problem vaecheck must name)
KERAS_CASES = [
    ("layers-missing", _delete(("config", "layers")), "config: a Functional model without a 'layers' entry"),
    ("layers-not-a-list", _set(("config", "layers"), {"h": {}}), "config.layers: expected a list, got an object"),
    ("layer-not-an-object", _set(("config", "layers", 1), "Dense"), "config.layers[1]: expected an object, got a string"),
    ("layer-config-a-list", _set(("config", "layers", 2, "config"), [4, "sigmoid"]), "config.layers[2].config: expected an object, got a list"),
    ("class-name-not-text", _set(("config", "layers", 1, "class_name"), 7), "config.layers[1].class_name: expected a string, got a number"),
    ("root-class-name-not-text", _set(("class_name",), ["Functional"]), "class_name: expected a string, got a list"),
    ("model-config-a-list", _set(("config",), []), "config: expected an object, got a list"),
    ("dangling-inbound", _dangling, "config.layers[2].inbound_nodes[0]: layer 'out' refers to 'ghost', which is not in the model"),
    ("dangling-output", _set(("config", "output_layers"), [["ghost", 0, 0]]), "config.output_layers: refers to 'ghost', which is not in the model"),
]


@pytest.fixture(scope="module")
def valid_keras(saved_models) -> Path:
    return saved_models.save("strict_base", _build)


@pytest.fixture(scope="module")
def data_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("strict") / "data.npy"
    np.save(path, np.random.default_rng(0).uniform(0.1, 0.9, (16, 4)).astype(np.float32))
    return path


def _keras_refuses(path: Path) -> None:
    import keras

    with pytest.raises(Exception):  # noqa: B017 - Keras raises KeyError, TypeError, ValueError...
        keras.saving.load_model(path, compile=False)


def _vaecheck_refuses(path: Path, problem: str, data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for args in ([str(path)], [str(path), str(data)]):
        code = main(args)
        out, err = capsys.readouterr()
        assert (code, out) == (2, ""), err
        assert err == f"vaecheck: error: {path}: {problem}\n"


def test_the_valid_model_loads_in_keras_and_is_clean(valid_keras, data_file, capsys):
    import keras

    keras.saving.load_model(valid_keras, compile=False)
    assert main([str(valid_keras), str(data_file)]) == 0
    assert main([str(valid_keras)]) == 0
    capsys.readouterr()


@pytest.mark.parametrize(("name", "change", "problem"), KERAS_CASES, ids=[c[0] for c in KERAS_CASES])
def test_a_configuration_keras_refuses_is_exit_2_naming_the_place(
    name, change, problem, valid_keras, data_file, tmp_path, capsys
):
    corrupted = _rewrite_keras(valid_keras, tmp_path / f"{name}.keras", change)
    _keras_refuses(corrupted)
    _vaecheck_refuses(corrupted, problem, data_file, capsys)


@pytest.fixture(scope="module")
def valid_h5(saved_models) -> Path:
    return saved_models.save("strict_base_h5", _build, suffix=".h5")


def _rewrite_h5(source: Path, target: Path, model_config: bytes | str) -> Path:
    import shutil

    import h5py

    shutil.copy(source, target)
    with h5py.File(target, "a") as handle:
        del handle.attrs["model_config"]
        value = np.bytes_(model_config) if isinstance(model_config, bytes) else model_config
        handle.attrs["model_config"] = value
    return target


def test_a_legacy_model_config_that_is_not_utf8_is_refused(valid_h5, data_file, tmp_path, capsys):
    import h5py

    with h5py.File(valid_h5, "r") as handle:
        text = handle.attrs["model_config"]
    text = text.decode() if isinstance(text, bytes) else text
    # A name with a byte that is no UTF-8: Keras decodes strictly and fails.
    broken = text.replace('"name": "out"', '"name": "o\xffut"').encode("latin-1")
    corrupted = _rewrite_h5(valid_h5, tmp_path / "latin1.h5", broken)
    _keras_refuses(corrupted)
    code = main([str(corrupted)])
    _, err = capsys.readouterr()
    assert code == 2
    assert err.startswith(f"vaecheck: error: {corrupted}: the model_config attribute is not UTF-8 text")
    assert err.count("\n") == 1


def test_a_legacy_layer_config_that_is_a_list_is_refused(valid_h5, data_file, tmp_path, capsys):
    import h5py

    with h5py.File(valid_h5, "r") as handle:
        config = json.loads(handle.attrs["model_config"])
    config["config"]["layers"][2]["config"] = ["units", 4]
    corrupted = _rewrite_h5(valid_h5, tmp_path / "list.h5", json.dumps(config))
    _keras_refuses(corrupted)
    _vaecheck_refuses(corrupted, "config.layers[2].config: expected an object, got a list", data_file, capsys)


# What Keras accepts stays accepted ------------------------------------------------------------
@pytest.mark.parametrize(
    "model",
    [
        # A subclassed model as Keras writes one: a class of its own, its __init__ arguments.
        {"module": None, "class_name": "VAE", "config": {"latent": 2}, "registered_name": "VAE"},
        {"module": None, "class_name": "VAE", "config": None, "registered_name": "VAE"},
        # Keras <= 2.2.2 Sequential: the config is a bare list of layers.
        {"class_name": "Sequential", "config": [{"class_name": "Dense", "config": {"units": 2}}]},
        # A null layer config is read by Keras as {}.
        {"class_name": "Sequential", "config": {"layers": [{"class_name": "Flatten", "config": None}]}},
        # "Model" without a Functional's keys is a subclass named Model.
        {"class_name": "Model", "config": {"units": 3}},
    ],
)
def test_structures_keras_accepts_pass_strict_reading(model):
    check_model_config(model, "m.keras")


@pytest.mark.parametrize(
    ("model", "problem"),
    [
        ({"class_name": "Functional", "config": None}, "config: expected an object, got null"),
        ({"class_name": "Sequential", "config": {"name": "s"}}, "config: a Sequential model without a 'layers' entry"),
        ({"config": {}}, "the model configuration: has no class_name"),
        ({"class_name": "VAE", "config": "latent=2"}, "config: expected an object, got a string"),
        (
            {"class_name": "Model", "config": {"layers": [], "input_layers": [], "output_layers": [["d", 0, 0]]}},
            "config.output_layers: refers to 'd', which is not in the model",
        ),
        (
            {"class_name": "Functional", "config": {"layers": [{"class_name": "Dense", "name": "d", "inbound_nodes": [[["x", 0, 0, {}]]]}], "input_layers": [], "output_layers": [["d", 0, 0]]}},
            "config.layers[0].inbound_nodes[0]: layer 'd' refers to 'x', which is not in the model",
        ),
    ],
)
def test_structures_keras_refuses_are_config_errors(model, problem):
    with pytest.raises(ConfigError) as raised:
        check_model_config(model, "m.keras")
    assert str(raised.value) == f"m.keras: {problem}"


def test_an_activation_object_whose_config_cannot_be_read_is_unknown_never_a_default():
    from vaecheck.ranges.activations import UnknownActivation, resolve_activation

    read = resolve_activation({"class_name": "LeakyReLU", "config": [0.5]}, 3)
    assert isinstance(read, UnknownActivation)
    default = resolve_activation({"class_name": "LeakyReLU", "config": None}, 3)
    assert not isinstance(default, UnknownActivation)  # null is {}, as Keras reads it

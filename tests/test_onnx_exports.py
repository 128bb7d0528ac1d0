"""Models exported by real exporters: scikit-learn through skl2onnx, Keras through
model.export(format="onnx") (tf2onnx), JAX through jax2onnx. Each with a data file that
triggers a finding and one that is clean, and each range checked against onnxruntime."""

from __future__ import annotations

import importlib.util
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
import onnx  # noqa: E402

from vaecheck.pipeline import _candidates  # noqa: E402
from vaecheck.cli import main  # noqa: E402
from vaecheck.readers.model import read_model  # noqa: E402

EXPORTS = Path(__file__).resolve().parent / "onnx_exports"
sys.path.insert(0, str(EXPORTS))
import build as exports_build  # noqa: E402


def report(capsys, model: Path, data: Path, *options: str) -> tuple[int, dict]:
    code = main([str(model), str(data), "--format", "json", *options])
    return code, json.loads(capsys.readouterr().out)


def findings(output: dict) -> list[tuple[str, str]]:
    return [(f["code"], f["severity"]) for f in output["findings"]]


def run(path: Path, x: np.ndarray) -> list[np.ndarray]:
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x.astype(np.float32)})


def assert_inside(path: Path, output: str, values: np.ndarray) -> None:
    ranges = {c.output.name: c.codomain for c in _candidates(read_model(path))}
    interval = ranges[output].interval
    assert interval is not None
    assert interval.low <= values.min() and values.max() <= interval.high, (interval, values.min(), values.max())


# scikit-learn -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sklearn_models(tmp_path_factory):
    pytest.importorskip("skl2onnx")
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from skl2onnx import to_onnx

    root = tmp_path_factory.mktemp("sklearn")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 5)).astype(np.float32)
    y = x @ rng.standard_normal(5)
    labels = (y > 0).astype(int) + (y > 1).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: a few iterations are enough here
        regressor = MLPRegressor(hidden_layer_sizes=(8,), activation="logistic", max_iter=100, random_state=0).fit(x, y)
        classifier = MLPClassifier(hidden_layer_sizes=(8,), max_iter=100, random_state=0).fit(x, labels)
    onnx.save(to_onnx(regressor, x[:1], target_opset=17), str(root / "regressor.onnx"))
    options = {id(classifier): {"zipmap": False}}
    onnx.save(
        to_onnx(classifier, x[:1], options=options, target_opset={"": 17, "ai.onnx.ml": 3}),
        str(root / "classifier.onnx"),
    )
    np.save(root / "x.npy", x)
    np.save(root / "predicted.npy", regressor.predict(x).astype(np.float32))
    np.save(root / "far_targets.npy", (y * 1000).astype(np.float32))
    np.save(root / "one_hot.npy", np.eye(3, dtype=np.float32)[labels])
    np.save(root / "standardized.npy", rng.standard_normal((300, 3)).astype(np.float32))
    return root


def test_sklearn_regressor_range_is_bounded_by_its_saved_weights(capsys, sklearn_models):
    """Logistic hidden units, then a weighted sum: the weights bound it, which is a warning."""
    code, far = report(capsys, sklearn_models / "regressor.onnx", sklearn_models / "far_targets.npy")
    [output] = far["outputs"]
    assert code == 0 and findings(output) == [("VC001", "warning")]
    assert output["range"]["saved_weights"]
    code, clean = report(capsys, sklearn_models / "regressor.onnx", sklearn_models / "predicted.npy")
    assert code == 0 and findings(clean["outputs"][0]) == []
    [produced] = run(sklearn_models / "regressor.onnx", np.load(sklearn_models / "x.npy") * 1000)
    assert_inside(sklearn_models / "regressor.onnx", "variable", produced)


def test_sklearn_classifier_probabilities(capsys, sklearn_models):
    code, wrong = report(capsys, sklearn_models / "classifier.onnx", sklearn_models / "standardized.npy")
    [output] = wrong["outputs"]
    assert code == 1 and output["name"] == "probabilities" and ("VC001", "error") in findings(output)
    assert "MLPRegressor" in output["fix"]["summary"]  # the words of scikit-learn
    code, clean = report(capsys, sklearn_models / "classifier.onnx", sklearn_models / "one_hot.npy", "--loss", "categorical_crossentropy")
    assert code == 0, clean
    assert all(severity != "error" for _, severity in findings(clean["outputs"][0]))
    # The integer labels output cannot be compared with these rows: it is skipped, not guessed.
    assert [s["name"] for s in clean["skipped_outputs"]] == ["label"]


# Keras through tf2onnx ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def keras_export(tmp_path_factory):
    pytest.importorskip("tf2onnx")
    import keras

    root = tmp_path_factory.mktemp("keras_onnx")
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((6,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(6, activation="sigmoid")]
    )
    model(np.zeros((1, 6), np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.export(str(root / "keras.onnx"), format="onnx", verbose=False)
    rng = np.random.default_rng(0)
    np.save(root / "standardized.npy", rng.standard_normal((100, 6)).astype(np.float32))
    np.save(root / "unit.npy", rng.uniform(0.05, 0.95, (100, 6)).astype(np.float32))
    return root


def test_keras_export_through_tf2onnx(capsys, keras_export):
    path = keras_export / "keras.onnx"
    assert onnx.load(str(path)).producer_name == "tf2onnx"
    code, wrong = report(capsys, path, keras_export / "standardized.npy")
    [output] = wrong["outputs"]
    assert code == 1 and ("VC001", "error") in findings(output)
    assert "activation=None" in output["fix"]["summary"]  # Keras's own words
    code, clean = report(capsys, path, keras_export / "unit.npy")
    assert code == 0 and findings(clean["outputs"][0]) == []
    [produced] = run(path, np.random.default_rng(1).standard_normal((256, 6)) * 100)
    assert_inside(path, output["name"], produced)


# JAX through jax2onnx -----------------------------------------------------------------------------
def jax_pair(root: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    np.save(root / "standardized.npy", rng.standard_normal((100, exports_build.FEATURES)).astype(np.float32))
    np.save(root / "unit.npy", rng.uniform(0.05, 0.95, (100, exports_build.FEATURES)).astype(np.float32))
    return root / "standardized.npy", root / "unit.npy"


def check_jax_export(capsys, path: Path, root: Path) -> None:
    assert onnx.load(str(path)).producer_name == "jax2onnx"
    wrong_data, clean_data = jax_pair(root)
    code, wrong = report(capsys, path, wrong_data)
    [output] = wrong["outputs"]
    assert code == 1 and ("VC001", "error") in findings(output)
    assert "jax.nn.sigmoid" in output["fix"]["summary"]
    code, clean = report(capsys, path, clean_data)
    assert code == 0 and findings(clean["outputs"][0]) == []
    [produced] = run(path, np.random.default_rng(1).standard_normal((256, exports_build.FEATURES)) * 100)
    assert_inside(path, output["name"], produced)


def test_jax_export_kept_from_jax2onnx(capsys, tmp_path):
    check_jax_export(capsys, EXPORTS / "jax_sigmoid_decoder.onnx", tmp_path)


@pytest.mark.skipif(importlib.util.find_spec("jax2onnx") is None, reason="jax2onnx is not installed")
def test_jax_export_made_now_with_jax2onnx(capsys, tmp_path):
    check_jax_export(capsys, exports_build.export_jax(tmp_path / "jax.onnx"), tmp_path)

"""The live door: a keras.Model in memory gives the report its saved file gives; in-memory data
and pipelines; subclassed models, traced or observed."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import vaecheck
from vaecheck.errors import VaecheckError
from vaecheck.formats.json import report_dict
from vaecheck.report import CheckRun, Report, Severity

keras = pytest.importorskip("keras")

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "sample_models"


def _without_model(report: Report) -> dict[str, Any]:
    result = report_dict(report)
    result.pop("model")
    # A custom class's module is where it was defined: __main__ for the script that saved the
    # file, the module imported here for the live model. Everything else must be equal.
    for finding in result.get("findings") or ():
        finding["message"] = re.sub(r" from module '[^']*'", "", finding["message"])
        finding.pop("module", None)
    return result


def _saved_as_live(report: Report) -> dict[str, Any]:
    """A saved model's report with its prose on where weights came from said as the live door
    says it: the only words that may differ."""
    from vaecheck.live.check import _in_memory_text

    return json.loads(_in_memory_text(json.dumps(_without_model(report))))


def _codes(report: Report) -> list[tuple[str, str]]:
    return [(f.code, f.severity.label) for f in report.findings]


# live == saved ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sample_classes() -> None:
    # Loaded under a name of its own: another test folder has a build.py as well.
    import importlib.util

    spec = importlib.util.spec_from_file_location("sample_models_build", SAMPLES / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)  # registers the samples' Sampling layer with Keras


@pytest.mark.parametrize(
    ("model_name", "data_name"),
    [
        ("relu_vae.keras", "standardized.npy"),
        ("sigmoid_vae.keras", "unit.npy"),
        ("tanh_generator.keras", "images_uint8.npy"),
        ("relu_vae.keras", "unit.npy"),
    ],
)
def test_sample_models_live_equal_saved(sample_classes: None, model_name: str, data_name: str) -> None:
    data = np.load(SAMPLES / data_name)
    live = keras.saving.load_model(SAMPLES / model_name)
    saved = vaecheck.check(SAMPLES / model_name, data)
    from_memory = vaecheck.check(live, data)
    assert from_memory.model.startswith("<live Functional")
    assert _without_model(from_memory) == _saved_as_live(saved)


def _dense_sequential(k: Any) -> Any:
    model = k.Sequential(
        [k.Input((6,)), k.layers.Dense(5, activation="tanh"), k.layers.Dense(6), k.layers.Activation("sigmoid")],
        name="seq",
    )
    model.compile(loss="binary_crossentropy")
    return model


def _weights_bound(k: Any) -> Any:
    # Dense(linear) after tanh: its range comes from the weights, read from memory here.
    inputs = k.Input((4,))
    hidden = k.layers.Dense(3, activation="tanh", name="squash")(inputs)
    return k.Model(inputs, k.layers.Dense(4, name="mix")(hidden), name="weights_bound")


def _batchnorm_rescaled(k: Any) -> Any:
    inputs = k.Input((5,))
    h = k.layers.Dense(5, activation="sigmoid")(inputs)
    h = k.layers.BatchNormalization()(h)
    return k.Model(inputs, k.layers.Rescaling(255.0)(h), name="bn")


def _multi_output(k: Any) -> Any:
    inputs = k.Input((6,), name="features")
    h = k.layers.Dense(8, activation="relu")(inputs)
    recon = k.layers.Dense(6, activation="sigmoid", name="recon")(h)
    label = k.layers.Dense(3, activation="softmax", name="label")(h)
    model = k.Model(inputs, {"recon": recon, "label": label}, name="two_heads")
    model.compile(loss={"recon": "mse", "label": "sparse_categorical_crossentropy"})
    return model


def _nested_conv(k: Any) -> Any:
    decoder_in = k.Input((3,))
    h = k.layers.Dense(16, activation="relu")(decoder_in)
    h = k.layers.Reshape((4, 4, 1))(h)
    out = k.layers.Conv2DTranspose(1, 3, strides=2, padding="same", activation="tanh", name="img")(h)
    decoder = k.Model(decoder_in, out, name="decoder")
    inputs = k.Input((3,))
    return k.Model(inputs, k.layers.Rescaling(127.5, offset=127.5)(decoder(inputs)), name="gen")


def _prelu_head(k: Any) -> Any:
    inputs = k.Input((4,))
    h = k.layers.Dense(4)(inputs)
    return k.Model(inputs, k.layers.PReLU(alpha_initializer="zeros")(h), name="prelu")


def _ops_head(k: Any) -> Any:
    inputs = k.Input((4,))
    h = k.layers.Dense(4)(inputs)
    return k.Model(inputs, k.ops.sigmoid(h) * 2.0 - 1.0, name="ops_head")


BUILT = {
    "sequential": (_dense_sequential, (6,)),
    "weights_bound": (_weights_bound, (4,)),
    "batchnorm_rescaled": (_batchnorm_rescaled, (5,)),
    "nested_conv": (_nested_conv, None),
    "prelu_head": (_prelu_head, (4,)),
    "ops_head": (_ops_head, (4,)),
}


@pytest.mark.parametrize("name", sorted(BUILT))
def test_built_models_live_equal_saved(saved_models: Any, name: str) -> None:
    build, sample = BUILT[name]
    path = saved_models.save(f"live_{name}", build)
    live = keras.saving.load_model(path)
    rng = np.random.default_rng(1)
    shape = sample if sample is not None else (8, 8, 1)
    data = (rng.normal(size=(64, *shape)) * 3).astype(np.float32)
    assert _without_model(vaecheck.check(live, data)) == _saved_as_live(vaecheck.check(path, data))


def test_model_in_memory_equals_its_file_before_any_load(tmp_path: Path) -> None:
    """The very object that was saved (not a reload) reads the same, weights included."""
    keras.utils.set_random_seed(3)
    model = _weights_bound(keras)
    path = tmp_path / "m.keras"
    model.save(path)
    data = np.random.default_rng(0).normal(size=(100, 4)).astype(np.float32) * 10
    live, saved = vaecheck.check(model, data), vaecheck.check(path, data)
    assert _without_model(live) == _saved_as_live(saved)
    assert _without_model(live) != _without_model(saved)  # the prose on the weights differs
    interval = live.outputs[0].codomain.interval
    assert interval is not None and interval.is_bounded  # from the weights in memory
    assert any("weights in memory" in note for note in live.outputs[0].codomain.notes)


def test_multi_output_live_equals_saved(saved_models: Any) -> None:
    path = saved_models.save("live_two_heads", _multi_output)
    live = keras.saving.load_model(path)
    labels = np.array([0, 1, 2, 1] * 10)
    for data in (np.random.default_rng(0).uniform(size=(40, 6)).astype(np.float32), labels):
        assert _without_model(vaecheck.check(live, data)) == _saved_as_live(vaecheck.check(path, data))


def test_tf_keras_live_equals_h5(saved_models: Any) -> None:
    tf_keras = pytest.importorskip("tf_keras")
    path = saved_models.save_tf_keras("live_k2_seq", _dense_sequential)
    live = tf_keras.models.load_model(path)
    data = np.random.default_rng(0).normal(size=(50, 6)).astype(np.float32)
    from_memory = vaecheck.check(live, data)
    assert from_memory.model == "<live Sequential 'seq'>"
    assert _without_model(from_memory) == _saved_as_live(vaecheck.check(path, data))
    assert not from_memory.ok  # binary cross-entropy on standardized targets


def test_tf_keras_weights_from_memory(saved_models: Any) -> None:
    tf_keras = pytest.importorskip("tf_keras")
    path = saved_models.save_tf_keras("live_k2_weights", _weights_bound)
    live = tf_keras.models.load_model(path)
    data = np.random.default_rng(0).normal(size=(50, 4)).astype(np.float32) * 10
    report = vaecheck.check(live, data)
    assert _without_model(report) == _saved_as_live(vaecheck.check(path, data))
    assert report.outputs[0].codomain.interval.is_bounded


def test_unbuilt_model_is_refused() -> None:
    model = keras.Sequential([keras.layers.Dense(3, activation="sigmoid")])
    with pytest.raises(VaecheckError, match="not built.*call it once"):
        vaecheck.check(model, np.zeros((4, 3), np.float32))


# Subclassed models --------------------------------------------------------------------------
class ScaledSigmoid(keras.Model):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.hidden = keras.layers.Dense(8, activation="relu")
        self.head = keras.layers.Dense(4)

    def call(self, inputs: Any) -> Any:
        return keras.ops.sigmoid(self.head(self.hidden(inputs))) * 2.0


class VAE(keras.Model):
    """The Keras example's shape: encoder and decoder models passed in, call() joins them."""

    def __init__(self, encoder: Any, decoder: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder

    def call(self, inputs: Any) -> Any:
        z_mean, z_log_var = self.encoder(inputs)
        return self.decoder(z_mean + keras.ops.exp(0.5 * z_log_var))


class NumpyInside(keras.Model):
    """call() leaves Keras for NumPy: it cannot be traced, only run."""

    def __init__(self, decoder: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.project = keras.layers.Dense(3)
        self.decoder = decoder

    def call(self, inputs: Any) -> Any:
        z = np.clip(keras.ops.convert_to_numpy(self.project(inputs)), -1, 1)
        return self.decoder(z) if self.decoder is not None else np.tanh(z)


def _encoder_decoder() -> tuple[Any, Any]:
    x = keras.Input((6,))
    h = keras.layers.Dense(4, activation="relu")(x)
    encoder = keras.Model(x, [keras.layers.Dense(3)(h), keras.layers.Dense(3)(h)], name="encoder")
    z = keras.Input((3,))
    decoder = keras.Model(z, keras.layers.Dense(6, activation="sigmoid", name="dec_out")(z), name="decoder")
    return encoder, decoder


def test_subclassed_call_is_traced_and_proven() -> None:
    model = ScaledSigmoid()
    model(np.zeros((2, 5), np.float32))
    data = np.full((10, 4), 3.0, np.float32)
    report = vaecheck.check(model, data)
    interval = report.outputs[0].codomain.interval
    assert (interval.low, interval.high) == (0.0, 2.0)
    assert _codes(report) == [("VC001", "error")]  # proven, so an error
    assert any("traced" in note for note in report.notes)
    assert report.probe is None


def test_subclassed_vae_traced_through_encoder_and_decoder() -> None:
    encoder, decoder = _encoder_decoder()
    vae = VAE(encoder, decoder)
    vae.compile(loss="mse")
    data = np.random.default_rng(0).normal(size=(30, 6)).astype(np.float32)
    vae(data[:2])
    report = vaecheck.check(vae, data)
    assert str(report.outputs[0].codomain.interval) == "(0, 1)"
    assert report.outputs[0].loss is not None  # the subclassed model's compile configuration
    assert _codes(report)[0] == ("VC001", "error")


def test_untraceable_subclassed_model_is_observed() -> None:
    model = NumpyInside()
    data = np.random.default_rng(0).normal(size=(40, 5)).astype(np.float32) * 4
    model(data[:2])
    report = vaecheck.check(model, (data, data[:, :3]))
    assert report.probe is not None and report.probe.loader.startswith("the live model")
    observed = report.outputs[0].probe
    assert observed is not None and -1.0 <= observed.low < observed.high <= 1.0
    assert not report.outputs[0].codomain.known
    # Observed, not proven: the probe's severities, never a proven error.
    assert report.findings and all(f.severity < Severity.ERROR for f in report.findings)
    assert any("could not be traced" in note and "KerasTensor" in note for note in report.notes)


def test_untraceable_model_keeps_its_known_decoder() -> None:
    _, decoder = _encoder_decoder()
    model = NumpyInside(decoder)
    data = np.random.default_rng(0).normal(size=(40, 6)).astype(np.float32) * 4
    model(data[:2, :5])
    report = vaecheck.check(model, (data[:, :5], data))
    assert str(report.outputs[0].codomain.interval) == "(0, 1)"  # the decoder's, proven
    assert report.outputs[0].probe is not None  # and observed beside it
    assert ("VC001", "error") in _codes(report)


# Data ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def autoencoder() -> Any:
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8,))
    out = keras.layers.Dense(8, activation="sigmoid", name="out")(keras.layers.Dense(4)(inputs))
    model = keras.Model(inputs, out, name="ae")
    model.compile(loss="mse")
    return model


@pytest.fixture(scope="module")
def rows() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(300, 8)).astype(np.float32)


def _data_summary(report: Report) -> tuple[Any, ...]:
    stats = report.stats
    return (stats.shape, stats.min, stats.max, stats.count, _codes(report))


def test_tf_data_pipeline_with_map_shuffle_batch(autoencoder: Any, rows: np.ndarray) -> None:
    tf = pytest.importorskip("tensorflow")
    dataset = tf.data.Dataset.from_tensor_slices(rows).shuffle(64, seed=0).map(lambda v: (v, v)).batch(32)
    report = vaecheck.check(autoencoder, dataset)
    assert _data_summary(report) == _data_summary(vaecheck.check(autoencoder, rows))
    assert report.data == "<tf.data.Dataset>"
    assert "read all 10 batches of 10 of <tf.data.Dataset> (300 rows)" in report.notes


def test_tf_data_targets_and_weights(autoencoder: Any, rows: np.ndarray) -> None:
    tf = pytest.importorskip("tensorflow")
    targets = np.abs(rows) / (np.abs(rows).max() + 1)  # inside (0, 1)
    weights = np.ones(len(rows), np.float32)
    dataset = tf.data.Dataset.from_tensor_slices((rows, targets, weights)).batch(50)
    report = vaecheck.check(autoencoder, dataset)
    assert report.ok and report.stats.max == pytest.approx(float(targets.max()))


def test_tf_data_dict_inputs(rows: np.ndarray) -> None:
    tf = pytest.importorskip("tensorflow")
    inputs = keras.Input((8,), name="pixels")
    model = keras.Model(inputs, keras.layers.Dense(8, activation="relu")(inputs))
    dataset = tf.data.Dataset.from_tensor_slices({"pixels": rows}).batch(100)
    report = vaecheck.check(model, dataset)
    assert report.stats.min == pytest.approx(float(rows.min()))
    assert ("VC001", "error") in _codes(report)


def test_endless_dataset_refused_unless_bounded(autoencoder: Any, rows: np.ndarray) -> None:
    tf = pytest.importorskip("tensorflow")
    endless = tf.data.Dataset.from_tensor_slices(rows).batch(30).repeat()
    with pytest.raises(VaecheckError, match="endless.*max_batches"):
        vaecheck.check(autoencoder, endless)
    report = vaecheck.check(autoencoder, endless, max_batches=3)
    assert report.stats.shape == (90, 8)
    assert "stopped at max_batches=3" in report.notes[-1]


def test_py_dataset(autoencoder: Any, rows: np.ndarray) -> None:
    class Batches(keras.utils.PyDataset):
        def __len__(self) -> int:
            return 6

        def __getitem__(self, index: int) -> Any:
            return rows[index * 50 : (index + 1) * 50], rows[index * 50 : (index + 1) * 50]

    report = vaecheck.check(autoencoder, Batches())
    assert _data_summary(report) == _data_summary(vaecheck.check(autoencoder, rows))
    assert report.data == "<Batches (PyDataset)>"


def test_generator_is_read_up_to_max_batches(autoencoder: Any, rows: np.ndarray) -> None:
    def endless() -> Any:
        while True:
            yield rows[:25]

    report = vaecheck.check(autoencoder, endless(), max_batches=4)
    assert report.stats.shape == (100, 8)
    assert "read 4 batches of <generator> (100 rows), stopped at max_batches=4" in report.notes


def test_generator_without_bound_stops_at_the_default_budget(autoencoder: Any, rows: np.ndarray) -> None:
    from vaecheck.live.data import read_live_data

    def endless() -> Any:
        while True:
            yield rows

    live = read_live_data(endless(), max_bytes=rows.nbytes * 3)
    assert live.targets.shape == (900, 8)
    assert "stopped at the default bound" in (live.read_note or "")


def test_dataframe_and_series(autoencoder: Any, rows: np.ndarray) -> None:
    pandas = pytest.importorskip("pandas")
    frame = pandas.DataFrame(rows, columns=[f"c{i}" for i in range(8)])
    report = vaecheck.check(autoencoder, frame)
    assert _data_summary(report) == _data_summary(vaecheck.check(autoencoder, rows))
    assert report.data == "<pandas DataFrame>"
    regressor = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1, activation="sigmoid")])
    series = pandas.Series(rows[:, 0])
    assert ("VC001", "error") in _codes(vaecheck.check(regressor, (frame, series)))


def test_dataloader_like_batches_of_tensors(autoencoder: Any, rows: np.ndarray) -> None:
    class Tensor:  # what a framework tensor offers: .numpy()
        def __init__(self, values: np.ndarray) -> None:
            self.values = values

        def numpy(self) -> np.ndarray:
            return self.values

    class Loader:
        def __iter__(self) -> Any:
            for start in range(0, 300, 100):
                yield [Tensor(rows[start : start + 100]), Tensor(rows[start : start + 100])]

        def __len__(self) -> int:
            return 3

    report = vaecheck.check(autoencoder, Loader())
    assert _data_summary(report) == _data_summary(vaecheck.check(autoencoder, rows))
    assert "read all 3 batches of 3 of <Loader> (300 rows)" in report.notes


def test_dict_targets_go_to_outputs_of_the_same_names() -> None:
    model = _multi_output(keras)
    x = np.random.default_rng(0).uniform(size=(20, 6)).astype(np.float32)
    y = {"recon": x * 3, "label": np.arange(20) % 3}
    run = vaecheck.check(model, (x, y))
    assert isinstance(run, CheckRun) and len(run.reports) == 2
    by_output = {r.outputs[0].name: r for r in run.reports}
    assert set(by_output) == {"recon", "label"}
    assert ("VC001", "error") in _codes(by_output["recon"])
    assert by_output["label"].ok


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (object(), "unsupported data object: give a numpy array"),
        (np.array(["a", "b"]), "non-numeric values"),
        ([{"x": "text"}], "non-numeric values"),
    ],
)
def test_bad_data_names_what_was_given(autoencoder: Any, data: Any, message: str) -> None:
    with pytest.raises(VaecheckError, match=message):
        vaecheck.check(autoencoder, data if not isinstance(data, np.ndarray) else (data,))


def test_inconsistent_batches_are_named(autoencoder: Any, rows: np.ndarray) -> None:
    def batches() -> Any:
        yield rows[:10]
        yield rows[:10]
        yield rows[:10, :4]

    with pytest.raises(VaecheckError, match=r"batch 2 of x has samples of shape \(4,\), batch 0 of shape \(8,\)"):
        vaecheck.check(autoencoder, batches())


def test_static_path_imports_no_framework(tmp_path: Path) -> None:
    code = (
        "import importlib, pkgutil, sys, numpy as np, vaecheck\n"
        "for m in pkgutil.walk_packages(vaecheck.__path__, 'vaecheck.'):\n"
        "    importlib.import_module(m.name)\n"
        f"r = vaecheck.check({str(SAMPLES / 'relu_vae.keras')!r}, np.load({str(SAMPLES / 'standardized.npy')!r}))\n"
        "r._repr_html_()\n"
        "heavy = [m for m in ('keras', 'tensorflow', 'tf_keras', 'jax', 'torch') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_live_report_as_json_is_valid(autoencoder: Any, rows: np.ndarray) -> None:
    report = vaecheck.check(autoencoder, rows)
    parsed = json.loads(json.dumps(report_dict(report)))
    assert parsed["model"] == "<live Functional 'ae'>"


def test_tf_keras_subclassed_model_is_observed() -> None:
    tf_keras = pytest.importorskip("tf_keras")

    class Head(tf_keras.Model):
        def __init__(self) -> None:
            super().__init__()
            self.dense = tf_keras.layers.Dense(3, activation="sigmoid")

        def call(self, inputs: Any) -> Any:
            return self.dense(inputs)

    model = Head()
    data = np.random.default_rng(0).normal(size=(20, 3)).astype(np.float32)
    model(data[:2])
    report = vaecheck.check(model, data)
    assert report.probe is not None and report.outputs[0].probe is not None
    assert [(f.code, f.severity.label) for f in report.findings] == [("VC004", "warning")]

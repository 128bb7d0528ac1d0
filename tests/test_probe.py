"""--probe on real saved models: what Keras really outputs, safe mode, custom objects, SavedModels.

Each probe child imports TensorFlow (seconds), so the probe-level assertions share one child
(the `probed` fixture runs every job in one process) and the CLI tests are few.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from vaecheck.cli import main
from vaecheck.probe import (
    LATENT_INPUTS,
    ProbeFailure,
    ProbeJob,
    ProbeResult,
    probe_models,
)

CUSTOM_OBJECTS = Path(__file__).resolve().with_name("probe_custom_objects.py")
FLOAT32_TOLERANCE = 4 * float(np.finfo(np.float32).eps)


def run_main(args: list[str], capsys) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _custom_objects() -> ModuleType:
    """The user's custom-objects file, imported by path as the probe child imports it."""
    name = "probe_custom_objects"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, CUSTOM_OBJECTS)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


class ProbeModels:
    """The probe tests' models, built once, with what Keras computes on the data for each."""

    def __init__(self, saved_models: Any, root: Path) -> None:
        self.root = root
        self.data = np.random.default_rng(7).standard_normal((200, 8)).astype(np.float32)
        self.data_path = root / "standardized8.npy"
        np.save(self.data_path, self.data)
        self.keras_outputs: dict[str, np.ndarray] = {}
        self.lambda_tail = saved_models.save("probe_lambda_tail", self._lambda_tail)
        self.custom_activation = saved_models.save(
            "probe_custom_activation", self._custom_activation
        )
        self.dead_relu_vae = saved_models.save("probe_dead_relu_vae", self._dead_relu_vae)
        self.tf_keras_saved_model = saved_models.save_tf_keras(
            "probe_sigmoid_decoder", self._tf_keras_decoder, suffix=""
        )
        self.canary = root / "lambda-ran"
        self.canary_lambda = self._canary_lambda(self.canary)

    def _remember(self, name: str, model: Any) -> Any:
        self.keras_outputs[name] = np.asarray(model(self.data, training=False))
        return model

    def _lambda_tail(self, keras: Any) -> Any:
        x = keras.Input((8,), name="x")
        h = keras.layers.Dense(8, activation="tanh", name="h")(x)
        out = keras.layers.Lambda(lambda t: t * 3.0, name="triple")(h)
        return self._remember("lambda_tail", keras.Model(x, out, name="lambda_tail"))

    def _custom_activation(self, keras: Any) -> Any:
        x = keras.Input((8,), name="x")
        h = keras.layers.Dense(8, activation="relu", name="h")(x)
        out = keras.layers.Dense(8, activation=_custom_objects().doubled_tanh, name="out")(h)
        return self._remember("custom_activation", keras.Model(x, out, name="custom_activation"))

    def _dead_relu_vae(self, keras: Any) -> Any:
        x = keras.Input((8,), name="x")
        h = keras.layers.Dense(6, activation="relu", name="enc_h")(x)
        z_mean = keras.layers.Dense(2, name="z_mean")(h)
        z_log_var = keras.layers.Dense(2, name="z_log_var")(h)
        z = _custom_objects().Sampling(name="z")([z_mean, z_log_var])
        z_in = keras.Input((2,), name="z_in")
        # A bias far below any reachable pre-activation: every unit of the relu output is dead.
        dead = keras.layers.Dense(
            8,
            activation="relu",
            bias_initializer=keras.initializers.Constant(-100.0),
            name="dec_out",
        )(z_in)
        decoder = keras.Model(z_in, dead, name="decoder")
        return keras.Model(x, decoder(z), name="vae")

    def _tf_keras_decoder(self, tf_keras: Any) -> Any:
        z = tf_keras.Input((2,), name="z")
        out = tf_keras.layers.Dense(8, activation="sigmoid", name="pixels")(z)
        model = tf_keras.Model(z, out, name="decoder")
        # What the probe runs on a latent input: 64 draws from N(0, I) per scale x1, x3, x10,
        # in that order from one generator seeded 0.
        generator = np.random.default_rng(0)
        latents = np.concatenate(
            [(generator.standard_normal((64, 2)) * s).astype(np.float32) for s in (1.0, 3.0, 10.0)]
        )
        self.keras_outputs["tf_keras_saved_model"] = np.asarray(model(latents, training=False))
        return model

    def _canary_lambda(self, canary: Path) -> Path:
        """A model ending in a Lambda whose code creates `canary` whenever it runs."""
        import keras

        # The path is a constant inside the lambda's bytecode: nothing else carries it to a loader.
        touch = eval(f"lambda t: (open({str(canary)!r}, 'w').close(), t)[1]")  # noqa: S307
        x = keras.Input((8,), name="x")
        h = keras.layers.Dense(8, activation="tanh", name="h")(x)
        model = keras.Model(x, keras.layers.Lambda(touch, name="canary")(h), name="canary_model")
        path = self.root / "canary_lambda.keras"
        model.save(path)
        canary.unlink()  # building the model ran the lambda once; only a later run may recreate it
        return path

    def exported_decoder(self, keras: Any) -> Path:
        """A Keras 3 `model.export()` SavedModel: no Keras configuration at all."""
        keras.utils.set_random_seed(0)
        z = keras.Input((2,), name="z")
        h = keras.layers.Dense(16, activation="relu", name="h")(z)
        out = keras.layers.Dense(8, activation="sigmoid", name="pixels")(h)
        path = self.root / "exported_decoder"
        keras.Model(z, out, name="decoder").export(str(path), verbose=False)
        return path


@pytest.fixture(scope="session")
def models(saved_models, tmp_path_factory) -> ProbeModels:
    return ProbeModels(saved_models, tmp_path_factory.mktemp("probe"))


@pytest.fixture(scope="session")
def probed(models: ProbeModels) -> dict[str, Any]:
    """Every probe-level case in one child process: TensorFlow is imported once."""
    jobs = {
        "canary_safe": ProbeJob(str(models.canary_lambda), models.data),
        "lambda_tail": ProbeJob(str(models.lambda_tail), models.data, safe_mode=False),
        "custom_activation": ProbeJob(
            str(models.custom_activation), models.data, custom_objects=str(CUSTOM_OBJECTS)
        ),
        "vae_unregistered": ProbeJob(str(models.dead_relu_vae), models.data),
        "tf_keras_saved_model": ProbeJob(
            str(models.tf_keras_saved_model), models.data, safe_mode=False, samples=64
        ),
    }
    outcomes: dict[str, Any] = dict(zip(jobs, probe_models(list(jobs.values()), timeout=300)))
    # Recorded now: a later test runs the canary model with --unsafe, which creates the file.
    outcomes["canary_ran_in_safe_mode"] = models.canary.exists()
    return outcomes


def _result(outcome: ProbeResult | ProbeFailure) -> ProbeResult:
    assert isinstance(outcome, ProbeResult), outcome
    return outcome


# --- the probe itself, against what Keras computes ----------------------------------------------


def test_lambda_is_refused_in_safe_mode_and_none_of_its_code_runs(probed, models):
    failure = probed["canary_safe"]
    assert isinstance(failure, ProbeFailure) and failure.kind == "safe-mode"
    message = str(failure.error())
    assert message.startswith(f"{models.canary_lambda}: safe mode refused to load the model")
    assert "a Lambda layer" in message and "--unsafe" in message and "\n" not in message
    assert probed["canary_ran_in_safe_mode"] is False


def test_model_ending_in_a_lambda_is_measured_as_keras_runs_it(probed, models):
    result = _result(probed["lambda_tail"])
    expected = models.keras_outputs["lambda_tail"]
    [output] = result.outputs
    assert (result.inputs, result.samples, result.safe_mode) == ("data", 200, False)
    assert output.shape == (8,) and output.values == expected.size and output.nonfinite == 0
    assert output.low == pytest.approx(float(expected.min()), rel=1e-6)
    assert output.high == pytest.approx(float(expected.max()), rel=1e-6)
    assert -3 < output.low < -1 and 1 < output.high < 3  # tanh tripled: beyond tanh, within 3


def test_custom_activation_loads_from_the_custom_objects_file(probed, models):
    result = _result(probed["custom_activation"])
    expected = models.keras_outputs["custom_activation"]
    [output] = result.outputs
    assert result.safe_mode is True and result.loader == "keras.saving.load_model"
    assert output.low == pytest.approx(float(expected.min()), rel=1e-6)
    assert output.high == pytest.approx(float(expected.max()), rel=1e-6)
    assert output.high > 1  # 2 * tanh: a range no built-in activation gives


def test_unregistered_sampling_layer_asks_for_custom_objects(probed, models):
    failure = probed["vae_unregistered"]
    assert isinstance(failure, ProbeFailure) and failure.kind == "custom-object"
    message = str(failure.error())
    assert message.startswith(str(models.dead_relu_vae) + ": ")
    assert "'Sampling'" in message and "--custom-objects FILE.py" in message
    assert "\n" not in message and len(message) < 400


def test_tf_keras_saved_model_directory_is_probed_through_tfsmlayer(probed, models):
    result = _result(probed["tf_keras_saved_model"])
    [output] = result.outputs
    # tf.keras SavedModels have no "serve" endpoint: the loader falls back to serving_default.
    assert "serving_default" in result.loader and result.saved_model is True
    assert result.inputs == LATENT_INPUTS and result.samples == 3 * 64
    assert output.shape == (8,)
    expected = models.keras_outputs["tf_keras_saved_model"]
    assert output.values == expected.size == 3 * 64 * 8 and output.nonfinite == 0
    assert output.low == pytest.approx(float(expected.min()), rel=1e-6, abs=1e-7)
    assert output.high == pytest.approx(float(expected.max()), rel=1e-6, abs=1e-7)


def test_python_api_probes_in_safe_mode_unless_told_otherwise(models):
    import vaecheck
    from vaecheck.probe import ProbeOptions

    assert ProbeOptions().safe_mode is True
    models.canary.unlink(missing_ok=True)  # a later test runs the canary with --unsafe
    # In safe mode a file whose Lambda holds code (VC301) is not loaded at all; unsafe, it would
    # be loaded and its Lambda run.
    report = vaecheck.check(models.canary_lambda, models.data, probe=True)
    assert any("--probe did not load the model: VC301" in note for note in report.notes)
    assert not models.canary.exists(), "probe=True ran a Lambda layer's code"


# --- the command line ---------------------------------------------------------------------------


def test_vae_with_custom_sampling_layer_probed_with_custom_objects(models, capsys):
    code, out, err = run_main(
        [
            str(models.dead_relu_vae),
            str(models.data_path),
            "--probe",
            "--custom-objects",
            str(CUSTOM_OBJECTS),
            "--format",
            "json",
        ],
        capsys,
    )
    assert code == 1, err
    assert err == ""
    report = json.loads(out)
    assert report["probe"]["safe_mode"] is True
    assert report["probe"]["keras_version"].startswith("3.")
    [output] = report["outputs"]
    probe = output["probe"]
    assert (probe["observed_min"], probe["observed_max"]) == (0.0, 0.0)  # every unit dead
    assert probe["inputs"] == "data" and probe["samples"] == 200 and probe["safe_mode"] is True
    away_from_zero = np.abs(models.data) > FLOAT32_TOLERANCE
    assert probe["fraction_outside_observed"] == pytest.approx(away_from_zero.mean())
    codes = {f["code"]: f for f in output["findings"]}
    assert set(codes) == {"VC001", "VC202"}  # relu cannot go negative; and this relu is dead
    assert codes["VC202"]["severity"] == "warning"
    assert "dead relu" in codes["VC202"]["message"]


def test_lambda_model_with_unsafe_runs_its_code_and_says_safe_mode_was_off(probed, models, capsys):
    assert probed["canary_ran_in_safe_mode"] is False
    code, out, err = run_main(
        [str(models.canary_lambda), str(models.data_path), "--probe", "--unsafe", "--no-color"],
        capsys,
    )
    # The lambda ran: the canary that stayed absent in safe mode is a working detector.
    assert models.canary.exists()
    assert code == 1, out + err  # the bytecode is a VC301 error; the unknown range a warning
    assert "VC301 error" in out
    assert err.startswith("vaecheck: warning: --unsafe: safe mode is off")
    assert "safe mode OFF (--unsafe)" in out
    assert re.search(r"observed +\[", out)
    assert "VC004" in out and "--probe observed [" in out and "(observed, not proven)" in out


def test_savedmodel_export_is_only_probed_and_labelled(models, capsys):
    import keras

    saved_model = models.exported_decoder(keras)
    data = str(models.data_path)

    code, out, err = run_main([str(saved_model), data], capsys)
    assert (code, out) == (2, "")
    assert "without Keras metadata" in err and "--probe" in err and err.count("\n") == 1

    code, out, err = run_main([str(saved_model), data, "--probe"], capsys)
    assert (code, out) == (2, "")
    assert "--unsafe" in err and err.count("\n") == 1

    # The real run, in a fresh interpreter: the parent must not import TensorFlow, only the child.
    script = textwrap.dedent(f"""
        import sys
        from vaecheck.cli import main
        code = main([{str(saved_model)!r}, {data!r}, "--probe", "--unsafe",
                     "--probe-samples", "100", "--format", "json"])
        heavy = {{"tensorflow", "keras", "jax", "torch"}} & {{m.split(".")[0] for m in sys.modules}}
        heavy = sorted(heavy)
        print("EXIT", code, "HEAVY", heavy, file=sys.stderr)
        """)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert "EXIT 0 HEAVY []" in done.stderr, done.stderr
    report = json.loads(done.stdout)
    [output] = report["outputs"]
    assert report["probe"]["safe_mode"] is False
    assert report["probe"]["saved_model_without_keras_metadata"] is True
    assert "TFSMLayer" in report["probe"]["loader"]
    assert output["range"]["known"] is False
    assert "SavedModel without Keras metadata" in output["range"]["reason"]
    assert output["probe"]["inputs"] == LATENT_INPUTS and output["probe"]["samples"] == 300
    assert 0 <= output["probe"]["observed_min"] < output["probe"]["observed_max"] <= 1
    [finding] = output["findings"]
    assert finding["code"] == "VC004" and "observed, not proven" in finding["message"]


# --- the child process: missing TensorFlow, timeouts --------------------------------------------


def _site_hook(tmp_path: Path, monkeypatch, code: str) -> None:
    """Run `code` at start-up of every new interpreter (the probe child), not in this one."""
    (tmp_path / "sitecustomize.py").write_text(textwrap.dedent(code))
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])
    )


def test_without_tensorflow_probe_says_what_to_install(tmp_path, monkeypatch, capsys, samples):
    _site_hook(
        tmp_path,
        monkeypatch,
        """
        import sys

        class BlockTensorFlow:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("keras", "tensorflow"):
                    raise ModuleNotFoundError(f"No module named {name!r}", name=name)
                return None

        sys.meta_path.insert(0, BlockTensorFlow())
        """,
    )
    model, data = samples / "tanh_generator.keras", samples / "images_uint8.npy"
    code, out, err = run_main([str(model), str(data), "--probe"], capsys)
    assert (code, out) == (2, "")
    # The command that installs the extra into this very installation, which is not published.
    assert re.search(r"pip install (-e )?'?\S*\[tensorflow\]", err) and err.count("\n") == 1
    # The static check needs none of it.
    assert run_main([str(model), str(data)], capsys)[0] == 1


def test_a_probe_that_hangs_is_stopped_at_the_timeout(tmp_path, monkeypatch, capsys, samples):
    pid_file = tmp_path / "child.pid"
    _site_hook(
        tmp_path,
        monkeypatch,
        f"""
        import os, time
        with open({str(pid_file)!r}, "w") as handle:
            handle.write(str(os.getpid()))
        time.sleep(600)
        """,
    )
    model, data = samples / "tanh_generator.keras", samples / "images_uint8.npy"
    started = time.monotonic()
    code, out, err = run_main([str(model), str(data), "--probe", "--probe-timeout", "1.5"], capsys)
    elapsed = time.monotonic() - started
    assert (code, out) == (2, "")
    assert "did not finish within 1.5 s" in err and "--probe-timeout" in err
    assert elapsed < 30
    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # stopped and reaped, not left sleeping


@pytest.mark.parametrize(
    "extra",
    [
        ["--unsafe"],
        ["--probe-samples", "10"],
        ["--probe-timeout", "5"],
        ["--custom-objects", __file__],
    ],
)
def test_probe_options_without_probe_are_a_usage_error(extra, samples, capsys):
    code, out, err = run_main(
        [str(samples / "relu_vae.keras"), str(samples / "standardized.npy"), *extra], capsys
    )
    assert code == 2 and out == ""
    assert f"{extra[0]} applies only with --probe" in err


# --- choosing the data rows to run (no Keras) ---------------------------------------------------


@pytest.mark.parametrize("order", ["C", "F"])
def test_sample_rows_are_evenly_spread_whole_rows_without_nonfinite_ones(tmp_path, order):
    from vaecheck.probe import sample_rows
    from vaecheck.readers.data import open_data

    data = np.arange(1000 * 6, dtype=np.float64).reshape(1000, 6)
    data[500, 2] = np.nan
    path = tmp_path / "rows.npy"
    np.save(path, np.asarray(data, order=order))
    source = open_data(path)
    picked = sample_rows(source, 101)
    # Each picked row is a whole row of the data, in file order, first and last included.
    rows = (picked[:, 0] // 6).astype(int)
    assert np.array_equal(picked, data[rows])
    assert rows[0] == 0 and rows[-1] == 999 and np.all(np.diff(rows) > 0)
    assert 500 not in rows and len(rows) == 100  # the NaN row was picked, then left out
    # Every picked row is within one row of where an even spread would put it.
    assert np.abs(rows - np.linspace(0, 999, 101)[np.arange(101) != 50]).max() <= 1
    assert np.array_equal(sample_rows(open_data(path), 5000), data[np.isfinite(data).all(axis=1)])

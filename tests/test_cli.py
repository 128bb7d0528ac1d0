"""The CLI end to end, on the shipped sample models and on fresh saved models."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from vaecheck.cli import command, main

SAMPLES = Path(__file__).resolve().parent.parent / "sample_models"


def run(*args: str) -> tuple[int, str, str]:
    runner = CliRunner()
    result = runner.invoke(command, list(args), standalone_mode=False, catch_exceptions=False)
    return result.return_value, result.stdout, result.stderr


def run_main(args: list[str], capsys) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_relu_vae_on_standardized_data_is_an_error(capsys):
    code, out, err = run_main(
        [str(SAMPLES / "relu_vae.keras"), str(SAMPLES / "standardized.npy"), "--no-color"], capsys
    )
    data = np.load(SAMPLES / "standardized.npy")
    negative = int((data < 0).sum())
    assert code == 1, out + err
    assert err == ""
    assert out.splitlines()[2].startswith("✗ 1 error")
    assert "decoder › dec_out: relu" in out
    assert "[0, inf)" in out
    assert f"{negative:,} of {data.size:,}" in out
    assert "VC001" in out
    assert "linear" in out
    assert "keras.layers.Rescaling(" in out


def test_sigmoid_vae_on_unit_data_is_clean(capsys):
    code, out, _ = run_main(
        [str(SAMPLES / "sigmoid_vae.keras"), str(SAMPLES / "unit.npy"), "--no-color"], capsys
    )
    assert code == 0, out
    assert "VC00" not in out
    # Its only finding is about the file: the custom Sampling layer needs its code to load.
    assert "! 1 info" in out and "VC306 info" in out
    code, out, _ = run_main(
        [str(SAMPLES / "sigmoid_vae.keras"), str(SAMPLES / "unit.npy"), "--no-color", "--ignore", "VC306"],
        capsys,
    )
    assert code == 0 and "✓" in out


def test_tanh_generator_on_uint8_images_suggests_dividing_by_127_5(capsys):
    code, out, _ = run_main(
        [str(SAMPLES / "tanh_generator.keras"), str(SAMPLES / "images_uint8.npy"), "--no-color"],
        capsys,
    )
    assert code == 1
    assert "8-bit images" in out
    assert "x / 127.5 - 1" in out
    assert "x_model = x * 0.0078431373 - 1.0" in out
    assert "x       = x_model * 127.5 + 127.5" in out


def test_json_report_follows_the_contract(capsys):
    code, out, _ = run_main(
        [str(SAMPLES / "tanh_generator.keras"), str(SAMPLES / "images_uint8.npy"), "--format", "json"],
        capsys,
    )
    report = json.loads(out)
    images = np.load(SAMPLES / "images_uint8.npy")
    assert code == 1
    assert report["version"] == 1 and report["ok"] is False
    assert report["model"].endswith("tanh_generator.keras")
    [output] = report["outputs"]
    assert output["activation"] == "tanh"
    assert output["range"] == {
        "known": True, "low": -1.0, "high": 1.0, "low_closed": False, "high_closed": False,
        "notes": [], "simplex_axis": None, "saved_weights": [],
    }
    assert output["data"]["count_outside"] == int((images > 1).sum())
    assert output["data"]["min"] == 0 and output["data"]["max"] == 255
    [finding] = output["findings"]
    assert (finding["code"], finding["severity"]) == ("VC001", "error")
    assert finding["fraction_outside"] == pytest.approx((images > 1).mean())
    rescale = output["fix"]["rescale"]
    assert rescale["scale"] == pytest.approx(1 / 127.5)
    assert rescale["offset"] == pytest.approx(-1.0)
    assert rescale["inverse_scale"] == pytest.approx(127.5)
    assert rescale["inverse_offset"] == pytest.approx(127.5)
    # The fix really maps the data into the codomain.
    mapped = images.astype(np.float64) * rescale["scale"] + rescale["offset"]
    assert mapped.min() >= -1 and mapped.max() <= 1


def test_h5_model_gives_the_same_verdict_as_keras(capsys):
    keras_code, keras_out, _ = run_main(
        [str(SAMPLES / "relu_vae.keras"), str(SAMPLES / "standardized.npy"), "--format", "json"], capsys
    )
    h5_code, h5_out, _ = run_main(
        [str(SAMPLES / "relu_vae.h5"), str(SAMPLES / "standardized.npy"), "--format", "json"], capsys
    )
    assert keras_code == h5_code == 1
    assert json.loads(keras_out)["outputs"][0]["findings"] == json.loads(h5_out)["outputs"][0]["findings"]


def test_npz_needs_a_key_when_it_holds_several_arrays(tmp_path, capsys):
    data = np.load(SAMPLES / "unit.npy")
    path = tmp_path / "data.npz"
    np.savez(path, x=data, y=data[:, :3])
    code, _, err = run_main([str(SAMPLES / "sigmoid_vae.keras"), str(path)], capsys)
    assert code == 2 and "--key" in err and "\n" == err[-1] and err.count("\n") == 1
    code, out, _ = run_main([str(SAMPLES / "sigmoid_vae.keras"), str(path), "--key", "x", "--no-color"], capsys)
    assert code == 0, out


def test_shape_mismatch_names_both_shapes(tmp_path, capsys):
    path = tmp_path / "wide.npy"
    np.save(path, np.zeros((10, 7), dtype=np.float32))
    code, out, err = run_main([str(SAMPLES / "relu_vae.keras"), str(path)], capsys)
    assert code == 2 and out == ""
    assert "(None, 7)" in err and "(None, 16)" in err and str(path) in err


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["absent.keras", "standardized.npy"], "absent.keras: no such file"),
        (["relu_vae.keras", "absent.npy"], "absent.npy"),
        (["standardized.npy", "standardized.npy"], "not a Keras model"),
    ],
)
def test_unusable_input_is_one_line_and_exit_2(args, needle, capsys):
    paths = [str(SAMPLES / a) for a in args]
    code, out, err = run_main(paths, capsys)
    assert code == 2
    assert out == ""
    assert needle in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_usage_errors_exit_2_and_say_what_is_wrong(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # no pyproject.toml with pairs to fall back on
    code, out, err = run_main([], capsys)
    assert (code, out) == (2, "")
    assert err.startswith("Usage: vaecheck check [OPTIONS] [MODEL DATA]...\n")
    assert "Error: nothing to check: pass MODEL DATA" in err
    assert "no pyproject.toml with [tool.vaecheck] was found from here upward" in err
    code, out, err = run_main(["--format", "yaml", "a", "b"], capsys)
    assert (code, out) == (2, "")
    assert err.endswith(
        "Error: Invalid value for '-f' / '--format': "
        "'yaml' is not one of 'text', 'json', 'sarif', 'github', 'auto'.\n"
    )


def test_nonfinite_data_is_an_error(tmp_path, capsys):
    data = np.load(SAMPLES / "unit.npy").copy()
    data[3, 4] = np.nan
    path = tmp_path / "nan.npy"
    np.save(path, data)
    code, out, _ = run_main([str(SAMPLES / "sigmoid_vae.keras"), str(path), "--format", "json"], capsys)
    report = json.loads(out)
    assert code == 1
    assert [f["code"] for f in report["outputs"][0]["findings"]] == ["VC003"]


def test_open_end_is_a_warning_except_with_binary_crossentropy(tmp_path, capsys):
    data = np.load(SAMPLES / "unit.npy").copy()
    data[0, :] = 1.0
    data[1, :] = 0.0
    path = tmp_path / "ends.npy"
    np.save(path, data)
    model = str(SAMPLES / "sigmoid_vae.keras")  # compiled with binary cross-entropy
    code, out, _ = run_main([model, str(path), "--format", "json"], capsys)
    [finding] = json.loads(out)["outputs"][0]["findings"]
    assert (code, finding["code"], finding["severity"]) == (0, "VC002", "info")
    code, out, _ = run_main([model, str(path), "--format", "json", "--loss", "mse"], capsys)
    [finding] = json.loads(out)["outputs"][0]["findings"]
    assert (code, finding["severity"]) == (0, "warning")
    assert main([model, str(path), "--loss", "mse", "--fail-on", "warning"]) == 1
    assert main([model, str(path), "--loss", "mse", "--fail-on", "warning", "--exit-zero"]) == 0


def test_unknown_output_range_is_a_warning_naming_the_layer(saved_models, tmp_path, capsys):
    def build(keras):
        x = keras.Input((4,), name="x")
        h = keras.layers.Dense(4, activation="tanh", name="h")(x)
        out = keras.layers.Lambda(lambda t: t * 3.0, name="triple")(h)
        return keras.Model(x, out)

    model = saved_models.save("lambda_out", build)
    path = tmp_path / "d.npy"
    np.save(path, np.linspace(-5, 5, 40, dtype=np.float32).reshape(10, 4))
    code, out, _ = run_main([str(model), str(path), "--format", "json"], capsys)
    [output] = json.loads(out)["outputs"]
    # The Lambda's bytecode is also code Keras runs on loading: a VC301 error about the file.
    assert code == 1
    assert [(f["code"], f["layer"]) for f in json.loads(out)["findings"]] == [("VC301", "triple")]
    assert output["range"]["known"] is False and output["range"]["unknown_at"] == "triple"
    [finding] = output["findings"]
    assert (finding["code"], finding["severity"]) == ("VC004", "warning")
    assert "triple" in finding["message"]


def test_python_api_accepts_an_array():
    import vaecheck

    data = np.load(SAMPLES / "standardized.npy")
    report = vaecheck.check(SAMPLES / "relu_vae.keras", data)
    assert not report.ok
    assert report.outputs[0].findings[0].evidence["count_below"] == int((data < 0).sum())
    clean = vaecheck.check(SAMPLES / "relu_vae.keras", np.abs(data))
    assert clean.ok and [f.code for f in clean.findings] == ["VC306"]  # the custom Sampling layer


def test_help_teaches_usage_and_exit_codes(capsys):
    code, out, _ = run_main(["--help"], capsys)
    assert code == 0
    for needle in ("MODEL", "DATA", "--format", "Exit codes", "vaecheck vae.keras"):
        assert needle in out


def test_version_is_the_installed_distribution_version(capsys):
    from importlib.metadata import version

    code, out, err = run_main(["--version"], capsys)
    assert (code, err) == (0, "")
    assert out == f"vaecheck, version {version('vaecheck')}\n"
    assert version("vaecheck") == vaecheck_version()


def vaecheck_version() -> str:
    """The version pyproject.toml declares, which the installed distribution must carry."""
    import re

    text = (SAMPLES.parent / "pyproject.toml").read_text(encoding="utf-8")
    match = re.search(r'^version = "([^"]+)"$', text, re.MULTILINE)
    assert match is not None
    return match.group(1)


def test_static_path_never_imports_tensorflow_or_keras():
    script = (
        "import sys\n"
        "from vaecheck.cli import main\n"
        f"codes = [main([{str(SAMPLES / 'relu_vae.keras')!r}, {str(SAMPLES / 'standardized.npy')!r}]),\n"
        f"         main([{str(SAMPLES / 'relu_vae.h5')!r}, {str(SAMPLES / 'standardized.npy')!r}, '--format', 'json'])]\n"
        "assert codes == [1, 1], codes\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'tf_keras', 'torch', 'jax')]\n"
        "print('LOADED', loaded)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "LOADED []" in result.stdout


def test_console_script_runs(tmp_path):
    exe = Path(sys.executable).parent / "vaecheck"
    if not exe.exists():
        pytest.skip("vaecheck is not installed as a console script in this environment")
    result = subprocess.run(
        [str(exe), str(SAMPLES / "tanh_generator.keras"), str(SAMPLES / "images_uint8.npy")],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 1
    assert "\x1b[" not in result.stdout  # not a terminal: no colour codes
    assert "VC001" in result.stdout


def _data(tmp_path, values, name="d.npy"):
    path = tmp_path / name
    np.save(path, np.asarray(values, dtype=np.float32))
    return str(path)


def test_hull_of_a_union_is_said_in_text_and_json(saved_models, tmp_path, capsys):
    def build(keras):
        x = keras.Input((4,), name="x")
        h = keras.layers.Dense(4, name="h")(x)
        gated = keras.layers.ReLU(threshold=0.5, name="gated")(h)
        shrunk = keras.layers.Activation("hard_shrink", name="shrunk")(h)
        return keras.Model(x, [gated, shrunk])

    model = str(saved_models.save("unions", build))
    data = _data(tmp_path, np.linspace(0.0, 3.0, 40).reshape(10, 4))
    code, out, _ = run_main([model, data, "--no-color"], capsys)
    assert code == 0, out
    assert "note        relu(threshold=0.5) takes values in {0} ∪ (0.5, inf); the range shown is the hull" in out
    assert "hard_shrink takes values in (-inf, -0.5) ∪ {0} ∪ (0.5, inf)" in out
    code, out, _ = run_main([model, data, "--format", "json"], capsys)
    gated, shrunk = json.loads(out)["outputs"]
    assert gated["range"]["low"] == 0 and gated["range"]["high"] is None
    assert any("{0} ∪ (0.5, inf)" in note and "hull" in note for note in gated["range"]["notes"])
    assert any("∪ {0} ∪" in note for note in shrunk["range"]["notes"])


def test_softmax_outputs_carry_their_simplex_axis(saved_models, tmp_path, capsys):
    def build(keras):
        x = keras.Input((5,), name="x")
        return keras.Model(x, keras.layers.Dense(3, activation="softmax", name="probs")(x))

    model = str(saved_models.save("softmax_head", build))
    one_hot = np.eye(3)[np.arange(12) % 3]
    code, out, _ = run_main([model, _data(tmp_path, one_hot), "--format", "json"], capsys)
    [output] = json.loads(out)["outputs"]
    assert output["range"]["simplex_axis"] == -1
    assert (output["range"]["low"], output["range"]["high"]) == (0, 1)
    assert code == 0


def test_unknown_layers_never_stop_the_run_and_are_named(saved_models, tmp_path, capsys):
    def build(keras):
        class Scale(keras.layers.Layer):  # a custom layer, registered nowhere
            def call(self, inputs):
                return 3.0 * inputs

        x = keras.Input((4,), name="x")
        h = keras.layers.Dense(4, activation="tanh", name="h")(x)
        custom = Scale(name="scaled")(h)
        lam = keras.layers.Lambda(lambda t: t * 3.0, name="tripled")(h)
        bounded = keras.layers.Activation("sigmoid", name="squashed")(Scale(name="inner")(h))
        return keras.Model(x, [custom, lam, bounded])

    model = str(saved_models.save("unknown_layers", build))
    data = _data(tmp_path, np.linspace(0.05, 0.95, 40).reshape(10, 4))
    code, out, err = run_main([model, data, "--no-color", "--select", "VC004"], capsys)
    assert code == 0 and err == "", err
    assert "! 2 warnings" in out
    assert "VC004 warning the output range is unknown at scaled (custom layer Scale" in out
    assert "VC004 warning the output range is unknown at tripled (Lambda layer" in out
    # An activation after an unknown layer bounds the output all the same.
    assert "squashed: sigmoid" in out
    code, out, _ = run_main([model, data, "--format", "json", "--fail-on", "warning"], capsys)
    scaled, tripled, squashed = json.loads(out)["outputs"]
    assert code == 1
    # The file itself: Scale, from this test module and registered nowhere, is an import Keras
    # before 3.9 would make (VC302); the Lambda holds bytecode (VC301).
    assert {(f["code"], f["layer"]) for f in json.loads(out)["findings"]} == {
        ("VC302", "scaled"), ("VC302", "inner"), ("VC301", "tripled"),
    }
    assert (scaled["range"]["unknown_at"], tripled["range"]["unknown_at"]) == ("scaled", "tripled")
    assert squashed["range"]["known"] is True


def test_saved_model_directory_through_the_cli(saved_models, tmp_path, capsys):
    def build(keras):
        x = keras.Input((4,), name="x")
        return keras.Model(x, keras.layers.Dense(4, activation="sigmoid", name="out")(x))

    directory = str(saved_models.save_tf_keras("sigmoid_head", build, suffix=""))
    code, out, err = run_main([directory, _data(tmp_path, np.full((6, 4), 2.0))], capsys)
    assert code == 1 and err == ""
    assert "out: sigmoid" in out and "VC001" in out


def test_subclassed_vae_with_custom_sampling_through_the_cli(saved_models, tmp_path, capsys):
    from test_readers_model import _subclassed_vae

    model = str(saved_models.save("subclassed_vae_cli", _subclassed_vae))
    code, out, err = run_main([model, _data(tmp_path, np.full((6, 6), 1e6)), "--format", "json"], capsys)
    [output] = json.loads(out)["outputs"]
    # A range from saved weights only: a warning. The VAE class comes from this test module and
    # is registered nowhere: Keras before 3.9 would import that module (VC302, an error).
    assert err == "" and code == 1
    assert {f["code"] for f in json.loads(out)["findings"]} == {"VC302"}
    assert output["layer"] == "decoder › dec_out"
    assert output["range"]["saved_weights"] == ["decoder › bn", "decoder › dec_out"]
    assert [(f["code"], f["severity"]) for f in output["findings"]] == [("VC001", "warning")]
    assert any("subclassed" in note for note in json.loads(out)["notes"])

"""The CLI on data in every format, sampled, per feature and saved: real models, real files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from vaecheck.cli import command, main

SAMPLES = Path(__file__).resolve().parent.parent / "sample_models"
RELU_VAE = str(SAMPLES / "relu_vae.keras")
SIGMOID_VAE = str(SAMPLES / "sigmoid_vae.keras")


def run_main(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def as_json(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    code, out, err = run_main([*args, "--format", "json"], capsys)
    assert err == "", err
    return code, json.loads(out)


@pytest.fixture(scope="module")
def standardized() -> np.ndarray:
    return np.load(SAMPLES / "standardized.npy")


def below_zero(data: np.ndarray) -> int:
    return int((data < -4 * np.finfo(np.float32).eps).sum())


@pytest.fixture
def formats(tmp_path: Path, standardized: np.ndarray) -> dict[str, str]:
    """The same 512 x 16 standardized sample in every format vaecheck reads."""
    names = ",".join(f"f{i}" for i in range(16))
    np.savetxt(tmp_path / "data.csv", standardized, delimiter=",", header=names, comments="",
               fmt="%.9g")
    np.savetxt(tmp_path / "data.tsv", standardized, delimiter="\t", fmt="%.9g")
    with h5py.File(tmp_path / "data.h5", "w") as handle:
        handle.create_dataset("train/x", data=standardized, chunks=(64, 16), compression="gzip")
        handle["train/y"] = np.zeros(512)
    np.savez_compressed(tmp_path / "data.npz", x=standardized, y=np.zeros(512))
    shards = tmp_path / "shards"
    shards.mkdir()
    for part in range(4):
        np.save(shards / f"part-{part}.npy", standardized[part * 128 : (part + 1) * 128])
    return {
        "npy": str(SAMPLES / "standardized.npy"),
        "npz": f"{tmp_path / 'data.npz'}",
        "csv": str(tmp_path / "data.csv"),
        "tsv": str(tmp_path / "data.tsv"),
        "h5": f"{tmp_path / 'data.h5'}:/train/x",
        "shards": str(shards),
        "glob": str(shards / "part-*.npy"),
    }


@pytest.mark.parametrize("kind", ["npy", "npz", "csv", "tsv", "h5", "shards", "glob"])
def test_every_format_gives_the_same_verdict(
    kind: str, formats: dict[str, str], standardized: np.ndarray, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = ["--key", "x"] if kind == "npz" else []
    code, report = as_json([RELU_VAE, formats[kind], *extra], capsys)
    assert code == 1
    [output] = report["outputs"]
    assert output["data"]["count_below"] == below_zero(standardized)
    assert report["data_summary"]["shape"] == [512, 16]
    assert report["data_summary"]["kind"] == "standardized"
    assert [f["code"] for f in output["findings"]] == ["VC001"]


def test_csv_columns_and_names_reach_the_report(formats: dict[str, str], capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run_main([RELU_VAE, formats["csv"], "--no-color"], capsys)
    assert code == 1 and err == ""
    assert "worst features  feature " in out and " 'f" in out  # named by the CSV header
    _, report = as_json([RELU_VAE, formats["csv"]], capsys)
    worst = report["outputs"][0]["data"]["worst_features"][0]
    assert worst["name"] == f"f{worst['index']}" and worst["count_below"] > 0
    code, out, err = run_main([RELU_VAE, formats["csv"], "--columns", "f0,f1"], capsys)
    assert code == 2 and out == ""
    assert "samples have shape (None, 2), which matches no model output" in err


def test_csv_with_a_word_in_it_names_line_and_column(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bad.csv"
    rows = [",".join(["0.5"] * 16)] * 40
    rows[30] = ",".join(["0.5"] * 9 + ["n/a"] + ["0.5"] * 6)
    path.write_text("\n".join(rows) + "\n")
    code, out, err = run_main([SIGMOID_VAE, str(path)], capsys)
    assert (code, out) == (2, "")
    assert err == f"vaecheck: error: {path}: line 31, column 9: 'n/a' is not a number\n"


def test_ragged_shards_exit_2_naming_the_shapes(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    np.save(tmp_path / "a.npy", np.zeros((10, 16), np.float32))
    np.save(tmp_path / "b.npy", np.zeros((10, 15), np.float32))
    code, out, err = run_main([RELU_VAE, str(tmp_path)], capsys)
    assert (code, out) == (2, "")
    assert "ragged shards" in err and "a.npy has (10, 16)" in err and "b.npy has (10, 15)" in err
    assert err.count("\n") == 1


def test_hdf5_link_is_refused_with_exit_2(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "links.h5"
    with h5py.File(path, "w") as handle:
        handle["x"] = np.zeros((4, 16))
        handle["alias"] = h5py.SoftLink("/x")
    code, out, err = run_main([RELU_VAE, f"{path}:/alias"], capsys)
    assert (code, out) == (2, "")
    assert "soft link" in err and err.count("\n") == 1


def test_standard_input_through_click(standardized: np.ndarray) -> None:
    raw = (SAMPLES / "standardized.npy").read_bytes()
    result = CliRunner().invoke(
        command, [RELU_VAE, "-", "--format", "json"], input=raw, standalone_mode=False,
        catch_exceptions=False,
    )
    assert result.return_value == 1
    report = json.loads(result.stdout)
    assert report["data"] == "<stdin>"
    assert report["outputs"][0]["data"]["count_below"] == below_zero(standardized)


def test_standard_input_through_a_real_pipe() -> None:
    script = "import sys; from vaecheck.cli import run; sys.argv[0] = 'vaecheck'; run()"
    with (SAMPLES / "standardized.npy").open("rb") as data:
        result = subprocess.run(
            [sys.executable, "-c", script, RELU_VAE, "-", "--no-color"],
            stdin=data, capture_output=True, text=True, timeout=120,
        )
    assert result.returncode == 1, result.stderr
    assert "× <stdin>" in result.stdout and "VC001" in result.stdout


def test_sample_says_so_in_text_and_json(formats: dict[str, str], capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run_main([RELU_VAE, formats["h5"], "--sample", "100", "--seed", "7",
                             "--no-color"], capsys)
    assert code == 1
    assert "sample: 100 of 512 rows, drawn at random, seed 7" in out
    code, report = as_json([RELU_VAE, formats["shards"], "--sample", "100"], capsys)
    summary = report["data_summary"]
    assert summary["sampled"] is True
    assert summary["sample"] == {"rows": 100, "of_rows": 512, "seed": 0}
    assert summary["shape"] == [100, 16] and summary["count"] == 1600
    # The same seed draws the same rows, from any format.
    _, again = as_json([RELU_VAE, formats["npy"], "--sample", "100"], capsys)
    assert again["outputs"][0]["data"] == report["outputs"][0]["data"]


def test_unsampled_report_says_it_is_not_a_sample(capsys) -> None:  # type: ignore[no-untyped-def]
    _, report = as_json([RELU_VAE, str(SAMPLES / "standardized.npy")], capsys)
    assert report["data_summary"]["sampled"] is False and report["data_summary"]["sample"] is None
    quantiles = report["data_summary"]["quantiles"]
    assert quantiles["exact_counts"] is True and quantiles["rank_error"] == 0


def mixed_ranges() -> np.ndarray:
    data = np.load(SAMPLES / "unit.npy").astype(np.float64)
    data[:, 3] *= 1000  # one feature in [0, 1000]
    return data


def test_per_feature_rescaling_saved_and_applied(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    data = mixed_ranges()
    np.save(tmp_path / "mixed.npy", data)
    saved = tmp_path / "rescale.npz"
    code, out, err = run_main([SIGMOID_VAE, str(tmp_path / "mixed.npy"), "--save-rescale",
                               str(saved), "--no-color"], capsys)
    assert code == 1 and err == ""
    assert "worst features  feature 3: 100.0% above 1" in out
    assert "per feature (16 features)" in out and "the features' ranges differ" in out
    vectors = np.load(saved)
    assert sorted(vectors.files) == ["inverse_offset", "inverse_scale", "offset", "scale"]
    mapped = data * vectors["scale"] + vectors["offset"]
    # Each feature spans the whole target range, and maps back exactly.
    np.testing.assert_allclose(mapped.min(axis=0), 0.0, atol=1e-9)
    np.testing.assert_allclose(mapped.max(axis=0), 1.0, atol=1e-9)
    np.testing.assert_allclose(mapped * vectors["inverse_scale"] + vectors["inverse_offset"], data)


def test_per_feature_on_request_and_in_json(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    data = np.load(SAMPLES / "standardized.npy")
    code, report = as_json([RELU_VAE, str(SAMPLES / "standardized.npy")], capsys)
    assert "per_feature" not in report["outputs"][0]["fix"]  # ranges alike: one map will do
    code, report = as_json([RELU_VAE, str(SAMPLES / "standardized.npy"), "--per-feature"], capsys)
    vectors = report["outputs"][0]["fix"]["per_feature"]
    assert vectors["reason"] == "asked for with --per-feature" and len(vectors["scale"]) == 16
    low, high = vectors["target"]
    mapped = data * np.array(vectors["scale"]) + np.array(vectors["offset"])
    np.testing.assert_allclose(mapped.min(axis=0), low, atol=1e-6)
    np.testing.assert_allclose(mapped.max(axis=0), high, atol=1e-6)


def test_save_rescale_as_json_and_identity_when_clean(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "r.json"
    code, _, _ = run_main([str(SAMPLES / "tanh_generator.keras"),
                           str(SAMPLES / "images_uint8.npy"), "--save-rescale", str(path)], capsys)
    saved = json.loads(path.read_text())
    assert code == 1 and saved["needed"] is True and saved["for_activation"] == "tanh"
    assert saved["scale"] == pytest.approx(1 / 127.5) and saved["offset"] == pytest.approx(-1)
    code, _, _ = run_main([SIGMOID_VAE, str(SAMPLES / "unit.npy"), "--save-rescale",
                           str(path)], capsys)
    saved = json.loads(path.read_text())
    assert code == 0 and saved["needed"] is False
    assert (saved["scale"], saved["offset"]) == (1.0, 0.0)


def test_save_rescale_refuses_other_suffixes_before_any_work(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run_main([RELU_VAE, str(tmp_path / "absent.npy"), "--save-rescale",
                               str(tmp_path / "r.txt")], capsys)
    assert (code, out) == (2, "")
    assert err == f"vaecheck: error: {tmp_path / 'r.txt'}: --save-rescale writes a .npz or a .json file\n"


def test_uint8_data_under_sigmoid_is_told_to_divide_by_255(saved_models, tmp_path: Path,
                                                           capsys) -> None:  # type: ignore[no-untyped-def]
    def build(keras):  # type: ignore[no-untyped-def]
        inputs = keras.Input((12,))
        return keras.Model(inputs, keras.layers.Dense(12, activation="sigmoid")(inputs))

    model = saved_models.save("sigmoid_12", build)
    images = np.random.default_rng(0).integers(0, 256, (200, 12)).astype(np.uint8)
    np.save(tmp_path / "pixels.npy", images)
    code, report = as_json([str(model), str(tmp_path / "pixels.npy")], capsys)
    fix = report["outputs"][0]["fix"]
    assert code == 1 and report["data_summary"]["kind"] == "uint8-images"
    assert "(divide by 255)" in fix["summary"]
    assert fix["rescale"]["scale"] == pytest.approx(1 / 255)


def test_integer_labels_are_encoded_not_rescaled(saved_models, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    def build(keras):  # type: ignore[no-untyped-def]
        inputs = keras.Input((4,))
        return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(inputs))

    model = saved_models.save("sigmoid_1", build)
    np.save(tmp_path / "labels.npy", np.arange(300) % 10)
    code, report = as_json([str(model), str(tmp_path / "labels.npy")], capsys)
    fix = report["outputs"][0]["fix"]
    assert code == 1 and report["data_summary"]["kind"] == "integer-labels"
    assert fix["kind"] == "encode-labels" and fix["activation"] == "softmax"
    assert "to_categorical(y, 10)" in fix["summary"]


def test_one_hot_rows_are_recognized(saved_models, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    def build(keras):  # type: ignore[no-untyped-def]
        inputs = keras.Input((8,))
        return keras.Model(inputs, keras.layers.Dense(10, activation="sigmoid")(inputs))

    model = saved_models.save("sigmoid_10", build)
    one_hot = np.eye(10, dtype=np.float32)[np.arange(400) % 10]
    np.save(tmp_path / "one_hot.npy", one_hot)
    code, report = as_json([str(model), str(tmp_path / "one_hot.npy"), "--loss", "mse"], capsys)
    [finding] = report["outputs"][0]["findings"]
    assert report["data_summary"]["kind"] == "one-hot"
    assert finding["code"] == "VC002"
    assert report["outputs"][0]["fix"]["summary"].startswith("smooth the one-hot rows into")


def test_no_data_path_imports_tensorflow(formats: dict[str, str]) -> None:
    targets = [
        [RELU_VAE, formats["csv"]],
        [RELU_VAE, formats["h5"], "--sample", "50"],
        [RELU_VAE, formats["shards"], "--per-feature"],
        [RELU_VAE, formats["npz"], "--key", "x"],
    ]
    script = (
        "import sys\n"
        "from vaecheck.cli import main\n"
        f"codes = [main(args + ['--format', 'json']) for args in {targets!r}]\n"
        "assert codes == [1, 1, 1, 1], codes\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in "
        "('tensorflow', 'keras', 'tf_keras', 'torch', 'jax', 'pandas')]\n"
        "print('LOADED', loaded)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert "LOADED []" in result.stdout

"""What a run imports: each command loads only what it uses (start-up is most of a small run).

Each case runs the command in a fresh interpreter and reads `sys.modules` at its end. Timing is
measured by bench/run.py by hand, never here.
"""

from __future__ import annotations

import json
import subprocess
import sys
import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

SAMPLES = Path(__file__).resolve().parent.parent / "sample_models"

PROBE = """
import json, sys
from vaecheck.cli import main
code = main(sys.argv[1:])
sys.stdout.flush()
tops = sorted({m.split(".")[0] for m in sys.modules})
print("\\nMODULES " + json.dumps({"code": code, "tops": tops, "all": sorted(sys.modules)}))
"""


def modules_after(args: list[str], cwd: Path) -> tuple[int, set[str], set[str]]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True, text=True, timeout=120, cwd=cwd,
    )  # fmt: skip
    line = next((x for x in result.stdout.splitlines() if x.startswith("MODULES ")), None)
    assert line is not None, result.stderr
    found = json.loads(line[len("MODULES ") :])
    return found["code"], set(found["tops"]), set(found["all"])


@pytest.mark.parametrize(
    "args", [["--version"], ["--help"], ["check", "--help"], ["rules"], ["explain", "VC001"]]
)
def test_commands_that_read_no_data_import_neither_numpy_nor_rich(args, tmp_path):
    code, tops, _ = modules_after(args, tmp_path)
    assert code == 0
    assert "numpy" not in tops
    assert "rich" not in tops


@pytest.fixture(scope="module")
def large_data(tmp_path_factory) -> Path:
    """More values than the text histogram keeps (65,536), so that a sample would be drawn."""
    path = tmp_path_factory.mktemp("startup") / "standardized.npy"
    np.save(path, np.random.default_rng(0).standard_normal((8192, 16)).astype(np.float32))
    return path


@pytest.mark.parametrize("output_format", ["json", "sarif", "github"])
def test_machine_formats_draw_no_histogram_sample_nor_import_rich(
    output_format, large_data, tmp_path
):
    args = [str(SAMPLES / "relu_vae.keras"), str(large_data), "--format", output_format]
    code, tops, loaded = modules_after(args, tmp_path)
    assert code == 1  # the relu VAE cannot reach the data's negative values
    assert "numpy.random" not in loaded
    assert "rich" not in tops


def test_the_text_report_imports_rich_and_draws_its_sample_without_numpy_random(large_data, tmp_path):
    args = [str(SAMPLES / "relu_vae.keras"), str(large_data), "--no-color"]
    code, tops, loaded = modules_after(args, tmp_path)
    assert code == 1
    assert "rich" in tops
    # The histogram's values are a random sample (see the test below), drawn by the statistics'
    # own generator: numpy.random's import would cost more than the draws.
    assert "numpy.random" not in loaded


def test_a_model_whose_ranges_need_no_weights_opens_no_weights_for_its_range(
    large_data, monkeypatch
):
    # relu_vae's output is a relu: [0, inf) whatever the weights, so the range engine asks for
    # none. (The safety checks still scan the weights file's structure, as Keras loads it all.)
    import vaecheck.readers.weights as weights
    from vaecheck.api import check

    opened = []
    real = weights.open_weights
    monkeypatch.setattr(weights, "open_weights", lambda *a, **k: opened.append(a) or real(*a, **k))
    check(SAMPLES / "relu_vae.keras", large_data)
    assert opened == []


def test_without_histogram_the_statistics_are_the_same_but_the_sample(large_data):
    from vaecheck.api import check

    full = check(SAMPLES / "relu_vae.keras", large_data)
    lean = check(SAMPLES / "relu_vae.keras", large_data, histogram=False)
    assert full.stats.sample.size > 0
    assert lean.stats.sample.size == 0
    assert full.stats.robust_low == lean.stats.robust_low
    assert full.stats.robust_high == lean.stats.robust_high
    assert full.findings == lean.findings


# Modules a check of a local .npy against a .keras file does not use: each is imported by the
# input or option that needs it (a URL, a folder of images, another data format, --rescaling,
# an ONNX model, a live model or in-memory data) or by a range that needs weights.
NOT_FOR_LOCAL_NPY = (
    "vaecheck.extras",
    "vaecheck.fixes_onnx",
    "vaecheck.live",
    "vaecheck.live.detect",
    "vaecheck.readers.images",
    "vaecheck.readers.onnx",
    "vaecheck.readers.remote",
    "vaecheck.readers.rescaling",
    "vaecheck.readers.sources",
    "vaecheck.readers.weights",
)


def test_a_local_check_imports_no_reader_nor_door_it_does_not_use(large_data, tmp_path):
    args = [str(SAMPLES / "relu_vae.keras"), str(large_data), "--format", "json"]
    code, _, loaded = modules_after(args, tmp_path)
    assert code == 1
    assert sorted(loaded.intersection(NOT_FOR_LOCAL_NPY)) == []
    assert "vaecheck.readers.weights_scan" in loaded  # the safety scan runs on every model


def test_the_modules_left_out_are_imported_when_their_input_asks(large_data, tmp_path):
    args = [str(SAMPLES / "relu_vae.keras"), str(large_data), "--format", "json"]
    _, _, loaded = modules_after([*args, "--rescaling", "1/2,0"], tmp_path)
    assert "vaecheck.readers.rescaling" in loaded
    folder = tmp_path / "folder"
    folder.mkdir()
    _, _, loaded = modules_after([str(SAMPLES / "relu_vae.keras"), str(folder)], tmp_path)
    assert "vaecheck.readers.images" in loaded  # a folder may hold images: the image reader says


def test_an_archive_without_weights_file_imports_no_h5py(large_data, tmp_path):
    model = tmp_path / "no_weights.keras"
    with zipfile.ZipFile(SAMPLES / "relu_vae.keras") as source, zipfile.ZipFile(model, "w") as out:
        for name in ("metadata.json", "config.json"):
            out.writestr(name, source.read(name))
    code, tops, _ = modules_after([str(model), str(large_data), "--format", "json"], tmp_path)
    assert code == 1  # still checked: the relu output cannot reach the negative values
    assert "h5py" not in tops


def test_a_plain_weights_file_is_scanned_without_h5py_and_any_other_with_it(tmp_path):
    import h5py

    code, tops, loaded = modules_after([str(SAMPLES / "relu_vae.keras"), "--format", "json"], tmp_path)
    assert "vaecheck.readers.weights_scan" in loaded  # scanned, as every run does
    assert "h5py" not in tops  # Keras's plain layout is proven from its bytes
    model = tmp_path / "chunked.keras"
    with zipfile.ZipFile(SAMPLES / "relu_vae.keras") as source, zipfile.ZipFile(model, "w") as out:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "model.weights.h5":
                buffer = io.BytesIO(data)
                with h5py.File(buffer, "a") as handle:  # harmless, but not the plain layout
                    handle.create_dataset("extra", data=[1.0, 2.0], chunks=(1,))
                data = buffer.getvalue()
            out.writestr(info, data)
    code, tops, _ = modules_after([str(model), "--format", "json"], tmp_path)
    assert "h5py" in tops  # walked with h5py, which finds nothing to report
    assert code == 0

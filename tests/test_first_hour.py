"""The first hour of a new user: the README's lines as printed, CI's report, the common mistakes.

Each test here is a mistake or a README line that once went wrong: a configuration example that
failed on its own project, a CI step left without its SARIF file, swapped arguments, a pipe
that was a terminal, a fix line broken at 80 columns.
"""

from __future__ import annotations

import fcntl
import inspect
import json
import os
import pickle
import pty
import re
import select
import shutil
import struct
import subprocess
import sys
import termios
import textwrap
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

import vaecheck
from vaecheck.cli import main

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "sample_models"
README = (REPO / "README.md").read_text(encoding="utf-8")
SCHEMAS = [
    Path(os.environ["VAECHECK_SHARED"]) / "schemas" if os.environ.get("VAECHECK_SHARED") else None,
    REPO.parent / "shared" / "schemas",
]


def cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def in_terminal(
    args: list[str], cwd: Path, columns: int = 80, timeout: float = 60.0
) -> tuple[int | None, str]:
    """Run `python -m vaecheck ARGS` with a pseudo-terminal as stdin, stdout and stderr.

    Returns the exit code (None when the run had to be killed at the timeout) and everything
    the terminal received.
    """
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    env = {**os.environ, "COLUMNS": str(columns), "NO_COLOR": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    for name in ("FORCE_COLOR", "GITHUB_ACTIONS"):
        env.pop(name, None)
    process = subprocess.Popen(
        [sys.executable, "-m", "vaecheck", *args],
        stdin=follower, stdout=follower, stderr=follower, cwd=cwd, env=env,
    )
    os.close(follower)
    received = b""
    deadline = time.monotonic() + timeout
    killed = False
    try:
        while True:
            ready, _, _ = select.select([leader], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                process.kill()
                killed = True
                break
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            received += chunk
    finally:
        code = process.wait(timeout=30)
        os.close(leader)
    return (None if killed else code), received.decode("utf-8", "replace").replace("\r\n", "\n")


def readme_block(heading: str, language: str) -> str:
    section = README[README.index(heading) :]
    start = section.index(f"```{language}\n") + len(language) + 4
    return section[start : section.index("```", start)]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The project the README's configuration example describes, made the cwd."""
    (tmp_path / "models").mkdir()
    (tmp_path / "data").mkdir()
    shutil.copy(SAMPLES / "relu_vae.keras", tmp_path / "models" / "vae.keras")
    shutil.copy(SAMPLES / "standardized.npy", tmp_path / "data" / "x_train.npy")
    shutil.copy(SAMPLES / "tanh_generator.keras", tmp_path / "models" / "generator.keras")
    images = np.load(SAMPLES / "images_uint8.npy")
    np.save(tmp_path / "data" / "images.npy", images)
    np.savez(tmp_path / "data" / "images.npz", images=images, labels=np.arange(len(images)))
    monkeypatch.chdir(tmp_path)
    for name in ("GITHUB_ACTIONS", "GITHUB_WORKSPACE", "NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


# --- the README's configuration, as printed -----------------------------------------------------


def test_the_readme_configuration_runs_as_printed(project, capsys):
    (project / "pyproject.toml").write_text(readme_block("### Configuration", "toml"))
    code, out, err = cli([], capsys)
    # Both pairs are checked: the top-level key serves the .npz pair and leaves the .npy alone.
    assert code == 1, err
    assert err == ""  # no error, and no warning: the example is consistent
    assert "checked 2 pairs" in out
    assert "vae.keras × x_train.npy" in out and "generator.keras × images.npz" in out


def test_a_file_level_key_applies_where_it_means_something(project, capsys):
    (project / "pyproject.toml").write_text(
        textwrap.dedent(
            """
            [tool.vaecheck]
            key = "images"

            [[tool.vaecheck.check]]
            model = "models/vae.keras"
            data = "data/x_train.npy"

            [[tool.vaecheck.check]]
            model = "models/generator.keras"
            data = "data/images.npz"
            """
        )
    )
    code, out, err = cli(["--format", "json"], capsys)
    assert code == 1 and err == ""
    assert [r["data"] for r in json.loads(out)["reports"]] == ["data/x_train.npy", "data/images.npz"]
    # Given on the command line for a .npy, the key is still refused: the user asked for it.
    code, _, err = cli(["models/vae.keras", "data/x_train.npy", "--key", "x"], capsys)
    assert code == 2 and "--key 'x' is for .npz archives" in err


def test_a_severity_for_a_check_left_out_is_warned_about(project, capsys):
    (project / "pyproject.toml").write_text(
        textwrap.dedent(
            """
            [tool.vaecheck]
            select = ["VC001"]

            [tool.vaecheck.severity]
            VC002 = "error"

            [[tool.vaecheck.check]]
            model = "models/vae.keras"
            data = "data/x_train.npy"
            """
        )
    )
    code, _, err = cli([], capsys)
    assert code == 1
    assert err == (
        "vaecheck: warning: pyproject.toml: a severity is set for VC002, which select/ignore "
        "leave out, so it has no effect\n"
    )


def test_another_file_may_nest_its_settings_under_tool_vaecheck(project, capsys):
    (project / "ci.toml").write_text(
        '[tool.vaecheck]\nformat = "json"\n\n[[tool.vaecheck.check]]\n'
        'model = "models/vae.keras"\ndata = "data/x_train.npy"\n'
    )
    code, out, err = cli(["--config", "ci.toml"], capsys)
    assert (code, err) == (1, "")
    assert json.loads(out)["model"] == "models/vae.keras"
    (project / "mixed.toml").write_text('format = "json"\n[tool.vaecheck]\nformat = "text"\n')
    code, _, err = cli(["--config", "mixed.toml"], capsys)
    assert code == 2 and "mixed.toml: holds [tool.vaecheck] and also top-level keys (format)" in err


# --- CI always gets its report ------------------------------------------------------------------


def _sarif_schema() -> dict | None:
    for folder in SCHEMAS:
        if folder is not None and (folder / "sarif-schema-2.1.0.json").is_file():
            return json.loads((folder / "sarif-schema-2.1.0.json").read_text())
    return None


@pytest.mark.parametrize("output_format", ["sarif", "json"])
def test_a_single_unreadable_pair_still_writes_its_report(project, capsys, output_format):
    target = project / f"vaecheck.{output_format}"
    code, out, err = cli(
        ["models/vae.keras", "data/gone.npy", "--format", output_format, "--output", str(target)],
        capsys,
    )
    assert code == 2 and out == ""
    assert err == "vaecheck: error: data/gone.npy: no such file or directory\n"
    document = json.loads(target.read_text())
    if output_format == "json":
        assert document["ok"] is False
        assert document["errors"] == [
            {
                "model": "models/vae.keras",
                "data": "data/gone.npy",
                "file": "data/gone.npy",
                "message": "data/gone.npy: no such file or directory",
            }
        ]
    else:
        [run] = document["runs"]
        [invocation] = run["invocations"]
        assert invocation["executionSuccessful"] is False
        [notification] = invocation["toolExecutionNotifications"]
        assert notification["message"]["text"] == "data/gone.npy: no such file or directory"
        schema = _sarif_schema()
        if schema is not None:
            import jsonschema

            jsonschema.validate(document, schema)


def test_the_closing_summary_repeats_what_could_not_be_checked(project, capsys):
    code, out, _ = cli(["models/vae.keras", "data/x_train.npy", "models/vae.keras", "data/gone.npy"], capsys)
    assert code == 2
    assert out.splitlines()[-2:] == [
        "checked 2 pairs: ✗ 1 error, 1 info; 1 could not be checked:",
        "error  models/vae.keras × data/gone.npy: data/gone.npy: no such file or directory",
    ]


# --- the common mistakes ------------------------------------------------------------------------


def test_swapped_model_and_data_are_called_swapped(project, capsys):
    code, out, err = cli(["data/x_train.npy", "models/vae.keras"], capsys)
    assert code == 2 and out == ""
    assert err == (
        "vaecheck: error: MODEL and DATA look swapped: 'models/vae.keras' is a saved Keras model "
        "and 'data/x_train.npy' is not; the model comes first (models/vae.keras then "
        "data/x_train.npy)\n"
    )
    # An .npz as the model, with a model as the data: the same.
    code, _, err = cli(["data/images.npz", "models/generator.keras"], capsys)
    assert code == 2 and "look swapped" in err
    # Data as the model with real data after it is not a swap: say what the file is.
    code, _, err = cli(["data/x_train.npy", "data/x_train.npy"], capsys)
    assert code == 2 and "a .npy array, not a Keras model: it is data" in err


def test_a_data_h5_given_as_the_model_is_called_data(project, capsys):
    import h5py

    with h5py.File(project / "data" / "train.h5", "w") as handle:
        handle["x"] = np.zeros((4, 16), np.float32)
        handle["y"] = np.zeros(4, np.float32)
    with h5py.File(project / "models" / "weights.h5", "w") as handle:
        handle.attrs["layer_names"] = [b"dense"]
        handle.create_group("dense")
    code, _, err = cli(["data/train.h5", "data/x_train.npy"], capsys)
    assert code == 2 and "weights-only" not in err
    assert "it holds datasets (x, y) and no model, so it is data" in err
    code, _, err = cli(["models/weights.h5", "data/x_train.npy"], capsys)
    assert code == 2 and "a weights-only file, not a saved model" in err


def test_a_pytorch_file_or_a_pickle_is_named_and_never_unpickled(project, capsys):
    canary = project / "unpickled"

    class Tripwire:
        def __reduce__(self):
            return (open, (str(canary), "w"))

    # torch.save writes a zip around data.pkl; older PyTorch and joblib write a bare pickle.
    with zipfile.ZipFile(project / "models" / "net.pt", "w") as archive:
        archive.writestr("net/data.pkl", pickle.dumps(Tripwire(), protocol=2))
        archive.writestr("net/version", "3\n")
    (project / "models" / "legacy.pth").write_bytes(pickle.dumps(Tripwire(), protocol=2))
    (project / "models" / "model.pkl").write_bytes(pickle.dumps(Tripwire(), protocol=4))
    for name, what in (
        ("net.pt", "a PyTorch checkpoint (torch.save: a zip around a pickle), not a Keras model"),
        ("legacy.pth", "a PyTorch file saved in the legacy pickle format, not a Keras model"),
        ("model.pkl", "a Python pickle (PyTorch, joblib or scikit-learn write these)"),
    ):
        code, _, err = cli([f"models/{name}", "data/x_train.npy"], capsys)
        assert code == 2 and err.count("\n") == 1, err
        assert what in err
        assert "vaecheck never unpickles a file" in err
        assert "export the model to ONNX (torch.onnx.export) and run vaecheck on the .onnx file" in err
    assert not canary.exists()


def test_a_terminal_on_standard_input_is_refused_at_once(project):
    code, received = in_terminal(["models/vae.keras", "-"], cwd=project, timeout=30)
    assert code == 2, f"vaecheck waited on the terminal: {received!r}"
    assert (
        "vaecheck: error: <stdin>: standard input is a terminal, not a .npy stream: pipe the "
        "data in" in received
    )


def test_checks_are_selected_by_id_in_any_case(project, capsys):
    code, out, err = cli(
        ["models/vae.keras", "data/x_train.npy", "--format", "json", "--select", "Data-Outside-Codomain,vc003"],
        capsys,
    )
    assert (code, err) == (1, "")
    assert [f["code"] for f in json.loads(out)["outputs"][0]["findings"]] == ["VC001"]
    code, out, _ = cli(
        ["models/vae.keras", "data/x_train.npy", "--format", "json", "--ignore", "data-outside-codomain"],
        capsys,
    )
    assert code == 0 and json.loads(out)["outputs"][0]["findings"] == []


def test_a_column_range_past_the_last_column_is_refused(project, capsys):
    table = np.load(project / "data" / "x_train.npy")
    np.savetxt(project / "data" / "x.csv", np.hstack([np.arange(len(table))[:, None], table]), delimiter=",")
    code, _, err = cli(["models/vae.keras", "data/x.csv", "--columns", "1:40"], capsys)
    assert code == 2
    assert err == (
        "vaecheck: error: data/x.csv: --columns: the range '1:40' runs to column 39, and the "
        "file has 17 columns (0 to 16; '1:' runs to the last)\n"
    )
    code, _, _ = cli(["models/vae.keras", "data/x.csv", "--columns", "1:17"], capsys)
    assert code == 1


# --- every finding with its fix, and the report at 80 columns ----------------------------------


def test_nonfinite_data_gets_a_fix_naming_the_features(project, capsys):
    data = np.load(project / "data" / "x_train.npy").copy()
    data[:5, 2] = np.nan
    data[7, 9] = np.inf
    np.save(project / "data" / "holes.npy", data)
    code, out, _ = cli(["models/vae.keras", "data/holes.npy", "--format", "json"], capsys)
    assert code == 1
    [finding] = [f for f in json.loads(out)["outputs"][0]["findings"] if f["code"] == "VC003"]
    assert finding["fix"]["kind"] == "clean-data"
    assert finding["fix"]["summary"] == (
        "drop or impute the 6 non-finite values before training (2 of 16 features hold them: "
        "feature 2: 5, feature 9: 1)"
    )
    code, out, _ = cli(["models/vae.keras", "data/holes.npy", "--no-color"], capsys)
    assert "fix  VC003  drop or impute the 6 non-finite values" in out
    assert "x = x[np.isfinite(x).reshape(len(x), -1).all(axis=1)]" in out


def test_an_unknown_range_gets_a_fix_saying_what_would_make_it_known(project, capsys, saved_models):
    def build(keras):
        return keras.Sequential(
            [keras.Input((16,)), keras.layers.Dense(16), keras.layers.Lambda(lambda x: 2 * x, name="double")]
        )

    model = saved_models.save("lambda_head", build)
    code, out, _ = cli([str(model), "data/x_train.npy", "--format", "json"], capsys)
    report = json.loads(out)
    output = report["outputs"][0]
    # The Lambda's bytecode is also code Keras would run on loading: a VC301 error of the file.
    assert code == 1 and [f["code"] for f in output["findings"]] == ["VC004"]
    assert [f["code"] for f in report["findings"]] == ["VC301"]
    assert output["fix"]["kind"] == "make-range-known"
    summary = output["fix"]["summary"]
    assert "--probe" in summary and "'double'" in summary and "--custom-objects" in summary
    code, out, _ = cli([str(model), "data/x_train.npy", "--no-color"], capsys)
    assert "fix  run with --probe to see the range the model produces past 'double'" in out


def test_an_uncompiled_model_says_no_loss_is_stored(project, capsys, saved_models):
    def build(keras):
        return keras.Sequential([keras.Input((16,)), keras.layers.Dense(16, activation="sigmoid")])

    model = saved_models.save("uncompiled_sigmoid", build)
    ends = (np.load(project / "data" / "x_train.npy") > 0).astype(np.float32)
    np.save(project / "data" / "binary.npy", ends)
    code, out, _ = cli([str(model), "data/binary.npy", "--format", "json"], capsys)
    notes = json.loads(out)["notes"]
    assert any("holds no loss" in note and "--loss NAME" in note for note in notes)
    assert [f["severity"] for f in json.loads(out)["outputs"][0]["findings"]] == ["warning"]
    # The loss the note points to changes the verdict, and the note goes.
    code, out, _ = cli([str(model), "data/binary.npy", "--format", "json", "--loss", "binary_crossentropy"], capsys)
    assert code == 0 and not any("holds no loss" in note for note in json.loads(out)["notes"])
    assert [f["severity"] for f in json.loads(out)["outputs"][0]["findings"]] == ["info"]


CODE_STARTS = ("x_model =", "x       =", "keras.layers.Rescaling(", "model.compile(", "scale  =", "offset =")
LINE_STARTS = (
    "vaecheck", "✗", "!", "✓", "output", "model file", "fix", "note:", "saved", "skipped", "checked", "error"
)


def test_at_80_columns_code_lines_stay_whole_and_prose_keeps_its_indent(project):
    code, received = in_terminal(
        ["models/vae.keras", "data/x_train.npy", "models/generator.keras", "data/images.npy"],
        cwd=project,
        columns=80,
    )
    assert code == 1, received
    lines = [line for line in received.splitlines() if line and not line.startswith("vaecheck: checking")]
    code_lines = [line.strip() for line in lines if line.strip().startswith(CODE_STARTS)]
    assert len(code_lines) >= 6
    for line in code_lines:
        compile(line, "<fix line>", "exec")  # whole: valid Python as printed
    # The alternative that names a layer to append gives that call a line of its own.
    assert "     keras.layers.Rescaling(scale=127.5, offset=127.5)" in lines
    # A comment that would push a code line past the edge moves above it.
    assert "     # the same, as a preprocessing layer" in lines
    for line in lines:
        if not line.startswith(" "):
            assert line.startswith(LINE_STARTS), f"a line wrapped to column 0: {line!r}"
        assert len(line) <= 80, f"past 80 columns: {line!r}"
    assert any(line.startswith("  worst features  feature") for line in lines)
    assert any(line.startswith("                  ") and "features reach outside" in line for line in lines)


def test_save_rescale_says_where_it_wrote_and_stops_advising_it(project, capsys):
    target = project / "rescale.npz"
    code, out, _ = cli(
        ["models/vae.keras", "data/x_train.npy", "--per-feature", "--save-rescale", str(target), "--no-color"],
        capsys,
    )
    assert code == 1 and target.is_file()
    assert "--save-rescale" not in out
    assert f"saved the fix's scale, offset, inverse_scale and inverse_offset to {target}" in out
    code, out, _ = cli(["models/vae.keras", "data/x_train.npy", "--per-feature", "--no-color"], capsys)
    assert "--save-rescale FILE.npz (or .json) writes all four vectors" in out


# --- the Python API -----------------------------------------------------------------------------


def test_the_python_api_shows_its_parameters_and_speaks_in_its_own_terms(project):
    parameters = inspect.signature(vaecheck.check).parameters
    assert {"model", "data", "key", "loss", "select", "ignore", "probe", "columns", "sample"} <= set(parameters)
    assert "options" not in parameters
    assert vaecheck.VaecheckError is vaecheck.errors.VaecheckError
    with pytest.raises(vaecheck.VaecheckError) as raised:
        vaecheck.check("models/vae.keras", "data/x_train.npy", key="x")
    assert str(raised.value) == "data/x_train.npy: key='x' is for .npz archives and HDF5 files, not a .npy file"
    with pytest.raises(vaecheck.VaecheckError, match="model and data look swapped"):
        vaecheck.check("data/x_train.npy", "models/vae.keras")


# --- installing ---------------------------------------------------------------------------------


def test_a_missing_extra_names_a_command_that_installs_it_here(monkeypatch, tmp_path):
    from vaecheck.extras import install_command, missing_extra

    origin = _direct_url()
    if origin is None or not origin.get("dir_info", {}).get("editable"):
        pytest.skip("vaecheck is not installed in editable mode from a clone here")
    installed_from = Path(origin["url"].removeprefix("file://"))
    monkeypatch.chdir(installed_from)
    assert install_command("tensorflow") == "pip install -e '.[tensorflow]'"
    monkeypatch.chdir(tmp_path)
    assert install_command("images") == f"pip install -e '{installed_from}[images]'"
    error = missing_extra("images", "reading a folder of images")
    assert str(error) == (
        "reading a folder of images needs vaecheck's optional 'images' dependencies, which are "
        f"not installed: pip install -e '{installed_from}[images]'"
    )


def _direct_url() -> dict | None:
    from importlib import metadata

    texts = [d.read_text("direct_url.json") for d in metadata.distributions(name="vaecheck")]
    return next((json.loads(text) for text in texts if text), None)


def test_the_readme_install_lines_do_not_name_an_unpublished_package():
    # `pip install vaecheck` and `pip install 'vaecheck[...]'` fail: the package is not on PyPI.
    blocks = re.findall(r"```\w*\n(.*?)```", README, re.S)
    assert any("pip install" in block for block in blocks)
    for block in blocks:
        # `'vaecheck @ git+URL'` names where to get it; a bare name asks an index.
        assert not re.search(r"pip install '?vaecheck(\[\w+\])?'?(?:$|\s(?!@))", block, re.M), block
    assert "not yet published" in README
    assert "rev: v0.1.0" not in README
    for extra in ("tensorflow",):
        assert f"pip install -e '.[{extra}]'" in README


def test_the_readme_json_example_shows_the_numbers_vaecheck_prints(capsys):
    code, out, _ = cli([str(SAMPLES / "relu_vae.keras"), str(SAMPLES / "standardized.npy"), "--format", "json"], capsys)
    data = json.loads(out)["outputs"][0]["data"]
    example = readme_block("### JSON report", "json")
    assert f'"count_outside": {data["count_outside"]},' in example
    assert f'"count": {data["count"]},' in example
    assert f'"fraction_outside": {data["fraction_outside"]:.3f}' in example


def test_the_readme_usage_lists_every_option_of_check():
    from vaecheck.cli import check_command

    usage = readme_block("## Usage", "sh")
    for parameter in check_command.params:
        for flag in getattr(parameter, "opts", []):
            if flag.startswith("--") and flag != "--help":
                assert flag in usage, flag

"""Canaries: payloads that create a file when they run, shown to work, then shown not to run.

Each payload comes from the hostile corpus (tests/corpus/make_corpus.py): a config naming
os.system with a shell command, Lambda bytecode (Keras 3 `__lambda__` and a legacy .h5 Lambda),
a custom module on the module path that creates a file on import, and Python code in a .npy
header. First each payload is run the way a careless loader would run it, and must create its
file (so that the canary can sing); then vaecheck reads the same file, statically and with
--probe in safe mode, and the file must not appear.
"""

from __future__ import annotations

import base64
import json
import marshal
import os
import subprocess
import sys
import types
import zipfile
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "corpus"))

import make_corpus  # noqa: E402

from vaecheck.cli import main  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def _make(name: str, root: Path) -> make_corpus.Invocation:
    folder = root / name
    folder.mkdir()
    [case] = [c for c in make_corpus.CASES if c.name == name]
    return case.make(folder)


def _config(invocation: make_corpus.Invocation) -> dict:
    model = invocation.argv[0]
    if model.endswith(".h5"):
        import h5py

        with h5py.File(model, "r") as handle:
            return json.loads(handle.attrs["model_config"])
    with zipfile.ZipFile(model) as archive:
        return json.loads(archive.read("config.json"))


def _layer(config: dict, name: str) -> dict:
    [layer] = [entry for entry in config["config"]["layers"] if entry["name"] == name]
    return layer


def _run_vaecheck(invocation: make_corpus.Invocation, *extra: str) -> subprocess.CompletedProcess:
    """vaecheck in a fresh interpreter, from the case's folder, with its module path."""
    env = dict(os.environ)
    paths = [str(REPO), *(p for p in (invocation.importable, env.get("PYTHONPATH")) if p)]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return subprocess.run(
        [sys.executable, "-m", "vaecheck", *invocation.argv, *extra],
        capture_output=True,
        text=True,
        cwd=Path(invocation.argv[0]).parent,
        env=env,
        timeout=120,
    )


def _assert_static_run_leaves_no_canary(invocation: make_corpus.Invocation, canary: Path) -> None:
    done = _run_vaecheck(invocation)
    assert not canary.exists(), "the payload ran"
    assert done.returncode in (1, 2), done.stderr
    assert "Traceback" not in done.stderr


def test_os_system_named_in_a_config_does_not_run(tmp_path):
    invocation = _make("code_os_system_layer", tmp_path)
    [canary] = map(Path, invocation.canaries)
    command = _layer(_config(invocation), "out")["config"]["command"]
    subprocess.run(command, shell=True, check=True)  # noqa: S602 - the payload, on purpose
    assert canary.exists()
    canary.unlink()
    _assert_static_run_leaves_no_canary(invocation, canary)


def test_subprocess_call_in_a_lambda_config_does_not_run(tmp_path):
    invocation = _make("code_subprocess_in_lambda", tmp_path)
    [canary] = map(Path, invocation.canaries)
    arguments = _layer(_config(invocation), "out")["config"]["arguments"]
    subprocess.check_call(arguments["args"])  # what Keras < 3.11 would have called
    assert canary.exists()
    canary.unlink()
    _assert_static_run_leaves_no_canary(invocation, canary)


@pytest.mark.parametrize("name", ["code_lambda_bytecode_keras3", "code_lambda_bytecode_keras2_h5"])
def test_lambda_bytecode_is_never_unmarshalled(tmp_path, name):
    invocation = _make(name, tmp_path)
    [canary] = map(Path, invocation.canaries)
    function = _layer(_config(invocation), "out")["config"]["function"]
    code = function["config"]["code"] if isinstance(function, dict) else function[0]
    types.FunctionType(marshal.loads(base64.b64decode(code)), {})(1.0)
    assert canary.exists()
    canary.unlink()
    _assert_static_run_leaves_no_canary(invocation, canary)


def test_a_module_named_in_a_config_is_never_imported(tmp_path):
    invocation = _make("code_custom_module_on_path", tmp_path)
    [canary] = map(Path, invocation.canaries)
    env = dict(os.environ, PYTHONPATH=str(invocation.importable))
    subprocess.run([sys.executable, "-c", "import vaecheck_payload"], check=True, env=env)
    assert canary.exists()
    canary.unlink()
    _assert_static_run_leaves_no_canary(invocation, canary)
    # In this process too: the module is importable, and vaecheck does not import it.
    sys.path.insert(0, str(invocation.importable))
    try:
        assert main(list(invocation.argv)) == 1  # VC004: the custom layer's range is unknown
        assert "vaecheck_payload" not in sys.modules and not canary.exists()
    finally:
        sys.path.remove(str(invocation.importable))


def test_os_system_as_the_root_object_does_not_run(tmp_path):
    invocation = _make("code_root_object_from_os", tmp_path)
    [canary] = map(Path, invocation.canaries)
    subprocess.run(_config(invocation)["config"]["command"], shell=True, check=True)  # noqa: S602
    assert canary.exists()
    canary.unlink()
    _assert_static_run_leaves_no_canary(invocation, canary)


def test_builtins_exec_named_as_an_activation_does_not_run(tmp_path):
    invocation = _make("code_builtins_exec_activation", tmp_path)
    [canary] = map(Path, invocation.canaries)
    activation = _layer(_config(invocation), "out")["config"]["activation"]
    exec(activation["registered_name"])  # noqa: S102 - what Keras < 3.9 would have called
    assert canary.exists()
    canary.unlink()
    _assert_static_run_leaves_no_canary(invocation, canary)


def test_code_in_a_npy_header_is_never_evaluated(tmp_path):
    invocation = _make("code_in_npy_header", tmp_path)
    [canary] = map(Path, invocation.canaries)
    data = Path(invocation.argv[1]).read_bytes()
    header = data[10 : 10 + int.from_bytes(data[8:10], "little")].decode("latin1")
    eval(header)  # noqa: S307 - what a loader that evals headers would do
    assert canary.exists()
    canary.unlink()
    _assert_static_run_leaves_no_canary(invocation, canary)


# --- --probe: Keras loads the model, in safe mode unless told otherwise --------------------------


PROBED = [
    "code_os_system_layer",
    "code_subprocess_in_lambda",
    "code_subprocess_activation",
    "code_lambda_bytecode_keras3",
    "code_lambda_bytecode_keras2_h5",
    "code_custom_module_on_path",
    "code_root_object_from_os",
    "code_builtins_exec_activation",
    "code_unsafe_deserialization_then_lambda",
]


@pytest.mark.parametrize("name", [n for n in PROBED if n != "code_custom_module_on_path"])
def test_vaecheck_probe_does_not_load_a_file_its_safety_checks_flag(tmp_path, name, capsys):
    """`vaecheck --probe` (safe mode) reports the file and leaves it unloaded: nothing runs.

    In this process: the probe is never started, so no Keras is imported for it. (A file whose
    only danger is a third-party module is probed, and refused by Keras itself: see
    test_probe_in_safe_mode_runs_none_of_the_payloads.)
    """
    invocation = _make(name, tmp_path)
    code = main([*invocation.argv, "--probe", "--format", "json"])
    out, err = capsys.readouterr()
    assert not any(Path(c).exists() for c in invocation.canaries), "the payload ran"
    assert (code, err) == (1, "")
    report = json.loads(out)
    assert {f["code"] for f in report["findings"]} & {"VC301", "VC302", "VC303"}
    assert "probe" not in report
    assert any(note.startswith("--probe did not load the model") for note in report["notes"])


def test_probe_in_safe_mode_runs_none_of_the_payloads(tmp_path, monkeypatch):
    from vaecheck.probe import ProbeFailure, ProbeJob, probe_models

    invocations = {name: _make(name, tmp_path) for name in PROBED}
    payloads = [inv.importable for inv in invocations.values() if inv.importable]
    # The probe child inherits the module path: the payload module is importable there too.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([*payloads, os.environ.get("PYTHONPATH", "")]))
    sample = np.random.default_rng(0).standard_normal((8, make_corpus.FEATURES)).astype(np.float32)
    jobs = [ProbeJob(inv.argv[0], sample, samples=8) for inv in invocations.values()]
    assert all(job.safe_mode for job in jobs)  # the default
    outcomes = probe_models(jobs, timeout=300)
    for name, outcome in zip(invocations, outcomes):
        assert isinstance(outcome, ProbeFailure), (name, outcome)
        # Refused by Keras itself: the child started, imported Keras and tried to load.
        assert outcome.kind in ("safe-mode", "custom-object", "load"), (name, outcome.kind, outcome.problem)
        assert not any(Path(c).exists() for c in invocations[name].canaries), f"{name}: the payload ran"


def test_probe_keeps_safe_mode_on_by_default_and_the_report_says_so(samples, capsys):
    code = main(
        [str(samples / "tanh_generator.keras"), str(samples / "images_uint8.npy"), "--probe",
         "--probe-samples", "32", "--no-color"]
    )
    out, err = capsys.readouterr()
    assert code == 1, err
    assert "safe mode on" in out and "safe mode OFF" not in out
    assert err == ""

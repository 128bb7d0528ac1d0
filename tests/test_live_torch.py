"""Live models under Keras's PyTorch backend, in a child process (Keras fixes its backend once per
process): live == saved, a traced subclassed model, a real torch DataLoader as data, and
RangeCheck in a real `fit`. torch is imported by the test's child, never by vaecheck."""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import vaecheck
from vaecheck.formats.json import report_dict
from vaecheck.live.check import _in_memory_text

REPO = Path(__file__).resolve().parent.parent

# Defined the same way in the child (torch backend) and here (the default backend): a subclassed
# model whose call() traces, so the two reports can be compared whole.
SUBCLASSED = textwrap.dedent(
    """
    class ScaledSigmoid(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.hidden = keras.layers.Dense(8, activation="relu")
            self.head = keras.layers.Dense(4)

        def call(self, inputs):
            return keras.ops.sigmoid(self.head(self.hidden(inputs))) * 2.0
    """
)

TORCH_CHILD = (
    textwrap.dedent(
        """
    import json, sys, time, warnings
    started = time.perf_counter()
    import numpy as np
    import keras
    import torch
    from torch.utils.data import DataLoader, TensorDataset
    import vaecheck
    from vaecheck.formats.json import report_dict
    from vaecheck.keras import RangeCheck

    assert keras.backend.backend() == "torch"
    out_dir = sys.argv[1]
    result = {"torch": torch.__version__}
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    standardized = rng.normal(size=(96, 6)).astype("float32")
    unit = rng.uniform(0.05, 0.95, size=(96, 6)).astype("float32")

    # A Functional VAE-like model: encoder heads, a reparameterised latent in keras.ops, and a
    # nested decoder model ending in a sigmoid.
    inputs = keras.Input((6,), name="pixels")
    h = keras.layers.Dense(8, activation="relu")(inputs)
    z_mean = keras.layers.Dense(3, name="z_mean")(h)
    z_log_var = keras.layers.Dense(3, name="z_log_var")(h)
    z = z_mean + keras.ops.exp(0.5 * z_log_var)
    latent = keras.Input((3,))
    decoded = keras.layers.Dense(6, activation="sigmoid", name="recon")(
        keras.layers.Dense(8, activation="relu")(latent)
    )
    decoder = keras.Model(latent, decoded, name="decoder")
    vae = keras.Model(inputs, decoder(z), name="torch_vae")
    vae.compile(optimizer="adam", loss="mse")
    vae.save(out_dir + "/torch_vae.keras")
    result["vae"] = {
        name: report_dict(vaecheck.check(vae, data))
        for name, data in (("standardized", standardized), ("unit", unit))
    }

    # The same data as a real DataLoader of torch tensors (one of them still in the autograd graph).
    tensors = torch.from_numpy(standardized)
    loader = DataLoader(TensorDataset(tensors.clone().requires_grad_(True), tensors), batch_size=32)
    from_loader = vaecheck.check(vae, loader)
    result["loader"] = {"report": report_dict(from_loader), "notes": list(from_loader.notes)}
    result["array_notes"] = list(vaecheck.check(vae, (standardized, standardized)).notes)

    # A subclassed model whose call() traces to a Functional graph under this backend.
    """
    )
    + SUBCLASSED
    + textwrap.dedent(
        """
    scaled = ScaledSigmoid(name="scaled")
    scaled(np.zeros((2, 5), "float32"))
    traced = vaecheck.check(scaled, np.full((10, 4), 3.0, "float32"))
    result["subclassed"] = {
        "report": report_dict(traced),
        "notes": list(traced.notes),
        "probe": traced.probe is not None,
    }

    # RangeCheck in a real fit: raises before the first step, then warns and trains on.
    def weights(model):
        return [np.array(keras.ops.convert_to_numpy(v)) for v in model.weights]

    before = weights(vae)
    try:
        vae.fit(standardized, standardized, epochs=2, batch_size=32, verbose=0,
                callbacks=[RangeCheck(standardized)])
        result["raised"] = None
    except vaecheck.RangeMismatchError as error:
        result["raised"] = {"codes": [f.code for f in error.report.findings], "message": str(error)}
    result["unchanged"] = all(np.array_equal(a, b) for a, b in zip(before, weights(vae)))
    result["iterations"] = int(keras.ops.convert_to_numpy(vae.optimizer.iterations))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = vae.fit(loader, epochs=1, verbose=0, callbacks=[RangeCheck(loader, on_error="warn")])
    result["warned"] = [
        str(w.message) for w in caught if issubclass(w.category, vaecheck.RangeMismatchWarning)
    ]
    result["epochs"] = len(history.history["loss"])
    result["trained"] = not all(np.array_equal(a, b) for a, b in zip(before, weights(vae)))
    print("RESULT " + json.dumps(result))
    print("SECONDS", round(time.perf_counter() - started, 1))
    """
    )
)


@pytest.fixture(scope="module")
def torch_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    """One child process under KERAS_BACKEND=torch runs every check; the tests read its result."""
    # Found, not imported: torch is loaded only in the child, never beside TensorFlow here.
    if importlib.util.find_spec("torch") is None:
        pytest.skip("torch is not installed (the test extra pins it for Python 3.11 on Linux)")
    pytest.importorskip("keras")
    out = tmp_path_factory.mktemp("torch_backend")
    env = {**os.environ, "KERAS_BACKEND": "torch", "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-c", TORCH_CHILD, str(out)], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(l for l in done.stdout.splitlines() if l.startswith("RESULT "))
    return json.loads(line[len("RESULT ") :]), out


def _comparable(result: dict[str, Any]) -> dict[str, Any]:
    """A report as JSON, without its model's path and with the weights prose said as the live
    door says it: the only parts that may differ between live and saved."""
    result = json.loads(_in_memory_text(json.dumps(result)))
    result.pop("model")
    for finding in result.get("findings") or ():
        finding["message"] = re.sub(r" from module '[^']*'", "", finding["message"])
        finding.pop("module", None)
    return result


def _codes(result: dict[str, Any]) -> list[tuple[str, str]]:
    findings = [*(result.get("findings") or ()), *(f for o in result["outputs"] for f in o["findings"])]
    return [(f["code"], f["severity"]) for f in findings]


def test_functional_vae_live_equals_saved(torch_run: tuple[dict[str, Any], Path]) -> None:
    result, out = torch_run
    rng = np.random.default_rng(0)
    standardized = rng.normal(size=(96, 6)).astype(np.float32)
    unit = rng.uniform(0.05, 0.95, size=(96, 6)).astype(np.float32)
    path = out / "torch_vae.keras"
    for name, data in (("standardized", standardized), ("unit", unit)):
        live = result["vae"][name]
        assert live["model"] == "<live Functional 'torch_vae'>"
        # The file the torch process saved, read here by the static path.
        assert _comparable(live) == _comparable(report_dict(vaecheck.check(path, data)))
    assert ("VC001", "error") in _codes(result["vae"]["standardized"])
    assert _codes(result["vae"]["unit"]) == []


def test_dataloader_of_torch_tensors_reads_as_the_array(torch_run: tuple[dict[str, Any], Path]) -> None:
    result, _ = torch_run
    from_loader = copy.deepcopy(result["loader"]["report"])
    from_array = copy.deepcopy(result["vae"]["standardized"])
    assert from_loader["data"] == "<DataLoader>"
    assert from_loader["data_summary"].pop("description") == "<DataLoader>"
    assert from_array["data_summary"].pop("description") == "<array>"
    for key in ("data_summary", "outputs", "findings", "summary"):
        assert from_loader[key] == from_array[key]
    assert from_loader["data_summary"]["shape"] == [96, 6]
    assert "read all 3 batches of 3 of <DataLoader> (96 rows)" in result["loader"]["notes"]


def test_subclassed_model_traces_under_torch_as_under_the_default_backend(
    torch_run: tuple[dict[str, Any], Path],
) -> None:
    keras = pytest.importorskip("keras")
    result, _ = torch_run
    traced = result["subclassed"]
    assert not traced["probe"]  # traced, so proven: no observation
    assert any("traced" in note for note in traced["notes"])
    output = traced["report"]["outputs"][0]
    assert _codes(traced["report"]) == [("VC001", "error")]
    namespace: dict[str, Any] = {"keras": keras}
    exec(SUBCLASSED, namespace)
    here = namespace["ScaledSigmoid"](name="scaled")
    here(np.zeros((2, 5), np.float32))
    same = report_dict(vaecheck.check(here, np.full((10, 4), 3.0, np.float32)))
    # Traced ops are named by Keras's per-process counters (multiply, multiply_1, sigmoid_2, ...).
    assert re.fullmatch(r"multiply(_\d+)?", output["name"])
    assert _unnumbered(traced["report"]) == _unnumbered(same)
    assert (output["range"]["low"], output["range"]["high"]) == (0.0, 2.0)


def _unnumbered(result: dict[str, Any]) -> Any:
    return json.loads(re.sub(r"\b([a-z]+)_\d+\b", r"\1", json.dumps(result)))


def test_range_check_raises_before_the_first_step(torch_run: tuple[dict[str, Any], Path]) -> None:
    result, _ = torch_run
    raised = result["raised"]
    assert raised is not None and raised["codes"] == ["VC001"]
    assert "sigmoid" in raised["message"] and "fix" in raised["message"]
    assert result["unchanged"] is True
    assert result["iterations"] == 0


def test_range_check_warns_and_training_goes_on(torch_run: tuple[dict[str, Any], Path]) -> None:
    result, _ = torch_run
    assert len(result["warned"]) == 1 and "VC001" in result["warned"][0]
    assert result["epochs"] == 1
    assert result["trained"] is True


NO_TORCH_CHILD = textwrap.dedent(
    """
    import sys
    import numpy as np
    import keras
    import vaecheck
    from vaecheck.keras import RangeCheck

    class Tensor:  # a framework tensor as vaecheck meets one: .numpy()
        def __init__(self, values):
            self.values = values

        def numpy(self):
            return self.values

    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(4, activation="sigmoid")(inputs))
    x = np.random.default_rng(0).normal(size=(40, 4)).astype("float32")
    before = set(sys.modules)
    vaecheck.check(model, x)
    vaecheck.check(model, iter([(Tensor(x[:20]), Tensor(x[:20])), (Tensor(x[20:]), Tensor(x[20:]))]))
    RangeCheck(x, on_error="warn")
    print(sorted(m for m in set(sys.modules) - before if m.split(".")[0] == "torch"), "torch" in before)
    """
)


def test_vaecheck_never_imports_torch() -> None:
    """In a process where nothing imported torch, the live numpy-array and tensor paths leave
    it unimported."""
    pytest.importorskip("keras")
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3"}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-c", NO_TORCH_CHILD], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "[] False"

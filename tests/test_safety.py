"""Safety findings (VC3xx): what loading a model file with Keras would import, run or read.

Files are written by Keras where Keras can write the pattern (Lambda bytecode in every
encoding, custom objects, benign functions Keras writes as "builtins"), and by editing the JSON
or the HDF5 of a real file where it cannot (the attacks). Each is checked statically, without
data and with data, and the findings name the place in the configuration.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from vaecheck.checks import REGISTRY, is_model_check, run_model_checks
from vaecheck.cli import main
from vaecheck.safety import ModelFacts, model_facts

SAFETY_CODES = ["VC301", "VC302", "VC303", "VC304", "VC305", "VC306", "VC307"]


def cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _facts(config: dict, training: dict | None = None, fmt: str = "keras") -> ModelFacts:
    return model_facts(config, training, fmt, "3.15.1")


def _codes(facts: ModelFacts) -> list[tuple[str, str]]:
    return [(f.code, f.evidence.get("where", "")) for f in run_model_checks(facts)]


def _layer(class_name: str, name: str, module: str | None = "keras.layers", **config: Any) -> dict:
    return {
        "module": module,
        "class_name": class_name,
        "config": {"name": name, "trainable": True, **config},
        "registered_name": None,
        "name": name,
        "inbound_nodes": [],
    }


def _model(*layers: dict, **extra: Any) -> dict:
    return {
        "module": "keras.src.models.functional",
        "class_name": "Functional",
        "config": {"name": "m", "layers": list(layers), "input_layers": [], "output_layers": []},
        "registered_name": "Functional",
        **extra,
    }


def _function(module: str | None, name: str, registered: str | None = "function") -> dict:
    return {"module": module, "class_name": "function", "config": name, "registered_name": registered}


# The registry ---------------------------------------------------------------------------------
def test_every_safety_check_is_a_registered_model_check_with_its_documentation(capsys):
    for code in SAFETY_CODES:
        module = REGISTRY[code]
        assert is_model_check(module)
        doc = module.__doc__ or ""
        assert "Failing" in doc and "Passing" in doc, code
    code, out, _ = cli(["rules"], capsys)
    assert code == 0 and all(f"{c}  " in out for c in SAFETY_CODES)
    code, out, _ = cli(["explain", "VC302"], capsys)
    assert code == 0 and "CVE-2025-1550" in out and "foreign-reference" in out


# Each check: failing and passing configurations ------------------------------------------------
CASES = [
    # (what, configuration, expected (code, where) findings)
    (
        "keras3 lambda bytecode",
        _model(_layer("Lambda", "out", function={"class_name": "__lambda__", "config": {"code": "4wEA"}})),
        [("VC301", "config.layers[0].config.function")],
    ),
    (
        "keras2 lambda bytecode",
        {"class_name": "Functional", "config": {"layers": [{"class_name": "Lambda", "name": "out", "config": {"name": "out", "function": ["4wEA", None, None], "function_type": "lambda", "module": "__main__"}}]}},
        [("VC301", "config.layers[0].config.function")],
    ),
    (
        "root object from module os (CVE-2025-1550)",
        {"module": "os", "class_name": "system", "config": {"command": "id"}, "registered_name": None},
        [("VC302", "")],
    ),
    (
        "activation from subprocess",
        _model(_layer("Dense", "out", units=2, activation=_function("subprocess", "getoutput"))),
        [("VC302", "config.layers[0].config.activation")],
    ),
    (
        "builtins exec as a function",
        _model(_layer("Dense", "out", units=2, activation=_function("builtins", "exec"))),
        [("VC302", "config.layers[0].config.activation")],
    ),
    (
        "importlib as a loss",
        _model(compile_config={"loss": _function("importlib", "import_module")}),
        [("VC302", "compile_config.loss")],
    ),
    (
        "a third-party module, unregistered",
        _model(_layer("Decoder", "out", module="evilpkg.layers")),
        [("VC302", "config.layers[0]")],
    ),
    (
        "keras2 Lambda naming os.system by function type",
        {"class_name": "Sequential", "config": {"layers": [{"class_name": "Lambda", "config": {"name": "l", "function": "system", "function_type": "function", "module": "os"}}]}},
        [("VC302", "config.layers[0].config.function")],
    ),
    (
        "get_file through a Lambda (CVE-2025-8747)",
        _model(_layer("Lambda", "out", function=_function("keras.utils", "get_file"), arguments={"origin": "https://example.invalid/x"})),
        [("VC303", "config.layers[0].config.function")],
    ),
    (
        "enable_unsafe_deserialization (CVE-2025-9906)",
        _model(_layer("Lambda", "a", function=_function("keras.config", "enable_unsafe_deserialization"))),
        [("VC303", "config.layers[0].config.function")],
    ),
    (
        "load_model as a builtins function",
        _model(_layer("Lambda", "a", function=_function("builtins", "load_model"))),
        [("VC303", "config.layers[0].config.function")],
    ),
    (
        "TFSMLayer (CVE-2026-1462)",
        _model(_layer("TFSMLayer", "sm", filepath="/tmp/other", call_endpoint="serve")),
        [("VC304", "config.layers[0]")],
    ),
    (
        "TorchModuleWrapper (CVE-2025-49655)",
        _model(_layer("TorchModuleWrapper", "torch", module="keras.src.utils.torch_utils")),
        [("VC304", "config.layers[0]")],
    ),
    (
        "StringLookup vocabulary from a URL (CVE-2025-12058)",
        _model(_layer("StringLookup", "lookup", vocabulary="https://example.invalid/vocab.txt")),
        [("VC305", "config.layers[0].config.vocabulary")],
    ),
    (
        "TextVectorization vocabulary from a path",
        _model(_layer("TextVectorization", "tv", vocabulary="/etc/passwd")),
        [("VC305", "config.layers[0].config.vocabulary")],
    ),
    (
        "a registered custom class",
        _model(_layer("Sampling", "z", module="mypkg.layers") | {"registered_name": "mypkg>Sampling"}),
        [("VC306", "config.layers[0]")],
    ),
    (
        "a class of __main__",
        _model(_layer("Sampling", "z", module=None) | {"registered_name": "Sampling"}),
        [("VC306", "config.layers[0]")],
    ),
    (
        "a registered custom activation",
        _model(_layer("Dense", "out", units=2, activation=_function("builtins", "mypkg>scaled_tanh"))),
        [("VC306", "config.layers[0].config.activation")],
    ),
    (
        "an unregistered custom function",
        _model(compile_config={"loss": _function("builtins", "my_vae_loss")}),
        [("VC306", "compile_config.loss")],
    ),
    # Passing: what Keras writes for its own objects.
    (
        "Keras functions written as builtins",
        _model(
            _layer("Dense", "out", units=2, activation=_function("builtins", "tanh")),
            _layer("Lambda", "l", function=_function("builtins", "sigmoid")),
            compile_config={"loss": _function("builtins", "binary_crossentropy"), "metrics": ["mae"]},
        ),
        [],
    ),
    (
        "Keras layers, a dtype policy, an optimizer",
        _model(
            _layer("Dense", "out", units=2, activation="relu", dtype={"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": None}),
            _layer("StringLookup", "lookup", vocabulary=["a", "b"]),
            compile_config={"optimizer": {"module": "keras.optimizers", "class_name": "Adam", "config": {}, "registered_name": None}},
        ),
        [],
    ),
    (
        "tf.keras 2 legacy layers without module",
        {"class_name": "Sequential", "config": {"layers": [{"class_name": "Dense", "config": {"name": "d", "activation": "tanh"}}]}},
        [],
    ),
]


@pytest.mark.parametrize(("what", "config", "expected"), CASES, ids=[c[0] for c in CASES])
def test_each_pattern_is_found_at_its_place(what, config, expected):
    assert _codes(_facts(config)) == expected


def test_a_danger_after_thousands_of_custom_objects_is_still_found():
    layers = [_layer("Sampling", f"z{i}", module=None) | {"registered_name": "Sampling"} for i in range(3000)]
    layers.append(_layer("Dense", "out", units=2, activation=_function("os", "system")))
    findings = _codes(_facts(_model(*layers)))
    assert ("VC302", "config.layers[3000].config.activation") in findings
    assert sum(code == "VC306" for code, _ in findings) == 1000  # at most a thousand of a kind


def test_legacy_training_config_is_scanned_too():
    training = {"loss": {"module": "os", "class_name": "function", "config": "system"}}
    config = {"class_name": "Sequential", "config": {"layers": []}}
    assert _codes(_facts(config, training, "h5")) == [("VC302", "training_config.loss")]


def test_findings_cite_the_cve_and_the_first_keras_that_refuses():
    config = _model(_layer("Lambda", "out", function=_function("keras.utils", "get_file")))
    [finding] = run_model_checks(_facts(config))
    assert finding.evidence["cve"] == "CVE-2025-8747" and finding.evidence["fixed_in"] == "3.11.0"
    assert "config.layers[0].config.function (layer 'out')" in finding.message


# Real files written by Keras --------------------------------------------------------------------
def _dense(keras: Any) -> Any:
    x = keras.Input((4,), name="x")
    return keras.Model(x, keras.layers.Dense(4, activation="sigmoid", name="out")(x))


def _lambda(keras: Any) -> Any:
    x = keras.Input((4,), name="x")
    return keras.Model(x, keras.layers.Lambda(lambda t: t * 2.0, name="doubled")(x))


def _benign_functions(keras: Any) -> Any:
    x = keras.Input((4,), name="x")
    h = keras.layers.Dense(4, activation=keras.activations.tanh, name="h")(x)
    out = keras.layers.Lambda(keras.activations.sigmoid, name="squash")(h)
    model = keras.Model(x, out)
    model.compile(optimizer="adam", loss=keras.losses.binary_crossentropy, metrics=[keras.metrics.mean_absolute_error])
    return model


def _registered_activation(keras: Any) -> Any:
    @keras.saving.register_keras_serializable(package="vaecheck_tests")
    def scaled_tanh(t):
        return 2.0 * keras.ops.tanh(t)

    x = keras.Input((4,), name="x")
    return keras.Model(x, keras.layers.Dense(4, activation=scaled_tanh, name="out")(x))


def _config_of(path: Path) -> str:
    if path.suffix == ".h5":
        import h5py

        with h5py.File(path, "r") as handle:
            value = handle.attrs["model_config"]
        return value.decode() if isinstance(value, bytes) else value
    with zipfile.ZipFile(path) as archive:
        return archive.read("config.json").decode()


@pytest.fixture(scope="module")
def data_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("safety") / "data.npy"
    np.save(path, np.random.default_rng(0).uniform(0.1, 0.9, (16, 4)).astype(np.float32))
    return path


def _model_findings(path: Path, capsys, *extra: str) -> tuple[int, list[dict]]:
    code, out, err = cli([str(path), *extra, "--format", "json"], capsys)
    assert err == "", err
    return code, json.loads(out)["findings"]


def test_keras3_lambda_bytecode_is_an_error_with_or_without_data(saved_models, data_file, capsys):
    path = saved_models.save("safety_lambda", _lambda)
    assert '"__lambda__"' in _config_of(path)
    for extra in ((), (str(data_file),)):
        code, findings = _model_findings(path, capsys, *extra)
        assert code == 1
        assert [(f["code"], f["where"], f["layer"]) for f in findings] == [
            ("VC301", "config.layers[1].config.function", "doubled"),
        ]


def test_tf_keras_h5_lambda_bytecode_is_an_error(saved_models, capsys):
    path = saved_models.save_tf_keras("safety_lambda", _lambda)
    assert '"function_type": "lambda"' in _config_of(path)
    code, findings = _model_findings(path, capsys)
    assert code == 1
    [finding] = findings
    assert (finding["code"], finding["layer"], finding["cve"]) == ("VC301", "doubled", "CVE-2025-9905")


def test_savedmodel_metadata_lambda_bytecode_is_an_error(saved_models, capsys):
    path = saved_models.save_tf_keras("safety_lambda_sm", _lambda, suffix="")
    code, findings = _model_findings(path, capsys)
    assert code == 1
    assert [(f["code"], f["layer"]) for f in findings] == [("VC301", "doubled")]


def test_keras_functions_written_as_builtins_are_benign(saved_models, capsys):
    path = saved_models.save("safety_benign", _benign_functions)
    text = _config_of(path)
    # Keras really writes its own functions with module "builtins": the test can fail.
    assert text.count('"module": "builtins"') >= 3
    code, findings = _model_findings(path, capsys)
    assert (code, findings) == (0, [])


def test_a_registered_custom_activation_is_an_info(saved_models, capsys):
    path = saved_models.save("safety_registered", _registered_activation)
    assert "vaecheck_tests>scaled_tanh" in _config_of(path)
    code, findings = _model_findings(path, capsys)
    assert code == 0
    assert [(f["code"], f["severity"], f["where"]) for f in findings] == [
        ("VC306", "info", "config.layers[1].config.activation"),
    ]


def _edit_keras(source: Path, target: Path, change: Callable[[dict], None] | None = None,
                weights: Callable[[Any], None] | None = None) -> Path:
    """A copy of a Keras-written .keras with its config or its weights file changed."""
    import h5py

    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w") as copy:
        for info in original.infolist():
            data = original.read(info)
            if info.filename == "config.json" and change is not None:
                config = json.loads(data)
                change(config)
                data = json.dumps(config).encode()
            if info.filename == "model.weights.h5" and weights is not None:
                buffer = io.BytesIO(data)
                with h5py.File(buffer, "a") as handle:
                    weights(handle)
                data = buffer.getvalue()
            copy.writestr(info, data)
    return target


def _replace_output(entry: dict) -> Callable[[dict], None]:
    def change(config: dict) -> None:
        layers = config["config"]["layers"]
        entry.setdefault("name", "out")
        entry.setdefault("inbound_nodes", layers[-1]["inbound_nodes"])
        layers[-1] = entry

    return change


EDITED = [
    (
        "root-os-system",
        lambda config: config.update(module="os", class_name="system", registered_name=None),
        ("VC302", ""),
    ),
    (
        "lambda-get-file",
        _replace_output({"module": "keras.layers", "class_name": "Lambda", "config": {"name": "out", "function": _function("keras.utils", "get_file"), "arguments": {"fname": "x", "origin": "https://example.invalid/x"}}, "registered_name": None}),
        ("VC303", "config.layers[1].config.function"),
    ),
    (
        "tfsm-layer",
        _replace_output({"module": "keras.layers", "class_name": "TFSMLayer", "config": {"name": "out", "filepath": "/tmp/elsewhere", "call_endpoint": "serve"}, "registered_name": None}),
        ("VC304", "config.layers[1]"),
    ),
    (
        "vocabulary-url",
        _replace_output({"module": "keras.layers", "class_name": "StringLookup", "config": {"name": "out", "vocabulary": "https://example.invalid/v.txt"}, "registered_name": None}),
        ("VC305", "config.layers[1].config.vocabulary"),
    ),
]


@pytest.mark.parametrize(("name", "change", "expected"), EDITED, ids=[e[0] for e in EDITED])
def test_attacks_edited_into_a_real_file_are_errors(name, change, expected, saved_models, tmp_path, capsys):
    path = _edit_keras(saved_models.save("safety_dense", _dense), tmp_path / f"{name}.keras", change)
    code, findings = _model_findings(path, capsys)
    assert code == 1
    assert expected in [(f["code"], f["where"]) for f in findings]


def _external_storage(handle: Any) -> None:
    (Path(handle.filename).parent if isinstance(handle.filename, str) else None)
    del handle["layers/dense/vars/1"]
    handle["layers/dense/vars"].create_dataset("1", shape=(4,), dtype="f4", external=[("/etc/hostname", 0, 16)])


def _external_link(handle: Any) -> None:
    import h5py

    del handle["layers/dense/vars/0"]
    handle["layers/dense/vars/0"] = h5py.ExternalLink("/etc/other.h5", "/kernel")


def _soft_link(handle: Any) -> None:
    import h5py

    handle["layers/dense/vars/2"] = h5py.SoftLink("/layers/dense/vars/0")


def _virtual(handle: Any) -> None:
    import h5py

    layout = h5py.VirtualLayout(shape=(4,), dtype="f4")
    layout[:] = h5py.VirtualSource("/etc/other.h5", "data", shape=(4,))
    del handle["layers/dense/vars/1"]
    handle["layers/dense/vars"].create_virtual_dataset("1", layout)


def _shape_bomb(handle: Any) -> None:
    handle["layers"].create_group("unused/vars").create_dataset("0", shape=(10**11,), dtype="f4", chunks=(1024,))


WEIGHTS = [
    ("external-storage", _external_storage, "/layers/dense/vars/1", "CVE-2026-1669"),
    ("external-link", _external_link, "/layers/dense/vars/0", "CVE-2026-1669"),
    ("soft-link", _soft_link, "/layers/dense/vars/2", "CVE-2026-1669"),
    ("virtual", _virtual, "/layers/dense/vars/1", "CVE-2026-1669"),
    ("shape-bomb", _shape_bomb, "/layers/unused/vars/0", "CVE-2026-0897"),
]


@pytest.mark.parametrize(("kind", "hazard", "where", "cve"), WEIGHTS, ids=[w[0] for w in WEIGHTS])
def test_weights_file_hazards_anywhere_in_the_file_are_errors(kind, hazard, where, cve, saved_models, data_file, tmp_path, capsys):
    path = _edit_keras(saved_models.save("safety_dense", _dense), tmp_path / f"{kind}.keras", weights=hazard)
    for extra in ((), (str(data_file),)):
        code, findings = _model_findings(path, capsys, *extra)
        assert code == 1
        assert [(f["code"], f["kind"], f["where"], f["cve"]) for f in findings] == [
            ("VC307", kind, f"model.weights.h5:{where}", cve),
        ]


def _damaged_weights(source: Path, target: Path, damage: Callable[[bytes], bytes]) -> Path:
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w") as copy:
        for info in original.infolist():
            data = original.read(info)
            copy.writestr(info, damage(data) if info.filename == "model.weights.h5" else data)
    return target


@pytest.mark.parametrize(
    ("name", "damage", "said"),
    [
        ("truncated", lambda data: data[: len(data) // 2], "the weights file was not scanned: model.weights.h5 is not a readable HDF5 file ("),
        ("zeroed", lambda data: data[:2048] + bytes(len(data) - 2048), "the weights file could not be scanned to the end ("),
    ],
)
def test_a_weights_file_that_cannot_be_scanned_to_the_end_is_a_warning(name, damage, said, saved_models, tmp_path, capsys):
    path = _damaged_weights(saved_models.save("safety_dense", _dense), tmp_path / f"{name}.keras", damage)
    code, findings = _model_findings(path, capsys)
    assert code == 0  # a warning: what the scan could not see is unknown, not a hazard found
    [finding] = [f for f in findings if f["code"] == "VC307"]
    assert (finding["severity"], finding["kind"], finding["where"]) == ("warning", "not-scanned", "model.weights.h5")
    assert finding["message"].startswith(said)
    assert finding["message"].endswith("): links, external storage or a shape bomb in it may have gone unseen")
    code, _ = _model_findings(path, capsys, "--fail-on", "warning")
    assert code == 1


def test_the_scan_reads_a_stored_weights_file_of_any_size_in_place(saved_models, tmp_path, monkeypatch, capsys):
    import vaecheck.readers.weights_file as weights_file

    stored = saved_models.save("safety_dense", _dense)
    deflated = tmp_path / "deflated.keras"
    with zipfile.ZipFile(stored) as original, zipfile.ZipFile(deflated, "w", zipfile.ZIP_DEFLATED) as copy:
        for info in original.infolist():
            copy.writestr(info.filename, original.read(info))
    monkeypatch.setattr(weights_file, "MAX_WEIGHTS_BYTES", 1000)  # both weights files are larger
    assert _model_findings(stored, capsys) == (0, [])  # read in place: scanned whatever its size
    code, findings = _model_findings(deflated, capsys)  # decompressed into memory: refused
    assert code == 0
    assert [(f["code"], f["severity"], f["kind"]) for f in findings] == [("VC307", "warning", "not-scanned")]
    assert "more than the 0 MB vaecheck reads" in findings[0]["message"]


def test_the_weights_of_a_clean_model_have_no_hazard(saved_models, capsys):
    code, findings = _model_findings(saved_models.save("safety_dense", _dense), capsys)
    assert (code, findings) == (0, [])


# The model alone, and every format -------------------------------------------------------------
def test_the_model_alone_reports_codomains_data_free_checks_and_safety(saved_models, tmp_path, capsys):
    def build(keras: Any) -> Any:
        x = keras.Input((4,), name="x")
        model = keras.Model(x, keras.layers.Dense(4, activation="sigmoid", name="out")(x))
        model.compile(loss=keras.losses.BinaryCrossentropy(from_logits=True))
        return model

    path = _edit_keras(
        saved_models.save("safety_logits", build),
        tmp_path / "logits.keras",
        lambda config: config["config"]["layers"][1]["config"].update(
            activation=_function("subprocess", "getoutput")
        ),
    )
    code, out, err = cli([str(path), "--format", "json"], capsys)
    report = json.loads(out)
    assert (code, err) == (1, "")
    assert report["data"] is None and report["data_summary"] is None
    [output] = report["outputs"]
    assert output["data"] is None and output["range"]["known"] is False  # the activation is foreign
    assert [f["code"] for f in report["findings"]] == ["VC302"]
    assert report["summary"] == {"error": 1, "warning": 1, "info": 0}

    clean = saved_models.save("safety_logits", build)
    code, out, _ = cli([str(clean), "--format", "json"], capsys)
    [output] = json.loads(out)["outputs"]
    assert output["range"] == {**output["range"], "known": True, "low": 0.0, "high": 1.0}
    assert [f["code"] for f in output["findings"]] == ["VC106"]  # from_logits on a sigmoid: no data needed
    code, out, _ = cli([str(clean), "--no-color"], capsys)
    assert code == 1
    assert "the model alone: no data given" in out and "codomain  (0, 1)" in out and "VC106 error" in out


def test_the_python_api_checks_a_model_alone(saved_models):
    import vaecheck

    report = vaecheck.check(saved_models.save("safety_lambda", _lambda))
    assert report.model_only and report.data is None
    assert [f.code for f in report.model_findings] == ["VC301"] and not report.ok


def test_model_findings_in_text_sarif_and_github(saved_models, tmp_path, capsys, monkeypatch):
    from test_formats import sarif_validator

    monkeypatch.chdir(tmp_path)
    path = _edit_keras(saved_models.save("safety_dense", _dense), tmp_path / "tfsm.keras", EDITED[2][1])
    code, out, _ = cli(["tfsm.keras", "--no-color"], capsys)
    assert code == 1 and "model file\n  VC304 error" in out
    code, out, _ = cli(["tfsm.keras", "-q"], capsys)
    assert "tfsm.keras: VC304 error: config.layers[1] (layer 'out'): a TFSMLayer ('/tmp/elsewhere')" in out.splitlines()[-1]
    code, out, _ = cli(["tfsm.keras", "--format", "github"], capsys)
    assert out.splitlines()[-1].startswith("::error file=tfsm.keras,title=VC304 external-model-layer::config.layers[1]")
    code, out, _ = cli(["tfsm.keras", "--format", "sarif"], capsys)
    log = json.loads(out)
    assert not list(sarif_validator().iter_errors(log))
    result = next(r for r in log["runs"][0]["results"] if r["ruleId"] == "VC304")
    location = result["locations"][0]
    assert location["physicalLocation"]["artifactLocation"]["uri"] == "tfsm.keras"
    assert location["logicalLocations"][0]["name"] == "config.layers[1]"


def test_a_configured_check_may_name_a_model_without_data(saved_models, tmp_path, capsys, monkeypatch):
    import shutil

    monkeypatch.chdir(tmp_path)
    shutil.copy(saved_models.save("safety_lambda", _lambda), tmp_path / "lambda.keras")
    (tmp_path / "pyproject.toml").write_text('[tool.vaecheck]\n\n[[tool.vaecheck.check]]\nmodel = "lambda.keras"\n')
    code, out, err = cli(["-q"], capsys)
    assert (code, err) == (1, "")
    assert out.splitlines()[-1].startswith("lambda.keras: VC301 error: config.layers[1].config.function (layer 'doubled')")


def test_probe_does_not_load_a_file_with_code_in_it(saved_models, data_file, capsys):
    path = saved_models.save("safety_lambda", _lambda)
    code, out, err = cli([str(path), str(data_file), "--probe", "--format", "json"], capsys)
    report = json.loads(out)
    assert (code, err) == (1, "")
    assert "probe" not in report
    assert any("--probe did not load the model: VC301" in note for note in report["notes"])
    code, _, err = cli([str(path), "--probe"], capsys)
    assert code == 2 and "--probe runs the model on DATA" in err

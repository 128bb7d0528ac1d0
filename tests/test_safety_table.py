"""The safety checks (VC301-VC307) on configurations written by hand, with no model built.

The dictionaries have the shapes Keras writes (KERAS_FACTS §1, §6; the real files in
test_safety.py). Each finding's code, severity, place and message is written out in full, so
that a change to any word of a check's reasoning shows here.
"""

from __future__ import annotations

from typing import Any

import pytest

from vaecheck.checks import REGISTRY, run_model_checks
from vaecheck.checks.safety import (
    custom_objects,
    evidence,
    external_model_layer,
    external_vocabulary,
    foreign_reference,
    lambda_bytecode,
    place,
    reference_text,
    unsafe_keras_function,
    weights_hazard,
)
from vaecheck.report import Severity
from vaecheck.safety import (
    MAX_DEPTH,
    MAX_FINDINGS,
    LambdaCode,
    ModelFacts,
    Reference,
    WeightsHazard,
    custom,
    foreign,
    is_keras_module,
    model_facts,
    origin,
)


def facts(config: dict, training: dict | None = None, fmt: str = "keras", **more: Any) -> ModelFacts:
    return model_facts(config, training, fmt, "3.15.1", **more)


def layer(class_name: str, name: str, module: str | None = "keras.layers", **config: Any) -> dict:
    return {
        "module": module,
        "class_name": class_name,
        "config": {"name": name, "trainable": True, **config},
        "registered_name": None,
        "name": name,
        "inbound_nodes": [],
    }


def model(*layers: dict, **extra: Any) -> dict:
    return {
        "module": "keras.src.models.functional",
        "class_name": "Functional",
        "config": {"name": "m", "layers": list(layers)},
        "registered_name": "Functional",
        **extra,
    }


def function(module: str | None, name: str, registered: str | None = "function") -> dict:
    return {"module": module, "class_name": "function", "config": name, "registered_name": registered}


def found(config: dict, **kwargs: Any) -> list[tuple[str, Severity, str, str]]:
    return [(f.code, f.severity, f.output, f.message) for f in run_model_checks(facts(config, **kwargs))]


# The checks' identities -------------------------------------------------------------------------
def test_codes_ids_severities_and_scope():
    table = {
        "VC301": (lambda_bytecode, "lambda-bytecode", Severity.ERROR),
        "VC302": (foreign_reference, "foreign-reference", Severity.ERROR),
        "VC303": (unsafe_keras_function, "unsafe-keras-function", Severity.ERROR),
        "VC304": (external_model_layer, "external-model-layer", Severity.ERROR),
        "VC305": (external_vocabulary, "external-vocabulary", Severity.ERROR),
        "VC306": (custom_objects, "custom-object", Severity.INFO),
        "VC307": (weights_hazard, "weights-file-hazard", Severity.ERROR),
    }
    for code, (module, ident, severity) in table.items():
        assert REGISTRY[code] is module
        assert (module.CODE, module.ID, module.SEVERITY, module.SCOPE) == (code, ident, severity, "model")


# The shared wording -----------------------------------------------------------------------------
def test_place_names_the_root_object_and_the_layer():
    assert place("", None) == "the model's root object"
    assert place("", "out") == "the model's root object (layer 'out')"
    assert place("config.layers[1]", None) == "config.layers[1]"
    assert place("config.layers[1]", "out") == "config.layers[1] (layer 'out')"


def test_evidence_keeps_where_and_layer_and_drops_what_is_none():
    assert evidence("a", None, x=1, y=None, z="") == {"where": "a", "layer": None, "x": 1, "z": ""}


@pytest.mark.parametrize(
    ("kind", "module", "name", "text"),
    [
        ("function", None, "f", "function 'f'"),
        ("function", "builtins", "exec", "function 'exec'"),
        ("function", "os", "system", "function 'system' from module 'os'"),
        ("class", None, "Sampling", "class 'Sampling'"),
        ("class", "", "Sampling", "class 'Sampling'"),
        ("class", "builtins", "X", "class 'X' from module 'builtins'"),
        ("class", "os", "system", "class 'system' from module 'os'"),
    ],
)
def test_reference_text(kind, module, name, text):
    assert reference_text(Reference("w", None, kind, module, name, None)) == text


# VC301 ----------------------------------------------------------------------------------------------
def test_keras3_lambda_message_and_evidence():
    config = model(layer("Lambda", "out", function={"class_name": "__lambda__", "config": {"code": "4wEA"}}))
    [finding] = run_model_checks(facts(config))
    assert (finding.code, finding.id, finding.severity, finding.output) == ("VC301", "lambda-bytecode", Severity.ERROR, "")
    assert finding.message == (
        "config.layers[0].config.function (layer 'out'): a Lambda holding marshalled Python bytecode; "
        "Keras runs it on loading with safe mode off, and outside a safe-mode scope before 3.15.0 "
        "(CVE-2026-12481)"
    )
    assert finding.evidence == {
        "where": "config.layers[0].config.function", "layer": "out", "encoding": "keras3",
        "cve": "CVE-2024-3660", "fixed_in": "refused by safe mode since Keras 2.13",
    }


def test_keras2_lambda_message_and_evidence():
    config = {"class_name": "Sequential", "config": {"layers": [
        {"class_name": "Lambda", "config": {"name": "l", "trainable": True, "function": ["4wEA", None, None], "function_type": "lambda"}},
    ]}}
    [finding] = run_model_checks(facts(config, fmt="h5"))
    assert finding.message == (
        "config.layers[0].config.function (layer 'l'): a Lambda holding marshalled Python bytecode; "
        "Keras runs it on loading an .h5 even with safe mode on before 3.11.3 (CVE-2025-9905), "
        "and with safe mode off in any version"
    )
    assert finding.evidence == {
        "where": "config.layers[0].config.function", "layer": "l", "encoding": "keras2",
        "cve": "CVE-2025-9905", "fixed_in": "3.11.3",
    }


@pytest.mark.parametrize(
    ("lambda_config", "expected"),
    [
        # Bytecode is found by function_type, or by a list of code without one.
        ({"function": ["4wEA", None, None]}, [LambdaCode("config.layers[0].config.function", "l", "keras2")]),
        ({"function": "4wEA", "function_type": "lambda"}, [LambdaCode("config.layers[0].config.function", "l", "keras2")]),
        ({"function": ["4wEA"], "function_type": "function"}, []),
        ({"function": [], "function_type": None}, []),
        ({"function": [3, None], "function_type": None}, []),
        ({"function": "tanh", "function_type": "function"}, []),
    ],
)
def test_keras2_lambda_encodings(lambda_config, expected):
    config = {"class_name": "Sequential", "config": {"layers": [{"class_name": "Lambda", "config": {"name": "l", "trainable": True, **lambda_config}}]}}
    assert list(facts(config).lambdas) == expected


def test_a_function_type_makes_any_layer_a_lambda_and_names_its_function():
    config = {"class_name": "Sequential", "config": {"layers": [
        {"class_name": "MyLayer", "config": {"name": "l", "trainable": True, "function": ["4wEA"], "function_type": "lambda"}},
        {"class_name": "Lambda", "config": {"name": "r", "trainable": True, "function": "system", "function_type": "raw", "module": "os"}},
        {"class_name": "Lambda", "config": {"name": "m", "trainable": True, "function": "double", "function_type": "function", "module": "__main__"}},
        {"class_name": "Lambda", "config": {"name": "n", "trainable": True, "function": "double", "function_type": "function", "module": 7}},
    ]}}
    result = facts(config)
    assert result.lambdas == (LambdaCode("config.layers[0].config.function", "l", "keras2"),)
    functions = [(r.where, r.layer, r.module, r.name, r.registered_name) for r in result.references if r.kind == "function"]
    assert functions == [
        ("config.layers[1].config.function", "r", "os", "system", None),
        ("config.layers[2].config.function", "m", None, "double", None),
        ("config.layers[3].config.function", "n", None, "double", None),
    ]


# VC302 ----------------------------------------------------------------------------------------------
def test_a_root_object_from_os():
    config = {"module": "os", "class_name": "system", "config": {"command": "id"}, "registered_name": None}
    [finding] = run_model_checks(facts(config))
    assert (finding.code, finding.severity) == ("VC302", Severity.ERROR)
    assert finding.message == (
        "the model's root object: class 'system' from module 'os' resolves to os.system, outside Keras; "
        "Keras before 3.9.0 imports and calls it on loading, even in safe mode (CVE-2025-1550)"
    )
    assert finding.evidence == {
        "where": "", "layer": None, "module": "os", "name": "system", "resolves_to": "os.system",
        "origin": "standard-library", "cve": "CVE-2025-1550", "fixed_in": "3.9.0",
    }


@pytest.mark.parametrize(
    ("reference", "resolves_to", "origin_"),
    [
        (function("builtins", "exec"), "exec", "python-builtin"),
        (function("subprocess", "getoutput"), "subprocess.getoutput", "standard-library"),
        (function("os.path", "join"), "os.path.join", "standard-library"),
        (function("__builtin__", "eval"), "__builtin__.eval", "standard-library"),
        (function("importlib", "import_module"), "importlib.import_module", "standard-library"),
        (function("evilpkg.fns", "run"), "evilpkg.fns.run", "third-party"),
        (function("tensorflow.io", "read_file"), "tensorflow.io.read_file", "third-party"),
    ],
)
def test_foreign_functions_as_an_activation(reference, resolves_to, origin_):
    config = model(layer("Dense", "out", units=2, activation=reference))
    [finding] = run_model_checks(facts(config))
    assert finding.code == "VC302"
    assert (finding.evidence["where"], finding.evidence["layer"]) == ("config.layers[0].config.activation", "out")
    assert finding.evidence["resolves_to"] == resolves_to
    assert finding.evidence["origin"] == origin_
    assert finding.message.startswith(
        f"config.layers[0].config.activation (layer 'out'): {reference_text(facts(config).references[0])} "
        f"resolves to {resolves_to}, outside Keras;"
    )


@pytest.mark.parametrize(
    ("reference", "code"),
    [
        # Keras's own functions are written as builtins; a registered name is the user's (VC306).
        (function("builtins", "tanh"), None),
        (function("builtins", "relu6"), None),
        (function("builtins", "binary_crossentropy"), None),
        (function("builtins", "mae"), None),
        (function("builtins", "print"), "VC302"),
        (function("builtins", "open"), "VC302"),
        (function("builtins", "mypkg>open", "mypkg>open"), "VC306"),
        (function("builtins", "my_loss"), "VC306"),
        (function(None, "my_loss"), "VC306"),
        (function(None, "tanh"), None),
        (function("keras.activations", "tanh"), None),
        (function("keras.src.losses", "my_thing"), None),
        (function("tensorflow.keras.activations", "tanh"), None),
        (function("tensorflow.python.keras.activations", "tanh"), None),
        (function("tf_keras.activations", "tanh"), None),
        (function("keras_hub.layers", "x"), None),
        # A function's registration is in its name, not in registered_name.
        (function("mypkg.fns", "scaled", "mypkg>scaled"), "VC302"),
        (function("mypkg.fns", "mypkg>scaled"), "VC306"),
        (function("kerasx.fns", "scaled"), "VC302"),
    ],
)
def test_which_function_is_foreign_custom_or_keras_own(reference, code):
    config = model(layer("Dense", "out", units=2, activation=reference))
    assert [f.code for f in run_model_checks(facts(config))] == ([code] if code else [])


@pytest.mark.parametrize(
    ("module", "registered", "code"),
    [
        ("keras.layers", None, None),
        ("keras", None, None),
        ("keras_cv.layers", None, None),
        ("keras_nlp.layers", None, None),
        ("tensorflow.keras.layers", None, None),
        ("tensorflow.raw_ops", None, "VC302"),
        ("tensorflowx", None, "VC302"),
        ("evilpkg.layers", None, "VC302"),
        ("evilpkg.layers", "evilpkg>Decoder", "VC306"),
        ("os", "os>Decoder", "VC302"),  # the standard library is foreign even when registered
        (None, None, "VC306"),
        (None, "Decoder", "VC306"),
    ],
)
def test_which_class_is_foreign_custom_or_keras_own(module, registered, code):
    config = model(layer("Decoder", "out", module=module) | {"registered_name": registered})
    assert [f.code for f in run_model_checks(facts(config))] == ([code] if code else [])


def test_keras_module_names():
    assert is_keras_module("keras") and is_keras_module("keras.src.layers") and is_keras_module("tf_keras")
    assert is_keras_module("tensorflow.keras") and is_keras_module("tensorflow.python.keras.layers")
    assert not is_keras_module("tensorflow") and not is_keras_module("tensorflow.python")
    assert not is_keras_module("kerasx") and not is_keras_module("os") and not is_keras_module("")


def test_origin_and_foreign_of_single_references():
    assert origin(Reference("", None, "class", None, "X", None)) == "third-party"
    assert origin(Reference("", None, "function", "builtins", "exec", None)) == "python-builtin"
    assert origin(Reference("", None, "class", "json", "X", None)) == "standard-library"
    assert not foreign(Reference("", None, "class", None, "system", None))
    # A class named like a builtin from the module builtins is Python's own: foreign? no, Keras
    # does not look classes up among its functions, but builtins is the standard library.
    assert foreign(Reference("", None, "class", "builtins", "X", None))


# Keras 2 files: no module at all ---------------------------------------------------------------------
def test_keras2_classes_without_module_are_custom_only_when_registered():
    config = {"class_name": "Sequential", "config": {"layers": [
        {"class_name": "Dense", "config": {"name": "d", "activation": "tanh"}},
        {"class_name": "mypkg>Sampling", "config": {"name": "z"}},
    ]}}
    training = {"optimizer_config": {"class_name": "Custom>Adam", "config": {}}, "loss": "mse"}
    result = facts(config, training, fmt="h5")
    assert [(r.where, r.name, r.module_given) for r in result.references] == [
        ("config.layers[1]", "mypkg>Sampling", False),
    ]
    [finding] = run_model_checks(result)
    assert finding.message == (
        "config.layers[1]: custom class 'mypkg>Sampling'; loading the model needs its code"
    )


def test_only_keras_own_optimizers_under_custom_are_benign():
    for name, is_custom in (("Custom>Adam", False), ("Custom>LossScaleOptimizerV3", False), ("Custom>MyOpt", True)):
        reference = Reference("training_config.optimizer_config", None, "class", None, name, None, module_given=False)
        assert custom(reference) is is_custom, name
        given = Reference("training_config.optimizer_config", None, "class", None, name, None)
        assert custom(given) is is_custom, name


# VC303 ----------------------------------------------------------------------------------------------
UNSAFE = [
    ("get_file", "CVE-2025-8747", "downloads a file from a URL and writes it to disk"),
    ("enable_unsafe_deserialization", "CVE-2025-9906", "turns safe mode off for what is loaded next"),
    ("load_model", "CVE-2025-9906", "loads another file, with the options the configuration gives"),
    ("load_weights", "CVE-2025-8747", "loads another file, with the options the configuration gives"),
    ("save_model", "CVE-2025-8747", "reaches the file system or changes how Keras loads"),
    ("set_backend", "CVE-2025-8747", "reaches the file system or changes how Keras loads"),
]


@pytest.mark.parametrize(("name", "cve", "what"), UNSAFE, ids=[u[0] for u in UNSAFE])
@pytest.mark.parametrize("module", ["keras.utils", "builtins", None, "tensorflow.keras.utils"])
def test_unsafe_keras_functions(name, cve, what, module):
    config = model(layer("Lambda", "a", function=function(module, name)))
    [finding] = run_model_checks(facts(config))
    assert (finding.code, finding.id, finding.severity) == ("VC303", "unsafe-keras-function", Severity.ERROR)
    assert finding.message == (
        f"config.layers[0].config.function (layer 'a'): calls Keras's {name}, which {what}; "
        f"Keras before 3.11.0 calls it on loading, even in safe mode ({cve})"
    )
    expected = {"where": "config.layers[0].config.function", "layer": "a", "function": name, "cve": cve, "fixed_in": "3.11.0"}
    if module is not None:
        expected["module"] = module
    assert finding.evidence == expected


def test_an_unsafe_name_behind_a_registration_or_as_a_class():
    config = model(
        layer("Lambda", "a", function=function("keras.utils", "mypkg>get_file", "mypkg>get_file")),
        layer("KerasFileEditor", "e", module="keras.saving"),
    )
    result = [(f.code, f.evidence["where"], f.evidence["function"]) for f in run_model_checks(facts(config))]
    assert result == [
        ("VC303", "config.layers[0].config.function", "get_file"),
        ("VC303", "config.layers[1]", "KerasFileEditor"),
    ]


def test_an_unsafe_name_outside_keras_is_left_to_vc302():
    config = model(layer("Lambda", "a", function=function("os", "get_file")))
    assert [f.code for f in run_model_checks(facts(config))] == ["VC302"]
    # ... and the Keras functions after it are still reported; the name is the last part.
    config = model(
        layer("Lambda", "a", function=function("os", "get_file")),
        layer("Lambda", "b", function=function("builtins", "a>b>load_model", "a>b>load_model")),
    )
    found_ = [(f.code, f.evidence["where"], f.evidence.get("function")) for f in run_model_checks(facts(config))]
    assert found_ == [("VC302", "config.layers[0].config.function", None), ("VC303", "config.layers[1].config.function", "load_model")]
    # ... and no custom object either, though it needs no user code to be found.
    assert not custom(Reference("w", None, "function", "mypkg", "get_file", "mypkg>get_file"))


# VC304 ----------------------------------------------------------------------------------------------
def test_tfsm_layer_with_its_path():
    config = model(layer("TFSMLayer", "sm", filepath="/tmp/other", call_endpoint="serve"))
    [finding] = run_model_checks(facts(config))
    assert (finding.code, finding.severity) == ("VC304", Severity.ERROR)
    assert finding.message == (
        "config.layers[0] (layer 'sm'): a TFSMLayer ('/tmp/other'), which loads a TensorFlow SavedModel "
        "from a path in the configuration and runs its graph (CVE-2026-1462; safe mode refuses it since "
        "Keras 3.14.0 (3.13.2, 3.12.1))"
    )
    assert finding.evidence == {
        "where": "config.layers[0]", "layer": "sm", "class_name": "TFSMLayer", "path": "/tmp/other",
        "cve": "CVE-2026-1462", "fixed_in": "3.14.0 (3.13.2, 3.12.1)",
    }


def test_torch_module_wrapper_without_a_path():
    config = model(layer("TorchModuleWrapper", "torch", module="keras.src.utils.torch_utils", filepath=3))
    [finding] = run_model_checks(facts(config))
    assert finding.message == (
        "config.layers[0] (layer 'torch'): a TorchModuleWrapper, which holds a pickled PyTorch module, "
        "which Keras 3.11.0-3.11.2 unpickled on loading (CVE-2025-49655; safe mode refuses it since Keras 3.11.3)"
    )
    assert finding.evidence == {
        "where": "config.layers[0]", "layer": "torch", "class_name": "TorchModuleWrapper", "path": 3,
        "cve": "CVE-2025-49655", "fixed_in": "3.11.3",
    }


def test_a_wrapper_name_as_a_function_or_with_a_list_config_is_not_a_wrapper_layer():
    reference = Reference("w", None, "function", "keras.layers", "TFSMLayer", None, "TFSMLayer")
    listed = Reference("w", None, "class", "keras.layers", "TFSMLayer", None, ["/tmp/x"])
    assert list(external_model_layer.check(ModelFacts("keras", None, (reference,), (), ()))) == []
    [problem] = external_model_layer.check(ModelFacts("keras", None, (listed,), (), ()))
    assert problem.message.startswith("w: a TFSMLayer, which loads") and "path" not in problem.evidence


# VC305 ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("class_name", "key", "path", "read_from"),
    [
        ("StringLookup", "vocabulary", "https://example.invalid/vocab.txt", "the URL"),
        ("IntegerLookup", "vocabulary", "gs://bucket/v.txt", "the URL"),
        ("TextVectorization", "vocabulary", "/etc/passwd", "the path"),
        ("IndexLookup", "vocabulary_path", "vocab.txt", "the path"),
        ("TextVectorization", "idf_weights", "/tmp/idf", "the path"),
        ("Hashing", "vocabulary", "file:/x", "the path"),
    ],
)
def test_external_vocabularies(class_name, key, path, read_from):
    config = model(layer(class_name, "lookup", **{key: path}))
    [finding] = run_model_checks(facts(config))
    assert (finding.code, finding.severity) == ("VC305", Severity.ERROR)
    assert finding.message == (
        f"config.layers[0].config.{key} (layer 'lookup'): the vocabulary is read from {read_from} '{path}' "
        "when the model is loaded (CVE-2025-12058; refused in safe mode since Keras 3.12.0)"
    )
    assert finding.evidence == {
        "where": f"config.layers[0].config.{key}", "layer": "lookup", "path": path,
        "cve": "CVE-2025-12058", "fixed_in": "3.12.0",
    }


@pytest.mark.parametrize(
    "lookup",
    [
        layer("StringLookup", "lookup", vocabulary=["a", "b"]),
        layer("StringLookup", "lookup", vocabulary=""),
        layer("StringLookup", "lookup", vocabulary=None),
        layer("StringLookup", "lookup", oov_token="/etc/passwd"),
        layer("Dense", "lookup", vocabulary="/etc/passwd"),
    ],
)
def test_vocabularies_kept_in_the_file_or_not_a_lookup(lookup):
    assert facts(model(lookup)).vocabularies == ()


# VC306 ----------------------------------------------------------------------------------------------
def test_custom_object_messages():
    config = model(
        layer("Sampling", "z", module="mypkg.layers") | {"registered_name": "mypkg>Sampling"},
        layer("Sampling", "s", module=None) | {"registered_name": "Sampling"},
        layer("Dense", "out", units=2, activation=function("builtins", "mypkg>scaled_tanh")),
        compile_config={"loss": function("builtins", "my_vae_loss")},
    )
    findings = list(run_model_checks(facts(config)))
    assert {(f.code, f.id, f.severity) for f in findings} == {("VC306", "custom-object", Severity.INFO)}
    assert [f.message for f in findings] == [
        "config.layers[0] (layer 'z'): custom class 'Sampling' from module 'mypkg.layers' registered as "
        "'mypkg>Sampling'; loading the model needs its code",
        "config.layers[1] (layer 's'): custom class 'Sampling'; loading the model needs its code",
        "config.layers[2].config.activation (layer 'out'): custom function 'mypkg>scaled_tanh'; "
        "loading the model needs its code",
        "compile_config.loss: custom function 'my_vae_loss'; loading the model needs its code",
    ]
    assert [f.evidence for f in findings] == [
        {"where": "config.layers[0]", "layer": "z", "kind": "class", "name": "Sampling",
         "module": "mypkg.layers", "registered_name": "mypkg>Sampling"},
        {"where": "config.layers[1]", "layer": "s", "kind": "class", "name": "Sampling", "registered_name": "Sampling"},
        {"where": "config.layers[2].config.activation", "layer": "out", "kind": "function",
         "name": "mypkg>scaled_tanh", "module": "builtins", "registered_name": "function"},
        {"where": "compile_config.loss", "layer": None, "kind": "function", "name": "my_vae_loss",
         "module": "builtins", "registered_name": "function"},
    ]


def test_a_function_with_a_registered_looking_name_is_not_called_registered_in_the_message():
    reference = Reference("w", None, "function", "mypkg", "mypkg>f", "mypkg>f")
    [problem] = custom_objects.check(ModelFacts("keras", None, (reference,), (), ()))
    assert problem.message == "w: custom function 'mypkg>f' from module 'mypkg'; loading the model needs its code"


# VC307 ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "cve", "fixed"),
    [
        ("external-storage", "CVE-2026-1669", "3.14.0 (3.13.2, 3.12.1)"),
        ("external-link", "CVE-2026-1669", "3.15.0"),
        ("soft-link", "CVE-2026-1669", "3.15.0"),
        ("virtual", "CVE-2026-1669", "3.15.0"),
        ("shape-bomb", "CVE-2026-0897", "3.15.0"),
    ],
)
@pytest.mark.parametrize(("fmt", "file"), [("keras", "model.weights.h5"), ("keras-dir", "model.weights.h5"), ("h5", "the weights")])
def test_weights_hazards(kind, cve, fixed, fmt, file):
    hazard = WeightsHazard("/layers/dense/vars/0", kind, "points at /etc/passwd")
    [finding] = run_model_checks(facts(model(), fmt=fmt, weights_hazards=(hazard,)))
    assert (finding.code, finding.severity, finding.output) == ("VC307", Severity.ERROR, "")
    assert finding.message == (
        f"{file} /layers/dense/vars/0: points at /etc/passwd ({cve}; Keras refuses it on loading since {fixed})"
    )
    assert finding.evidence == {
        "where": f"{file}:/layers/dense/vars/0", "layer": None, "kind": kind, "cve": cve, "fixed_in": fixed,
    }


def test_an_unreadable_weights_file_cites_no_cve():
    hazard = WeightsHazard("/", "unreadable", "not an HDF5 file")
    [finding] = run_model_checks(facts(model(), fmt="savedmodel", weights_hazards=(hazard,)))
    assert finding.message == "the weights /: not an HDF5 file"
    assert finding.evidence == {"where": "the weights:/", "layer": None, "kind": "unreadable"}


@pytest.mark.parametrize(("fmt", "file"), [("keras", "model.weights.h5"), ("h5", "the weights")])
def test_a_weights_file_not_scanned_to_the_end_is_a_warning(fmt, file):
    note = "the weights file could not be scanned to the end (truncated file)"
    [finding] = run_model_checks(facts(model(), fmt=fmt, weights_note=note))
    assert (finding.code, finding.severity, finding.output) == ("VC307", Severity.WARNING, "")
    assert finding.message == (
        "the weights file could not be scanned to the end (truncated file): links, external "
        "storage or a shape bomb in it may have gone unseen"
    )
    assert finding.evidence == {"where": file, "layer": None, "kind": "not-scanned"}
    [configured] = run_model_checks(
        facts(model(), fmt=fmt, weights_note=note), {"VC307": Severity.ERROR}
    )
    assert configured.severity == Severity.ERROR
    assert list(run_model_checks(facts(model(), fmt=fmt))) == []


# The scan ---------------------------------------------------------------------------------------------
def test_facts_keep_the_format_version_and_weights_note():
    result = model_facts(model(), None, "h5", "2.15.0", (), "no weights in the file")
    assert (result.model_format, result.keras_version, result.weights_note) == ("h5", "2.15.0", "no weights in the file")
    assert (result.references, result.lambdas, result.vocabularies, result.weights_hazards) == ((), (), (), ())


def test_the_training_config_is_scanned_once():
    loss = {"loss": function("os", "system")}
    config = model(compile_config=loss)
    assert [r.where for r in facts(config, loss).references] == ["compile_config.loss"]
    assert [r.where for r in facts(config, dict(loss)).references] == ["compile_config.loss", "training_config.loss"]
    assert [r.where for r in facts({"class_name": "Sequential", "config": {}}, loss).references] == ["training_config.loss"]


def test_layer_names_come_from_the_entry_or_its_config():
    config = model(
        {"module": "os", "class_name": "A", "config": {"name": "from_config", "trainable": True}},
        {"module": "os", "class_name": "B", "name": "own", "build_config": {}, "config": {"name": "other"}},
        {"module": "os", "class_name": "C", "config": {"name": 5, "trainable": True}},
        {"module": "keras.layers", "class_name": "InputLayer", "config": {"name": "x"},
         "inner": {"module": "os", "class_name": "D", "config": {"name": "not_a_layer"}}},
        {"module": "keras.layers", "class_name": "Dense", "name": "d", "inbound_nodes": [],
         "config": {"kernel_initializer": {"module": "os", "class_name": "E", "config": {"name": "init"}}}},
    )
    assert [(r.where, r.layer, r.name) for r in facts(config).references] == [
        ("config.layers[0]", "from_config", "A"),
        ("config.layers[1]", "own", "B"),
        ("config.layers[2]", None, "C"),
        ("config.layers[3].inner", "x", "D"),
        ("config.layers[4].config.kernel_initializer", "d", "E"),
    ]


def test_data_entries_and_non_string_fields_are_not_references():
    config = model(
        layer("Dense", "d", kernel={"class_name": "__numpy__", "config": {"value": [1], "module": "os"}}),
        {"module": 3, "class_name": "Sampling", "config": {"name": "z", "trainable": True}, "registered_name": 4},
        {"class_name": 7, "module": "os"},
        {"module": "os", "class_name": "function", "config": ["system"]},
        [{"module": "os", "class_name": "system"}],
    )
    result = facts(config)
    assert [(r.where, r.module, r.name, r.registered_name, r.kind) for r in result.references] == [
        ("config.layers[1]", None, "Sampling", None, "class"),
        ("config.layers[4][0]", "os", "system", None, "class"),
    ]


def test_the_scan_stops_at_its_depth():
    def nested(depth: int) -> dict:
        value: dict = {"module": "os", "class_name": "system"}
        for _ in range(depth):
            value = {"x": value}
        return value

    assert len(facts(nested(MAX_DEPTH)).references) == 1
    assert facts(nested(MAX_DEPTH + 1)).references == ()
    lists: Any = {"module": "os", "class_name": "system"}
    for _ in range(MAX_DEPTH):
        lists = [lists]
    assert len(facts({"a": lists}).references) == 0
    assert len(facts(lists).references) == 1


def test_each_kind_of_finding_is_capped():
    lambdas = [layer("Lambda", f"l{i}", function={"class_name": "__lambda__", "config": {}}) for i in range(MAX_FINDINGS + 5)]
    vocabularies = [layer("StringLookup", f"s{i}", vocabulary="/v") for i in range(MAX_FINDINGS + 5)]
    dangers = [layer("Dense", f"d{i}", activation=function("os", "system")) for i in range(MAX_FINDINGS + 5)]
    customs = [layer("Dense", f"c{i}", activation=function(None, "mine")) for i in range(MAX_FINDINGS + 5)]
    keras2 = [
        {"class_name": "Lambda", "config": {"name": f"k{i}", "function": ["4wEA"], "function_type": "lambda"}}
        for i in range(MAX_FINDINGS + 5)
    ]
    result = facts(model(*lambdas, *vocabularies, *dangers, *customs))
    assert len(result.lambdas) == MAX_FINDINGS and len(result.vocabularies) == MAX_FINDINGS
    names = [r.name for r in result.references]
    assert names.count("system") == MAX_FINDINGS and names.count("mine") == MAX_FINDINGS
    assert len(facts(model(*keras2)).lambdas) == MAX_FINDINGS


# All checks at once -----------------------------------------------------------------------------------
EVERYTHING = model(
    layer("Lambda", "l", function={"class_name": "__lambda__", "config": {"code": "4wEA"}}),
    layer("Dense", "d", activation=function("os", "system")),
    layer("Lambda", "g", function=function("keras.utils", "get_file")),
    layer("TFSMLayer", "sm", filepath="/m"),
    layer("StringLookup", "s", vocabulary="/v"),
    layer("Sampling", "z", module=None),
)
HAZARD = WeightsHazard("/a", "soft-link", "a soft link")


def test_run_model_checks_in_code_order_with_severities_and_filters():
    result = facts(EVERYTHING, weights_hazards=(HAZARD,))
    assert [(f.code, f.severity) for f in run_model_checks(result)] == [
        ("VC301", Severity.ERROR), ("VC302", Severity.ERROR), ("VC303", Severity.ERROR),
        ("VC304", Severity.ERROR), ("VC305", Severity.ERROR), ("VC306", Severity.INFO), ("VC307", Severity.ERROR),
    ]
    chosen = run_model_checks(result, {"VC306": Severity.WARNING, "VC301": Severity.INFO}, {"VC301", "VC306", "VC001"})
    assert [(f.code, f.severity, f.output) for f in chosen] == [("VC301", Severity.INFO, ""), ("VC306", Severity.WARNING, "")]
    assert list(run_model_checks(result, enabled=set())) == []

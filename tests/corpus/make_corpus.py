"""The corpus of broken and hostile inputs: every case made by a function, none stored as a blob.

Each case writes its files into a folder of its own and says how vaecheck is run on them, which
file the one-line message must name, the exit code (2 for unusable input, 1 for input that is
valid but wrong) and a fragment of the message. Cases whose payload would create a file if any
of it ran (a shell command, Lambda bytecode, a module import, code in a .npy header) name that
file as a canary, which must not exist after the run.

    python tests/corpus/make_corpus.py DIR     # write every case under DIR, list them

A reader added later gets its cases by adding functions decorated with `@case(...)`: the runner
(tests/corpus/runner.py) and tests/test_corpus.py need nothing else.
"""

from __future__ import annotations

import base64
import json
import marshal
import os
import struct
import sys
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

FEATURES = 4
ROWS = 64
GB = 2**30
CANARY = "canary-ran"  # the file a payload creates when it runs; its presence is the failure


@dataclass(frozen=True)
class Invocation:
    """How vaecheck runs on one case: its arguments, and what the message must name."""

    argv: tuple[str, ...]
    blame: str  # the file the one-line message names ("<stdin>" for standard input)
    stdin: str | None = None  # a file fed to vaecheck as its standard input
    canaries: tuple[str, ...] = ()  # files that appear only if something from the input ran
    importable: str | None = None  # a folder on the module path, as if on PYTHONPATH
    unprivileged: bool = False  # run as a user who may not read root's 0o000 files


@dataclass(frozen=True)
class Case:
    name: str
    make: Callable[[Path], Invocation]
    exit: int
    message: str  # a fragment of the one-line message (stderr for 2, the finding for 1)
    about: str  # what the case is, for the report


CASES: list[Case] = []


def case(exit: int, message: str) -> Callable[[Callable[[Path], Invocation]], Callable[[Path], Invocation]]:
    def register(make: Callable[[Path], Invocation]) -> Callable[[Path], Invocation]:
        about = (make.__doc__ or make.__name__).strip().splitlines()[0]
        CASES.append(Case(make.__name__, make, exit, message, about))
        return make

    return register


# --- valid building blocks ----------------------------------------------------------------------


def keras_tensor(source: str, features: int = FEATURES) -> dict[str, Any]:
    history = [source, 0, 0]
    shape = [None, features]
    return {"class_name": "__keras_tensor__", "config": {"shape": shape, "dtype": "float32", "keras_history": history}}


def input_layer(name: str = "x", features: int = FEATURES) -> dict[str, Any]:
    config = {"batch_shape": [None, features], "dtype": "float32", "name": name}
    return {"module": "keras.layers", "class_name": "InputLayer", "config": config, "registered_name": None, "name": name, "inbound_nodes": []}


def layer(class_name: str, name: str, source: str, module: str | None = "keras.layers", **config: Any) -> dict[str, Any]:
    return {
        "module": module,
        "class_name": class_name,
        "config": {"name": name, **config},
        "registered_name": None,
        "name": name,
        "inbound_nodes": [{"args": [keras_tensor(source)], "kwargs": {}}],
    }


def functional(layers: list[dict[str, Any]], output: str, name: str = "model") -> dict[str, Any]:
    return {
        "module": "keras.src.models.functional",
        "class_name": "Functional",
        "config": {"name": name, "trainable": True, "layers": layers, "input_layers": [["x", 0, 0]], "output_layers": [[output, 0, 0]]},
        "registered_name": "Functional",
    }


def relu_model(name: str = "out") -> dict[str, Any]:
    """A decoder ending in relu: with standardized data, a VC001 error (exit 1)."""
    return functional([input_layer(), layer("Dense", name, "x", units=FEATURES, activation="relu")], name)


def write_keras(path: Path, config: Any, metadata: bool = True) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        if metadata:
            archive.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
        text = config if isinstance(config, (str, bytes)) else json.dumps(config)
        archive.writestr("config.json", text)
    return path


def write_data(path: Path) -> Path:
    """Standardized data: about half the values are negative."""
    np.save(path, np.random.default_rng(0).standard_normal((ROWS, FEATURES)).astype(np.float32))
    return path


def pair(root: Path, model: Path | None = None, data: Path | None = None, *extra: str, blame: Path | str | None = None, **options: Any) -> Invocation:
    """Run on `model` and `data`, valid ones standing in for whichever is not the case's."""
    model = model or write_keras(root / "model.keras", relu_model())
    data = data or write_data(root / "data.npy")
    return Invocation((str(model), str(data), *extra), str(blame if blame is not None else model), **options)


def npy_bytes(header: str | bytes, body: bytes = b"", version: tuple[int, int] = (1, 0), length: int | None = None) -> bytes:
    raw = header.encode("latin1") if isinstance(header, str) else header
    if length is None:
        padding = 16 - (10 + len(raw) + 1) % 16
        raw = raw + b" " * padding + b"\n"
    declared = len(raw) if length is None else length
    field = struct.pack("<H" if version[0] == 1 else "<I", declared)
    return b"\x93NUMPY" + bytes(version) + field + raw + body


def npy_header(descr: str = "<f4", shape: Any = (ROWS, FEATURES), fortran_order: bool = False) -> str:
    return repr({"descr": descr, "fortran_order": fortran_order, "shape": shape})


@dataclass(frozen=True)
class RawMember:
    """A zip member written byte by byte, so that its headers can say what they like."""

    name: str
    stored: bytes  # the bytes as they sit in the archive
    method: int = zipfile.ZIP_STORED
    declared_size: int | None = None  # the uncompressed size the headers claim
    crc: int | None = None
    flags: int = 0


def raw_zip(members: list[RawMember]) -> bytes:
    """A zip archive from raw members; sizes past 4 GiB and counts past 65,535 use zip64 records."""
    local: list[bytes] = []
    central: list[bytes] = []
    offset = 0
    for member in members:
        name = member.name.encode()
        size = len(member.stored) if member.declared_size is None else member.declared_size
        crc = zlib.crc32(member.stored) if member.crc is None else member.crc
        zip64 = size >= 0xFFFFFFFF
        extra = struct.pack("<HHQQ", 1, 16, size, len(member.stored)) if zip64 else b""
        sizes = (0xFFFFFFFF, 0xFFFFFFFF) if zip64 else (len(member.stored), size)
        version = 45 if zip64 else 20
        common = struct.pack("<HHHHHLLLHH", version, member.flags, member.method, 0, 0x21, crc, *sizes, len(name), len(extra))
        local.append(b"PK\x03\x04" + common + name + extra + member.stored)
        central.append(b"PK\x01\x02" + struct.pack("<H", version) + common + struct.pack("<HHHLL", 0, 0, 0, 0, offset) + name + extra)
        offset += len(local[-1])
    directory = b"".join(central)
    count = len(members)
    tail = b""
    if count > 0xFFFF:
        record = struct.pack("<4sQHHLLQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, len(directory), offset)
        locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, offset + len(directory), 1)
        tail = record + locator
        count = 0xFFFF
    end = struct.pack("<4sHHHHLLH", b"PK\x05\x06", 0, 0, count, count, len(directory), offset, 0)
    return b"".join(local) + directory + tail + end


def deflated(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def write_h5_model(path: Path, config: Any = None, **attrs: Any) -> Path:
    import h5py

    with h5py.File(path, "w") as handle:
        if config is not None:
            handle.attrs["model_config"] = config if isinstance(config, str) else json.dumps(config)
        for name, value in attrs.items():
            handle.attrs[name] = value
    return path


def write_h5_data(path: Path, build: Callable[[Any], None]) -> Path:
    import h5py

    with h5py.File(path, "w") as handle:
        build(handle)
    return path


def canary_code(canary: Path) -> bytes:
    """Marshalled bytecode of a function that creates `canary` when it is called."""
    function = eval(f"lambda x: (open({str(canary)!r}, 'w').close(), x)[1]")  # noqa: S307
    return marshal.dumps(function.__code__)


def keras2_model(layers: list[dict[str, Any]], output: str) -> dict[str, Any]:
    return {
        "class_name": "Functional",
        "config": {"name": "model", "layers": layers, "input_layers": [["x", 0, 0]], "output_layers": [[output, 0, 0]]},
    }


def keras2_input() -> dict[str, Any]:
    config = {"batch_input_shape": [None, FEATURES], "dtype": "float32", "name": "x"}
    return {"class_name": "InputLayer", "config": config, "name": "x", "inbound_nodes": []}


# --- .keras archives ----------------------------------------------------------------------------


@case(2, "not a Keras model")
def keras_not_a_zip(root: Path) -> Invocation:
    """A .keras file that is plain text."""
    model = root / "model.keras"
    model.write_text("this is not a zip archive\n")
    return pair(root, model)


@case(2, "not a valid .keras archive")
def keras_truncated_zip(root: Path) -> Invocation:
    """A .keras archive cut in half: no central directory."""
    whole = write_keras(root / "whole.keras", relu_model()).read_bytes()
    model = root / "model.keras"
    model.write_bytes(whole[: len(whole) // 2])
    (root / "whole.keras").unlink()
    return pair(root, model)


@case(2, "cannot read config.json from the archive")
def keras_corrupt_member(root: Path) -> Invocation:
    """config.json's deflated bytes overwritten: a bad stream, or a bad CRC."""
    stored = bytearray(deflated(json.dumps(relu_model()).encode()))
    stored[5:40] = b"\xff" * 35
    declared = len(json.dumps(relu_model()))
    model = root / "model.keras"
    model.write_bytes(raw_zip([RawMember("config.json", bytes(stored), zipfile.ZIP_DEFLATED, declared, crc=0)]))
    return pair(root, model)


@case(2, "the archive has no config.json")
def keras_without_config(root: Path) -> Invocation:
    """A zip archive holding metadata.json and weights, no config.json."""
    model = root / "model.keras"
    with zipfile.ZipFile(model, "w") as archive:
        archive.writestr("metadata.json", "{}")
        archive.writestr("model.weights.h5", b"\x89HDF\r\n\x1a\n")
    return pair(root, model)


@case(2, "cannot read config.json from the archive (That compression method is not supported)")
def keras_unsupported_compression(root: Path) -> Invocation:
    """config.json compressed with method 98 (PPMd), which zipfile does not implement."""
    model = root / "model.keras"
    model.write_bytes(raw_zip([RawMember("config.json", b"\x00" * 64, method=98, declared_size=64)]))
    return pair(root, model)


@case(2, "cannot read config.json from the archive")
def keras_encrypted_member(root: Path) -> Invocation:
    """config.json flagged as encrypted: it needs a password vaecheck will never have."""
    model = root / "model.keras"
    model.write_bytes(raw_zip([RawMember("config.json", b"\x00" * 64, flags=1)]))
    return pair(root, model)


@case(2, "config.json declares 10,737,418,240 bytes")
def keras_zip_bomb_10gb(root: Path) -> Invocation:
    """config.json declaring 10 GB in a zip64 header, from 10 KB of deflate."""
    model = root / "model.keras"
    model.write_bytes(raw_zip([RawMember("config.json", deflated(b" " * 10_000_000), zipfile.ZIP_DEFLATED, 10 * GB)]))
    return pair(root, model)


@case(2, "cannot read config.json from the archive (Bad CRC-32")
def keras_zip_bomb_understated(root: Path) -> Invocation:
    """config.json declaring 1 KB whose deflate stream inflates to 100 MB: read no further."""
    model = root / "model.keras"
    model.write_bytes(raw_zip([RawMember("config.json", deflated(b"[" + b" " * 100_000_000 + b"]"), zipfile.ZIP_DEFLATED, 1024)]))
    return pair(root, model)


@case(2, "more than the 16 MB a model configuration may have")
def keras_config_million_layers(root: Path) -> Invocation:
    """A Sequential model of 10^6 layers (22 MB of JSON, 70 KB deflated)."""
    layers = ",".join(['{"class_name":"ReLU"}'] * 1_000_000)
    text = '{"class_name":"Sequential","config":{"name":"s","layers":[' + layers + "]}}"
    model = root / "model.keras"
    with zipfile.ZipFile(model, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", text)
    return pair(root, model)


@case(2, "more than 10,000 layers")
def keras_config_too_many_layers(root: Path) -> Invocation:
    """A Sequential model of 20,001 layers, in a config small enough to parse."""
    layers = [input_layer()] + [{"class_name": "ReLU", "config": {"name": f"r{i}"}} for i in range(20_000)]
    return pair(root, write_keras(root / "model.keras", {"class_name": "Sequential", "config": {"name": "s", "layers": layers}}))


@case(2, "config.json holds more than 1,000,000 JSON values")
def keras_config_value_bomb(root: Path) -> Invocation:
    """Five million empty objects in 15 MB: parsed, they would take half a gigabyte."""
    text = '{"class_name":"Sequential","config":{"layers":[],"junk":[' + ",".join(["{}"] * 5_000_000) + "]}}"
    model = root / "model.keras"
    with zipfile.ZipFile(model, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", text)
    return pair(root, model)


@case(2, "config.json is not valid JSON")
def keras_config_not_json(root: Path) -> Invocation:
    """config.json that is not JSON."""
    return pair(root, write_keras(root / "model.keras", "{'class_name': 'Functional',"))


@case(2, "config.json is not UTF-8 text")
def keras_config_not_utf8(root: Path) -> Invocation:
    """config.json in Latin-1 with bytes that are not UTF-8."""
    return pair(root, write_keras(root / "model.keras", b'{"class_name": "Dense\xe9\xff"}'))


@case(2, "the model configuration is not a JSON object")
def keras_config_not_object(root: Path) -> Invocation:
    """config.json holding a JSON list."""
    return pair(root, write_keras(root / "model.keras", "[1, 2, 3]"))


@case(2, "config.json is nested more than 512 levels deep")
def keras_config_nested_100k(root: Path) -> Invocation:
    """config.json nested 100,000 levels deep."""
    return pair(root, write_keras(root / "model.keras", "[" * 100_000 + "]" * 100_000))


@case(2, "config.json is nested more than 512 levels deep")
def keras_config_nested_in_strings_and_objects(root: Path) -> Invocation:
    """Deep nesting of objects inside a layer, after strings full of brackets."""
    deep = '{"a":' * 5_000 + "1" + "}" * 5_000
    text = json.dumps(relu_model())[:-1] + ', "doc": "]]]]}}}}", "deep": ' + deep + "}"
    return pair(root, write_keras(root / "model.keras", text))


# --- graphs -------------------------------------------------------------------------------------


@case(2, "the layer graph has a cycle")
def graph_cycle(root: Path) -> Invocation:
    """Two layers whose inbound_nodes feed each other."""
    layers = [input_layer(), layer("Dense", "a", "b", units=FEATURES), layer("Dense", "b", "a", units=FEATURES)]
    return pair(root, write_keras(root / "model.keras", functional(layers, "b")))


@case(2, "the layer graph has a cycle")
def graph_self_loop(root: Path) -> Invocation:
    """A layer that is its own input."""
    layers = [input_layer(), layer("Dense", "a", "a", units=FEATURES)]
    return pair(root, write_keras(root / "model.keras", functional(layers, "a")))


@case(2, "config.layers[1].inbound_nodes[0]: layer 'out' refers to 'ghost', which is not in the model")
def graph_missing_layer(root: Path) -> Invocation:
    """A layer whose input is a layer the model does not have."""
    layers = [input_layer(), layer("Dense", "out", "ghost", units=FEATURES, activation="relu")]
    return pair(root, write_keras(root / "model.keras", functional(layers, "out")))


@case(2, "config.output_layers: refers to 'nothing', which is not in the model")
def graph_missing_output(root: Path) -> Invocation:
    """output_layers naming a layer that does not exist."""
    return pair(root, write_keras(root / "model.keras", functional(relu_model()["config"]["layers"], "nothing")))


@case(2, "a layer refers to call 7 of 'x'")
def graph_bad_node_index(root: Path) -> Invocation:
    """keras_history pointing at the eighth call of a layer called once."""
    out = layer("Dense", "out", "x", units=FEATURES, activation="relu")
    out["inbound_nodes"][0]["args"][0]["config"]["keras_history"] = ["x", 7, 0]
    return pair(root, write_keras(root / "model.keras", functional([input_layer(), out], "out")))


@case(1, "VC001")
def graph_reverse_order(root: Path) -> Invocation:
    """5,000 layers listed last to first: resolving them must not take quadratic time."""
    layers = [input_layer()]
    for i in range(5_000):
        layers.append(layer("Dense", f"d{i}", f"d{i - 1}" if i else "x", units=FEATURES, activation="relu"))
    layers[1:] = reversed(layers[1:])
    return pair(root, write_keras(root / "model.keras", functional(layers, "d4999")), None, "-q")


@case(2, "models nested more than 64 deep")
def graph_nested_models(root: Path) -> Invocation:
    """A model inside a model, 80 deep."""
    model = relu_model()
    for depth in range(80):
        inner = dict(model, name="inner", inbound_nodes=[{"args": [keras_tensor("x")], "kwargs": {}}])
        inner["config"] = dict(model["config"], name=f"m{depth}")
        model = functional([input_layer(), inner], "inner")
        model["config"]["output_layers"] = [["inner", 1, 0]]  # a nested Functional counts from 1
    return pair(root, write_keras(root / "model.keras", model))


@case(2, "config: a Functional model without a 'layers' entry")
def graph_functional_without_layers(root: Path) -> Invocation:
    """A Functional model whose layers entry is missing: Keras refuses it, it is no subclassed model."""
    model = relu_model()
    del model["config"]["layers"]
    return pair(root, write_keras(root / "model.keras", model))


@case(2, "config.layers: expected a list, got an object")
def graph_layers_not_a_list(root: Path) -> Invocation:
    """A Functional model whose layers entry is an object."""
    model = relu_model()
    model["config"]["layers"] = {"out": model["config"]["layers"][1]}
    return pair(root, write_keras(root / "model.keras", model))


@case(2, "config.layers[1].config: expected an object, got a list")
def graph_output_layer_config_a_list(root: Path) -> Invocation:
    """The output layer's config is a list: never read as a linear layer."""
    model = relu_model()
    model["config"]["layers"][1]["config"] = [FEATURES, "relu"]
    return pair(root, write_keras(root / "model.keras", model))


@case(2, "config.layers[1].class_name: expected a string, got a number")
def graph_class_name_not_text(root: Path) -> Invocation:
    """A layer whose class_name is a number."""
    model = relu_model()
    model["config"]["layers"][1]["class_name"] = 42
    return pair(root, write_keras(root / "model.keras", model))


# --- code paths: nothing named in a model is imported or run -----------------------------------


@case(1, "VC302 error: config.layers[1] (layer 'out'): class 'system' from module 'os' resolves to os.system")
def code_os_system_layer(root: Path) -> Invocation:
    """An output layer named by module 'os' and class 'system', with a shell command to run."""
    canary = root / CANARY
    evil = layer("system", "out", "x", module="os", command=f"touch {canary}")
    evil["registered_name"] = "os>system"
    model = write_keras(root / "model.keras", functional([input_layer(), evil], "out"))
    return pair(root, model, None, "-q", "--fail-on", "warning", canaries=(str(canary),))


@case(1, "VC302 error: config.layers[1].config.function (layer 'out'): function 'check_call'")
def code_subprocess_in_lambda(root: Path) -> Invocation:
    """A Lambda whose function is subprocess.check_call with arguments (the CVE-2025-8747 shape)."""
    canary = root / CANARY
    function = {"module": "subprocess", "class_name": "function", "config": "check_call", "registered_name": "check_call"}
    evil = layer("Lambda", "out", "x", function=function, arguments={"args": ["touch", str(canary)]})
    model = write_keras(root / "model.keras", functional([input_layer(), evil], "out"))
    return pair(root, model, None, "-q", "--fail-on", "warning", canaries=(str(canary),))


@case(1, "VC302 error: config.layers[1].config.activation (layer 'out'): function 'getoutput'")
def code_subprocess_activation(root: Path) -> Invocation:
    """A Dense layer whose activation is subprocess.getoutput of a shell command."""
    canary = root / CANARY
    activation = {"module": "subprocess", "class_name": "function", "config": "getoutput", "registered_name": f"touch {canary}"}
    out = layer("Dense", "out", "x", units=FEATURES, activation=activation)
    model = write_keras(root / "model.keras", functional([input_layer(), out], "out"))
    return pair(root, model, None, "-q", "--fail-on", "warning", canaries=(str(canary),))


@case(1, "VC301 error: config.layers[1].config.function (layer 'out'): a Lambda holding marshalled Python bytecode")
def code_lambda_bytecode_keras3(root: Path) -> Invocation:
    """A Keras 3 Lambda holding marshalled bytecode (__lambda__) that creates a file."""
    canary = root / CANARY
    code = base64.b64encode(canary_code(canary)).decode()
    function = {"class_name": "__lambda__", "config": {"code": code, "defaults": None, "closure": None}}
    evil = layer("Lambda", "out", "x", function=function, arguments={})
    model = write_keras(root / "model.keras", functional([input_layer(), evil], "out"))
    return pair(root, model, None, "-q", "--fail-on", "warning", canaries=(str(canary),))


@case(1, "VC301 error: config.layers[1].config.function (layer 'out'): a Lambda holding marshalled Python bytecode; Keras runs it on loading an .h5")
def code_lambda_bytecode_keras2_h5(root: Path) -> Invocation:
    """A legacy .h5 Lambda with function_type 'lambda' and base64 marshal (CVE-2025-9905)."""
    canary = root / CANARY
    code = base64.b64encode(canary_code(canary)).decode()
    evil = {
        "class_name": "Lambda",
        "config": {"name": "out", "function": [code, None, None], "function_type": "lambda", "module": "__main__", "arguments": {}},
        "name": "out",
        "inbound_nodes": [[["x", 0, 0, {}]]],
    }
    model = write_h5_model(root / "model.h5", keras2_model([keras2_input(), evil], "out"), keras_version="2.15.0")
    return pair(root, model, None, "-q", "--fail-on", "warning", canaries=(str(canary),))


@case(1, "VC302 error: config.layers[1].config.activation (layer 'h'): function 'Decoder' from module 'vaecheck_payload'")
def code_custom_module_on_path(root: Path) -> Invocation:
    """A custom class whose module is a Python file on the module path that creates a file on import."""
    canary = root / CANARY
    (root / "payload").mkdir()
    (root / "payload" / "vaecheck_payload.py").write_text(f"open({str(canary)!r}, 'w').close()\nclass Decoder: pass\n")
    evil = layer("Decoder", "out", "x", module="vaecheck_payload")
    evil["registered_name"] = "vaecheck_payload>Decoder"
    activation = {"module": "vaecheck_payload", "class_name": "function", "config": "Decoder", "registered_name": "Decoder"}
    hidden = layer("Dense", "h", "x", units=FEATURES, activation=activation)
    evil["inbound_nodes"] = [{"args": [keras_tensor("h")], "kwargs": {}}]
    model = write_keras(root / "model.keras", functional([input_layer(), hidden, evil], "out"))
    return pair(root, model, None, "-q", "--fail-on", "warning", canaries=(str(canary),), importable=str(root / "payload"))


@case(1, "VC302 error: the model's root object: class 'system' from module 'os' resolves to os.system")
def code_root_object_from_os(root: Path) -> Invocation:
    """The model's root object names os.system, with a shell command as its config (CVE-2025-1550)."""
    canary = root / CANARY
    model = write_keras(root / "model.keras", {"module": "os", "class_name": "system", "config": {"command": f"touch {canary}"}, "registered_name": None})
    return pair(root, model, None, "-q", canaries=(str(canary),))


@case(1, "VC302 error: config.layers[1].config.activation (layer 'out'): function 'exec' resolves to exec")
def code_builtins_exec_activation(root: Path) -> Invocation:
    """A Dense activation naming Python's exec through module builtins, with code as its name's neighbour."""
    canary = root / CANARY
    activation = {"module": "builtins", "class_name": "function", "config": "exec", "registered_name": f"open({str(canary)!r}, 'w')"}
    out = layer("Dense", "out", "x", units=FEATURES, activation=activation)
    model = write_keras(root / "model.keras", functional([input_layer(), out], "out"))
    return pair(root, model, None, "-q", canaries=(str(canary),))


@case(1, "VC303 error: config.layers[1].config.function (layer 'out'): calls Keras's get_file")
def code_get_file_lambda(root: Path) -> Invocation:
    """A Lambda calling keras.utils.get_file to fetch a file (CVE-2025-8747)."""
    function = {"module": "keras.utils", "class_name": "function", "config": "get_file", "registered_name": None}
    evil = layer("Lambda", "out", "x", function=function, arguments={"fname": "weights.h5", "origin": "https://example.invalid/w.h5"})
    model = write_keras(root / "model.keras", functional([input_layer(), evil], "out"))
    return pair(root, model, None, "-q")


@case(1, "VC303 error: config.layers[1].config.function (layer 'unsafe'): calls Keras's enable_unsafe_deserialization")
def code_unsafe_deserialization_then_lambda(root: Path) -> Invocation:
    """A Lambda turning safe mode off, then a Lambda with bytecode (CVE-2025-9906)."""
    canary = root / CANARY
    switch = layer("Lambda", "unsafe", "x", function={"module": "keras.config", "class_name": "function", "config": "enable_unsafe_deserialization", "registered_name": None})
    code = base64.b64encode(canary_code(canary)).decode()
    evil = layer("Lambda", "out", "unsafe", function={"class_name": "__lambda__", "config": {"code": code, "defaults": None, "closure": None}})
    model = write_keras(root / "model.keras", functional([input_layer(), switch, evil], "out"))
    return pair(root, model, None, "-q", canaries=(str(canary),))


@case(1, "VC304 error: config.layers[1] (layer 'out'): a TFSMLayer")
def code_tfsm_layer(root: Path) -> Invocation:
    """A TFSMLayer loading a SavedModel from elsewhere (CVE-2026-1462)."""
    evil = layer("TFSMLayer", "out", "x", filepath="/tmp/elsewhere", call_endpoint="serve")
    model = write_keras(root / "model.keras", functional([input_layer(), evil], "out"))
    return pair(root, model, None, "-q")


@case(1, "VC305 error: config.layers[1].config.vocabulary (layer 'out'): the vocabulary is read from the path '/etc/passwd'")
def code_vocabulary_path(root: Path) -> Invocation:
    """A StringLookup whose vocabulary is /etc/passwd (CVE-2025-12058)."""
    evil = layer("StringLookup", "out", "x", vocabulary="/etc/passwd")
    model = write_keras(root / "model.keras", functional([input_layer(), evil], "out"))
    return pair(root, model, None, "-q")


@case(2, "the .npy header is not a Python dict literal")
def code_in_npy_header(root: Path) -> Invocation:
    """A .npy header that is a Python expression calling os.system."""
    canary = root / CANARY
    header = "{'descr': __import__('os').system('touch %s'), 'fortran_order': False, 'shape': (64, 4)}" % canary
    data = root / "data.npy"
    data.write_bytes(npy_bytes(header, b"\x00" * ROWS * FEATURES * 4))
    return pair(root, None, data, blame=data, canaries=(str(canary),))


# --- legacy .h5 models --------------------------------------------------------------------------


@case(2, "this HDF5 file has no model_config")
def h5_model_without_config(root: Path) -> Invocation:
    """A weights-only HDF5 file given as the model."""
    model = write_h5_data(root / "model.h5", lambda h: h.create_dataset("kernel", data=np.ones((4, 4))))
    return pair(root, model)


@case(2, "the model_config attribute is not text")
def h5_model_config_not_text(root: Path) -> Invocation:
    """model_config stored as an array of numbers."""
    return pair(root, write_h5_model(root / "model.h5", None, model_config=np.arange(10)))


@case(2, "model_config is not valid JSON")
def h5_model_config_not_json(root: Path) -> Invocation:
    """model_config holding text that is not JSON."""
    return pair(root, write_h5_model(root / "model.h5", "model_config = {..."))


@case(2, "the model_config attribute declares 20,971,520 bytes, more than the 16 MB")
def h5_model_config_20mb(root: Path) -> Invocation:
    """A model_config attribute of 20 MB: refused by its declared size, before h5py reads it."""
    import h5py

    model = root / "model.h5"
    with h5py.File(model, "w", libver="latest") as handle:
        handle.attrs.create("model_config", np.bytes_(b"{" + b" " * (20 * 2**20 - 2) + b"}"))
    return pair(root, model)


@case(2, "cannot read the file's attributes")
def h5_model_config_1gb(root: Path) -> Invocation:
    """A model_config attribute whose dataspace was rewritten to declare 1 GB (it holds 9 KB)."""
    import h5py

    model = root / "model.h5"
    with h5py.File(model, "w") as handle:
        handle.attrs.create("model_config", np.zeros(0x2345, dtype="u1"))
    raw = bytearray(model.read_bytes())
    # The dataspace message holds the size and the maximum size: both say 1 GB now.
    marker = struct.pack("<Q", 0x2345)
    assert 1 <= raw.count(marker) <= 2, "the attribute's size is found in its dataspace"
    model.write_bytes(bytes(raw).replace(marker, struct.pack("<Q", GB)))
    return pair(root, model)


@case(1, "VC001")
def h5_model_links_not_followed(root: Path) -> Invocation:
    """A model .h5 whose groups are an external link to a FIFO and a soft link: only attributes are read."""
    import h5py

    os.mkfifo(root / "elsewhere.h5")
    model = write_h5_model(root / "model.h5", keras2_model([keras2_input(), {
        "class_name": "Dense", "config": {"name": "out", "units": FEATURES, "activation": "relu"},
        "name": "out", "inbound_nodes": [[["x", 0, 0, {}]]]}], "out"), keras_version="2.15.0")
    with h5py.File(model, "a") as handle:
        handle["model_weights"] = h5py.ExternalLink(str(root / "elsewhere.h5"), "/")
        handle["optimizer_weights"] = h5py.SoftLink("/model_weights")
    return pair(root, model, None, "-q")


@case(2, "the model_config attribute is not UTF-8 text")
def h5_model_config_not_utf8(root: Path) -> Invocation:
    """model_config with a byte that is not UTF-8: never decoded with replacement characters."""
    text = json.dumps(keras2_model([keras2_input()], "x")).replace('"model"', '"mod\xffel"')
    return pair(root, write_h5_model(root / "model.h5", None, model_config=np.bytes_(text.encode("latin-1"))))


# --- .npy data ----------------------------------------------------------------------------------


@case(2, "object arrays are refused: vaecheck never unpickles")
def npy_object_dtype(root: Path) -> Invocation:
    """A .npy of Python objects (a pickle inside)."""
    data = root / "data.npy"
    data.write_bytes(npy_bytes(npy_header("|O"), b"\x80\x04N."))
    return pair(root, None, data, blame=data)


@case(2, "not a .npy file: it starts with")
def npy_bad_magic(root: Path) -> Invocation:
    """A .npy whose magic is wrong."""
    data = root / "data.npy"
    data.write_bytes(b"\x93NUMPZ" + npy_bytes(npy_header())[6:] + b"\x00" * ROWS * FEATURES * 4)
    return pair(root, None, data, blame=data)


@case(2, "its header declares 4,000,000,000,000,000 bytes of data")
def npy_claims_1e15_elements(root: Path) -> Invocation:
    """A header claiming 10^15 float32 values over 1 KB of data."""
    data = root / "data.npy"
    data.write_bytes(npy_bytes(npy_header(shape=(10**15,)), b"\x00" * 1024))
    return pair(root, None, data, blame=data)


@case(2, "the file is truncated")
def npy_truncated_body(root: Path) -> Invocation:
    """A .npy cut short in the middle of its data."""
    data = write_data(root / "data.npy")
    data.write_bytes(data.read_bytes()[:-100])
    return pair(root, None, data, blame=data)


@case(2, "has a negative dimension")
def npy_negative_shape(root: Path) -> Invocation:
    """A header with shape (-64, 4)."""
    data = root / "data.npy"
    data.write_bytes(npy_bytes(npy_header(shape=(-ROWS, FEATURES)), b"\x00" * 1024))
    return pair(root, None, data, blame=data)


@case(2, "the file is truncated")
def npy_huge_shape(root: Path) -> Invocation:
    """A header with shape (2^63, 2^63): its size overflows any fixed-width integer."""
    data = root / "data.npy"
    data.write_bytes(npy_bytes(npy_header(shape=(2**63, 2**63)), b"\x00" * 1024))
    return pair(root, None, data, blame=data)


@case(2, "declares 64 dimensions, more than 32")
def npy_many_dimensions(root: Path) -> Invocation:
    """A header with 64 dimensions of size 1."""
    data = root / "data.npy"
    data.write_bytes(npy_bytes(npy_header(shape=(1,) * 64), b"\x00" * 4))
    return pair(root, None, data, blame=data)


@case(2, "the .npy header declares 4,294,967,295 bytes, more than the 10,000")
def npy_header_length_huge(root: Path) -> Invocation:
    """A version 2.0 header whose length field claims 4 GB."""
    data = root / "data.npy"
    data.write_bytes(npy_bytes(npy_header(), version=(2, 0), length=0xFFFFFFFF))
    return pair(root, None, data, blame=data)


@case(2, "the .npy header is not a Python dict literal")
def npy_header_nested(root: Path) -> Invocation:
    """A header whose shape is nested 3,000 parentheses deep."""
    data = root / "data.npy"
    data.write_bytes(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': " + "(" * 3000 + ")" * 3000 + "}"))
    return pair(root, None, data, blame=data)


@case(2, "structured arrays")
def npy_structured_dtype(root: Path) -> Invocation:
    """A header whose descr is a list of fields."""
    data = root / "data.npy"
    data.write_bytes(npy_bytes(repr({"descr": [("a", "<f4"), ("b", "<i4")], "fortran_order": False, "shape": (1,)}), b"\x00" * 8))
    return pair(root, None, data, blame=data)


@case(2, "unsupported .npy format version 9.0")
def npy_unknown_version(root: Path) -> Invocation:
    """A .npy of format version 9.0."""
    data = root / "data.npy"
    data.write_bytes(npy_bytes(npy_header(), version=(9, 0)))
    return pair(root, None, data, blame=data)


# --- other data ---------------------------------------------------------------------------------


@case(2, "refusing a likely zip bomb")
def npz_bomb(root: Path) -> Invocation:
    """An .npz member declaring 10 GB from 10 KB of deflate."""
    header = npy_bytes(npy_header(shape=(10 * GB // 4,)))
    data = root / "data.npz"
    data.write_bytes(raw_zip([RawMember("x.npy", deflated(header + b"\x00" * 10_000_000), zipfile.ZIP_DEFLATED, len(header) + 10 * GB)]))
    return pair(root, None, data, blame=data)


@case(1, "VC001")
def npz_honest_bomb_streams(root: Path) -> Invocation:
    """An .npz member of 100 MB of -1.0 deflated to 100 KB: valid, streamed in flat memory."""
    values = 25 * 2**20
    header = npy_bytes(npy_header(shape=(values // FEATURES, FEATURES)))
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = np.full(2**20, -1.0, dtype="<f4").tobytes()
    stored = compressor.compress(header) + b"".join(compressor.compress(block) for _ in range(values // 2**20)) + compressor.flush()
    data = root / "data.npz"
    data.write_bytes(raw_zip([RawMember("x.npy", stored, zipfile.ZIP_DEFLATED, len(header) + values * 4, crc=_crc_of(header, block, values // 2**20))]))
    return pair(root, None, data, "-q")


def _crc_of(header: bytes, block: bytes, repeats: int) -> int:
    crc = zlib.crc32(header)
    for _ in range(repeats):
        crc = zlib.crc32(block, crc)
    return crc


@case(2, "object arrays are refused")
def npz_pickled_member(root: Path) -> Invocation:
    """An .npz whose array is a pickled object array, as Keras's npz weights are."""
    data = root / "data.npz"
    with zipfile.ZipFile(data, "w") as archive:
        archive.writestr("x.npy", npy_bytes(npy_header("|O", shape=(1,)), b"\x80\x04\x95N."))
    return pair(root, None, data, blame=data)


@case(2, "not an .npz file")
def npz_not_a_zip(root: Path) -> Invocation:
    """An .npz that is text."""
    data = root / "data.npz"
    data.write_text("not a zip\n")
    return pair(root, None, data, blame=data)


@case(2, "the zip archive lists 200,000 members")
def npz_member_count_bomb(root: Path) -> Invocation:
    """An .npz whose central directory lists 200,000 members (each costs memory to list)."""
    member = npy_bytes(npy_header(shape=(1, FEATURES)), b"\x00" * 16)
    data = root / "data.npz"
    data.write_bytes(raw_zip([RawMember(f"{i}.npy", member) for i in range(200_000)]))
    return pair(root, None, data, blame=data)


@case(2, "uses zip compression method 14")
def npz_lzma_member(root: Path) -> Invocation:
    """An .npz whose member is compressed with LZMA, which no .npz writer uses."""
    data = root / "data.npz"
    with zipfile.ZipFile(data, "w", zipfile.ZIP_LZMA) as archive:
        archive.writestr("x.npy", npy_bytes(npy_header(), b"\x00" * ROWS * FEATURES * 4))
    return pair(root, None, data, blame=data)


@case(2, "line 1 has 1,000,000 cells, more than the 262,144 columns vaecheck reads")
def csv_million_columns(root: Path) -> Invocation:
    """A CSV with 10^6 columns on one line (and a header of 10^6 names)."""
    data = root / "data.csv"
    with data.open("w") as handle:
        handle.write(",".join(f"c{i}" for i in range(1_000_000)) + "\n")
        handle.write(",".join(["0.5"] * 1_000_000) + "\n")
    return pair(root, None, data, blame=data)


@case(2, "line 1 is longer than 16,777,216 characters")
def csv_100mb_line(root: Path) -> Invocation:
    """A CSV of one 100 MB line with no line break."""
    data = root / "data.csv"
    with data.open("w") as handle:
        for _ in range(100):
            handle.write("1," * 500_000)
    return pair(root, None, data, blame=data)


@case(2, "is not UTF-8 text")
def csv_not_utf8(root: Path) -> Invocation:
    """A CSV whose third line holds bytes that are not UTF-8."""
    data = root / "data.csv"
    data.write_bytes(b"a,b,c,d\n1,2,3,4\n\xff\xfe,2,3,4\n")
    return pair(root, None, data, blame=data)


@case(2, "line 3 has 2 cells where the first line has 4")
def csv_ragged(root: Path) -> Invocation:
    """A CSV whose rows differ in length."""
    data = root / "data.csv"
    data.write_text("a,b,c,d\n1,2,3,4\n1,2\n")
    return pair(root, None, data, blame=data)


@case(2, "is not a number")
def csv_nul_bytes(root: Path) -> Invocation:
    """A CSV whose cells hold NUL bytes."""
    data = root / "data.csv"
    data.write_bytes(b"a,b,c,d\n1,2,3,4\n1,\x00\x00,3,4\n")
    return pair(root, None, data, blame=data)


@case(2, "field larger than field limit")
def csv_huge_quoted_cell(root: Path) -> Invocation:
    """A CSV with a quoted cell of 1 MB."""
    data = root / "data.csv"
    data.write_text('a,b,c,d\n1,2,3,4\n1,"' + "9" * 2**20 + '",3,4\n')
    return pair(root, None, data, blame=data)


@case(2, "the file holds a header and no rows of data")
def csv_header_only(root: Path) -> Invocation:
    """A CSV with a header and nothing else."""
    data = root / "data.csv"
    data.write_text("a,b,c,d\n")
    return pair(root, None, data, blame=data)


@case(2, "not a .npy file")
def stdin_not_npy(root: Path) -> Invocation:
    """Standard input that is not a .npy stream."""
    feed = root / "stdin.bin"
    feed.write_bytes(b"hello, world\n" * 100)
    model = write_keras(root / "model.keras", relu_model())
    return Invocation((str(model), "-"), "<stdin>", stdin=str(feed))


@case(2, "the stream ended early")
def stdin_truncated(root: Path) -> Invocation:
    """A .npy stream on standard input that ends before its declared data."""
    feed = root / "stdin.bin"
    feed.write_bytes(write_data(root / "whole.npy").read_bytes()[:-64])
    model = write_keras(root / "model.keras", relu_model())
    return Invocation((str(model), "-"), "<stdin>", stdin=str(feed))


# --- HDF5 data ----------------------------------------------------------------------------------


def _h5_target(root: Path) -> Path:
    """Where a link in a hostile file points: a FIFO, so following it would hang the run."""
    target = root / "target.h5"
    os.mkfifo(target)
    return target


@case(2, "is a soft link (to '/real')")
def h5_data_soft_link(root: Path) -> Invocation:
    """An HDF5 dataset reached through a soft link."""
    import h5py

    def build(handle: Any) -> None:
        handle.create_dataset("real", data=np.ones((ROWS, FEATURES), "f4"))
        handle["x"] = h5py.SoftLink("/real")

    data = write_h5_data(root / "data.h5", build)
    return pair(root, None, Path(f"{data}:/x"), blame=data)


@case(2, "is an external link")
def h5_data_external_link(root: Path) -> Invocation:
    """An HDF5 dataset that is an external link to another file (a FIFO)."""
    import h5py

    target = _h5_target(root)
    data = write_h5_data(root / "data.h5", lambda h: h.__setitem__("x", h5py.ExternalLink(str(target), "/x")))
    return pair(root, None, Path(f"{data}:/x"), blame=data)


@case(2, "is stored in external files: refused")
def h5_data_external_storage(root: Path) -> Invocation:
    """An HDF5 dataset whose bytes are stored in /etc/passwd."""
    data = write_h5_data(root / "data.h5", lambda h: h.create_dataset("x", shape=(4, FEATURES), dtype="u1", external=[("/etc/passwd", 0, 16)]))
    return pair(root, None, data, blame=data)


@case(2, "is virtual (its data lives in other files): refused")
def h5_data_virtual(root: Path) -> Invocation:
    """A virtual HDF5 dataset mapping a dataset of another file (a FIFO)."""
    import h5py

    target = _h5_target(root)

    def build(handle: Any) -> None:
        layout = h5py.VirtualLayout(shape=(ROWS, FEATURES), dtype="f4")
        layout[:] = h5py.VirtualSource(str(target), "x", shape=(ROWS, FEATURES))
        handle.create_virtual_dataset("x", layout, fillvalue=0)

    data = write_h5_data(root / "data.h5", build)
    return pair(root, None, data, blame=data)


@case(2, "refusing a likely shape bomb")
def h5_data_shape_bomb(root: Path) -> Invocation:
    """A chunked HDF5 dataset declaring 8 TB that stores nothing."""
    data = write_h5_data(root / "data.h5", lambda h: h.create_dataset("x", shape=(10**9, 1000), dtype="f8", chunks=(1024, 8)))
    return pair(root, None, data, blame=data)


@case(2, "a damaged HDF5 file")
def h5_data_damaged_attribute(root: Path) -> Invocation:
    """An HDF5 data file whose attribute's dataspace was rewritten to declare 1 GB."""
    data = h5_model_config_1gb(root).argv[0]
    renamed = root / "data.h5"
    os.rename(data, renamed)
    return pair(root, None, renamed, blame=renamed)


@case(2, "not an HDF5 file, or a damaged one")
def h5_data_truncated(root: Path) -> Invocation:
    """An HDF5 data file cut short."""
    whole = write_h5_data(root / "whole.h5", lambda h: h.create_dataset("x", data=np.ones((ROWS, FEATURES), "f4"))).read_bytes()
    data = root / "data.h5"
    data.write_bytes(whole[:1000])
    return pair(root, None, data, blame=data)


# --- filesystem ---------------------------------------------------------------------------------


@case(2, "a symbolic link (to '/etc/passwd')")
def fs_model_symlink_to_passwd(root: Path) -> Invocation:
    """The model is a symbolic link to /etc/passwd."""
    model = root / "model.keras"
    model.symlink_to("/etc/passwd")
    return pair(root, model)


@case(2, "a symbolic link (to '/etc/passwd')")
def fs_data_symlink_to_passwd(root: Path) -> Invocation:
    """The data is a .csv symbolic link to /etc/passwd, whose lines would be echoed."""
    data = root / "data.csv"
    data.symlink_to("/etc/passwd")
    return pair(root, None, data, blame=data)


@case(2, "a symbolic link (to '/etc')")
def fs_data_symlink_to_directory(root: Path) -> Invocation:
    """The data is a symbolic link to /etc, which would be read as a folder of shards."""
    data = root / "data"
    data.symlink_to("/etc")
    return pair(root, None, data, blame=data)


@case(2, "a symbolic link (to '/etc')")
def fs_model_symlink_to_directory(root: Path) -> Invocation:
    """The model is a symbolic link to a directory."""
    model = root / "model"
    model.symlink_to("/etc")
    return pair(root, model)


@case(2, "a symbolic link (to '/etc/passwd')")
def fs_shard_symlink(root: Path) -> Invocation:
    """A folder of shards, one of which is a symbolic link to /etc/passwd."""
    shards = root / "shards"
    shards.mkdir()
    write_data(shards / "part-0.npy")
    (shards / "part-1.csv").symlink_to("/etc/passwd")
    return pair(root, None, shards, blame=shards / "part-1.csv")


@case(2, "config.json is a symbolic link (to '/etc/passwd')")
def fs_keras_dir_config_symlink(root: Path) -> Invocation:
    """An unzipped .keras folder whose config.json is a symbolic link to /etc/passwd."""
    model = root / "model"
    model.mkdir()
    (model / "config.json").symlink_to("/etc/passwd")
    return pair(root, model)


@case(2, "config.json is not a regular file")
def fs_keras_dir_config_fifo(root: Path) -> Invocation:
    """An unzipped .keras folder whose config.json is a FIFO: reading it would block."""
    model = root / "model"
    model.mkdir()
    os.mkfifo(model / "config.json")
    return pair(root, model)


@case(2, "not a regular file")
def fs_model_fifo(root: Path) -> Invocation:
    """The model is a FIFO with no writer."""
    model = root / "model.keras"
    os.mkfifo(model)
    return pair(root, model)


@case(2, "not a regular file")
def fs_data_fifo(root: Path) -> Invocation:
    """The data is a FIFO with no writer."""
    data = root / "data.npy"
    os.mkfifo(data)
    return pair(root, None, data, blame=data)


@case(2, "not a regular file")
def fs_data_device(root: Path) -> Invocation:
    """The data is /dev/zero, which never ends."""
    return pair(root, None, Path("/dev/zero"), blame="/dev/zero")


@case(2, "a directory with no config.json")
def fs_model_directory(root: Path) -> Invocation:
    """The model is an empty directory."""
    model = root / "model.keras"
    model.mkdir()
    return pair(root, model)


@case(2, "the directory holds no data files")
def fs_data_directory(root: Path) -> Invocation:
    """The data is a directory of no data files."""
    data = root / "data"
    data.mkdir()
    (data / "notes.txt").write_text("nothing here\n")
    return pair(root, None, data, blame=data)


@case(2, "Permission denied")
def fs_model_permission_denied(root: Path) -> Invocation:
    """A model file nobody may read (the run drops root's privileges)."""
    model = write_keras(root / "model.keras", relu_model())
    model.chmod(0)
    return pair(root, model, unprivileged=True)


@case(2, "Permission denied")
def fs_data_permission_denied(root: Path) -> Invocation:
    """A data file nobody may read (the run drops root's privileges)."""
    data = write_data(root / "data.npy")
    data.chmod(0)
    return pair(root, None, data, blame=data, unprivileged=True)


@case(2, "the file is empty")
def fs_empty_model(root: Path) -> Invocation:
    """An empty .keras file."""
    model = root / "model.keras"
    model.touch()
    return pair(root, model)


@case(2, "the file is empty")
def fs_empty_h5_model(root: Path) -> Invocation:
    """An empty .h5 model file."""
    model = root / "model.h5"
    model.touch()
    return pair(root, model)


@case(2, "the file is empty")
def fs_empty_npy(root: Path) -> Invocation:
    """An empty .npy file."""
    data = root / "data.npy"
    data.touch()
    return pair(root, None, data, blame=data)


@case(2, "the file is empty")
def fs_empty_csv(root: Path) -> Invocation:
    """An empty .csv file."""
    data = root / "data.csv"
    data.touch()
    return pair(root, None, data, blame=data)


@case(2, "the file is empty")
def fs_empty_h5_data(root: Path) -> Invocation:
    """An empty .h5 data file."""
    data = root / "data.h5"
    data.touch()
    return pair(root, None, data, blame=data)


# --- saved weights and SavedModel metadata ---------------------------------------------------


def _bn_model() -> dict[str, Any]:
    """relu, then BatchNormalization: its range needs the statistics in the weights file."""
    return functional(
        [
            input_layer(),
            layer("Dense", "h", "x", units=FEATURES, activation="relu"),
            layer("BatchNormalization", "bn", "h", epsilon=0.001, center=True, scale=True),
        ],
        "bn",
    )


def _keras_with_weights(path: Path, fill: Callable[[Any], None]) -> Path:
    """A .keras archive whose model.weights.h5 is written by `fill(h5py.File)`."""
    import io

    import h5py

    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as handle:
        fill(handle)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
        archive.writestr("config.json", json.dumps(_bn_model()))
        archive.writestr("model.weights.h5", buffer.getvalue())
    return path


@case(1, "VC004")
def weights_external_link(root: Path) -> Invocation:
    """BatchNormalization's statistics as an external link to a file elsewhere: never opened."""
    import h5py

    def fill(handle: Any) -> None:
        handle.create_group("layers/dense/vars").attrs["name"] = "h"
        handle["layers/batch_normalization/vars"] = h5py.ExternalLink("/etc/hostname", "/vars")

    model = _keras_with_weights(root / "model.keras", fill)
    return pair(root, model, None, "-q", "--fail-on", "warning")


@case(1, "VC004")
def weights_soft_link(root: Path) -> Invocation:
    """BatchNormalization's statistics as a soft link inside the file: refused all the same."""
    import h5py

    def fill(handle: Any) -> None:
        handle.create_group("layers/dense/vars").attrs["name"] = "h"
        handle.create_group("elsewhere/vars")
        handle["layers/batch_normalization/vars"] = h5py.SoftLink("/elsewhere/vars")

    model = _keras_with_weights(root / "model.keras", fill)
    return pair(root, model, None, "-q", "--fail-on", "warning")


@case(1, "VC004")
def weights_shape_bomb(root: Path) -> Invocation:
    """A weight dataset declaring 10^12 values with nothing stored: refused before allocating."""

    def fill(handle: Any) -> None:
        handle.create_group("layers/dense/vars").attrs["name"] = "h"
        group = handle.create_group("layers/batch_normalization/vars")
        group.attrs["name"] = "bn"
        group.create_dataset("0", shape=(10**12,), dtype="f4", chunks=(1024,))

    model = _keras_with_weights(root / "model.keras", fill)
    return pair(root, model, None, "-q", "--fail-on", "warning")


@case(1, "VC004")
def weights_not_hdf5(root: Path) -> Invocation:
    """model.weights.h5 that is not HDF5 at all: the ranges that need it stay unknown."""
    model = root / "model.keras"
    with zipfile.ZipFile(model, "w") as archive:
        archive.writestr("config.json", json.dumps(_bn_model()))
        archive.writestr("model.weights.h5", b"not hdf5 " * 100)
    return pair(root, model, None, "-q", "--fail-on", "warning")


def _saved_model_dir(root: Path, metadata: bytes | None) -> Path:
    directory = root / "saved"
    directory.mkdir()
    (directory / "saved_model.pb").write_bytes(b"\x08\x01")
    if metadata is not None:
        (directory / "keras_metadata.pb").write_bytes(metadata)
    return directory


@case(2, "keras_metadata.pb is not a valid protobuf message")
def savedmodel_metadata_garbage(root: Path) -> Invocation:
    """keras_metadata.pb of random bytes."""
    noise = np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    return pair(root, _saved_model_dir(root, b"\x0a\xff\xff\xff\xff\x0f" + noise))


@case(2, "keras_metadata.pb is not a valid protobuf message")
def savedmodel_metadata_length_bomb(root: Path) -> Invocation:
    """A node whose length prefix claims 2^63 bytes: never allocated."""
    return pair(root, _saved_model_dir(root, b"\x0a\xff\xff\xff\xff\xff\xff\xff\xff\x7f"))


@case(2, "use --probe")
def savedmodel_without_metadata(root: Path) -> Invocation:
    """A SavedModel with no Keras metadata (Keras 3 export()): nothing to read statically."""
    return pair(root, _saved_model_dir(root, None))


# --- valid but odd: absurd numbers, huge and strange names --------------------------------------


@case(1, "VC001")
def odd_absurd_numbers(root: Path) -> Invocation:
    """Rescaling by 1e308, NaN written as bare NaN, units as a float and a 400-digit integer."""
    layers = [
        input_layer(),
        layer("Dense", "h", "x", units=FEATURES, activation="relu"),
        layer("Rescaling", "big", "h", scale=1e308, offset=0.0),
        layer("Dense", "odd", "x", units=1e308, activation="linear"),
        layer("Dense", "huge", "x", units=10**400, activation="linear"),
        layer("Rescaling", "nan", "x", scale=float("nan"), offset=float("inf")),
    ]
    text = json.dumps(functional(layers, "big"))
    assert "NaN" in text and "Infinity" in text
    return pair(root, write_keras(root / "model.keras", text), None, "-q")


@case(1, "VC001")
def odd_extreme_data(root: Path) -> Invocation:
    """Data at the float64 maximum and minimum, with infinities and NaN: no warning, no crash."""
    values = np.zeros((ROWS, FEATURES))
    values[0], values[1], values[2, 0], values[3, 1], values[4, 2] = 1.7976931348623157e308, -1.7976931348623157e308, np.inf, -np.inf, np.nan
    data = root / "data.npy"
    np.save(data, values)
    return pair(root, None, data, "-q", "--per-feature")


@case(1, "VC001")
def odd_unicode_and_control_names(root: Path) -> Invocation:
    """Layer names in many scripts, with a terminal escape, a line break and a bidi override."""
    name = "décodeur-出力-\u202e\u0645\u062e\u0631\u062c-\x1b[2J\x1b[32m✓ clean\n::error::spoofed-😀"
    return pair(root, write_keras(root / "model.keras", relu_model(name)), None, "-q")


@case(2, "refers to 'gggg")
def odd_huge_name_in_error(root: Path) -> Invocation:
    """A reference to a missing layer whose name is 4 MB long: the message stays short."""
    layers = [input_layer(), layer("Dense", "out", "g" * 4_000_000, units=FEATURES)]
    return pair(root, write_keras(root / "model.keras", functional(layers, "out")))


@case(1, "VC001")
def odd_huge_output_name(root: Path) -> Invocation:
    """A valid model whose output layer is named by 1 MB of text."""
    return pair(root, write_keras(root / "model.keras", relu_model("o" * 2**20)), None, "-q")


# --- Parquet, Zarr and TFRecord (made with pyarrow, zarr and google-crc32c, test extras) --------


def zarr_store(path: Path) -> Path:
    import zarr

    zarr.create_array(path, shape=(ROWS, FEATURES), chunks=(16, FEATURES), dtype="f4", zarr_format=2)[:] = 0.5
    return path


@case(2, "in the store is a symbolic link: refused")
def zarr_chunk_links_outside(root: Path) -> Invocation:
    """A Zarr chunk that is a symbolic link to a file outside the store."""
    store = zarr_store(root / "data.zarr")
    secret = root / "secret.bin"
    secret.write_bytes(b"\x00" * 256)
    (store / "1.0").unlink()
    (store / "1.0").symlink_to(secret)
    return pair(root, None, store, blame=store)


@case(2, "Expected an '.' or '/' separator")
def zarr_separator_traversal(root: Path) -> Invocation:
    """A Zarr .zarray whose chunk key separator climbs out of the store ("/../../")."""
    store = zarr_store(root / "data.zarr")
    meta = json.loads((store / ".zarray").read_text())
    meta["dimension_separator"] = "/../../"
    (store / ".zarray").write_text(json.dumps(meta))
    return pair(root, None, store, blame=store)


@case(2, "holds '.' or '..': name it from the store's root")
def zarr_key_traversal(root: Path) -> Invocation:
    """A Zarr array named by a path that climbs out of the store."""
    store = zarr_store(root / "data.zarr")
    zarr_store(root / "outside.zarr")
    return pair(root, None, store, "--key", "../outside.zarr", blame=store)


@case(2, "not a Parquet file, or a damaged one (")
def parquet_footer_longer_than_file(root: Path) -> Invocation:
    """A Parquet file whose footer declares 2 GiB of metadata in a file of 80 bytes."""
    data = root / "data.parquet"
    data.write_bytes(b"PAR1" + b"\x00" * 64 + struct.pack("<I", 2**31 - 1) + b"PAR1")
    return pair(root, None, data, blame=data)


@case(2, "not a Parquet file, or a damaged one (")
def parquet_garbage_metadata(root: Path) -> Invocation:
    """A Parquet file whose footer is random bytes of a plausible length."""
    data = root / "data.parquet"
    garbage = np.random.default_rng(13).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    data.write_bytes(b"PAR1" + garbage + struct.pack("<I", len(garbage)) + b"PAR1")
    return pair(root, None, data, blame=data)


@case(2, "Exceeded size limit")
def parquet_huge_metadata(root: Path) -> Invocation:
    """A valid Parquet file carrying 20 MB of key-value metadata in its footer."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    data = root / "data.parquet"
    table = pa.table({f"f{i}": np.full(ROWS, 0.5) for i in range(FEATURES)})
    pq.write_table(table.replace_schema_metadata({"junk": "j" * (20 * 2**20)}), data)
    return pair(root, None, data, blame=data)


def tfrecord_frame(payload: bytes, length: int | None = None) -> bytes:
    import google_crc32c

    def masked(chunk: bytes) -> bytes:
        crc = google_crc32c.value(chunk)
        return struct.pack("<I", (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF)

    header = struct.pack("<Q", len(payload) if length is None else length)
    return header + masked(header) + payload + masked(payload)


@case(2, "record 1: declares 1,152,921,504,606,846,976 bytes, more than the")
def tfrecord_lying_length(root: Path) -> Invocation:
    """A TFRecord whose second record declares 2**60 bytes, its length's CRC correct."""
    from vaecheck.readers.tfrecord import _example_class

    example = _example_class()()
    example.features.feature["x"].float_list.value.extend([0.5] * FEATURES)
    data = root / "data.tfrecord"
    data.write_bytes(tfrecord_frame(example.SerializeToString()) + tfrecord_frame(b"", length=2**60))
    return pair(root, None, data, "--key", "x", blame=data)


@case(2, "record 0 is not a tf.train.Example")
def tfrecord_garbage_record(root: Path) -> Invocation:
    """A TFRecord whose one record, CRCs correct, is not a protobuf message."""
    data = root / "data.tfrecord"
    data.write_bytes(tfrecord_frame(b"\xff\xff\xff\xff\x0f not protobuf"))
    return pair(root, None, data, "--key", "x", blame=data)
def png_declaring(width: int, height: int) -> bytes:
    """A PNG whose header declares width x height 8-bit grayscale pixels, over a tiny body."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    body = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def image_folder(root: Path, name: str, content: bytes) -> tuple[Path, Path]:
    folder = root / "images"
    (folder / "class_a").mkdir(parents=True)
    bad = folder / "class_a" / name
    bad.write_bytes(content)
    return folder, bad


@case(2, "refusing a likely decompression bomb")
def images_decompression_bomb(root: Path) -> Invocation:
    """A 200-byte PNG declaring 100,000 x 100,000 pixels (10 GB decoded), in a class folder."""
    folder, bad = image_folder(root, "bomb.png", png_declaring(100_000, 100_000))
    return pair(root, None, folder, blame=bad)


@case(2, "refusing a likely decompression bomb")
def images_bomb_below_twice_the_limit(root: Path) -> Invocation:
    """A PNG declaring 10^8 pixels: past Pillow's limit, below twice it, where Pillow only warns."""
    folder, bad = image_folder(root, "big.png", png_declaring(10_000, 10_000))
    return pair(root, None, folder, blame=bad)


@case(2, "not an image vaecheck reads")
def images_not_an_image(root: Path) -> Invocation:
    """A text file named .jpg among the images."""
    folder, bad = image_folder(root, "photo.jpg", b"GIF89a? no, plain text\n")
    return pair(root, None, folder, blame=bad)


@case(2, "cannot reach the storage endpoint")
def url_refused_http(root: Path) -> Invocation:
    """DATA at http://127.0.0.1 on a port nothing listens on: refused, one line."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/x.npy"
    model = write_keras(root / "model.keras", relu_model())
    return Invocation((str(model), url), url)
# --- ONNX ---------------------------------------------------------------------------------------


def onnx_model(nodes: list[Any] | None = None, opset: int = 17, functions: list[Any] | None = None, domains: tuple[str, ...] = ()) -> Any:
    """A valid ONNX model: x -> Gemm(W) -> Relu, or `nodes` in its place."""
    from onnx import TensorProto, helper, numpy_helper

    nodes = nodes or [helper.make_node("Gemm", ["x", "W"], ["h"]), helper.make_node("Relu", ["h"], ["y"])]
    weights = numpy_helper.from_array(np.ones((FEATURES, FEATURES), np.float32), "W")
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", FEATURES])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", FEATURES])],
        [weights],
    )
    opsets = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, 1) for d in domains]
    model = helper.make_model(graph, opset_imports=opsets, functions=functions or [])
    model.ir_version = 9
    return model


def write_onnx(path: Path, model: Any) -> Path:
    path.write_bytes(model.SerializeToString())
    return path


@case(2, "not a valid ONNX model")
def onnx_truncated_protobuf(root: Path) -> Invocation:
    """An ONNX model cut in the middle of its weights."""
    data = onnx_model().SerializeToString()
    path = root / "model.onnx"
    path.write_bytes(data[: len(data) - 40])
    return pair(root, path)


@case(2, "declares 1,000,000,000,000,000 values")
def onnx_huge_declared_tensor(root: Path) -> Invocation:
    """An initializer that declares 10^15 floats and holds 64 bytes."""
    model = onnx_model()
    model.graph.initializer[0].dims[:] = [10**9, 10**6]
    return pair(root, write_onnx(root / "model.onnx", model))


@case(2, "outside the model's folder")
def onnx_external_data_traversal(root: Path) -> Invocation:
    """Weights stored as external data at ../../../../etc/passwd."""
    from onnx import TensorProto

    model = onnx_model()
    tensor = model.graph.initializer[0]
    tensor.ClearField("raw_data")
    tensor.data_location = TensorProto.EXTERNAL
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", "../../../../etc/passwd"
    return pair(root, write_onnx(root / "model.onnx", model))


@case(1, "calls itself")
def onnx_recursive_function(root: Path) -> Invocation:
    """A local function whose body calls itself: its range is unknown, nothing loops."""
    from onnx import helper

    body = [helper.make_node("Again", ["a"], ["b"], domain="loop")]
    function = helper.make_function("loop", "Again", ["a"], ["b"], body, [helper.make_opsetid("", 17), helper.make_opsetid("loop", 1)])
    model = onnx_model([helper.make_node("Again", ["x"], ["y"], domain="loop", name="again")], functions=[function], domains=("loop",))
    return pair(root, write_onnx(root / "model.onnx", model), None, "-q", "--fail-on", "warning")


@case(2, "newer than the")
def onnx_opset_beyond_known(root: Path) -> Invocation:
    """An opset far past the newest the onnx package knows."""
    return pair(root, write_onnx(root / "model.onnx", onnx_model(opset=999)))


def build(directory: Path, cases: list[Case] | None = None) -> dict[str, Invocation]:
    """Write every case under `directory` (a folder each) and return how each is run."""
    made = {}
    for item in cases if cases is not None else CASES:
        folder = directory / item.name
        folder.mkdir(parents=True)
        made[item.name] = item.make(folder)
    return made


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    for name, invocation in build(Path(argv[0])).items():
        print(f"{name}: vaecheck {' '.join(invocation.argv)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

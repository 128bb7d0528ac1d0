"""Hypothesis strategies for hostile inputs, and the one rule every reader must keep.

The rule: a reader given anything either succeeds or raises VaecheckError (a one-line problem,
exit code 2). Any other exception is a crash. Shared by tests/test_fuzz.py (a small budget in
the suite) and tests/fuzz/fuzz_readers.py (large budgets, by hand).
"""

from __future__ import annotations

import copy
import io
import json
import math
import struct
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from vaecheck.errors import VaecheckError

FEATURES = 4

# --- model configurations ----------------------------------------------------------------------


def _kt(source: str, node: int = 0, shape: Any = (None, FEATURES)) -> dict[str, Any]:
    history = [source, node, 0]
    return {"class_name": "__keras_tensor__", "config": {"shape": list(shape), "dtype": "float32", "keras_history": history}}


def _layer(class_name: str, name: str, source: str | list[str], **config: Any) -> dict[str, Any]:
    sources = [source] if isinstance(source, str) else source
    args: list[Any] = [_kt(s) for s in sources] if len(sources) > 1 else [_kt(sources[0])]
    if len(sources) > 1:
        args = [args]
    return {
        "module": "keras.layers",
        "class_name": class_name,
        "config": {"name": name, **config},
        "registered_name": None,
        "name": name,
        "inbound_nodes": [{"args": args, "kwargs": {}}],
    }


def _input(name: str = "x") -> dict[str, Any]:
    config = {"batch_shape": [None, FEATURES], "dtype": "float32", "name": name}
    return {"module": "keras.layers", "class_name": "InputLayer", "config": config, "name": name, "inbound_nodes": []}


def _functional(layers: list[dict[str, Any]], outputs: Any, name: str = "model") -> dict[str, Any]:
    return {
        "module": "keras.src.models.functional",
        "class_name": "Functional",
        "config": {"name": name, "layers": layers, "input_layers": [["x", 0, 0]], "output_layers": outputs},
        "registered_name": "Functional",
    }


def base_configs() -> list[dict[str, Any]]:
    """Valid configurations in the shapes Keras writes, to be mutated."""
    decoder = _functional(
        [_input("x"), _layer("Dense", "h", "x", units=8, activation="selu"), _layer("Dense", "out", "h", units=FEATURES, activation="sigmoid")],
        ["out", 0, 0],
        name="decoder",
    )
    nested = dict(decoder, name="decoder", inbound_nodes=[{"args": [_kt("x")], "kwargs": {"mask": None}}])
    return [
        _functional([_input(), _layer("Dense", "out", "x", units=FEATURES, activation="relu")], [["out", 0, 0]]),
        _functional(
            [
                _input(),
                _layer("Dense", "a", "x", units=FEATURES, activation="tanh"),
                _layer("Rescaling", "r", "a", scale=127.5, offset=127.5),
                _layer("Dense", "b", "x", units=FEATURES, activation={"module": "keras.activations", "class_name": "function", "config": "softplus", "registered_name": None}),
                _layer("Concatenate", "c", ["r", "b"], axis=-1),
                _layer("Activation", "s", "c", activation="softmax"),
                _layer("BatchNormalization", "bn", "a", epsilon=0.001, center=True, scale=True),
                _layer("Normalization", "n", "bn", mean=[0.5], variance=[4.0], invert=True, axis=[-1]),
            ],
            {"probs": ["s", 0, 0], "pixels": ["n", 0, 0]},
        ),
        _functional([_input(), nested], ["decoder", 1, 0], name="vae"),
        {
            "module": "keras",
            "class_name": "Sequential",
            "config": {
                "name": "seq",
                "layers": [
                    {"class_name": "InputLayer", "config": {"batch_shape": [None, FEATURES], "name": "in"}},
                    {"class_name": "Dense", "config": {"name": "d", "units": FEATURES, "activation": "elu"}},
                    {"class_name": "ReLU", "config": {"name": "r", "max_value": 6.0, "negative_slope": 0.1, "threshold": 0.5}},
                    {"class_name": "LeakyReLU", "config": {"name": "l", "negative_slope": 0.2}},
                    {"class_name": "Reshape", "config": {"name": "re", "target_shape": [2, 2]}},
                    {"class_name": "Flatten", "config": {"name": "f"}},
                ],
            },
        },
        {
            "class_name": "Model",
            "config": {
                "name": "k2",
                "layers": [
                    {"class_name": "InputLayer", "config": {"batch_input_shape": [None, FEATURES], "name": "x"}, "name": "x", "inbound_nodes": []},
                    {"class_name": "Dense", "config": {"name": "d", "units": FEATURES, "activation": "linear"}, "name": "d", "inbound_nodes": [[["x", 0, 0, {}]]]},
                    {"class_name": "TFOpLambda", "config": {"name": "tf.math.sigmoid", "function": "math.sigmoid"}, "name": "tf.math.sigmoid", "inbound_nodes": [["d", 0, 0, {"name": None}]]},
                    {"class_name": "TFOpLambda", "config": {"name": "tf.math.multiply", "function": "math.multiply"}, "name": "tf.math.multiply", "inbound_nodes": [["tf.math.sigmoid", 0, 0, {"y": 2.0, "name": None}]]},
                ],
                "input_layers": [["x", 0, 0]],
                "output_layers": [["tf.math.multiply", 0, 0]],
            },
        },
        {"class_name": "VAE", "module": None, "config": {"latent": 2, "decoder": decoder}, "registered_name": "VAE"},
    ]


NAMES = ["x", "out", "h", "a", "r", "decoder", "d", "s", "ghost", "", "__keras_tensor__", "\x1b[2J", "\u202e"]
LAYER_CLASSES = [
    "Dense", "Activation", "ReLU", "Softmax", "Rescaling", "Normalization", "Add", "Multiply",
    "Concatenate", "Lambda", "Functional", "Sequential", "InputLayer", "Sigmoid", "Tanh",
    "TFOpLambda", "Clip", "Reshape", "UnitNormalization", "PReLU", "ThresholdedReLU",
    "Subtract", "Divide", "Maximum", "Minimum", "Average", "Masking", "ZeroPadding2D",
]
ACTIVATIONS = ["relu", "sigmoid", "tanh", "softmax", "linear", "elu", "selu", "gelu", "exponential",
               "hard_sigmoid", "softplus", "softsign", "swish", "mish", "log_softmax", "relu6",
               "leaky_relu", "hard_silu", "sparsemax", "glu", "threshold", "bogus"]

numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, -1, 2**63, 10**400, 1e308, -1e308, 5e-324, 0.0, -0.0]),
)
leaves = st.one_of(
    st.none(), st.booleans(), numbers,
    st.sampled_from(NAMES + LAYER_CLASSES + ACTIVATIONS),
    st.text(max_size=12),
)
json_values = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.sampled_from(["class_name", "config", "name", "layers", "inbound_nodes", "args", "kwargs", "keras_history", "units", "activation", "scale", "offset", "axis", "shape", "output_layers", "input_layers", "module", "function", "mean", "variance", "invert"]) | st.text(max_size=6), children, max_size=4),
    ),
    max_leaves=12,
)


def _slots(value: Any, found: list[tuple[Any, Any]]) -> None:
    """Every (container, key) in a JSON structure, parents before children."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key in item:
                found.append((item, key))
                stack.append(item[key])
        elif isinstance(item, list):
            for index in range(len(item)):
                found.append((item, index))
                stack.append(item[index])


@st.composite
def mutated_configs(draw: st.DrawFn) -> Any:
    """A Keras configuration with a few of its values replaced, deleted or duplicated."""
    config = copy.deepcopy(draw(st.sampled_from(base_configs())))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        slots: list[tuple[Any, Any]] = []
        _slots(config, slots)
        if not slots:
            break
        container, key = slots[draw(st.integers(min_value=0, max_value=len(slots) - 1))]
        action = draw(st.sampled_from(["replace", "replace", "delete", "duplicate", "leaf"]))
        if action == "delete":
            del container[key]
        elif action == "duplicate" and isinstance(container, list):
            container.insert(key, copy.deepcopy(container[key]))
        elif action == "leaf":
            container[key] = draw(leaves)
        else:
            container[key] = draw(json_values)
    return config


def config_text(config: Any) -> str:
    """As Keras writes it, with NaN and Infinity as bare words where they occur."""
    return json.dumps(config, allow_nan=True)


def analyse_config(text: str | bytes) -> None:
    """Everything the static path does with a configuration: parse, graph, ranges, shapes."""
    from vaecheck.ranges.evaluate import output_codomains
    from vaecheck.readers.config import graph_from_config
    from vaecheck.readers.model import parse_json
    from vaecheck.shapes import output_shape

    parsed = parse_json(text, "model.keras", "config.json")
    graph = graph_from_config(parsed, "model.keras")
    for version in (None, "2.15.0", "3.15.1"):
        codomains = output_codomains(graph, version)
        for output in graph.outputs:
            output_shape(graph, output.ref)
            codomain = codomains[output.name]
            codomain.describe_bound()


# --- .npy headers ------------------------------------------------------------------------------

DESCRS = ["<f4", ">f8", "<f2", "|u1", "|i1", "<i8", "|b1", "<u8", "|O", "<c8", "<U3", "|S2",
          "<M8[s]", "<m8", "<f16", "V8", "<f4x", "", "f", "float32", "<>f4", "|V0"]


@st.composite
def npy_headers(draw: st.DrawFn) -> bytes:
    """A .npy stream whose magic, version, header and body length vary around valid ones."""
    descr = draw(st.one_of(st.sampled_from(DESCRS), st.text(max_size=8), st.lists(st.tuples(st.text(max_size=3), st.sampled_from(DESCRS)), max_size=3)))
    shape = draw(st.one_of(
        st.lists(st.integers(min_value=-3, max_value=6), max_size=5).map(tuple),
        st.lists(st.sampled_from([0, 1, 2**31, 2**63, 10**15, -1, 10**400]), max_size=3).map(tuple),
        st.just((1,) * 40),
        leaves,
    ))
    fortran = draw(st.one_of(st.booleans(), leaves))
    header: dict[Any, Any] = {"descr": descr, "fortran_order": fortran, "shape": shape}
    if draw(st.booleans()):
        del header[draw(st.sampled_from(["descr", "fortran_order", "shape"]))]
    if draw(st.integers(0, 9)) == 0:
        header[draw(st.text(max_size=4))] = draw(leaves)
    text = draw(st.one_of(st.just(repr(header)), st.just(repr(header)[:-1]), st.text(max_size=40)))
    raw = text.encode("latin1", "replace") + b"\n"
    version = draw(st.sampled_from([(1, 0), (2, 0), (3, 0), (1, 0), (0, 0), (9, 9)]))
    length = len(raw) if draw(st.integers(0, 5)) else draw(st.integers(0, 2**32 - 1))
    field = struct.pack("<H" if version[0] == 1 else "<I", min(length, 0xFFFF) if version[0] == 1 else length)
    magic = b"\x93NUMPY" if draw(st.integers(0, 9)) else draw(st.binary(min_size=6, max_size=6))
    body_size = draw(st.integers(min_value=0, max_value=600))
    body = draw(st.sampled_from([b"\x00", b"\xff", b"\x7f\xc0", b"\x01"])) * body_size
    stream = magic + bytes(version) + field + raw + body
    return stream[: draw(st.integers(min_value=0, max_value=len(stream)))] if draw(st.integers(0, 9)) == 0 else stream


# --- CSV and .npz --------------------------------------------------------------------------------

CELLS = ["0", "1.5", "-2", "nan", "inf", "-inf", "1e308", "1e309", "", " ", "x", '"1"', '"a,b"', "#", "1_0", "٣", "\x00", "0x10", "True"]


@st.composite
def csv_texts(draw: st.DrawFn) -> bytes:
    rows = draw(st.lists(st.lists(st.sampled_from(CELLS) | st.text(max_size=4), min_size=0, max_size=5), min_size=0, max_size=6))
    delimiter = draw(st.sampled_from([",", ",", ";", "\t"]))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = newline.join(delimiter.join(row) for row in rows)
    if draw(st.booleans()):
        text = "a,b,c" + newline + text
    data = text.encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 9)) == 0:
        data = draw(st.binary(max_size=40)) + data
    return data


@st.composite
def npz_archives(draw: st.DrawFn) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # duplicate names are part of the game
        for index in range(draw(st.integers(min_value=0, max_value=3))):
            name = draw(st.sampled_from(["x.npy", "y.npy", "x", "dir/", "../x.npy", f"a{index}.npy"]))
            method = draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]))
            archive.writestr(zipfile.ZipInfo(name), draw(npy_headers()), compress_type=method)
    data = buffer.getvalue()
    if data and draw(st.integers(0, 4)) == 0:  # damage a byte
        at = draw(st.integers(min_value=0, max_value=len(data) - 1))
        data = data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1 :]
    return data


# --- the rule ------------------------------------------------------------------------------------


def consume(source: Any, intervals: tuple[Any, ...] = ()) -> None:
    """Everything the data path does with a source: blocks, statistics."""
    from vaecheck.intervals import Interval
    from vaecheck.stats import measure_source

    measure_source(source, intervals or (Interval(0.0, math.inf, True, False),), workers=1)


def only_vaecheck_errors(action: Callable[[], Any]) -> None:
    """Run `action`: success and VaecheckError pass; any other exception propagates (a crash)."""
    try:
        action()
    except VaecheckError as error:
        message = str(error)
        assert "\n" not in message and message, repr(message)


def read_data_file(path: Path, data: bytes, **options: Any) -> None:
    from vaecheck.readers.data import open_data

    path.write_bytes(data)
    only_vaecheck_errors(lambda: consume(open_data(path, **options)))


# --- whole runs on any data ----------------------------------------------------------------------

SHAPELESS_ACTIVATIONS = ("relu", "sigmoid", "tanh", "softmax", "linear", "softplus")


def write_shapeless_model(path: Path, activation: str) -> Path:
    """A Sequential model with no input shape: its output's shape is unknown, so it is compared
    with data of any shape, and every value of the data reaches the statistics and the checks."""
    config = {
        "class_name": "Sequential",
        "config": {"name": "shapeless", "layers": [{"class_name": "Dense", "config": {"name": "out", "units": 3, "activation": activation}}]},
    }
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", '{"keras_version": "3.15.1"}')
        archive.writestr("config.json", json.dumps(config))
    return path


def check_and_render(model: Path, data: Any, **options: Any) -> None:
    """check() on the data, then the report in every format: each must render, and the JSON
    report must be the report's fields with each infinite or NaN number, and only those, null."""
    from vaecheck.api import check
    from vaecheck.formats import OutputFormat, render
    from vaecheck.formats.json import report_dict

    report = check(model, data, **options)
    for output_format in (OutputFormat.TEXT, OutputFormat.JSON, OutputFormat.SARIF, OutputFormat.GITHUB):
        for quiet in (False, True):
            text = render(report, output_format, color=True, quiet=quiet, environ={})
            if output_format is OutputFormat.JSON:
                assert_nonfinite_as_null(report_dict(report), json.loads(text))


def assert_nonfinite_as_null(fields: Any, rendered: Any, where: str = "") -> None:
    """`rendered` is `fields` as JSON has it: every non-finite float null, every other value kept."""
    if isinstance(fields, float):
        expected = fields if math.isfinite(fields) else None
        assert rendered == expected, f"{where or 'the report'}: {fields!r} rendered as {rendered!r}"
    elif isinstance(fields, dict):
        assert isinstance(rendered, dict) and list(rendered) == list(fields), where
        for key, value in fields.items():
            assert_nonfinite_as_null(value, rendered[key], f"{where}.{key}")
    elif isinstance(fields, (list, tuple)):
        assert isinstance(rendered, list) and len(rendered) == len(fields), where
        for index, value in enumerate(fields):
            assert_nonfinite_as_null(value, rendered[index], f"{where}[{index}]")
    else:
        assert rendered == fields, f"{where}: {fields!r} rendered as {rendered!r}"

"""ONNX models: the static reader, the CLI on .onnx files, functions and subgraphs, the
framework's words in the fix, and --probe with onnxruntime."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from onnx_graphs import model, run, save, single  # importorskips onnx
from onnx import TensorProto, helper, numpy_helper

from vaecheck.pipeline import _candidates
from vaecheck.extras import install_command
from vaecheck.cli import main
from vaecheck.errors import VaecheckError
from vaecheck.readers.model import read_model

REPO = Path(__file__).resolve().parent.parent


def codomain(path: Path):
    [candidate] = _candidates(read_model(path))
    return candidate.codomain


def decoder(producer: str = "pytorch", final: str = "Sigmoid") -> object:
    rng = np.random.default_rng(0)
    return model(
        [
            helper.make_node("Gemm", ["x", "w1", "b1"], ["h"], name="fc1", transB=1),
            helper.make_node("Relu", ["h"], ["r"], name="relu"),
            helper.make_node("MatMul", ["r", "w2"], ["z"], name="fc2"),
            helper.make_node(final, ["z"], ["y"], name="out"),
        ],
        ["batch", 4],
        initializers=[
            ("w1", rng.standard_normal((8, 4))),
            ("b1", np.zeros(8)),
            ("w2", rng.standard_normal((8, 4))),
        ],
        producer=producer,
        output_shape=["batch", 4],
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("onnx")
    rng = np.random.default_rng(1)
    np.save(root / "standardized.npy", rng.standard_normal((200, 4)).astype(np.float32))
    np.save(root / "unit.npy", rng.uniform(0.05, 0.95, (200, 4)).astype(np.float32))
    np.save(root / "pixels.npy", rng.integers(0, 256, (200, 4)).astype(np.uint8))
    save(decoder(), root / "torch_sigmoid.onnx")
    save(decoder("pytorch", "Tanh"), root / "torch_tanh.onnx")
    save(decoder("jax2onnx"), root / "jax_sigmoid.onnx")
    save(decoder("tf2onnx"), root / "keras_sigmoid.onnx")
    return root


class Result:
    def __init__(self, exit_code: int, stdout: str, stderr: str) -> None:
        self.exit_code, self.stdout, self.stderr = exit_code, stdout, stderr
        self.output = stdout + stderr


@pytest.fixture
def cli(capsys):
    def invoke(*args: object) -> Result:
        code = main([str(a) for a in args] + ["--no-color"])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return invoke


# Reading -----------------------------------------------------------------------------------
def test_sigmoid_decoder_against_standardized_data_is_an_error(cli, files):
    result = cli(files / "torch_sigmoid.onnx", files / "standardized.npy")
    assert result.exit_code == 1, result.output
    assert "VC001" in result.output and "sigmoid" in result.output


def test_sigmoid_decoder_against_unit_data_is_clean(cli, files):
    result = cli(files / "torch_sigmoid.onnx", files / "unit.npy")
    assert result.exit_code == 0, result.output


def test_output_name_and_symbolic_shape_come_from_the_graph(cli, files):
    result = cli(files / "torch_sigmoid.onnx", files / "unit.npy", "--format", "json")
    report = json.loads(result.output)
    [output] = report["outputs"]
    assert output["name"] == "y"
    assert output["shape"] == [None, 4]
    assert output["range"]["low"] == 0.0 and 1.0 < output["range"]["high"] < 1.000001
    assert any("no loss" in note for note in report.get("notes", [])) or "no loss" in result.output


def test_weights_bound_only_a_bounded_input_and_that_is_a_warning(cli, tmp_path):
    """sigmoid -> Gemm: the saved weights bound the output; a range only weights bound warns."""
    rng = np.random.default_rng(0)
    built = model(
        [helper.make_node("Sigmoid", ["x"], ["s"]), helper.make_node("Gemm", ["s", "w", "b"], ["y"], name="head")],
        ["N", 4],
        initializers=[("w", rng.standard_normal((4, 3))), ("b", np.ones(3))],
        output_shape=["N", 3],
    )
    path = save(built, tmp_path / "head.onnx")
    found = codomain(path)
    assert found.saved_weights == ("head",)
    x = rng.standard_normal((4096, 4)) * 50
    produced = run(built, x)
    assert found.interval.low <= produced.min() and produced.max() <= found.interval.high
    np.save(tmp_path / "far.npy", np.full((10, 3), 1e3, np.float32))
    result = cli(path, tmp_path / "far.npy", "--format", "json")
    findings = json.loads(result.output)["outputs"][0]["findings"]
    assert [f["severity"] for f in findings if f["code"] == "VC001"] == ["warning"]


def test_gemm_on_the_raw_input_is_the_real_line(tmp_path):
    built = model(
        [helper.make_node("Gemm", ["x", "w"], ["y"])], ["N", 4], initializers=[("w", np.ones((4, 2)))]
    )
    assert codomain(save(built, tmp_path / "linear.onnx")).interval.is_real_line


def test_local_functions_are_expanded(tmp_path):
    body = [
        helper.make_node("Sigmoid", ["a"], ["s"]),
        helper.make_node("Mul", ["s", "two"], ["b"]),
        helper.make_node("Constant", [], ["two"], value=numpy_helper.from_array(np.float32(2.0))),
    ]
    body = [body[2], body[0], body[1]]
    function = helper.make_function("custom.fn", "Doubled", ["a"], ["b"], body, [helper.make_opsetid("", 20)])
    built = model(
        [helper.make_node("Doubled", ["x"], ["y"], domain="custom.fn")],
        ["N", 4],
        functions=[function],
        extra_opsets=[("custom.fn", 1)],
    )
    found = codomain(save(built, tmp_path / "function.onnx"))
    assert found.known and found.interval.low == 0.0 and 2.0 <= found.interval.high < 2.00001
    produced = run(built, np.random.default_rng(0).standard_normal((64, 4)) * 10)
    assert produced.max() <= found.interval.high


def test_a_function_that_calls_itself_is_unknown_naming_the_node(tmp_path):
    function = helper.make_function(
        "loop.fn", "Again", ["a"], ["b"], [helper.make_node("Again", ["a"], ["b"], domain="loop.fn")],
        [helper.make_opsetid("", 20), helper.make_opsetid("loop.fn", 1)],
    )
    built = model(
        [helper.make_node("Again", ["x"], ["y"], domain="loop.fn", name="recurse")],
        ["N", 4], functions=[function], extra_opsets=[("loop.fn", 1)],
    )  # fmt: skip
    found = codomain(save(built, tmp_path / "recursive.onnx"))
    assert not found.known
    assert "calls itself" in found.unknown_reason


def test_custom_domain_and_subgraph_ops_are_unknown_naming_the_node(tmp_path):
    custom = model(
        [helper.make_node("Magic", ["x"], ["y"], domain="com.example", name="magic")],
        ["N", 4], extra_opsets=[("com.example", 1)],
    )  # fmt: skip
    found = codomain(save(custom, tmp_path / "custom.onnx"))
    assert not found.known and found.unknown_at == "magic" and "com.example" in found.unknown_reason
    branch = helper.make_graph([helper.make_node("Identity", ["x"], ["o"])], "b", [], [helper.make_tensor_value_info("o", TensorProto.FLOAT, None)])
    conditional = model(
        [
            helper.make_node("Constant", [], ["c"], value=numpy_helper.from_array(np.array(True))),
            helper.make_node("If", ["c"], ["y"], then_branch=branch, else_branch=branch, name="choose"),
        ],
        ["N", 4],
    )
    found = codomain(save(conditional, tmp_path / "if.onnx"))
    assert not found.known and found.unknown_at == "choose" and "subgraph" in found.unknown_reason


def test_softmax_range_uses_the_axis_length(tmp_path):
    found = codomain(save(single("Softmax", ("N", 1)), tmp_path / "one.onnx"))
    assert found.interval.low == pytest.approx(1.0, abs=1e-6)
    assert found.interval.high == pytest.approx(1.0, abs=1e-6)


def test_opset_newer_than_known_is_refused(tmp_path):
    import onnx

    newest = onnx.defs.onnx_opset_version()
    path = save(single("Relu"), tmp_path / "future.onnx")
    built = onnx.load(str(path))
    built.opset_import[0].version = newest + 5
    onnx.save(built, str(path))
    with pytest.raises(VaecheckError, match=f"opset {newest + 5}"):
        read_model(path)


def test_opset_before_13_is_refused(tmp_path):
    path = save(model([helper.make_node("Relu", ["x"], ["y"])], ["N", 4], opset=11), tmp_path / "old.onnx")
    with pytest.raises(VaecheckError, match="opset 11"):
        read_model(path)


def test_truncated_protobuf_is_one_line_exit_2(cli, tmp_path, files):
    data = (files / "torch_sigmoid.onnx").read_bytes()
    path = tmp_path / "cut.onnx"
    path.write_bytes(data[: len(data) // 2])
    result = cli(path, files / "unit.npy")
    assert result.exit_code == 2
    assert "not a valid ONNX model" in result.output and "Traceback" not in result.output


def test_huge_declared_tensor_is_refused_before_reading(tmp_path, files):
    built = decoder()
    tensor = built.graph.initializer[0]
    del tensor.dims[:]
    tensor.dims.extend([1_000_000, 1_000_000])
    path = save(built, tmp_path / "huge.onnx")
    with pytest.raises(VaecheckError, match="declares 1,000,000,000,000 values"):
        read_model(path)
    tensor.dims[:] = [9, 4]  # one row more than it holds
    path = save(built, tmp_path / "lying.onnx")
    with pytest.raises(VaecheckError, match="declares 36 values but holds 32"):
        read_model(path)


def external(built, location: str) -> None:
    tensor = built.graph.initializer[0]
    tensor.ClearField("raw_data")
    tensor.data_location = TensorProto.EXTERNAL
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", location


def test_external_data_outside_the_folder_is_refused(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (tmp_path / "secret.bin").write_bytes(b"\0" * 128)
    for location in ("../secret.bin", str(tmp_path / "secret.bin")):
        built = decoder()
        external(built, location)
        path = save(built, folder / "traversal.onnx")
        with pytest.raises(VaecheckError, match="outside the model's folder"):
            read_model(path)
    os.symlink(tmp_path / "secret.bin", folder / "link.bin")
    built = decoder()
    external(built, "link.bin")
    with pytest.raises(VaecheckError, match="symbolic link|outside"):
        read_model(save(built, folder / "linked.onnx"))


def test_external_data_inside_the_folder_is_read(tmp_path, files):
    import onnx

    built = decoder()
    onnx.save_model(built, str(tmp_path / "split.onnx"), save_as_external_data=True, all_tensors_to_one_file=True, location="weights.bin", size_threshold=0)
    assert (tmp_path / "weights.bin").exists()
    inline = codomain(files / "torch_sigmoid.onnx")
    split = codomain(tmp_path / "split.onnx")
    assert split.interval == inline.interval


def test_missing_onnx_package_names_the_install_line(tmp_path, files):
    script = (
        "import sys; sys.modules['onnx'] = None\n"
        "from vaecheck.cli import run\n"
        f"sys.argv = ['vaecheck', {str(files / 'torch_sigmoid.onnx')!r}, {str(files / 'unit.npy')!r}]\n"
        "run()\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert install_command("onnx") in done.stderr and done.stderr.count("\n") == 1


def test_the_static_path_imports_no_runtime_and_no_framework(files):
    script = (
        "import sys\n"
        "from vaecheck.api import check\n"
        f"report = check({str(files / 'torch_sigmoid.onnx')!r}, {str(files / 'standardized.npy')!r})\n"
        "assert not report.outputs[0].findings == ()\n"
        "loaded = [m for m in ('onnxruntime', 'tensorflow', 'keras', 'torch', 'jax') if m in sys.modules]\n"
        "print(','.join(loaded))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


# The fix in the framework's words ---------------------------------------------------------------
def test_fix_for_pytorch_names_the_module_to_remove(cli, files):
    result = cli(files / "torch_sigmoid.onnx", files / "standardized.npy")
    assert "remove the final nn.Sigmoid()" in result.output
    assert "keras" not in result.output.lower()


def test_fix_for_pytorch_tanh_rescale_names_torch_tanh(cli, files):
    result = cli(files / "torch_tanh.onnx", files / "pixels.npy")
    assert result.exit_code == 1
    assert "torch.tanh(z) * 127.5 + 127.5" in result.output
    assert "divide by 127.5" in result.output or "127.5" in result.output


def test_fix_for_jax_and_keras_exports(cli, files):
    jax = cli(files / "jax_sigmoid.onnx", files / "standardized.npy")
    assert "remove the final jax.nn.sigmoid" in jax.output
    keras = cli(files / "keras_sigmoid.onnx", files / "standardized.npy")
    assert "activation=None" in keras.output


# Probe -------------------------------------------------------------------------------------------
def test_probe_runs_the_model_with_onnxruntime(cli, files):
    pytest.importorskip("onnxruntime")
    result = cli(files / "torch_sigmoid.onnx", files / "unit.npy", "--probe", "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    probe = report["outputs"][0]["probe"]
    assert 0 < probe["observed_min"] <= probe["observed_max"] < 1
    assert report["probe"]["backend"].startswith("onnxruntime")


def test_sample_onnx_pair(cli):
    samples = REPO / "sample_models"
    wrong = cli(samples / "sigmoid_autoencoder.onnx", samples / "standardized.npy")
    assert wrong.exit_code == 1 and "VC001" in wrong.output
    clean = cli(samples / "sigmoid_autoencoder.onnx", samples / "unit.npy")
    assert clean.exit_code == 0, clean.output


def test_a_keras_layer_naming_the_onnx_module_is_a_custom_layer():
    from vaecheck.graph import Graph, ModelOutput, Node, TensorRef
    from vaecheck.ranges.evaluate import output_codomains

    nodes = {
        "x": Node("x", "x", "InputLayer", "keras.layers", {}),
        "g": Node("g", "g", "Sigmoid", "onnx", {"__outputs__": "many"}, args=(TensorRef("x"),)),
    }
    [found] = output_codomains(Graph(nodes, [ModelOutput("g", TensorRef("g"))])).values()
    assert not found.known and "custom layer Sigmoid (module onnx)" in found.unknown_reason

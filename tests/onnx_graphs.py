"""ONNX graphs built with onnx.helper, for the ONNX tests: one operator, or random chains."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

onnx = __import__("pytest").importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

OPSET = 20  # Gelu needs 20; onnxruntime runs it


def model(
    nodes: Sequence[Any],
    input_shape: Sequence[int | str],
    output: str = "y",
    initializers: Sequence[tuple[str, np.ndarray]] = (),
    producer: str = "vaecheck-tests",
    opset: int = OPSET,
    output_shape: Sequence[int | str] | None = None,
    functions: Sequence[Any] = (),
    extra_opsets: Sequence[tuple[str, int]] = (),
) -> Any:
    graph = helper.make_graph(
        list(nodes),
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(input_shape))],
        [helper.make_tensor_value_info(output, TensorProto.FLOAT, list(output_shape) if output_shape else None)],
        [numpy_helper.from_array(np.asarray(a, dtype=np.float32), n) for n, a in initializers],
    )
    opsets = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, v) for d, v in extra_opsets]
    built = helper.make_model(graph, opset_imports=opsets, producer_name=producer, functions=list(functions))
    built.ir_version = 9
    return built


def single(op: str, input_shape: Sequence[int | str] = ("N", 8), **attributes: Any) -> Any:
    return model([helper.make_node(op, ["x"], ["y"], **attributes)], input_shape, output_shape=input_shape)


def save(built: Any, path: Path) -> Path:
    onnx.save(built, str(path))
    return path


def run(built: Any, x: np.ndarray) -> np.ndarray:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = 1
    session = onnxruntime.InferenceSession(
        built.SerializeToString(), sess_options=options, providers=["CPUExecutionProvider"]
    )
    return session.run(None, {"x": x.astype(np.float32)})[0]

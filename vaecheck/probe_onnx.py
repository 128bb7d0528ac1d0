"""`--probe` for ONNX models: the child-process side, run with onnxruntime.

`vaecheck.probe` starts the same child process for every model; a job whose model is an
`.onnx` file is run here instead of with Keras. onnxruntime is imported only in that child.
Running an ONNX graph executes no Python code from the file; operators of custom domains need a
library registered with the session, which vaecheck never registers, so such a model fails to
load rather than running anything foreign.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

LOADER = "onnxruntime.InferenceSession"
# onnxruntime's type strings for the inputs a probe can feed.
ORT_TYPES = {
    "tensor(float)": "float32",
    "tensor(double)": "float64",
    "tensor(float16)": "float16",
    "tensor(int64)": "int64",
    "tensor(int32)": "int32",
    "tensor(uint8)": "uint8",
    "tensor(int8)": "int8",
    "tensor(bool)": "bool",
}


def is_onnx_model(path: str) -> bool:
    return path.lower().endswith(".onnx")


def run_onnx_job(job: Mapping[str, Any], send: Callable[..., None]) -> dict[str, Any]:
    from vaecheck.extras import install_command
    from vaecheck.probe import _Extremes, _probe_inputs, _Refusal, _describe

    started = time.monotonic()
    try:
        import onnxruntime
    except ImportError:
        raise _Refusal(
            "missing-onnxruntime",
            f"--probe runs ONNX models with onnxruntime, which is not installed: {install_command('onnx')}",
        ) from None
    send(event="progress", stage="loading", done=0, total=0)
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    try:
        session = onnxruntime.InferenceSession(
            job["model"], sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:
        raise _Refusal("load", f"onnxruntime cannot load the model ({_describe(exc)})") from None
    inputs = session.get_inputs()
    specs = [
        (
            tuple(d if isinstance(d, int) and d >= 0 else None for d in item.shape),
            ORT_TYPES.get(item.type, "float32"),
        )
        for item in inputs
    ]
    sample = np.load(job["sample"], allow_pickle=False)
    inputs_label, arrays = _probe_inputs(specs, sample, int(job["samples"]))
    batch_size = max(1, int(job["batch_size"]))
    batches = [
        array[start : start + batch_size]
        for array in arrays
        for start in range(0, len(array), batch_size)
    ]
    names = [item.name for item in session.get_outputs()]
    accumulators: dict[str, _Extremes] = {}
    send(event="progress", stage="running", done=0, total=len(batches))
    for done, batch in enumerate(batches, start=1):
        produced = session.run(None, {inputs[0].name: batch})
        for name, values in zip(names, produced):
            values = np.asarray(values)
            if values.dtype.kind not in "fiub" or values.ndim == 0:
                continue  # a sequence or map output (scikit-learn's ZipMap) holds no tensor
            accumulators.setdefault(name, _Extremes(tuple(values.shape[1:]))).update(values)
        send(event="progress", stage="running", done=done, total=len(batches))
    return {
        "loader": LOADER,
        "inputs": inputs_label,
        "samples": int(sum(len(array) for array in arrays)),
        "safe_mode": True,
        "backend": f"onnxruntime {onnxruntime.__version__}",
        "keras_version": "",
        "saved_model": False,
        "seconds": time.monotonic() - started,
        "outputs": [extremes.as_message(name) for name, extremes in accumulators.items()],
    }

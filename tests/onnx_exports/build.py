"""Export the JAX model of tests/test_onnx_exports.py with jax2onnx, into this folder.

jax2onnx pulls in JAX, Flax and Orbax, too heavy for the test extra: the exported file is kept
here, and the test that re-exports it live runs where jax2onnx is installed.

    pip install jax2onnx && python tests/onnx_exports/build.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
FEATURES = 6


def jax_decoder_weights() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return (
        rng.standard_normal((FEATURES, 8)).astype(np.float32),
        rng.standard_normal((8, FEATURES)).astype(np.float32),
    )


def export_jax(path: Path) -> Path:
    import jax
    import onnx
    from jax2onnx import to_onnx

    first, second = jax_decoder_weights()

    def decoder(x):
        return jax.nn.sigmoid(jax.nn.relu(x @ first) @ second)

    onnx.save(to_onnx(decoder, [("B", FEATURES)]), str(path))
    return path


if __name__ == "__main__":
    print(export_jax(HERE / "jax_sigmoid_decoder.onnx"))

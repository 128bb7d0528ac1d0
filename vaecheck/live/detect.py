"""Whether an object is a live framework object, told without importing any framework.

A class's module names its framework: Keras 3 (`keras.src...`), tf.keras (`tf_keras`,
`keras.src` of Keras 2 inside TensorFlow), TensorFlow, PyTorch, pandas. A subclass defined by the
user lives in `__main__` or a module of theirs, so its bases are looked at too.
"""

from __future__ import annotations

from typing import Any

KERAS_MODULES = ("keras.", "tf_keras.", "tensorflow.python.keras.")
MODEL_BASES = ("Model", "Functional", "Sequential")


def _module_names(obj: Any) -> list[tuple[str, str]]:
    return [(getattr(c, "__module__", "") or "", c.__name__) for c in type(obj).__mro__]


def is_live_model(obj: Any) -> bool:
    """A Keras (3 or 2) model object."""
    return any(
        module.startswith(KERAS_MODULES) and name in MODEL_BASES
        for module, name in _module_names(obj)
    )


def is_live_data(obj: Any) -> bool:
    """Data that is not a path, a stream or a numpy array: a pipeline, a frame, a tensor, a
    generator, a list, a tuple of arrays, a dict."""
    import os

    import numpy as np

    if isinstance(obj, (str, os.PathLike, np.ndarray)) or hasattr(obj, "read"):
        return False
    return True

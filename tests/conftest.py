"""Shared fixtures: real Keras models, built and saved once per test session."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "sample_models"
SHARED = REPO.parent / "shared"


class SavedModels:
    """Builds a Keras model on first request and saves it; later requests reuse the file.

    `build` receives the `keras` module and returns a model. Keras is imported only when the
    first model is built, so tests that need no model never pay for TensorFlow.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._cache: dict[tuple[str, str], Path] = {}

    def save(self, name: str, build: Callable[[Any], Any], suffix: str = ".keras") -> Path:
        key = (name, suffix)
        if key not in self._cache:
            import keras

            keras.utils.set_random_seed(0)
            model = build(keras)
            path = self.root / f"{name}{suffix}"
            model.save(path)
            self._cache[key] = path
        return self._cache[key]

    def save_tf_keras(self, name: str, build: Callable[[Any], Any], suffix: str = ".h5") -> Path:
        """The same with tf_keras (Keras 2 / tf.keras), for legacy formats."""
        key = (name, "tf_keras" + suffix)
        if key not in self._cache:
            import tf_keras

            tf_keras.utils.set_random_seed(0)
            model = build(tf_keras)
            path = self.root / f"{name}_k2{suffix}"
            if suffix == "":
                model.save(str(path), save_format="tf")
            else:
                model.save(str(path))
            self._cache[key] = path
        return self._cache[key]


@pytest.fixture(scope="session")
def saved_models(tmp_path_factory: pytest.TempPathFactory) -> SavedModels:
    return SavedModels(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="session")
def samples() -> Path:
    return SAMPLES

"""Shared fixtures: real Keras models, built and saved once per test session."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

# CI replays the same examples on every run and keeps no example database, so a red build is
# the code's doing, reproducible from the log; a local run draws fresh examples, more of them,
# and remembers the ones that failed. HYPOTHESIS_PROFILE picks either one explicitly.
settings.register_profile(
    "ci", derandomize=True, database=None, print_blob=True, deadline=None
)
settings.register_profile(
    "dev",
    parent=settings.get_profile("default"),  # not Hypothesis's own CI profile, whatever CI says
    max_examples=500,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
HYPOTHESIS_PROFILE = os.environ.get("HYPOTHESIS_PROFILE") or (
    "ci" if os.environ.get("CI", "").lower() == "true" else "dev"
)
settings.load_profile(HYPOTHESIS_PROFILE)

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


@pytest.fixture
def ci_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder, made the cwd, with sample models under models/ and data under data/.

    Reports then name files by short relative paths, the same on every machine. Besides the
    shipped data, `ends.npy` holds values exactly on sigmoid's open ends 0 and 1, which is a
    VC002 info under binary cross-entropy and a VC002 warning under MSE.
    """
    import shutil

    import numpy as np

    (tmp_path / "models").mkdir()
    (tmp_path / "data").mkdir()
    for name in ("relu_vae.keras", "relu_vae.h5", "sigmoid_vae.keras", "tanh_generator.keras"):
        shutil.copy(SAMPLES / name, tmp_path / "models" / name)
    for name in ("standardized.npy", "unit.npy", "images_uint8.npy"):
        shutil.copy(SAMPLES / name, tmp_path / "data" / name)
    ends = np.load(SAMPLES / "unit.npy").copy()
    ends[0, :] = 1.0
    ends[1, :] = 0.0
    np.save(tmp_path / "data" / "ends.npy", ends)
    monkeypatch.chdir(tmp_path)
    # The run must not depend on where it happens: no CI or colour settings from outside.
    for name in ("GITHUB_ACTIONS", "GITHUB_WORKSPACE", "NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path

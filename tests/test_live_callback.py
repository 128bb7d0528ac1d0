"""RangeCheck in real `fit` calls: under TensorFlow here, under JAX in a child process (Keras
fixes its backend once per process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import vaecheck

keras = pytest.importorskip("keras")

REPO = Path(__file__).resolve().parent.parent


def _autoencoder() -> Any:
    keras.utils.set_random_seed(0)
    inputs = keras.Input((6,))
    out = keras.layers.Dense(6, activation="sigmoid", name="recon")(keras.layers.Dense(3)(inputs))
    model = keras.Model(inputs, out, name="ae")
    model.compile(optimizer="adam", loss="mse")
    return model


def _weights(model: Any) -> list[np.ndarray]:
    return [np.array(keras.ops.convert_to_numpy(v)) for v in model.weights]


@pytest.fixture(scope="module")
def standardized() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(64, 6)).astype(np.float32)


def test_raises_before_the_first_step(standardized: np.ndarray) -> None:
    from vaecheck.keras import RangeCheck

    model = _autoencoder()
    before = _weights(model)
    check = RangeCheck(standardized)
    with pytest.raises(vaecheck.RangeMismatchError) as raised:
        model.fit(standardized, standardized, epochs=2, verbose=0, callbacks=[check])
    message = str(raised.value)
    assert "VC001" in message and "sigmoid" in message and "fix" in message
    assert raised.value.report is check.report and not check.report.ok
    for old, new in zip(before, _weights(model)):
        np.testing.assert_array_equal(old, new)
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == 0


def test_warns_and_training_goes_on(standardized: np.ndarray) -> None:
    from vaecheck.keras import RangeCheck

    model = _autoencoder()
    before = _weights(model)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(
            standardized, standardized, epochs=1, verbose=0, callbacks=[RangeCheck(standardized, on_error="warn")]
        )
    mismatch = [w for w in caught if issubclass(w.category, vaecheck.RangeMismatchWarning)]
    assert len(mismatch) == 1 and "VC001" in str(mismatch[0].message)
    assert len(history.history["loss"]) == 1
    assert any(not np.array_equal(a, b) for a, b in zip(before, _weights(model)))


def test_clean_data_trains_silently_with_a_pipeline() -> None:
    tf = pytest.importorskip("tensorflow")
    from vaecheck.keras import RangeCheck

    unit = np.random.default_rng(1).uniform(0.05, 0.95, size=(64, 6)).astype(np.float32)
    dataset = tf.data.Dataset.from_tensor_slices((unit, unit)).shuffle(64, seed=0).batch(16)
    model = _autoencoder()
    check = RangeCheck(dataset)
    with warnings.catch_warnings():
        warnings.simplefilter("error", vaecheck.RangeMismatchWarning)
        model.fit(dataset, epochs=1, verbose=0, callbacks=[check])
    assert check.report is not None and check.report.ok


def test_on_error_is_checked() -> None:
    from vaecheck.keras import RangeCheck

    with pytest.raises(ValueError, match="on_error"):
        RangeCheck(np.zeros((2, 2)), on_error="ignore")


JAX_FIT = textwrap.dedent(
    """
    import json, time, warnings
    started = time.perf_counter()
    import numpy as np
    import keras
    import vaecheck
    from vaecheck.keras import RangeCheck

    assert keras.backend.backend() == "jax"
    keras.utils.set_random_seed(0)
    inputs = keras.Input((6,))
    out = keras.layers.Dense(6, activation="sigmoid")(keras.layers.Dense(3)(inputs))
    model = keras.Model(inputs, out)
    model.compile(optimizer="adam", loss="mse")
    x = np.random.default_rng(0).normal(size=(64, 6)).astype("float32")
    before = [np.array(v) for v in model.get_weights()]
    result = {}
    try:
        model.fit(x, x, epochs=1, verbose=0, callbacks=[RangeCheck(x)])
        result["raised"] = False
    except vaecheck.RangeMismatchError as error:
        result["raised"] = True
        result["codes"] = [f.code for f in error.report.findings]
    result["unchanged"] = all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(x[:8], x[:8], epochs=1, verbose=0, callbacks=[RangeCheck(x, on_error="warn")])
    result["warned"] = sum(issubclass(w.category, vaecheck.RangeMismatchWarning) for w in caught)
    result["trained"] = not all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    live = vaecheck.check(model, x)
    result["codomain"] = str(live.outputs[0].codomain.interval)
    print("RESULT " + json.dumps(result))
    print("SECONDS", round(time.perf_counter() - started, 1))
    """
)


def test_fit_under_the_jax_backend() -> None:
    pytest.importorskip("jax")
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu", "TF_CPP_MIN_LOG_LEVEL": "3"}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-c", JAX_FIT], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    line = next(l for l in done.stdout.splitlines() if l.startswith("RESULT "))
    result = json.loads(line[len("RESULT ") :])
    assert result == {
        "raised": True,
        "codes": ["VC001"],
        "unchanged": True,
        "warned": 1,
        "trained": True,
        "codomain": "(0, 1)",
    }

"""Targets are matched to outputs by the rules Keras's losses apply: each accepted shape is
first shown to be accepted by a real Keras `evaluate`, then by vaecheck through every door."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import vaecheck
from vaecheck.losses import parse_loss_option
from vaecheck.target_shapes import targets_match

SPARSE = parse_loss_option("sparse_categorical_crossentropy")


@pytest.mark.parametrize(
    ("targets", "output", "loss", "expected"),
    [
        ((28, 28), (28, 28), None, True),
        ((28, 28), (None, None), None, True),
        ((28, 28), (28, 28, 1), None, True),  # the output's trailing 1 squeezed
        ((28, 28, 1), (28, 28), None, True),  # the targets' trailing 1 squeezed
        ((), (1,), None, True),  # 1-D targets expanded
        ((1,), (), None, True),
        ((), (None,), None, True),
        ((28, 28), (28, 28, 3), None, False),  # not a unit axis
        ((28, 28, 3), (28, 28), None, False),
        ((28,), (28, 28, 1), None, False),  # two ranks apart
        ((), (3,), None, False),
        ((), (3,), SPARSE, True),  # class indices
        ((1,), (3,), SPARSE, True),
        ((5,), (5, 3), SPARSE, True),
        ((4,), (3,), SPARSE, False),
    ],
)
def test_targets_match_table(
    targets: tuple[int, ...], output: tuple[int | None, ...], loss: Any, expected: bool
) -> None:
    assert targets_match(targets, output, loss) is expected


def _model(keras: Any, output_shape: tuple[int, ...], activation: str, loss: str) -> Any:
    inputs = keras.Input((4,))
    h = keras.layers.Dense(int(np.prod(output_shape)), activation=activation)(inputs)
    model = keras.Model(inputs, keras.layers.Reshape(output_shape)(h) if len(output_shape) > 1 else h)
    model.compile(loss=loss, run_eagerly=True)  # no graph to trace for a 16-row evaluate
    return model


CASES = {
    # name: (output shape, activation, loss, targets shape per sample)
    "squeeze-output": ((4, 4, 1), "sigmoid", "mse", (4, 4)),
    "squeeze-targets": ((4, 4), "sigmoid", "mse", (4, 4, 1)),
    "expand-1d": ((1,), "sigmoid", "binary_crossentropy", ()),
    "sparse-flat": ((3,), "softmax", "sparse_categorical_crossentropy", ()),
    "sparse-column": ((3,), "softmax", "sparse_categorical_crossentropy", (1,)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_rule_as_keras_accepts_it(saved_models: Any, tmp_path: Path, name: str) -> None:
    import keras

    output_shape, activation, loss, target_shape = CASES[name]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 4)).astype(np.float32)
    if "sparse" in name:
        y = rng.integers(0, 3, size=(16, *target_shape))
    else:
        y = rng.uniform(0.1, 0.9, size=(16, *target_shape)).astype(np.float32)
    model = _model(keras, output_shape, activation, loss)
    model.evaluate(x, y, verbose=0)  # Keras takes these targets
    path = saved_models.save(f"targets_{name}", lambda k: _model(k, output_shape, activation, loss))

    live = vaecheck.check(model, (x, y))
    saved = vaecheck.check(path, y)
    for report in (live, saved):
        assert len(report.outputs) == 1 and report.ok, report.findings
    npy = tmp_path / "y.npy"
    np.save(npy, y)
    from click.testing import CliRunner

    from vaecheck.cli import command

    result = CliRunner().invoke(command, [str(path), str(npy)], standalone_mode=False)
    assert result.return_value == 0, result.output


def test_targets_out_of_reach_after_squeezing_are_found(saved_models: Any) -> None:
    """A (N, 4, 4) target against (None, 4, 4, 1) is compared, so values a sigmoid cannot
    reach are an error and not a shape refusal."""
    path = saved_models.save("targets_squeeze_bad", lambda k: _model(k, (4, 4, 1), "sigmoid", "mse"))
    y = np.full((8, 4, 4), 5.0, np.float32)
    report = vaecheck.check(path, y)
    assert [f.code for f in report.findings] == ["VC001"]

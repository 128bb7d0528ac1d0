"""Every loss and head check on real saved Keras models: one that triggers it, one that does not.

Models are compiled with the loss in question and saved as `.keras` and, for many, as `.h5` by
Keras 3 and by tf_keras (Keras 2), so both config encodings (compile_config, training_config)
are read. The data is what the output is trained against.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import vaecheck
from vaecheck.cli import main
from vaecheck.report import Report, Severity

RNG = np.random.default_rng(7)
N = 64

KERAS3 = (("keras3", ".keras"),)
ALL_FORMATS = (("keras3", ".keras"), ("keras3", ".h5"), ("tf_keras", ".h5"))


def head(units: int, activation: str | None, loss: Callable[[Any], Any] | str) -> Callable[[Any], Any]:
    """A model ending in Dense(units, activation), compiled with `loss` (or loss(keras))."""

    def build(keras):
        x = keras.Input((6,), name="x")
        model = keras.Model(x, keras.layers.Dense(units, activation=activation, name="out")(x))
        model.compile(optimizer="adam", loss=loss(keras) if callable(loss) else loss)
        return model

    return build


def one_hot(classes: int) -> np.ndarray:
    return np.eye(classes, dtype=np.float32)[RNG.integers(0, classes, N)]


def multi_hot(classes: int) -> np.ndarray:
    rows = (RNG.random((N, classes)) > 0.5).astype(np.float32)
    rows[:, 0] = 1.0
    rows[:, 1] = 1.0  # every row holds at least two labels
    return rows


IMAGES = RNG.integers(0, 256, (N, 8)).astype(np.uint8)
STANDARDIZED = RNG.standard_normal((N, 8)).astype(np.float32)
COUNTS = RNG.poisson(3.0, (N, 8)).astype(np.float32)
BINARY_1 = RNG.integers(0, 2, (N, 1)).astype(np.float32)


@dataclass(frozen=True)
class Case:
    id: str
    build: Callable[[Any], Any]
    data: np.ndarray
    expected: tuple[str, ...]  # codes at warning or above
    formats: tuple[tuple[str, str], ...] = KERAS3


CASES = [
    # VC101 binary cross-entropy on targets outside [0, 1]
    Case("bce-images", head(8, "sigmoid", "binary_crossentropy"), IMAGES, ("VC101",), ALL_FORMATS),
    Case("bce-unit", head(8, "sigmoid", "binary_crossentropy"), IMAGES / 255.0, (), ALL_FORMATS),
    Case(
        "focal-standardized",
        head(8, "sigmoid", lambda k: k.losses.BinaryFocalCrossentropy()),
        STANDARDIZED,
        ("VC101",),
        ALL_FORMATS,
    ),
    Case(
        "focal-logits-unit",
        head(8, None, lambda k: k.losses.BinaryFocalCrossentropy(from_logits=True)),
        IMAGES / 255.0,
        (),
    ),
    # VC102 categorical cross-entropy / KL divergence on rows that are not distributions
    Case("cce-indices", head(10, "softmax", "categorical_crossentropy"), RNG.integers(0, 10, N), ("VC102",), ALL_FORMATS),
    Case(
        "cce-logits-half-rows",
        head(4, None, lambda k: k.losses.CategoricalCrossentropy(from_logits=True)),
        one_hot(4) * 0.5,
        ("VC102",),
        ALL_FORMATS,
    ),
    Case("cce-one-hot", head(10, "softmax", "categorical_crossentropy"), one_hot(10), (), ALL_FORMATS),
    Case(
        "kld-unnormalized",
        head(5, "softmax", lambda k: k.losses.KLDivergence()),
        RNG.random((N, 5)).astype(np.float32),
        ("VC102",),
        ALL_FORMATS,
    ),
    Case(
        "kld-distributions",
        head(5, "softmax", "kld"),
        (lambda r: r / r.sum(axis=1, keepdims=True))(RNG.random((N, 5))),
        (),
    ),
    # VC103 sparse categorical cross-entropy on labels that are not class indices
    Case("scce-from-one", head(10, "softmax", "sparse_categorical_crossentropy"), RNG.integers(1, 11, N), ("VC103",), ALL_FORMATS),
    Case("scce-fractions", head(10, "softmax", "sparse_categorical_crossentropy"), RNG.integers(0, 10, N) + 0.5, ("VC103",)),
    Case("scce-one-hot", head(10, "softmax", "sparse_categorical_crossentropy"), one_hot(10), ("VC103",), ALL_FORMATS),
    Case("scce-indices", head(10, "softmax", "sparse_categorical_crossentropy"), RNG.integers(0, 10, N), (), ALL_FORMATS),
    Case("scce-indices-column", head(10, "softmax", "sparse_categorical_crossentropy"), RNG.integers(0, 10, (N, 1)), ()),
    Case(
        "scce-ignored-class",
        head(10, "softmax", lambda k: k.losses.SparseCategoricalCrossentropy(ignore_class=-1)),
        RNG.integers(-1, 10, N),
        (),
        ALL_FORMATS,
    ),
    # VC104 Poisson, MSLE, KL divergence on negative targets
    Case("poisson-standardized", head(8, "softplus", "poisson"), STANDARDIZED, ("VC104",), ALL_FORMATS),
    Case("msle-standardized", head(8, None, "msle"), STANDARDIZED, ("VC104",)),
    Case("kld-negative", head(8, None, "kl_divergence"), one_hot(8) - 0.25, ("VC104", "VC102")),
    Case("poisson-counts", head(8, "softplus", "poisson"), COUNTS, (), ALL_FORMATS),
    # VC105 hinge labels
    Case("hinge-mixed", head(1, None, "hinge"), RNG.integers(-1, 2, (N, 1)), ("VC105",), ALL_FORMATS),
    Case("squared-hinge-mask", head(1, None, "squared_hinge"), BINARY_1 * 255, ("VC105",), ALL_FORMATS),
    Case("hinge-signs", head(1, None, lambda k: k.losses.Hinge()), BINARY_1 * 2 - 1, (), ALL_FORMATS),
    Case("hinge-zero-one", head(1, None, "hinge"), BINARY_1, (), ALL_FORMATS),
    # VC106 from_logits=True on a squashed output
    Case(
        "bce-logits-sigmoid",
        head(1, "sigmoid", lambda k: k.losses.BinaryCrossentropy(from_logits=True)),
        BINARY_1,
        ("VC106",),
        ALL_FORMATS,
    ),
    Case(
        "cce-logits-softmax",
        head(4, "softmax", lambda k: k.losses.CategoricalCrossentropy(from_logits=True)),
        one_hot(4),
        ("VC106",),
        ALL_FORMATS,
    ),
    Case(
        "bce-logits-relu",
        head(1, "relu", lambda k: k.losses.BinaryCrossentropy(from_logits=True)),
        BINARY_1,
        ("VC106",),
    ),
    Case(
        "bce-logits-linear",
        head(1, None, lambda k: k.losses.BinaryCrossentropy(from_logits=True)),
        BINARY_1,
        (),
        ALL_FORMATS,
    ),
    # VC107 from_logits=False on an unbounded output
    Case("bce-linear", head(1, None, "binary_crossentropy"), BINARY_1, ("VC107",), ALL_FORMATS),
    Case("cce-relu", head(4, "relu", "categorical_crossentropy"), one_hot(4), ("VC107",), ALL_FORMATS),
    Case(
        "scce-linear",
        head(4, None, "sparse_categorical_crossentropy"),
        RNG.integers(0, 4, N),
        ("VC107",),
    ),
    Case("bce-sigmoid", head(1, "sigmoid", "binary_crossentropy"), BINARY_1, (), ALL_FORMATS),
    # VC108 softmax over one unit
    Case("softmax-one-unit", head(1, "softmax", "binary_crossentropy"), BINARY_1, ("VC108",), ALL_FORMATS),
    Case("softmax-two-units", head(2, "softmax", "categorical_crossentropy"), one_hot(2), (), ALL_FORMATS),
    # VC109 softmax on multi-label targets
    Case("softmax-multi-hot", head(5, "softmax", "categorical_crossentropy"), multi_hot(5), ("VC109",), ALL_FORMATS),
    Case("softmax-multi-hot-mse", head(5, "softmax", "mse"), multi_hot(5), ("VC109",)),
    Case("sigmoid-multi-hot", head(5, "sigmoid", "binary_crossentropy"), multi_hot(5), (), ALL_FORMATS),
    # VC002 saturation: sigmoid / tanh trained with a regression loss on the asymptotes
    Case("tanh-mse-ends", head(8, "tanh", "mse"), np.clip(STANDARDIZED, -1, 1), ("VC002",), ALL_FORMATS),
    Case("sigmoid-mse-ends", head(1, "sigmoid", "mean_squared_error"), BINARY_1, ("VC002",)),
    Case("tanh-mse-margin", head(8, "tanh", "mse"), np.clip(STANDARDIZED, -1, 1) * 0.98, (), ALL_FORMATS),
]


def report_for(saved_models, case: Case, backend: str, suffix: str) -> Report:
    save = saved_models.save if backend == "keras3" else saved_models.save_tf_keras
    path = save(f"lc_{case.id}", case.build, suffix)
    return vaecheck.check(path, case.data)


def flagged(report: Report) -> tuple[str, ...]:
    return tuple(f.code for f in report.findings if f.severity >= Severity.WARNING)


@pytest.mark.parametrize(
    ("case", "backend", "suffix"),
    [(case, backend, suffix) for case in CASES for backend, suffix in case.formats],
    ids=[f"{case.id}-{backend}{suffix}" for case in CASES for backend, suffix in case.formats],
)
def test_check_on_a_real_saved_model(saved_models, case, backend, suffix):
    report = report_for(saved_models, case, backend, suffix)
    assert sorted(flagged(report)) == sorted(case.expected)
    for finding in report.findings:
        if finding.severity >= Severity.WARNING:
            assert finding.fix is not None and finding.fix.kind != "none", finding.code


def case(case_id: str) -> Case:
    return next(c for c in CASES if c.id == case_id)


def only(saved_models, case_id: str, code: str):
    report = report_for(saved_models, case(case_id), "keras3", ".keras")
    [finding] = [f for f in report.findings if f.code == code]
    return report, finding


def test_every_loss_and_head_check_has_a_trigger_and_a_clean_model():
    from vaecheck.checks import REGISTRY

    triggered = {code for c in CASES for code in c.expected}
    assert {code for code in REGISTRY if code.startswith("VC1")} <= triggered
    assert any(not c.expected for c in CASES)


def test_bce_on_images_is_rescaled_by_255_and_not_reported_twice(saved_models):
    report, finding = only(saved_models, "bce-images", "VC101")
    assert "above 1" in finding.message and "negative" in finding.message
    assert finding.fix.rescale.scale == pytest.approx(1 / 255) and finding.fix.rescale.offset == 0
    # The sigmoid's own range check would say the same of the same values.
    assert "VC001" not in [f.code for f in report.findings]
    assert report.outputs[0].fix == finding.fix


def test_class_indices_with_categorical_crossentropy_suggest_the_sparse_loss(saved_models):
    _, finding = only(saved_models, "cce-indices", "VC102")
    assert "class index" in finding.message
    assert finding.fix.loss == "keras.losses.SparseCategoricalCrossentropy()"
    assert "to_categorical(y, 10)" in finding.fix.alternative


def test_rows_not_summing_to_one_are_counted(saved_models):
    _, finding = only(saved_models, "cce-logits-half-rows", "VC102")
    assert finding.evidence["count_rows_below_1"] == N
    assert finding.evidence["row_sum_max"] == pytest.approx(0.5)
    assert "y.sum(axis=-1, keepdims=True)" in finding.fix.summary


def test_labels_counting_from_one_are_shifted_back(saved_models):
    _, finding = only(saved_models, "scce-from-one", "VC103")
    assert "0..9" in finding.message and "10 units" in finding.message
    assert (finding.fix.rescale.scale, finding.fix.rescale.offset) == (1.0, -1.0)


def test_fractional_and_one_hot_labels_point_to_categorical_crossentropy(saved_models):
    _, fractional = only(saved_models, "scce-fractions", "VC103")
    assert fractional.evidence["count_non_integer"] == N
    _, one_hot_rows = only(saved_models, "scce-one-hot", "VC103")
    for finding in (fractional, one_hot_rows):
        assert finding.fix.loss == "keras.losses.CategoricalCrossentropy()"


def test_negative_poisson_targets_get_a_signed_loss_or_a_shift(saved_models):
    _, finding = only(saved_models, "poisson-standardized", "VC104")
    assert finding.evidence["count_negative"] == int((STANDARDIZED < 0).sum())
    assert finding.fix.loss == "keras.losses.MeanSquaredError()"
    assert finding.fix.rescale.offset == pytest.approx(-float(STANDARDIZED.min()))


def test_hinge_mask_labels_are_mapped_to_minus_one_and_one(saved_models):
    _, finding = only(saved_models, "squared-hinge-mask", "VC105")
    rescale = finding.fix.rescale
    assert 0 * rescale.scale + rescale.offset == pytest.approx(-1.0)
    assert 255 * rescale.scale + rescale.offset == pytest.approx(1.0)
    _, mixed = only(saved_models, "hinge-mixed", "VC105")
    assert "batches" in mixed.message


def test_double_squash_names_the_band_and_the_loss_to_use(saved_models):
    _, finding = only(saved_models, "bce-logits-sigmoid", "VC106")
    assert finding.evidence["probability_low"] == pytest.approx(0.5)
    assert finding.evidence["probability_high"] == pytest.approx(1 / (1 + np.exp(-1.0)))
    assert finding.fix.loss == "keras.losses.BinaryCrossentropy(from_logits=False)"
    _, relu = only(saved_models, "bce-logits-relu", "VC106")
    assert relu.fix.activation == "linear"


def test_probabilities_from_an_unbounded_output(saved_models):
    _, linear = only(saved_models, "bce-linear", "VC107")
    assert linear.fix.loss == "keras.losses.BinaryCrossentropy(from_logits=True)"
    _, relu = only(saved_models, "cce-relu", "VC107")
    assert relu.fix.activation == "softmax"


def test_softmax_over_one_unit_is_reported_once(saved_models):
    report, finding = only(saved_models, "softmax-one-unit", "VC108")
    assert flagged(report) == ("VC108",)  # not also "data outside [1, 1]"
    assert finding.fix.activation == "sigmoid"


def test_multi_hot_on_softmax_suggests_sigmoid_once(saved_models):
    report, finding = only(saved_models, "softmax-multi-hot", "VC109")
    assert flagged(report) == ("VC109",)  # neither VC102 (rows) nor VC002 (ends) repeats it
    assert finding.evidence["count_rows_above_1"] == N
    assert (finding.fix.activation, finding.fix.loss) == ("sigmoid", "keras.losses.BinaryCrossentropy()")


def test_saturation_names_the_loss_and_rescales_with_a_margin(saved_models):
    report, finding = only(saved_models, "tanh-mse-ends", "VC002")
    assert "mean_squared_error" in finding.message
    rescale = report.outputs[0].fix.rescale
    assert rescale.scale == pytest.approx(0.98) and rescale.offset == pytest.approx(0.0)
    _, expected = only(saved_models, "sigmoid-mse-ends", "VC002")
    # With binary cross-entropy the same 0/1 targets are the intended use.
    report = report_for(saved_models, case("bce-sigmoid"), "keras3", ".keras")
    assert [(f.code, f.severity) for f in report.findings] == [("VC002", Severity.INFO)]


# Through the command line -------------------------------------------------------------------


def run_main(argv, capsys):
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_report_shows_the_loss_next_to_its_output(saved_models, tmp_path, capsys):
    path = saved_models.save("lc_bce-logits-sigmoid", case("bce-logits-sigmoid").build, ".keras")
    data = tmp_path / "labels.npy"
    np.save(data, BINARY_1)
    code, out, err = run_main([str(path), str(data), "--no-color"], capsys)
    assert (code, err) == (1, "")
    output_line = next(line for line in out.splitlines() if line.startswith("output"))
    assert "loss binary_crossentropy (from_logits=True)" in output_line
    assert "VC106 error" in out
    assert "model.compile(loss=keras.losses.BinaryCrossentropy(from_logits=False), ...)" in out
    code, out, _ = run_main([str(path), str(data), "--format", "json"], capsys)
    [output] = json.loads(out)["outputs"]
    assert (output["loss"], output["loss_from_logits"], output["loss_origin"]) == (
        "binary_crossentropy",
        True,
        "compile_config",
    )
    [finding] = output["findings"]
    assert finding["fix"]["loss"] == "keras.losses.BinaryCrossentropy(from_logits=False)"


def test_each_finding_with_its_own_fix_is_printed(saved_models, tmp_path, capsys):
    # A one-unit softmax compiled with from_logits=True: two problems, two fixes.
    build = head(1, "softmax", lambda k: k.losses.BinaryCrossentropy(from_logits=True))
    path = saved_models.save("lc_softmax_one_logits", build)
    data = tmp_path / "labels.npy"
    np.save(data, BINARY_1)
    code, out, _ = run_main([str(path), str(data), "--no-color"], capsys)
    assert code == 1
    assert "VC106 error" in out and "VC108 error" in out
    # The first error leads (VC106, in registry order); the other follows under its code.
    assert "fix  VC108  for one yes/no output use Dense(1, activation='sigmoid')" in out


def uncompiled(keras):
    x = keras.Input((6,), name="x")
    return keras.Model(x, keras.layers.Dense(1, activation="sigmoid", name="out")(x))


@pytest.mark.parametrize(
    ("option", "expected_code", "expected"),
    [
        (None, 0, ["VC002"]),  # no loss: 0 and 1 under a sigmoid saturate it
        ("binary_crossentropy", 0, []),
        ("BinaryCrossentropy:from_logits", 1, ["VC106"]),
        ("bce:from_logits=false", 0, []),
        ("hinge", 0, []),
        ("poisson", 0, []),
    ],
)
def test_loss_option_on_a_model_saved_without_compile(saved_models, tmp_path, capsys, option, expected_code, expected):
    path = saved_models.save("lc_uncompiled", uncompiled)
    data = tmp_path / "labels.npy"
    np.save(data, BINARY_1)
    argv = [str(path), str(data), "--format", "json"] + (["--loss", option] if option else [])
    code, out, err = run_main(argv, capsys)
    [output] = json.loads(out)["outputs"]
    assert code == expected_code and err == ""
    assert [f["code"] for f in output["findings"] if f["severity"] != "info"] == expected
    assert output["loss_origin"] == ("--loss" if option else None)


def test_loss_option_typo_is_a_usage_error(saved_models, tmp_path, capsys):
    path = saved_models.save("lc_uncompiled", uncompiled)
    data = tmp_path / "labels.npy"
    np.save(data, BINARY_1)
    code, out, err = run_main([str(path), str(data), "--loss", "binary_crossentorpy"], capsys)
    assert (code, out) == (2, "")
    assert err.strip() == (
        "vaecheck: error: --loss: 'binary_crossentorpy' is not a Keras loss "
        "(did you mean binary_crossentropy?)"
    )


def test_loss_option_replaces_a_saved_loss_and_says_so(saved_models, tmp_path, capsys):
    path = saved_models.save("lc_bce-linear", case("bce-linear").build, ".keras")
    data = tmp_path / "labels.npy"
    np.save(data, BINARY_1)
    code, out, _ = run_main([str(path), str(data), "--format", "json", "--loss", "bce:from_logits"], capsys)
    report = json.loads(out)
    assert code == 0
    assert report["notes"] == [
        "--loss binary_crossentropy (from_logits=True) replaces the saved loss "
        "binary_crossentropy of 'out'"
    ]

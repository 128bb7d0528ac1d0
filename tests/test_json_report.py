"""The JSON contract field by field, on reports built directly from facts (no model file).

Every number below is worked out by hand from the data in the test.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from vaecheck.codomain import Codomain
from vaecheck.formats import RenderOptions
from vaecheck.formats.json import MAX_JSON_FEATURES, JsonFormat, render_json, report_dict, run_dict
from vaecheck.intervals import INF, Interval
from vaecheck.losses import LossSpec
from vaecheck.readers.source import MissingChunks
from vaecheck.report import (
    CheckRun,
    FeatureRescale,
    Finding,
    Fix,
    OutputResult,
    ProbeObservation,
    ProbeSummary,
    Report,
    Rescale,
    SampleInfo,
    Severity,
    UnusablePair,
)
from vaecheck.stats import DataKind, FeatureOutside, QuantileInfo, measure

SIGMOID = Codomain(
    Interval.open(0.0, 1.0),
    bounded_by=("out: sigmoid",),
    notes=("a note on the range",),
    saved_weights=("out/kernel",),
)
UNKNOWN = Codomain.unknown("decoder › triple", "Lambda layer (its code is not read)")
KIND = DataKind("other", "real values", bounded=True)
# Two features: [0, 1, 0.5] and [2, inf, 1]. Finite: 0, 2, 1, 0.5, 1 (mean 0.9).
DATA = np.array([[0.0, 2.0], [1.0, np.inf], [0.5, 1.0]])


def stats_of(data, **fields):
    data = np.asarray(data, dtype=np.float64)
    stats = measure([data], data.shape, data.dtype, [SIGMOID.interval])
    return replace(stats, **fields)


def full_stats():
    stats = stats_of(DATA, robust_low=0.25, robust_high=1.75, feature_note="a note on features")
    stats = replace(stats, quantiles=QuantileInfo(5, True, 0.01, 0.0))
    features = replace(
        stats.features,
        robust_low=np.array([0.1, 1.1]),
        robust_high=np.array([0.9, np.inf]),
        names=("a", "b"),
    )
    return replace(stats, features=features)


def evidence_finding(fix=None, severity=Severity.ERROR) -> Finding:
    return Finding(
        "VC001",
        "data-outside-codomain",
        severity,
        "out",
        "20.0% of values lie outside (0, 1)",
        evidence={"count_outside": 1, "fraction_outside": 0.2, "far": math.inf, "where": "above"},
        fix=fix,
    )


FULL_FIX = Fix(
    "rescale-data",
    "rescale the data into (0, 1)",
    activation="linear",
    loss="keras.losses.MeanSquaredError()",
    rescale=Rescale(0.5, 0.0, 0.0, INF),
    rescale_for="sigmoid",
    alternative="or keep it",
    per_feature=FeatureRescale(
        scale=np.array([1.0, 0.5]),
        offset=np.array([0.0, -0.5]),
        target_low=0.0,
        target_high=1.0,
        axis_name="feature",
        reason="asked for with --per-feature",
    ),
    framework="onnx",
)


def full_report() -> Report:
    output = OutputResult(
        name="out",
        label="decoder › out",
        shape=(None, 2),
        codomain=SIGMOID,
        findings=(evidence_finding(),),
        fix=FULL_FIX,
        loss="binary_crossentropy",
        loss_spec=LossSpec("binary_crossentropy", from_logits=False, origin="compile_config"),
        targets_compared=True,
        probe=ProbeObservation(0.125, 0.75, 3, "data", True, 6, 1, count_outside=2, fraction_outside=0.4),
        worst_features=(FeatureOutside(1, "feature 1 'b'", 2, 0, 1, name="b"),),
        features_outside=1,
    )
    return Report(
        model="m.keras",
        data="d.npy",
        data_description="d.npy (3 × 2 float64)",
        stats=full_stats(),
        data_kind=KIND,
        outputs=(output,),
        skipped_outputs=(("mask", "no targets for it"),),
        notes=("a note",),
        sampled=True,
        probe=ProbeSummary("keras.saving.load_model", "jax", "3.9.0", True, "data", 3, 1.23456),
        sample=SampleInfo(3, 30, 7),
        saved_rescale="rescale.json",
        missing_chunks=MissingChunks(2, 9, 0.0),
        rescaling=SimpleNamespace(scale=0.5, offset=1.0, text="x * 0.5 + 1"),
        skipped_files=(("bad.npy", "not an npy file"),),
        model_findings=(Finding("VC301", "lambda-code", Severity.WARNING, "", "Lambda code"),),
    )


def test_every_field_of_a_full_report():
    document = json.loads(render_json(full_report()))
    assert list(document) == [
        "version", "ok", "model", "data", "summary", "findings", "data_summary",
        "outputs", "skipped_outputs", "notes", "saved_rescale", "probe",
    ]
    assert document["version"] == 1 and document["ok"] is False
    assert (document["model"], document["data"]) == ("m.keras", "d.npy")
    assert list(document["summary"].items()) == [("error", 1), ("warning", 1), ("info", 0)]
    assert document["findings"] == [
        {"code": "VC301", "id": "lambda-code", "severity": "warning", "message": "Lambda code"}
    ]
    summary = document["data_summary"]
    std = summary.pop("std")
    assert std == pytest.approx(math.sqrt(0.44))
    assert summary == {
        "description": "d.npy (3 × 2 float64)",
        "shape": [3, 2],
        "dtype": "float64",
        "kind": "other",
        "min": 0.0,
        "max": 2.0,
        "mean": pytest.approx(0.9),
        "count": 6,
        "nonfinite": 1,
        "sampled": True,
        "sample": {"rows": 3, "of_rows": 30, "seed": 7},
        "rescaling": {"scale": 0.5, "offset": 1.0, "text": "x * 0.5 + 1"},
        "skipped_files": [{"file": "bad.npy", "problem": "not an npy file"}],
        "robust_low": 0.25,
        "robust_high": 1.75,
        "quantiles": {
            "low_percentile": 0.1,
            "high_percentile": 99.9,
            "values_seen": 5,
            "exact_counts": True,
            "relative_error": 0.01,
            "rank_error": 0.0,
        },
        "per_feature": {
            "axis": "feature",
            "count": 2,
            "note": "a note on features",
            "names": ["a", "b"],
            "min": [0.0, 1.0],
            "max": [1.0, 2.0],
            "mean": [0.5, 1.5],
            "std": [pytest.approx(math.sqrt(1 / 6)), 0.5],
            "nonfinite": [0, 1],
            "robust_low": [0.1, 1.1],
            "robust_high": [0.9, None],
        },
        "missing_chunks": {"count": 2, "of_chunks": 9, "fill_value": 0.0},
    }
    assert document["skipped_outputs"] == [{"name": "mask", "reason": "no targets for it"}]
    assert document["notes"] == ["a note"]
    assert document["saved_rescale"] == "rescale.json"
    assert document["probe"] == {
        "loader": "keras.saving.load_model",
        "backend": "jax",
        "keras_version": "3.9.0",
        "safe_mode": True,
        "inputs": "data",
        "samples": 3,
        "seconds": 1.235,
        "saved_model_without_keras_metadata": False,
    }


def test_every_field_of_an_output():
    [output] = json.loads(render_json(full_report()))["outputs"]
    assert list(output) == [
        "name", "layer", "shape", "activation", "bounded_by", "range", "loss", "loss_from_logits",
        "loss_origin", "targets_compared", "findings", "fix", "data", "probe",
    ]
    assert output["name"] == "out" and output["layer"] == "decoder › out"
    assert output["shape"] == [None, 2]
    assert output["activation"] == "sigmoid" and output["bounded_by"] == ["out: sigmoid"]
    assert output["range"] == {
        "known": True,
        "low": 0.0,
        "high": 1.0,
        "low_closed": False,
        "high_closed": False,
        "notes": ["a note on the range"],
        "simplex_axis": None,
        "saved_weights": ["out/kernel"],
    }
    assert output["loss"] == "binary_crossentropy"
    assert output["loss_from_logits"] is False and output["loss_origin"] == "compile_config"
    assert output["targets_compared"] is True
    assert output["findings"] == [
        {
            "code": "VC001",
            "id": "data-outside-codomain",
            "severity": "error",
            "message": "20.0% of values lie outside (0, 1)",
            "count_outside": 1,
            "fraction_outside": 0.2,
            "far": None,
            "where": "above",
        }
    ]
    # 0 on the open low end, 1.0 twice on the open high end, 2 above; inf is not finite.
    assert output["data"] == {
        "min": 0.0,
        "max": 2.0,
        "count": 6,
        "nonfinite": 1,
        "count_outside": 1,
        "count_below": 0,
        "count_above": 1,
        "count_on_low": 1,
        "count_on_high": 2,
        "fraction_outside": 0.2,
        "features_outside": 1,
        "worst_features": [
            {
                "index": 1,
                "name": "b",
                "label": "feature 1 'b'",
                "count_below": 0,
                "count_above": 1,
                "fraction_below": 0.0,
                "fraction_above": 0.5,
                "fraction_outside": 0.5,
            }
        ],
    }
    assert output["probe"] == {
        "observed_min": 0.125,
        "observed_max": 0.75,
        "proven": False,
        "label": "observed, not proven",
        "samples": 3,
        "inputs": "data",
        "values": 6,
        "nonfinite": 1,
        "count_outside_observed": 2,
        "fraction_outside_observed": 0.4,
        "safe_mode": True,
    }


def test_every_field_of_a_fix():
    [output] = json.loads(render_json(full_report()))["outputs"]
    assert output["fix"] == {
        "kind": "rescale-data",
        "summary": "rescale the data into (0, 1)",
        "activation": "linear",
        "loss": "keras.losses.MeanSquaredError()",
        "rescale": {
            "scale": 0.5,
            "offset": 0.0,
            "inverse_scale": 2.0,
            "inverse_offset": 0.0,
            "target": [0.0, None],  # an infinite end is null
            "for_activation": "sigmoid",
        },
        "alternative": "or keep it",
        "per_feature": {
            "axis": "feature",
            "reason": "asked for with --per-feature",
            "scale": [1.0, 0.5],
            "offset": [0.0, -0.5],
            "inverse_scale": [1.0, 2.0],
            "inverse_offset": [0.0, 1.0],
            "target": [0.0, 1.0],
        },
        "framework": "onnx",
    }


def test_a_finding_with_a_fix_carries_it():
    output = OutputResult(
        "out", "out", None, SIGMOID, (evidence_finding(Fix("none", "nothing")),), Fix("none", "n")
    )
    report = Report("m", "d", "d", stats_of([0.5]), KIND, (output,))
    [out] = report_dict(report)["outputs"]
    assert out["findings"][0]["fix"] == {"kind": "none", "summary": "nothing"}
    assert out["shape"] is None
    assert (out["loss"], out["loss_from_logits"], out["loss_origin"]) == (None, None, None)


def test_a_plain_report_leaves_the_optional_fields_out():
    output = OutputResult("out", "out", (None,), SIGMOID, (), Fix("none", "nothing to fix"))
    stats = stats_of([0.25, 0.5])
    report = Report("m", "d", "d", stats, KIND, (output,))
    document = report_dict(report)
    assert "probe" not in document and "saved_rescale" not in document
    assert "missing_chunks" not in document["data_summary"]
    summary = document["data_summary"]
    assert (summary["sample"], summary["rescaling"], summary["sampled"]) == (None, None, False)
    assert summary["per_feature"] is None  # one value per sample: no features
    assert summary["skipped_files"] == [] and document["skipped_outputs"] == []
    [out] = document["outputs"]
    assert out["fix"] == {"kind": "none", "summary": "nothing to fix"}
    assert "probe" not in out and "features_outside" not in out["data"]
    assert document["ok"] is True
    assert summary["quantiles"] is None or summary["quantiles"]["values_seen"] == 2
    assert _quantiles_of(replace(stats, quantiles=None)) is None
    note = report_dict(replace(report, stats=replace(stats, feature_note="why not")))
    assert note["data_summary"]["per_feature"] == {"note": "why not"}


def _quantiles_of(stats):
    report = Report("m", "d", "d", stats, KIND, ())
    return report_dict(report)["data_summary"]["quantiles"]


def test_an_unknown_range_and_an_output_without_finite_values():
    output = OutputResult("out", "decoder › triple", (None, 2), UNKNOWN, (), Fix("none", "n"))
    stats = stats_of([[np.nan, np.inf]])
    [out] = report_dict(Report("m", "d", "d", stats, KIND, (output,)))["outputs"]
    assert out["activation"] is None and out["bounded_by"] == []
    assert out["range"] == {
        "known": False,
        "low": None,
        "high": None,
        "low_closed": False,
        "high_closed": False,
        "unknown_at": "decoder › triple",
        "reason": "Lambda layer (its code is not read)",
        "notes": [],
    }
    # No interval: no counts against it; the per-feature keys stay.
    assert out["data"] == {
        "min": None,
        "max": None,
        "count": 2,
        "nonfinite": 2,
        "features_outside": 0,
        "worst_features": [],
    }
    # A known range over data with no finite value: nothing outside, a fraction of 0.
    known = OutputResult("out", "out", (None, 2), SIGMOID, (), Fix("none", "n"))
    [out] = report_dict(Report("m", "d", "d", stats, KIND, (known,)))["outputs"]
    assert (out["data"]["count_outside"], out["data"]["fraction_outside"]) == (0, 0.0)


def test_a_model_checked_without_data():
    output = OutputResult("out", "out", (None, 2), SIGMOID, (evidence_finding(),), Fix("none", "n"))
    report = Report(
        "m.keras", None, "", None, None, (output,), notes=("no data",),
        skipped_outputs=(("x", "y"),),
        model_findings=(Finding("VC301", "lambda-code", Severity.WARNING, "", "Lambda code"),),
    )
    document = report_dict(report)
    out = document["outputs"][0]
    assert out["data"] is None and out["name"] == "out"
    del document["outputs"]
    assert document == {
        "version": 1,
        "ok": False,
        "model": "m.keras",
        "data": None,
        "summary": {"error": 1, "warning": 1, "info": 0},
        "findings": [
            {"code": "VC301", "id": "lambda-code", "severity": "warning", "message": "Lambda code"}
        ],
        "data_summary": None,
        "skipped_outputs": [],
        "notes": ["no data"],
    }


@pytest.mark.parametrize(("features", "vectors"), [(MAX_JSON_FEATURES, True), (MAX_JSON_FEATURES + 1, False)])
def test_per_feature_vectors_up_to_the_limit(features, vectors):
    stats = stats_of(np.zeros((1, features)))
    per_feature = report_dict(Report("m", "d", "d", stats, KIND, ()))["data_summary"]["per_feature"]
    assert per_feature["count"] == features
    if vectors:
        assert len(per_feature["min"]) == features and per_feature["robust_low"] is None
        assert per_feature["note"] == (
            "per-feature robust extremes not kept: 4,096 features exceed the cap of 1,024"
        )
    else:
        assert set(per_feature) == {"axis", "count", "note"}
        assert per_feature["note"] == (
            "per-feature vectors left out: 4,097 features, more than 4,096"
        )


def test_several_pairs_nest_their_reports_and_name_the_unusable_ones():
    single = full_report()
    clean = Report("n.keras", "e.npy", "e", stats_of([0.5]), KIND, ())
    run = CheckRun((single, clean), (UnusablePair("x.keras", "y.npy", "y.npy: broken", path="y.npy"),))
    document = run_dict(run)
    assert list(document) == ["version", "ok", "summary", "reports", "errors"]
    assert document["version"] == 1 and document["ok"] is False
    assert list(document["summary"].items()) == [("error", 1), ("warning", 1), ("info", 0)]
    assert document["reports"] == [report_dict(single), report_dict(clean)]
    assert document["errors"] == [
        {"model": "x.keras", "data": "y.npy", "file": "y.npy", "message": "y.npy: broken"}
    ]
    text = JsonFormat().render(run, RenderOptions())
    assert text.startswith('{\n  "version": 1,\n  "ok": false,\n  "summary": {\n    "error": 1,')
    assert text.endswith("\n}\n")
    assert json.loads(text)["reports"][1]["model"] == "n.keras"


def test_one_pair_stands_alone_and_one_unusable_pair_is_still_a_run():
    report = full_report()
    text = JsonFormat().render(CheckRun((report,)), RenderOptions())
    assert text == render_json(report)
    assert json.loads(text)["model"] == "m.keras"
    failed = CheckRun((), (UnusablePair("x.keras", None, "x.keras: broken"),))
    document = json.loads(JsonFormat().render(failed, RenderOptions()))
    assert document["reports"] == [] and document["ok"] is False
    assert document["errors"] == [
        {"model": "x.keras", "data": None, "file": "x.keras", "message": "x.keras: broken"}
    ]

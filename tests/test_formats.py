"""Every output format against its golden file, SARIF against the official schema, GitHub escaping.

The goldens in tests/golden/ are the CLI's stdout for the sample models in a project folder
(the `ci_project` fixture), so they hold no absolute path. Regenerate them after an intended
change with `VAECHECK_UPDATE_GOLDEN=1 python -m pytest tests/test_formats.py`, then read the diff.
JSON and SARIF compare as data, with floats equal to 1e-9 relative: the last bits of a mean
may differ between machines; text formats compare byte for byte.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from vaecheck.checks import REGISTRY, rule_doc
from vaecheck.cli import main
from vaecheck.formats import OutputFormat
from vaecheck.formats.github import escape_data, escape_property

GOLDEN = Path(__file__).resolve().parent / "golden"
REPO = Path(__file__).resolve().parent.parent

SINGLE = ["models/relu_vae.keras", "data/standardized.npy"]
SEVERAL = [
    "models/relu_vae.keras", "data/standardized.npy",  # VC001 error, change of activation
    "models/sigmoid_vae.keras", "data/unit.npy",  # clean
    "models/tanh_generator.keras", "data/images_uint8.npy",  # VC001 error, rescale
    "models/sigmoid_vae.keras", "data/ends.npy",  # VC002 info (binary cross-entropy)
    "models/relu_vae.keras", "data/absent.npy",  # unusable: exit 2, reported on stderr
]
STRUCTURED = {"json", "sarif"}

CASES = [
    ("text", SINGLE, [], 1),
    ("text", SEVERAL, [], 2),
    ("text-quiet", SEVERAL, ["--quiet"], 2),
    ("text-color", SINGLE, ["--color"], 1),
    ("json", SINGLE, [], 1),
    ("json", SEVERAL, [], 2),
    ("sarif", SINGLE, [], 1),
    ("sarif", SEVERAL, [], 2),
    ("github", SINGLE, [], 1),
    ("github", SEVERAL, [], 2),
]


SCHEMAS = REPO.parent / "shared" / "schemas"
SARIF_SCHEMA = SCHEMAS / "sarif-schema-2.1.0.json"


def sarif_validator() -> Any:
    """The official SARIF 2.1.0 schema, from the shared folder beside the repository.

    CI always has that folder: there a missing schema fails the test. Elsewhere (a lone clone)
    the schema tests are skipped, saying where the schema was looked for.
    """
    if not SARIF_SCHEMA.is_file():
        message = f"the SARIF schema is absent: no {SARIF_SCHEMA}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " (CI has the shared folder beside the repository)")
        pytest.skip(message)
    import jsonschema

    return jsonschema.Draft4Validator(json.loads(SARIF_SCHEMA.read_text(encoding="utf-8")))


def cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def approx_tree(value: Any) -> Any:
    if isinstance(value, float):
        return pytest.approx(value, rel=1e-9, abs=1e-12)
    if isinstance(value, dict):
        return {key: approx_tree(item) for key, item in value.items()}
    if isinstance(value, list):
        return [approx_tree(item) for item in value]
    return value


def assert_golden(name: str, actual: str, structured: bool, golden: Path = GOLDEN) -> None:
    path = golden / name
    if os.environ.get("VAECHECK_UPDATE_GOLDEN"):
        # Update mode compares nothing, so it must never pass: it writes, then says what it did.
        before = path.read_text(encoding="utf-8") if path.exists() else None
        path.parent.mkdir(exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        done = "unchanged" if before == actual else "written"
        pytest.fail(f"VAECHECK_UPDATE_GOLDEN: {path.name} {done}; read the diff, then run without it")
    expected = path.read_text(encoding="utf-8")
    if structured:
        assert json.loads(actual) == approx_tree(json.loads(expected))
    else:
        assert actual == expected


@pytest.mark.parametrize(("variant", "pairs", "extra", "exit_code"), CASES)
def test_format_matches_its_golden_file(variant, pairs, extra, exit_code, ci_project, capsys):
    output_format = variant.split("-")[0]
    code, out, err = cli([*pairs, "--format", output_format, *extra], capsys)
    assert code == exit_code, err
    if "data/absent.npy" in pairs:
        assert err == "vaecheck: error: data/absent.npy: no such file or directory\n"
    else:
        assert err == ""
    size = "several" if pairs is SEVERAL else "single"
    suffix = {"json": "json", "sarif": "sarif"}.get(output_format, "txt")
    assert_golden(f"{variant}.{size}.{suffix}", out, output_format in STRUCTURED)


def test_golden_update_mode_writes_the_file_and_never_passes(tmp_path, monkeypatch):
    monkeypatch.setenv("VAECHECK_UPDATE_GOLDEN", "1")
    with pytest.raises(pytest.fail.Exception, match="new.txt written"):
        assert_golden("new.txt", "fresh output\n", structured=False, golden=tmp_path)
    assert (tmp_path / "new.txt").read_text(encoding="utf-8") == "fresh output\n"
    with pytest.raises(pytest.fail.Exception, match="new.txt unchanged"):
        assert_golden("new.txt", "fresh output\n", structured=False, golden=tmp_path)
    monkeypatch.delenv("VAECHECK_UPDATE_GOLDEN")
    assert_golden("new.txt", "fresh output\n", structured=False, golden=tmp_path)
    with pytest.raises(AssertionError):
        assert_golden("new.txt", "other output\n", structured=False, golden=tmp_path)


def test_the_sarif_schema_is_looked_for_beside_the_repository_only(monkeypatch, tmp_path):
    assert SARIF_SCHEMA == REPO.parent / "shared" / "schemas" / "sarif-schema-2.1.0.json"
    monkeypatch.setattr(f"{__name__}.SARIF_SCHEMA", tmp_path / "absent.json")

    def outcome() -> BaseException:
        # Caught whatever it is: a skip escaping here would report this test as skipped.
        try:
            sarif_validator()
        except BaseException as raised:  # noqa: BLE001 - pytest's outcomes are BaseExceptions
            return raised
        raise AssertionError("a missing schema was not noticed")

    monkeypatch.delenv("CI", raising=False)
    skipped = outcome()
    assert isinstance(skipped, pytest.skip.Exception), skipped
    assert "the SARIF schema is absent" in str(skipped)
    monkeypatch.setenv("CI", "true")
    failed = outcome()
    assert isinstance(failed, pytest.fail.Exception), failed
    assert f"no {tmp_path / 'absent.json'}" in str(failed)


def test_every_format_value_has_a_formatter_of_its_own():
    # Each value renders through its own class; auto follows GITHUB_ACTIONS.
    from vaecheck.formats.github import GithubFormat
    from vaecheck.formats.json import JsonFormat
    from vaecheck.formats.sarif import SarifFormat
    from vaecheck.formats.text import TextFormat

    expected = {"text": TextFormat, "json": JsonFormat, "sarif": SarifFormat, "github": GithubFormat}
    for output_format in OutputFormat:
        if output_format.value == "auto":
            continue
        assert type(output_format.formatter({})) is expected[output_format.value]
        assert type(output_format.formatter({"GITHUB_ACTIONS": "true"})) is expected[output_format.value]
    assert {f.value for f in OutputFormat} == {*expected, "auto"}
    assert type(OutputFormat("auto").formatter({})) is TextFormat
    assert type(OutputFormat("auto").formatter({"GITHUB_ACTIONS": "true"})) is GithubFormat


def test_auto_is_github_on_actions_and_text_elsewhere(ci_project, capsys, monkeypatch):
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    code, out, _ = cli([*SINGLE, "--format", "auto"], capsys)
    assert code == 1
    assert out.startswith("::error file=models/relu_vae.keras,title=VC001 data-outside-codomain::")
    monkeypatch.delenv("GITHUB_ACTIONS")
    code, out, _ = cli([*SINGLE, "--format", "auto"], capsys)
    assert code == 1
    assert out.startswith("vaecheck · relu_vae.keras × standardized.npy")


def test_single_pair_json_keeps_the_v1_shape_and_several_pairs_nest_it(ci_project, capsys):
    _, single, _ = cli([*SINGLE, "--format", "json"], capsys)
    _, several, _ = cli([*SEVERAL, "--format", "json"], capsys)
    single_report = json.loads(single)
    document = json.loads(several)
    assert {"version", "ok", "model", "data", "outputs"} <= set(single_report)
    assert set(document) == {"version", "ok", "summary", "reports", "errors"}
    assert document["version"] == 1 and document["ok"] is False
    assert [r["model"] for r in document["reports"]] == SEVERAL[0:8:2]
    # The first pair's report inside the run is the single-pair report, field for field.
    assert document["reports"][0] == approx_tree(single_report)
    # info: VC002, and the custom Sampling layer (VC306) of each of the three sample VAEs.
    assert document["summary"] == {"error": 2, "warning": 0, "info": 4}
    assert document["errors"] == [
        {
            "model": "models/relu_vae.keras",
            "data": "data/absent.npy",
            "file": "data/absent.npy",
            "message": "data/absent.npy: no such file or directory",
        }
    ]


def test_json_fallback_writes_every_infinite_or_nan_number_as_null():
    from vaecheck.formats.json import finite_or_null

    document = {"a": [math.inf, -math.inf, math.nan, 1.5, (2.0, math.inf)], "b": {"c": -math.inf}}
    document |= {"finite": 1.7976931348623157e308, "text": "inf", "count": 3, "flag": True}
    assert finite_or_null(document) == {
        "a": [None, None, None, 1.5, [2.0, None]],
        "b": {"c": None},
        "finite": 1.7976931348623157e308,
        "text": "inf",
        "count": 3,
        "flag": True,
    }


def test_json_report_of_data_near_the_float_maximum_has_null_for_an_overflow(tmp_path):
    # The span of [-1e308, 1e308] overflows: the fix's inverse scale is infinite. Only the
    # fallback stands between that number and the JSON report.
    import vaecheck
    from vaecheck.formats.json import render_json, report_dict

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from fuzz.strategies import assert_nonfinite_as_null, write_shapeless_model

    model = write_shapeless_model(tmp_path / "sigmoid.keras", "sigmoid")
    report = vaecheck.check(model, np.array([-1e308, 1e308, 0.5]))
    fields = report_dict(report)
    assert fields["outputs"][0]["fix"]["rescale"]["inverse_scale"] == math.inf
    document = json.loads(render_json(report))
    assert document["outputs"][0]["fix"]["rescale"]["inverse_scale"] is None
    assert_nonfinite_as_null(fields, document)


def shapeless_report(tmp_path: Path, activation: str, data: Any, **options: Any) -> Any:
    """The report on a one-layer model file written by hand (no Keras needed)."""
    import vaecheck

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from fuzz.strategies import write_shapeless_model

    model = write_shapeless_model(tmp_path / f"{activation}.keras", activation)
    return vaecheck.check(model, np.asarray(data), **options)


def test_json_range_of_an_unknown_output_names_the_layer_and_the_reason(tmp_path):
    from vaecheck.formats.json import render_json

    report = shapeless_report(tmp_path, "my_activation", [[0.5, 2.0]])
    [output] = json.loads(render_json(report))["outputs"]
    assert output["range"] == {
        "known": False,
        "low": None,
        "high": None,
        "low_closed": False,
        "high_closed": False,
        "unknown_at": "out",
        "reason": "unknown activation 'my_activation': not a Keras built-in, and its code is not in the file",
        "notes": [],
    }


def test_json_fraction_outside_is_0_when_no_value_is_finite(tmp_path):
    from vaecheck.formats.json import render_json

    report = shapeless_report(tmp_path, "sigmoid", [[math.nan, math.inf]])
    [output] = json.loads(render_json(report))["outputs"]
    assert (output["data"]["count_outside"], output["data"]["fraction_outside"]) == (0, 0.0)
    assert (output["data"]["nonfinite"], output["data"]["min"]) == (2, None)


def test_json_report_is_indented_by_two_spaces(tmp_path):
    from vaecheck.formats import OutputFormat, render
    from vaecheck.formats.json import render_json

    report = shapeless_report(tmp_path, "sigmoid", [[0.5, 2.0]])
    for text in (render_json(report), render(report, OutputFormat.JSON)):
        assert text.startswith('{\n  "version": 1,\n  "ok": false,\n  "model": ')
        assert text.endswith("\n}\n")


# SARIF ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "pairs",
    [SINGLE, SEVERAL, ["models/sigmoid_vae.keras", "data/unit.npy"]],
    ids=["one-finding", "several-pairs-and-an-error", "clean"],
)
def test_sarif_validates_against_the_official_schema(pairs, ci_project, capsys):
    validator = sarif_validator()
    _, out, _ = cli([*pairs, "--format", "sarif"], capsys)
    log = json.loads(out)
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)
    assert log["version"] == "2.1.0"


def test_sarif_has_one_rule_per_check_and_results_at_the_model(ci_project, capsys):
    _, out, _ = cli([*SEVERAL, "--format", "sarif"], capsys)
    [run] = json.loads(out)["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == list(REGISTRY)
    for rule in rules:
        module = REGISTRY[rule["id"]]
        assert rule["name"] == module.ID
        assert rule["shortDescription"]["text"] == module.SUMMARY
        assert rule["fullDescription"]["text"] == rule_doc(module)
        assert rule["help"]["text"] == rule_doc(module)
    levels = {r["id"]: r["defaultConfiguration"]["level"] for r in rules}
    sarif_level = {"error": "error", "warning": "warning", "info": "note"}
    assert levels == {code: sarif_level[m.SEVERITY.label] for code, m in REGISTRY.items()}
    assert {c: levels[c] for c in ("VC001", "VC002", "VC003", "VC004")} == {
        "VC001": "error", "VC002": "warning", "VC003": "error", "VC004": "warning",
    }

    results = run["results"]
    assert [(r["ruleId"], r["level"]) for r in results] == [
        ("VC001", "error"), ("VC306", "note"),  # each pair's outputs, then its model file
        ("VC306", "note"),
        ("VC001", "error"),
        ("VC002", "note"), ("VC306", "note"),
    ]
    for result in results:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    first = results[0]["locations"][0]
    assert first["physicalLocation"]["artifactLocation"] == {
        "uri": "models/relu_vae.keras", "uriBaseId": "%SRCROOT%",
    }
    assert first["logicalLocations"][0]["fullyQualifiedName"] == "decoder › dec_out"
    assert results[3]["locations"][0]["logicalLocations"][0]["name"] == "image"
    # A finding about the model file sits at the file, named by its place in the configuration.
    assert results[1]["locations"][0]["logicalLocations"][0]["name"] == "config.layers[2]"
    # Fingerprints tell results apart, and stay the same from run to run.
    fingerprints = [r["partialFingerprints"]["vaecheckFinding/v1"] for r in results]
    assert len(set(fingerprints)) == 6
    [invocation] = run["invocations"]
    assert invocation["executionSuccessful"] is False
    [notification] = invocation["toolExecutionNotifications"]
    assert notification["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "data/absent.npy"


def test_sarif_uri_escapes_characters_that_a_uri_cannot_hold(ci_project, capsys):
    validator = sarif_validator()
    shutil.copy("models/relu_vae.keras", "models/my model #2.keras")
    _, out, _ = cli(["models/my model #2.keras", "data/standardized.npy", "--format", "sarif"], capsys)
    log = json.loads(out)
    assert not list(validator.iter_errors(log))
    location = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location["uri"] == "models/my%20model%20%232.keras"


# GitHub workflow commands ----------------------------------------------------------------------
def unescape(text: str) -> str:
    """The runner's side: what GitHub turns an escaped value back into."""
    for escaped, raw in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        text = text.replace(escaped, raw)
    return text


def parse_command(line: str) -> tuple[str, dict[str, str], str]:
    """Split a workflow command the way the runner does: `::name props::message`."""
    assert line.startswith("::")
    head, separator, message = line[2:].partition("::")
    assert separator
    name, _, props = head.partition(" ")
    properties = {}
    for pair in props.split(","):
        key, _, value = pair.partition("=")
        properties[key] = unescape(value)
    return name, properties, unescape(message)


def test_escaping_follows_the_workflow_command_rules():
    assert escape_data("50% of x\r\ny: z, w") == "50%25 of x%0D%0Ay: z, w"
    assert escape_property("a:b,c%d\ne") == "a%3Ab%2Cc%25d%0Ae"
    text = "odd: 100%, a,b\r\nnext"
    assert unescape(escape_property(text)) == text
    assert unescape(escape_data(text)) == text


def test_github_annotation_survives_commas_colons_and_percent_in_the_path(ci_project, capsys):
    odd = "models/v2,final: 100%.keras"
    shutil.copy("models/relu_vae.keras", odd)
    code, out, _ = cli([odd, "data/standardized.npy", "--format", "github", "--ignore", "VC306"], capsys)
    lines = out.splitlines()
    assert code == 1 and len(lines) == 1  # a multi-line message stays on one line
    name, properties, message = parse_command(lines[0])
    assert name == "error"
    assert properties == {"file": odd, "title": "VC001 data-outside-codomain"}
    assert message.startswith("decoder › dec_out against standardized.npy: 47.4% of values")
    assert "\nfix: use a linear output" in message
    assert "\n  x_model = x * 0.3104118 - 0.29833641" in message


def test_github_levels_map_info_to_notice(ci_project, capsys):
    code, out, _ = cli(["models/sigmoid_vae.keras", "data/ends.npy", "--format", "github"], capsys)
    assert code == 0
    assert out.startswith("::notice file=models/sigmoid_vae.keras,title=VC002 data-on-open-end::")
    _, out, _ = cli(["models/sigmoid_vae.keras", "data/ends.npy", "--format", "github", "--loss", "mse"], capsys)
    assert out.startswith("::warning ")


def test_machine_formats_name_files_from_the_checkout_wherever_vaecheck_runs(ci_project, capsys, monkeypatch):
    (ci_project / "src").mkdir()
    monkeypatch.chdir(ci_project / "src")
    pair = ["../models/relu_vae.keras", "../data/standardized.npy"]
    monkeypatch.setenv("GITHUB_WORKSPACE", str(ci_project))
    _, out, _ = cli([*pair, "--format", "github"], capsys)
    assert out.startswith("::error file=models/relu_vae.keras,title=VC001")
    _, out, _ = cli([*pair, "--format", "sarif"], capsys)
    location = json.loads(out)["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "models/relu_vae.keras", "uriBaseId": "%SRCROOT%"}
    # Outside the source root (here the cwd), a file is named by its absolute URI.
    monkeypatch.delenv("GITHUB_WORKSPACE")
    _, out, _ = cli([*pair, "--format", "sarif"], capsys)
    log = json.loads(out)
    location = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": (ci_project / "models" / "relu_vae.keras").resolve().as_uri()}


def test_sarif_with_an_absolute_uri_validates(ci_project, capsys, monkeypatch):
    validator = sarif_validator()
    (ci_project / "src").mkdir()
    monkeypatch.chdir(ci_project / "src")
    _, out, _ = cli(["../models/relu_vae.keras", "../data/standardized.npy", "--format", "sarif"], capsys)
    log = json.loads(out)
    location = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"].startswith("file:///")
    assert not list(validator.iter_errors(log))

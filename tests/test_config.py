"""Configuration in [tool.vaecheck]: pairs checked by a bare `vaecheck`, settings, refusals."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from vaecheck.cli import main
from vaecheck.config import Pair, find_config, load_config
from vaecheck.report import Severity

TWO_PAIRS = """
[project]
name = "demo"

[tool.vaecheck]
fail-on = "error"

[[tool.vaecheck.check]]
model = "models/relu_vae.keras"
data = "data/standardized.npy"

[[tool.vaecheck.check]]
model = "models/sigmoid_vae.keras"
data = "data/unit.npy"
"""


def write_pyproject(folder: Path, text: str) -> Path:
    path = folder / "pyproject.toml"
    path.write_text(textwrap.dedent(text))
    return path


def cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_bare_vaecheck_checks_every_configured_pair_under_one_exit_code(ci_project, capsys):
    write_pyproject(ci_project, TWO_PAIRS)
    code, out, err = cli(["--no-color"], capsys)
    assert code == 1, err
    assert err == ""
    assert "vaecheck · relu_vae.keras × standardized.npy" in out
    assert "vaecheck · sigmoid_vae.keras × unit.npy" in out
    assert out.rstrip().endswith("checked 2 pairs: ✗ 1 error, 2 infos")


def test_bare_vaecheck_as_a_console_script_in_a_temporary_project(ci_project):
    exe = Path(sys.executable).parent / "vaecheck"
    if not exe.exists():
        pytest.skip("vaecheck is not installed as a console script in this environment")
    write_pyproject(ci_project, TWO_PAIRS)
    (ci_project / "src" / "deep").mkdir(parents=True)
    for cwd in (ci_project, ci_project / "src" / "deep"):  # the nearest pyproject.toml, upward
        result = subprocess.run(
            [str(exe), "--format", "json"], cwd=cwd, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 1, result.stderr
        document = json.loads(result.stdout)
        prefix = "" if cwd == ci_project else "../../"
        assert [(r["model"], r["ok"]) for r in document["reports"]] == [
            (f"{prefix}models/relu_vae.keras", False),
            (f"{prefix}models/sigmoid_vae.keras", True),
        ]
        assert document["summary"]["error"] == 1 and document["errors"] == []


def test_pair_paths_are_relative_to_the_configuration_file(ci_project, tmp_path_factory, monkeypatch, capsys):
    config = write_pyproject(ci_project, TWO_PAIRS)
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    monkeypatch.chdir(elsewhere)
    models = [Path(pair.model) for pair in load_config(config).pairs]
    assert [path.resolve() for path in models] == [
        (ci_project / "models" / "relu_vae.keras").resolve(),
        (ci_project / "models" / "sigmoid_vae.keras").resolve(),
    ]
    assert not models[0].is_absolute()  # shown relative to the cwd, as a CI log wants it
    code, out, err = cli(["--config", str(config), "--quiet"], capsys)
    assert code == 1, err
    assert out.count("VC001 error") == 1


def test_the_nearest_pyproject_with_a_vaecheck_table_wins(ci_project):
    write_pyproject(ci_project, TWO_PAIRS)
    inner = ci_project / "pkg"
    inner.mkdir()
    write_pyproject(inner, "[project]\nname = 'pkg'\n")  # no [tool.vaecheck]: skipped
    assert find_config(inner) == ci_project / "pyproject.toml"
    write_pyproject(inner, "[tool.vaecheck]\nfail-on = 'info'\n")
    assert find_config(inner) == inner / "pyproject.toml"


def test_a_pyproject_that_cannot_name_vaecheck_is_not_parsed(ci_project):
    write_pyproject(ci_project, TWO_PAIRS)
    inner = ci_project / "pkg"
    inner.mkdir()
    # Broken TOML, but no vaecheck table can be in it: another tool's file, not ours to judge.
    write_pyproject(inner, "[project\nname = 'pkg'\n")
    assert find_config(inner) == ci_project / "pyproject.toml"
    # A quoted key can spell the name with escapes: such a file is parsed.
    write_pyproject(inner, '[tool."vaech\\u0065ck"]\nfail-on = "info"\n')
    assert find_config(inner) == inner / "pyproject.toml"
    assert load_config(inner / "pyproject.toml").fail_on is Severity.INFO


def test_every_setting_is_read(ci_project):
    path = write_pyproject(
        ci_project,
        """
        [tool.vaecheck]
        format = "json"
        fail-on = "warning"
        select = ["VC001", "VC002"]
        ignore = ["VC004"]
        key = "x"
        loss = "mse"

        [tool.vaecheck.severity]
        VC002 = "error"

        [[tool.vaecheck.check]]
        model = "models/relu_vae.keras"
        data = "data/standardized.npy"
        loss = "binary_crossentropy"
        """,
    )
    config = load_config(path)
    assert config.output_format == "json"
    assert config.fail_on is Severity.WARNING
    assert config.select == ("VC001", "VC002") and config.ignore == ("VC004",)
    assert (config.key, config.loss) == ("x", "mse")
    assert config.severities == {"VC002": Severity.ERROR}
    assert config.pairs == (
        Pair("models/relu_vae.keras", "data/standardized.npy", loss="binary_crossentropy"),
    )


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[tool.vaecheck]\nfail_on = 'warning'\n", "unknown key 'fail_on' in [tool.vaecheck] (did you mean 'fail-on'?)"),
        ("[tool.vaecheck]\ncolour = true\n", "unknown key 'colour' in [tool.vaecheck] (known: format, fail-on,"),
        ("[[tool.vaecheck.check]]\nmodel = 'm.keras'\ndata = 'd.npy'\nkye = 'x'\n", "unknown key 'kye' in [[tool.vaecheck.check]] #1 (did you mean 'key'?)"),
        ("[[tool.vaecheck.check]]\ndata = 'd.npy'\n", "[[tool.vaecheck.check]] #1 needs 'model'"),
        ("[tool.vaecheck]\nformat = 'yaml'\n", "format = 'yaml': choose from text, json, sarif, github, auto"),
        ("[tool.vaecheck]\nfail-on = 'fatal'\n", "fail-on: unknown severity 'fatal'"),
        ("[tool.vaecheck]\nselect = 'VC001'\n", "select must be a list of check codes"),
        ("[tool.vaecheck]\nignore = ['VC999']\n", "unknown check code 'VC999'"),
        ("[tool.vaecheck.severity]\nVC002 = 'loud'\n", "[tool.vaecheck.severity] VC002: unknown severity 'loud'"),
        ("[tool.vaecheck.severity]\nVC042 = 'error'\n", "[tool.vaecheck.severity]: unknown check code 'VC042'"),
        ("[tool.vaecheck]\nkey = 3\n", "key must be a string, not an integer"),
        ("[tool.vaecheck\n", "invalid TOML"),
    ],
)
def test_bad_configuration_is_one_line_naming_the_file_and_the_key(text, needle, ci_project, capsys):
    write_pyproject(ci_project, text)
    code, out, err = cli(["models/relu_vae.keras", "data/standardized.npy"], capsys)
    assert code == 2
    assert out == ""
    assert err.startswith("vaecheck: error: pyproject.toml: ")
    assert needle in err
    assert err.count("\n") == 1


def test_command_line_overrides_the_file(ci_project, capsys):
    write_pyproject(
        ci_project,
        TWO_PAIRS.replace('fail-on = "error"', 'fail-on = "info"\nformat = "json"\nignore = ["VC001", "VC306"]'),
    )
    # From the file: JSON, VC001 ignored, so both pairs are clean.
    code, out, _ = cli([], capsys)
    assert code == 0 and json.loads(out)["summary"] == {"error": 0, "warning": 0, "info": 0}
    # --select replaces the file's choice of checks, --format its format.
    code, out, _ = cli(["--select", "VC001", "--format", "text", "--no-color"], capsys)
    assert code == 1 and "VC001 error" in out
    # Pairs on the command line replace the configured ones; the file's fail-on still applies.
    code, out, _ = cli(["models/sigmoid_vae.keras", "data/ends.npy"], capsys)
    report = json.loads(out)
    assert report["model"] == "models/sigmoid_vae.keras"  # one pair: the single-report shape
    assert code == 1  # the VC002 info fails at the file's fail-on = "info"
    code, _, _ = cli(["models/sigmoid_vae.keras", "data/ends.npy", "--fail-on", "warning"], capsys)
    assert code == 0


def test_configured_severity_is_stamped_by_the_engine(ci_project, capsys):
    write_pyproject(ci_project, "[tool.vaecheck.severity]\nVC002 = 'error'\n")
    code, out, _ = cli(["models/sigmoid_vae.keras", "data/ends.npy", "--format", "json"], capsys)
    [finding] = json.loads(out)["outputs"][0]["findings"]
    assert (code, finding["code"], finding["severity"]) == (1, "VC002", "error")


def test_per_pair_options_reach_the_check(ci_project, capsys):
    import numpy as np

    np.savez(ci_project / "data" / "both.npz", x=np.load("data/ends.npy"), y=np.zeros((4, 3)))
    write_pyproject(
        ci_project,
        """
        [tool.vaecheck]
        loss = "mse"

        [[tool.vaecheck.check]]
        model = "models/sigmoid_vae.keras"
        data = "data/both.npz"
        key = "x"

        [[tool.vaecheck.check]]
        model = "models/sigmoid_vae.keras"
        data = "data/ends.npy"
        loss = "binary_crossentropy"
        """,
    )
    code, out, err = cli(["--format", "json"], capsys)
    assert err == ""
    first, second = json.loads(out)["reports"]
    # The default loss (MSE) makes values on sigmoid's open ends a warning; the pair's own
    # binary cross-entropy makes them info.
    assert first["data"] == "data/both.npz" and first["outputs"][0]["loss"] == "mean_squared_error"
    assert first["outputs"][0]["findings"][0]["severity"] == "warning"
    assert second["outputs"][0]["findings"][0]["severity"] == "info"
    assert code == 0


def test_a_standalone_config_file_holds_the_keys_at_its_top_level(ci_project, capsys):
    (ci_project / "ci.toml").write_text(
        'fail-on = "info"\n[[check]]\nmodel = "models/sigmoid_vae.keras"\ndata = "data/ends.npy"\n'
    )
    code, out, _ = cli(["--config", "ci.toml", "--quiet"], capsys)
    assert code == 1
    assert out.startswith("models/sigmoid_vae.keras: VC002 info: ")
    (ci_project / "typo.toml").write_text('fail_on = "info"\n')
    code, _, err = cli(["--config", "typo.toml"], capsys)
    assert code == 2 and "typo.toml: unknown key 'fail_on' in the top level" in err


def test_a_config_pyproject_without_the_table_is_refused(ci_project, capsys):
    write_pyproject(ci_project, "[project]\nname = 'x'\n")
    code, _, err = cli(["--config", "pyproject.toml"], capsys)
    assert code == 2 and err == "vaecheck: error: pyproject.toml: has no [tool.vaecheck] table\n"
    code, _, err = cli(["--config", "absent.toml"], capsys)
    assert code == 2 and "absent.toml: no such configuration file" in err


def test_nothing_to_check_is_a_usage_error_that_says_what_to_pass(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, out, err = cli([], capsys)
    assert code == 2 and out == ""
    assert "nothing to check: pass MODEL DATA" in err
    assert "[[tool.vaecheck.check]]" in err
    write_pyproject(tmp_path, "[tool.vaecheck]\nfail-on = 'info'\n")
    code, _, err = cli([], capsys)
    assert code == 2 and "pyproject.toml lists no [[tool.vaecheck.check]] pairs" in err


def test_the_readme_configuration_example_is_valid(tmp_path):
    from vaecheck.config import parse_config, _read_toml

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme[readme.index("### Configuration"):]
    example = section[section.index("```toml\n") + 8 : section.index("```", section.index("```toml\n") + 8)]
    (tmp_path / "pyproject.toml").write_text(example)
    table = _read_toml(tmp_path / "pyproject.toml")["tool"]["vaecheck"]
    config = parse_config(table, "README.md", "tool.vaecheck", tmp_path)
    assert len(config.pairs) == 2 and config.pairs[1].key == "images"
    assert config.severities == {"VC002": Severity.ERROR}

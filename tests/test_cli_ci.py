"""The CLI as a CI step: exit codes at every fail level, subcommands, streams, integrations."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from vaecheck.checks import REGISTRY, rule_doc
from vaecheck.cli import main

REPO = Path(__file__).resolve().parent.parent
VAECHECK = Path(sys.executable).parent / "vaecheck"

# Runs whose worst finding is known, checked from the JSON report before the exit codes.
WORST = {
    # The sample VAEs' Sampling layer is a custom object, a VC306 info about the model file.
    "clean": (["models/sigmoid_vae.keras", "data/unit.npy", "--ignore", "VC306"], None),
    "info": (["models/sigmoid_vae.keras", "data/ends.npy"], "info"),
    "warning": (["models/sigmoid_vae.keras", "data/ends.npy", "--loss", "mse"], "warning"),
    "error": (["models/relu_vae.keras", "data/standardized.npy"], "error"),
}
# The exit code for each (worst finding, --fail-on): 1 when the worst is at or above the level.
EXPECTED_EXIT = {
    ("clean", "error"): 0, ("clean", "warning"): 0, ("clean", "info"): 0,
    ("info", "error"): 0, ("info", "warning"): 0, ("info", "info"): 1,
    ("warning", "error"): 0, ("warning", "warning"): 1, ("warning", "info"): 1,
    ("error", "error"): 1, ("error", "warning"): 1, ("error", "info"): 1,
}


def cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def needs_console_script() -> None:
    if not VAECHECK.exists():
        pytest.skip("vaecheck is not installed as a console script in this environment")


# Exit codes ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("worst", "fail_on"), sorted(EXPECTED_EXIT))
def test_exit_code_at_every_fail_level(worst, fail_on, ci_project, capsys):
    args, severity = WORST[worst]
    _, out, _ = cli([*args, "--format", "json"], capsys)
    severities = [f["severity"] for f in json.loads(out)["outputs"][0]["findings"]]
    assert severities == ([severity] if severity else [])

    code, out, err = cli([*args, "--fail-on", fail_on, "--no-color"], capsys)
    assert code == EXPECTED_EXIT[(worst, fail_on)], out + err
    assert err == ""
    assert main([*args, "--fail-on", fail_on, "--exit-zero"]) == 0
    capsys.readouterr()


@pytest.mark.parametrize("fail_on", ["error", "warning", "info"])
def test_unusable_input_exits_2_at_every_fail_level_even_with_exit_zero(fail_on, ci_project, capsys):
    code, out, err = cli(
        ["models/relu_vae.keras", "data/absent.npy", "--fail-on", fail_on, "--exit-zero"], capsys
    )
    assert (code, out) == (2, "")
    assert err == "vaecheck: error: data/absent.npy: no such file or directory\n"


def test_several_pairs_share_one_exit_code(ci_project, capsys):
    clean = ["models/sigmoid_vae.keras", "data/unit.npy"]
    failing = ["models/relu_vae.keras", "data/standardized.npy"]
    assert cli([*clean, *clean], capsys)[0] == 0
    assert cli([*clean, *failing], capsys)[0] == 1
    # One unusable pair: the others are still checked and reported; the exit code is 2.
    code, out, err = cli([*failing, "models/relu_vae.keras", "data/absent.npy", "--no-color"], capsys)
    assert code == 2
    assert "VC001" in out and "checked 2 pairs: ✗ 1 error, 1 info; 1 could not be checked" in out
    assert err == "vaecheck: error: data/absent.npy: no such file or directory\n"


def test_an_odd_number_of_paths_is_a_usage_error(ci_project, capsys):
    code, out, err = cli(["models/relu_vae.keras", "data/standardized.npy", "models/relu_vae.h5"], capsys)
    assert code == 2 and out == ""
    assert "MODEL and DATA come in pairs: 'models/relu_vae.h5' has no DATA (3 paths given)" in err
    # One path alone is a model checked without data.
    code, out, err = cli(["models/relu_vae.keras", "-q"], capsys)
    assert code == 0 and err == "" and out.startswith("models/relu_vae.keras: VC306 info: ")


# Selecting checks -------------------------------------------------------------------------------
def test_select_and_ignore_filter_by_code(ci_project, capsys):
    failing = ["models/relu_vae.keras", "data/standardized.npy", "--format", "json"]
    code, out, _ = cli([*failing, "--ignore", "VC001"], capsys)
    output = json.loads(out)["outputs"][0]
    assert code == 0 and output["findings"] == []
    assert output["fix"]["kind"] == "none"  # no finding, nothing to fix
    code, out, _ = cli([*failing, "--select", "VC002,VC003", "--select", "VC004"], capsys)
    assert code == 0 and json.loads(out)["outputs"][0]["findings"] == []
    code, out, _ = cli([*failing, "--select", "vc001"], capsys)
    assert code == 1 and [f["code"] for f in json.loads(out)["outputs"][0]["findings"]] == ["VC001"]
    code, out, err = cli([*failing, "--ignore", "VC999"], capsys)
    assert code == 2 and out == "" and "unknown check code 'VC999'" in err


# Subcommands ------------------------------------------------------------------------------------
def test_rules_lists_every_check_with_code_severity_and_summary(capsys):
    code, out, _ = cli(["rules"], capsys)
    lines = out.splitlines()
    assert code == 0 and len(lines) == len(REGISTRY)
    for line, (check_code, module) in zip(lines, REGISTRY.items()):
        assert line.split()[:3] == [check_code, module.SEVERITY.label, module.ID]
        assert line.endswith(module.SUMMARY)
    code, out, _ = cli(["rules", "--format", "json"], capsys)
    assert [(r["code"], r["severity"], r["summary"]) for r in json.loads(out)] == [
        (c, m.SEVERITY.label, m.SUMMARY) for c, m in REGISTRY.items()
    ]


@pytest.mark.parametrize("name", ["VC001", "vc001", "data-outside-codomain"])
def test_explain_prints_the_module_docstring(name, capsys):
    code, out, _ = cli(["explain", name], capsys)
    module = REGISTRY["VC001"]
    assert code == 0
    assert out.startswith("VC001 data-outside-codomain (default severity: error)\n\n")
    assert out.endswith(rule_doc(module) + "\n")
    assert "Failing:" in out and "Passing:" in out


def test_explain_an_unknown_code_is_a_usage_error(capsys):
    code, out, err = cli(["explain", "VC999"], capsys)
    assert code == 2 and out == ""
    assert "unknown check 'VC999'" in err and "VC001" in err


def test_a_model_file_named_like_a_subcommand_is_given_as_a_path(ci_project, capsys):
    import shutil

    shutil.copy("models/relu_vae.keras", "rules")
    code, out, _ = cli(["./rules", "data/standardized.npy", "--quiet"], capsys)
    assert code == 1 and out.startswith("./rules: VC001 error")
    code, out, _ = cli(["check", "rules", "data/standardized.npy", "--quiet"], capsys)
    assert code == 1 and out.startswith("rules: VC001 error")
    code, _, err = cli(["rules", "data/standardized.npy"], capsys)  # the subcommand, not the file
    assert code == 2 and "unexpected extra argument" in err.lower()


def test_help_shows_the_check_options_and_the_commands(capsys):
    code, out, _ = cli(["--help"], capsys)
    assert code == 0
    assert out.startswith("Usage: vaecheck [OPTIONS] [MODEL DATA]...")
    for needle in ("--format [text|json|sarif|github|auto]", "--fail-on", "--select", "--output",
                   "--config", "--quiet", "Commands:", "rules", "explain", "./rules", "Exit codes"):
        assert needle in out, needle


def test_help_and_version_do_not_import_numpy():
    script = (
        "import sys\n"
        "from vaecheck.cli import main\n"
        "codes = [main(['--help']), main(['--version']), main(['check', '--help'])]\n"
        "print('CODES', codes, 'NUMPY', 'numpy' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert "CODES [0, 0, 0] NUMPY False" in result.stdout, result.stderr


# Streams, files, colour, quiet -----------------------------------------------------------------
def test_output_file_gets_the_report_and_stdout_stays_empty(ci_project, capsys):
    args = ["models/relu_vae.keras", "data/standardized.npy", "--format", "sarif"]
    _, expected, _ = cli(args, capsys)
    code, out, err = cli([*args, "--output", "report.sarif"], capsys)
    assert (code, out, err) == (1, "", "")
    assert (ci_project / "report.sarif").read_text(encoding="utf-8") == expected
    code, out, err = cli([*args, "--output", "missing-folder/report.sarif"], capsys)
    assert code == 2 and out == ""
    assert err.startswith("vaecheck: error: missing-folder/report.sarif: cannot write the report")


def test_output_file_has_no_colour_even_when_forced_by_the_environment(ci_project, capsys, monkeypatch):
    monkeypatch.setenv("FORCE_COLOR", "1")
    cli(["models/relu_vae.keras", "data/standardized.npy", "--output", "report.txt"], capsys)
    text = (ci_project / "report.txt").read_text(encoding="utf-8")
    assert "VC001" in text and "\x1b[" not in text


@pytest.mark.parametrize(
    ("env", "flag", "coloured"),
    [
        ({}, None, False),  # not a terminal
        ({"FORCE_COLOR": "1"}, None, True),
        ({"NO_COLOR": "1"}, "--color", True),
        ({"NO_COLOR": "1", "FORCE_COLOR": "1"}, None, False),
        ({"FORCE_COLOR": "1"}, "--no-color", False),
    ],
)
def test_colour_follows_flags_then_no_color_then_force_color(env, flag, coloured, ci_project, capsys, monkeypatch):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    args = ["models/relu_vae.keras", "data/standardized.npy", *([flag] if flag else [])]
    code, out, _ = cli(args, capsys)
    assert code == 1 and "VC001" in out
    assert ("\x1b[" in out) is coloured


def test_quiet_prints_one_line_per_finding_and_nothing_when_clean(ci_project, capsys):
    code, out, err = cli(["models/sigmoid_vae.keras", "data/unit.npy", "--quiet", "--ignore", "VC306"], capsys)
    assert (code, out, err) == (0, "", "")
    code, out, _ = cli(
        ["models/relu_vae.keras", "data/standardized.npy", "models/tanh_generator.keras",
         "data/images_uint8.npy", "-q"],
        capsys,
    )
    assert code == 1
    assert [line.split(": ")[:2] for line in out.splitlines()] == [
        ["models/relu_vae.keras", "VC001 error"],
        ["models/relu_vae.keras", "VC306 info"],  # its custom Sampling layer, after the outputs'
        ["models/tanh_generator.keras", "VC001 error"],
    ]


def test_progress_goes_to_stderr_on_a_terminal_and_quiet_silences_it(ci_project, capsys, monkeypatch):
    pairs = ["models/sigmoid_vae.keras", "data/unit.npy", "models/relu_vae.keras", "data/standardized.npy"]
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    code, out, err = cli([*pairs, "--format", "json"], capsys)
    assert code == 1 and len(json.loads(out)["reports"]) == 2  # stdout holds the report only
    assert err.splitlines() == [
        "vaecheck: checking models/sigmoid_vae.keras × data/unit.npy",
        "vaecheck: checking models/relu_vae.keras × data/standardized.npy",
    ]
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    code, _, err = cli([*pairs, "--format", "json", "--quiet"], capsys)
    assert (code, err) == (1, "")


# Integrations -----------------------------------------------------------------------------------
def test_examples_ci_script_checks_the_sample_models(tmp_path):
    env = {**os.environ, "VAECHECK": f"{sys.executable} -m vaecheck", "TMPDIR": str(tmp_path)}
    env.pop("GITHUB_ACTIONS", None)
    result = subprocess.run(
        ["bash", str(REPO / "examples" / "ci.sh")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1] == "all exit codes as expected"
    assert all(line.startswith("ok    exit ") for line in lines[:-1])
    assert {line.split()[2] for line in lines[:-1]} == {"0", "1", "2"}


def test_examples_ci_script_fails_when_an_exit_code_is_wrong(tmp_path):
    # A stand-in that always exits 0 must make the script fail: the script really checks.
    fake = tmp_path / "fake-vaecheck"
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    result = subprocess.run(
        ["bash", str(REPO / "examples" / "ci.sh")],
        env={**os.environ, "VAECHECK": str(fake)}, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 1
    assert "FAIL  exit 0, expected 1" in result.stdout


def test_pre_commit_hook_manifest_is_valid_and_runs_the_console_script():
    hooks_file = REPO / ".pre-commit-hooks.yaml"
    result = subprocess.run(
        [sys.executable, "-m", "pre_commit", "validate-manifest", str(hooks_file)],
        capture_output=True, text=True, timeout=60,
    )
    if "No module named pre_commit" in result.stderr:
        pytest.skip("pre-commit is not installed")
    assert result.returncode == 0, result.stdout + result.stderr
    import yaml  # comes with pre-commit

    [hook] = yaml.safe_load(hooks_file.read_text())
    from vaecheck.config import _read_toml

    scripts = _read_toml(REPO / "pyproject.toml")["project"]["scripts"]
    assert hook["id"] == "vaecheck" and hook["entry"] in scripts
    assert hook["pass_filenames"] is False  # the pairs come from the configuration
    files = re.compile(hook["files"])
    for changed in ("models/vae.keras", "legacy.h5", "data/x.npy", "data/x.npz", "data/x.csv", "data/x.tsv", "pyproject.toml", "sub/pyproject.toml"):
        assert files.search(changed), changed
    for unrelated in ("README.md", "train.py", "pyproject.toml.bak"):
        assert not files.search(unrelated), unrelated


def test_shell_completion_offers_subcommands_files_and_options(ci_project):
    needs_console_script()

    def complete(words: str) -> list[str]:
        env = {
            **os.environ,
            "_VAECHECK_COMPLETE": "bash_complete",
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1)),
        }
        result = subprocess.run([str(VAECHECK)], env=env, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return result.stdout.splitlines()

    assert "plain,rules" in complete("vaecheck ru")
    assert "file," in complete("vaecheck ")  # a model path is completed by the shell
    assert "plain,--fail-on" in complete("vaecheck --fa")
    assert "plain,--fail-on" in complete("vaecheck models/relu_vae.keras --fa")
    assert {"plain,sarif", "plain,github"} <= set(complete("vaecheck m.keras d.npy --format "))
    source = subprocess.run(
        [str(VAECHECK)], env={**os.environ, "_VAECHECK_COMPLETE": "bash_source"},
        capture_output=True, text=True, timeout=60,
    )
    assert "_vaecheck_completion" in source.stdout


def test_the_readme_shows_the_real_rules_listing(capsys):
    readme = (REPO / "README.md").read_text()
    _, out, _ = cli(["rules"], capsys)
    assert "$ vaecheck rules\n" + out in readme

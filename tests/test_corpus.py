"""The corpus of broken and hostile inputs (tests/corpus/make_corpus.py), run through the CLI.

Every case must end with its exit code and one line naming the file and the problem; nothing
from the input may run (canaries stay absent); and each run stays within 2 s of CPU and 200 MB, which
the runner measures, with resource limits as backstops well beyond those figures (tests/corpus/runner.py
says how)."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "corpus"))

import make_corpus  # noqa: E402
from runner import BUDGET_RSS_MB, BUDGET_SECONDS, Outcome, run_corpus  # noqa: E402

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the runner forks and reads /proc (Linux)"
)

CASES = {case.name: case for case in make_corpus.CASES}


@pytest.fixture(scope="module")
def corpus() -> Iterator[dict[str, Outcome]]:
    # Not pytest's tmp_path: that is private to root, and some cases run as an unprivileged user.
    directory = Path(tempfile.mkdtemp(prefix="vaecheck-corpus-"))
    try:
        yield {outcome.name: outcome for outcome in run_corpus(directory)}
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def test_the_corpus_is_large_and_covers_every_kind_of_input():
    assert len(CASES) >= 40
    kinds = {name.split("_")[0] for name in CASES}
    assert {"keras", "graph", "code", "h5", "npy", "npz", "csv", "stdin", "fs", "odd", "images", "url"} <= kinds
    assert all(case.exit in (1, 2) for case in CASES.values())


@pytest.mark.parametrize("name", list(CASES))
def test_case(corpus, name):
    outcome = corpus[name]
    case = CASES[name]
    assert outcome.killed_by is None, (
        f"killed ({outcome.killed_by}) after {outcome.wall_seconds:.2f} s, "
        f"{outcome.cpu_total:.2f} s of CPU"
    )
    assert outcome.canaries_present == (), "a payload from the input ran"
    assert outcome.exit == case.exit, outcome.stderr or outcome.stdout
    assert "Traceback" not in outcome.stderr and "internal error" not in outcome.stderr
    if case.exit == 2:
        assert outcome.stdout == ""
        # One line: the file, then the problem.
        assert outcome.stderr.count("\n") == 1 and outcome.stderr.endswith("\n"), outcome.stderr
        assert outcome.stderr.startswith(f"vaecheck: error: {outcome.blame}: "), outcome.stderr
        assert case.message in outcome.stderr
        assert len(outcome.stderr) < 2500
    else:
        assert outcome.stderr == ""
        lines = outcome.stdout.splitlines()
        assert lines and all(line.startswith(f"{outcome.blame}: ") for line in lines), lines
        assert case.message in outcome.stdout
        assert all(len(line) < 2500 for line in lines)
    _assert_nothing_ran_and_nothing_outside_was_read(outcome)
    # What a run from a shell costs: the imports, then the case. CPU time, which other work on
    # the machine does not inflate; a run blocked without using CPU is killed by the runner.
    assert outcome.cpu_total < BUDGET_SECONDS, (
        f"{outcome.cpu_total:.2f} s of CPU ({outcome.import_cpu_seconds:.2f} s of it imports), "
        f"over the {BUDGET_SECONDS} s promise"
    )
    assert outcome.peak_rss_mb < BUDGET_RSS_MB


# Modules that only a loader running the model would import, and the corpus's payload module.
FORBIDDEN_IMPORTS = ("keras", "tensorflow", "tf_keras", "torch", "jax", "onnxruntime", "vaecheck_payload")
LIBRARY = tuple(
    os.path.realpath(p) for p in {sys.prefix, sys.base_prefix, str(Path(make_corpus.__file__).parents[2] / "vaecheck")}
)


def _named_address(blame: str) -> str | None:
    """`('127.0.0.1', 8080)` for a case whose input is http://127.0.0.1:8080/..., as the audit
    hook shows a socket's address; None for a file."""
    from urllib.parse import urlsplit

    if "://" not in blame:
        return None
    parts = urlsplit(blame)
    return repr((parts.hostname, parts.port)) if parts.port else None


def _assert_nothing_ran_and_nothing_outside_was_read(outcome: Outcome) -> None:
    """What the run's audit hook saw: no code or process from the input, no import of a
    module the model names, no file opened outside the case's folder (but the library's)."""
    named = _named_address(outcome.blame)
    ran = [
        (event, what)
        for event, what in outcome.audit
        if event not in ("open", "import")
        # A case whose input is a URL connects to that address, and to no other.
        and not (event == "socket.connect" and named is not None and what.endswith(f", {named})"))
    ]
    assert ran == [], ran
    imported = [name for event, name in outcome.audit if event == "import"]
    assert not [n for n in imported if n.split(".")[0] in FORBIDDEN_IMPORTS], imported
    folder = os.path.realpath(outcome.folder)
    outside = [
        path
        for event, path in outcome.audit
        if event == "open"
        and not os.path.realpath(path).startswith((folder + os.sep, *LIBRARY))
        and os.path.realpath(path) != os.path.realpath(outcome.blame)
    ]
    assert outside == [], outside


def test_names_from_a_file_cannot_start_a_line_or_send_escapes(corpus):
    outcome = corpus["odd_unicode_and_control_names"]
    [line] = outcome.stdout.splitlines()
    assert "\x1b" not in line and "\u202e" not in line
    assert "\\x1b[2J" in line and "\\u202e" in line and "\\n::error::spoofed" in line
    assert "décodeur-出力-" in line and "😀" in line  # printable text is kept as it is


def test_huge_names_are_shortened_in_messages(corpus):
    outcome = corpus["odd_huge_name_in_error"]
    assert "…" in outcome.stderr and outcome.stderr.rstrip().endswith("which is not in the model")
    outcome = corpus["odd_huge_output_name"]
    assert "…" in outcome.stdout and len(outcome.stdout) < 1000


def test_links_are_read_with_follow_links(tmp_path, capsys):
    from vaecheck.cli import main

    target = tmp_path / "real"
    target.mkdir()
    model = make_corpus.write_keras(target / "model.keras", make_corpus.relu_model())
    data = make_corpus.write_data(target / "data.npy")
    (tmp_path / "model.keras").symlink_to(model)
    (tmp_path / "data.npy").symlink_to(data)
    shards = tmp_path / "shards"
    shards.mkdir()
    (shards / "part-0.npy").symlink_to(data)
    for pair in ([tmp_path / "model.keras", tmp_path / "data.npy"], [model, shards]):
        args = [str(p) for p in pair]
        assert main([*args, "-q"]) == 2
        out, err = capsys.readouterr()
        assert "a symbolic link (to " in err and "--follow-links" in err and out == ""
        assert main([*args, "-q", "--follow-links"]) == 1
        out, err = capsys.readouterr()
        assert "VC001" in out and err == ""


def test_links_inside_the_current_folder_are_followed(tmp_path, monkeypatch, capsys):
    """DVC and git-annex keep data as links into the repository's own cache."""
    from vaecheck.cli import main

    cache = tmp_path / ".dvc" / "cache"
    cache.mkdir(parents=True)
    model = make_corpus.write_keras(cache / "model.keras", make_corpus.relu_model())
    data = make_corpus.write_data(cache / "data.npy")
    (tmp_path / "model.keras").symlink_to(model)
    (tmp_path / "data.npy").symlink_to(data)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "escape.npy").symlink_to("/etc/passwd")
    monkeypatch.chdir(tmp_path)
    assert main(["model.keras", "data.npy", "-q"]) == 1
    out, err = capsys.readouterr()
    assert "VC001" in out and err == ""
    assert main(["model.keras", "outside/escape.npy", "-q"]) == 2
    out, err = capsys.readouterr()
    assert "out of the current folder" in err and "--follow-links" in err and out == ""

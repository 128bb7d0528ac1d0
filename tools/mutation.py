"""Mutation testing of the core modules, run by hand: which deliberate bugs does the suite miss?

    pip install -e '.[mutation]'
    python tools/mutation.py                 # run every scope below, then print the scores
    python tools/mutation.py intervals       # one scope
    python tools/mutation.py --report        # the scores of the last run, and each survivor

mutmut (configured in pyproject.toml's [tool.mutmut]: the files it may mutate and the fast
tests it runs) copies the package into mutants/ and runs, for each mutant, the tests that
reach the mutated function. SCOPES below names, per core module, the functions that count:
a whole module, or for the range engine only its activation images. When a module moves,
change its line here and its path in [tool.mutmut] only_mutate; nothing else names them.

The run is niced and uses two workers: it shares the machine. Results stay in mutants/
between runs; `mutmut results` and `mutmut show NAME` read them too.
"""

from __future__ import annotations

import fnmatch
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# The activation images of the range engine: each activation's exact image of an interval
# (ranges/activations.py) and the monotone-piece machinery they are built from (ranges/piecewise.py).
ACTIVATION_MODULES = ["vaecheck.ranges.activations", "vaecheck.ranges.piecewise"]

SCOPES: dict[str, list[str]] = {
    "intervals": ["vaecheck.intervals.*"],
    "activation images": [f"{module}.*" for module in ACTIVATION_MODULES],
    "checks": ["vaecheck.checks.*"],
    "fixes": ["vaecheck.fixes.*"],
    "json format": ["vaecheck.formats.json.*"],
}

KILLED = {1, 3, 37}
SURVIVED = {0}
TIMEOUT = {-24, 24, 152, 255, 36}


def results() -> dict[str, int | None]:
    """Every mutant's exit code from mutants/**/*.meta (None: not run yet)."""
    codes: dict[str, int | None] = {}
    for meta in (REPO / "mutants").rglob("*.meta"):
        codes.update(json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"])
    return codes


def in_scope(name: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def report(scopes: list[str]) -> int:
    codes = results()
    total_killed = total_counted = 0
    survivors: list[str] = []
    for scope in scopes:
        names = [n for n in codes if in_scope(n, SCOPES[scope])]
        tally = Counter(
            "killed" if codes[n] in KILLED else "survived" if codes[n] in SURVIVED
            else "timeout" if codes[n] in TIMEOUT else "no tests" if codes[n] in (33, 5)
            else "not run" if codes[n] is None else f"exit {codes[n]}"
            for n in names
        )
        # A timeout is a kill (the mutant hangs the code); no tests and not run are not.
        killed = tally["killed"] + tally["timeout"]
        counted = len(names) - tally["not run"]
        total_killed += killed
        total_counted += counted
        score = f"{100 * killed / counted:5.1f}%" if counted else "    -"
        detail = ", ".join(f"{count} {what}" for what, count in sorted(tally.items()))
        print(f"{scope:<18} {score} killed of {counted:4d}  ({detail})")
        survivors += sorted(n for n in names if codes[n] in SURVIVED or codes[n] in (33, 5))
    if total_counted:
        print(f"{'all':<18} {100 * total_killed / total_counted:5.1f}% killed of {total_counted:4d}")
    if survivors:
        print("\nsurvivors (`mutmut show NAME` shows the change):")
        for name in survivors:
            print(f"  {name}")
    return 0


def main(argv: list[str]) -> int:
    only_report = "--report" in argv
    scopes = [a for a in argv if not a.startswith("--")] or list(SCOPES)
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        print(f"unknown scope {unknown[0]!r}; choose from {', '.join(SCOPES)}", file=sys.stderr)
        return 2
    if not only_report:
        patterns = [p for scope in scopes for p in SCOPES[scope]]
        env = dict(os.environ, HYPOTHESIS_PROFILE="ci", TF_CPP_MIN_LOG_LEVEL="3")
        mutmut = Path(sys.executable).with_name("mutmut")
        done = subprocess.run(
            ["nice", "-n", "10", str(mutmut), "run", "--max-children", "2", *patterns],
            cwd=REPO,
            env=env,
        )
        if done.returncode not in (0, 1):
            return done.returncode
    return report(scopes)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

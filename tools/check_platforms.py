"""Check, by hand, that vaecheck's dependencies resolve to wheels on the platforms users have.

    python tools/check_platforms.py                     # every target, extras tensorflow and test
    python tools/check_platforms.py --target macos-arm64 --extra test

Not a test: it asks the package index (PyPI, or whatever pip is configured to use), so it
needs the network and takes a minute or two.

For each target (an operating system, a CPU and a Python version) it evaluates the environment
markers of pyproject.toml's requirements for that target itself, then asks pip to resolve the
requirements that apply, wheels only, for that platform:

    pip install --dry-run --ignore-installed --only-binary=:all: --platform ... \\
        --python-version ... --implementation cp --abi cp3XX --target DIR --report - REQS

The first step is needed because pip evaluates markers against the machine it runs on, not
against --platform (pypa/pip#10050): on Linux, `tensorflow>=2.16; sys_platform == 'darwin'`
would be dropped and `tensorflow-cpu; sys_platform != 'darwin'` kept, even for a macOS target.
The same limitation remains for the markers inside the dependencies' own metadata, which pip
evaluates while resolving; the report lists what was resolved, so a wrong pick shows.

Exit code 0 when every target resolves, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

try:
    from packaging.markers import Marker
    from packaging.requirements import Requirement
except ImportError:  # pip carries its own copy
    from pip._vendor.packaging.markers import Marker  # type: ignore[no-redef]
    from pip._vendor.packaging.requirements import Requirement  # type: ignore[no-redef]

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Target:
    name: str
    platforms: tuple[str, ...]  # pip --platform tags, most specific first
    sys_platform: str
    platform_system: str
    platform_machine: str
    os_name: str


TARGETS = {
    "linux-x86_64": Target(
        "linux-x86_64",
        ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64"),
        "linux", "Linux", "x86_64", "posix",
    ),
    "linux-aarch64": Target(
        "linux-aarch64",
        ("manylinux_2_28_aarch64", "manylinux_2_17_aarch64", "manylinux2014_aarch64"),
        "linux", "Linux", "aarch64", "posix",
    ),
    "macos-arm64": Target(
        "macos-arm64",
        ("macosx_14_0_arm64", "macosx_13_0_arm64", "macosx_12_0_arm64", "macosx_11_0_arm64"),
        "darwin", "Darwin", "arm64", "posix",
    ),
    "macos-x86_64": Target(
        "macos-x86_64",
        ("macosx_14_0_x86_64", "macosx_12_0_x86_64", "macosx_10_15_x86_64", "macosx_10_9_x86_64"),
        "darwin", "Darwin", "x86_64", "posix",
    ),
    "windows-amd64": Target("windows-amd64", ("win_amd64",), "win32", "Windows", "AMD64", "nt"),
}
PYTHONS = ("3.10", "3.11", "3.12")


def marker_environment(target: Target, python: str) -> dict[str, str]:
    return {
        "implementation_name": "cpython",
        "implementation_version": f"{python}.0",
        "os_name": target.os_name,
        "platform_machine": target.platform_machine,
        "platform_python_implementation": "CPython",
        "platform_release": "",
        "platform_system": target.platform_system,
        "platform_version": "",
        "python_full_version": f"{python}.0",
        "python_version": python,
        "sys_platform": target.sys_platform,
    }


def requirements_for(extras: list[str], target: Target, python: str) -> list[str]:
    """The project's requirements and those of `extras` that apply on the target, markers gone."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    lines = list(project["dependencies"])
    for extra in extras:
        lines += project["optional-dependencies"][extra]
    environment = marker_environment(target, python)
    chosen = []
    for line in lines:
        requirement = Requirement(line)
        if requirement.marker is not None and not Marker(str(requirement.marker)).evaluate(environment):
            continue
        requirement.marker = None
        chosen.append(str(requirement))
    return chosen


def resolve(requirements: list[str], target: Target, python: str) -> tuple[bool, str]:
    abi = "cp" + python.replace(".", "")
    with tempfile.TemporaryDirectory() as folder:
        command = [
            sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed",
            "--only-binary=:all:", "--implementation", "cp", "--python-version", python,
            "--abi", abi, "--target", folder, "--quiet", "--report", "-",
            *(option for tag in target.platforms for option in ("--platform", tag)),
            *requirements,
        ]
        result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        problem = [line for line in result.stderr.splitlines() if line.startswith("ERROR")]
        return False, "; ".join(problem[:2]) or result.stderr.strip().splitlines()[-1]
    report = json.loads(result.stdout)
    picked = {
        item["metadata"]["name"].lower().replace("_", "-"): item["metadata"]["version"]
        for item in report["install"]
    }
    shown = [f"{name} {picked[name]}" for name in ("tensorflow", "tensorflow-cpu", "tf-keras", "keras", "numpy", "h5py") if name in picked]
    return True, f"{len(picked)} wheels: " + ", ".join(shown)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--target", choices=sorted(TARGETS), action="append")
    parser.add_argument("--python", choices=PYTHONS, action="append")
    parser.add_argument("--extra", action="append", help="extras to resolve (default: tensorflow, test)")
    args = parser.parse_args()
    targets = [TARGETS[name] for name in (args.target or TARGETS)]
    pythons = args.python or ["3.11"]
    extras_sets = [[extra] for extra in (args.extra or ["tensorflow", "test"])]
    failures = 0
    for target in targets:
        for python in pythons:
            for extras in extras_sets:
                requirements = requirements_for(extras, target, python)
                ok, detail = resolve(requirements, target, python)
                failures += not ok
                tensorflow = [r for r in requirements if r.startswith("tensorflow")]
                print(
                    f"{'ok  ' if ok else 'FAIL'}  {target.name:<14} py{python}  [{','.join(extras)}]"
                    f"  asks {', '.join(tensorflow) or 'no tensorflow'}  ->  {detail}",
                    flush=True,
                )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

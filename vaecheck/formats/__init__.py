"""Formatters: each turns the reports of one run into text for one audience. Only the CLI prints.

Every format is a small class with `render(run, options) -> str`, chosen through OutputFormat,
whose `formatter()` maps every value; `auto` resolves to `github` on GitHub Actions, else `text`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Protocol

from vaecheck.report import CheckRun, Report


@dataclass(frozen=True)
class RenderOptions:
    color: bool = False
    width: int = 100
    quiet: bool = False  # text: one line per finding, nothing for a clean pair


class Formatter(Protocol):
    def render(self, run: CheckRun, options: RenderOptions) -> str: ...


class OutputFormat(str, Enum):
    TEXT = "text"
    JSON = "json"
    SARIF = "sarif"
    GITHUB = "github"
    AUTO = "auto"

    def resolve(self, environ: Mapping[str, str] | None = None) -> OutputFormat:
        """The concrete format: `auto` becomes `github` under GitHub Actions, `text` elsewhere."""
        if self is not OutputFormat.AUTO:
            return self
        env = os.environ if environ is None else environ
        on_actions = env.get("GITHUB_ACTIONS", "").strip().lower() not in ("", "0", "false")
        return OutputFormat.GITHUB if on_actions else OutputFormat.TEXT

    def formatter(self, environ: Mapping[str, str] | None = None) -> Formatter:
        # Imported on demand: the text format pulls in rich and numpy, the others need neither.
        concrete = self.resolve(environ)
        if concrete is OutputFormat.TEXT:
            from vaecheck.formats.text import TextFormat

            return TextFormat()
        if concrete is OutputFormat.JSON:
            from vaecheck.formats.json import JsonFormat

            return JsonFormat()
        if concrete is OutputFormat.SARIF:
            from vaecheck.formats.sarif import SarifFormat

            return SarifFormat()
        if concrete is OutputFormat.GITHUB:
            from vaecheck.formats.github import GithubFormat

            return GithubFormat()
        raise AssertionError(f"no formatter for {concrete}")  # resolve() never returns AUTO


def source_root(environ: Mapping[str, str] | None = None) -> Path:
    """What machine formats give paths relative to: the checkout on GitHub Actions, else the cwd."""
    env = os.environ if environ is None else environ
    return Path(env.get("GITHUB_WORKSPACE") or os.getcwd()).resolve()


def path_in_source(path: str, root: Path) -> str | None:
    """`path` relative to `root`, with forward slashes; None when it lies outside."""
    try:
        return Path(os.path.abspath(path)).resolve().relative_to(root).as_posix()
    except ValueError:
        return None


def render(
    reports: Report | CheckRun,
    output_format: OutputFormat,
    *,
    color: bool = False,
    width: int = 100,
    quiet: bool = False,
    environ: Mapping[str, str] | None = None,
) -> str:
    """Render one report, or every report of a run, in `output_format`."""
    run = CheckRun((reports,)) if isinstance(reports, Report) else reports
    options = RenderOptions(color=color, width=width, quiet=quiet)
    return output_format.formatter(environ).render(run, options)


__all__ = ["Formatter", "OutputFormat", "RenderOptions", "path_in_source", "render", "source_root"]

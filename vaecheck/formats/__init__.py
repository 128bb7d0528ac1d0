"""Formatters: each turns one Report into text for one audience. Only the CLI prints."""

from __future__ import annotations

from enum import Enum

from vaecheck.report import Report


class OutputFormat(str, Enum):
    TEXT = "text"
    JSON = "json"


def render(report: Report, output_format: OutputFormat, *, color: bool = False, width: int = 100) -> str:
    if output_format is OutputFormat.JSON:
        from vaecheck.formats.json import render_json

        return render_json(report)
    from vaecheck.formats.text import render_text

    return render_text(report, color=color, width=width)

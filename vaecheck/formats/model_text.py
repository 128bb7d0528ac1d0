"""The terminal report's parts about the model file as a whole: its safety findings, and the
report of a model checked without data (each output's codomain and what bounds it)."""

from __future__ import annotations

import os

from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from vaecheck.report import Finding, OutputResult, Report, Severity

SEVERITY_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


def findings_grid(findings: tuple[Finding, ...]) -> Table:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    for finding in findings:
        grid.add_row(
            finding.code,
            Text(f"{finding.severity.label:<7}", style=SEVERITY_STYLE[finding.severity]),
            finding.message,
        )
    return grid


def model_findings_section(console: Console, report: Report) -> None:
    """The findings about the file itself, before any output: what loading it would do."""
    if not report.model_findings:
        return
    console.print(Text("model file", style="bold"))
    console.print(Padding(findings_grid(report.model_findings), (0, 0, 0, 2), expand=False))
    console.print()


def model_only_header(console: Console, report: Report) -> None:
    title = Text("vaecheck · ", style="bold")
    title.append(os.path.basename(report.model), style="bold")
    title.append("  (the model alone: no data given)", style="dim")
    console.print(title)
    console.print()


def model_only_verdict(console: Console, report: Report) -> None:
    verdict(console, report, "✓ no findings in the model alone")


def verdict(console: Console, report: Report, clean: str) -> None:
    """The counts of findings by severity, in the colour of the worst; `clean` when none."""
    counts = [(s, report.count(s)) for s in (Severity.ERROR, Severity.WARNING, Severity.INFO)]
    parts = [f"{n} {s.label}{'s' if n != 1 else ''}" for s, n in counts if n]
    if report.count(Severity.ERROR):
        console.print(Text("✗ " + ", ".join(parts), style="bold red"))
    elif parts:
        console.print(Text("! " + ", ".join(parts), style="bold yellow"))
    else:
        console.print(Text(clean, style="bold green"))
    console.print()


def model_only_output(console: Console, output: OutputResult) -> None:
    codomain = output.codomain
    line = Text("output  ", style="bold")
    line.append(output.label, style="bold")
    if output.shape is not None:
        dims = ", ".join("None" if d is None else str(d) for d in output.shape)
        line.append(f"  ({dims})", style="dim")
    if output.loss_spec is not None:
        line.append(f"   loss {output.loss_spec.describe()}", style="dim")
    console.print(line)
    bound = " → ".join(codomain.bounded_by) if codomain.bounded_by else "nothing (linear)"
    if not codomain.known:
        bound = f"{codomain.unknown_at}: unknown"
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="dim", no_wrap=True, min_width=10)
    facts.add_column(overflow="fold")
    facts.add_column(style="dim", no_wrap=True)
    facts.add_column(style="bold", no_wrap=True)
    facts.add_row(
        "bounded by",
        bound,
        "codomain",
        str(codomain.interval) if codomain.interval is not None else "unknown",
    )
    console.print(Padding(facts, (0, 0, 0, 2), expand=False))
    for note in codomain.notes:
        console.print(Text(f"  note        {note}", style="dim"))
    if output.findings:
        console.print(Padding(findings_grid(output.findings), (0, 0, 0, 2), expand=False))
    console.print()


def render_model_only(console: Console, report: Report) -> None:
    model_only_header(console, report)
    model_only_verdict(console, report)
    model_findings_section(console, report)
    for output in report.outputs:
        model_only_output(console, output)
    for note in report.notes:
        console.print(Text(f"note: {note}", style="dim"))


def concise_model_lines(report: Report) -> str:
    return "".join(
        f"{report.model}: {finding.code} {finding.severity.label}: {finding.message}\n"
        for finding in report.model_findings
    )

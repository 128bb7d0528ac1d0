"""A report as HTML, for Jupyter (`Report._repr_html_`): the verdict first, then per output its
codomain, the data's range, the findings, the fix, and a histogram of the data drawn as inline
SVG on the same axis as the codomain (shaded), with the bars the output cannot reach in red.

Self-contained: no script, no external style sheet or font, every name escaped.
"""

from __future__ import annotations

import math
from html import escape

import numpy as np

from vaecheck.intervals import Interval, format_bound
from vaecheck.report import CheckRun, Fix, OutputResult, Report, Severity

BINS = 48
WIDTH, HEIGHT, PAD = 480, 124, 24
TOP = 20  # room above the plot for the codomain's ends
MIN_LABEL_GAP = 28
COLOURS = {Severity.ERROR: "#c62828", Severity.WARNING: "#b26a00", Severity.INFO: "#1565c0"}
OK_COLOUR = "#2e7d32"
INSIDE_BAR, OUTSIDE_BAR, SHADE = "#607d8b", "#d32f2f", "#c8e6c9"
FONT = "font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace"


def render_html(report: Report) -> str:
    parts = [f'<div class="vaecheck-report" style="{FONT}; font-size: 13px; line-height: 1.4">']
    parts.append(_verdict(report))
    parts.append(
        f'<div style="color: #666">{escape(report.model)} × {escape(report.data_description)}'
        f"</div>"
    )
    for output in report.outputs:
        parts.append(_output(report, output))
    for name, why in report.skipped_outputs:
        parts.append(f'<div style="color: #666">output {escape(name)} not compared: {escape(why)}</div>')
    for note in report.notes:
        parts.append(f'<div style="color: #666">note: {escape(note)}</div>')
    parts.append("</div>")
    return "\n".join(parts)


def render_run_html(run: CheckRun) -> str:
    return "\n<hr>\n".join(render_html(report) for report in run.reports)


def _verdict(report: Report) -> str:
    errors, warnings = report.count(Severity.ERROR), report.count(Severity.WARNING)
    infos = report.count(Severity.INFO)
    if errors:
        colour, text = COLOURS[Severity.ERROR], f"✗ {_plural(errors, 'error')}"
        if warnings:
            text += f", {_plural(warnings, 'warning')}"
    elif warnings:
        colour, text = COLOURS[Severity.WARNING], f"⚠ {_plural(warnings, 'warning')}"
    else:
        colour = OK_COLOUR
        text = "✓ the outputs can produce the data" + (f" ({_plural(infos, 'note')})" if infos else "")
    return f'<div class="vaecheck-verdict" style="color: {colour}; font-weight: bold; font-size: 15px">{escape(text)}</div>'


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _output(report: Report, output: OutputResult) -> str:
    stats = report.stats
    codomain = output.codomain
    shape = "" if output.shape is None else " (" + ", ".join("None" if d is None else str(d) for d in output.shape) + ")"
    bound = " → ".join(codomain.bounded_by) if codomain.bounded_by else "nothing (linear)"
    if not codomain.known:
        bound = f"{codomain.unknown_at}: unknown"
    codomain_text = str(codomain.interval) if codomain.interval is not None else "unknown"
    data_range = f"[{_num(stats.min)}, {_num(stats.max)}]" if stats.min is not None else "no finite values"
    rows = [
        ("bounded by", bound),
        ("codomain", codomain_text),
        ("data", f"{report.data_kind.description}, range {data_range}"),
    ]
    if output.probe is not None and output.probe.interval is not None:
        rows.append(("observed", f"{output.probe.interval} (observed, not proven)"))
    if output.loss_spec is not None:
        rows.append(("loss", output.loss_spec.describe()))
    cells = "".join(
        f'<tr><td style="color: #666; padding-right: 12px">{escape(k)}</td><td>{escape(v)}</td></tr>'
        for k, v in rows
    )
    parts = [
        '<div class="vaecheck-output" style="margin-top: 10px">',
        f"<div><b>output {escape(output.label)}</b>{escape(shape)}</div>",
        f"<table style=\"border-collapse: collapse; margin: 2px 0 2px 12px\">{cells}</table>",
    ]
    if codomain.interval is not None and stats.sample.size and output.targets_compared:
        parts.append(histogram_svg(stats.sample, codomain.interval, stats.min, stats.max))
    for finding in output.findings:
        colour = COLOURS[finding.severity]
        parts.append(
            f'<div class="vaecheck-finding" style="margin-left: 12px"><span style="color: {colour}; font-weight: bold">'
            f"{escape(finding.code)} {escape(finding.severity.label)}</span> {escape(finding.message)}</div>"
        )
    fix = _fix_text(output.fix)
    if fix:
        parts.append(
            f'<pre class="vaecheck-fix" style="background: #f5f5f5; padding: 6px; margin: 6px 0 0 12px; overflow-x: auto">{escape(fix)}</pre>'
        )
    parts.append("</div>")
    return "\n".join(parts)


def _fix_text(fix: Fix) -> str:
    """The fix exactly as the text report prints it (summary and the lines to paste)."""
    from vaecheck.formats.text import _console, _fix

    console, buffer = _console(False, 200)  # wide: the <pre> keeps each pasted line whole
    _fix(console, fix)
    return buffer.getvalue().strip("\n")


def histogram_svg(
    sample: np.ndarray, interval: Interval, data_min: float | None, data_max: float | None
) -> str:
    """The data's histogram on an axis that also holds the codomain's finite ends; the codomain
    shaded, bars whose values the output cannot reach in red."""
    if data_min is None or data_max is None:
        return ""
    ends = [e for e in (interval.low, interval.high) if math.isfinite(e)]
    low, high = min([data_min, *ends]), max([data_max, *ends])
    if high <= low or not math.isfinite(high - low):
        return ""
    with np.errstate(over="ignore", invalid="ignore"):
        counts, edges = np.histogram(sample, bins=BINS, range=(low, high))
    peak = counts.max() or 1
    plot = WIDTH - 2 * PAD
    base = HEIGHT - 30

    def x_of(value: float) -> float:
        return PAD + (min(max(value, low), high) - low) / (high - low) * plot

    shade_low = x_of(interval.low) if math.isfinite(interval.low) else PAD
    shade_high = x_of(interval.high) if math.isfinite(interval.high) else PAD + plot
    shade_width = max(shade_high - shade_low, 2.0)  # a codomain far narrower than the data still shows
    parts = [
        f'<svg class="vaecheck-histogram" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" style="margin-left: 12px">',
        f"<title>data histogram; codomain {escape(str(interval))} shaded</title>",
        f'<rect class="codomain" x="{shade_low:.1f}" y="{TOP}" width="{shade_width:.1f}" '
        f'height="{base - TOP}" fill="{SHADE}"/>',
    ]
    bar_width = plot / BINS
    for position, count in enumerate(counts):
        if count == 0:
            continue
        centre = (edges[position] + edges[position + 1]) / 2
        inside = interval.contains(centre) or interval.closure().contains(centre)
        height = max(1.0, math.sqrt(count / peak) * (base - TOP - 4))
        colour = INSIDE_BAR if inside else OUTSIDE_BAR
        kind = "inside" if inside else "outside"
        parts.append(
            f'<rect class="bar {kind}" x="{PAD + position * bar_width:.1f}" y="{base - height:.1f}" '
            f'width="{max(bar_width - 1, 1):.1f}" height="{height:.1f}" fill="{colour}"/>'
        )
    parts.append(f'<line x1="{PAD}" y1="{base}" x2="{PAD + plot}" y2="{base}" stroke="#333"/>')
    # The codomain's finite ends above the plot, marked down to the axis; the data's span below.
    for end in ends:
        x = x_of(end)
        parts.append(
            f'<line class="codomain-end" x1="{x:.1f}" y1="{TOP - 4}" x2="{x:.1f}" y2="{base}" '
            f'stroke="{OK_COLOUR}" stroke-dasharray="3,2"/>'
        )
    if len(ends) == 2 and x_of(ends[1]) - x_of(ends[0]) < MIN_LABEL_GAP:
        # Ends too close to label apart (tanh's against 0..255): the codomain, once, beside them.
        parts.append(_label(x_of(ends[1]) + 4, TOP - 7, str(interval), "start", OK_COLOUR))
    else:
        for end in ends:
            parts.append(_label(x_of(end), TOP - 7, format_bound(end), "middle", OK_COLOUR))
    parts.append(_label(PAD, base + 16, _num(low), "start", "#333"))
    parts.append(_label(PAD + plot, base + 16, _num(high), "end", "#333"))
    parts.append("</svg>")
    return "".join(parts)


def _label(x: float, y: float, text: str, anchor: str, colour: str) -> str:
    return (
        f'<text x="{x:.1f}" y="{y}" font-size="11" text-anchor="{anchor}" fill="{colour}">'
        f"{escape(text)}</text>"
    )


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.6g}"

"""The terminal report: verdict first, one line per finding, the fix as code to paste."""

from __future__ import annotations

import io
import math
import os
import re

import numpy as np
from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from vaecheck.checks.outside_codomain import percent
from vaecheck.fixes import describe_rescale
from vaecheck.formats import RenderOptions
from vaecheck.intervals import Interval, format_bound
from vaecheck.report import (
    CheckRun,
    FeatureRescale,
    Fix,
    OutputResult,
    ProbeObservation,
    ProbeSummary,
    Report,
    Rescale,
    Severity,
)

SEVERITY_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}
BARS = " ▁▂▃▄▅▆▇█"
HISTOGRAM_WIDTH = 60
TRAILING_SPACE = re.compile(r" +((?:\x1b\[[0-9;]*m)*)$")


class TextFormat:
    """Each pair's report in turn; with several pairs, a closing line that counts them all."""

    def render(self, run: CheckRun, options: RenderOptions) -> str:
        if options.quiet:
            return "".join(concise_lines(report) for report in run.reports)
        parts = [render_text(report, color=options.color, width=options.width) for report in run.reports]
        if not run.single:
            console, buffer = _console(options.color, options.width)
            _run_verdict(console, run)
            parts.append(buffer.getvalue())
        return "".join(parts)


def concise_lines(report: Report) -> str:
    """One line per finding, as linters print them; nothing at all for a clean pair."""
    return "".join(
        f"{report.model}: {finding.code} {finding.severity.label}: {output.label}: "
        f"{finding.message} (data: {report.data})\n"
        for output in report.outputs
        for finding in output.findings
    )


def _run_verdict(console: Console, run: CheckRun) -> None:
    pairs = len(run.reports) + len(run.unusable)
    counts = [(s, run.count(s)) for s in (Severity.ERROR, Severity.WARNING, Severity.INFO)]
    parts = [f"{n} {s.label}{'s' if n != 1 else ''}" for s, n in counts if n]
    line = Text(f"checked {pairs} pairs: ", style="bold")
    if run.count(Severity.ERROR):
        line.append("✗ " + ", ".join(parts), style="bold red")
    elif parts:
        line.append("! " + ", ".join(parts), style="bold yellow")
    else:
        line.append("✓ no findings", style="bold green")
    if run.unusable:
        line.append(f"; {len(run.unusable)} could not be checked (see the errors)", style="bold red")
    console.print(line)


def _console(color: bool, width: int) -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=width,
        force_terminal=color,
        no_color=not color,
        color_system="standard" if color else None,
        highlight=False,
        emoji=False,
    )
    return console, buffer


def render_text(report: Report, *, color: bool = False, width: int = 100) -> str:
    console, buffer = _console(color, width)
    _header(console, report)
    if report.probe is not None:
        _probe_header(console, report.probe)
    _verdict(console, report)
    for output in report.outputs:
        _output(console, report, output)
    for name, why in report.skipped_outputs:
        console.print(Text(f"skipped output {name}: {why}", style="dim"))
    for note in report.notes:
        console.print(Text(f"note: {note}", style="dim"))
    if report.stats.feature_note:
        console.print(Text(f"note: {report.stats.feature_note}", style="dim"))
    return "\n".join(TRAILING_SPACE.sub(r"\1", line) for line in buffer.getvalue().split("\n"))


def _header(console: Console, report: Report) -> None:
    stats = report.stats
    shape = " × ".join(str(d) for d in stats.shape)
    title = Text("vaecheck · ", style="bold")
    title.append(os.path.basename(report.model), style="bold")
    title.append(" × ")
    title.append(report.data_description, style="bold")
    title.append(f"  ({shape}, {stats.dtype})", style="dim")
    console.print(title)
    sample = report.sample
    if sample is not None:
        seed = f", seed {sample.seed}" if sample.seed is not None else ""
        console.print(
            Text(
                f"sample: {sample.rows:,} of {sample.of_rows:,} rows, drawn at random{seed}; "
                "the figures below describe the sample",
                style="yellow",
            )
        )
    console.print()


def _verdict(console: Console, report: Report) -> None:
    counts = [(s, report.count(s)) for s in (Severity.ERROR, Severity.WARNING, Severity.INFO)]
    parts = [f"{n} {s.label}{'s' if n != 1 else ''}" for s, n in counts if n]
    if report.count(Severity.ERROR):
        console.print(Text("✗ " + ", ".join(parts), style="bold red"))
    elif parts:
        console.print(Text("! " + ", ".join(parts), style="bold yellow"))
    else:
        console.print(Text("✓ every output can reach every data value", style="bold green"))
    console.print()


def _output(console: Console, report: Report, output: OutputResult) -> None:
    stats = report.stats
    codomain = output.codomain
    shape = "" if output.shape is None else "  " + _shape(output.shape)
    line = Text("output  ", style="bold")
    line.append(output.label, style="bold")
    line.append(shape, style="dim")
    if output.loss_spec is not None:
        line.append(f"   loss {output.loss_spec.describe()}", style="dim")
    elif output.loss:
        line.append(f"   loss {output.loss}", style="dim")
    console.print(line)

    bound = " → ".join(codomain.bounded_by) if codomain.bounded_by else "nothing (linear)"
    if not codomain.known:
        bound = f"{codomain.unknown_at}: unknown"
    codomain_text = str(codomain.interval) if codomain.interval is not None else "unknown"
    data_range = (
        f"[{_num(stats.min)}, {_num(stats.max)}]" if stats.min is not None else "no finite values"
    )
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="dim", no_wrap=True, min_width=10)
    facts.add_column(overflow="fold")
    facts.add_column(style="dim", no_wrap=True)
    facts.add_column(style="bold", no_wrap=True)
    facts.add_row("bounded by", bound, "codomain", codomain_text)
    facts.add_row("data", report.data_kind.description, "range", data_range)
    if stats.robust_low is not None and stats.robust_high is not None:
        facts.add_row(
            "", "", "0.1–99.9%", f"[{_num(stats.robust_low)}, {_num(stats.robust_high)}]"
        )
    if output.probe is not None:
        _probe_rows(facts, output.probe)
    console.print(Padding(facts, (0, 0, 0, 2), expand=False))
    for note in codomain.notes:
        console.print(Text(f"  note        {note}", style="dim"))
    if codomain.interval is not None and stats.sample.size and output.targets_compared:
        for histogram_line in _histogram(stats.sample, codomain.interval, stats.min, stats.max):
            console.print(histogram_line)
    if output.findings:
        grid = Table.grid(padding=(0, 1))
        grid.add_column(no_wrap=True)
        grid.add_column(no_wrap=True)
        grid.add_column(overflow="fold")
        for finding in output.findings:
            grid.add_row(
                finding.code,
                Text(f"{finding.severity.label:<7}", style=SEVERITY_STYLE[finding.severity]),
                finding.message,
            )
        console.print(Padding(grid, (0, 0, 0, 2), expand=False))
    _worst_features(console, report, output)
    console.print()
    _fix(console, output.fix)
    # Findings whose own fix is not the one shown above: each gets its line, under its code.
    for finding in output.findings:
        if finding.fix is not None and finding.fix != output.fix and finding.fix.kind != "none":
            _fix(console, finding.fix, label=finding.code)


def _probe_header(console: Console, probe: ProbeSummary) -> None:
    line = Text("probe   ", style="bold")
    if probe.keras_version:
        line.append(f"Keras {probe.keras_version} ({probe.backend}) · ", style="dim")
    else:  # an ONNX model, run by onnxruntime
        line.append(f"{probe.backend} · ", style="dim")
    if probe.safe_mode:
        line.append("safe mode on", style="green")
    else:
        line.append("safe mode OFF (--unsafe)", style="bold yellow")
    inputs = "data samples" if probe.inputs == "data" else f"inputs: {probe.inputs}"
    line.append(f" · {probe.samples:,} {inputs} · {probe.seconds:.1f} s", style="dim")
    console.print(line)
    if probe.saved_model:
        console.print(
            Text(
                "        SavedModel without Keras metadata: ranges observed, not proven",
                style="bold yellow",
            )
        )
    console.print()


def _probe_rows(facts: Table, observed: ProbeObservation) -> None:
    if observed.low is None or observed.high is None:
        range_text = "no finite value"
    else:
        range_text = f"[{_num(observed.low)}, {_num(observed.high)}]"
    source = "the data" if observed.inputs == "data" else observed.inputs
    facts.add_row("probe", f"observed on {source}, not proven", "observed", range_text)
    details = []
    if observed.fraction_outside is not None:
        outside = percent(observed.fraction_outside)
        details.append(f"{outside} of the data lies outside the observed range")
    if observed.nonfinite:
        details.append(f"{observed.nonfinite:,} outputs were NaN or infinite")
    for detail in details:
        facts.add_row("", Text(detail, style="dim"), "", "")


def _worst_features(console: Console, report: Report, output: OutputResult) -> None:
    """ "feature 12: 41% below 0": where the values out of reach are, when features differ."""
    features = report.stats.features
    interval = output.codomain.interval
    if not output.worst_features or features is None or interval is None:
        return
    parts = []
    for feature in output.worst_features[:3]:
        sides = []
        if feature.below:
            sides.append(f"{_percent(feature.fraction_below)} below {format_bound(interval.low)}")
        if feature.above:
            sides.append(f"{_percent(feature.fraction_above)} above {format_bound(interval.high)}")
        parts.append(f"{feature.label}: {' and '.join(sides)}")
    line = Text(f"  worst {features.axis_name}s  ", style="dim")
    line.append("; ".join(parts))
    line.append(
        f"  ({output.features_outside:,} of {features.count:,} {features.axis_name}s reach "
        f"outside)",
        style="dim",
    )
    console.print(line)


def _percent(fraction: float) -> str:
    from vaecheck.checks.outside_codomain import percent

    return percent(fraction)


def _fix(console: Console, fix: Fix, label: str | None = None) -> None:
    if fix.kind == "none":
        return
    head = Text("fix  ", style="bold green")
    if label:
        head.append(f"{label}  ", style="bold")
    head.append(fix.summary)
    console.print(head)
    if fix.loss:
        console.print(f"     model.compile(loss={fix.loss}, ...)")
    rescale = fix.rescale
    if fix.kind in ("change-activation", "change-loss"):
        # The numbers belong to the alternative: announce it first.
        if fix.alternative:
            colon = ":" if rescale is not None else ""
            console.print(Text(f"     {fix.alternative}{colon}", style="dim"))
        if rescale is not None:
            _rescale_lines(console, rescale, fix.framework)
    else:
        if rescale is not None:
            _rescale_lines(console, rescale, fix.framework)
        if fix.alternative:
            console.print(Text(f"     {fix.alternative}", style="dim"))
    if fix.per_feature is not None:
        _feature_rescale_lines(console, fix.per_feature)
    console.print()


def _feature_rescale_lines(console: Console, rescale: FeatureRescale) -> None:
    axis = rescale.axis_name
    count = rescale.scale.size
    console.print(
        Text(
            f"     per {axis} ({count:,} {axis}s), into "
            f"[{format_bound(rescale.target_low)}, {format_bound(rescale.target_high)}]: "
            f"{rescale.reason}",
            style="dim",
        )
    )
    console.print(f"     x_model = x * scale + offset    # scale, offset: one value per {axis}")
    console.print("     x       = x_model * inverse_scale + inverse_offset")
    console.print(f"     scale  = {_vector_preview(rescale.scale)}")
    console.print(f"     offset = {_vector_preview(rescale.offset)}")
    console.print(
        Text("     --save-rescale FILE.npz (or .json) writes all four vectors", style="dim")
    )


def _vector_preview(values: np.ndarray, shown: int = 4) -> str:
    head = ", ".join(_code(float(v)) for v in values[:shown])
    return f"[{head}, … ({values.size - shown:,} more)]" if values.size > shown else f"[{head}]"


def _rescale_lines(console: Console, rescale: Rescale, framework: str | None = None) -> None:
    phrase = describe_rescale(rescale)
    comment = f"    # = {phrase}" if phrase else ""
    console.print(f"     x_model = x * {_code(rescale.scale)}{_signed(rescale.offset)}{comment}")
    console.print(
        f"     x       = x_model * {_code(rescale.inverse_scale)}{_signed(rescale.inverse_offset)}"
        "    # and back"
    )
    if framework not in (None, "keras"):  # an ONNX model from another framework
        return
    console.print(
        f"     keras.layers.Rescaling(scale={_code(rescale.scale)}, offset={_code(rescale.offset)})"
        "    # the same, as a preprocessing layer"
    )


def _histogram(
    sample: np.ndarray, interval: Interval, data_min: float | None, data_max: float | None
) -> list[Text]:
    """A one-line histogram of the data on an axis that also shows the codomain's finite ends."""
    assert data_min is not None and data_max is not None
    ends = [e for e in (interval.low, interval.high) if math.isfinite(e)]
    low = min([data_min, *ends])
    high = max([data_max, *ends])
    # No axis to draw on: one value, or ends so far apart that their distance overflows.
    if high <= low or not math.isfinite(high - low):
        return []
    width = HISTOGRAM_WIDTH
    with np.errstate(over="ignore", invalid="ignore"):  # bin edges near the float maximum
        counts, _ = np.histogram(sample, bins=width, range=(low, high))
    peak = counts.max() or 1
    bars = Text("              ")
    for position, count in enumerate(counts):
        centre = low + (position + 0.5) * (high - low) / width
        inside = interval.contains(centre) or interval.closure().contains(centre)
        if count == 0:
            char = "─" if inside else " "
        else:
            level = max(1, round(math.sqrt(count / peak) * (len(BARS) - 1)))
            char = BARS[level]
        bars.append(char, style="green" if inside else "red")

    def column(value: float) -> int:
        return min(width - 1, max(0, round((value - low) / (high - low) * (width - 1))))

    marks = [" "] * width
    placed: list[tuple[int, str]] = []
    previous = -1
    for end, glyph in ((interval.low, "├"), (interval.high, "┤")):
        if math.isfinite(end):
            position = max(column(end), previous + 1)
            if position < width:
                marks[position] = glyph
                placed.append((position, format_bound(end)))
                previous = position
    indent = " " * 14
    axis = Text(indent + _labels(placed, width + 12), style="dim")
    mark_line = Text(indent + "".join(marks).rstrip(), style="dim")
    left, right = _num(low), _num(high)
    scale = Text(indent + left + " " * max(1, width - len(left) - len(right)) + right, style="dim")
    return [axis, mark_line, bars, scale]


def _labels(placed: list[tuple[int, str]], width: int) -> str:
    """Labels centred under their columns, pushed right rather than overlapping."""
    line = ""
    for position, label in placed:
        start = max(position - len(label) // 2, len(line) + 1 if line else 0)
        line = line.ljust(start) + label
    return line[:width]


def _shape(shape: tuple[int | None, ...]) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def _num(value: float | None) -> str:
    if value is None:
        return "?"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.4g}"


def _signed(value: float) -> str:
    """ + 2.0 or - 2.0, so that the pasted line reads as a person would write it."""
    return f" - {_code(-value)}" if value < 0 else f" + {_code(value)}"


def _code(value: float) -> str:
    """A number as Python source: exact enough to paste, short when it can be."""
    if float(value).is_integer():
        return f"{value:.1f}"
    return f"{value:.8g}"

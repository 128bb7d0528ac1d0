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
from vaecheck.formats.model_text import (
    concise_model_lines,
    model_findings_section,
    render_model_only,
    verdict,
)
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
        if not run.single or run.unusable:
            console, buffer = _console(options.color, options.width)
            if not run.single:
                _run_verdict(console, run)
            # The errors went to stderr as they happened; the closing lines repeat them, so
            # the report (or the file written with --output) says what was not checked.
            for pair in run.unusable:
                line = Text(f"{pair.model} × {pair.data}: ", style="bold")
                line.append(pair.problem)
                _prose(console, Text("error  ", style="bold red"), line)
            parts.append(_strip_trailing_spaces(buffer.getvalue()))
        return "".join(parts)


def concise_lines(report: Report) -> str:
    """One line per finding, as linters print them; nothing at all for a clean pair."""
    data = f" (data: {report.data})" if report.data is not None else ""
    return "".join(
        f"{report.model}: {finding.code} {finding.severity.label}: {output.label}: "
        f"{finding.message}{data}\n"
        for output in report.outputs
        for finding in output.findings
    ) + concise_model_lines(report)


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
        line.append(f"; {len(run.unusable)} could not be checked:", style="bold red")
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
        force_jupyter=False,  # in a notebook, rich would display the text instead of returning it
    )
    return console, buffer


def render_text(report: Report, *, color: bool = False, width: int = 100) -> str:
    console, buffer = _console(color, width)
    if report.model_only:
        render_model_only(console, report)
        return "\n".join(TRAILING_SPACE.sub(r"\1", line) for line in buffer.getvalue().split("\n"))
    _header(console, report)
    if report.probe is not None:
        _probe_header(console, report.probe)
    _verdict(console, report)
    model_findings_section(console, report)
    for output in report.outputs:
        _output(console, report, output, saved=report.saved_rescale is not None)
    for name, why in report.skipped_outputs:
        _prose(console, Text("skipped output ", style="dim"), Text(f"{name}: {why}", style="dim"))
    for note in report.notes:
        _prose(console, Text("note: ", style="dim"), Text(note, style="dim"))
    if report.saved_rescale is not None:
        _prose(
            console,
            Text("saved ", style="bold green"),
            Text(
                f"the fix's scale, offset, inverse_scale and inverse_offset to "
                f"{report.saved_rescale}"
            ),
        )
    if report.stats.feature_note:
        _prose(console, Text("note: ", style="dim"), Text(report.stats.feature_note, style="dim"))
    return _strip_trailing_spaces(buffer.getvalue())


def _strip_trailing_spaces(text: str) -> str:
    return "\n".join(TRAILING_SPACE.sub(r"\1", line) for line in text.split("\n"))


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
    missing = report.missing_chunks
    if missing is not None:
        console.print(
            Text(
                f"missing chunks: {missing.missing:,} of {missing.chunks:,} are not in the store "
                f"and read as the fill value {_num(missing.fill_value)}",
                style="yellow",
            )
        )
    if report.rescaling is not None:
        console.print(Text(f"rescaled: {report.rescaling.describe()}; the figures below are rescaled values", style="dim"))
    if report.skipped_files:
        count = len(report.skipped_files)
        first, why = report.skipped_files[0]
        more = f", and {count - 1} more" if count > 1 else ""
        console.print(
            Text(f"skipped {count} unreadable file{'s' if count != 1 else ''} (--skip-bad): {first}: {why}{more}", style="yellow")
        )
    console.print()


def _verdict(console: Console, report: Report) -> None:
    verdict(console, report, "✓ every output can reach every data value")


def _output(console: Console, report: Report, output: OutputResult, saved: bool = False) -> None:
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
        _prose(console, Text("  note        ", style="dim"), Text(note, style="dim"))
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
    _fix(console, output.fix, saved=saved)
    # Findings whose own fix is not the one shown above: each gets its line, under its code.
    for finding in output.findings:
        if finding.fix is not None and finding.fix != output.fix and finding.fix.kind != "none":
            _fix(console, finding.fix, label=finding.code, saved=saved)


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
    line = Text("; ".join(parts), style="dim")
    line.append(
        f"  ({output.features_outside:,} of {features.count:,} {features.axis_name}s reach "
        f"outside)",
        style="dim",
    )
    _prose(console, Text(f"  worst {features.axis_name}s  ", style="dim"), line)


def _percent(fraction: float) -> str:
    from vaecheck.checks.outside_codomain import percent

    return percent(fraction)


def _fix(console: Console, fix: Fix, label: str | None = None, saved: bool = False) -> None:
    if fix.kind == "none":
        return
    head = Text("fix  ", style="bold green")
    if label:
        head.append(f"{label}  ", style="bold")
    _prose(console, head, Text(fix.summary, style="bold green"))
    if fix.loss:
        _code_line(console, f"     model.compile(loss={fix.loss}, ...)")
    rescale = fix.rescale
    if fix.kind in ("change-activation", "change-loss"):
        # The numbers belong to the alternative: announce it first.
        if fix.alternative:
            colon = ":" if rescale is not None else ""
            _alternative(console, f"{fix.alternative}{colon}")
        if rescale is not None:
            _rescale_lines(console, rescale, fix.framework)
    else:
        if rescale is not None:
            _rescale_lines(console, rescale, fix.framework)
        if fix.alternative:
            _alternative(console, fix.alternative)
    if fix.per_feature is not None:
        _feature_rescale_lines(console, fix.per_feature, saved)
    console.print()


def _feature_rescale_lines(console: Console, rescale: FeatureRescale, saved: bool = False) -> None:
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
    _code_line(console, f"     x_model = x * scale + offset    # scale, offset: one value per {axis}")
    _code_line(console, "     x       = x_model * inverse_scale + inverse_offset")
    _code_line(console, f"     scale  = {_vector_preview(rescale.scale)}")
    _code_line(console, f"     offset = {_vector_preview(rescale.offset)}")
    if not saved:  # a run that saved them says where, below
        console.print(
            Text("     --save-rescale FILE.npz (or .json) writes all four vectors", style="dim")
        )


def _vector_preview(values: np.ndarray, shown: int = 4) -> str:
    head = ", ".join(_code(float(v)) for v in values[:shown])
    return f"[{head}, … ({values.size - shown:,} more)]" if values.size > shown else f"[{head}]"


def _rescale_lines(console: Console, rescale: Rescale, framework: str | None = None) -> None:
    phrase = describe_rescale(rescale)
    comment = f"    # = {phrase}" if phrase else ""
    _code_line(console, f"     x_model = x * {_code(rescale.scale)}{_signed(rescale.offset)}{comment}")
    _code_line(
        console,
        f"     x       = x_model * {_code(rescale.inverse_scale)}{_signed(rescale.inverse_offset)}"
        "    # and back",
    )
    if framework not in (None, "keras"):  # an ONNX model from another framework
        return
    _code_line(
        console,
        f"     keras.layers.Rescaling(scale={_code(rescale.scale)}, offset={_code(rescale.offset)})"
        "    # the same, as a preprocessing layer",
    )


CODE_SPAN = re.compile(r"keras\.layers\.\w+\([^()]*\)")
COMMENT = "    # "


def _alternative(console: Console, text: str) -> None:
    """An alternative fix; code it names (a layer to append) is never broken across lines."""
    indent = "     "
    span = CODE_SPAN.search(text)
    if span is None:
        _prose(console, Text(indent), Text(text, style="dim"))
    elif len(indent) + len(text) <= console.width:
        console.print(Text(indent + text, style="dim"), soft_wrap=True)
    else:
        # Too wide: the sentence around the code, then the code on a line of its own.
        before, after = text[: span.start()].rstrip(), text[span.end() :].strip()
        sentence = f"{before} {after}".strip() if after else before
        _prose(console, Text(indent), Text(sentence.rstrip(":") + ":", style="dim"))
        _code_line(console, indent + span.group())


def _code_line(console: Console, line: str) -> None:
    """A line to copy and paste, never wrapped: at a narrow terminal its trailing comment moves
    to a line of its own above it, and code longer than the width runs past the edge."""
    code, separator, comment = line.partition(COMMENT)
    if separator and len(line) > console.width:
        indent = code[: len(code) - len(code.lstrip())]
        console.print(Text(f"{indent}# {comment}", style="dim"), soft_wrap=True)
        line = code
    console.print(line, soft_wrap=True, highlight=False)


def _prose(console: Console, label: Text, text: Text) -> None:
    """`label` then `text`, which wraps under itself rather than back to column 0."""
    grid = Table.grid()
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    grid.add_row(label, text)
    console.print(grid)


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

"""GitHub Actions workflow commands: one annotation per finding, at the model file.

`::error file=models/vae.keras,title=VC001 data-outside-codomain::message`. GitHub reads a
command to the end of its line and splits properties at `,` and `:`, so messages escape `%`,
CR and LF, and property values escape `,` and `:` as well.
"""

from __future__ import annotations

import os

from vaecheck.formats import RenderOptions, path_in_source, source_root
from vaecheck.report import CheckRun, Finding, OutputResult, Report, Severity

COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


class GithubFormat:
    def render(self, run: CheckRun, options: RenderOptions) -> str:
        lines = []
        for report in run.reports:
            lines += [
                annotation(report, output, finding)
                for output in report.outputs
                for finding in output.findings
            ]
            # Findings about the model file itself, after its outputs': at the file.
            lines += [
                workflow_command(
                    COMMAND[finding.severity],
                    finding.message,
                    file=annotated_file(report.model),
                    title=f"{finding.code} {finding.id}",
                )
                for finding in report.model_findings
            ]
        lines += [
            workflow_command("error", pair.problem, file=annotated_file(pair.location), title="vaecheck: unusable input")
            for pair in run.unusable
        ]
        return "".join(line + "\n" for line in lines)


def annotation(report: Report, output: OutputResult, finding: Finding) -> str:
    message = f"{output.label} against {report.data_description}: {finding.message}"
    fix = output.fix
    if fix.kind != "none":
        lines = [f"fix: {fix.summary}"]
        numbers = []
        if fix.rescale is not None:
            rescale = fix.rescale
            numbers = [
                f"  x_model = {_affine('x', rescale.scale, rescale.offset)}",
                f"  x = {_affine('x_model', rescale.inverse_scale, rescale.inverse_offset)}",
            ]
        # As in the text report: after a change of activation, the numbers are the alternative's.
        if fix.kind == "change-activation":
            lines += [f"{fix.alternative}:"] if fix.alternative else []
            lines += numbers
        else:
            lines += numbers
            lines += [fix.alternative] if fix.alternative else []
        message += "\n" + "\n".join(lines)
    return workflow_command(
        COMMAND[finding.severity],
        message,
        file=annotated_file(report.model),
        title=f"{finding.code} {finding.id}",
    )


def annotated_file(path: str) -> str:
    """GitHub places an annotation by its path in the checkout, wherever vaecheck ran from."""
    return path_in_source(path, source_root()) or os.path.abspath(path)


def _affine(name: str, scale: float, offset: float) -> str:
    sign = "-" if offset < 0 else "+"
    return f"{name} * {scale:.8g} {sign} {abs(offset):.8g}"


def workflow_command(command: str, message: str, **properties: str) -> str:
    rendered = ",".join(f"{name}={escape_property(value)}" for name, value in properties.items())
    return f"::{command} {rendered}::{escape_data(message)}" if rendered else f"::{command}::{escape_data(message)}"


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")

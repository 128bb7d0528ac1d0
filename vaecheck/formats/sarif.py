"""SARIF 2.1.0, for code scanning: one rule per registered check, one result per finding.

Results sit on the model file (relative to the checkout on GitHub Actions, else to the cwd,
against %SRCROOT%) with a logical location
naming the output layer; the data file is a related location. A pair that could not be checked
becomes a tool execution notification, and the invocation is marked unsuccessful.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

from vaecheck import __version__
from vaecheck.checks import REGISTRY, rule_doc
from vaecheck.formats import RenderOptions, path_in_source, source_root
from vaecheck.formats.json import finite_or_null
from vaecheck.report import CheckRun, Finding, OutputResult, Report, Severity

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
SOURCE_ROOT = "%SRCROOT%"


class SarifFormat:
    def render(self, run: CheckRun, options: RenderOptions) -> str:
        document = finite_or_null(sarif_log(run))
        return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def sarif_log(run: CheckRun) -> dict[str, Any]:
    rule_index = {code: position for position, code in enumerate(REGISTRY)}
    results = []
    for report in run.reports:
        results += [
            _result(report, output, finding, rule_index[finding.code])
            for output in report.outputs
            for finding in output.findings
        ]
        results += [
            _model_result(report, finding, rule_index[finding.code])
            for finding in report.model_findings
        ]
    notifications = [
        {
            "level": "error",
            "message": {"text": pair.problem},
            "locations": [{"physicalLocation": {"artifactLocation": artifact_location(pair.location)}}],
        }
        for pair in run.unusable
    ]
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "vaecheck",
                        "version": __version__,
                        "rules": [_rule(code) for code in REGISTRY],
                    }
                },
                "invocations": [
                    {
                        "executionSuccessful": not run.unusable,
                        "toolExecutionNotifications": notifications,
                    }
                ],
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }


def _rule(code: str) -> dict[str, Any]:
    module = REGISTRY[code]
    doc = rule_doc(module)
    return {
        "id": code,
        "name": module.ID,
        "shortDescription": {"text": module.SUMMARY},
        "fullDescription": {"text": doc},
        "help": {"text": doc, "markdown": doc},
        "defaultConfiguration": {"level": LEVEL[module.SEVERITY]},
    }


def _result(report: Report, output: OutputResult, finding: Finding, index: int) -> dict[str, Any]:
    text = f"{output.label} against {report.data_description}: {finding.message}"
    if output.fix.kind != "none":
        text += f". Fix: {output.fix.summary}"
    return {
        "ruleId": finding.code,
        "ruleIndex": index,
        "level": LEVEL[finding.severity],
        "message": {"text": text},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": artifact_location(report.model),
                    # Code scanning places a result only with a line; a model file is
                    # binary, so the whole file is meant and line 1 stands for it.
                    "region": {"startLine": 1},
                },
                "logicalLocations": [
                    {"name": output.name, "fullyQualifiedName": output.label, "kind": "member"}
                ],
            }
        ],
        "relatedLocations": [
            {
                "id": 1,
                "physicalLocation": {"artifactLocation": artifact_location(report.data)},
                "message": {"text": f"the data: {report.data_description}"},
            }
        ]
        if report.data is not None
        else [],
        # Our own fingerprint, so that code scanning does not try to hash lines of a binary file.
        "partialFingerprints": {"vaecheckFinding/v1": _fingerprint(report, output, finding)},
        "properties": {
            "output": output.name,
            "data": report.data,
            "fix": output.fix.kind,
        },
    }


def _model_result(report: Report, finding: Finding, index: int) -> dict[str, Any]:
    """A finding about the model file itself (VC3xx): at the file, named by its place inside."""
    where = str(finding.evidence.get("where") or "")
    identity = "\0".join((finding.code, report.model, report.data or "", where, finding.message))
    return {
        "ruleId": finding.code,
        "ruleIndex": index,
        "level": LEVEL[finding.severity],
        "message": {"text": finding.message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": artifact_location(report.model),
                    "region": {"startLine": 1},
                },
                "logicalLocations": [
                    {"name": where or "model", "fullyQualifiedName": where or "model", "kind": "member"}
                ],
            }
        ],
        "partialFingerprints": {
            "vaecheckFinding/v1": hashlib.sha256(identity.encode()).hexdigest()[:32]
        },
        "properties": {"where": where},
    }


def artifact_location(path: str) -> dict[str, str]:
    """Inside the source root: a relative URI against %SRCROOT%; elsewhere, an absolute file URI."""
    relative = path_in_source(path, source_root())
    if relative is None:
        return {"uri": Path(os.path.abspath(path)).as_uri()}
    return {"uri": quote(relative), "uriBaseId": SOURCE_ROOT}


def _fingerprint(report: Report, output: OutputResult, finding: Finding) -> str:
    identity = "\0".join((finding.code, report.model, report.data or "", output.name))
    return hashlib.sha256(identity.encode()).hexdigest()[:32]

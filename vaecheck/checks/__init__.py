"""The checks: one module each, with its code, id, default severity and documentation.

Adding a check is one module and one line in REGISTRY.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import ModuleType

from vaecheck.checks import (
    nonfinite_data,
    observed_outside_codomain,
    observed_range_narrow,
    on_open_end,
    outside_codomain,
    unknown_codomain,
)
from vaecheck.checks.base import OutputFacts, Problem
from vaecheck.report import Finding, Severity

REGISTRY: dict[str, ModuleType] = {
    module.CODE: module
    for module in (
        outside_codomain,
        on_open_end,
        nonfinite_data,
        unknown_codomain,
        observed_outside_codomain,
        observed_range_narrow,
    )
}


def run_checks(
    facts: OutputFacts,
    severities: Mapping[str, Severity] | None = None,
) -> Iterator[Finding]:
    """Run every registered check on one output; the engine, not the check, stamps each result."""
    for code, module in REGISTRY.items():
        configured = (severities or {}).get(code, module.SEVERITY)
        for problem in module.check(facts):
            severity = problem.severity if problem.severity is not None else configured
            if severities and code in severities:
                severity = severities[code]
            yield Finding(
                code=code,
                id=module.ID,
                severity=severity,
                output=facts.output,
                message=problem.message,
                evidence=dict(problem.evidence),
            )


def rule_doc(module: ModuleType) -> str:
    return (module.__doc__ or "").strip()


__all__ = ["REGISTRY", "OutputFacts", "Problem", "run_checks", "rule_doc"]

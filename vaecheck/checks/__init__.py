"""The checks: one module each, with its code, id, default severity and documentation.

Adding a check is one module and one line in REGISTRY.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping
from types import ModuleType

from vaecheck.checks import (
    binary_targets,
    categorical_targets,
    hinge_targets,
    logits_on_squashed,
    negative_targets,
    nonfinite_data,
    observed_outside_codomain,
    observed_range_narrow,
    on_open_end,
    outside_codomain,
    probabilities_unbounded,
    softmax_multilabel,
    softmax_one_unit,
    sparse_labels,
    unknown_codomain,
)
from vaecheck.checks.base import OutputFacts, Problem, StatsRequest
from vaecheck.codomain import Codomain
from vaecheck.losses import LossSpec
from vaecheck.report import Finding, Severity
from vaecheck.shapes import Shape

REGISTRY: dict[str, ModuleType] = {
    module.CODE: module
    for module in (
        outside_codomain,
        on_open_end,
        nonfinite_data,
        unknown_codomain,
        binary_targets,
        categorical_targets,
        sparse_labels,
        negative_targets,
        hinge_targets,
        logits_on_squashed,
        probabilities_unbounded,
        softmax_one_unit,
        softmax_multilabel,
        observed_outside_codomain,
        observed_range_narrow,
    )
}


def statistics_needed(loss: LossSpec | None, codomain: Codomain, shape: Shape | None) -> StatsRequest:
    """What the checks need measured for one output, beyond the statistics every run takes.

    A check that needs more than the basics defines `statistics(loss, codomain, shape)`; the
    engine asks before the single pass over the data, so nothing is measured that no check reads.
    """
    return StatsRequest.union(
        module.statistics(loss, codomain, shape)
        for module in REGISTRY.values()
        if hasattr(module, "statistics")
    )


def run_checks(
    facts: OutputFacts,
    severities: Mapping[str, Severity] | None = None,
    enabled: Collection[str] | None = None,
) -> Iterator[Finding]:
    """Run the enabled checks (all by default) on one output; the engine stamps each result."""
    for code, module in REGISTRY.items():
        if enabled is not None and code not in enabled:
            continue
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
                fix=problem.fix,
            )


def rule_doc(module: ModuleType) -> str:
    return (module.__doc__ or "").strip()


def code_for(name: str) -> str | None:
    """The code of the check named by code or id, in any case (`vc001`, `Data-Outside-Codomain`)."""
    wanted = name.strip()
    if wanted.upper() in REGISTRY:
        return wanted.upper()
    for code, module in REGISTRY.items():
        if wanted.lower() == module.ID:
            return code
    return None


def unknown_codes(codes: Iterable[str]) -> list[str]:
    return [code for code in codes if code_for(code) is None]


def enabled_codes(
    select: Iterable[str] | None = None, ignore: Iterable[str] | None = None
) -> frozenset[str]:
    """The codes to run: `select` (all when None) less `ignore`, each named by code or id.
    Raises ValueError on an unknown name."""
    selected = list(REGISTRY) if select is None else list(select)
    ignored = list(ignore or ())
    unknown = unknown_codes([*selected, *ignored])
    if unknown:
        raise ValueError(
            f"unknown check code {', '.join(repr(c) for c in unknown)} "
            f"(known: {', '.join(REGISTRY)})"
        )
    return frozenset(map(code_for, selected)) - frozenset(map(code_for, ignored))  # type: ignore[arg-type]


__all__ = [
    "REGISTRY",
    "OutputFacts",
    "Problem",
    "StatsRequest",
    "code_for",
    "enabled_codes",
    "rule_doc",
    "run_checks",
    "statistics_needed",
    "unknown_codes",
]

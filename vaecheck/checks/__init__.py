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
from vaecheck.checks.safety import (
    custom_objects,
    external_model_layer,
    external_vocabulary,
    foreign_reference,
    lambda_bytecode,
    unsafe_keras_function,
    weights_hazard,
)
from vaecheck.checks.base import OutputFacts, Problem, StatsRequest
from vaecheck.codomain import Codomain
from vaecheck.losses import LossSpec
from vaecheck.report import Finding, Severity
from vaecheck.safety import ModelFacts
from vaecheck.shapes import Shape

MODEL_OUTPUT = ""  # the `output` of a finding about the whole model file, not one output

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
        lambda_bytecode,
        foreign_reference,
        unsafe_keras_function,
        external_model_layer,
        external_vocabulary,
        custom_objects,
        weights_hazard,
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


def is_model_check(module: ModuleType) -> bool:
    """A check of the model file as a whole (the VC3xx safety checks), not of one output."""
    return getattr(module, "SCOPE", "output") == "model"


def needs_data(module: ModuleType) -> bool:
    """Whether an output check compares data; those that do not also run on a model alone."""
    return getattr(module, "NEEDS_DATA", True)


def run_checks(
    facts: OutputFacts,
    severities: Mapping[str, Severity] | None = None,
    enabled: Collection[str] | None = None,
) -> Iterator[Finding]:
    """Run the enabled checks (all by default) on one output; the engine stamps each result.

    Without data (`facts.stats` None) only the checks that need none run.
    """
    for code, module in REGISTRY.items():
        if enabled is not None and code not in enabled or is_model_check(module):
            continue
        if facts.stats is None and needs_data(module):
            continue
        yield from _stamped(code, module, module.check(facts), facts.output, severities)


def run_model_checks(
    facts: ModelFacts,
    severities: Mapping[str, Severity] | None = None,
    enabled: Collection[str] | None = None,
) -> Iterator[Finding]:
    """Run the enabled checks of the model file as a whole (VC3xx), with or without data."""
    for code, module in REGISTRY.items():
        if enabled is not None and code not in enabled or not is_model_check(module):
            continue
        yield from _stamped(code, module, module.check(facts), MODEL_OUTPUT, severities)


def _stamped(
    code: str,
    module: ModuleType,
    problems: Iterable[Problem],
    output: str,
    severities: Mapping[str, Severity] | None,
) -> Iterator[Finding]:
    configured = (severities or {}).get(code, module.SEVERITY)
    for problem in problems:
        severity = problem.severity if problem.severity is not None else configured
        if severities and code in severities:
            severity = severities[code]
        yield Finding(
            code=code,
            id=module.ID,
            severity=severity,
            output=output,
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
    "is_model_check",
    "needs_data",
    "rule_doc",
    "run_checks",
    "run_model_checks",
    "statistics_needed",
    "unknown_codes",
]

"""Custom classes and functions: the model needs its author's code to load.

A layer, activation or loss that is not Keras's own is saved by name only: a class of the
training script (`"module": null`), a registered object (`"registered_name": "mypkg>Sampling"`),
or a custom function (`{"module": "builtins", "class_name": "function", "config": "my_loss"}`
when the name is not one of Keras's). Loading the file needs that code, imported by the loader
(`custom_objects=`, or a package that registers it). Nothing here is dangerous in itself; it
is worth knowing in CI that a model depends on code outside the file, and which. The range of
such a layer is unknown to vaecheck too (VC004).

Failing (info): a VAE with a custom `Sampling` layer.
Passing: a model built from Keras layers and functions only.
"""

from __future__ import annotations

from collections.abc import Iterator

from vaecheck.checks.base import Problem
from vaecheck.checks.safety import evidence, place, reference_text
from vaecheck.report import Severity
from vaecheck.safety import ModelFacts, custom

CODE = "VC306"
ID = "custom-object"
SEVERITY = Severity.INFO
SUMMARY = "a custom class or function: loading the file needs code outside it"
SCOPE = "model"


def check(facts: ModelFacts) -> Iterator[Problem]:
    for reference in facts.references:
        if not custom(reference):
            continue
        registered = (
            f" registered as '{reference.registered_name}'"
            if reference.kind == "class" and ">" in (reference.registered_name or "")
            else ""
        )
        yield Problem(
            message=(
                f"{place(reference.where, reference.layer)}: custom {reference_text(reference)}"
                f"{registered}; loading the model needs its code"
            ),
            evidence=evidence(
                reference.where,
                reference.layer,
                kind=reference.kind,
                name=reference.name,
                module=reference.module,
                registered_name=reference.registered_name,
            ),
        )

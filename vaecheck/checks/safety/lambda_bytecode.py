"""A Lambda layer holding Python bytecode, which Keras runs when it loads the model.

Keras stores a Lambda's Python function as marshalled bytecode: `{"class_name": "__lambda__",
"config": {"code": ...}}` in Keras 3, `"function": [code, defaults, closure]` with
`"function_type": "lambda"` in Keras 2 and tf.keras (`.h5`, SavedModel metadata). Loading it
unmarshals and runs that code. Safe mode refuses it for `.keras` files (CVE-2024-3660); for
legacy `.h5` files Keras ignored safe mode until 3.11.3 (CVE-2025-9905), and outside a safe-mode
scope (`Model.from_config`, `clone_model`) until 3.15.0 (CVE-2026-12481). Anyone who loads the
file with safe mode off, or with an older Keras, runs whatever the bytecode does.

vaecheck never unmarshals the code: it reports where it is.

Failing: `keras.layers.Lambda(lambda x: 2 * x)` saved in the model.
Passing: the same computation with built-in layers (`Rescaling(2.0)`), or a registered
custom layer whose code the loader imports itself.
"""

from __future__ import annotations

from collections.abc import Iterator

from vaecheck.checks.base import Problem
from vaecheck.checks.safety import evidence, place
from vaecheck.report import Severity
from vaecheck.safety import ModelFacts

CODE = "VC301"
ID = "lambda-bytecode"
SEVERITY = Severity.ERROR
SUMMARY = "a Lambda holds Python bytecode that Keras runs when loading the file"
SCOPE = "model"


def check(facts: ModelFacts) -> Iterator[Problem]:
    for found in facts.lambdas:
        if found.encoding == "keras3":
            why = (
                "Keras runs it on loading with safe mode off, and outside a safe-mode scope "
                "before 3.15.0 (CVE-2026-12481)"
            )
            cve, fixed = "CVE-2024-3660", "refused by safe mode since Keras 2.13"
        else:
            why = (
                "Keras runs it on loading an .h5 even with safe mode on before 3.11.3 "
                "(CVE-2025-9905), and with safe mode off in any version"
            )
            cve, fixed = "CVE-2025-9905", "3.11.3"
        yield Problem(
            message=f"{place(found.where, found.layer)}: a Lambda holding marshalled Python bytecode; {why}",
            evidence=evidence(found.where, found.layer, encoding=found.encoding, cve=cve, fixed_in=fixed),
        )

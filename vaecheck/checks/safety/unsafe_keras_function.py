"""A Keras function that reaches the file system or the network, or turns safe mode off.

Keras's own namespace holds functions that are harmful when a model file can call them:
`keras.utils.get_file` downloads or overwrites files, `keras.config.enable_unsafe_deserialization`
turns safe mode off so that a later Lambda's bytecode runs, `keras.models.load_model` loads
another file with options of the attacker's choosing. Before 3.11.0 a configuration could call
them through a Lambda's `function` and `arguments`, or as any object Keras deserializes
(CVE-2025-8747, CVE-2025-9906); 3.11.0 refuses them (`NON_MODELING_APIS`).

Failing: a Lambda `{"function": {"module": "keras.utils", "class_name": "function",
"config": "get_file"}, "arguments": {"origin": "https://..."}}`.
Passing: Lambdas and layers that compute, and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterator

from vaecheck.checks.base import Problem
from vaecheck.checks.safety import evidence, place
from vaecheck.report import Severity
from vaecheck.safety import UNSAFE_KERAS_FUNCTIONS, ModelFacts, is_keras_module

CODE = "VC303"
ID = "unsafe-keras-function"
SEVERITY = Severity.ERROR
SUMMARY = "the file calls a Keras function that reads, writes or downloads files, or disables safe mode"
SCOPE = "model"

CVE = {"enable_unsafe_deserialization": "CVE-2025-9906", "load_model": "CVE-2025-9906"}


def check(facts: ModelFacts) -> Iterator[Problem]:
    for reference in facts.references:
        name = reference.name.rsplit(">", 1)[-1]
        if name not in UNSAFE_KERAS_FUNCTIONS:
            continue
        module = reference.module
        if module is not None and module != "builtins" and not is_keras_module(module):
            continue  # outside Keras altogether: VC302
        cve = CVE.get(name, "CVE-2025-8747")
        yield Problem(
            message=(
                f"{place(reference.where, reference.layer)}: calls Keras's {name}, which "
                f"{_what(name)}; Keras before 3.11.0 calls it on loading, even in safe mode ({cve})"
            ),
            evidence=evidence(
                reference.where, reference.layer, function=name, module=module, cve=cve, fixed_in="3.11.0"
            ),
        )


def _what(name: str) -> str:
    if name == "enable_unsafe_deserialization":
        return "turns safe mode off for what is loaded next"
    if name == "get_file":
        return "downloads a file from a URL and writes it to disk"
    if name in ("load_model", "load_weights"):
        return "loads another file, with the options the configuration gives"
    return "reaches the file system or changes how Keras loads"

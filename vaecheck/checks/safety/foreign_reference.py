"""A class or function from outside Keras, which Keras imports or calls when it loads the model.

Every object in a Keras configuration names what to build: `module`, `class_name`,
`registered_name`, or a function by name. Keras before 3.9 imported any `module` named there
and called what it found with arguments from the file (CVE-2025-1550): `{"module": "os",
"class_name": "system"}` runs a shell command on load, even with safe mode on. A function
`{"module": "builtins", "config": "exec"}` that is not one of Keras's own fell through to
Python's builtins the same way.

What a reference resolves to is judged, not the `module` string alone: Keras itself writes
`{"module": "builtins", "class_name": "function", "config": "tanh"}` for
`keras.activations.tanh` and every other ordinary function; those are benign. So are the
user's own registered objects (`"registered_name": "mypkg>Sampling"`), which VC306 lists.
Reported here: modules of the Python standard library (`os`, `subprocess`, `importlib`, ...),
Python's builtins (`exec`, `eval`, `open`, ...), and third-party modules named without a
registration.

A third-party module may be the user's own code, saved unregistered: register it
(`@keras.saving.register_keras_serializable(package=...)`) and it becomes a VC306 custom
object. `--probe` still loads such a file with `--custom-objects`; it does not load one naming
the standard library or Python's builtins.

Failing: a layer `{"module": "subprocess", "class_name": "function", "config": "check_call"}`.
Passing: `{"module": "keras.layers", "class_name": "Dense", ...}`.
"""

from __future__ import annotations

from collections.abc import Iterator

from vaecheck.checks.base import Problem
from vaecheck.checks.safety import evidence, place, reference_text
from vaecheck.report import Severity
from vaecheck.safety import ModelFacts, iter_foreign, origin

CODE = "VC302"
ID = "foreign-reference"
SEVERITY = Severity.ERROR
SUMMARY = "the file names a module or function outside Keras, which Keras imports or calls"
SCOPE = "model"


def check(facts: ModelFacts) -> Iterator[Problem]:
    for reference in iter_foreign(facts):
        yield Problem(
            message=(
                f"{place(reference.where, reference.layer)}: {reference_text(reference)} resolves "
                f"to {reference.resolves_to}, outside Keras; Keras before 3.9.0 imports and calls "
                "it on loading, even in safe mode (CVE-2025-1550)"
            ),
            evidence=evidence(
                reference.where,
                reference.layer,
                module=reference.module,
                name=reference.name,
                resolves_to=reference.resolves_to,
                origin=origin(reference),
                cve="CVE-2025-1550",
                fixed_in="3.9.0",
            ),
        )

"""A lookup layer whose vocabulary is a path or URL, which Keras reads when it loads the model.

`StringLookup`, `IntegerLookup` and `TextVectorization` accept a vocabulary as a file name.
Saved so, the configuration keeps the path, and Keras reads it on loading, through
`tf.io.gfile`, which also reaches `gs://`, `http://` and other remote locations: reading any
local file into the model, or a request to any server (CVE-2025-12058). Keras 3.12.0 stores the
vocabulary inside the archive and refuses an external one in safe mode.

Failing: `StringLookup(vocabulary="/etc/passwd")` or `vocabulary="https://host/vocab.txt"`.
Passing: `StringLookup(vocabulary=["a", "b", "c"])`, saved inside the file.
"""

from __future__ import annotations

from collections.abc import Iterator

from vaecheck.checks.base import Problem
from vaecheck.checks.safety import evidence, place
from vaecheck.report import Severity
from vaecheck.safety import ModelFacts

CODE = "VC305"
ID = "external-vocabulary"
SEVERITY = Severity.ERROR
SUMMARY = "a lookup layer reads its vocabulary from a path or URL when the file is loaded"
SCOPE = "model"


def check(facts: ModelFacts) -> Iterator[Problem]:
    for where, layer, path in facts.vocabularies:
        remote = "://" in path
        yield Problem(
            message=(
                f"{place(where, layer)}: the vocabulary is read from "
                f"{'the URL' if remote else 'the path'} '{path}' when the model is loaded "
                "(CVE-2025-12058; refused in safe mode since Keras 3.12.0)"
            ),
            evidence=evidence(where, layer, path=path, cve="CVE-2025-12058", fixed_in="3.12.0"),
        )

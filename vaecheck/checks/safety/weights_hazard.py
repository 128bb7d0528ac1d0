"""A weights file that makes Keras read beyond it, or allocate memory without bound, on loading.

Keras reads every variable of the model's HDF5 weights (`model.weights.h5` in a `.keras`
archive, the `.h5` file itself). HDF5 lets a dataset keep its values in other files (external
storage), a name point into another file or elsewhere in this one (external and soft links),
and a dataset be assembled from others (virtual): Keras then reads files of the attacker's
choosing into the weights (CVE-2026-1669; external storage refused since 3.14.0, 3.13.2 and
3.12.1, links and virtual datasets only since 3.15.0). A dataset may also declare a shape far
beyond the bytes it stores, and Keras allocates the declared size (CVE-2026-0897; guarded on
load since 3.15.0).

vaecheck scans the whole file's structure, metadata only: no link is followed, no value read.
A weights file it cannot scan to the end (damaged, unreadable, encrypted in the archive) is a
warning: what lies past that point was not looked at.

Failing: `model.weights.h5` with `layers/dense/vars/0` an `h5py.ExternalLink`.
Passing: a weights file as Keras writes it.
"""

from __future__ import annotations

from collections.abc import Iterator

from vaecheck.checks.base import Problem
from vaecheck.checks.safety import evidence
from vaecheck.report import Severity
from vaecheck.safety import ModelFacts

CODE = "VC307"
ID = "weights-file-hazard"
SEVERITY = Severity.ERROR
SUMMARY = "the weights file has links, external storage or a shape bomb that Keras follows"
SCOPE = "model"

CVE = {
    "external-storage": ("CVE-2026-1669", "3.14.0 (3.13.2, 3.12.1)"),
    "external-link": ("CVE-2026-1669", "3.15.0"),
    "soft-link": ("CVE-2026-1669", "3.15.0"),
    "virtual": ("CVE-2026-1669", "3.15.0"),
    "shape-bomb": ("CVE-2026-0897", "3.15.0"),
}


def check(facts: ModelFacts) -> Iterator[Problem]:
    where_file = "model.weights.h5" if facts.model_format in ("keras", "keras-dir") else "the weights"
    if facts.weights_note:
        yield Problem(
            message=(
                f"{facts.weights_note}: links, external storage or a shape bomb in it may have "
                "gone unseen"
            ),
            evidence=evidence(where_file, None, kind="not-scanned"),
            severity=Severity.WARNING,
        )
    for hazard in facts.weights_hazards:
        cve, fixed = CVE.get(hazard.kind, (None, None))
        cited = f" ({cve}; Keras refuses it on loading since {fixed})" if cve else ""
        yield Problem(
            message=f"{where_file} {hazard.where}: {hazard.detail}{cited}",
            evidence=evidence(
                f"{where_file}:{hazard.where}", None, kind=hazard.kind, cve=cve, fixed_in=fixed
            ),
        )

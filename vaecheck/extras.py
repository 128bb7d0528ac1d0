"""Optional features and the command that installs what they need.

vaecheck is not published on a package index yet, so `pip install 'vaecheck[tensorflow]'` does
not work. The command printed for a missing extra is the one that works for this installation:
pip records where a package came from (PEP 610, `direct_url.json`), so a clone installed with
`pip install -e .` gets `pip install -e '/path/to/clone[tensorflow]'`, and an install from a
repository URL gets the same URL and commit with the extra added.

Every feature that needs an optional package raises `missing_extra(extra, feature)` when the
import fails; the extra is also listed in pyproject.toml's `[project.optional-dependencies]`.
"""

from __future__ import annotations

import json
import os
import shlex
from urllib.parse import unquote, urlparse

from vaecheck.errors import VaecheckError

DISTRIBUTION = "vaecheck"
# The line for a copy of vaecheck whose origin pip did not record: from a clone of the repository.
FROM_A_CLONE = "pip install -e '.[{extra}]' in a clone of the vaecheck repository"


def install_command(extra: str) -> str:
    """The pip command that adds `extra` to the vaecheck installed here."""
    origin = _direct_url()
    if origin is None:
        return FROM_A_CLONE.format(extra=extra)
    url = origin.get("url")
    if not isinstance(url, str):
        return FROM_A_CLONE.format(extra=extra)
    vcs = origin.get("vcs_info")
    if isinstance(vcs, dict) and isinstance(vcs.get("vcs"), str):
        commit = vcs.get("commit_id")
        pinned = f"{url}@{commit}" if isinstance(commit, str) else url
        requirement = f"{DISTRIBUTION}[{extra}] @ {vcs['vcs']}+{pinned}"
        return f"pip install {shlex.quote(requirement)}"
    parsed = urlparse(url)
    if parsed.scheme == "file":
        folder = unquote(parsed.path)
        if os.name == "nt" and folder.startswith("/"):  # file:///C:/... on Windows
            folder = folder[1:]
        shown = "." if _same_folder(folder, os.getcwd()) else folder
        dir_info = origin.get("dir_info")
        editable = isinstance(dir_info, dict) and bool(dir_info.get("editable"))
        flag = "-e " if editable else ""
        return f"pip install {flag}{shlex.quote(f'{shown}[{extra}]')}"
    return f"pip install {shlex.quote(f'{DISTRIBUTION}[{extra}] @ {url}')}"


def missing_extra(extra: str, feature: str) -> VaecheckError:
    """The error for `feature` used without the packages of `extra`: one line, with the command."""
    return VaecheckError(
        f"{feature} needs vaecheck's optional '{extra}' dependencies, which are not installed: "
        f"{install_command(extra)}"
    )


def _direct_url() -> dict[str, object] | None:
    from importlib import metadata

    # The first record pip wrote: a clone's own vaecheck.egg-info, found first when the clone
    # is on sys.path, records no origin.
    for distribution in metadata.distributions(name=DISTRIBUTION):
        text = distribution.read_text("direct_url.json")
        if not text:
            continue
        try:
            document = json.loads(text)
        except ValueError:
            continue
        if isinstance(document, dict):
            return document
    return None


def _same_folder(first: str, second: str) -> bool:
    try:
        return os.path.samefile(first, second)
    except OSError:
        return False

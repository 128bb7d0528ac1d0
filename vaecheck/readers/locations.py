"""Whether a name is a URL, told by a string test before any remote-storage code is imported.

Every URL vaecheck reads has `://` after its scheme (readers/remote.py); a name without it is a
local path, and the checks of a local file never import readers/remote, fsspec's conventions
or the `cloud` extra's hints. A name holding `://` is judged and shortened by readers/remote
itself, so the two can never disagree. Masking a URL's secrets needs no storage code: it is
`vaecheck.errors.redact`, beside the messages that must never show one.
"""

from __future__ import annotations

from vaecheck.errors import redact as redact


def is_url(path: object) -> bool:
    """`readers.remote.is_url`, importing it only for a name that holds `://`."""
    if not isinstance(path, str) or "://" not in path:
        return False
    from vaecheck.readers.remote import is_url as remote_is_url

    return remote_is_url(path)


def display_name(url: str) -> str:
    """`readers.remote.display_name`, imported on use (it is called for URLs only)."""
    from vaecheck.readers.remote import display_name as remote_display_name

    return remote_display_name(url)

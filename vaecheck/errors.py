"""The one error type a user sees: bad input or usage, reported in one line, exit code 2.

Messages quote names taken from the files (layers, datasets, columns), and files can be hostile:
a name holding a line break would start a line of its own in a CI log (where `::error::` at the
start of a line is a GitHub workflow command), a terminal escape could repaint the screen, a
bidirectional override could show text other than what it is. `printable` escapes all of these,
so one message is one line that shows what the file holds.
"""

from __future__ import annotations

import re

# Longest message printed; a longer one keeps its start and its end. A path or a name can be
# megabytes long, and the one line has to stay readable.
MAX_MESSAGE_CHARACTERS = 2000
MAX_NAME_CHARACTERS = 200

# C0 and C1 controls (line breaks, escape, delete), the Unicode line and paragraph separators,
# and the bidirectional marks, embeddings, overrides and isolates.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: str, limit: int | None = None) -> str:
    """`text` with every control, separator and bidi character escaped (`\\n`, `\\x1b`, `\\u202e`),
    shortened to `limit` characters (start … end) when it is longer."""
    if _UNPRINTABLE.search(text):
        text = _UNPRINTABLE.sub(_escape, text)
    if limit is not None and len(text) > limit:
        keep = max(limit - 1, 2)
        text = f"{text[: keep - keep // 4]}…{text[len(text) - keep // 4 :]}"
    return text


def has_unprintable(text: str) -> bool:
    return _UNPRINTABLE.search(text) is not None


def _escape(match: re.Match[str]) -> str:
    character = match.group()
    if character in _NAMED:
        return _NAMED[character]
    code = ord(character)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


class VaecheckError(Exception):
    """Input vaecheck cannot use. The message names the file and the problem, on one line."""

    def __init__(self, problem: str, path: str | None = None) -> None:
        if path is not None and "://" in path:
            path = redact(path)  # a URL's password or signed query is never shown
        self.problem = printable(problem, MAX_MESSAGE_CHARACTERS)
        self.path = path
        shown = f"{path}: {problem}" if path else problem
        super().__init__(printable(shown, MAX_MESSAGE_CHARACTERS))


MASK = "***"
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_USERINFO = re.compile(r"([^@/?#:]*)(?::([^@?#]*))?@")


def redact(url: str) -> str:
    """`url` with any password and every query value masked: `s3://bucket/x.npy` is unchanged,
    `https://user:pw@host/x?sig=abc` becomes `https://user:***@host/x?sig=***`."""
    match = _SCHEME.match(url)
    if match is None:
        return url
    rest = url[match.end() :]
    # A password may hold any character but @, ? and # (even a /, which a URL should encode).
    secret = _USERINFO.match(rest)
    if secret is not None:
        user, password = secret.group(1), secret.group(2)
        masked = f"{user}:{MASK}@" if password is not None else f"{MASK}@"
        rest = masked + rest[secret.end() :]
    authority, slash, tail = rest.partition("/")
    path, question, query = tail.partition("?")
    if question:
        query = "&".join(
            f"{name}={MASK}" if sep else name
            for name, sep, _ in (part.partition("=") for part in query.split("&"))
        )
    return f"{match.group(0)}{authority}{slash}{path}{question}{query}"

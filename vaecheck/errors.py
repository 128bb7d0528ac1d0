"""The one error type a user sees: bad input or usage, reported in one line, exit code 2."""

from __future__ import annotations


class VaecheckError(Exception):
    """Input vaecheck cannot use. The message names the file and the problem."""

    def __init__(self, problem: str, path: str | None = None) -> None:
        self.problem = problem
        self.path = path
        super().__init__(f"{path}: {problem}" if path else problem)

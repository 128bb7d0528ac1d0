"""The error the training-loop check raises; no framework needed to catch it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vaecheck.report import Report


class RangeMismatchError(Exception):
    """A model's outputs cannot produce its data: raised before training, with the fix."""

    def __init__(self, message: str, report: Report) -> None:
        super().__init__(message)
        self.report = report

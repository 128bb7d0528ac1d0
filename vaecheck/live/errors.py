"""The errors the training-loop check raises; no framework needed to catch them."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vaecheck.report import CheckRun, Report


class RangeMismatchError(Exception):
    """A model's outputs cannot produce its data: raised before training, with the fix.

    `report` is the full report (None when the data or model could not be checked at all).
    """

    def __init__(self, message: str, report: Report | CheckRun | None) -> None:
        super().__init__(message)
        self.report = report


class RangeMismatchWarning(UserWarning):
    """The same, as a warning, for `RangeCheck(..., on_error="warn")`."""

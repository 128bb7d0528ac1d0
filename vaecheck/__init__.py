"""vaecheck: catch a model whose output layer cannot produce the values in its data."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from vaecheck.report import Report


def check(model: Any, data: Any = None, **options: Any) -> Report:
    """Check a saved model against a data sample, or alone; see `vaecheck.api.check`."""
    from vaecheck.api import check as _check

    return _check(model, data, **options)


__all__ = ["__version__", "check"]

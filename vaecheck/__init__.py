"""vaecheck: catch a model whose output layer cannot produce the values in its data."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from vaecheck.report import Report


def check(model: Any, data: Any, **options: Any) -> Report:
    """Check a model (a saved file or a live keras.Model) against data; see `vaecheck.api.check`."""
    from vaecheck.api import check as _check

    return _check(model, data, **options)


def __getattr__(name: str) -> Any:
    # The training-loop errors, without importing anything heavy until asked for.
    if name in ("RangeMismatchError", "RangeMismatchWarning"):
        from vaecheck.live import errors

        return getattr(errors, name)
    raise AttributeError(f"module 'vaecheck' has no attribute {name!r}")


__all__ = ["RangeMismatchError", "RangeMismatchWarning", "__version__", "check"]

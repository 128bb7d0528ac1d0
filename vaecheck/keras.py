"""The Keras training-loop check: `model.fit(..., callbacks=[vaecheck.keras.RangeCheck(data)])`.

Keras is imported when `RangeCheck` is first used; the rest of vaecheck never imports it.
"""

from __future__ import annotations

from typing import Any

from vaecheck.live.callback import mismatch_message
from vaecheck.live.errors import RangeMismatchError, RangeMismatchWarning


def __getattr__(name: str) -> Any:
    if name == "RangeCheck":
        from vaecheck.live.callback import range_check_class

        return range_check_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["RangeCheck", "RangeMismatchError", "RangeMismatchWarning", "mismatch_message"]

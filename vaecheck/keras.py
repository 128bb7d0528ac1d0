"""The Keras training-loop check: `model.fit(..., callbacks=[vaecheck.keras.RangeCheck(data)])`.

Importing this module imports Keras; the rest of vaecheck never does.
"""

from __future__ import annotations

from vaecheck.live.callback import RangeCheck, mismatch_message
from vaecheck.live.errors import RangeMismatchError, RangeMismatchWarning

__all__ = ["RangeCheck", "RangeMismatchError", "RangeMismatchWarning", "mismatch_message"]

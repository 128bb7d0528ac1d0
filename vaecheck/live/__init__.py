"""Live framework objects: a `keras.Model` in memory, arrays and data pipelines, the training loop.

Everything here meets objects the user's process already holds; frameworks are imported only
when such an object is given (never by the static path, which reads files). A live model goes
through Keras's own serialization to the same configuration a saved file holds, and its weights
are read from memory: the graph reader, the range engine and the checks are the file path's.
"""

from __future__ import annotations

from vaecheck.live.detect import is_live_data, is_live_model
from vaecheck.live.errors import RangeMismatchError, RangeMismatchWarning

__all__ = ["RangeMismatchError", "RangeMismatchWarning", "is_live_data", "is_live_model"]

"""vaecheck: catch a model whose output layer cannot produce the values in its data.

`vaecheck.check(model, data, ...)` returns a `Report`; input it cannot use raises
`vaecheck.VaecheckError`, whose message names the file and the problem on one line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vaecheck.errors import VaecheckError

__version__ = "0.1.0"

if TYPE_CHECKING:
    from vaecheck.api import check as check


def __getattr__(name: str) -> Any:
    # Imported on first use: `vaecheck --version` must not import numpy, nor a framework.
    if name == "check":
        from vaecheck.api import api_check

        globals()["check"] = api_check
        return api_check
    if name in ("RangeMismatchError", "RangeMismatchWarning"):
        from vaecheck.live import errors

        return getattr(errors, name)
    raise AttributeError(f"module 'vaecheck' has no attribute {name!r}")


__all__ = ["RangeMismatchError", "RangeMismatchWarning", "VaecheckError", "__version__", "check"]

"""Optional packages a data source needs, imported only when that source is named.

A missing one is exit 2 with the install line that works for this installation (vaecheck.extras).
"""

from __future__ import annotations

import importlib
from types import ModuleType

from vaecheck.errors import VaecheckError


def install_line(extra: str) -> str:
    from vaecheck.extras import install_command

    return install_command(extra)


def require(
    module: str, what: str, extra: str, path: str | None = None, package: str | None = None
) -> ModuleType:
    """Import `module`, or say which extra brings it: `what` is the feature, as "Parquet data";
    `package` is what pip calls it, when not the module's first name."""
    try:
        return importlib.import_module(module)
    except ImportError:
        package = package or module.split(".")[0]
        raise VaecheckError(
            f"{what} needs the optional package {package}: {install_line(extra)}", path
        ) from None

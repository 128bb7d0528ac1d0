"""`RangeCheck`: the check in the training loop, run once before the first step.

    model.fit(x, y, callbacks=[vaecheck.keras.RangeCheck((x, y))])

On an error-level finding it raises `vaecheck.RangeMismatchError`, whose message is the
plain-text report (the finding and its fix); with `on_error="warn"` it warns with the same text
and training goes on. Keras 3 (any backend) calls `on_train_begin` before any weight changes,
so an error stops `fit` with the weights as they were.
"""

from __future__ import annotations

import functools
import warnings
from typing import Any

from vaecheck.errors import VaecheckError
from vaecheck.live.errors import RangeMismatchError, RangeMismatchWarning
from vaecheck.report import CheckRun, Report, Severity

ON_ERROR = ("raise", "warn")


def __getattr__(name: str) -> Any:
    # The class derives from Keras's Callback: Keras is imported when it is first asked for.
    if name == "RangeCheck":
        return range_check_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@functools.cache
def range_check_class() -> type:
    import keras

    namespace = {"__module__": "vaecheck.keras", "__doc__": _RangeCheck.__doc__}
    return type("RangeCheck", (_RangeCheck, keras.callbacks.Callback), namespace)


class _RangeCheck:
    """Check that the model being trained can produce `data`'s targets, before it trains.

    `data` is what `vaecheck.check` accepts beside a live model: arrays, `(x, y)`, a
    `tf.data.Dataset`, a `PyDataset`, a generator (read up to `max_batches` batches). Other
    keyword arguments go to `vaecheck.check` (`loss=`, `select=`, `severities=`, ...).
    The report of the last run is kept in `report`.
    """

    def __init__(
        self,
        data: Any,
        on_error: str = "raise",
        *,
        fail_on: Severity | str = Severity.ERROR,
        max_batches: int | None = None,
        **options: Any,
    ) -> None:
        super().__init__()  # type: ignore[call-arg]
        if on_error not in ON_ERROR:
            raise ValueError(f"on_error must be one of {', '.join(ON_ERROR)}, not {on_error!r}")
        self.data = data
        self.on_error = on_error
        self.fail_on = Severity.parse(fail_on) if isinstance(fail_on, str) else fail_on
        self.max_batches = max_batches
        self.options = options
        self.report: Report | CheckRun | None = None

    def on_train_begin(self, logs: Any = None) -> None:
        from vaecheck.api import check

        try:
            model = self.model  # type: ignore[attr-defined]
            self.report = check(model, self.data, max_batches=self.max_batches, **self.options)
        except VaecheckError as exc:
            raise RangeMismatchError(f"vaecheck could not check the model: {exc}", None) from None
        if not self.report.fails(self.fail_on):
            return
        message = mismatch_message(self.report)
        if self.on_error == "raise":
            raise RangeMismatchError(message, self.report)
        warnings.warn(message, RangeMismatchWarning, stacklevel=2)


def mismatch_message(report: Report | CheckRun) -> str:
    """The plain-text report: the verdict, each finding and its fix."""
    from vaecheck.formats.text import render_text

    reports = report.reports if isinstance(report, CheckRun) else (report,)
    body = "".join(render_text(r, color=False, width=100) for r in reports)
    return "the model cannot produce its training targets\n" + body

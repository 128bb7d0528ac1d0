"""The training pipeline's rescaling: `x * scale + offset`, applied to the data before it is
compared with the model's outputs.

Files often hold raw values (images are 0..255) while the model trains on `x / 255`. The map
means what `keras.layers.Rescaling(scale, offset)` means; it is applied block by block to any
source, so every reader (files, folders of images, URLs, shards) gets it the same way, and the
statistics, the findings and the fix all speak of the values the loss sees.

Values are mapped in float64, which holds every integer and float32 value exactly; the map
itself is the one rounding (as in Keras, which computes in float32).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, replace
from fractions import Fraction

import numpy as np

from vaecheck.errors import VaecheckError
from vaecheck.readers.source import DataSource, Index, _Body

USAGE = "--rescaling takes SCALE or SCALE,OFFSET, e.g. 1/255 or 1/127.5,-1"


@dataclass(frozen=True)
class Rescaling:
    """`x' = x * scale + offset`, with the text the user wrote it as (e.g. "1/255")."""

    scale: float
    offset: float = 0.0
    text: str | None = None

    def describe(self) -> str:
        shown = self.text or (f"{self.scale:g},{self.offset:g}" if self.offset else f"{self.scale:g}")
        return f"x * {self.scale:.9g} + {self.offset:.9g}  (--rescaling {shown})"

    @property
    def is_identity(self) -> bool:
        return self.scale == 1.0 and self.offset == 0.0


def parse_rescaling(text: str) -> Rescaling:
    """`"1/255"` -> Rescaling(0.00392..., 0.0); `"1/127.5,-1"` -> Rescaling(0.00784..., -1.0)."""
    parts = [part.strip() for part in text.split(",")]
    if len(parts) not in (1, 2) or not all(parts):
        raise VaecheckError(f"{USAGE}, not {text!r}")
    scale = _number(parts[0], text)
    offset = _number(parts[1], text) if len(parts) == 2 else 0.0
    if scale == 0.0:
        raise VaecheckError(f"--rescaling scale 0 maps every value to the offset: {text!r}")
    return Rescaling(scale, offset, text.strip())


def as_rescaling(value: Rescaling | str | tuple[float, float] | float | None) -> Rescaling | None:
    """What the Python API accepts: `(scale, offset)`, a scale alone, or the CLI's text."""
    if value is None or isinstance(value, Rescaling):
        return value
    if isinstance(value, str):
        return parse_rescaling(value)
    if isinstance(value, (int, float)):
        pair: tuple[float, ...] = (float(value), 0.0)
    else:
        pair = tuple(value)
    if len(pair) != 2:
        raise VaecheckError(f"rescaling is (scale, offset), not {value!r}")
    scale, offset = (float(v) for v in pair)
    if not (math.isfinite(scale) and math.isfinite(offset)) or scale == 0.0:
        raise VaecheckError(f"rescaling needs a finite, non-zero scale and a finite offset: {value!r}")
    return Rescaling(scale, offset)


def rescaled(source: DataSource, rescaling: Rescaling | None) -> DataSource:
    """`source` with each value mapped by `rescaling`, as float64; the source itself if None."""
    if rescaling is None:
        return source
    return replace(source, dtype=np.dtype(np.float64), _body=_RescaledBody(source, rescaling))


def _number(part: str, text: str) -> float:
    try:
        if "/" in part:
            numerator, denominator = part.split("/", 1)
            value = Fraction(numerator.strip()) / Fraction(denominator.strip())
            return float(value)
        number = float(part)
    except (ValueError, ZeroDivisionError):
        raise VaecheckError(f"{USAGE}, not {text!r}") from None
    if not math.isfinite(number):
        raise VaecheckError(f"{USAGE}, not {text!r}")
    return number


@dataclass(frozen=True, eq=False)
class _RescaledBody:
    parent: DataSource
    rescaling: Rescaling

    def blocks(
        self, source: DataSource, max_bytes: int, reuse: int
    ) -> Iterator[tuple[Index, np.ndarray]]:
        # float64 blocks are up to eight times the stored ones: read smaller stored blocks.
        itemsize = max(self.parent.dtype.itemsize, 1)
        stored_bytes = max(max_bytes * itemsize // 8, 1)
        scale, offset = self.rescaling.scale, self.rescaling.offset
        for index, block in self.parent.chunks(stored_bytes, reuse=reuse):
            values = block.astype(np.float64)
            values *= scale
            values += offset
            yield index, values

    def parts(self, source: DataSource) -> tuple[DataSource, ...]:
        return tuple(rescaled(part, self.rescaling) for part in self.parent.parts())

    def take_rows(self, source: DataSource, rows: np.ndarray) -> _Body:
        return _RescaledBody(self.parent.take_rows(rows), self.rescaling)

    # A cluster splits a rescaled source where it splits the stored one (vaecheck.cluster).
    @property
    def reads_row_ranges(self) -> bool:
        return self.parent.reads_row_ranges

    @property
    def row_alignment(self) -> int:
        return int(getattr(self.parent._body, "row_alignment", 1))

    def row_range(self, source: DataSource, start: int, stop: int) -> _Body:
        return _RescaledBody(self.parent.row_range(start, stop), self.rescaling)

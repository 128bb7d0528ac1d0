"""What the range engine knows about one tensor: its codomain, or why it cannot know it."""

from __future__ import annotations

from dataclasses import dataclass, replace

from vaecheck.intervals import Interval


@dataclass(frozen=True)
class Codomain:
    """The set of values a tensor can take, as far as the saved model tells.

    `interval` is None when the engine cannot know the range; `unknown_at` then names the layer
    that made it unknown and `unknown_reason` says why. `bounded_by` lists, in graph order, the
    steps that set or moved the range (`decoder › dec_out: relu`, then `rescaling: x*2 - 1`).
    """

    interval: Interval | None
    bounded_by: tuple[str, ...] = ()
    unknown_at: str | None = None
    unknown_reason: str | None = None
    notes: tuple[str, ...] = ()
    simplex_axis: int | None = None  # set when values along this axis sum to 1 (softmax)
    # Layers whose saved weights set an end the architecture leaves open: such an end holds for
    # the weights in the file, and training moves it.
    saved_weights: tuple[str, ...] = ()

    @property
    def known(self) -> bool:
        return self.interval is not None

    @classmethod
    def unknown(cls, label: str, reason: str) -> Codomain:
        return cls(interval=None, unknown_at=label, unknown_reason=reason)

    @classmethod
    def real_line(cls) -> Codomain:
        return cls(interval=Interval.real_line())

    def with_step(
        self,
        interval: Interval,
        step: str,
        *,
        reset: bool = False,
        note: str | None = None,
        simplex_axis: int | None = None,
    ) -> Codomain:
        """The codomain after one more range-changing step.

        `reset` starts a new chain: an activation bounds its output whatever came before, so
        the steps before it no longer explain the range.
        """
        steps = (step,) if reset else self.bounded_by + (step,)
        notes = () if reset else self.notes
        if note:
            notes = notes + (note,)
        return Codomain(
            interval=interval,
            bounded_by=steps,
            notes=notes,
            simplex_axis=simplex_axis,
        )

    def with_note(self, note: str) -> Codomain:
        return replace(self, notes=self.notes + (note,))

    def activation_name(self) -> str | None:
        """The activation that starts the chain of steps, e.g. "relu"."""
        if not self.bounded_by:
            return None
        return self.bounded_by[0].rsplit(": ", 1)[-1]

    def describe_bound(self) -> str:
        if not self.known:
            return f"unknown (at {self.unknown_at}: {self.unknown_reason})"
        if not self.bounded_by:
            return "nothing (linear output)"
        return " → ".join(self.bounded_by)

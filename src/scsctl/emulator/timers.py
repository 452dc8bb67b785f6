"""The emulated firmware's timers: every kind of timed work, when it is next due, which comes first.

A ``Scheduler`` holds one entry per kind of timer, in precedence order: a function telling when it
is next due (None while it is not running) and the handler that does the work. Deadlines are worked
out from the firmware's state rather than stored beside it, so nothing can forget to move one; the
earliest is remembered between changes (``next_deadline_s`` is asked several times per command),
until the firmware says it changed (``forget``) or something it does not own changed: ``inputs``
gives what the deadlines read from outside the firmware (the battery, the storage, the model, which
tests may change directly), compared by identity and value at each ask.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["Scheduler", "Timer"]

K = TypeVar("K")


@dataclass(frozen=True, slots=True)
class Timer(Generic[K]):
    """One kind of timed work: ``due()`` -> the time it is next due (None: not running);
    ``fire(t)`` does it at ``t`` (on the device clock)."""

    kind: K
    due: Callable[[], float | None]
    fire: Callable[[float], None]


class Scheduler(Generic[K]):
    """The earliest of the timers (of equal times the one listed first), remembered between changes."""

    __slots__ = ("_by_kind", "_inputs", "_memo", "_timers")

    def __init__(self, timers: Sequence[Timer[K]], inputs: Callable[[], tuple[object, ...]]) -> None:
        self._timers = tuple(timers)
        self._by_kind = {timer.kind: timer for timer in self._timers}
        self._inputs = inputs
        self._memo: tuple[tuple[object, ...], tuple[float, K] | None] | None = None

    def earliest(self) -> tuple[float, K] | None:
        """The next timer due and when, worked out afresh."""
        best: tuple[float, K] | None = None
        for timer in self._timers:
            t = timer.due()
            if t is not None and (best is None or t < best[0]):
                best = (t, timer.kind)
        return best

    def next(self) -> tuple[float, K] | None:
        """``earliest()``, remembered while neither the firmware nor ``inputs()`` changed."""
        key = self._inputs()
        memo = self._memo
        if memo is not None and memo[0] == key:
            return memo[1]
        best = self.earliest()
        self._memo = (key, best)
        return best

    def remember(self, best: tuple[float, K] | None) -> None:
        """``best`` was just worked out afresh and nothing changed since: keep it."""
        self._memo = (self._inputs(), best)

    def forget(self) -> None:
        """The firmware changed: the next ``next()`` works the deadlines out again."""
        self._memo = None

    def fire(self, kind: K, t: float) -> None:
        self._by_kind[kind].fire(t)

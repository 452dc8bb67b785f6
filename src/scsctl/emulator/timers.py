"""The emulated firmware's timers: every kind of timed work, when it is next due, which comes first.

A ``Scheduler`` holds one entry per kind of timer, in precedence order: a function telling when it
is next due (None while it is not running) and the handler that does the work. Deadlines are worked
out from the firmware's state rather than stored beside it, so nothing can forget to move one; the
earliest is remembered between changes (it is asked several times per command, and at each timer
step), until the firmware says it changed (``forget``; firing a timer is such a change) or
something it does not own changed: ``inputs`` gives what the deadlines read from outside the
firmware (the battery, the storage, the model, which tests may change directly), compared by
identity and value at each ask. So a deadline must not read anything else that changes by itself,
such as the clock: one that would move as time passes is given as the fixed time it comes to.
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

    __slots__ = ("_by_kind", "_dues", "_inputs", "_memo", "_timers")

    def __init__(self, timers: Sequence[Timer[K]], inputs: Callable[[], tuple[object, ...]]) -> None:
        self._timers = tuple(timers)
        self._by_kind = {timer.kind: timer for timer in self._timers}
        self._dues = tuple((timer.due, timer.kind) for timer in self._timers)
        self._inputs = inputs
        self._memo: tuple[tuple[object, ...], tuple[float, K] | None] | None = None

    def earliest(self) -> tuple[float, K] | None:
        """The next timer due and when, worked out afresh."""
        best: tuple[float, K] | None = None
        for due, kind in self._dues:
            t = due()
            if t is not None and (best is None or t < best[0]):
                best = (t, kind)
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

    def forget(self) -> None:
        """The firmware changed: the next ``next()`` works the deadlines out again."""
        self._memo = None

    def fire(self, kind: K, t: float) -> None:
        """Do ``kind``'s work at ``t``; it changes the firmware, so the earliest is worked out again."""
        self._by_kind[kind].fire(t)
        self._memo = None

"""A one-slot mailbox: the newest value replaces one not yet taken (how statuses are coalesced).

The device side (a thread) ``put``s every status it reads; the UI ``take``s when it gets to it. A
status the UI has not taken yet is simply replaced, so a device that reports often can never build
a queue of stale screens to draw: the UI is told once and then reads the newest value.
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

__all__ = ["Latest", "ReadOrder"]

T = TypeVar("T")


class Latest(Generic[T]):
    """Holds the newest value put; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value: T | None = None
        self._waiting = False
        self.replaced = 0
        """How many values were replaced before anyone took them (for tests and the benchmark)."""

    def put(self, value: T) -> bool:
        """Store ``value``; True when the consumer must be told (nothing was waiting to be taken)."""
        with self._lock:
            if self._waiting:
                self.replaced += 1
            self._value = value
            notify = not self._waiting
            self._waiting = True
            return notify

    def take(self) -> T | None:
        """The newest value, or None if it was already taken."""
        with self._lock:
            if not self._waiting:
                return None
            self._waiting = False
            return self._value


class ReadOrder:
    """Numbers handed out in the order they are asked for, from any thread.

    Status reads happen on several threads (the watch, controller calls); each takes a number just
    before it reads and its caller one just after, so the UI can tell a status read surely after
    another (its read began after the other's ended) and never draws an older one over it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = 0

    def next(self) -> int:
        with self._lock:
            self._last += 1
            return self._last

"""A one-slot mailbox: the newest value replaces one not yet taken (how statuses are coalesced).

The device side (a thread) ``put``s every status it reads; the UI ``take``s when it gets to it. A
status the UI has not taken yet is simply replaced, so a device that reports often can never build
a queue of stale screens to draw: the UI is told once and then reads the newest value.
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

__all__ = ["Latest"]

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

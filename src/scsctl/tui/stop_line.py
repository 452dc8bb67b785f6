"""STOP on a thread of its own, so a press never waits behind UI work or another device call.

The controller sends STOP ahead of any queued traffic and never takes the device's command lock;
this thread makes sure the UI side is just as direct: a key press sets an event, and this thread,
which does nothing else, calls ``device.stop()`` at once. A press while a STOP is still being
confirmed sends another STOP as soon as that one returns.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import ScsError

if TYPE_CHECKING:
    from ..controller import Device

__all__ = ["StopLine", "StopResult"]


@dataclass(frozen=True, slots=True)
class StopResult:
    """What one STOP did. ``error`` is None when the device confirmed it (all outputs off)."""

    error: str | None
    requested_at_s: float
    finished_at_s: float

    @property
    def confirmed(self) -> bool:
        return self.error is None


class StopLine:
    """A dedicated thread that sends STOP when asked; ``on_result`` is called on that thread."""

    def __init__(self, on_result: Callable[[StopResult], object]) -> None:
        self._on_result = on_result
        self._device: Device | None = None
        self._wake = threading.Event()
        self._closing = False
        self._requested_at_s = 0.0
        self.requests = 0
        """How many STOPs were asked for (a call started before a STOP can tell it was overtaken)."""
        self._thread = threading.Thread(target=self._run, name="scsctl-tui-stop", daemon=True)
        self._thread.start()

    def attach(self, device: Device | None) -> None:
        self._device = device

    def request(self) -> None:
        """Ask for STOP now (from any thread); returns at once."""
        self._requested_at_s = time.monotonic()
        self.requests += 1
        self._wake.set()

    def close(self) -> None:
        self._closing = True
        self._wake.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._closing:
                return
            requested_at_s = self._requested_at_s
            device = self._device
            error: str | None
            if device is None:
                error = "no device is connected: nothing was sent"
            else:
                try:
                    device.stop()
                    error = None
                except ScsError as err:
                    error = str(err)
                except Exception as err:  # noqa: BLE001 - this thread must outlive any bug, or STOP is gone
                    error = f"STOP failed unexpectedly ({err!r}): check the device and disconnect the leads"
            self._on_result(StopResult(error, requested_at_s, time.monotonic()))

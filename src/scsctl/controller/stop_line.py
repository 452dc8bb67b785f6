"""STOP on a thread of its own, so a press (or a request from another process) never waits behind
UI work or another device call.

The controller sends STOP ahead of any queued traffic and never takes the device's command lock;
this thread makes sure the UI side is just as direct: a key press sets an event, and this thread,
which does nothing else, calls ``device.stop()`` at once. A press while a STOP is still being
confirmed sends another STOP as soon as that one returns.

A device whose link is LOST still takes STOP (its link reopens the port when it is back). While
no device is connected, or the attached one has been closed (a reconnect, a change of port),
STOP goes to the *fallback*: ``scsctl.stop_now`` for the target last connected (or being connected
to, when there was none), which opens the port just long enough to send STOP. An untethered device
keeps stimulating when its session ends, so "nothing is connected" must not mean "nothing is sent".

The race with reconnecting, and why it is decided this way:

- A port takes one connection at a time: two links on one serial port (or one emulator transport)
  would each read the other's replies. So the fallback must never open a port while the connecting
  worker opens the same one.
- The worker closes the old device while it is still attached here: STOP meanwhile goes over the
  old link, which is open until the very end of the close. A STOP that finds the device closed
  takes the *port lock* and uses the fallback.
- The worker holds the port lock (``opening()``) while it opens a target that may be the same port
  as the fallback's, and attaches the new device before letting go. A STOP pressed during that
  handshake (at most the HELLO's retries, under a second) waits for it and then goes at once, ahead
  of anything else, through the new device, or through the fallback if the open failed. That wait
  is the price of never having two connections on one port; a STOP that failed at once instead
  would leave the device stimulating. Opening a different port takes no lock: STOP goes to the
  old target at once while the new one is being opened.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import AuditError, ScsError
from ..link import LinkStatus

if TYPE_CHECKING:
    from .device import Device

__all__ = ["StopLine", "StopResult"]

NOTHING_TO_STOP = "no device is connected: nothing was sent"


@dataclass(frozen=True, slots=True)
class StopResult:
    """What one STOP did. ``error`` is None when the device confirmed it (all outputs off).

    ``unrecorded``: the device confirmed, but the audit log could not record it (why, in words).
    """

    error: str | None
    requested_at_s: float
    finished_at_s: float
    unrecorded: str | None = None
    requested_by: Mapping[str, Any] | None = None
    """Another process that asked for this STOP (pid, operator, command), if one did."""

    def asked_by(self) -> str:
        """Who asked, in words ("" when it was this process)."""
        who = self.requested_by
        if not who:
            return ""
        command, operator = who.get("command", "another process"), who.get("operator", "?")
        return f"pid {who.get('pid', '?')} ({command}, operator {operator})"

    @property
    def confirmed(self) -> bool:
        return self.error is None


class StopLine:
    """A dedicated thread that sends STOP when asked; ``on_result`` is called on that thread."""

    def __init__(self, on_result: Callable[[StopResult], object]) -> None:
        self._on_result = on_result
        self._device: Device | None = None
        self._fallback: Callable[[], object] | None = None
        self._port = threading.Lock()
        self._wake = threading.Event()
        self._closing = False
        self._requested_at_s = 0.0
        self.requests = 0
        """How many STOPs were asked for (a call started before a STOP can tell it was overtaken)."""
        self._answered = threading.Condition()
        self._covered = 0  # STOP requests numbered up to this one have their result in _last
        self._last: StopResult | None = None
        self._requested_by: Mapping[str, Any] | None = None
        self._thread = threading.Thread(target=self._run, name="scsctl-tui-stop", daemon=True)
        self._thread.start()

    def attach(self, device: Device | None, *, fallback: Callable[[], object] | None = None) -> None:
        """STOP goes to ``device`` from now on; ``fallback`` (if given) replaces the one held."""
        if fallback is not None:
            self._fallback = fallback
        self._device = device

    def set_fallback(self, fallback: Callable[[], object]) -> None:
        """How to STOP while no open device is attached: open the port, send STOP, close it (blocking)."""
        self._fallback = fallback

    @contextmanager
    def opening(self) -> Iterator[None]:
        """Hold while opening a port the fallback may also open (attach the device before leaving)."""
        with self._port:
            yield

    def request(self) -> None:
        """Ask for STOP now (from any thread); returns at once."""
        self._requested_at_s = time.monotonic()
        self.requests += 1
        self._wake.set()

    def stop_and_wait(self, requested_by: Mapping[str, Any] | None = None, timeout_s: float = 5.0) -> StopResult | None:
        """Ask for STOP and wait for its result (another process asked, through the control endpoint).

        ``requested_by`` is recorded with the STOP. None when no result came within ``timeout_s``.
        """
        self._requested_by = requested_by
        self.request()
        mine = self.requests
        with self._answered:
            if not self._answered.wait_for(lambda: self._covered >= mine, timeout_s):
                return None
            return self._last

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
            covered = self.requests  # every STOP asked for until now is answered by this one
            requested_by, self._requested_by = self._requested_by, None
            error: str | None = None
            unrecorded: str | None = None
            try:
                if not self._send(requested_by):
                    error = NOTHING_TO_STOP
            except AuditError as err:  # raised only once the device has confirmed: STOP was carried out
                unrecorded = str(err)
            except ScsError as err:
                error = str(err)
            except Exception as err:  # noqa: BLE001 - this thread must outlive any bug, or STOP is gone
                error = f"STOP failed unexpectedly ({err!r}): check the device and disconnect the leads"
            result = StopResult(error, requested_at_s, time.monotonic(), unrecorded, requested_by)
            with self._answered:
                self._last = result
                self._covered = max(self._covered, covered)
                self._answered.notify_all()
            self._on_result(result)

    def _send(self, requested_by: Mapping[str, Any] | None) -> bool:
        """STOP through the attached device, else the fallback; False when there is neither.

        A device whose link is lost still takes STOP: its link opens the port again when it is
        back and sends STOP before anything else (``Link.stop``).
        """
        device = self._device
        if device is not None and not _closed(device):
            try:
                device.stop(requested_by=requested_by)
                return True
            except AuditError:
                raise
            except ScsError:
                if not _closed(device):
                    raise
                # Closed under us by a reconnect: the port is free, or being opened (wait for it).
        with self._port:
            device = self._device
            if device is not None and not _closed(device):
                device.stop(requested_by=requested_by)
                return True
            fallback = self._fallback
            if fallback is None:
                return False
            fallback()
            return True


def _closed(device: Device) -> bool:
    return device.link.status is LinkStatus.CLOSED

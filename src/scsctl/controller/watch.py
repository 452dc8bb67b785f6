"""Keeps the UI informed about a device: its events as they come, its status read often.

No Textual here: ``DeviceWatch`` calls plain callbacks from its own threads, and the app turns
them into messages (``post_message`` is thread-safe and never blocks these threads).

- Events (state changes, faults, impedance warnings, link up/lost) come from
  ``device.subscribe`` on the controller's event thread, once they are audited.
- The status is read every ``interval_s`` (every ``fast_interval_s`` while a ramp runs, so its
  progress can be shown) and at once after an event or when ``poke``d. Each status goes into a
  :class:`~scsctl.controller.mailbox.Latest`: a status the UI has not drawn yet is replaced by the newer.
  It comes as a :class:`StatusReading` with its place in a :class:`~scsctl.controller.mailbox.ReadOrder`
  shared with the controller calls, so the UI can tell which of two statuses is newer.
- A failed status read is reported once per failure run, not every interval.
- Creating and closing a watch never wait (the UI thread does both, and F2 is handled there):
  subscribing and unsubscribing take the controller's event lock, which a thread recording events
  into a locked database can hold for seconds, so the watch's own thread does them. Once closed,
  a watch calls nothing back, even if its thread is still finishing a read.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from firmware_protocol import messages as m
from firmware_protocol.constants import State

from ..errors import ScsError
from ..link import LinkStateChange, LinkStatus
from .events import Event
from .mailbox import Latest, ReadOrder

if TYPE_CHECKING:
    from .device import Device

__all__ = ["DeviceWatch", "StatusFreshness", "StatusReading"]

RAMPING = frozenset({State.RAMPING_UP, State.RAMPING_DOWN})


@dataclass(frozen=True, slots=True)
class StatusReading:
    """A status and when it was read: ``begun`` was taken just before the read, ``ended`` just after."""

    status: m.Status
    begun: int
    ended: int


class StatusFreshness:
    """Whether a status is newer than the one drawn, when statuses read on several threads arrive
    out of order (a controller call's answer can reach the UI after the watch's next read).

    Each :class:`StatusReading` carries ``begun``/``ended`` numbers from one ``ReadOrder``. One read
    surely came after another when it began after the other had ended; a status is refused only
    then: when the one drawn was surely read after it. Reads that overlap cannot be ordered: the one
    offered later is taken (the watch is poked after every call and reads again anyway).
    """

    def __init__(self) -> None:
        self._begun = 0

    def reset(self) -> None:
        """Nothing drawn (a new device)."""
        self._begun = 0

    def take(self, reading: StatusReading) -> bool:
        """True when ``reading`` is to be drawn; it is then the one the next offers are compared with."""
        if self._begun > reading.ended:
            return False
        self._begun = reading.begun
        return True


class DeviceWatch:
    def __init__(
        self,
        device: Device,
        *,
        on_status: Callable[[], object],
        on_event: Callable[[Event], object],
        on_error: Callable[[ScsError], object],
        interval_s: float = 0.5,
        fast_interval_s: float = 0.1,
        order: ReadOrder | None = None,
    ) -> None:
        """``on_status`` is called when a new status waits in ``statuses`` (take it from there).

        ``order``: the numbering shared with whatever else reads the status (a new one by default).
        """
        self.device = device
        self.statuses: Latest[StatusReading] = Latest()
        self.order = order or ReadOrder()
        self._on_status = on_status
        self._on_event = on_event
        self._on_error = on_error
        self.interval_s = interval_s
        self.fast_interval_s = fast_interval_s
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._ramping = False
        self._thread = threading.Thread(target=self._run, name="scsctl-tui-status", daemon=True)
        self._wake.set()  # the first status at once
        self._thread.start()

    def poke(self) -> None:
        """Read the status now (after a command, so the screen shows its effect at once)."""
        self._wake.set()

    def close(self, *, wait: bool = False) -> None:
        """Stop calling back at once; the thread unsubscribes and ends by itself (``wait``: join it)."""
        self._closing.set()
        self._wake.set()
        if wait and self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)

    def _event(self, event: Event) -> None:
        if self._closing.is_set():
            return
        self._on_event(event)
        if isinstance(event, LinkStateChange):
            if event.status is LinkStatus.UP:
                self.poke()
        else:
            self.poke()

    def _run(self) -> None:
        unsubscribe = self.device.subscribe(self._event)
        try:
            self._poll()
        finally:
            unsubscribe()

    def _poll(self) -> None:
        failing = False
        while not self._closing.is_set():
            self._wake.wait(self.fast_interval_s if self._ramping else self.interval_s)
            self._wake.clear()
            if self._closing.is_set():
                return
            if self.device.link.status is not LinkStatus.UP:
                continue  # the link-lost event told the user; nothing to read until a reconnect
            begun = self.order.next()
            try:
                status = self.device.status()
            except ScsError as err:
                if not failing and not self._closing.is_set():
                    self._on_error(err)
                failing = True
                continue
            reading = StatusReading(status, begun, self.order.next())
            failing = False
            self._ramping = status.state in RAMPING
            if self._closing.is_set():
                return
            if self.statuses.put(reading):
                self._on_status()

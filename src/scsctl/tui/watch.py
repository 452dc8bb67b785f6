"""Keeps the UI informed about a device: its events as they come, its status read often.

No Textual here: ``DeviceWatch`` calls plain callbacks from its own threads, and the app turns
them into messages (``post_message`` is thread-safe and never blocks these threads).

- Events (state changes, faults, impedance warnings, link up/lost) come from
  ``device.subscribe`` on the controller's event thread, once they are audited.
- The status is read every ``interval_s`` (every ``fast_interval_s`` while a ramp runs, so its
  progress can be shown) and at once after an event or when ``poke``d. Each status goes into a
  :class:`~scsctl.tui.mailbox.Latest`: a status the UI has not drawn yet is replaced by the newer.
- A failed status read is reported once per failure run, not every interval.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from firmware_protocol import messages as m
from firmware_protocol.constants import State

from ..controller.events import Event
from ..errors import ScsError
from ..link.session import LinkStateChange, LinkStatus
from .mailbox import Latest

if TYPE_CHECKING:
    from ..controller import Device

__all__ = ["DeviceWatch"]

RAMPING = frozenset({State.RAMPING_UP, State.RAMPING_DOWN})


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
    ) -> None:
        """``on_status`` is called when a new status waits in ``statuses`` (take it from there)."""
        self.device = device
        self.statuses: Latest[m.Status] = Latest()
        self._on_status = on_status
        self._on_event = on_event
        self._on_error = on_error
        self.interval_s = interval_s
        self.fast_interval_s = fast_interval_s
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._ramping = False
        self._unsubscribe = device.subscribe(self._event)
        self._thread = threading.Thread(target=self._run, name="scsctl-tui-status", daemon=True)
        self._wake.set()  # the first status at once
        self._thread.start()

    def poke(self) -> None:
        """Read the status now (after a command, so the screen shows its effect at once)."""
        self._wake.set()

    def close(self) -> None:
        self._unsubscribe()
        self._closing.set()
        self._wake.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)

    def _event(self, event: Event) -> None:
        self._on_event(event)
        if isinstance(event, LinkStateChange):
            if event.status is LinkStatus.UP:
                self.poke()
        else:
            self.poke()

    def _run(self) -> None:
        failing = False
        while not self._closing.is_set():
            self._wake.wait(self.fast_interval_s if self._ramping else self.interval_s)
            self._wake.clear()
            if self._closing.is_set():
                return
            if self.device.link.status is not LinkStatus.UP:
                continue  # the link-lost event told the user; nothing to read until a reconnect
            try:
                status = self.device.status()
            except ScsError as err:
                if not failing:
                    self._on_error(err)
                failing = True
                continue
            failing = False
            self._ramping = status.state in RAMPING
            if self.statuses.put(status):
                self._on_status()

"""Device events: audited first, then handed to subscribers, on a thread of their own.

The link's reader thread only queues events here, so a slow subscriber or a disk sync never delays
the reply the reader is about to match (a STOP_ACK, say). A newer status-like event never waits
behind the audit of an older one for longer than one record.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from firmware_protocol import messages as m

from ..audit import AuditLog
from ..errors import AuditError
from ..link import LinkStateChange

Event = m.Message | LinkStateChange
Subscriber = Callable[[Event], None]


def describe(event: Event) -> tuple[str, dict[str, Any]]:
    """Audit name and detail of an event."""
    if isinstance(event, LinkStateChange):
        return f"LINK_{event.status.name}", {"reason": event.reason}
    return event.TYPE.name, m.to_readable(event)


class EventPump:
    def __init__(self, audit: AuditLog) -> None:
        self._audit = audit
        self._queue: queue.SimpleQueue[Event | None] = queue.SimpleQueue()
        self._subscribers: list[Subscriber] = []
        self._lock = threading.Lock()
        self._unrecorded: list[tuple[str, dict[str, Any]]] = []
        self._last_failure: AuditError | None = None
        self._thread = threading.Thread(target=self._run, name="scsctl-events", daemon=True)
        self._thread.start()

    def put(self, event: Event) -> None:
        self._queue.put(event)

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    def flush_unrecorded(self) -> None:
        """Record events that could not be recorded earlier; AuditError while that still fails.

        The controller calls this before every command, so no command goes out while the audit
        trail is missing a device event (and once the log works again, nothing was lost).
        """
        with self._lock:
            while self._unrecorded:
                name, detail = self._unrecorded[0]
                try:
                    self._audit.record("event", name, {**detail, "recorded_late": True})
                except AuditError as err:
                    raise AuditError(
                        f"{len(self._unrecorded)} device event(s) could not be recorded ({err}); "
                        "the command was not sent"
                    ) from err
                self._unrecorded.pop(0)

    def close(self) -> None:
        """Handle every event queued so far, then stop (calling it again does nothing)."""
        if not self._thread.is_alive():
            return
        self._queue.put(None)
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=10.0)

    def _run(self) -> None:
        while (event := self._queue.get()) is not None:
            name, detail = describe(event)
            try:
                self.flush_unrecorded()
                self._audit.record("event", name, detail)
            except AuditError:
                # The event still reaches the user (a fault must be seen); it is recorded as soon as
                # the log can be written again, and until then no command is sent.
                with self._lock:
                    self._unrecorded.append((name, detail))
            with self._lock:
                subscribers = list(self._subscribers)
            for callback in subscribers:
                try:
                    callback(event)
                except Exception:  # noqa: BLE001 - one subscriber's bug must not silence the others
                    continue


class Relay:
    """Link events handed to subscribers on a thread of their own, in order, as they come (not
    audited first: that is ``EventPump``'s). A callback may call back into the device, a STOP
    included: on the link's reading thread it could not, since the reply it waits for is read
    there. Each event carries the time it arrived, taken on the reading thread, for subscribers
    that measure (``timed``). The thread starts with the first subscriber."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._queue: queue.SimpleQueue[tuple[float, Event] | None] = queue.SimpleQueue()
        self._subscribers: list[tuple[Callable[..., None], bool]] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    def put(self, event: Event) -> None:
        if self._subscribers:  # read bare: an event before the first subscriber is nobody's
            self._queue.put((time.monotonic(), event))

    def subscribe(self, callback: Callable[..., None], *, timed: bool = False) -> Callable[[], None]:
        """``callback(event)``, or ``callback(arrived_s, event)`` when ``timed``."""
        entry = (callback, timed)
        with self._lock:
            self._subscribers.append(entry)
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()

        def unsubscribe() -> None:
            with self._lock:
                if entry in self._subscribers:
                    self._subscribers.remove(entry)

        return unsubscribe

    def close(self) -> None:
        """Hand over every event queued so far, then stop (calling it again does nothing)."""
        with self._lock:
            thread, self._closed = self._thread, True
        if thread is None or not thread.is_alive():
            return
        self._queue.put(None)
        if thread is not threading.current_thread():
            thread.join(timeout=10.0)

    def _run(self) -> None:
        while (arrived := self._queue.get()) is not None:
            arrived_s, event = arrived
            with self._lock:
                subscribers = list(self._subscribers)
            for callback, timed in subscribers:
                try:
                    if timed:
                        callback(arrived_s, event)
                    else:
                        callback(event)
                except Exception:  # noqa: BLE001 - one subscriber's bug must not silence the others
                    continue

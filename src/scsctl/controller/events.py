"""Device events: audited first, then handed to subscribers, on a thread of their own.

The link's reader thread only queues events here, so a slow subscriber or a disk sync never delays
the reply the reader is about to match (a STOP_ACK, say). A newer status-like event never waits
behind the audit of an older one for longer than one record.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

from firmware_protocol import messages as m

from ..audit import AuditLog
from ..errors import AuditError
from ..link.session import LinkStateChange

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
        self.audit_failures: list[AuditError] = []
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

    def close(self) -> None:
        self._queue.put(None)
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)

    def _run(self) -> None:
        while (event := self._queue.get()) is not None:
            name, detail = describe(event)
            try:
                self._audit.record("event", name, detail)
            except AuditError as err:
                # The event still reaches the user (a fault must be seen), flagged as unrecorded.
                self.audit_failures.append(err)
            with self._lock:
                subscribers = list(self._subscribers)
            for callback in subscribers:
                try:
                    callback(event)
                except Exception:  # noqa: BLE001 - one subscriber's bug must not silence the others
                    continue

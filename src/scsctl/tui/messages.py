"""Messages the device side posts to the app (from other threads: ``post_message`` is thread-safe).

``StatusReady`` carries nothing: the status waits in the watch's mailbox, where a newer one
replaces one not yet drawn; two ``StatusReady`` in a row also collapse into one (``can_replace``).
"""

from __future__ import annotations

from textual.message import Message

from ..controller import Event, StopResult
from ..errors import ScsError

__all__ = ["CommandFailed", "DeviceEventArrived", "StatusFailed", "StatusReady", "StopFinished"]


class StatusReady(Message):
    """A new status waits in ``DeviceWatch.statuses``."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, StatusReady)


class StatusFailed(Message):
    def __init__(self, error: ScsError) -> None:
        super().__init__()
        self.error = error


class DeviceEventArrived(Message):
    """A device event or a link state change, already in the audit log."""

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event


class StopFinished(Message):
    def __init__(self, result: StopResult) -> None:
        super().__init__()
        self.result = result


class CommandFailed(Message):
    """A controller call failed. ``after_stop``: a STOP was pressed while it ran (it was overtaken)."""

    def __init__(self, label: str, error: BaseException, *, after_stop: bool) -> None:
        super().__init__()
        self.label = label
        self.error = error
        self.after_stop = after_stop

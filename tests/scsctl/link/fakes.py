"""A scripted device behind an in-memory transport, for testing the link on its own.

The emulator is the honest stand-in for a device; this is the opposite: a device that does exactly
what a test tells it (drop this frame, answer that with a NAK), so each link rule can be pinned.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

from firmware_protocol import Decoder, Frame, encode
from firmware_protocol import messages as m
from scsctl.errors import PortLost
from scsctl.transports.base import Transport

Handler = Callable[[Frame], list[tuple[m.Message, int]] | None]


def ack(frame: Frame) -> list[tuple[m.Message, int]]:
    """The positive reply to any command, with empty or plausible contents."""
    msg = frame.message
    replies: dict[type[m.Message], m.Message] = {
        m.GetStatus: m.Status(m.State.IDLE, 0xFF, 0, 0, 90, 3900, m.FaultFlags.NONE, m.StatusFlags.NONE, 5),
        m.Stop: m.StopAck(),
        m.Heartbeat: m.HeartbeatAck(),
        m.Start: m.StartAck(),
        m.SetAmplitude: m.SetAmplitudeAck(),
    }
    return [(replies[type(msg)], frame.seq)]


class ScriptedDevice(Transport):
    """Transport whose far end is ``handler``: it sees each host frame and returns replies."""

    def __init__(self, handler: Handler = ack) -> None:
        super().__init__("scripted://device")
        self.handler = handler
        self.received: list[Frame] = []
        self._decoder = Decoder()
        self._to_host: queue.Queue[bytes | None] = queue.Queue()
        self._open = False
        self._lock = threading.Lock()
        self._cancelled = threading.Event()

    def open(self) -> None:
        self._open = True

    def close(self) -> None:
        self._open = False
        self._to_host.put(b"")

    @property
    def is_open(self) -> bool:
        return self._open

    def write(self, data: bytes) -> None:
        if not self._open:
            raise PortLost("port closed", port=self.url)
        with self._lock:
            for item in self._decoder.feed(data):
                if isinstance(item, Frame):
                    self.received.append(item)
                    for message, seq in self.handler(item) or []:
                        self._to_host.put(encode(message, seq))

    def cancel_read(self) -> None:
        # As a serial port's: the read in progress returns b"" at once (the link's reader steps
        # aside this way for a caller that reads its own reply).
        self._cancelled.set()
        self._to_host.put(b"")

    def _read_was_cancelled(self) -> bool:
        if self._cancelled.is_set():
            self._cancelled.clear()
            return True
        return False

    def send_unsolicited(self, message: m.Message, seq: int) -> None:
        self._to_host.put(encode(message, seq))

    def send_raw(self, data: bytes) -> None:
        self._to_host.put(data)

    def vanish(self) -> None:
        """The cable is pulled: the next read fails."""
        self._to_host.put(None)

    def _recv(self, max_bytes: int, timeout_s: float | None) -> bytes:
        try:
            data = self._to_host.get(timeout=timeout_s)
        except queue.Empty:
            return b""
        if data is None:
            self._open = False
            raise PortLost("device vanished", port=self.url)
        return data

    def count(self, cls: type[m.Message]) -> int:
        return sum(isinstance(f.message, cls) for f in self.received)

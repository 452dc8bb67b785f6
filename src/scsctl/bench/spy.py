"""A transport wrapper that notes when each write left the host, for figures measured on the wire."""

from __future__ import annotations

import threading
import time

from ..controller import Transport


class TimedTransport(Transport):
    """Passes everything to ``inner``; keeps ``(time.monotonic() once the write returned, bytes)``.

    Once ``write`` returned the bytes are in the port (the pty, the UART's buffer): on the wire.

    ``written`` is set after each write, so a measurement can wait for the next frame to go out.
    """

    def __init__(self, inner: Transport) -> None:
        super().__init__(inner.url)
        self.inner = inner
        self.writes: list[tuple[float, bytes]] = []
        self.written = threading.Event()

    @property
    def last_write_s(self) -> float | None:
        return self.writes[-1][0] if self.writes else None

    def open(self) -> None:
        self.inner.open()

    def close(self) -> None:
        self.inner.close()

    def write(self, data: bytes) -> None:
        self.inner.write(data)
        self.writes.append((time.monotonic(), bytes(data)))
        self.written.set()

    def _recv(self, max_bytes: int, timeout_s: float | None) -> bytes:
        return self.inner.read(max_bytes, timeout_s)

    @property
    def is_open(self) -> bool:
        return self.inner.is_open

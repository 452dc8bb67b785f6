"""The transport interface: bytes in, bytes out, nothing about frames.

A transport is opened from a URL (``open_transport`` in ``scsctl.transports``) whose scheme picks
the backend module, loaded lazily. Backends override the small methods below (``_recv``, not
``read``: the public ``read`` checks its arguments and keeps the deadline, as python-can's
``recv``/``_recv_internal``) and translate their library's exceptions into
``scsctl.errors.TransportError`` subclasses naming the port.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from types import TracebackType
from typing import Self

from ..errors import UsageError


class Transport(ABC):
    """A byte pipe to one device. Safe for one reader thread and one writer thread at once."""

    url: str

    def __init__(self, url: str) -> None:
        self.url = url

    @abstractmethod
    def open(self) -> None:
        """Open (or re-open after ``PortLost``) the port. Raises ``PortNotFound``/``TransportError``."""

    @abstractmethod
    def close(self) -> None:
        """Close the port; closing a closed transport does nothing."""

    @abstractmethod
    def write(self, data: bytes) -> None:
        """Send all of ``data`` or raise ``TransportError``/``PortLost``."""

    def read(self, max_bytes: int, timeout_s: float | None) -> bytes:
        """Return 1..max_bytes bytes as soon as any arrive, or b"" once ``timeout_s`` has passed.

        ``timeout_s=None`` waits until data arrives, the port fails or ``cancel_read`` is called.
        Raises ``PortLost`` when the port vanished, so a dead port is never mistaken for a quiet one.
        This method owns the arguments' checks and the deadline; backends implement ``_recv``.
        """
        if max_bytes <= 0:
            raise UsageError(f"{self.url}: read of {max_bytes} bytes; ask for 1 or more")
        if timeout_s is None:
            data = self._recv(max_bytes, None)
            self._read_was_cancelled()  # spent: the next read waits again
            return data
        if timeout_s < 0:
            raise UsageError(f"{self.url}: read timeout {timeout_s} s is negative; give 0 or more, or None")
        deadline_s = time.monotonic() + timeout_s
        while True:
            data = self._recv(max_bytes, timeout_s)
            timeout_s = deadline_s - time.monotonic()
            if data or timeout_s <= 0 or self._read_was_cancelled():
                return data

    def _read_was_cancelled(self) -> bool:
        """Whether the ``_recv`` that just returned b"" was cut short by ``cancel_read`` (then
        ``read`` returns at once rather than waiting out its timeout); a backend with
        ``cancel_read`` overrides it."""
        return False

    @abstractmethod
    def _recv(self, max_bytes: int, timeout_s: float | None) -> bytes:
        """Wait at most ``timeout_s`` (None: until data, or ``cancel_read``) for 1..max_bytes bytes.

        May return b"" before ``timeout_s`` has passed (``read`` then waits for the rest); raises
        ``PortLost`` when the port vanished. ``max_bytes`` >= 1 and ``timeout_s`` >= 0 here.
        """

    @property
    @abstractmethod
    def is_open(self) -> bool: ...

    @property
    def baud(self) -> int | None:
        """The line's speed in bits per second when this transport knows it (a UART, a simulated
        line), else None (TCP, USB): reply timeouts add the time frames take on the line."""
        return None

    def drain(self, timeout_s: float | None = None) -> None:  # noqa: B027 - optional: a no-op where nothing waits on the host's side
        """Return once the bytes written so far have left the host for the line; TransportError if
        they have not within ``timeout_s`` (None: the transport's own write timeout), so that a
        line that stopped moving is reported rather than waited on.

        The link calls it after every frame, still holding its write lock, so that the operating
        system never holds more than the frame being sent when a STOP takes the lock: on a UART at
        115200 baud a queue of polls in the kernel's transmit buffer would otherwise delay a STOP
        by their whole line time. A transport whose line is not slower than the host (TCP, USB, an
        instant pseudo-terminal) leaves it a no-op.
        """

    def cancel_read(self) -> None:  # noqa: B027 - optional: a no-op where a read cannot be cut short
        """Make a ``read`` blocked in another thread return ``b""`` now (closing the link uses it).

        Optional: a transport without it leaves the read to return at its timeout.
        """

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url}>"

"""The transport interface: bytes in, bytes out, nothing about frames.

A transport is opened from a URL (``open_transport`` in ``scsctl.transports``) whose scheme picks
the backend module, loaded lazily. Backends override the four small methods below and translate
their library's exceptions into ``scsctl.errors.TransportError`` subclasses naming the port.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import Self


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

    @abstractmethod
    def read(self, max_bytes: int, timeout_s: float | None) -> bytes:
        """Return 1..max_bytes bytes as soon as any arrive, or b"" once ``timeout_s`` has passed.

        ``timeout_s=None`` waits until data arrives or the port fails. Raises ``PortLost`` when the
        port vanished, so a dead port is never mistaken for a quiet one.
        """

    @property
    @abstractmethod
    def is_open(self) -> bool: ...

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

"""What to connect to, and how: the TUI's one way of opening a device (no Textual here)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import PortNotFound
from ..transports import Transport, transport_for_url

if TYPE_CHECKING:
    from ..controller import Device

__all__ = ["EMULATOR_URL", "ConnectTarget"]

EMULATOR_URL = "emu://"
"""The built-in emulator, used when no port is given (and no $SCSCTL_PORT is set)."""


@dataclass
class ConnectTarget:
    """A port URL and the options ``scsctl.connect`` takes, as the CLI's device options give them.

    ``transport``: a transport to talk over instead of one made from ``url`` (tests pass an
    ``EmulatedTransport`` to reach its fault injection). For ``emu://`` one is made on the first
    ``open`` and kept, so a reconnect after a link loss finds the same emulated device, with its
    programs, as a real device on a cable would be found again.
    """

    url: str = EMULATOR_URL
    profile: str | None = None
    role: str = "technician"
    data_dir: str | Path | None = None
    operator: str | None = None
    capture: str | Path | None = None
    tethered: bool = False
    profile_paths: Sequence[str | Path] = ()
    transport: Transport | None = field(default=None, repr=False)

    @property
    def is_emulator(self) -> bool:
        return self.url.lower().startswith("emu://")

    def describe(self) -> str:
        """The target in words for the connect screen and the title."""
        if self.is_emulator:
            return f"{self.url} - the built-in emulator (EMULATOR - not a real device)"
        return self.url

    def with_url(self, url: str) -> ConnectTarget:
        """The same options for another port (a transport given for the old URL is not carried over)."""
        return dataclasses.replace(self, url=url, transport=None)

    def open(self) -> Device:
        """Connect (blocking: call it from a worker thread). Raises the ``scsctl.errors`` tree."""
        from ..controller import connect

        if self.transport is None and self.is_emulator:
            self.transport = transport_for_url(self.url)
        return connect(
            self.url,
            self.profile,
            self.role,
            data_dir=self.data_dir,
            operator=self.operator,
            capture=self.capture,
            tethered=self.tethered,
            profile_paths=self.profile_paths,
            transport=self.transport,
        )

    def stop_now(self) -> None:
        """STOP the device at this target without a session (blocking: a worker or the STOP thread).

        ``scsctl.stop_now``: opens the port, sends STOP before anything else, records it, closes.
        For the built-in emulator it is this target's own emulator (its transport reopens), never a
        new one; one that was never started cannot be stimulating, and that is what is said.
        """
        from ..controller import stop_now

        if self.is_emulator and self.transport is None:
            raise PortNotFound(
                f"{self.url}: the built-in emulator was never started, so it is not stimulating; nothing was sent",
                port=self.url,
            )
        stop_now(self.url, data_dir=self.data_dir, operator=self.operator, role=self.role, transport=self.transport)

    def may_share_port(self, other: ConnectTarget) -> bool:
        """Whether this target and ``other`` may be one port (then they must not be open at once)."""
        if self.transport is not None and self.transport is other.transport:
            return True
        if self.is_emulator or other.is_emulator:
            return False  # an emulator in this process is reached only through its own transport object
        return _port_name(self.url) == _port_name(other.url)


def _port_name(url: str) -> str:
    """One name per port: a device path with its links resolved (/dev/serial/by-id/... is a ttyUSB)."""
    text = url.strip()
    return text.lower() if "://" in text else os.path.realpath(text)

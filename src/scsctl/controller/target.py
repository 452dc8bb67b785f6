"""What to connect to, and how: one way of opening a device for every front end (no Textual here)."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from ..audit import default_operator
from ..errors import PortNotFound
from ..transports import Transport, has_line_speed, speed_options, transport_for_url
from .ownership import PortClaim, claim_port, port_keys

DEFAULT_WATCHDOG_MS = 1000
"""The device's watchdog timeout while a session that commands stimulation is open."""

if TYPE_CHECKING:
    from ..trust import Policy
    from .device import Device

__all__ = ["EMULATOR_URL", "ConnectTarget"]

_log = logging.getLogger(__name__)

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
    capture: str | Path | TextIO | None = None
    tethered: bool = False
    watchdog_timeout_ms: int = DEFAULT_WATCHDOG_MS
    profile_paths: Sequence[str | Path] = ()
    baud: int | None = None
    """The line's speed, bits per second (None: the transport's default); reply timeouts follow it."""
    transport: Transport | None = field(default=None, repr=False)
    policy: Policy | None = field(default=None, repr=False)
    """Who may have which role (None: the site policy, as for every front end but tests and rigs)."""
    _opens: int = field(default=0, init=False, repr=False, compare=False)

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
        from . import connect

        if self.transport is None and self.is_emulator:
            self.transport = transport_for_url(self.url, **speed_options(self.url, self.baud))
        self._opens += 1
        if self._opens > 1:
            _log.info("connecting to %s again (connection %d of this session)", self.url, self._opens)
        return connect(
            self.url,
            self.profile,
            self.role,
            data_dir=self.data_dir,
            operator=self.operator,
            capture=self.capture,
            tethered=self.tethered,
            watchdog_timeout_ms=self.watchdog_timeout_ms,
            profile_paths=self.profile_paths,
            # The session's line speed is its serial ports': a USB device chosen on the connect
            # screen has none, and leaves it aside (as $SCSCTL_BAUD does).
            baud=self.baud if has_line_speed(self.url) else None,
            transport=self.transport,
            policy=self.policy,
        )

    def stop_now(self) -> None:
        """STOP the device at this target without a session (blocking: a worker or the STOP thread).

        ``scsctl.stop_now``: opens the port, sends STOP before anything else, records it, closes.
        For the built-in emulator it is this target's own emulator (its transport reopens), never a
        new one; one that was never started cannot be stimulating, and that is what is said.
        """
        from . import stop_now

        if self.is_emulator and self.transport is None:
            raise PortNotFound(
                f"{self.url}: the built-in emulator was never started, so it is not stimulating; nothing was sent",
                port=self.url,
            )
        stop_now(self.url, data_dir=self.data_dir, operator=self.operator, role=self.role, transport=self.transport,
                 baud=self.baud)  # fmt: skip

    def port_claim(self) -> PortClaim:
        """Claim this target's port for this process (``release`` it when done); PortBusy names the holder."""
        url = self.transport.url if self.transport is not None else self.url
        return claim_port(url, operator=self.operator or default_operator())

    def may_share_port(self, other: ConnectTarget) -> bool:
        """Whether this target and ``other`` may be one port (then they must not be open at once)."""
        if self.transport is not None and self.transport is other.transport:
            return True
        return bool(set(port_keys(self.url)) & set(port_keys(other.url)))

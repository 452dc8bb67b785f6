"""Every error scsctl raises. Nothing from pyserial, pyusb, sqlite3 or Construct escapes a layer.

::

    ScsError
    ├── UsageError              a value or argument as written cannot be understood (or carried on
    │   │                       the wire: the codec's LocalProtocolError, wrapped)
    │   └── CaptureDamaged      a line of a wire capture file is not a record (names line, byte, problem)
    ├── ProfileError            a device profile is invalid; lists every problem (file, key, reason)
    │   └── ProfileMismatch     the device's model is not the profile's
    ├── SafetyRefusal           the host's safety guard refused a command (nothing was sent)
    │   ├── AcknowledgementRequired   allowed only once the caller acknowledges a warning
    │   └── NotPermitted        the site policy does not allow it for this user (nothing was sent)
    │       ├── RoleNotGranted  the engineer role asked for by an OS user the policy does not name
    │       └── UntrustedProfile  a clinical tier from a profile that is neither shipped nor the site's
    ├── DeviceRefused           the device answered NAK (it enforces its own limits too)
    ├── LinkError               the device cannot be reached or talked to
    │   ├── TransportError      the port failed (the port is named)
    │   │   ├── PortNotFound    no such port / URL / USB device
    │   │   ├── PortLost        the port vanished while open (cable pulled, re-enumeration)
    │   │   └── PortBusy        another process or host holds the port (the holder is named)
    │   ├── ReplyTimeout        no reply after the allowed retries
    │   ├── LinkLost            heartbeats unanswered: the session is gone
    │   └── ProtocolViolation   the device sent something the protocol does not allow (the
    │                           protocol's RemoteProtocolError, wrapped)
    ├── AuditError              the audit log cannot be written: the action was not carried out
    └── AuditChainBroken        ``log verify``: a record was changed, removed or inserted (names it)

Command-line exit codes follow the tree (see ``EXIT_CODES``). A foreign error (pyserial, pyusb,
sqlite3, the protocol package's) is raised as one of these ``from`` it, so its cause stays attached.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the protocol's enums, not imported at run time (the CLI starts without the codec)
    from firmware_protocol.constants import MessageType, NakReason, Param


class ScsError(Exception):
    """Base of every scsctl error."""

    exit_code = 1


class UsageError(ScsError):
    exit_code = 2


class CaptureDamaged(UsageError):
    """A line of a wire capture file is not a record: ``line`` (from 1), its file byte ``offset``,
    and the ``problem``'s name (``scsctl.link.capture.CaptureProblem``)."""

    def __init__(self, message: str, *, line: int, offset: int, problem: str) -> None:
        super().__init__(message)
        self.line = line
        self.offset = offset
        self.problem = problem


@dataclass(frozen=True)
class ProfileProblem:
    """One thing wrong with a profile file."""

    file: str
    key: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.key}" if self.key else self.file
        return f"{where}: {self.reason}"


class ProfileError(ScsError):
    exit_code = 2

    def __init__(self, problems: list[ProfileProblem] | ProfileProblem) -> None:
        self.problems = problems if isinstance(problems, list) else [problems]
        super().__init__("\n".join(str(p) for p in self.problems))


class ProfileMismatch(ProfileError):
    """Connecting to a device whose IDENTIFY names another model than the profile."""


class SafetyRefusal(ScsError):
    """The guard refused: names the parameter, the value, the limit, the tier and the profile."""

    exit_code = 3

    def __init__(
        self,
        message: str,
        *,
        parameter: str,
        value: object,
        limit: object,
        tier: str,
        profile: str,
    ) -> None:
        super().__init__(message)
        self.parameter = parameter
        self.value = value
        self.limit = limit
        self.tier = tier
        self.profile = profile


class AcknowledgementRequired(SafetyRefusal):
    """Within the hard limits but past a warning level: repeat with the warning acknowledged."""


class NotPermitted(SafetyRefusal):
    """The site policy (``scsctl.trust``) does not give this OS user what was asked; nothing was sent.

    ``parameter`` is ``"role"`` or ``"profile"``; ``limit`` says what the policy allows and where it
    lives, so the message can tell the user whom to ask.
    """


class RoleNotGranted(NotPermitted):
    """The engineer role was asked for by an OS user the site policy does not name."""


class UntrustedProfile(NotPermitted):
    """A technician session on a profile that is not a trusted one (shipped, or the site folder)."""


class DeviceRefused(ScsError):
    """The device answered NAK. ``command``, ``reason`` and ``param`` are the protocol's enums (a
    command code the protocol does not name stays an int); ``index`` is a contact (from 0) or None."""

    exit_code = 4

    def __init__(
        self,
        message: str,
        *,
        command: MessageType | int,
        reason: NakReason,
        param: Param,
        index: int | None,
        limit: int | None,
    ) -> None:
        super().__init__(message)
        self.command = command
        self.reason = reason
        self.param = param
        self.index = index
        self.limit = limit


class LinkError(ScsError):
    exit_code = 5


class TransportError(LinkError):
    def __init__(self, message: str, *, port: str) -> None:
        super().__init__(message)
        self.port = port


class PortNotFound(TransportError):
    pass


class PortLost(TransportError):
    pass


class PortBusy(TransportError):
    """Another process (or host) holds the port; ``holder`` says who, as far as can be seen."""

    def __init__(self, message: str, *, port: str, holder: object = None) -> None:
        super().__init__(message, port=port)
        self.holder = holder


class NotADevice(TransportError):
    """The port is a terminal someone uses (a shell's, a login's): nothing is sent to it, not even
    a STOP beside its holder."""


class ReplyTimeout(LinkError):
    pass


class LinkLost(LinkError):
    pass


class ProtocolViolation(LinkError):
    pass


class AuditError(ScsError):
    exit_code = 6


class AuditChainBroken(ScsError):
    """The audit log's hash chain does not hold: ``record_id`` names the first record found wrong."""

    exit_code = 8

    def __init__(self, message: str, *, record_id: int | None) -> None:
        super().__init__(message)
        self.record_id = record_id


EXIT_CODES = {
    0: "success",
    1: "unexpected error (a bug: please report it with the audit log)",
    2: "usage error: a bad argument, value or profile file",
    3: "refused by the host's safety guard or the site policy (nothing was sent)",
    4: "refused by the device (NAK)",
    5: "link or transport failure",
    6: "the audit log could not be written (the message says whether the action was carried out)",
    7: "capture replay: the device answered differently from the recording",
    8: "log verify: the audit log's hash chain is broken (a record was changed, removed or inserted)",
    9: "capture decode/export: part of the capture did not decode (a damaged line or an invalid frame); the "
    "rest was printed",
}

"""Faults injected at the firmware level (byte and frame faults belong to the runtime's line model).

Each fault is a small value handed to ``Firmware.inject``; timed ones fire at ``at_s`` on the
firmware's clock (None: at once). ``parse_firmware_fault`` reads the command-line form, so
``scsctl emulator --fault ...`` and tests describe faults the same way::

    nak=BUSY              answer the next command (STOP excepted) with NAK BUSY
    nak=WRONG_STATE:START answer the next START with NAK WRONG_STATE
    lead-open=3@5         contact number 3 (index 2) goes open circuit 5 s from now
    lead-short=9          contact number 9 shorts now
    battery=1@60          battery level drops to 1 % at 60 s (end of service)
    stall=2.5@10          stop answering for 2.5 s, 10 s from now
    reboot@30             power cycle at 30 s
    hardware=7@1          hardware fault (code 7) at 1 s

Contact numbers on the command line are 1-based, as users see them; the Python values hold the
0-based index the wire uses. Given the model, ``parse_firmware_fault`` also refuses a contact the
model does not have. Every refusal is a ValueError naming the spec and what is wrong with it (the
command line turns it into its usage error): nothing is rounded, clamped or left to fail later.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TypeVar

from firmware_protocol.constants import NO_INDEX, MessageType, NakReason, Param

from .models import FirmwareModel

_U16 = 0xFFFF


@dataclass(frozen=True, slots=True)
class NakNext:
    """Answer the next command of type ``command`` (None: any but STOP) with this NAK, unexecuted.

    STOP is only refused when named: the real firmware's STOP path never NAKs, so a fault plan
    that says "the next command" does not silently break the rule that stopping always works.
    """

    reason: NakReason
    command: MessageType | None = None
    param: Param = Param.NONE
    index: int = NO_INDEX
    limit: int = 0
    count: int = 1


def _check_at(at_s: float | None) -> None:
    if at_s is not None and not math.isfinite(at_s):
        raise ValueError(f"fault time {at_s} s is not a finite number")


@dataclass(frozen=True, slots=True)
class _ContactFault:
    """Something that happens to one contact (0-based index), now or at ``at_s``."""

    contact_index: int
    at_s: float | None = None

    def __post_init__(self) -> None:
        _check_contact_index(self.contact_index)
        _check_at(self.at_s)


@dataclass(frozen=True, slots=True)
class LeadOpen(_ContactFault):
    """The contact's circuit opens (a broken lead)."""


@dataclass(frozen=True, slots=True)
class LeadShort(_ContactFault):
    """The contact shorts (to another contact or the case)."""


@dataclass(frozen=True, slots=True)
class LeadRepair(_ContactFault):
    """The open or short contact is intact again (a reconnected lead)."""


@dataclass(frozen=True, slots=True)
class BatteryLevel:
    """The battery jumps to ``percent`` (depletion, or a fresh battery when high)."""

    percent: float
    at_s: float | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.percent <= 100:  # NaN fails this too
            raise ValueError(f"battery level {self.percent} % is outside 0..100")
        _check_at(self.at_s)


@dataclass(frozen=True, slots=True)
class Stall:
    """The firmware stops answering for ``duration_s``: frames wait, then are handled in order.

    Output, ramps, cycling and the watchdog keep running on their timers meanwhile.
    """

    duration_s: float
    at_s: float | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.duration_s) and self.duration_s >= 0):
            raise ValueError(f"stall duration {self.duration_s} s must be a finite number, 0 or more")
        _check_at(self.at_s)


@dataclass(frozen=True, slots=True)
class Reboot:
    at_s: float | None = None

    def __post_init__(self) -> None:
        _check_at(self.at_s)


@dataclass(frozen=True, slots=True)
class HardwareFault:
    code: int = 1
    """Sent as the ``detail`` of EVENT_FAULT HARDWARE, a u16."""
    at_s: float | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.code <= _U16:
            raise ValueError(f"hardware fault code {self.code} is outside 0..{_U16}")
        _check_at(self.at_s)


def _check_contact_index(index: int) -> None:
    if index < 0:
        raise ValueError(f"contact index {index} is negative")


TimedFault = LeadOpen | LeadShort | LeadRepair | BatteryLevel | Stall | Reboot | HardwareFault
FirmwareFault = NakNext | TimedFault

_E = TypeVar("_E", NakReason, MessageType)

FIRMWARE_FAULT_NAMES = frozenset({"nak", "lead-open", "lead-short", "lead-repair", "battery", "stall", "reboot",
                                  "hardware"})  # fmt: skip
"""The names ``parse_firmware_fault`` knows (the part of a spec before ``=`` or ``@``)."""


def is_firmware_fault(spec: str) -> bool:
    """Whether ``spec`` names a firmware fault (it may still be wrong in its values)."""
    return spec.strip().partition("@")[0].partition("=")[0].strip().lower() in FIRMWARE_FAULT_NAMES


def parse_firmware_fault(spec: str, now_s: float = 0.0, model: FirmwareModel | None = None) -> FirmwareFault:
    """Read one ``--fault`` value; ``@T`` is T seconds after ``now_s``. Raises ValueError.

    With ``model``, a contact number the model does not have is refused as well.
    """
    text = spec.strip()
    at_s: float | None = None
    if "@" in text:
        text, _, when = text.partition("@")
        at_s = now_s + _number(when, spec, "time")
    name, _, arg = text.partition("=")
    name = name.strip().lower()
    if name == "nak":
        reason_name, _, command_name = arg.partition(":")
        reason = _enum(NakReason, reason_name, spec)
        command = _enum(MessageType, command_name, spec) if command_name else None
        if at_s is not None:
            raise ValueError(f"fault {spec!r}: nak applies to the next command and takes no @time")
        return NakNext(reason, command)
    if name in ("lead-open", "lead-short", "lead-repair"):
        number = _whole(arg, spec, "contact number")
        if number < 1:
            raise ValueError(f"fault {spec!r}: contact numbers start at 1")
        if model is not None and number > model.contact_count:
            raise ValueError(
                f"fault {spec!r}: contact {number} does not exist on {model.name}, "
                f"whose contacts are numbered 1..{model.contact_count}"
            )
        if name == "lead-open":
            return LeadOpen(number - 1, at_s)
        if name == "lead-short":
            return LeadShort(number - 1, at_s)
        return LeadRepair(number - 1, at_s)
    if name == "battery":
        percent = _number(arg, spec, "battery level")
        if percent > 100:
            raise ValueError(f"fault {spec!r}: battery level {arg.strip()!r} is above 100 %")
        return BatteryLevel(percent, at_s)
    if name == "stall":
        return Stall(_number(arg, spec, "duration"), at_s)
    if name == "reboot" and not arg:
        return Reboot(at_s)
    if name == "hardware":
        code = _whole(arg, spec, "code") if arg else 1
        if code > _U16:
            raise ValueError(f"fault {spec!r}: code {code} is above {_U16} (it is sent as a 16-bit detail)")
        return HardwareFault(code, at_s)
    raise ValueError(
        f"unknown firmware fault {spec!r}; expected nak=REASON[:COMMAND], lead-open=N, lead-short=N, "
        "lead-repair=N, battery=PCT, stall=SECONDS, reboot or hardware[=CODE], each with an optional @T"
    )


def _number(text: str, spec: str, what: str) -> float:
    try:
        if not text.isascii():  # float() also reads full-width and other scripts' digits
            raise ValueError(text)
        value = float(text)
    except ValueError:
        raise ValueError(f"fault {spec!r}: {what} {text.strip()!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"fault {spec!r}: {what} {text.strip()!r} is not a finite number")
    if value < 0:
        raise ValueError(f"fault {spec!r}: {what} {text.strip()!r} must not be negative")
    return value


def _whole(text: str, spec: str, what: str) -> int:
    """A whole number: 2.5 is refused rather than cut to 2."""
    value = _number(text, spec, what)
    if not value.is_integer():
        raise ValueError(f"fault {spec!r}: {what} {text.strip()!r} is not a whole number")
    return int(value)


def _enum(cls: type[_E], text: str, spec: str) -> _E:
    try:
        return cls[text.strip().upper()]
    except KeyError:
        names = ", ".join(m.name for m in cls)
        raise ValueError(f"fault {spec!r}: {text!r} is not one of {names}") from None

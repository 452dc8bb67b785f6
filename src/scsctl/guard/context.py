"""What the guard is told (``DeviceContext``, ``Role``) and what it answers (``Approved``).

All values are immutable: the controller builds a fresh ``DeviceContext`` from what it last read
back from the device for every command it asks about, with ``DeviceContext.from_status`` (the one
constructor from a device's status, which displays use too).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from firmware_protocol.constants import NO_SLOT, OUTPUT_STATES, ImpedanceStatus, StatusFlags
from firmware_protocol.messages import Impedance, ImpedanceReading, Message, Program, Status

from ..profiles.models import TierName

__all__ = [
    "ROLE_TIERS",
    "WARNING_CHARGE_DENSITY",
    "WARNING_PATIENT_MAX_CHARGE_DENSITY",
    "Approved",
    "DeviceContext",
    "GuardWarning",
    "ImpedanceRecord",
    "Role",
]

WARNING_CHARGE_DENSITY = "charge-density"
"""Warning id: a contact's charge density is above the profile's warning level (below the hard limit)."""

WARNING_PATIENT_MAX_CHARGE_DENSITY = "patient-max-charge-density"
"""Warning id: at the program's patient maximum a contact's charge density would be above the warning level."""


class Role(StrEnum):
    """Who is at the keyboard. The role fixes the tier; nothing else does."""

    TECHNICIAN = "technician"
    ENGINEER = "engineer"


ROLE_TIERS: Mapping[Role, TierName] = MappingProxyType({
    Role.TECHNICIAN: TierName.CLINICAL,
    Role.ENGINEER: TierName.ENGINEERING,
})  # fmt: skip


@dataclass(frozen=True, slots=True)
class ImpedanceRecord:
    """The last impedance check: one reading per contact (contact number i + 1 at index i).

    ``measured_at_s`` is on the same monotonic clock as ``DeviceContext.now_s``.
    """

    readings: tuple[ImpedanceReading, ...]
    measured_at_s: float

    @classmethod
    def from_reply(cls, reply: Impedance, measured_at_s: float) -> ImpedanceRecord:
        return cls(tuple(reply.contacts), measured_at_s)

    @classmethod
    def uniform(cls, impedance_ohm: int, contact_count: int, measured_at_s: float) -> ImpedanceRecord:
        """Every contact reading ``impedance_ohm`` (handy for tests and demos)."""
        reading = ImpedanceReading(impedance_ohm, ImpedanceStatus.OK)
        return cls((reading,) * contact_count, measured_at_s)


def _no_programs() -> Mapping[int, Program]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class DeviceContext:
    """The device as the controller last read it back.

    ``stimulating``: a program is running (any output state, cycling off included).
    ``running_slot``: its slot, when stimulating. ``selected_slot``: what START with slot 0xFF starts.
    ``present_amplitude_ua``: the running program's set-point (a tentative change included).
    ``programs``: the programs the device holds, by slot, as read back; a slot absent here holds
    no program the host knows of. ``impedance``: the last impedance check, if any. ``now_s``: the
    monotonic clock now (the one ``impedance.measured_at_s`` was taken on). ``tethered``: the
    device's watchdog is armed to stop all output when the host goes quiet (its status says so).
    """

    stimulating: bool = False
    running_slot: int | None = None
    selected_slot: int | None = None
    present_amplitude_ua: int = 0
    programs: Mapping[int, Program] = field(default_factory=_no_programs)
    impedance: ImpedanceRecord | None = None
    now_s: float = 0.0
    tethered: bool = False

    @classmethod
    def from_status(
        cls,
        status: Status | None,
        programs: Mapping[int, Program],
        *,
        impedance: ImpedanceRecord | None = None,
        now_s: float,
    ) -> DeviceContext:
        """The one way to build a context from the device: its status (None: not read yet, nothing
        runs) and the programs read back from it. The controller builds it from a status it has
        just read; a display from its last read-backs, to mark what the guard would refuse."""
        if status is None:
            return cls(programs=MappingProxyType(dict(programs)), impedance=impedance, now_s=now_s)
        stimulating = status.state in OUTPUT_STATES
        slot = None if status.active_slot == NO_SLOT else status.active_slot
        return cls(
            stimulating=stimulating,
            running_slot=slot if stimulating else None,
            selected_slot=slot,
            present_amplitude_ua=status.setpoint_ua,
            programs=MappingProxyType(dict(programs)),
            impedance=impedance,
            now_s=now_s,
            tethered=bool(status.status_flags & StatusFlags.STOP_ON_LINK_LOSS),
        )


@dataclass(frozen=True, slots=True)
class GuardWarning:
    """Something allowed only once the user has acknowledged it; ``id`` is stable (pass it back)."""

    id: str
    parameter: str
    message: str


@dataclass(frozen=True, slots=True)
class Approved:
    """What may go on the wire, in order.

    ``messages``: send them one after the other, each once its predecessor was acknowledged, waiting
    ``step_interval_ms`` between them (non-zero only for an amplitude ramp). ``warnings``: the
    acknowledged warnings this approval rests on (for the audit log). ``notices``: things the user
    must be shown (e.g. "ramping in 6 steps", "compliance not checked: no impedance measurement").
    """

    messages: tuple[Message, ...]
    warnings: tuple[GuardWarning, ...] = ()
    notices: tuple[str, ...] = ()
    step_interval_ms: int = 0

    @property
    def step_interval_s(self) -> float:
        """``step_interval_ms`` in seconds (for ``time.sleep``)."""
        return self.step_interval_ms / 1000

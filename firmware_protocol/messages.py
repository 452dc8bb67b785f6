"""Typed messages: one frozen dataclass per message type, field names as on the wire.

A message object holds only its payload; the frame's sequence number travels beside it in a
:class:`firmware_protocol.codec.Frame`. Enumerated fields hold the enums of ``constants.py``; every
other field is an integer in the unit its name ends with.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import IntEnum, IntFlag
from typing import Any, ClassVar

from .constants import (
    MAX_CONTACTS,
    MAX_USAGE_EVENTS,
    NO_INDEX,
    NO_SLOT,
    PROTOCOL_VERSION,
    AmplitudeFlags,
    Capability,
    EventCode,
    FaultCode,
    FaultFlags,
    HeartbeatFlags,
    ImpedanceStatus,
    MessageType,
    NakReason,
    Param,
    Polarity,
    Recharge,
    State,
    StateCause,
    StatusFlags,
    Waveform,
)


@dataclass(frozen=True, slots=True)
class ContactSetting:
    """One contact of a program: its polarity and its share of that polarity's current."""

    polarity: Polarity = Polarity.OFF
    share_pct: int = 0


@dataclass(frozen=True, slots=True)
class Program:
    """A stimulation program as stored in a device slot. ``contacts[i]`` is contact number i+1."""

    slot: int
    amplitude_ua: int
    pulse_width_us: int
    rate_dhz: int
    contacts: tuple[ContactSetting, ...]
    waveform: Waveform = Waveform.TONIC
    burst_pulses: int = 0
    intra_burst_rate_dhz: int = 0
    recharge: Recharge = Recharge.ACTIVE
    cycle_on_s: int = 0
    cycle_off_s: int = 0
    ramp_up_ms: int = 0
    ramp_down_ms: int = 0
    patient_max_ua: int = 0


@dataclass(frozen=True, slots=True)
class ImpedanceReading:
    impedance_ohm: int
    status: ImpedanceStatus


@dataclass(frozen=True, slots=True)
class UsageEvent:
    device_time_s: int
    code: EventCode
    detail: int = 0


class Message:
    """Base of every message class; ``TYPE`` is its type byte."""

    __slots__ = ()
    TYPE: ClassVar[MessageType]


# --- commands (host -> device) -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hello(Message):
    TYPE: ClassVar[MessageType] = MessageType.HELLO
    min_version: int = PROTOCOL_VERSION
    max_version: int = PROTOCOL_VERSION


@dataclass(frozen=True, slots=True)
class GetStatus(Message):
    TYPE: ClassVar[MessageType] = MessageType.GET_STATUS


@dataclass(frozen=True, slots=True)
class Heartbeat(Message):
    TYPE: ClassVar[MessageType] = MessageType.HEARTBEAT
    watchdog_timeout_ms: int
    flags: HeartbeatFlags = HeartbeatFlags.NONE


@dataclass(frozen=True, slots=True)
class SetProgram(Message):
    TYPE: ClassVar[MessageType] = MessageType.SET_PROGRAM
    program: Program


@dataclass(frozen=True, slots=True)
class ReadProgram(Message):
    TYPE: ClassVar[MessageType] = MessageType.READ_PROGRAM
    slot: int


@dataclass(frozen=True, slots=True)
class SelectProgram(Message):
    TYPE: ClassVar[MessageType] = MessageType.SELECT_PROGRAM
    slot: int


@dataclass(frozen=True, slots=True)
class Start(Message):
    TYPE: ClassVar[MessageType] = MessageType.START
    slot: int = NO_SLOT


@dataclass(frozen=True, slots=True)
class Stop(Message):
    TYPE: ClassVar[MessageType] = MessageType.STOP


@dataclass(frozen=True, slots=True)
class SetAmplitude(Message):
    TYPE: ClassVar[MessageType] = MessageType.SET_AMPLITUDE
    amplitude_ua: int
    flags: AmplitudeFlags = AmplitudeFlags.NONE

    @property
    def commit(self) -> bool:
        return bool(self.flags & AmplitudeFlags.COMMIT)


@dataclass(frozen=True, slots=True)
class MeasureImpedance(Message):
    TYPE: ClassVar[MessageType] = MessageType.MEASURE_IMPEDANCE


@dataclass(frozen=True, slots=True)
class GetUsage(Message):
    TYPE: ClassVar[MessageType] = MessageType.GET_USAGE
    first_event: int = 0
    max_events: int = 0


@dataclass(frozen=True, slots=True)
class GetCounters(Message):
    """Optional (Capability.COUNTERS): the device's receiver and NAK counters since power-on."""

    TYPE: ClassVar[MessageType] = MessageType.GET_COUNTERS


# --- replies (device -> host, carrying the request's seq) ----------------------------------------


@dataclass(frozen=True, slots=True)
class Nak(Message):
    TYPE: ClassVar[MessageType] = MessageType.NAK
    command: int
    reason: NakReason
    param: Param = Param.NONE
    index: int = NO_INDEX
    limit: int = 0


@dataclass(frozen=True, slots=True)
class Identify(Message):
    TYPE: ClassVar[MessageType] = MessageType.IDENTIFY
    model_id: int
    hardware_revision: int
    firmware_major: int
    firmware_minor: int
    firmware_patch: int
    serial_number: str
    protocol_version: int
    contact_count: int
    program_slots: int
    capabilities: Capability

    @property
    def firmware_version(self) -> str:
        return f"{self.firmware_major}.{self.firmware_minor}.{self.firmware_patch}"


@dataclass(frozen=True, slots=True)
class Status(Message):
    TYPE: ClassVar[MessageType] = MessageType.STATUS
    state: State
    active_slot: int
    amplitude_ua: int
    setpoint_ua: int
    battery_pct: int
    battery_mv: int
    fault_flags: FaultFlags
    status_flags: StatusFlags
    uptime_s: int


@dataclass(frozen=True, slots=True)
class HeartbeatAck(Message):
    TYPE: ClassVar[MessageType] = MessageType.HEARTBEAT_ACK


@dataclass(frozen=True, slots=True)
class SetProgramAck(Message):
    TYPE: ClassVar[MessageType] = MessageType.SET_PROGRAM_ACK


@dataclass(frozen=True, slots=True)
class ProgramData(Message):
    """Reply to READ_PROGRAM (type PROGRAM)."""

    TYPE: ClassVar[MessageType] = MessageType.PROGRAM
    program: Program


@dataclass(frozen=True, slots=True)
class SelectProgramAck(Message):
    TYPE: ClassVar[MessageType] = MessageType.SELECT_PROGRAM_ACK


@dataclass(frozen=True, slots=True)
class StartAck(Message):
    TYPE: ClassVar[MessageType] = MessageType.START_ACK


@dataclass(frozen=True, slots=True)
class StopAck(Message):
    TYPE: ClassVar[MessageType] = MessageType.STOP_ACK


@dataclass(frozen=True, slots=True)
class SetAmplitudeAck(Message):
    TYPE: ClassVar[MessageType] = MessageType.SET_AMPLITUDE_ACK


@dataclass(frozen=True, slots=True)
class Impedance(Message):
    TYPE: ClassVar[MessageType] = MessageType.IMPEDANCE
    contacts: tuple[ImpedanceReading, ...]


@dataclass(frozen=True, slots=True)
class Usage(Message):
    TYPE: ClassVar[MessageType] = MessageType.USAGE
    stimulation_s: int
    start_count: int
    amplitude_change_count: int
    power_on_count: int
    fault_count: int
    event_total: int
    events: tuple[UsageEvent, ...] = ()


@dataclass(frozen=True, slots=True)
class Counters(Message):
    """Reply to GET_COUNTERS: what the device's receiver saw and what it sent, since power-on.

    Counts saturate at 0xFFFFFFFF. ``frames_received`` includes the GET_COUNTERS being answered;
    ``frames_sent`` counts the frames sent before this reply.
    """

    TYPE: ClassVar[MessageType] = MessageType.COUNTERS
    frames_received: int
    invalid_frames: int
    discarded_bytes: int
    frames_sent: int
    naks_sent: int
    bad_crc_naks: int


# --- events (device -> host, unsolicited, device's own seq) --------------------------------------


@dataclass(frozen=True, slots=True)
class EventState(Message):
    TYPE: ClassVar[MessageType] = MessageType.EVENT_STATE
    old_state: State
    new_state: State
    cause: StateCause
    amplitude_ua: int


@dataclass(frozen=True, slots=True)
class EventFault(Message):
    TYPE: ClassVar[MessageType] = MessageType.EVENT_FAULT
    fault: FaultCode
    contact: int = NO_INDEX
    detail: int = 0
    fault_flags: FaultFlags = FaultFlags.NONE


@dataclass(frozen=True, slots=True)
class EventImpedanceWarning(Message):
    TYPE: ClassVar[MessageType] = MessageType.EVENT_IMPEDANCE_WARNING
    contact: int
    impedance_ohm: int
    status: ImpedanceStatus


MESSAGE_CLASSES: dict[MessageType, type[Message]] = {
    cls.TYPE: cls
    for cls in (
        Hello,
        GetStatus,
        Heartbeat,
        SetProgram,
        ReadProgram,
        SelectProgram,
        Start,
        Stop,
        SetAmplitude,
        MeasureImpedance,
        GetUsage,
        GetCounters,
        Nak,
        Identify,
        Status,
        HeartbeatAck,
        SetProgramAck,
        ProgramData,
        SelectProgramAck,
        StartAck,
        StopAck,
        SetAmplitudeAck,
        Impedance,
        Usage,
        Counters,
        EventState,
        EventFault,
        EventImpedanceWarning,
    )
}

RESPONSE_TYPES: dict[MessageType, MessageType] = {
    MessageType.HELLO: MessageType.IDENTIFY,
    MessageType.GET_STATUS: MessageType.STATUS,
    MessageType.HEARTBEAT: MessageType.HEARTBEAT_ACK,
    MessageType.SET_PROGRAM: MessageType.SET_PROGRAM_ACK,
    MessageType.READ_PROGRAM: MessageType.PROGRAM,
    MessageType.SELECT_PROGRAM: MessageType.SELECT_PROGRAM_ACK,
    MessageType.START: MessageType.START_ACK,
    MessageType.STOP: MessageType.STOP_ACK,
    MessageType.SET_AMPLITUDE: MessageType.SET_AMPLITUDE_ACK,
    MessageType.MEASURE_IMPEDANCE: MessageType.IMPEDANCE,
    MessageType.GET_USAGE: MessageType.USAGE,
    MessageType.GET_COUNTERS: MessageType.COUNTERS,
}
"""The positive reply each command is answered with (always ``command | 0x80``)."""

# Which enum each enumerated wire field holds, and which NAK parameter names it.
ENUM_FIELDS: dict[str, tuple[type[IntEnum], Param]] = {
    "polarity": (Polarity, Param.CONTACT_POLARITY),
    "waveform": (Waveform, Param.WAVEFORM),
    "recharge": (Recharge, Param.RECHARGE),
    "reason": (NakReason, Param.NONE),
    "param": (Param, Param.NONE),
    "state": (State, Param.NONE),
    "old_state": (State, Param.NONE),
    "new_state": (State, Param.NONE),
    "cause": (StateCause, Param.NONE),
    "fault": (FaultCode, Param.NONE),
    "status": (ImpedanceStatus, Param.NONE),
    "code": (EventCode, Param.NONE),
}
FLAG_FIELDS: dict[str, type[IntFlag]] = {
    "capabilities": Capability,
    "fault_flags": FaultFlags,
    "status_flags": StatusFlags,
}
# Arrays the protocol bounds below what their count byte could say (PROTOCOL.md 15, decision 8):
# the most entries, and the NAK param a larger count is answered with.
ARRAY_LIMITS: dict[str, tuple[int, Param]] = {
    "contacts": (MAX_CONTACTS, Param.CONTACT_COUNT),
    "events": (MAX_USAGE_EVENTS, Param.EVENT_INDEX),
}
# 'flags' means a different IntFlag per message.
MESSAGE_FLAGS: dict[MessageType, type[IntFlag]] = {
    MessageType.HEARTBEAT: HeartbeatFlags,
    MessageType.SET_AMPLITUDE: AmplitudeFlags,
}

_PROGRAM_FIELDS = tuple(f.name for f in fields(Program))


def to_fields(message: Message) -> dict[str, Any]:
    """The wire fields of a message as plain integers, strings and lists (for JSON and Construct)."""
    out: dict[str, Any] = {}
    for f in fields(message):  # type: ignore[arg-type]
        value = getattr(message, f.name)
        if isinstance(value, Program):
            out.update(_program_fields(value))
        elif isinstance(value, tuple):
            out[f.name] = [_plain(item) for item in value]
        else:
            out[f.name] = int(value) if isinstance(value, int) else value
    return out


def to_readable(message: Message | Program) -> dict[str, Any]:
    """Like ``to_fields`` but enums by name (flags as lists of names): for logs people read."""
    out: dict[str, Any] = {}
    for f in fields(message):  # type: ignore[arg-type]
        value = getattr(message, f.name)
        if isinstance(value, Program):
            out.update(to_readable(value))
        elif isinstance(value, tuple):
            out[f.name] = [to_readable(item) if hasattr(item, "__dataclass_fields__") else item for item in value]
        elif hasattr(value, "__dataclass_fields__"):
            out[f.name] = to_readable(value)
        else:
            out[f.name] = _readable(value)
    return out


def _readable(value: Any) -> Any:
    if isinstance(value, IntFlag):
        return [flag.name for flag in type(value) if flag and flag in value]
    if isinstance(value, IntEnum):
        return value.name
    return value


def _plain(item: Any) -> dict[str, Any]:
    return {f.name: int(getattr(item, f.name)) for f in fields(item)}


def _program_fields(program: Program) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in _PROGRAM_FIELDS:
        value = getattr(program, name)
        out[name] = [_plain(c) for c in value] if name == "contacts" else int(value)
    return out

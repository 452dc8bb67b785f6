"""Numbers every implementation of the scsctl wire protocol must agree on.

Everything here is part of the wire contract described in ``PROTOCOL.md``: changing a value is a
protocol version change. Integers only; every physical quantity carries its unit in its name.
"""

from __future__ import annotations

from enum import IntEnum, IntFlag

SYNC = b"\xa5\xc3"
"""Two bytes that open every frame. 0xC3 != 0xA5 ^ 0xFF, so a sync pair never passes as a header."""

HEADER_SIZE = 6
"""sync (2) + length (1) + length check (1) + type (1) + seq (1)."""

CRC_SIZE = 2
MAX_PAYLOAD = 255
"""The length byte bounds every payload; no message needs more (see PROTOCOL.md, 'Sizes')."""

MAX_FRAME = HEADER_SIZE + MAX_PAYLOAD + CRC_SIZE

PROTOCOL_VERSION = 1
"""The one version this package speaks. HELLO offers a range; IDENTIFY answers the agreed one."""

MAX_CONTACTS = 32
SERIAL_NUMBER_SIZE = 16
MAX_USAGE_EVENTS = 32
"""Most event-log entries one USAGE reply carries (7 bytes each)."""

NO_SLOT = 0xFF
"""Slot byte meaning 'none' (STATUS) or 'the selected program' (START)."""

NO_INDEX = 0xFF
"""Contact/index byte meaning 'not about one contact'."""

IMPEDANCE_OVER_RANGE_OHM = 0xFFFF
"""Impedance reading for a contact the device could not drive (open circuit)."""

WATCHDOG_MIN_MS = 50
WATCHDOG_MAX_MS = 60_000


class MessageType(IntEnum):
    """The type byte. Commands 0x01-0x3F; their reply is 0x80 | command; NAK 0x7F; events 0xE0+."""

    HELLO = 0x01
    GET_STATUS = 0x02
    HEARTBEAT = 0x03
    SET_PROGRAM = 0x10
    READ_PROGRAM = 0x11
    SELECT_PROGRAM = 0x12
    START = 0x20
    STOP = 0x21
    SET_AMPLITUDE = 0x22
    MEASURE_IMPEDANCE = 0x30
    GET_USAGE = 0x31
    GET_COUNTERS = 0x32

    NAK = 0x7F

    IDENTIFY = 0x81
    STATUS = 0x82
    HEARTBEAT_ACK = 0x83
    SET_PROGRAM_ACK = 0x90
    PROGRAM = 0x91
    SELECT_PROGRAM_ACK = 0x92
    START_ACK = 0xA0
    STOP_ACK = 0xA1
    SET_AMPLITUDE_ACK = 0xA2
    IMPEDANCE = 0xB0
    USAGE = 0xB1
    COUNTERS = 0xB2

    EVENT_STATE = 0xE0
    EVENT_FAULT = 0xE1
    EVENT_IMPEDANCE_WARNING = 0xE2


REPLY_BIT = 0x80
EVENT_MIN = 0xE0


def is_command(msg_type: int) -> bool:
    return 0x01 <= msg_type <= 0x3F


def is_event(msg_type: int) -> bool:
    return msg_type >= EVENT_MIN


def is_reply(msg_type: int) -> bool:
    return msg_type == MessageType.NAK or REPLY_BIT <= msg_type < EVENT_MIN


def reply_type_for(command: int) -> int:
    """The positive reply type for a command type."""
    return command | REPLY_BIT


class NakReason(IntEnum):
    BAD_CRC = 1
    UNKNOWN_COMMAND = 2
    BAD_LENGTH = 3
    OUT_OF_RANGE = 4
    WRONG_STATE = 5
    BUSY = 6
    NOT_PERMITTED = 7
    UNSUPPORTED_VERSION = 8
    EMPTY_SLOT = 9


class Param(IntEnum):
    """Which parameter a NAK (OUT_OF_RANGE, mostly) is about."""

    NONE = 0
    SLOT = 1
    AMPLITUDE = 2
    PULSE_WIDTH = 3
    RATE = 4
    WAVEFORM = 5
    BURST_PULSES = 6
    INTRA_BURST_RATE = 7
    RECHARGE = 8
    CYCLE_ON = 9
    CYCLE_OFF = 10
    RAMP_UP = 11
    RAMP_DOWN = 12
    PATIENT_MAX = 13
    CONTACT_COUNT = 14
    CONTACT_POLARITY = 15
    CONTACT_SHARE = 16
    CONTACT_CURRENT = 17
    TOTAL_CURRENT = 18
    CHARGE_PER_PHASE = 19
    CHARGE_DENSITY = 20
    COMPLIANCE = 21
    AMPLITUDE_STEP = 22
    WATCHDOG_TIMEOUT = 23
    PROTOCOL_VERSION = 24
    EVENT_INDEX = 25
    FLAGS = 26


class State(IntEnum):
    IDLE = 0
    PROGRAMMED = 1
    RAMPING_UP = 2
    STIMULATING = 3
    RAMPING_DOWN = 4
    CYCLING_OFF = 5
    FAULT = 6


OUTPUT_STATES = frozenset({State.RAMPING_UP, State.STIMULATING, State.RAMPING_DOWN, State.CYCLING_OFF})
"""States in which a program is running (cycling off included: output resumes on schedule)."""


class Polarity(IntEnum):
    OFF = 0
    ANODE = 1
    CATHODE = 2


class Waveform(IntEnum):
    TONIC = 0
    BURST = 1
    HIGH_FREQUENCY = 2


class Recharge(IntEnum):
    ACTIVE = 0
    PASSIVE = 1


class ImpedanceStatus(IntEnum):
    OK = 0
    OPEN = 1
    SHORT = 2
    HIGH = 3
    LOW = 4
    NOT_MEASURED = 5


class FaultCode(IntEnum):
    LEAD_OPEN = 1
    LEAD_SHORT = 2
    OVER_COMPLIANCE = 3
    BATTERY_LOW = 4
    END_OF_SERVICE = 5
    WATCHDOG_EXPIRY = 6
    HARDWARE = 7


class FaultFlags(IntFlag):
    """Bit n-1 set while fault code n is active."""

    NONE = 0
    LEAD_OPEN = 1 << 0
    LEAD_SHORT = 1 << 1
    OVER_COMPLIANCE = 1 << 2
    BATTERY_LOW = 1 << 3
    END_OF_SERVICE = 1 << 4
    WATCHDOG_EXPIRY = 1 << 5
    HARDWARE = 1 << 6


class StateCause(IntEnum):
    COMMAND = 0
    RAMP_DONE = 1
    CYCLE = 2
    WATCHDOG = 3
    FAULT = 4
    BATTERY = 5
    POWER_ON = 6


class Capability(IntFlag):
    NONE = 0
    TONIC = 1 << 0
    BURST = 1 << 1
    HIGH_FREQUENCY = 1 << 2
    ACTIVE_RECHARGE = 1 << 3
    PASSIVE_RECHARGE = 1 << 4
    CYCLING = 1 << 5
    IMPEDANCE = 1 << 6
    USAGE_LOG = 1 << 7
    TENTATIVE_AMPLITUDE = 1 << 8
    COUNTERS = 1 << 9
    """GET_COUNTERS is answered (an optional command: a device without it answers UNKNOWN_COMMAND)."""


class StatusFlags(IntFlag):
    NONE = 0
    TENTATIVE = 1 << 0
    """A live amplitude change is in force but not committed: link loss reverts it."""
    SESSION_OPEN = 1 << 1
    """A host's heartbeat watchdog is armed."""
    STOP_ON_LINK_LOSS = 1 << 2
    """The armed watchdog stops all output when it expires (tethered session)."""
    IMPEDANCE_FRESH = 1 << 3
    """An impedance check ran since the last power-on or lead fault."""


class HeartbeatFlags(IntFlag):
    NONE = 0
    STOP_ON_LOSS = 1 << 0


class AmplitudeFlags(IntFlag):
    NONE = 0
    COMMIT = 1 << 0
    """The change is saved into the running program; without it, it is tentative."""


class EventCode(IntEnum):
    """Codes of the device's event log (USAGE entries)."""

    POWER_ON = 1
    PROGRAM_WRITTEN = 2
    PROGRAM_SELECTED = 3
    STIMULATION_STARTED = 4
    STIMULATION_STOPPED = 5
    AMPLITUDE_COMMITTED = 6
    TENTATIVE_REVERTED = 7
    WATCHDOG_EXPIRED = 8
    FAULT = 9
    IMPEDANCE_MEASURED = 10
    BATTERY_LOW = 11
    END_OF_SERVICE = 12

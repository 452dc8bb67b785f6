"""The wire format, defined once with Construct.

This module is the single definition of every byte on the line. ``PROTOCOL.md`` describes the same
layouts in prose for firmware authors; ``messages.py`` gives each payload a typed object whose
field names are these field names. All integers are little-endian and unsigned.

Frame (see PROTOCOL.md, 'Frame')::

    sync 0xA5 0xC3 | length | length ^ 0xFF | type | seq | payload[length] | crc16 (LE)

The CRC is CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final xor) over every
byte from ``length`` to the end of the payload.
"""

from __future__ import annotations

from typing import Any

from construct import (
    Bytes,
    Const,
    Int8ul,
    Int16ul,
    Int32ul,
    PaddedString,
    PrefixedArray,
    Struct,
    Terminated,
    this,
)

from .constants import SYNC, MessageType

Header = Struct(
    "sync" / Const(SYNC),
    "length" / Int8ul,
    "length_check" / Int8ul,
    "type" / Int8ul,
    "seq" / Int8ul,
)

Frame = Struct(
    "header" / Header,
    "payload" / Bytes(this.header.length),
    "crc" / Int16ul,
)

Empty = Struct(Terminated)

Hello = Struct(
    "min_version" / Int8ul,
    "max_version" / Int8ul,
    Terminated,
)

Identify = Struct(
    "model_id" / Int16ul,
    "hardware_revision" / Int8ul,
    "firmware_major" / Int8ul,
    "firmware_minor" / Int8ul,
    "firmware_patch" / Int8ul,
    "serial_number" / PaddedString(16, "ascii"),
    "protocol_version" / Int8ul,
    "contact_count" / Int8ul,
    "program_slots" / Int8ul,
    "capabilities" / Int16ul,
    Terminated,
)

Status = Struct(
    "state" / Int8ul,
    "active_slot" / Int8ul,
    "amplitude_ua" / Int16ul,
    "setpoint_ua" / Int16ul,
    "battery_pct" / Int8ul,
    "battery_mv" / Int16ul,
    "fault_flags" / Int16ul,
    "status_flags" / Int8ul,
    "uptime_s" / Int32ul,
    Terminated,
)

Heartbeat = Struct(
    "watchdog_timeout_ms" / Int16ul,
    "flags" / Int8ul,
    Terminated,
)

Contact = Struct(
    "polarity" / Int8ul,
    "share_pct" / Int8ul,
)

Program = Struct(
    "slot" / Int8ul,
    "amplitude_ua" / Int16ul,
    "pulse_width_us" / Int16ul,
    "rate_dhz" / Int32ul,
    "waveform" / Int8ul,
    "burst_pulses" / Int8ul,
    "intra_burst_rate_dhz" / Int32ul,
    "recharge" / Int8ul,
    "cycle_on_s" / Int16ul,
    "cycle_off_s" / Int16ul,
    "ramp_up_ms" / Int16ul,
    "ramp_down_ms" / Int16ul,
    "patient_max_ua" / Int16ul,
    "contacts" / PrefixedArray(Int8ul, Contact),
    Terminated,
)

Slot = Struct(
    "slot" / Int8ul,
    Terminated,
)

SetAmplitude = Struct(
    "amplitude_ua" / Int16ul,
    "flags" / Int8ul,
    Terminated,
)

ImpedanceEntry = Struct(
    "impedance_ohm" / Int16ul,
    "status" / Int8ul,
)

Impedance = Struct(
    "contacts" / PrefixedArray(Int8ul, ImpedanceEntry),
    Terminated,
)

GetUsage = Struct(
    "first_event" / Int16ul,
    "max_events" / Int8ul,
    Terminated,
)

UsageEvent = Struct(
    "device_time_s" / Int32ul,
    "code" / Int8ul,
    "detail" / Int16ul,
)

Usage = Struct(
    "stimulation_s" / Int32ul,
    "start_count" / Int32ul,
    "amplitude_change_count" / Int32ul,
    "power_on_count" / Int16ul,
    "fault_count" / Int16ul,
    "event_total" / Int16ul,
    "events" / PrefixedArray(Int8ul, UsageEvent),
    Terminated,
)

Counters = Struct(
    "frames_received" / Int32ul,
    "invalid_frames" / Int32ul,
    "discarded_bytes" / Int32ul,
    "frames_sent" / Int32ul,
    "naks_sent" / Int32ul,
    "bad_crc_naks" / Int32ul,
    Terminated,
)

Nak = Struct(
    "command" / Int8ul,
    "reason" / Int8ul,
    "param" / Int8ul,
    "index" / Int8ul,
    "limit" / Int32ul,
    Terminated,
)

EventState = Struct(
    "old_state" / Int8ul,
    "new_state" / Int8ul,
    "cause" / Int8ul,
    "amplitude_ua" / Int16ul,
    Terminated,
)

EventFault = Struct(
    "fault" / Int8ul,
    "contact" / Int8ul,
    "detail" / Int16ul,
    "fault_flags" / Int16ul,
    Terminated,
)

EventImpedanceWarning = Struct(
    "contact" / Int8ul,
    "impedance_ohm" / Int16ul,
    "status" / Int8ul,
    Terminated,
)

PAYLOADS: dict[MessageType, Any] = {
    MessageType.HELLO: Hello,
    MessageType.GET_STATUS: Empty,
    MessageType.HEARTBEAT: Heartbeat,
    MessageType.SET_PROGRAM: Program,
    MessageType.READ_PROGRAM: Slot,
    MessageType.SELECT_PROGRAM: Slot,
    MessageType.START: Slot,
    MessageType.STOP: Empty,
    MessageType.SET_AMPLITUDE: SetAmplitude,
    MessageType.MEASURE_IMPEDANCE: Empty,
    MessageType.GET_USAGE: GetUsage,
    MessageType.GET_COUNTERS: Empty,
    MessageType.NAK: Nak,
    MessageType.IDENTIFY: Identify,
    MessageType.STATUS: Status,
    MessageType.HEARTBEAT_ACK: Empty,
    MessageType.SET_PROGRAM_ACK: Empty,
    MessageType.PROGRAM: Program,
    MessageType.SELECT_PROGRAM_ACK: Empty,
    MessageType.START_ACK: Empty,
    MessageType.STOP_ACK: Empty,
    MessageType.SET_AMPLITUDE_ACK: Empty,
    MessageType.IMPEDANCE: Impedance,
    MessageType.USAGE: Usage,
    MessageType.COUNTERS: Counters,
    MessageType.EVENT_STATE: EventState,
    MessageType.EVENT_FAULT: EventFault,
    MessageType.EVENT_IMPEDANCE_WARNING: EventImpedanceWarning,
}
"""Payload definition for each message type: the table PROTOCOL.md's 'Messages' section mirrors."""

"""Write ``vectors.json``: golden frames typed by hand from PROTOCOL.md.

Every payload below is hexadecimal typed field by field from the tables in PROTOCOL.md; this
script only adds the header and the CRC, checks each payload against its field values with an
independent ``struct`` layout, and runs every vector through a small reference receiver written
from PROTOCOL.md's 'Receiver rules'. It deliberately imports nothing from ``firmware_protocol``:
vectors produced by the code they test would prove nothing.

Run from the repository root: ``python firmware_protocol/vectors/make_vectors.py``.
"""

from __future__ import annotations

import binascii
import json
import struct
from pathlib import Path
from typing import Any

OUT = Path(__file__).with_name("vectors.json")

SYNC = b"\xa5\xc3"  # PROTOCOL.md 'Frame'; the CRC does not cover it

# Type bytes, from PROTOCOL.md 'Message types'.
TYPES = {
    "HELLO": 0x01,
    "GET_STATUS": 0x02,
    "HEARTBEAT": 0x03,
    "SET_PROGRAM": 0x10,
    "READ_PROGRAM": 0x11,
    "SELECT_PROGRAM": 0x12,
    "START": 0x20,
    "STOP": 0x21,
    "SET_AMPLITUDE": 0x22,
    "MEASURE_IMPEDANCE": 0x30,
    "GET_USAGE": 0x31,
    "GET_COUNTERS": 0x32,
    "NAK": 0x7F,
    "IDENTIFY": 0x81,
    "STATUS": 0x82,
    "HEARTBEAT_ACK": 0x83,
    "SET_PROGRAM_ACK": 0x90,
    "PROGRAM": 0x91,
    "SELECT_PROGRAM_ACK": 0x92,
    "START_ACK": 0xA0,
    "STOP_ACK": 0xA1,
    "SET_AMPLITUDE_ACK": 0xA2,
    "IMPEDANCE": 0xB0,
    "USAGE": 0xB1,
    "COUNTERS": 0xB2,
    "EVENT_STATE": 0xE0,
    "EVENT_FAULT": 0xE1,
    "EVENT_IMPEDANCE_WARNING": 0xE2,
}
NAMES = {v: k for k, v in TYPES.items()}

# Fixed part of each payload (struct format, field names), then an optional u8-counted array.
PROGRAM_HEAD = (
    "<BHHIBBIBHHHHH",
    "slot amplitude_ua pulse_width_us rate_dhz waveform burst_pulses intra_burst_rate_dhz recharge "
    "cycle_on_s cycle_off_s ramp_up_ms ramp_down_ms patient_max_ua",
)
LAYOUTS: dict[str, tuple[str, str, tuple[str, str, str] | None]] = {
    "HELLO": ("<BB", "min_version max_version", None),
    "IDENTIFY": (
        "<HBBBB16sBBBH",
        "model_id hardware_revision firmware_major firmware_minor firmware_patch serial_number "
        "protocol_version contact_count program_slots capabilities",
        None,
    ),
    "STATUS": (
        "<BBHHBHHBI",
        "state active_slot amplitude_ua setpoint_ua battery_pct battery_mv fault_flags status_flags uptime_s",
        None,
    ),
    "HEARTBEAT": ("<HB", "watchdog_timeout_ms flags", None),
    "SET_PROGRAM": (*PROGRAM_HEAD, ("contacts", "<BB", "polarity share_pct")),
    "PROGRAM": (*PROGRAM_HEAD, ("contacts", "<BB", "polarity share_pct")),
    "READ_PROGRAM": ("<B", "slot", None),
    "SELECT_PROGRAM": ("<B", "slot", None),
    "START": ("<B", "slot", None),
    "SET_AMPLITUDE": ("<HB", "amplitude_ua flags", None),
    "IMPEDANCE": ("<", "", ("contacts", "<HB", "impedance_ohm status")),
    "GET_USAGE": ("<HB", "first_event max_events", None),
    "USAGE": (
        "<IIIHHH",
        "stimulation_s start_count amplitude_change_count power_on_count fault_count event_total",
        ("events", "<IBH", "device_time_s code detail"),
    ),
    "COUNTERS": (
        "<IIIIII",
        "frames_received invalid_frames discarded_bytes frames_sent naks_sent bad_crc_naks",
        None,
    ),
    "NAK": ("<BBBBI", "command reason param index limit", None),
    "EVENT_STATE": ("<BBBH", "old_state new_state cause amplitude_ua", None),
    "EVENT_FAULT": ("<BBHH", "fault contact detail fault_flags", None),
    "EVENT_IMPEDANCE_WARNING": ("<BHB", "contact impedance_ohm status", None),
}
EMPTY = {
    "GET_STATUS",
    "HEARTBEAT_ACK",
    "SET_PROGRAM_ACK",
    "SELECT_PROGRAM_ACK",
    "START_ACK",
    "STOP",
    "STOP_ACK",
    "SET_AMPLITUDE_ACK",
    "MEASURE_IMPEDANCE",
    "GET_COUNTERS",
}


def crc16(data: bytes) -> int:
    return binascii.crc_hqx(data, 0xFFFF)


assert crc16(b"123456789") == 0x29B1


def h(text: str) -> bytes:
    """Bytes from hand-typed hex; spaces and '|' are for the reader."""
    return bytes.fromhex(text.replace("|", " "))


def frame(
    msg_type: int,
    seq: int,
    payload: bytes,
    *,
    length: int | None = None,
    length_check: int | None = None,
    crc_xor: int = 0,
) -> bytes:
    n = len(payload) if length is None else length
    check = n ^ 0xFF if length_check is None else length_check
    body = bytes([n, check, msg_type, seq]) + payload
    return SYNC + body + struct.pack("<H", crc16(body) ^ crc_xor)


def parse_payload(type_name: str, payload: bytes) -> dict[str, Any]:
    """Independent reading of a payload by PROTOCOL.md's tables (no enum checks)."""
    if type_name in EMPTY:
        assert payload == b"", type_name
        return {}
    fmt, names, array = LAYOUTS[type_name]
    size = struct.calcsize(fmt)
    out = dict(zip(names.split(), struct.unpack_from(fmt, payload), strict=True))
    if "serial_number" in out:
        raw = out["serial_number"]
        text = raw.rstrip(b"\0")
        assert b"\0" not in text
        assert all(0x20 <= b <= 0x7E for b in text), "PROTOCOL.md 1: printable ASCII only"
        out["serial_number"] = text.decode("ascii")
    if array is None:
        assert len(payload) == size, (type_name, len(payload), size)
        return out
    key, efmt, enames = array
    count = payload[size]
    esize = struct.calcsize(efmt)
    assert len(payload) == size + 1 + count * esize, (type_name, len(payload))
    out[key] = [
        dict(zip(enames.split(), struct.unpack_from(efmt, payload, size + 1 + i * esize), strict=True))
        for i in range(count)
    ]
    return out


def reference_receiver(data: bytes) -> tuple[list[tuple[int, int, bytes]], list[str]]:
    """PROTOCOL.md 'Receiver rules', literally: returns (frames with good CRC, invalid reasons)."""
    buf = bytearray(data)
    frames: list[tuple[int, int, bytes]] = []
    invalid: list[str] = []
    while True:
        i = buf.find(SYNC)
        if i < 0:
            break
        del buf[:i]
        if len(buf) < 6:
            break
        if buf[3] != buf[2] ^ 0xFF:
            invalid.append("bad_length_check")
            del buf[:1]
            continue
        need = 8 + buf[2]
        if len(buf) < need:
            invalid.append("truncated")  # only at end of input
            break
        body = bytes(buf[2 : need - 2])
        if crc16(body) != struct.unpack_from("<H", buf, need - 2)[0]:
            invalid.append("bad_crc")
            del buf[:1]
            continue
        frames.append((buf[4], buf[5], bytes(buf[6 : need - 2])))
        del buf[:need]
    return frames, invalid


VECTORS: list[dict[str, Any]] = []


def valid(name: str, description: str, type_name: str, seq: int, payload_hex: str, fields: dict[str, Any]) -> None:
    payload = h(payload_hex)
    assert parse_payload(type_name, payload) == fields, name
    data = frame(TYPES[type_name], seq, payload)
    VECTORS.append(
        {
            "name": name,
            "description": description,
            "hex": data.hex(),
            "expect": "frame",
            "seq": seq,
            "type": type_name,
            "fields": fields,
        }
    )


def invalid(
    name: str,
    description: str,
    data: bytes,
    reason: str,
    frames_after: list[tuple[int, str]] | None = None,
    field: str | None = None,
) -> None:
    vector: dict[str, Any] = {
        "name": name,
        "description": description,
        "hex": data.hex(),
        "expect": "invalid",
        "reason": reason,
    }
    if field is not None:
        vector["field"] = field
    if frames_after:
        vector["frames_after"] = [{"seq": s, "type": t} for s, t in frames_after]
    VECTORS.append(vector)


def frames(name: str, description: str, parts: list[tuple[str, int, str, dict[str, Any]]], prefix: bytes = b"") -> None:
    data = prefix
    listed = []
    for type_name, seq, payload_hex, fields in parts:
        payload = h(payload_hex)
        assert parse_payload(type_name, payload) == fields, name
        data += frame(TYPES[type_name], seq, payload)
        listed.append({"seq": seq, "type": type_name, "fields": fields})
    VECTORS.append({"name": name, "description": description, "hex": data.hex(), "expect": "frames", "frames": listed})


def off(n: int) -> list[dict[str, int]]:
    return [{"polarity": 0, "share_pct": 0} for _ in range(n)]


def anode(pct: int) -> dict[str, int]:
    return {"polarity": 1, "share_pct": pct}


def cathode(pct: int) -> dict[str, int]:
    return {"polarity": 2, "share_pct": pct}


def program_fields(**kw: Any) -> dict[str, Any]:
    base = {
        "slot": 0,
        "amplitude_ua": 0,
        "pulse_width_us": 0,
        "rate_dhz": 0,
        "waveform": 0,
        "burst_pulses": 0,
        "intra_burst_rate_dhz": 0,
        "recharge": 0,
        "cycle_on_s": 0,
        "cycle_off_s": 0,
        "ramp_up_ms": 0,
        "ramp_down_ms": 0,
        "patient_max_ua": 0,
        "contacts": [],
    }
    base.update(kw)
    return base


# ---------------------------------------------------------------------------------------------
# Valid frames. Payload hex is grouped one field per group, in PROTOCOL.md's order.

valid(
    "hello_v1",
    "HELLO offering version 1 only.",
    "HELLO",
    0x01,
    "01 | 01",
    {"min_version": 1, "max_version": 1},
)
valid(
    "hello_range",
    "HELLO offering versions 1 to 3; the device answers with the highest both speak.",
    "HELLO",
    0x02,
    "01 | 03",
    {"min_version": 1, "max_version": 3},
)

SERIAL_15 = "53 43 53 31 36 2d 32 30 32 34 2d 30 30 34 32 00"  # "SCS16-2024-0042" + one NUL
valid(
    "identify_16_contacts",
    "IDENTIFY of a 16-contact, 8-slot device with every capability; serial number NUL-padded.",
    "IDENTIFY",
    0x02,
    f"01 53 | 02 | 01 | 04 | 00 | {SERIAL_15} | 01 | 10 | 08 | ff 01",
    {
        "model_id": 0x5301,
        "hardware_revision": 2,
        "firmware_major": 1,
        "firmware_minor": 4,
        "firmware_patch": 0,
        "serial_number": "SCS16-2024-0042",
        "protocol_version": 1,
        "contact_count": 16,
        "program_slots": 8,
        "capabilities": 0x01FF,
    },
)
SERIAL_16 = "54 52 49 41 4c 2d 30 31 32 33 34 35 36 37 38 39"  # "TRIAL-0123456789", no NUL
valid(
    "identify_full_serial",
    "IDENTIFY whose serial number fills all 16 bytes (no NUL terminator); 8 contacts, 4 slots, "
    "tonic only with both recharges, cycling, impedance and usage log (capabilities 0x00F9).",
    "IDENTIFY",
    0x01,
    f"07 00 | 01 | 02 | 00 | 0b | {SERIAL_16} | 01 | 08 | 04 | f9 00",
    {
        "model_id": 7,
        "hardware_revision": 1,
        "firmware_major": 2,
        "firmware_minor": 0,
        "firmware_patch": 11,
        "serial_number": "TRIAL-0123456789",
        "protocol_version": 1,
        "contact_count": 8,
        "program_slots": 4,
        "capabilities": 0x00F9,
    },
)

valid("get_status", "GET_STATUS: zero-length payload.", "GET_STATUS", 0x03, "", {})
valid(
    "status_stimulating",
    "STATUS while stimulating slot 2 at 3500 uA; session open, impedance fresh.",
    "STATUS",
    0x03,
    "03 | 02 | ac 0d | ac 0d | 57 | 48 0f | 00 00 | 0a | 58 6e 01 00",
    {
        "state": 3,
        "active_slot": 2,
        "amplitude_ua": 3500,
        "setpoint_ua": 3500,
        "battery_pct": 87,
        "battery_mv": 3912,
        "fault_flags": 0,
        "status_flags": 0x0A,
        "uptime_s": 93784,
    },
)
valid(
    "status_idle_no_slot",
    "STATUS just after power-on with no program selected (active_slot 0xFF).",
    "STATUS",
    0x00,
    "00 | ff | 00 00 | 00 00 | 64 | 54 10 | 00 00 | 00 | 05 00 00 00",
    {
        "state": 0,
        "active_slot": 0xFF,
        "amplitude_ua": 0,
        "setpoint_ua": 0,
        "battery_pct": 100,
        "battery_mv": 4180,
        "fault_flags": 0,
        "status_flags": 0,
        "uptime_s": 5,
    },
)
valid(
    "status_fault",
    "STATUS in FAULT: lead open and battery low latched; tethered session armed.",
    "STATUS",
    0x80,
    "06 | 01 | 00 00 | a0 0f | 28 | 42 0e | 09 00 | 06 | 78 56 34 12",
    {
        "state": 6,
        "active_slot": 1,
        "amplitude_ua": 0,
        "setpoint_ua": 4000,
        "battery_pct": 40,
        "battery_mv": 3650,
        "fault_flags": 0x0009,
        "status_flags": 0x06,
        "uptime_s": 0x12345678,
    },
)

valid(
    "heartbeat_stop_on_loss",
    "HEARTBEAT arming a 1000 ms watchdog that stops output on link loss.",
    "HEARTBEAT",
    0x04,
    "e8 03 | 01",
    {"watchdog_timeout_ms": 1000, "flags": 1},
)
valid(
    "heartbeat_disarm",
    "HEARTBEAT with timeout 0: disarms the watchdog.",
    "HEARTBEAT",
    0x05,
    "00 00 | 00",
    {"watchdog_timeout_ms": 0, "flags": 0},
)
valid(
    "heartbeat_sync_inside_payload",
    "Valid frame whose payload holds the sync pattern a5 c3 (timeout 50085 ms); a frame with a "
    "good CRC is consumed whole, so the inner pattern must not start a new frame.",
    "HEARTBEAT",
    0xC3,
    "a5 c3 | 00",
    {"watchdog_timeout_ms": 50085, "flags": 0},
)
valid("heartbeat_ack", "HEARTBEAT_ACK: zero-length payload.", "HEARTBEAT_ACK", 0x04, "", {})

valid(
    "set_program_tonic_4_contacts",
    "SET_PROGRAM slot 0, tonic 3500 uA 300 us 50 Hz, active recharge, ramps 2 s up / 1 s down, "
    "patient max 6000 uA; 4 contacts: 1 anode, 2 cathode, 3 and 4 off.",
    "SET_PROGRAM",
    0x06,
    "00 | ac 0d | 2c 01 | f4 01 00 00 | 00 | 00 | 00 00 00 00 | 00 | 00 00 | 00 00 | d0 07 | e8 03 | 70 17"
    " | 04 | 01 64 | 02 64 | 00 00 | 00 00",
    program_fields(
        slot=0,
        amplitude_ua=3500,
        pulse_width_us=300,
        rate_dhz=500,
        ramp_up_ms=2000,
        ramp_down_ms=1000,
        patient_max_ua=6000,
        contacts=[anode(100), cathode(100), *off(2)],
    ),
)
valid(
    "set_program_16_contacts_cycling",
    "SET_PROGRAM slot 1, tonic 5000 uA 210 us 60 Hz, passive recharge, cycling 60 s on / 120 s off, "
    "ramps 3 s / 1.5 s, patient max 8000 uA; 16 contacts: anodes 2 and 4 (50 % each), "
    "cathodes 3 (60 %) and 11 (40 %).",
    "SET_PROGRAM",
    0x07,
    "01 | 88 13 | d2 00 | 58 02 00 00 | 00 | 00 | 00 00 00 00 | 01 | 3c 00 | 78 00 | b8 0b | dc 05 | 40 1f"
    " | 10 | 00 00 | 01 32 | 02 3c | 01 32 | 00 00 | 00 00 | 00 00 | 00 00"
    " | 00 00 | 00 00 | 02 28 | 00 00 | 00 00 | 00 00 | 00 00 | 00 00",
    program_fields(
        slot=1,
        amplitude_ua=5000,
        pulse_width_us=210,
        rate_dhz=600,
        recharge=1,
        cycle_on_s=60,
        cycle_off_s=120,
        ramp_up_ms=3000,
        ramp_down_ms=1500,
        patient_max_ua=8000,
        contacts=[*off(1), anode(50), cathode(60), anode(50), *off(6), cathode(40), *off(5)],
    ),
)
valid(
    "set_program_burst",
    "SET_PROGRAM slot 2, burst: 5 pulses of 1000 us at 500 Hz (intra_burst_rate_dhz 5000) repeated "
    "at 40 Hz (rate_dhz 400), 1200 uA, passive recharge, 1 s ramp up, no ramp down, patient max "
    "2500 uA; 8 contacts: 1 cathode, 4 anode.",
    "SET_PROGRAM",
    0x08,
    "02 | b0 04 | e8 03 | 90 01 00 00 | 01 | 05 | 88 13 00 00 | 01 | 00 00 | 00 00 | e8 03 | 00 00 | c4 09"
    " | 08 | 02 64 | 00 00 | 00 00 | 01 64 | 00 00 | 00 00 | 00 00 | 00 00",
    program_fields(
        slot=2,
        amplitude_ua=1200,
        pulse_width_us=1000,
        rate_dhz=400,
        waveform=1,
        burst_pulses=5,
        intra_burst_rate_dhz=5000,
        recharge=1,
        ramp_up_ms=1000,
        patient_max_ua=2500,
        contacts=[cathode(100), *off(2), anode(100), *off(4)],
    ),
)
valid(
    "set_program_10khz",
    "SET_PROGRAM slot 3, high frequency 10 kHz (rate_dhz 100000), 30 us, 2500 uA, active "
    "recharge, no ramps, patient max 5000 uA; 16 contacts: 5 cathode, 6 anode.",
    "SET_PROGRAM",
    0x09,
    "03 | c4 09 | 1e 00 | a0 86 01 00 | 02 | 00 | 00 00 00 00 | 00 | 00 00 | 00 00 | 00 00 | 00 00 | 88 13"
    " | 10 | 00 00 | 00 00 | 00 00 | 00 00 | 02 64 | 01 64 | 00 00 | 00 00"
    " | 00 00 | 00 00 | 00 00 | 00 00 | 00 00 | 00 00 | 00 00 | 00 00",
    program_fields(
        slot=3,
        amplitude_ua=2500,
        pulse_width_us=30,
        rate_dhz=100000,
        waveform=2,
        patient_max_ua=5000,
        contacts=[*off(4), cathode(100), anode(100), *off(10)],
    ),
)
valid("set_program_ack", "SET_PROGRAM_ACK: zero-length payload.", "SET_PROGRAM_ACK", 0x06, "", {})
valid("read_program", "READ_PROGRAM slot 3.", "READ_PROGRAM", 0x0A, "03", {"slot": 3})
valid(
    "program_32_contacts",
    "PROGRAM reply of the largest size (32 contacts, 91-byte payload): slot 3, tonic 4200 uA 450 us "
    "1200 Hz, cycling 300 s / 600 s, 10 s ramp up; anodes 1-4 at 25 %, cathodes 31 and 32 at 50 %.",
    "PROGRAM",
    0x0A,
    "03 | 68 10 | c2 01 | e0 2e 00 00 | 00 | 00 | 00 00 00 00 | 00 | 2c 01 | 58 02 | 10 27 | 00 00 | 70 17"
    " | 20 | 01 19 | 01 19 | 01 19 | 01 19"
    " | 00 00 | 00 00 | 00 00 | 00 00 | 00 00 | 00 00 | 00 00 | 00 00 | 00 00 | 00 00 | 00 00 | 00 00 | 00 00"
    " | 00 00 | 00 00 | 00 00 | 00 00 | 00 00 | 00 00 | 00 00 | 00 00 | 00 00 | 00 00 | 00 00 | 00 00 | 00 00"
    " | 02 32 | 02 32",
    program_fields(
        slot=3,
        amplitude_ua=4200,
        pulse_width_us=450,
        rate_dhz=12000,
        cycle_on_s=300,
        cycle_off_s=600,
        ramp_up_ms=10000,
        patient_max_ua=6000,
        contacts=[anode(25), anode(25), anode(25), anode(25), *off(26), cathode(50), cathode(50)],
    ),
)
valid("select_program", "SELECT_PROGRAM slot 1.", "SELECT_PROGRAM", 0x0B, "01", {"slot": 1})
valid("select_program_ack", "SELECT_PROGRAM_ACK.", "SELECT_PROGRAM_ACK", 0x0B, "", {})
valid("start_selected", "START the selected program (slot 0xFF).", "START", 0x0C, "ff", {"slot": 0xFF})
valid("start_slot_0", "START slot 0 explicitly.", "START", 0x0D, "00", {"slot": 0})
valid("start_ack", "START_ACK.", "START_ACK", 0x0C, "", {})
valid("stop", "STOP: zero-length payload.", "STOP", 0x0E, "", {})
valid("stop_seq_wrap", "STOP with seq 255 (the host's seq wraps to 0 next).", "STOP", 0xFF, "", {})
valid("stop_ack", "STOP_ACK.", "STOP_ACK", 0x0E, "", {})
valid(
    "set_amplitude_tentative",
    "SET_AMPLITUDE 3550 uA without COMMIT (tentative).",
    "SET_AMPLITUDE",
    0x0F,
    "de 0d | 00",
    {"amplitude_ua": 3550, "flags": 0},
)
valid(
    "set_amplitude_commit",
    "SET_AMPLITUDE 3600 uA with COMMIT.",
    "SET_AMPLITUDE",
    0x10,
    "10 0e | 01",
    {"amplitude_ua": 3600, "flags": 1},
)
valid("set_amplitude_ack", "SET_AMPLITUDE_ACK.", "SET_AMPLITUDE_ACK", 0x0F, "", {})
valid("measure_impedance", "MEASURE_IMPEDANCE: zero-length payload.", "MEASURE_IMPEDANCE", 0x11, "", {})
valid(
    "impedance_8_contacts",
    "IMPEDANCE for 8 contacts with every status: OK, OK, OPEN (0xFFFF over range), SHORT, HIGH, LOW, NOT_MEASURED, OK.",
    "IMPEDANCE",
    0x11,
    "08 | 52 03 00 | fc 03 00 | ff ff 01 | 2d 00 02 | 5a 0a 03 | b4 00 04 | 00 00 05 | 96 05 00",
    {
        "contacts": [
            {"impedance_ohm": 850, "status": 0},
            {"impedance_ohm": 1020, "status": 0},
            {"impedance_ohm": 0xFFFF, "status": 1},
            {"impedance_ohm": 45, "status": 2},
            {"impedance_ohm": 2650, "status": 3},
            {"impedance_ohm": 180, "status": 4},
            {"impedance_ohm": 0, "status": 5},
            {"impedance_ohm": 1430, "status": 0},
        ]
    },
)
valid(
    "get_usage",
    "GET_USAGE from event 0, at most 32 events.",
    "GET_USAGE",
    0x12,
    "00 00 | 20",
    {"first_event": 0, "max_events": 32},
)
valid(
    "usage_3_events",
    "USAGE with 3 log entries: power-on, program 2 selected, amplitude 3600 uA committed.",
    "USAGE",
    0x12,
    "80 51 01 00 | 0c 00 00 00 | 39 00 00 00 | 03 00 | 01 00 | 8c 00"
    " | 03 | e8 03 00 00 01 00 00 | f4 03 00 00 03 02 00 | fc 03 00 00 06 10 0e",
    {
        "stimulation_s": 86400,
        "start_count": 12,
        "amplitude_change_count": 57,
        "power_on_count": 3,
        "fault_count": 1,
        "event_total": 140,
        "events": [
            {"device_time_s": 1000, "code": 1, "detail": 0},
            {"device_time_s": 1012, "code": 3, "detail": 2},
            {"device_time_s": 1020, "code": 6, "detail": 3600},
        ],
    },
)
valid(
    "usage_empty",
    "USAGE with no log entries (event count 0).",
    "USAGE",
    0x13,
    "00 00 00 00 | 00 00 00 00 | 00 00 00 00 | 01 00 | 00 00 | 00 00 | 00",
    {
        "stimulation_s": 0,
        "start_count": 0,
        "amplitude_change_count": 0,
        "power_on_count": 1,
        "fault_count": 0,
        "event_total": 0,
        "events": [],
    },
)
# The 32-entry USAGE (243-byte payload, the largest message): entry i is at device time
# 7200 + 60 i seconds, code (i mod 12) + 1, detail i. Typed as a pattern rather than 224 bytes.
_events = [{"device_time_s": 7200 + 60 * i, "code": i % 12 + 1, "detail": i} for i in range(32)]
_event_hex = " | ".join(
    f"{(7200 + 60 * i).to_bytes(4, 'little').hex(' ')} {i % 12 + 1:02x} {i:02x} 00" for i in range(32)
)
valid(
    "usage_32_events",
    "USAGE of the largest size: 32 entries, 243-byte payload. Entry i: device_time_s 7200 + 60*i, "
    "code (i mod 12) + 1, detail i.",
    "USAGE",
    0x14,
    "10 0e 00 00 | 05 00 00 00 | 20 00 00 00 | 02 00 | 00 00 | 20 00 | 20 | " + _event_hex,
    {
        "stimulation_s": 3600,
        "start_count": 5,
        "amplitude_change_count": 32,
        "power_on_count": 2,
        "fault_count": 0,
        "event_total": 32,
        "events": _events,
    },
)

valid("get_counters", "GET_COUNTERS (optional: capability COUNTERS), empty.", "GET_COUNTERS", 0x15, "", {})
valid(
    "counters_after_noise",
    "COUNTERS after 1 KB of line noise and a few commands: 12 frames received, 1 invalid frame, 1030 "
    "noise bytes discarded (0x0406), 13 frames sent of which 1 NAK, no BAD_CRC NAK.",
    "COUNTERS",
    0x15,
    "0c 00 00 00 | 01 00 00 00 | 06 04 00 00 | 0d 00 00 00 | 01 00 00 00 | 00 00 00 00",
    {
        "frames_received": 12,
        "invalid_frames": 1,
        "discarded_bytes": 1030,
        "frames_sent": 13,
        "naks_sent": 1,
        "bad_crc_naks": 0,
    },
)
valid(
    "counters_saturated",
    "COUNTERS whose received-frame and discarded-byte counts have saturated at 0xFFFFFFFF; 70000 "
    "invalid frames (0x00011170), 305419896 frames sent (0x12345678), 65536 NAKs of which 256 BAD_CRC.",
    "COUNTERS",
    0x16,
    "ff ff ff ff | 70 11 01 00 | ff ff ff ff | 78 56 34 12 | 00 00 01 00 | 00 01 00 00",
    {
        "frames_received": 0xFFFFFFFF,
        "invalid_frames": 70000,
        "discarded_bytes": 0xFFFFFFFF,
        "frames_sent": 0x12345678,
        "naks_sent": 65536,
        "bad_crc_naks": 256,
    },
)


def nak(name: str, description: str, seq: int, payload_hex: str, fields: dict[str, int]) -> None:
    valid(name, description, "NAK", seq, payload_hex, fields)


nak(
    "nak_out_of_range_amplitude",
    "NAK to SET_PROGRAM: amplitude above the firmware maximum of 6000 uA.",
    0x06,
    "10 | 04 | 02 | ff | 70 17 00 00",
    {"command": 0x10, "reason": 4, "param": 2, "index": 0xFF, "limit": 6000},
)
nak(
    "nak_contact_share",
    "NAK to SET_PROGRAM: contact index 3 (contact 4) has an invalid share; limit 100 %.",
    0x07,
    "10 | 04 | 10 | 03 | 64 00 00 00",
    {"command": 0x10, "reason": 4, "param": 16, "index": 3, "limit": 100},
)
nak(
    "nak_bad_crc",
    "NAK BAD_CRC echoing the received type byte (0x22, SET_AMPLITUDE) and seq 0x17.",
    0x17,
    "22 | 01 | 00 | ff | 00 00 00 00",
    {"command": 0x22, "reason": 1, "param": 0, "index": 0xFF, "limit": 0},
)
nak(
    "nak_unsupported_version",
    "NAK to HELLO offering 2..3 only: UNSUPPORTED_VERSION, param PROTOCOL_VERSION, limit 1 (the "
    "device's highest version).",
    0x02,
    "01 | 08 | 18 | ff | 01 00 00 00",
    {"command": 0x01, "reason": 8, "param": 24, "index": 0xFF, "limit": 1},
)
nak(
    "nak_unknown_command",
    "NAK UNKNOWN_COMMAND: command echoes the undefined type byte 0x3E.",
    0x30,
    "3e | 02 | 00 | ff | 00 00 00 00",
    {"command": 0x3E, "reason": 2, "param": 0, "index": 0xFF, "limit": 0},
)
nak(
    "nak_unknown_command_get_counters",
    "NAK UNKNOWN_COMMAND from a device without capability COUNTERS: command echoes GET_COUNTERS (0x32).",
    0x15,
    "32 | 02 | 00 | ff | 00 00 00 00",
    {"command": 0x32, "reason": 2, "param": 0, "index": 0xFF, "limit": 0},
)
nak(
    "nak_wrong_state",
    "NAK to START while stimulating: WRONG_STATE.",
    0x0D,
    "20 | 05 | 00 | ff | 00 00 00 00",
    {"command": 0x20, "reason": 5, "param": 0, "index": 0xFF, "limit": 0},
)
nak(
    "nak_amplitude_step",
    "NAK to SET_AMPLITUDE: change larger than the 200 uA maximum step.",
    0x10,
    "22 | 04 | 16 | ff | c8 00 00 00",
    {"command": 0x22, "reason": 4, "param": 22, "index": 0xFF, "limit": 200},
)
nak(
    "nak_watchdog_timeout",
    "NAK to HEARTBEAT: timeout above 60000 ms.",
    0x04,
    "03 | 04 | 17 | ff | 60 ea 00 00",
    {"command": 0x03, "reason": 4, "param": 23, "index": 0xFF, "limit": 60000},
)
nak(
    "nak_not_permitted_before_hello",
    "NAK to START before a successful HELLO: NOT_PERMITTED.",
    0x00,
    "20 | 07 | 00 | ff | 00 00 00 00",
    {"command": 0x20, "reason": 7, "param": 0, "index": 0xFF, "limit": 0},
)
nak(
    "nak_busy",
    "NAK BUSY to GET_USAGE during an impedance measurement.",
    0x21,
    "31 | 06 | 00 | ff | 00 00 00 00",
    {"command": 0x31, "reason": 6, "param": 0, "index": 0xFF, "limit": 0},
)
nak(
    "nak_empty_slot",
    "NAK EMPTY_SLOT to READ_PROGRAM of an unwritten slot.",
    0x22,
    "11 | 09 | 01 | ff | 00 00 00 00",
    {"command": 0x11, "reason": 9, "param": 1, "index": 0xFF, "limit": 0},
)

valid(
    "event_state_power_on",
    "EVENT_STATE at power-on (the device's first event, seq 0): IDLE -> PROGRAMMED, cause POWER_ON.",
    "EVENT_STATE",
    0x00,
    "00 | 01 | 06 | 00 00",
    {"old_state": 0, "new_state": 1, "cause": 6, "amplitude_ua": 0},
)
valid(
    "event_state_ramp_done",
    "EVENT_STATE RAMPING_UP -> STIMULATING, cause RAMP_DONE, at 3500 uA.",
    "EVENT_STATE",
    0x07,
    "02 | 03 | 01 | ac 0d",
    {"old_state": 2, "new_state": 3, "cause": 1, "amplitude_ua": 3500},
)
valid(
    "event_state_watchdog_seq_255",
    "EVENT_STATE STIMULATING -> PROGRAMMED, cause WATCHDOG; event seq 255 (next event is seq 0).",
    "EVENT_STATE",
    0xFF,
    "03 | 01 | 03 | 00 00",
    {"old_state": 3, "new_state": 1, "cause": 3, "amplitude_ua": 0},
)
valid(
    "event_fault_lead_open",
    "EVENT_FAULT LEAD_OPEN on contact index 4 (contact 5), detail 0xFFFF ohm, fault_flags LEAD_OPEN.",
    "EVENT_FAULT",
    0x08,
    "01 | 04 | ff ff | 01 00",
    {"fault": 1, "contact": 4, "detail": 0xFFFF, "fault_flags": 0x0001},
)
valid(
    "event_fault_watchdog",
    "EVENT_FAULT WATCHDOG_EXPIRY, no contact, detail 1000 (the timeout in ms).",
    "EVENT_FAULT",
    0x00,
    "06 | ff | e8 03 | 20 00",
    {"fault": 6, "contact": 0xFF, "detail": 1000, "fault_flags": 0x0020},
)
valid(
    "event_impedance_warning",
    "EVENT_IMPEDANCE_WARNING: contact index 1 (contact 2) at 2650 ohm, status HIGH.",
    "EVENT_IMPEDANCE_WARNING",
    0x09,
    "01 | 5a 0a | 03",
    {"contact": 1, "impedance_ohm": 2650, "status": 3},
)

# ---------------------------------------------------------------------------------------------
# Multiple frames in one string.

frames(
    "two_frames_back_to_back",
    "STATUS reply immediately followed by an EVENT_STATE in one read.",
    [
        (
            "STATUS",
            0x21,
            "01 | 00 | 00 00 | 00 00 | 50 | 00 0f | 00 00 | 08 | 3c 00 00 00",
            {
                "state": 1,
                "active_slot": 0,
                "amplitude_ua": 0,
                "setpoint_ua": 0,
                "battery_pct": 80,
                "battery_mv": 3840,
                "fault_flags": 0,
                "status_flags": 0x08,
                "uptime_s": 60,
            },
        ),
        (
            "EVENT_STATE",
            0x0A,
            "01 | 02 | 00 | 00 00",
            {"old_state": 1, "new_state": 2, "cause": 0, "amplitude_ua": 0},
        ),
    ],
)
frames(
    "three_zero_length_frames",
    "Three zero-length frames back to back: START_ACK, STOP_ACK, HEARTBEAT_ACK.",
    [("START_ACK", 0x30, "", {}), ("STOP_ACK", 0x31, "", {}), ("HEARTBEAT_ACK", 0x32, "", {})],
)
frames(
    "noise_before_frame",
    "Line noise without a sync pattern (ending in a lone 0xA5) before a GET_STATUS: the noise is "
    "skipped and the frame found.",
    [("GET_STATUS", 0x40, "", {})],
    prefix=h("de ad be ef 00 ff a5"),
)

# ---------------------------------------------------------------------------------------------
# Invalid input. Builders spell out which byte is wrong.

_amp = frame(TYPES["SET_AMPLITUDE"], 0x0F, h("de 0d 00"))
_flipped = bytearray(_amp)
_flipped[6] ^= 0x01  # first payload byte 0xde -> 0xdf, CRC left as it was
invalid(
    "bad_crc_payload_bit_flip",
    "SET_AMPLITUDE with one payload bit flipped; CRC unchanged.",
    bytes(_flipped),
    "bad_crc",
)

_gs = bytearray(frame(TYPES["GET_STATUS"], 0x03, b""))
_gs[-1] ^= 0x80  # CRC high byte
invalid(
    "bad_crc_crc_byte_flipped",
    "GET_STATUS with the top bit of the CRC's high byte flipped.",
    bytes(_gs),
    "bad_crc",
)

invalid(
    "bad_length_check",
    "HELLO whose length check byte is 0xfc instead of 0xfd (2 ^ 0xff); CRC computed over the bytes as sent.",
    frame(TYPES["HELLO"], 0x01, h("01 01"), length_check=0xFC),
    "bad_length_check",
)
invalid(
    "bad_length_check_then_frame",
    "A header with length 0x40 but length check 0x00, then a good HELLO (seq 0x05): discarding one "
    "byte and rescanning finds the HELLO.",
    h("11 22 a5 c3 40 00") + frame(TYPES["HELLO"], 0x05, h("01 01")),
    "bad_length_check",
    [(0x05, "HELLO")],
)
invalid(
    "repeated_sync_then_frame",
    "The sync pair twice more before a good STOP (seq 0x07): each extra sync is read as length 0xa5 "
    "with check 0xc3 (not 0x5a), fails, and costs one byte; the STOP is then found.",
    SYNC + SYNC + frame(TYPES["STOP"], 0x07, b""),
    "bad_length_check",
    [(0x07, "STOP")],
)
invalid(
    "truncated_then_frame",
    "SET_AMPLITUDE cut after its first payload byte, then a good GET_STATUS (seq 0x14). The receiver "
    "takes the first 11 bytes as the cut frame, its CRC fails, it discards one byte and finds the "
    "GET_STATUS. A receiver cannot tell truncation from corruption: it may report bad_crc.",
    _amp[:7] + frame(TYPES["GET_STATUS"], 0x14, b""),
    "truncated",
    [(0x14, "GET_STATUS")],
)
invalid(
    "truncated_at_end",
    "SET_PROGRAM (35-byte payload) cut after 20 bytes, at the end of the input. A receiver waits for "
    "the rest; one that gives up when the line goes quiet reports it as truncated.",
    frame(
        TYPES["SET_PROGRAM"],
        0x06,
        h(
            "00 | ac 0d | 2c 01 | f4 01 00 00 | 00 | 00 | 00 00 00 00 | 00 | 00 00 | 00 00 | d0 07 | e8 03"
            " | 70 17 | 04 | 01 64 | 02 64 | 00 00 | 00 00"
        ),
    )[:20],
    "truncated",
)
invalid(
    "bad_crc_then_frame",
    "START (seq 0x20) with a corrupted CRC, then a good STOP (seq 0x21).",
    frame(TYPES["START"], 0x20, h("ff"), crc_xor=0x0001) + frame(TYPES["STOP"], 0x21, b""),
    "bad_crc",
    [(0x21, "STOP")],
)
_inner = frame(TYPES["GET_STATUS"], 0x41, b"")
_outer_body = bytes([12, 12 ^ 0xFF, TYPES["SET_AMPLITUDE"], 0x40]) + _inner + h("00 00 00 00")
invalid(
    "frame_hidden_in_bad_frame",
    "A 12-byte-payload header whose payload holds a complete GET_STATUS frame (seq 0x41) and whose "
    "CRC is wrong (0x0000): after the CRC fails the receiver discards one byte only, so it finds "
    "the inner frame; the 6 bytes after it are noise.",
    SYNC + _outer_body + h("00 00"),
    "bad_crc",
    [(0x41, "GET_STATUS")],
)
assert crc16(_outer_body) != 0

invalid(
    "unknown_type_command_range",
    "Type 0x3e (in the command range, undefined) with an empty payload and a valid CRC.",
    frame(0x3E, 0x30, b""),
    "unknown_type",
)
invalid(
    "unknown_type_event_range",
    "Type 0xe3 (in the event range, undefined) with a 2-byte payload and a valid CRC.",
    frame(0xE3, 0x01, h("01 02")),
    "unknown_type",
)
invalid(
    "unknown_type_then_frame",
    "Type 0x05 with a valid CRC, then a good STOP (seq 0x06): a frame with a good CRC is consumed "
    "whole, so the STOP follows at once.",
    frame(0x05, 0x05, h("00")) + frame(TYPES["STOP"], 0x06, b""),
    "unknown_type",
    [(0x06, "STOP")],
)
invalid(
    "bad_length_set_amplitude_short",
    "SET_AMPLITUDE with a 2-byte payload (needs 3); valid CRC.",
    frame(TYPES["SET_AMPLITUDE"], 0x0F, h("de 0d")),
    "bad_length",
)
invalid(
    "bad_length_get_status_one_byte",
    "GET_STATUS with a 1-byte payload (needs 0); valid CRC.",
    frame(TYPES["GET_STATUS"], 0x03, h("00")),
    "bad_length",
)
invalid(
    "bad_length_program_count_mismatch",
    "SET_PROGRAM whose contact count says 4 but 3 contacts follow; valid CRC.",
    frame(
        TYPES["SET_PROGRAM"],
        0x06,
        h(
            "00 | ac 0d | 2c 01 | f4 01 00 00 | 00 | 00 | 00 00 00 00 | 00 | 00 00 | 00 00 | d0 07 | e8 03"
            " | 70 17 | 04 | 01 64 | 02 64 | 00 00"
        ),
    ),
    "bad_length",
)
invalid(
    "bad_length_counters_short",
    "COUNTERS with 23 payload bytes (needs 24: the last count is one byte short); valid CRC.",
    frame(TYPES["COUNTERS"], 0x15, h("0c 00 00 00 | 01 00 00 00 | 06 04 00 00 | 0d 00 00 00 | 01 00 00 00 | 00 00 00")),
    "bad_length",
)
invalid(
    "bad_length_get_counters_one_byte",
    "GET_COUNTERS with a 1-byte payload (needs 0); valid CRC.",
    frame(TYPES["GET_COUNTERS"], 0x15, h("00")),
    "bad_length",
)
invalid(
    "bad_length_nak_trailing_byte",
    "NAK with 9 payload bytes (needs 8); valid CRC.",
    frame(TYPES["NAK"], 0x02, h("01 08 18 ff 01 00 00 00 00")),
    "bad_length",
)
invalid(
    "bad_length_max_frame",
    "GET_STATUS with a 255-byte payload: a frame of the maximum size (263 bytes), valid CRC, wrong "
    "payload length. Then a good GET_STATUS (seq 0x43).",
    frame(TYPES["GET_STATUS"], 0x42, bytes(255)) + frame(TYPES["GET_STATUS"], 0x43, b""),
    "bad_length",
    [(0x43, "GET_STATUS")],
)
invalid(
    "bad_value_polarity_3",
    "SET_PROGRAM with polarity 3 on contact index 1; valid CRC.",
    frame(
        TYPES["SET_PROGRAM"],
        0x06,
        h(
            "00 | ac 0d | 2c 01 | f4 01 00 00 | 00 | 00 | 00 00 00 00 | 00 | 00 00 | 00 00 | d0 07 | e8 03"
            " | 70 17 | 04 | 01 64 | 03 64 | 00 00 | 00 00"
        ),
    ),
    "bad_value",
)
invalid(
    "bad_value_waveform_3",
    "SET_PROGRAM with waveform 3; valid CRC.",
    frame(
        TYPES["SET_PROGRAM"],
        0x06,
        h(
            "00 | ac 0d | 2c 01 | f4 01 00 00 | 03 | 00 | 00 00 00 00 | 00 | 00 00 | 00 00 | d0 07 | e8 03"
            " | 70 17 | 04 | 01 64 | 02 64 | 00 00 | 00 00"
        ),
    ),
    "bad_value",
)
invalid(
    "bad_value_recharge_2",
    "SET_PROGRAM with recharge 2; valid CRC.",
    frame(
        TYPES["SET_PROGRAM"],
        0x06,
        h(
            "00 | ac 0d | 2c 01 | f4 01 00 00 | 00 | 00 | 00 00 00 00 | 02 | 00 00 | 00 00 | d0 07 | e8 03"
            " | 70 17 | 04 | 01 64 | 02 64 | 00 00 | 00 00"
        ),
    ),
    "bad_value",
)
invalid(
    "bad_value_status_state_7",
    "STATUS with state 7; valid CRC.",
    frame(TYPES["STATUS"], 0x03, h("07 | 02 | ac 0d | ac 0d | 57 | 48 0f | 00 00 | 0a | 58 6e 01 00")),
    "bad_value",
)
invalid(
    "bad_value_nak_reason_0",
    "NAK with reason 0; valid CRC.",
    frame(TYPES["NAK"], 0x02, h("01 | 00 | 00 | ff | 00 00 00 00")),
    "bad_value",
)
invalid(
    "bad_value_nak_param_27",
    "NAK OUT_OF_RANGE with param 27; valid CRC.",
    frame(TYPES["NAK"], 0x02, h("10 | 04 | 1b | ff | 00 00 00 00")),
    "bad_value",
)
invalid(
    "bad_value_impedance_status_6",
    "IMPEDANCE with status 6 on its only contact; valid CRC.",
    frame(TYPES["IMPEDANCE"], 0x11, h("01 | 52 03 06")),
    "bad_value",
)
invalid(
    "bad_value_event_state_cause_7",
    "EVENT_STATE with cause 7; valid CRC.",
    frame(TYPES["EVENT_STATE"], 0x07, h("02 | 03 | 07 | ac 0d")),
    "bad_value",
)
invalid(
    "bad_value_event_fault_0",
    "EVENT_FAULT with fault code 0; valid CRC.",
    frame(TYPES["EVENT_FAULT"], 0x08, h("00 | ff | 00 00 | 00 00")),
    "bad_value",
)
invalid(
    "bad_value_usage_event_code_13",
    "USAGE whose only log entry has code 13; valid CRC.",
    frame(
        TYPES["USAGE"],
        0x12,
        h("00 00 00 00 | 00 00 00 00 | 00 00 00 00 | 01 00 | 00 00 | 01 00 | 01 | e8 03 00 00 0d 00 00"),
    ),
    "bad_value",
)
# Serial numbers are printable ASCII, 0x20-0x7E (PROTOCOL.md 1): a control byte is a bad value.
SERIAL_ESC = "53 43 53 31 36 1b 5b 32 4a 00 00 00 00 00 00 00"  # "SCS16" ESC "[2J" (clear screen) + NULs
invalid(
    "bad_value_serial_escape",
    "IDENTIFY whose serial number holds ESC (0x1b), the start of a terminal escape sequence; valid CRC. "
    "Then a good GET_STATUS (seq 0x05).",
    frame(TYPES["IDENTIFY"], 0x04, h(f"01 53 | 02 | 01 | 04 | 00 | {SERIAL_ESC} | 01 | 10 | 08 | ff 01"))
    + frame(TYPES["GET_STATUS"], 0x05, b""),
    "bad_value",
    [(0x05, "GET_STATUS")],
    field="serial_number",
)
SERIAL_DEL = "53 43 53 31 36 7f 00 00 00 00 00 00 00 00 00 00"  # "SCS16" DEL + NULs
invalid(
    "bad_value_serial_delete",
    "IDENTIFY whose serial number holds DEL (0x7f), just above printable ASCII; valid CRC.",
    frame(TYPES["IDENTIFY"], 0x04, h(f"01 53 | 02 | 01 | 04 | 00 | {SERIAL_DEL} | 01 | 10 | 08 | ff 01")),
    "bad_value",
    field="serial_number",
)

invalid(
    "bad_length_before_bad_value",
    "IDENTIFY of 28 bytes (one too many) whose serial number also holds ESC; valid CRC. The size is "
    "checked before the values (PROTOCOL.md 4, step 9 before step 10), so the reason is bad_length.",
    frame(TYPES["IDENTIFY"], 0x04, h(f"01 53 | 02 | 01 | 04 | 00 | {SERIAL_ESC} | 01 | 10 | 08 | ff 01 | 00")),
    "bad_length",
)


def self_check() -> None:
    names = [v["name"] for v in VECTORS]
    assert len(names) == len(set(names)), "duplicate names"
    seen = {v["type"] for v in VECTORS if v["expect"] == "frame"}
    assert seen == set(TYPES), set(TYPES) - seen
    for v in VECTORS:
        data = bytes.fromhex(v["hex"])
        got, bad = reference_receiver(data)
        if v["expect"] == "frame":
            assert bad == [] and len(got) == 1, v["name"]
            msg_type, seq, payload = got[0]
            assert (NAMES[msg_type], seq) == (v["type"], v["seq"]), v["name"]
            assert parse_payload(v["type"], payload) == v["fields"], v["name"]
        elif v["expect"] == "frames":
            assert bad == [], v["name"]
            want = [(f["type"], f["seq"]) for f in v["frames"]]
            assert [(NAMES[t], s) for t, s, _ in got] == want, v["name"]
        else:
            after = [(f["seq"], f["type"]) for f in v.get("frames_after", [])]
            framing = v["reason"] in {"bad_crc", "bad_length_check", "truncated"}
            if framing:
                assert bad, v["name"]
                assert [(s, NAMES[t]) for t, s, _ in got] == after, v["name"]
            else:
                # Good CRC: the first frame is the bad one, consumed whole; the rest follow it.
                assert bad == [] and got, v["name"]
                assert [(s, NAMES.get(t)) for t, s, _ in got[1:]] == after, v["name"]


FORMAT = {
    "about": "Golden vectors for the scsctl wire protocol, typed by hand from PROTOCOL.md (version 1).",
    "hex": "Bytes on the wire, lowercase hexadecimal, no separators.",
    "expect": {
        "frame": "The bytes are exactly one valid frame: seq, type (MessageType name) and fields (wire "
        "field names; enums and flags as integers; serial_number as a string without NUL padding; "
        "arrays as lists of objects). Encoding fields with seq must give back hex exactly.",
        "frames": "The bytes are several valid frames (or skippable noise and frames); 'frames' lists "
        "them in order, each with seq, type and fields.",
        "invalid": "The bytes hold one invalid frame (reason); no frame may be decoded from the bad "
        "part, the receiver's invalid-frame count must go up, and the frames in 'frames_after' "
        "(seq, type) must still be found after it. 'field', where given, is the field a bad_value "
        "names.",
    },
    "reason": {
        "bad_crc": "header valid, CRC wrong",
        "bad_length_check": "length check byte != length ^ 0xff",
        "truncated": "frame cut short. Followed by more bytes, a receiver sees a CRC failure once they "
        "make up the claimed length (it may report bad_crc); at the end of the input it is reported "
        "only by a receiver that gives up on a partial frame when the line goes quiet",
        "unknown_type": "valid CRC, undefined type byte",
        "bad_length": "valid CRC, payload size does not match the type's layout",
        "bad_value": "valid CRC, an enum field holds an undefined value, or serial_number holds a byte "
        "that is not printable ASCII (0x20-0x7e) before its NUL padding",
    },
}


def main() -> None:
    self_check()
    doc = {"format": FORMAT, "vectors": VECTORS}
    OUT.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(VECTORS)} vectors to {OUT}")


if __name__ == "__main__":
    main()

"""What the device answers to frames before any command logic: bad frames, handshake, sequence numbers."""

from __future__ import annotations

import pytest

from firmware_protocol import encode, frame_bytes
from firmware_protocol import messages as m
from firmware_protocol.constants import (
    MessageType,
    NakReason,
    Param,
    State,
    StateCause,
)
from scsctl.emulator import MODELS, Firmware

from .host import Host, program, ready


def test_power_on_sends_state_event_with_seq_zero() -> None:
    host = Host(Firmware())
    assert len(host.frames) == 1
    assert host.frames[0].seq == 0
    assert host.frames[0].message == m.EventState(State.IDLE, State.IDLE, StateCause.POWER_ON, 0)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_hello_identifies_the_model(name: str) -> None:
    model = MODELS[name]
    host = Host(Firmware(model=model, seed=7))
    reply = host.ok(m.Hello(1, 3))
    assert isinstance(reply, m.Identify)
    assert reply.model_id == model.model_id
    assert reply.protocol_version == 1
    assert reply.contact_count == model.contact_count == 16
    assert reply.program_slots == 4
    assert reply.serial_number == f"EMU{model.model_id:04X}-00000007"


@pytest.mark.parametrize(("low", "high"), [(2, 5), (2, 1), (0, 0)])
def test_hello_without_a_common_version_is_refused(low: int, high: int) -> None:
    host = Host(Firmware())
    nak = host.nak(m.Hello(low, high))
    assert (nak.reason, nak.param, nak.limit) == (NakReason.UNSUPPORTED_VERSION, Param.PROTOCOL_VERSION, 1)
    # and the handshake did not happen
    assert host.nak(m.ReadProgram(0)).reason == NakReason.NOT_PERMITTED


@pytest.mark.parametrize(
    "message",
    [
        m.Heartbeat(1000),
        m.SetProgram(program()),
        m.ReadProgram(0),
        m.SelectProgram(0),
        m.Start(0),
        m.SetAmplitude(100),
        m.MeasureImpedance(),
        m.GetUsage(0, 1),
    ],
    ids=lambda msg: type(msg).__name__,
)
def test_before_hello_only_hello_status_and_stop_are_accepted(message: m.Message) -> None:
    host = Host(Firmware())
    nak = host.nak(message)
    assert nak.reason == NakReason.NOT_PERMITTED
    assert nak.command == message.TYPE
    assert isinstance(host.ok(m.GetStatus()), m.Status)
    assert isinstance(host.ok(m.Stop()), m.StopAck)


def test_replies_carry_the_request_seq_and_events_their_own_counter() -> None:
    host = ready()
    host.ok(m.SetProgram(program()))
    frames = host.send_raw(encode(m.Start(0), seq=200))
    assert [type(f.message) for f in frames] == [m.StartAck, m.EventState]
    assert frames[0].seq == 200
    assert frames[1].seq == 1  # the power-on event was 0
    frames = host.send_raw(encode(m.Stop(), seq=17))
    assert [(f.seq, type(f.message)) for f in frames] == [(17, m.StopAck), (2, m.EventState)]


def test_bad_crc_is_answered_with_the_received_type_and_seq() -> None:
    host = ready()
    frame = bytearray(encode(m.Start(0), seq=42))
    frame[-1] ^= 0xFF
    (reply,) = host.send_raw(bytes(frame))
    assert reply.seq == 42
    assert reply.message == m.Nak(MessageType.START, NakReason.BAD_CRC)
    assert host.fw.state == State.IDLE


def test_a_header_whose_length_check_fails_gets_no_answer() -> None:
    host = ready()
    frame = bytearray(encode(m.GetStatus(), seq=3))
    frame[3] ^= 0x01
    assert host.send_raw(bytes(frame)) == []
    # and the next good frame is still found
    assert isinstance(host.ok(m.GetStatus()), m.Status)


@pytest.mark.parametrize("msg_type", [0x05, 0x3F, 0x40, 0x99, MessageType.STATUS, MessageType.EVENT_STATE])
def test_types_that_are_not_commands_are_unknown(msg_type: int) -> None:
    host = ready()
    (reply,) = host.send_raw(frame_bytes(msg_type, 9, b""))
    assert reply.seq == 9
    assert reply.message == m.Nak(msg_type, NakReason.UNKNOWN_COMMAND)


def test_a_well_formed_reply_frame_sent_to_the_device_is_unknown_command() -> None:
    host = ready()
    (reply,) = host.send_raw(encode(m.StartAck(), seq=4))
    assert reply.message == m.Nak(MessageType.START_ACK, NakReason.UNKNOWN_COMMAND)


@pytest.mark.parametrize(
    ("msg_type", "payload"),
    [(MessageType.GET_STATUS, b"\x00"), (MessageType.START, b""), (MessageType.SET_AMPLITUDE, b"\x01\x02")],
)
def test_wrong_payload_length_is_bad_length(msg_type: int, payload: bytes) -> None:
    host = ready()
    (reply,) = host.send_raw(frame_bytes(msg_type, 5, payload))
    assert reply.message == m.Nak(msg_type, NakReason.BAD_LENGTH)


def _raw_program(waveform: int = 0, recharge: int = 0, polarity: tuple[int, ...] = (1, 2)) -> bytes:
    fixed = bytes([0]) + (3000).to_bytes(2, "little") + (300).to_bytes(2, "little")
    fixed += (500).to_bytes(4, "little") + bytes([waveform, 0]) + bytes(4) + bytes([recharge])
    fixed += bytes(8) + (6000).to_bytes(2, "little")
    pols = list(polarity) + [0] * (16 - len(polarity))
    contacts = b"".join(bytes([p, 100 if p else 0]) for p in pols)
    return fixed + bytes([16]) + contacts


def test_raw_program_helper_matches_the_codec() -> None:
    assert frame_bytes(MessageType.SET_PROGRAM, 1, _raw_program()) == encode(m.SetProgram(program()), 1)


@pytest.mark.parametrize(
    ("payload", "param", "index"),
    [
        (_raw_program(waveform=7), Param.WAVEFORM, 0xFF),
        (_raw_program(recharge=2), Param.RECHARGE, 0xFF),
        (_raw_program(polarity=(1, 2, 0, 0, 9)), Param.CONTACT_POLARITY, 4),
    ],
)
def test_undefined_enum_values_are_out_of_range_naming_the_field(payload: bytes, param: Param, index: int) -> None:
    host = ready()
    (reply,) = host.send_raw(frame_bytes(MessageType.SET_PROGRAM, 6, payload))
    assert reply.message == m.Nak(MessageType.SET_PROGRAM, NakReason.OUT_OF_RANGE, param, index, 0)
    assert host.nak(m.ReadProgram(0)).reason == NakReason.EMPTY_SLOT


@pytest.mark.parametrize("split_at", [None, 3, 30])
def test_the_bad_contact_is_named_after_whole_frames_read_alone(split_at: int | None) -> None:
    # Status polls read one whole frame at a time (the bytes are not kept for naming a contact);
    # a program with an undefined polarity after them, whole or split across reads, is still named.
    host = ready()
    for seq in (1, 2, 3):
        (reply,) = host.send_raw(encode(m.GetStatus(), seq))
        assert isinstance(reply.message, m.Status)
    frame = frame_bytes(MessageType.SET_PROGRAM, 6, _raw_program(polarity=(1, 2, 0, 9)))
    chunks = [frame] if split_at is None else [encode(m.GetStatus(), 4) + frame[:split_at], frame[split_at:]]
    replies = [f for chunk in chunks for f in host.send_raw(chunk)]
    assert replies[-1].message == m.Nak(MessageType.SET_PROGRAM, NakReason.OUT_OF_RANGE, Param.CONTACT_POLARITY, 3, 0)


def test_more_contacts_than_the_protocol_carries_is_contact_count() -> None:
    host = ready()
    payload = _raw_program()[:26] + bytes([33]) + bytes(66)
    (reply,) = host.send_raw(frame_bytes(MessageType.SET_PROGRAM, 6, payload))
    assert reply.message == m.Nak(MessageType.SET_PROGRAM, NakReason.OUT_OF_RANGE, Param.CONTACT_COUNT, 0xFF, 16)


def test_frames_split_across_reads_and_noise_between_them() -> None:
    host = ready()
    data = b"\x00\xa5\x17" + encode(m.GetStatus(), 1) + b"noise" + encode(m.ReadProgram(0), 2)
    replies = [f for chunk in (data[:5], data[5:14], data[14:]) for f in host.send_raw(chunk)]
    assert [type(f.message) for f in replies] == [m.Status, m.Nak]
    assert replies[1].message.reason == NakReason.EMPTY_SLOT  # type: ignore[attr-defined]


def test_hello_repeated_changes_nothing() -> None:
    host = ready()
    host.ok(m.SetProgram(program(ramp_up_ms=0)))
    host.ok(m.Heartbeat(1000))
    host.ok(m.Start(0))
    before = host.status()
    assert isinstance(host.ok(m.Hello()), m.Identify)
    assert host.status() == before

"""NAK reasons: damaged frames, unknown commands, wrong lengths, wrong states; none is executed."""

from __future__ import annotations

import pytest

from firmware_protocol import frame_bytes
from firmware_protocol import messages as m
from firmware_protocol.constants import NakReason, Param, State
from scsctl.pytest_plugin import RawSender

from .support import raw_ok, raw_program, raw_status, raw_stimulating


def _nak(reply: m.Message | None, reason: NakReason, command: int) -> m.Nak:
    assert isinstance(reply, m.Nak), f"expected NAK {reason.name}, got {reply}"
    assert reply.reason is reason, f"expected NAK {reason.name}, got {reply}"
    assert reply.command == command
    return reply


def _two_programs_slot_0_selected(raw: RawSender) -> None:
    raw_ok(raw, m.Stop())
    raw_ok(raw, m.SetProgram(raw_program(raw, 0)))
    raw_ok(raw, m.SetProgram(raw_program(raw, 1, pulse_width_us=300)))
    raw_ok(raw, m.SelectProgram(0))


@pytest.mark.scs_requirement("PRO-004")
def test_a_frame_with_a_bad_crc_is_refused_and_not_executed(scs_raw: RawSender) -> None:
    _two_programs_slot_0_selected(scs_raw)
    for message in (m.SelectProgram(1), m.Start(1)):
        seq, frame = scs_raw.frame(message)
        damaged_crc = frame[:-1] + bytes([frame[-1] ^ 0x01])
        _nak(scs_raw.send(damaged_crc, seq=seq), NakReason.BAD_CRC, message.TYPE)
        seq, frame = scs_raw.frame(message)
        damaged_payload = frame[:6] + bytes([frame[6] ^ 0x02]) + frame[7:]  # slot 1 -> 3
        _nak(scs_raw.send(damaged_payload, seq=seq), NakReason.BAD_CRC, message.TYPE)
    status = raw_status(scs_raw)
    assert (status.state, status.active_slot, status.amplitude_ua) == (State.PROGRAMMED, 0, 0)


@pytest.mark.scs_requirement("PRO-004")
def test_noise_and_untrusted_headers_get_no_answer_and_the_line_recovers(scs_raw: RawSender) -> None:
    noise = bytes(range(0x10, 0x40)) + b"\xa5\xc3\x05\x05\x02\x01"  # a header whose length check fails
    assert scs_raw.send(noise, seq=None, timeout_s=0.2) is None
    assert scs_raw.stray == [], "the device answered noise"
    raw_status(scs_raw)  # the receiver found its way back to the next frame


@pytest.mark.scs_requirement("PRO-005")
@pytest.mark.parametrize("msg_type", [0x3F, 0x00, 0x82, 0xE0, 0x7F], ids=lambda t: f"type_0x{t:02X}")
def test_an_unknown_command_is_refused(scs_raw: RawSender, msg_type: int) -> None:
    seq = scs_raw.next_seq()
    nak = _nak(scs_raw.send(frame_bytes(msg_type, seq, b""), seq=seq), NakReason.UNKNOWN_COMMAND, msg_type)
    assert nak.param is Param.NONE


@pytest.mark.scs_requirement("PRO-005")
def test_a_payload_of_the_wrong_length_is_refused_and_not_executed(scs_raw: RawSender) -> None:
    _two_programs_slot_0_selected(scs_raw)
    cases = [
        (m.GetStatus(), b"\x00"),
        (m.SelectProgram(1), b""),
        (m.SelectProgram(1), b"\x01\x00"),
        (m.Start(1), b"\x01\x01"),
        (m.SetProgram(raw_program(scs_raw, 1, pulse_width_us=400)), None),  # one byte short
    ]
    for message, payload in cases:
        seq, frame = scs_raw.frame(message)
        body = frame[6:-2] if payload is None else payload
        if payload is None:
            body = body[:-1]
        _nak(scs_raw.send(frame_bytes(message.TYPE, seq, body), seq=seq), NakReason.BAD_LENGTH, message.TYPE)
    status = raw_status(scs_raw)
    assert (status.state, status.active_slot) == (State.PROGRAMMED, 0)
    assert raw_ok(scs_raw, m.ReadProgram(1)) == m.ProgramData(raw_program(scs_raw, 1, pulse_width_us=300))


@pytest.mark.scs_requirement("PRO-006")
def test_a_command_in_the_wrong_state_is_refused_and_changes_nothing(scs_raw: RawSender) -> None:
    _two_programs_slot_0_selected(scs_raw)
    _nak(scs_raw.request(m.SetAmplitude(0)), NakReason.WRONG_STATE, m.SetAmplitude.TYPE)  # not stimulating
    running = raw_stimulating(scs_raw, 0)
    for message in (
        m.Start(1),
        m.Start(),
        m.SelectProgram(1),
        m.MeasureImpedance(),
        m.SetProgram(raw_program(scs_raw, 0, pulse_width_us=500)),  # the running slot
    ):
        _nak(scs_raw.request(message), NakReason.WRONG_STATE, message.TYPE)
    status = raw_status(scs_raw)
    assert (status.state, status.active_slot) == (State.STIMULATING, 0)
    assert raw_ok(scs_raw, m.ReadProgram(0)) == m.ProgramData(running)
    raw_ok(scs_raw, m.Stop())

"""Raw frames an engineer types (the TUI's console): read exactly or refused naming the problem, then
sent under ``Device.request``'s rules, engineer only, every frame and its reply in the audit log."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import scsctl
from firmware_protocol import messages as m
from firmware_protocol.constants import AmplitudeFlags, NakReason, State
from scsctl.audit import AuditLog
from scsctl.controller import read_raw_frame
from scsctl.errors import SafetyRefusal, UsageError
from scsctl.parsing import electrodes
from scsctl.transports.emulated import EmulatedTransport
from scsctl.trust import OsUser, Policy

# Golden frames written by hand from PROTOCOL.md: sync A5 C3, length, length ^ FF, type, seq,
# payload, CRC-16 little-endian.
GET_STATUS_SEQ_7 = "A5 C3 00 FF 02 07 26 5D"
READ_PROGRAM_0_SEQ_7 = "a5c301fe1107008e6b"


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("GET_STATUS", m.GetStatus()),
        ("get_status", m.GetStatus()),
        ("02", m.GetStatus()),
        ("0x02", m.GetStatus()),
        ("11 00", m.ReadProgram(0)),
        ("READ_PROGRAM 03", m.ReadProgram(3)),
        ("22 60 EA 01", m.SetAmplitude(60000, AmplitudeFlags.COMMIT)),
        (GET_STATUS_SEQ_7, m.GetStatus()),
        (READ_PROGRAM_0_SEQ_7, m.ReadProgram(0)),
    ],
)
def test_a_typed_frame_is_read_as_its_one_message(typed: str, message: m.Message) -> None:
    assert read_raw_frame(typed) == message


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("", "nothing typed"),
        ("02 0G", "'G' is not a hex digit"),
        ("02 0", "3 hex digits"),
        ("NO_SUCH_TYPE", "'NO_SUCH_TYPE' is not a message type; the commands are HELLO, GET_STATUS"),
        ("3E", "0x3E is not a message type of the protocol"),
        ("82", "STATUS (0x82) is what a device sends, not a command"),
        ("11", "READ_PROGRAM payload of 0 bytes"),
        ("02 00", "GET_STATUS payload of 1 bytes"),
        ("A5 C3 00 FF 02 07 26 5E", "its CRC (the last two bytes) does not match its content"),
        ("A5 C3 00 FE 02 07 26 5D", "its length byte (0x00) and its check byte (0xFE) disagree"),
        ("A5 C3 01 FE 11 07 00", "cut short: 7 bytes typed, its header says 9"),
        ("A5 C3 00 FF 02 07 26 5D 00", "1 byte(s) after the end of the frame"),
    ],
)
def test_a_typed_frame_that_cannot_be_read_is_refused_naming_the_problem(typed: str, problem: str) -> None:
    with pytest.raises(UsageError) as caught:
        read_raw_frame(typed)
    assert problem in str(caught.value)


def engineer_policy() -> Policy:
    return Policy.granting(OsUser.current().name, source="test policy")


@pytest.fixture
def engineer(tmp_path: Path) -> Iterator[scsctl.Device]:
    transport = EmulatedTransport("emu://", seed=0)
    with scsctl.connect("emu://", role="engineer", data_dir=tmp_path, operator="eng", transport=transport,
                        policy=engineer_policy()) as dev:  # fmt: skip
        dev.sleep = lambda s: None
        yield dev
    transport.close()


def raw_records(tmp_path: Path) -> list[tuple[str, str]]:
    return [(r.kind, str(r.detail.get("reply", r.detail.get("type")))) for r in AuditLog.in_dir(tmp_path).query()
            if r.name == "RAW_FRAME"]  # fmt: skip


def test_a_read_is_sent_and_both_frames_are_audited(engineer: scsctl.Device, tmp_path: Path) -> None:
    exchange = engineer.send_raw(read_raw_frame("GET_STATUS"))
    assert isinstance(exchange.reply, m.Status) and exchange.reply.state == State.IDLE
    assert [(r.kind, r.name) for r in exchange.records] == [("command", "RAW_FRAME"), ("reply", "RAW_FRAME")]
    assert exchange.records[0].detail["guard"] == "checked"
    assert exchange.records[1].detail["state"] == "IDLE"
    assert raw_records(tmp_path) == [("command", "GET_STATUS"), ("reply", "STATUS")]


def test_a_nak_is_the_reply_and_is_audited(engineer: scsctl.Device, tmp_path: Path) -> None:
    exchange = engineer.send_raw(m.ReadProgram(2))
    assert isinstance(exchange.reply, m.Nak) and exchange.reply.reason is NakReason.EMPTY_SLOT
    assert "EMPTY_SLOT" in exchange.refused or "empty" in exchange.refused.lower()
    assert raw_records(tmp_path) == [("command", "READ_PROGRAM"), ("reply", "NAK")]


def test_a_stimulation_command_outside_the_limits_is_refused_by_the_guard_and_never_sent(
    engineer: scsctl.Device, tmp_path: Path
) -> None:
    engineer.write_program(m.Program(0, 0, 300, 500, electrodes("1+ 2-", 16), patient_max_ua=6000))
    engineer.select(0)
    engineer.measure_impedance()
    engineer.start()
    with pytest.raises(SafetyRefusal) as caught:
        engineer.send_raw(read_raw_frame("22 60 EA 01"))  # SET_AMPLITUDE 60 mA, commit
    assert caught.value.parameter == "amplitude_ua"
    refusals = [r for r in AuditLog.in_dir(tmp_path).query() if r.kind == "refusal"]
    assert [r.name for r in refusals] == ["RAW_FRAME"]
    assert ("command", "SET_AMPLITUDE") not in raw_records(tmp_path)
    assert engineer.status().setpoint_ua == 0


def test_a_stimulation_command_the_guard_approves_as_it_is_goes_out(engineer: scsctl.Device, tmp_path: Path) -> None:
    engineer.write_program(m.Program(0, 0, 300, 500, electrodes("1+ 2-", 16), patient_max_ua=6000))
    engineer.select(0)
    measured = engineer.send_raw(m.MeasureImpedance())  # counts as the check START needs
    assert isinstance(measured.reply, m.Impedance) and engineer.impedance is not None
    engineer.send_raw(m.Start())
    exchange = engineer.send_raw(m.SetAmplitude(100))
    assert isinstance(exchange.reply, m.SetAmplitudeAck)
    names = [r.name for r in exchange.records]
    assert names == ["RAW_FRAME", "SET_AMPLITUDE", "SET_AMPLITUDE", "RAW_FRAME"]  # its own records too
    assert engineer.status().setpoint_ua == 100
    engineer.send_raw(m.Stop())
    assert engineer.status().state == State.PROGRAMMED


def test_a_technician_is_refused_naming_the_role(tmp_path: Path) -> None:
    with scsctl.connect("emu://", data_dir=tmp_path, operator="tech") as dev, pytest.raises(SafetyRefusal) as caught:
        dev.send_raw(m.GetStatus())
    assert "raw frames are for the engineer role only: this session's role is technician" in str(caught.value)
    assert [(r.kind, r.name) for r in AuditLog.in_dir(tmp_path).query() if r.name == "RAW_FRAME"] == [
        ("refusal", "RAW_FRAME")
    ]


def test_hello_is_not_sent_again(engineer: scsctl.Device) -> None:
    with pytest.raises(UsageError, match="HELLO is sent once"):
        engineer.send_raw(m.Hello(1, 1))

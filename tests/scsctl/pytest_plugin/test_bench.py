"""The bench behind the fixtures: one session on the port at a time, output stopped after a test,
and a raw sender that only an engineer gets and that leaves a trace."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from firmware_protocol import messages as m
from firmware_protocol.constants import State
from scsctl.audit import AuditLog
from scsctl.errors import LinkError, UsageError
from scsctl.parsing import electrodes
from scsctl.pytest_plugin import Bench, RawSender, Target
from scsctl.transports.emulated import EmulatedTransport


def _target(tmp_path: Path, url: str = "emu://") -> Target:
    return Target(url, profile=None, data_dir=tmp_path, worker=None, role="engineer")


def _stimulate(bench: Bench) -> None:
    dev = bench.connect()
    prog = m.Program(slot=0, amplitude_ua=0, pulse_width_us=200, rate_dhz=500, contacts=electrodes("1+ 2-", 16),
                     patient_max_ua=1000)  # fmt: skip
    dev.write_program(prog)
    dev.write_program(dataclasses.replace(prog, amplitude_ua=500))
    dev.measure_impedance()
    dev.start(0)


def test_closing_the_bench_stops_stimulation_left_running(tmp_path: Path) -> None:
    target = _target(tmp_path)
    bench = Bench(target)
    _stimulate(bench)
    bench.close()
    after = Bench(target)
    status = after.connect().status()
    assert (status.state, status.amplitude_ua) == (State.PROGRAMMED, 0)
    after.close()
    target.close()


def test_stimulation_left_by_a_lost_session_is_stopped_through_a_new_one(tmp_path: Path) -> None:
    target = _target(tmp_path)
    bench = Bench(target)
    _stimulate(bench)
    assert bench.emulator is not None
    bench.emulator.disconnect()  # the session is lost; the device keeps stimulating (untethered)
    bench.close()
    check = Bench(target)
    assert check.connect().status().state is State.PROGRAMMED
    check.close()
    target.close()


def test_one_session_holds_the_port_at_a_time(tmp_path: Path) -> None:
    target = _target(tmp_path)
    bench = Bench(target)
    dev = bench.connect()
    raw = bench.raw_hello()  # takes the port: the controller session is closed
    with pytest.raises(LinkError):
        dev.status()
    assert isinstance(raw.request(m.GetStatus()), m.Status)
    dev = bench.connect()  # and back
    assert dev.status().state is State.IDLE
    assert isinstance(raw.request(m.GetStatus()), m.Status)  # the raw sender takes it again
    with pytest.raises(LinkError):
        dev.status()
    assert target.identity is not None and target.identity["model"] == "tonic-burst-16"
    bench.close()
    target.close()


def test_the_emulator_handle_belongs_to_a_new_device(tmp_path: Path) -> None:
    target = _target(tmp_path, "emu://drg-4x4")
    shared, fresh = Bench(target), Bench(target, fresh_emulator=True)
    assert shared.emulator is not None and fresh.emulator is not None
    assert shared.emulator is not fresh.emulator
    assert Bench(target).emulator is shared.emulator
    assert Bench(_target(tmp_path, "/dev/pts/999")).emulator is None
    for bench in (shared, fresh):
        bench.close()
    target.close()


def test_the_raw_sender_is_for_engineers_only(tmp_path: Path) -> None:
    technician = AuditLog.in_dir(tmp_path, role="technician")
    with pytest.raises(UsageError, match="bypasses the host's safety guard: it is for the engineer role only"):
        RawSender(EmulatedTransport("emu://"), technician)
    technician.close()


def test_raw_frames_and_their_answers_are_audited(tmp_path: Path) -> None:
    audit = AuditLog.in_dir(tmp_path, role="engineer")
    raw = RawSender(EmulatedTransport("emu://"), audit)
    raw.hello()
    seq, frame = raw.frame(m.GetStatus())
    damaged_crc = frame[:-1] + bytes([frame[-1] ^ 1])
    assert raw.send(damaged_crc, seq=seq) == m.Nak(m.MessageType.GET_STATUS, m.NakReason.BAD_CRC)
    raw.close()
    records = [r for r in AuditLog.in_dir(tmp_path).query() if r.name.startswith("RAW_")]
    assert records[0].name == "RAW_SENDER_OPEN" and records[0].detail["guard"] == "bypassed"
    (damaged,) = [r for r in records if r.kind == "command" and r.detail["type"] == "GET_STATUS"]
    assert damaged.detail["hex"] == damaged_crc.hex(" ")
    assert records[-2].detail["reply"] == "NAK" and records[-2].detail["reason"] == m.NakReason.BAD_CRC
    audit.close()


def test_the_raw_sender_waits_as_long_as_the_line_needs_at_1200_baud(tmp_path: Path) -> None:
    # A 67-byte SET_PROGRAM or PROGRAM frame takes 560 ms on the line at 1200 baud, past the sender's
    # 500 ms base wait: the wait follows the line speed, as the link's does.
    audit = AuditLog.in_dir(tmp_path, role="engineer")
    raw = RawSender(EmulatedTransport("emu://?baud=1200"), audit)
    raw.hello()
    program = m.Program(slot=2, amplitude_ua=0, pulse_width_us=300, rate_dhz=500,
                        contacts=electrodes("1+ 2-", 16), patient_max_ua=4000)  # fmt: skip
    assert isinstance(raw.request(m.SetProgram(program)), m.SetProgramAck)
    assert raw.request(m.ReadProgram(2)) == m.ProgramData(program)
    seq, frame = raw.frame(m.ReadProgram(2))
    assert raw.send(frame[:-1] + bytes([frame[-1] ^ 1]), seq=seq) == m.Nak(
        m.MessageType.READ_PROGRAM, m.NakReason.BAD_CRC
    )
    raw.close()
    audit.close()

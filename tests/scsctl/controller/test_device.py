"""The public API against the in-process emulator, as a script or a test rig uses it."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import scsctl
from firmware_protocol import Decoder, Frame
from firmware_protocol import messages as m
from firmware_protocol.constants import NakReason, State
from scsctl.audit import DB_NAME, AuditLog
from scsctl.emulator.faults import NakNext
from scsctl.errors import AuditError, DeviceRefused, ProfileMismatch, SafetyRefusal
from scsctl.link import read_capture
from scsctl.parsing import electrodes
from scsctl.transports.emulated import EmulatedTransport


def bipolar(slot: int = 0, amplitude_ua: int = 0, **kw: int) -> m.Program:
    return m.Program(
        slot=slot, amplitude_ua=amplitude_ua, pulse_width_us=300, rate_dhz=500,
        contacts=electrodes("1+ 2-", 16), patient_max_ua=6000, **kw,
    )  # fmt: skip


@pytest.fixture
def device(tmp_path: Path) -> Iterator[scsctl.Device]:
    with scsctl.connect("emu://", data_dir=tmp_path, operator="tester", capture=tmp_path / "wire.jsonl") as dev:
        dev.sleep = lambda s: None  # ramp steps go out back to back; the device still checks each step
        yield dev


def sent(tmp_path: Path) -> list[m.Message]:
    decoder = Decoder()
    out: list[m.Message] = []
    for record in read_capture(tmp_path / "wire.jsonl"):
        if record.direction == "tx":
            out += [i.message for i in decoder.feed(record.data) if isinstance(i, Frame)]
    return out


def audit_names(tmp_path: Path, kind: str) -> list[str]:
    return [r.name for r in AuditLog.in_dir(tmp_path).query() if r.kind == kind]


def test_the_session_offers_no_way_around_the_guard(device: scsctl.Device) -> None:
    from scsctl.guard import Guard, Role

    with pytest.raises(AttributeError):
        device.guard = Guard(device.profile, role=Role.ENGINEER)  # type: ignore[misc]
    assert not hasattr(device.link, "request")
    assert not hasattr(device.link, "transport")
    assert device.role == "technician"


def test_connect_identifies_and_matches_the_profile(device: scsctl.Device, tmp_path: Path) -> None:
    assert device.identity.profile == "tonic-burst-16"
    assert device.identity.contacts == 16
    assert device.identity.as_dict()["serial"] == device.identity.serial
    records = AuditLog.in_dir(tmp_path).query()
    assert [r.name for r in records[:2]] == ["connect", "IDENTIFY"]
    assert records[1].device_serial == device.identity.serial
    assert records[0].operator == "tester"


def test_a_program_is_written_read_back_and_audited_with_before_and_after(
    device: scsctl.Device, tmp_path: Path
) -> None:
    device.write_program(bipolar(ramp_up_ms=1000))
    assert device.read_program(0) == bipolar(ramp_up_ms=1000)
    (command,) = [r for r in AuditLog.in_dir(tmp_path).query() if r.kind == "command"]
    assert command.name == "SET_PROGRAM"
    assert command.detail["before"] == {}
    assert command.detail["after"]["pulse_width_us"] == 300


def test_a_refused_program_is_audited_and_never_sent(device: scsctl.Device, tmp_path: Path) -> None:
    with pytest.raises(SafetyRefusal) as err:
        device.write_program(
            m.Program(slot=0, amplitude_ua=0, pulse_width_us=5000, rate_dhz=500, contacts=electrodes("1+ 2-", 16))
        )
    assert err.value.parameter
    assert "pulse width" in str(err.value)
    assert not any(isinstance(msg, m.SetProgram) for msg in sent(tmp_path))
    assert audit_names(tmp_path, "refusal") == ["SET_PROGRAM"]


def test_start_adjust_commit_stop(device: scsctl.Device, tmp_path: Path) -> None:
    device.measure_impedance()
    device.write_program(bipolar(ramp_up_ms=200))
    device.select(0)
    device.start()
    outcome = device.set_amplitude(1500)
    assert outcome.status is not None
    assert outcome.status.setpoint_ua == 1500
    assert outcome.status.status_flags & m.StatusFlags.TENTATIVE
    outcome = device.commit()
    assert outcome.status is not None
    assert not outcome.status.status_flags & m.StatusFlags.TENTATIVE
    assert device.read_program(0).amplitude_ua == 1500
    device.stop()
    assert device.status().state is State.PROGRAMMED
    assert device.status().amplitude_ua == 0
    commands = audit_names(tmp_path, "command")
    assert commands[-1] == "STOP"
    assert "START" in commands


def test_large_changes_go_out_as_a_ramp_of_small_steps(device: scsctl.Device, tmp_path: Path) -> None:
    device.measure_impedance()
    device.write_program(bipolar())
    device.start(0)
    device.set_amplitude(3000)
    steps = [msg.amplitude_ua for msg in sent(tmp_path) if isinstance(msg, m.SetAmplitude)]
    assert steps[-1] == 3000
    assert len(steps) > 1
    assert max(b - a for a, b in zip([0, *steps], steps, strict=False)) <= device.profile.safety.max_amplitude_step_ua


def test_a_stop_that_overtakes_a_ramp_step_ends_the_ramp(
    device: scsctl.Device, monkeypatch: pytest.MonkeyPatch
) -> None:
    """STOP from another thread can reach the device between the ramp's check for a STOP and its
    next step: the device, stopped, refuses the step; that is the ramp ended, not a failure."""
    device.measure_impedance()
    device.write_program(bipolar())
    device.start(0)
    send = device._send
    steps: list[int] = []

    def send_after_a_stop(message: m.Message, **kw: object) -> m.Message:
        if isinstance(message, m.SetAmplitude):
            steps.append(message.amplitude_ua)
            if len(steps) == 2:
                device.stop()  # as the STOP line would, on its own thread, just after the check
        return send(message, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(device, "_send", send_after_a_stop)
    outcome = device.set_amplitude(3000)
    assert "stopped during the ramp: 1 of" in outcome.notices[-1]
    assert outcome.status is not None and outcome.status.state is State.PROGRAMMED
    assert len(steps) == 2  # nothing after the refused step


def test_a_device_refusal_names_the_reason_and_is_audited(tmp_path: Path) -> None:
    transport = EmulatedTransport("emu://")
    with scsctl.connect("emu://", data_dir=tmp_path, transport=transport) as device:
        transport.emulator.inject(NakNext(NakReason.BUSY, m.MessageType.SELECT_PROGRAM))
        device.write_program(bipolar())
        with pytest.raises(DeviceRefused, match="device refused SELECT_PROGRAM: busy"):
            device.select(0)
    replies = [r for r in AuditLog.in_dir(tmp_path).query() if r.kind == "reply" and r.name == "SELECT_PROGRAM"]
    assert replies[-1].detail["nak"] == "BUSY"


def test_a_committed_program_keeps_running_when_the_session_ends(tmp_path: Path) -> None:
    transport = EmulatedTransport("emu://")
    with scsctl.connect("emu://", data_dir=tmp_path, transport=transport, watchdog_timeout_ms=100) as dev:
        dev.sleep = lambda s: None
        dev.measure_impedance()
        dev.write_program(bipolar())
        dev.start(0)
        dev.set_amplitude(1000, commit=True)
        dev.set_amplitude(1400)  # tentative
    time.sleep(0.4)  # past the watchdog: the tentative change reverts, the program goes on
    with scsctl.connect("emu://", data_dir=tmp_path, transport=transport) as dev:
        status = dev.status()
    assert status.state is State.STIMULATING
    assert status.setpoint_ua == 1000


def test_a_tethered_session_stops_stimulation_when_it_ends(tmp_path: Path) -> None:
    transport = EmulatedTransport("emu://")
    with scsctl.connect(
        "emu://", data_dir=tmp_path, transport=transport, tethered=True, watchdog_timeout_ms=100
    ) as dev:
        dev.sleep = lambda s: None
        dev.measure_impedance()
        dev.write_program(bipolar())
        dev.start(0)
        dev.set_amplitude(1000, commit=True)
    time.sleep(0.4)
    with scsctl.connect("emu://", data_dir=tmp_path, transport=transport) as dev:
        assert dev.status().state is State.PROGRAMMED


def test_the_wrong_profile_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ProfileMismatch, match="0x5102"):
        scsctl.connect("emu://drg-4x4", profile="tonic-burst-16", data_dir=tmp_path)


def no_room_for_a_pending_journal(data_dir: Path) -> None:
    """With the log locked, records wait in a journal beside it (tests/scsctl/test_audit_pending.py);
    a file where its folder would go makes the log truly unwritable."""
    (data_dir / f"{DB_NAME}.pending").write_text("a file where the journal's folder would go")


def test_an_unwritable_audit_log_means_nothing_is_sent(device: scsctl.Device, tmp_path: Path) -> None:
    no_room_for_a_pending_journal(tmp_path)
    blocker = sqlite3.connect(tmp_path / DB_NAME, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(AuditError, match="The command was not sent"):
            device.write_program(bipolar())
    finally:
        blocker.execute("ROLLBACK")
    assert not any(isinstance(msg, m.SetProgram) for msg in sent(tmp_path))


def test_stop_under_a_locked_audit_log_is_recorded_through_the_pending_journal(
    device: scsctl.Device, tmp_path: Path
) -> None:
    device.measure_impedance()
    device.write_program(bipolar())
    device.start(0)
    device.set_amplitude(1000)
    blocker = sqlite3.connect(tmp_path / DB_NAME, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        device.stop()
    finally:
        blocker.execute("ROLLBACK")
    assert device.status().amplitude_ua == 0
    device.select(0)  # the next record merges the journal
    names = [(r.kind, r.name, "pending_journal" in r.detail) for r in AuditLog.in_dir(tmp_path).query()]
    assert ("command", "STOP", True) in names
    assert names.index(("command", "STOP", True)) < max(i for i, n in enumerate(names) if n[1] == "SELECT_PROGRAM")


def test_stop_goes_out_even_when_the_audit_log_cannot_be_written(device: scsctl.Device, tmp_path: Path) -> None:
    device.measure_impedance()
    device.write_program(bipolar())
    device.start(0)
    device.set_amplitude(1000)
    no_room_for_a_pending_journal(tmp_path)
    blocker = sqlite3.connect(tmp_path / DB_NAME, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(AuditError, match="STOP was carried out, but it is NOT recorded"):
            device.stop()
    finally:
        blocker.execute("ROLLBACK")
    assert device.status().amplitude_ua == 0


def test_device_events_are_audited_before_subscribers_see_them(device: scsctl.Device, tmp_path: Path) -> None:
    seen: list[object] = []

    def on_event(event: object) -> None:
        names = audit_names(tmp_path, "event")
        seen.append((event, names[-1] if names else None))

    device.subscribe(on_event)
    device.measure_impedance()
    device.write_program(bipolar())
    device.start(0)
    deadline = time.monotonic() + 2
    while not seen and time.monotonic() < deadline:
        time.sleep(0.01)
    event, last_audited = seen[0]
    assert isinstance(event, m.EventState)
    assert last_audited == "EVENT_STATE"


def test_audit_records_read_in_words_not_numbers(device: scsctl.Device, tmp_path: Path) -> None:
    device.measure_impedance()
    device.write_program(bipolar())
    device.start(0)
    device.stop()
    records = AuditLog.in_dir(tmp_path).query()
    start = next(r for r in records if r.kind == "command" and r.name == "START")
    assert start.detail["state_before"] == "IDLE"  # nothing was selected: START named the slot
    written = next(r for r in records if r.kind == "command" and r.name == "SET_PROGRAM")
    assert written.detail["after"]["waveform"] == "TONIC"
    assert written.detail["after"]["contacts"][0] == {"polarity": "ANODE", "share_pct": 100}


def test_a_link_subscriber_may_stop_the_device_from_its_callback(device: scsctl.Device, tmp_path: Path) -> None:
    # A rig's callback stops stimulation as soon as the device says it started: the STOP is
    # confirmed, not lost for want of someone to read the STOP_ACK.
    outcome: list[BaseException | None] = []

    def on_event(event: object) -> None:
        if isinstance(event, m.EventState) and event.new_state in (State.RAMPING_UP, State.STIMULATING):
            try:
                device.stop()
            except BaseException as err:  # noqa: BLE001 - handed to the test
                outcome.append(err)
            else:
                outcome.append(None)

    device.link.subscribe(on_event)
    device.measure_impedance()
    device.write_program(bipolar())
    device.start(0)
    deadline = time.monotonic() + 10
    while not outcome and time.monotonic() < deadline:
        time.sleep(0.01)
    assert outcome[:1] == [None]
    assert device.status().state is State.PROGRAMMED
    assert "STOP" in audit_names(tmp_path, "command")


def test_device_events_are_audited_when_nobody_subscribed(tmp_path: Path) -> None:
    with scsctl.connect("emu://", data_dir=tmp_path, operator="tester") as dev:
        dev.write_program(bipolar())
        dev.select(0)
    assert "EVENT_STATE" in audit_names(tmp_path, "event")  # idle -> programmed, in the log once closed

"""Capturing a program's read-back and the usage counter from the emulated device, and a fault the
device raised during the trial showing in the report."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

import scsctl
from firmware_protocol import messages as m
from scsctl.controller.events import Event
from scsctl.emulator.faults import LeadOpen
from scsctl.errors import UsageError
from scsctl.parsing import electrodes
from scsctl.transports.emulated import EmulatedTransport
from scsctl.trial import (
    TrialStore,
    build_report,
    capture_program,
    check_trial_device,
    read_usage,
    render_markdown,
    selected_slot,
)

from .conftest import TODAY, Clock, day


def bipolar(slot: int, amplitude_ua: int = 0) -> m.Program:
    return m.Program(
        slot=slot, amplitude_ua=amplitude_ua, pulse_width_us=300, rate_dhz=500,
        contacts=electrodes("1+ 2-", 16), patient_max_ua=6000,
    )  # fmt: skip


@pytest.fixture
def transport() -> EmulatedTransport:
    return EmulatedTransport("emu://")


@pytest.fixture
def device(tmp_path: Path, transport: EmulatedTransport) -> Iterator[scsctl.Device]:
    with scsctl.connect("emu://", data_dir=tmp_path, operator="tester", transport=transport) as dev:
        dev.sleep = lambda s: None
        dev.measure_impedance()
        dev.write_program(bipolar(0))
        dev.write_program(bipolar(1))
        yield dev


def test_a_capture_is_the_devices_read_back_with_what_was_running(device: scsctl.Device) -> None:
    device.start(0)
    device.set_amplitude(1500, commit=True)
    device.set_amplitude(2000)  # tentative: the patient feels 2 mA, the program still holds 1.5 mA
    running = capture_program(device, 0)
    assert running.program == device.read_program(0)
    assert running.program.amplitude_ua == 1500
    assert (running.running, running.setpoint_ua, running.tentative) == (True, 2000, True)
    assert running.felt_amplitude_ua == 2000
    idle = capture_program(device, 1)
    assert (idle.running, idle.setpoint_ua, idle.tentative) == (False, None, False)
    assert idle.felt_amplitude_ua == 0
    assert selected_slot(device) == 0


def test_an_empty_or_missing_slot_is_a_clear_error(device: scsctl.Device) -> None:
    with pytest.raises(UsageError, match=r"slot 2 of EMU5101-\d+ holds no program"):
        capture_program(device, 2)
    with pytest.raises(UsageError, match="program slots 0 to 3"):
        capture_program(device, 4)


def test_the_trials_device_is_checked_by_serial(tmp_path: Path, device: scsctl.Device, clock: Clock) -> None:
    with TrialStore.in_dir(tmp_path, now=clock) as store:
        other = store.new_trial(device_serial="OTHER-7", profile="tonic-burst-16", baseline_nrs=7)
        with pytest.raises(UsageError, match="connect to the trial's device"):
            check_trial_device(other, device)
        with pytest.raises(UsageError, match="was read from device EMU5101"):
            store.record_program(other.trial_id, capture_program(device, 0), regions="low-back")
        assert store.program_tests(other.trial_id) == []


def test_coverage_left_active_and_settings_survive_storage(tmp_path: Path, device: scsctl.Device, clock: Clock) -> None:
    serial = device.identity.serial
    with TrialStore.in_dir(tmp_path, now=clock, operator="tech-b") as store:
        tid = store.new_trial(
            device_serial=serial, profile="tonic-burst-16", baseline_nrs=7, start_date=day(1),
            pain_regions="low-back, foot-left", usage=read_usage(device),
        ).trial_id  # fmt: skip
        p1 = store.record_program(tid, capture_program(device, 0), regions="low-back-left", comfort=4,
                                  left_active=True, notes="left only")  # fmt: skip
        p2 = store.record_program(tid, capture_program(device, 1), regions="none", comfort=5, left_active=True)
        tests = store.program_tests(tid)
        assert [(t.label, t.left_active) for t in tests] == [("P1", False), ("P2", True)]
        assert tests[0].capture.program == device.read_program(0)
        assert tests[0].overlap.covered_pct == 33
        assert (tests[0].comfort, tests[0].notes, tests[0].recorded_by) == (4, "left only", "tech-b")
        assert p1.session_date == p2.session_date == TODAY
        assert store.set_left_active(tid, "P1").left_active
        assert [t.left_active for t in store.program_tests(tid)] == [True, False]
        with pytest.raises(UsageError, match="comfort 7 is not on the scale"):
            store.record_program(tid, capture_program(device, 0), regions="foot", comfort=7)
        with pytest.raises(UsageError, match="unknown body region"):
            store.record_program(tid, capture_program(device, 0), regions="feet")
        assert len(store.program_tests(tid)) == 2


def test_a_device_fault_during_the_trial_is_in_the_report(
    tmp_path: Path, device: scsctl.Device, transport: EmulatedTransport
) -> None:
    faulted = threading.Event()

    def on_event(event: Event) -> None:
        if isinstance(event, m.EventFault):
            faulted.set()

    device.subscribe(on_event)  # called once the event is in the audit log
    device.start(0)
    device.set_amplitude(1000, commit=True)  # the device supervises its leads while current flows
    transport.emulator.inject(LeadOpen(1))  # contact 2, which the program uses
    assert faulted.wait(5), "the emulator raised no fault event"
    now = datetime.now(UTC)
    with TrialStore.in_dir(tmp_path, now=lambda: now) as store:
        tid = store.new_trial(device_serial=device.identity.serial, profile="tonic-burst-16", baseline_nrs=6,
                              start_date=now.date()).trial_id  # fmt: skip
        store.add_diary(tid, now.date(), 3)
        report = build_report(store, tid, audit=device.audit, tz=UTC)
    (fault,) = report.faults
    assert fault.name == "EVENT_FAULT"
    assert fault.description == "fault: lead open on contact 2"
    assert "fault: lead open on contact 2" in render_markdown(report)

"""The controller's answers to what a review found: each test failed before its fix."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import scsctl
from firmware_protocol import messages as m
from firmware_protocol.constants import Capability, State
from scsctl.audit import DB_NAME, AuditLog
from scsctl.controller import _match_profile
from scsctl.emulator.faults import LeadOpen
from scsctl.errors import AuditError, ProfileMismatch, SafetyRefusal
from scsctl.parsing import electrodes
from scsctl.transports.emulated import EmulatedTransport


def bipolar(**kw: int) -> m.Program:
    return m.Program(slot=0, amplitude_ua=0, pulse_width_us=300, rate_dhz=500, contacts=electrodes("1+ 2-", 16),
                     patient_max_ua=6000, **kw)  # fmt: skip


@pytest.fixture
def device(tmp_path: Path) -> Iterator[scsctl.Device]:
    with scsctl.connect("emu://", data_dir=tmp_path) as dev:
        dev.sleep = lambda s: None
        dev.measure_impedance()
        yield dev


def test_start_is_checked_against_what_the_slot_holds_now_not_what_was_written(device: scsctl.Device) -> None:
    device.write_program(bipolar())  # 0 mA, no ramp-up: fine to start
    device.start(0)
    device.set_amplitude(5000, commit=True)  # the slot now holds 5 mA
    device.stop()
    # Starting 5 mA with no ramp-up is a jump the profile forbids; a stale cache would allow it.
    with pytest.raises(SafetyRefusal, match="ramp"):
        device.start(0)
    assert device.status().state is State.PROGRAMMED


def test_a_stop_from_another_thread_ends_a_ramp_in_progress(device: scsctl.Device) -> None:
    device.write_program(bipolar())
    device.start(0)
    release = threading.Event()
    stepped = threading.Event()

    def slow_step(seconds: float) -> None:
        stepped.set()
        release.wait(5)

    device.sleep = slow_step
    outcome: list[scsctl.Outcome] = []
    ramp = threading.Thread(target=lambda: outcome.append(device.set_amplitude(4000)))
    ramp.start()
    assert stepped.wait(5)
    device.stop()
    release.set()
    ramp.join(5)
    assert any("stopped during the ramp" in n for n in outcome[0].notices)
    assert device.status().amplitude_ua == 0


def test_an_event_the_audit_log_could_not_take_holds_back_commands_until_it_is_recorded(
    tmp_path: Path,
) -> None:
    transport = EmulatedTransport("emu://")
    with scsctl.connect("emu://", data_dir=tmp_path, transport=transport) as dev:
        dev.sleep = lambda s: None
        dev.measure_impedance()
        dev.write_program(bipolar())
        dev.start(0)
        dev.set_amplitude(1000)
        seen = threading.Event()
        dev.subscribe(lambda e: seen.set() if isinstance(e, m.EventFault) else None)
        # Locked, with no room for the pending journal where records would otherwise wait.
        (tmp_path / f"{DB_NAME}.pending").write_text("a file where the journal's folder would go")
        blocker = sqlite3.connect(tmp_path / DB_NAME, isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        try:
            transport.emulator.inject(LeadOpen(1))  # a lead fault while the log is locked
            assert seen.wait(5)  # the operator still sees it at once
            with pytest.raises(AuditError, match=r"device event.*could not be recorded.*not sent"):
                dev.select(0)
        finally:
            blocker.execute("ROLLBACK")
            (tmp_path / f"{DB_NAME}.pending").unlink()
        dev.stop()
    faults = [r for r in AuditLog.in_dir(tmp_path).query() if r.name == "EVENT_FAULT"]
    assert faults
    assert faults[0].detail["recorded_late"] is True


def test_a_device_with_other_contacts_than_its_profile_is_refused() -> None:
    ident = m.Identify(0x5101, 1, 1, 0, 0, "X1", 1, 8, 4, Capability.TONIC)
    with pytest.raises(ProfileMismatch, match="the device reports 8 contacts but profile 'tonic-burst-16' has 16"):
        _match_profile(ident, None, ())


def test_a_tethered_session_stops_on_close_without_waiting_for_the_watchdog(tmp_path: Path) -> None:
    transport = EmulatedTransport("emu://")
    with scsctl.connect("emu://", data_dir=tmp_path, transport=transport, tethered=True) as dev:
        dev.sleep = lambda s: None
        dev.measure_impedance()
        dev.write_program(bipolar())
        dev.start(0)
        dev.set_amplitude(1000)
    with transport.emulator.locked() as fw:
        assert fw.output_ua == 0
        assert fw.state is State.PROGRAMMED


def test_closing_disarms_the_watchdog_so_no_link_loss_is_recorded(tmp_path: Path) -> None:
    transport = EmulatedTransport("emu://")
    with scsctl.connect("emu://", data_dir=tmp_path, transport=transport, watchdog_timeout_ms=100):
        pass
    time.sleep(0.3)
    with scsctl.connect("emu://", data_dir=tmp_path, transport=transport) as dev:
        codes = [e.code.name for e in dev.usage().events]
    assert "WATCHDOG_EXPIRED" not in codes


def test_committing_past_what_the_ramp_up_can_restart_says_so_at_once(device: scsctl.Device) -> None:
    device.write_program(bipolar())  # no ramp-up
    device.start(0)
    outcome = device.set_amplitude(3000, commit=True)
    assert any("needs a ramp-up of at least 3000 ms" in n for n in outcome.notices)
    device.stop()

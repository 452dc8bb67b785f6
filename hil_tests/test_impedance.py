"""Impedance checks: normal contacts, open and short contacts flagged, START needing a fresh check."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from firmware_protocol import messages as m
from firmware_protocol.constants import (
    IMPEDANCE_OVER_RANGE_OHM,
    OUTPUT_STATES,
    FaultFlags,
    ImpedanceStatus,
    NakReason,
    State,
    StatusFlags,
)
from scsctl import Device
from scsctl.emulator import LeadOpen, LeadRepair, LeadShort
from scsctl.emulator.runner import EmulatorRunner
from scsctl.errors import DeviceRefused, SafetyRefusal
from scsctl.pytest_plugin import Measure, RawSender

from .support import install, ms, program, raw_ok, raw_program, raw_status, small_amplitude_ua, wait_state

REPLY_MAX_MS = 500 + 100
"""PROTOCOL.md 5.4: the device answers MEASURE_IMPEDANCE within 500 ms; plus the host's own time."""


@pytest.mark.scs_requirement("IMP-001")
def test_intact_contacts_measure_normal(scs_device: Device, scs_measure: Measure) -> None:
    scs_device.stop()
    bounds = scs_device.profile.impedance
    sent_s = time.monotonic()
    record = scs_device.measure_impedance()
    scs_measure("impedance_reply_ms", ms(time.monotonic() - sent_s), units="ms", limit=(None, REPLY_MAX_MS))
    assert len(record.readings) == scs_device.identity.contacts
    for number, reading in enumerate(record.readings, start=1):
        scs_measure(f"contact_{number}_impedance_ohm", reading.impedance_ohm, units="ohm",
                limit=(bounds.low_warning_below_ohm, bounds.high_warning_above_ohm))  # fmt: skip
        assert reading.status is ImpedanceStatus.OK, f"contact {number}: {reading}"
    assert scs_device.status().status_flags & StatusFlags.IMPEDANCE_FRESH


@pytest.mark.scs_emulator_only
@pytest.mark.scs_requirement("IMP-002")
def test_open_and_short_contacts_are_flagged_and_block_stimulation(
    scs_emulator: EmulatorRunner[Any], scs_connect: Callable[..., Device]
) -> None:
    dev = scs_connect()
    bounds = dev.profile.impedance
    amplitude = small_amplitude_ua(dev)
    install(dev, program(dev, 0, amplitude_ua=amplitude))
    dev.select(0)
    scs_emulator.inject(LeadOpen(2))  # contact 3
    scs_emulator.inject(LeadShort(4))  # contact 5
    readings = dev.measure_impedance().readings
    assert readings[2] == m.ImpedanceReading(IMPEDANCE_OVER_RANGE_OHM, ImpedanceStatus.OPEN)
    assert readings[4].status is ImpedanceStatus.SHORT and readings[4].impedance_ohm < bounds.short_below_ohm
    assert all(r.status is ImpedanceStatus.OK for i, r in enumerate(readings) if i not in (2, 4))
    status = dev.status()
    assert status.state is State.FAULT and status.amplitude_ua == 0
    lead_faults = FaultFlags.LEAD_OPEN | FaultFlags.LEAD_SHORT
    assert status.fault_flags & lead_faults == lead_faults
    assert not status.status_flags & StatusFlags.IMPEDANCE_FRESH

    with pytest.raises(SafetyRefusal, match="contact 3"):  # the host will not drive a broken contact
        dev.write_program(program(dev, 1, config="3+ 4-"))
    with pytest.raises(DeviceRefused) as err:  # intact contacts, but the device holds FAULT
        dev.start(0)
    assert err.value.reason is NakReason.WRONG_STATE
    dev.stop()
    assert dev.status().state is State.FAULT, "STOP does not clear a lead fault: only a passing check does"

    scs_emulator.inject(LeadRepair(2))
    scs_emulator.inject(LeadRepair(4))
    assert all(r.status is ImpedanceStatus.OK for r in dev.measure_impedance().readings)
    dev.stop()
    status = wait_state(dev, State.PROGRAMMED)
    assert status.fault_flags & lead_faults == FaultFlags.NONE
    dev.start(0)
    wait_state(dev, State.STIMULATING)


@pytest.mark.scs_requirement("IMP-003")
def test_the_host_refuses_start_without_a_fresh_check(scs_connect: Callable[..., Device], tmp_path: Path) -> None:
    dev = scs_connect(data_dir=tmp_path)  # a new audit log: no earlier check on record
    if not dev.profile.impedance.required_before_start:
        pytest.skip(f"the {dev.profile.name} profile does not require an impedance check before START")
    assert dev.impedance is None
    install(dev, program(dev, 0, amplitude_ua=small_amplitude_ua(dev)))
    with pytest.raises(SafetyRefusal, match="impedance check"):
        dev.start(0)
    assert dev.status().state not in OUTPUT_STATES
    dev.measure_impedance()
    dev.start(0)
    wait_state(dev, State.STIMULATING)


@pytest.mark.scs_emulator_only
@pytest.mark.scs_requirement("IMP-003")
def test_the_device_refuses_start_without_a_fresh_check(scs_emulator: EmulatorRunner[Any], scs_raw: RawSender) -> None:
    with scs_emulator.locked() as fw:
        model = fw.model
    if not model.requires_fresh_impedance:
        pytest.skip(f"the emulated {model.name} does not itself require an impedance check before START")
    raw_ok(scs_raw, m.SetProgram(raw_program(scs_raw, 0)))  # a factory-new device: never checked
    assert not raw_status(scs_raw).status_flags & StatusFlags.IMPEDANCE_FRESH
    nak = scs_raw.request(m.Start(0))
    assert isinstance(nak, m.Nak) and nak.reason is NakReason.NOT_PERMITTED, nak
    status = raw_status(scs_raw)
    assert status.state not in OUTPUT_STATES and status.amplitude_ua == 0
    raw_ok(scs_raw, m.MeasureImpedance())
    assert raw_status(scs_raw).status_flags & StatusFlags.IMPEDANCE_FRESH
    raw_ok(scs_raw, m.Start(0))

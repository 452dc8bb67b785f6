"""Battery end of service: output stops for good."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from firmware_protocol import messages as m
from firmware_protocol.constants import FaultCode, FaultFlags, NakReason, State, StateCause
from scsctl import Device
from scsctl.emulator import BatteryLevel
from scsctl.emulator.runner import EmulatorRunner
from scsctl.errors import DeviceRefused
from scsctl.pytest_plugin import Measure

from .support import Timeline, install, ms, program, ready_to_start, small_amplitude_ua, wait_state

OFF_MAX_MS = 20
"""On the device clock: one output update period."""


@pytest.mark.scs_emulator_only
@pytest.mark.scs_requirement("PWR-001")
def test_end_of_service_stops_output_and_refuses_start(
    scs_emulator: EmulatorRunner[Any], scs_connect: Callable[..., Device], scs_measure: Measure
) -> None:
    dev = scs_connect()
    install(dev, program(dev, 0, amplitude_ua=small_amplitude_ua(dev)))
    ready_to_start(dev)
    dev.start(0)
    wait_state(dev, State.STIMULATING)
    timeline = Timeline(dev)
    with scs_emulator.locked() as fw:
        drained_s = fw.clock_s  # the device clock when the battery drops: its faults are timed on it
        fw.inject(BatteryLevel(1.0))
    timeline.wait_for(lambda e: isinstance(e, m.EventFault) and e.fault is FaultCode.END_OF_SERVICE)
    _, change = timeline.state_change(State.FAULT)
    assert change.cause is StateCause.BATTERY
    with scs_emulator.locked() as fw:
        off_s = fw.monitor.first_off_after(drained_s)
    assert off_s is not None
    scs_measure("output_off_after_end_of_service_ms", ms(off_s - drained_s), units="ms", limit=(None, OFF_MAX_MS),
            description="on the device clock, from the battery reaching end of service")  # fmt: skip
    status = dev.status()
    assert (status.state, status.amplitude_ua) == (State.FAULT, 0)
    assert status.fault_flags & FaultFlags.END_OF_SERVICE
    dev.stop()
    dev.select(0)
    assert dev.status().state is State.FAULT, "end of service never clears"
    with pytest.raises(DeviceRefused) as err:
        dev.start(0)
    assert err.value.reason is NakReason.NOT_PERMITTED
    assert dev.status().amplitude_ua == 0

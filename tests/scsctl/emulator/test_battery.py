"""The battery: drains with time and output, warns when low, ends stimulation at end of service."""

from __future__ import annotations

import pytest

from firmware_protocol import messages as m
from firmware_protocol.constants import (
    NO_INDEX,
    EventCode,
    FaultCode,
    FaultFlags,
    NakReason,
    State,
    StateCause,
)
from scsctl.emulator import Battery, BatteryConfig, BatteryLevel, Firmware

from .host import Host, program, ready

# 1 mAh at 1 mA idle: an hour from full to empty, so tests reach the thresholds in simulated minutes.
SMALL = BatteryConfig(capacity_uah=1000, idle_draw_ua=1000)


def _host(percent: float = 100.0, config: BatteryConfig = SMALL) -> Host:
    return ready(Firmware(battery=Battery(config, percent)))


def test_idle_drain_warns_once_when_low_then_ends_service() -> None:
    host = _host()
    host.at(3000.0)
    assert host.status().battery_pct == 17
    assert host.events(m.EventFault) == []
    host.at(3100.0)  # 15 % is reached at 3060 s
    (low,) = host.events(m.EventFault)
    assert isinstance(low, m.EventFault)
    assert (low.fault, low.contact, low.fault_flags) == (FaultCode.BATTERY_LOW, NO_INDEX, FaultFlags.BATTERY_LOW)
    assert low.detail == pytest.approx(3300 + 850 * 0.15, abs=2)  # mV
    assert host.fw.state == State.IDLE  # a warning only
    assert host.fw.storage.log.entries()[-1].code == EventCode.BATTERY_LOW
    host.at(3600.0)  # 2 % at 3528 s
    eos = host.events(m.EventFault)[-1]
    assert eos.fault == FaultCode.END_OF_SERVICE  # type: ignore[attr-defined]
    assert host.states()[-1] == (State.IDLE, State.FAULT, StateCause.BATTERY)
    assert host.status().fault_flags == FaultFlags.BATTERY_LOW | FaultFlags.END_OF_SERVICE


def test_output_drains_faster_than_idle() -> None:
    idle = _host()
    busy = _host()
    busy.ok(m.SetProgram(program(amplitude_ua=10_000, pulse_width_us=300, rate_dhz=12_000,
                                 patient_max_ua=10_000)))  # fmt: skip
    busy.ok(m.Start(0))
    idle.at(1500.0)
    busy.at(1500.0)
    assert busy.status().battery_pct < idle.status().battery_pct


def test_end_of_service_stops_stimulation_and_start_is_refused() -> None:
    host = _host()
    host.ok(m.SetProgram(program()))
    host.ok(m.Start(0))
    host.fw.inject(BatteryLevel(1.0, at_s=5.0))
    host.at(10.0)
    assert host.fw.monitor.on_intervals() == [(0.0, 5.0)]
    assert host.states()[-1] == (State.STIMULATING, State.FAULT, StateCause.BATTERY)
    assert host.nak(m.Start(0)).reason == NakReason.NOT_PERMITTED
    host.ok(m.Stop())
    assert host.fw.state == State.FAULT  # end of service never clears
    host.ok(m.SelectProgram(0))
    assert host.fw.state == State.FAULT
    log = host.fw.storage.log.entries()
    assert EventCode.END_OF_SERVICE in [e.code for e in log]


def test_a_depleted_battery_is_still_depleted_after_a_power_cycle_a_fresh_one_is_not() -> None:
    host = _host(percent=1.0)
    assert host.fw.state == State.FAULT
    host.fw.power_cycle(10.0)
    assert host.fw.state == State.FAULT
    host.fw.battery.set_percent(100)
    host.fw.power_cycle(20.0)
    status = host.status()
    assert (status.state, status.fault_flags) == (State.IDLE, FaultFlags.NONE)


def test_low_battery_clears_when_the_battery_recovers() -> None:
    host = _host(percent=10.0)
    assert host.status().fault_flags == FaultFlags.BATTERY_LOW
    host.fw.inject(BatteryLevel(90.0))
    host.after(0.0)
    assert host.status().fault_flags == FaultFlags.NONE


def test_a_fresh_battery_lasts_about_a_week_idle() -> None:
    host = ready()
    host.at(6 * 24 * 3600.0)
    assert host.status().fault_flags == FaultFlags.NONE
    host.at(8 * 24 * 3600.0)
    assert host.status().fault_flags & FaultFlags.BATTERY_LOW

"""The emulator's per-command shortcuts change nothing a host can see.

``Firmware.next_deadline_s`` remembers its answer between changes, the battery's threshold times
are kept while it drains at one draw, and a port's reader thread may run the firmware itself on an
instant line (``EmulatorRunner.feed_inline``); all must answer exactly as the plain paths do: each
timed event arrives at the time worked out afresh, after whatever moved it.
"""

from __future__ import annotations

import dataclasses
import math

import pytest

from firmware_protocol import Decoder, Frame, encode
from firmware_protocol import messages as m
from firmware_protocol.constants import AmplitudeFlags, FaultCode, HeartbeatFlags, State
from scsctl.emulator import Battery, BatteryConfig, BatteryLevel, Firmware, LeadOpen, Stall
from scsctl.emulator.battery import ThresholdTimes, average_output_ua
from scsctl.emulator.runner import EmulatorRunner, make_emulator
from scsctl.transports.emulated import MemoryPort

from .host import Host, contacts, program, ready
from .stand_in import GUARD_S, StandInFirmware

STATUS_REQUEST = encode(m.GetStatus(), 1)


def _fresh_deadline_s(fw: Firmware) -> float | None:
    fw._timers.forget()  # what the firmware would say had it remembered nothing
    fw._battery_times = ThresholdTimes()
    return fw.next_deadline_s()


def _check(host: Host) -> None:
    remembered = host.fw.next_deadline_s()
    assert remembered == host.fw.next_deadline_s() == _fresh_deadline_s(host.fw)


def test_the_remembered_deadline_is_always_the_one_worked_out_afresh() -> None:
    host = ready(Firmware(battery=Battery(BatteryConfig(capacity_uah=1000, idle_draw_ua=1000))))
    _check(host)
    host.ok(m.SetProgram(program(ramp_up_ms=200, ramp_down_ms=100, cycle_on_s=2, cycle_off_s=1)))
    _check(host)
    host.ok(m.Heartbeat(1000, HeartbeatFlags.NONE))
    _check(host)
    host.ok(m.Start(0))
    for _ in range(40):  # ramps, cycling, a watchdog kept alive
        _check(host)
        host.after(0.1)
        _check(host)
        host.ok(m.Heartbeat(1000, HeartbeatFlags.NONE))
    host.fw.inject(LeadOpen(0, at_s=host.t + 0.05))
    _check(host)
    host.after(0.1)
    _check(host)
    assert host.fw.state == State.FAULT
    host.fw.inject(Stall(0.5))
    _check(host)
    host.after(1.0)
    _check(host)
    host.after(3500.0)  # the battery runs down to end of service
    _check(host)


def test_a_battery_changed_directly_moves_the_deadline_at_once() -> None:
    host = ready(Firmware())
    far_s = host.fw.next_deadline_s()
    assert far_s is not None and far_s > host.t + 3600
    host.fw.battery.set_percent(10)
    assert host.fw.next_deadline_s() == host.fw.clock_s  # BATTERY_LOW is due now
    host.at(host.t)
    (low,) = host.events(m.EventFault)
    assert low.fault == FaultCode.BATTERY_LOW  # type: ignore[attr-defined]


def test_an_injected_fault_moves_the_deadline() -> None:
    host = ready(Firmware())
    host.fw.next_deadline_s()
    host.fw.inject(BatteryLevel(1.0, at_s=host.t + 2.0))
    assert host.fw.next_deadline_s() == host.t + 2.0


# 1 mAh at 1 mA idle: BATTERY_LOW (15 %) after 3060 s idle.
SMALL = BatteryConfig(capacity_uah=1000, idle_draw_ua=1000)
NEAR_S = 1e-3


def _battery_low_from_now_s(host: Host) -> float:
    """When BATTERY_LOW is due at the output delivered now, from the battery's own arithmetic."""
    battery = host.fw.battery
    dt = battery.seconds_until(battery.config.low_pct, average_output_ua(host.fw.monitor.current))
    assert dt is not None
    return host.t + dt


def _faults(host: Host, code: FaultCode) -> list[m.Message]:
    return [e for e in host.events(m.EventFault) if e.fault == code]  # type: ignore[attr-defined]


def _arrives_at(host: Host, code: FaultCode, due_s: float) -> None:
    """The fault ``code`` is sent once, at ``due_s``: not by a moment before, by a moment after."""
    assert host.fw.next_deadline_s() == pytest.approx(due_s, abs=1e-6)
    before = len(_faults(host, code))
    host.at(due_s - NEAR_S)
    assert len(_faults(host, code)) == before, f"{code.name} came early"
    host.at(due_s + NEAR_S)
    assert len(_faults(host, code)) == before + 1, f"{code.name} came late"


def test_battery_low_comes_sooner_once_stimulation_draws_more() -> None:
    host = ready(Firmware(battery=Battery(SMALL)))
    idle_low_s = _battery_low_from_now_s(host)
    assert host.fw.next_deadline_s() == pytest.approx(idle_low_s, abs=1e-6)
    host.ok(m.SetProgram(program(amplitude_ua=10_000, rate_dhz=12_000, patient_max_ua=10_000)))
    host.at(100.0)
    host.ok(m.Start(0))
    stimulating_low_s = _battery_low_from_now_s(host)
    assert stimulating_low_s < idle_low_s - 60
    for _ in range(10):  # commands and polls at the new draw leave the new time standing
        host.after(7.3)
        host.status()
    _arrives_at(host, FaultCode.BATTERY_LOW, stimulating_low_s)


def test_battery_low_comes_later_once_stimulation_stops() -> None:
    host = ready(Firmware(battery=Battery(SMALL)))
    host.ok(m.SetProgram(program(amplitude_ua=10_000, rate_dhz=12_000, patient_max_ua=10_000)))
    host.ok(m.Start(0))
    host.after(100.0)
    host.ok(m.Stop())
    idle_low_s = _battery_low_from_now_s(host)
    host.after(100.0)
    _arrives_at(host, FaultCode.BATTERY_LOW, idle_low_s)


def test_end_of_service_holds_its_time_over_many_polls() -> None:
    polled = ready(Firmware(battery=Battery(SMALL)))
    jumped = ready(Firmware(battery=Battery(SMALL)))
    end_s = 3600 * 0.98  # 2 % left at 1 mA idle
    while polled.t < end_s - 10:
        polled.after(0.37)
    jumped.at(polled.t)
    assert polled.fw.next_deadline_s() == pytest.approx(jumped.fw.next_deadline_s(), abs=1e-6)
    _arrives_at(polled, FaultCode.END_OF_SERVICE, end_s)


def test_a_battery_drained_or_reconfigured_from_outside_moves_its_thresholds() -> None:
    host = ready(Firmware(battery=Battery(SMALL)))
    host.at(10.0)
    host.status()
    host.fw.battery.drain(1000.0, 0.0)  # 1000 s of idle drain the firmware did not see pass
    _arrives_at(host, FaultCode.BATTERY_LOW, 3060.0 - 1000.0)
    host.at(2100.0)
    host.fw.battery.config = dataclasses.replace(SMALL, end_of_service_pct=50)  # already below: due now
    assert host.fw.next_deadline_s() == host.t
    host.after(0.0)
    assert len(_faults(host, FaultCode.END_OF_SERVICE)) == 1


def test_a_heartbeat_moves_the_watchdog_either_way() -> None:
    host = ready()
    host.ok(m.Heartbeat(1000, HeartbeatFlags.NONE))
    host.at(0.5)
    host.ok(m.Heartbeat(200, HeartbeatFlags.NONE))  # shorter: due at 0.7 s, not 1.5 s
    _arrives_at(host, FaultCode.WATCHDOG_EXPIRY, 0.7)
    host.at(1.0)
    host.ok(m.Heartbeat(200, HeartbeatFlags.NONE))
    host.at(1.1)
    host.ok(m.Heartbeat(1000, HeartbeatFlags.NONE))  # longer: due at 2.1 s, not 1.2 s
    _arrives_at(host, FaultCode.WATCHDOG_EXPIRY, 2.1)


def test_contact_currents_follow_each_amplitude_and_program() -> None:
    host = ready()
    split = contacts(16, {0: 100}, {1: 50, 2: 50})
    host.ok(m.SetProgram(program(0, ramp_up_ms=0)))
    host.ok(m.SetProgram(program(1, amplitude_ua=3001, ramp_up_ms=0, contacts=split)))
    host.ok(m.Start(0))
    assert host.fw.monitor.current.contact_ua[:3] == (3000, -3000, 0)
    host.ok(m.SetAmplitude(3001, AmplitudeFlags.NONE))
    assert host.fw.monitor.current.contact_ua[:3] == (3001, -3001, 0)
    host.ok(m.Stop())
    host.ok(m.Start(1))  # the same amplitude on other contacts
    assert host.fw.monitor.current.contact_ua[:3] == (3001, -1501, -1500)
    host.ok(m.SetAmplitude(3000, AmplitudeFlags.COMMIT))
    assert host.fw.monitor.current.contact_ua[:3] == (3000, -1500, -1500)


def _running(runner: EmulatorRunner[Firmware] | EmulatorRunner[StandInFirmware]) -> MemoryPort:
    port = MemoryPort("test")
    port.open()
    runner.start(port)
    return port


def _frames(port: MemoryPort, decoder: Decoder, timeout_s: float) -> list[Frame]:
    return [f for f in decoder.feed(port.read(512, timeout_s)) if isinstance(f, Frame)]


def test_feed_inline_answers_before_it_returns_on_an_instant_line() -> None:
    runner = EmulatorRunner(StandInFirmware())
    port = _running(runner)
    try:
        runner.feed_inline(STATUS_REQUEST)
        (reply,) = _frames(port, Decoder(), 0)  # already there: nothing else had to run
        assert isinstance(reply.message, m.Status)
    finally:
        runner.stop()


def test_feed_inline_leaves_a_simulated_line_to_the_runner_thread() -> None:
    runner = EmulatorRunner(StandInFirmware(), baud=115_200)
    port = _running(runner)
    try:
        runner.feed_inline(STATUS_REQUEST)
        decoder = Decoder()
        frames: list[Frame] = []
        while not frames:
            frames = _frames(port, decoder, GUARD_S)
        assert isinstance(frames[0].message, m.Status)
    finally:
        runner.stop()


def test_timed_work_a_command_started_inline_still_happens_on_time() -> None:
    runner = make_emulator()
    port = _running(runner)
    decoder = Decoder()
    try:
        runner.feed_inline(encode(m.Hello(), 1))
        # The runner thread sleeps until a battery threshold days away; this arms a 50 ms watchdog.
        runner.feed_inline(encode(m.Heartbeat(50, HeartbeatFlags.NONE), 2))
        faults: list[m.Message] = []
        while not faults:
            frames = _frames(port, decoder, GUARD_S)
            assert frames, "the watchdog never expired"
            faults += [f.message for f in frames if isinstance(f.message, m.EventFault)]
        assert faults[0].fault == FaultCode.WATCHDOG_EXPIRY  # type: ignore[attr-defined]
    finally:
        runner.stop()


def test_a_firmware_that_crashes_inline_is_reported_and_the_device_goes_silent() -> None:
    class Broken(StandInFirmware):
        def receive(self, data: bytes, now_s: float) -> bytes:
            raise RuntimeError("bug in the firmware")

    runner = EmulatorRunner(Broken())
    port = MemoryPort("test")
    port.open()
    runner.start(port)
    try:
        runner.feed_inline(STATUS_REQUEST)
        assert isinstance(runner.error, RuntimeError)
        assert not runner.running
        assert port.down_for_s() == math.inf
    finally:
        runner.stop()

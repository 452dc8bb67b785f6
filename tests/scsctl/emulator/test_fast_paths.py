"""The emulator's per-command shortcuts change nothing a host can see.

``Firmware.next_deadline_s`` remembers its answer between changes, and a port's reader thread may
run the firmware itself on an instant line (``EmulatorRunner.feed_inline``); both must answer
exactly as the plain paths do.
"""

from __future__ import annotations

import math

from firmware_protocol import Decoder, Frame, encode
from firmware_protocol import messages as m
from firmware_protocol.constants import FaultCode, HeartbeatFlags, State
from scsctl.emulator import Battery, BatteryConfig, BatteryLevel, Firmware, LeadOpen, Stall
from scsctl.emulator.runner import EmulatorRunner, make_emulator
from scsctl.transports.emulated import MemoryPort

from .host import Host, program, ready
from .stand_in import GUARD_S, StandInFirmware

STATUS_REQUEST = encode(m.GetStatus(), 1)


def _fresh_deadline_s(fw: Firmware) -> float | None:
    fw._timers.forget()  # what the firmware would say had it remembered nothing
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

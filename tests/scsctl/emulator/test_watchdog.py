"""The heartbeat watchdog (PROTOCOL.md 11): revert, stop when tethered, and say why."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from firmware_protocol import encode
from firmware_protocol import messages as m
from firmware_protocol.constants import (
    NO_INDEX,
    EventCode,
    FaultCode,
    FaultFlags,
    HeartbeatFlags,
    NakReason,
    Param,
    State,
    StateCause,
    StatusFlags,
)
from scsctl.emulator import MODELS, Firmware

from .host import Host, program, ready


def _stimulating_with_tentative(flags: HeartbeatFlags) -> Host:
    host = ready()
    host.ok(m.SetProgram(program()))
    host.ok(m.Start(0))
    host.at(1.0)
    host.ok(m.Heartbeat(500, flags))
    host.ok(m.SetAmplitude(4000))  # tentative; the last frame from the host, at 1.0 s
    host.clear()
    return host


def test_tethered_session_expiry_reverts_stops_and_says_why() -> None:
    host = _stimulating_with_tentative(HeartbeatFlags.STOP_ON_LOSS)
    assert host.after(0.499) == []
    host.at(2.0)
    assert host.fw.monitor.first_off_after(1.0) == pytest.approx(1.5)
    assert host.fw.monitor.amplitude_at(1.4999) == 4000
    events = host.events()
    assert events == [
        m.EventFault(FaultCode.WATCHDOG_EXPIRY, NO_INDEX, 500, FaultFlags.WATCHDOG_EXPIRY),
        m.EventState(State.STIMULATING, State.PROGRAMMED, StateCause.WATCHDOG, 0),
    ]
    status = host.status()
    assert status.state == State.PROGRAMMED
    assert status.setpoint_ua == 3000
    assert status.fault_flags == FaultFlags.WATCHDOG_EXPIRY
    assert not status.status_flags & (StatusFlags.SESSION_OPEN | StatusFlags.TENTATIVE)
    log = host.fw.storage.log.entries()
    assert [(e.code, e.detail) for e in log[-3:]] == [
        (EventCode.TENTATIVE_REVERTED, 3000),
        (EventCode.STIMULATION_STOPPED, StateCause.WATCHDOG),
        (EventCode.WATCHDOG_EXPIRED, 500),
    ]
    # arming again clears the flag
    host.ok(m.Heartbeat(500, HeartbeatFlags.STOP_ON_LOSS))
    assert host.status().fault_flags == FaultFlags.NONE


def test_untethered_session_expiry_keeps_the_committed_program_running() -> None:
    host = _stimulating_with_tentative(HeartbeatFlags.NONE)
    host.at(100.0)
    assert host.fw.state == State.STIMULATING
    assert host.fw.monitor.amplitude_at(1.5) == 3000  # the committed amplitude, from expiry on
    assert host.fw.monitor.amplitude_at(99.0) == 3000
    assert host.events() == [m.EventFault(FaultCode.WATCHDOG_EXPIRY, NO_INDEX, 500, FaultFlags.WATCHDOG_EXPIRY)]
    assert not host.status().status_flags & StatusFlags.SESSION_OPEN


def test_any_valid_command_frame_restarts_the_timer_even_a_refused_one() -> None:
    host = _stimulating_with_tentative(HeartbeatFlags.STOP_ON_LOSS)
    for i in range(1, 20):
        host.at(1.0 + 0.4 * i)
        if i % 2:
            host.ok(m.GetStatus())
        else:
            assert host.nak(m.SelectProgram(9)).reason == NakReason.WRONG_STATE
    assert host.fw.state == State.STIMULATING
    assert host.events() == []


def test_a_frame_with_a_bad_crc_does_not_restart_the_timer() -> None:
    host = _stimulating_with_tentative(HeartbeatFlags.STOP_ON_LOSS)
    host.at(1.4)
    bad = bytearray(encode(m.Heartbeat(500, HeartbeatFlags.STOP_ON_LOSS), 77))
    bad[-2] ^= 1
    host.send_raw(bytes(bad))
    host.at(1.6)
    assert host.fw.state == State.PROGRAMMED


def test_heartbeat_zero_disarms() -> None:
    host = _stimulating_with_tentative(HeartbeatFlags.STOP_ON_LOSS)
    host.ok(m.Heartbeat(0))
    host.at(60.0)
    assert host.fw.state == State.STIMULATING
    assert host.status().status_flags == StatusFlags.TENTATIVE


def test_expiry_outside_output_changes_no_state() -> None:
    host = ready()
    host.ok(m.Heartbeat(50, HeartbeatFlags.STOP_ON_LOSS))
    host.at(5.0)
    assert host.fw.state == State.IDLE
    assert [type(e) for e in host.events()] == [m.EventState, m.EventFault]  # power-on, expiry


@pytest.mark.parametrize(
    ("message", "param", "limit"),
    [
        (m.Heartbeat(1), Param.WATCHDOG_TIMEOUT, 50),
        (m.Heartbeat(49), Param.WATCHDOG_TIMEOUT, 50),
        (m.Heartbeat(60_001), Param.WATCHDOG_TIMEOUT, 60_000),
        (m.Heartbeat(0xFFFF), Param.WATCHDOG_TIMEOUT, 60_000),
        (m.Heartbeat(500, HeartbeatFlags(0x02)), Param.FLAGS, 0),
    ],
)
def test_bad_heartbeat_values_are_refused_and_change_nothing(message: m.Heartbeat, param: Param, limit: int) -> None:
    host = ready()
    nak = host.nak(message)
    assert (nak.reason, nak.param, nak.limit) == (NakReason.OUT_OF_RANGE, param, limit)
    assert not host.status().status_flags & StatusFlags.SESSION_OPEN


def test_status_shows_the_session() -> None:
    host = ready()
    host.ok(m.Heartbeat(50))
    assert host.status().status_flags == StatusFlags.SESSION_OPEN
    host.ok(m.Heartbeat(60_000, HeartbeatFlags.STOP_ON_LOSS))
    assert host.status().status_flags == StatusFlags.SESSION_OPEN | StatusFlags.STOP_ON_LINK_LOSS


def test_a_heartbeat_arming_the_watchdog_clears_its_expiry_and_a_disarming_one_does_not() -> None:
    host = ready()
    host.ok(m.Heartbeat(50))
    host.at(1.0)
    assert host.status().fault_flags == FaultFlags.WATCHDOG_EXPIRY
    host.ok(m.Heartbeat(0))
    assert host.status().fault_flags == FaultFlags.WATCHDOG_EXPIRY
    host.ok(m.Heartbeat(50, HeartbeatFlags.STOP_ON_LOSS))
    status = host.status()
    assert status.fault_flags == FaultFlags.NONE
    assert status.status_flags == StatusFlags.SESSION_OPEN | StatusFlags.STOP_ON_LINK_LOSS
    host.ok(m.Heartbeat(0, HeartbeatFlags.STOP_ON_LOSS))  # disarmed: nothing to stop on
    assert host.status().status_flags == StatusFlags.NONE


def _rises(host: Host, t0: float) -> list[tuple[float, int]]:
    """(time, increase) of every upward change of the delivered amplitude from ``t0`` on."""
    changes = [(t0, host.fw.monitor.amplitude_at(t0)), *host.fw.monitor.amplitude_changes(t0 + 1e-9)]
    return [(t1, a1 - a0) for (_, a0), (t1, a1) in itertools.pairwise(changes) if a1 > a0]


def _lowered_tentatively(step_max_ua: int, ramp_up_ms: int = 0) -> tuple[Host, float]:
    """Committed 10 mA, lowered tentatively to 2 mA in steps of at most ``step_max_ua``, untethered;
    returns the host and when the watchdog expires."""
    model = dataclasses.replace(MODELS["tonic-burst-16"], amplitude_step_max_ua=step_max_ua)
    host = ready(Firmware(model=model))
    host.ok(m.SetProgram(program(amplitude_ua=10_000, patient_max_ua=12_000, ramp_up_ms=ramp_up_ms)))
    host.ok(m.Start(0))
    host.at(1.0)
    host.ok(m.Heartbeat(500))
    for amplitude_ua in range(10_000 - step_max_ua, 1_999, -step_max_ua):
        host.ok(m.SetAmplitude(amplitude_ua))
    assert host.fw.output_ua == 2000
    host.clear()
    return host, 1.5


@pytest.mark.parametrize("step_max_ua", [2000, 500])
def test_expiry_ramps_a_lowered_tentative_amplitude_back_up_never_jumping(step_max_ua: int) -> None:
    host, expiry_s = _lowered_tentatively(step_max_ua)
    host.at(10.0)
    assert host.fw.monitor.amplitude_at(expiry_s) == 2000  # not back at 10 mA in one go
    rises = _rises(host, expiry_s)
    assert rises, "the committed amplitude must come back"
    assert all(increase <= step_max_ua for _, increase in rises)
    times = [expiry_s] + [t for t, _ in rises]
    assert all(b - a >= 0.02 - 1e-9 for a, b in itertools.pairwise(times))  # one step per ramp step
    assert host.fw.output_ua == 10_000
    assert host.fw.state == State.STIMULATING
    assert host.events() == [
        m.EventFault(FaultCode.WATCHDOG_EXPIRY, NO_INDEX, 500, FaultFlags.WATCHDOG_EXPIRY),
        m.EventState(State.STIMULATING, State.RAMPING_UP, StateCause.WATCHDOG, 2000),
        m.EventState(State.RAMPING_UP, State.STIMULATING, StateCause.RAMP_DONE, 10_000),
    ]
    status = host.status()
    assert (status.setpoint_ua, status.status_flags & StatusFlags.TENTATIVE) == (10_000, 0)
    assert [e.code for e in host.fw.storage.log.entries()][-2:] == [
        EventCode.TENTATIVE_REVERTED,
        EventCode.WATCHDOG_EXPIRED,
    ]


def test_expiry_ramps_back_up_no_faster_than_the_programs_own_ramp() -> None:
    host, expiry_s = _lowered_tentatively(2000, ramp_up_ms=1000)  # 10 mA in 1 s: 200 uA a step
    host.at(10.0)
    rises = _rises(host, expiry_s)
    assert all(increase <= 200 for _, increase in rises)
    assert rises[-1][0] == pytest.approx(expiry_s + 0.8)  # 8 mA at the program's pace takes 0.8 s
    assert host.fw.monitor.amplitude_at(expiry_s + 0.4) == 6000


def test_expiry_during_a_ramp_up_to_a_lowered_tentative_amplitude_replans_the_ramp() -> None:
    """Lowered while off (cycling); the watchdog expires while the next on-period ramps up."""
    host = ready()
    host.ok(m.SetProgram(program(amplitude_ua=10_000, patient_max_ua=12_000, ramp_up_ms=500,
                                 cycle_on_s=2, cycle_off_s=2)))  # fmt: skip
    host.ok(m.Start(0))
    host.at(1.0)
    for amplitude_ua in (8000, 6000, 4000, 2000):
        host.ok(m.SetAmplitude(amplitude_ua))
    host.at(1.24)
    host.ok(m.Heartbeat(3000))  # expires at 4.24 s, 240 ms into the ramp of the on-period from 4 s
    host.at(5.9)  # the on-period ends at 6 s
    rises = _rises(host, 4.0)
    assert all(increase <= 400 for _, increase in rises)  # 10 mA over 500 ms: 400 uA a step
    assert host.fw.monitor.amplitude_at(4.23) == 2000 * 220 // 500  # ramping towards 2 mA
    assert host.fw.monitor.amplitude_at(5.5) == 10_000
    assert host.states()[-2:] == [
        (State.CYCLING_OFF, State.RAMPING_UP, StateCause.CYCLE),
        (State.RAMPING_UP, State.STIMULATING, StateCause.RAMP_DONE),
    ]


def test_expiry_lowers_a_raised_tentative_amplitude_at_once() -> None:
    host = _stimulating_with_tentative(HeartbeatFlags.NONE)  # committed 3 mA, tentative 4 mA
    host.at(2.0)
    ((t, amplitude_ua),) = host.fw.monitor.amplitude_changes(1.0 + 1e-9)  # one change, straight down
    assert t == pytest.approx(1.5)
    assert amplitude_ua == 3000
    assert host.fw.state == State.STIMULATING


def test_stop_during_the_ramp_back_up_stops_at_once() -> None:
    host, expiry_s = _lowered_tentatively(500)  # 8 mA back in steps of 500 uA: 320 ms
    host.at(expiry_s + 0.1)
    assert host.fw.state == State.RAMPING_UP
    assert host.nak(m.SetAmplitude(4000)).reason == NakReason.WRONG_STATE  # no change mid-ramp
    host.ok(m.Stop())
    assert host.fw.monitor.first_off_after(expiry_s) == pytest.approx(expiry_s + 0.1)
    assert host.status().state == State.PROGRAMMED

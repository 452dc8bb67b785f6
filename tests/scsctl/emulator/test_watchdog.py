"""The heartbeat watchdog (PROTOCOL.md 11): revert, stop when tethered, and say why."""

from __future__ import annotations

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

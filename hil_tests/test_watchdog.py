"""The heartbeat watchdog: a silent host's tentative change reverts; a tethered session stops output."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from firmware_protocol import messages as m
from firmware_protocol.constants import EventCode, FaultCode, FaultFlags, State, StateCause, StatusFlags
from scsctl import Device
from scsctl.emulator.runner import EmulatorRunner
from scsctl.pytest_plugin import Measure

from .support import Timeline, install, ms, program, ready_to_start, small_amplitude_ua, wait_state

WATCHDOG_MS = 300
EVENT_LATE_MAX_MS = 100
"""How much later than the timeout the host may hear of the expiry: the line, the device's reply
time and the host's scheduling on a loaded test machine."""


def _stimulating(dev: Device) -> m.Program:
    amplitude = small_amplitude_ua(dev)
    prog = install(dev, program(dev, 0, amplitude_ua=amplitude))
    ready_to_start(dev)
    dev.start(0)
    wait_state(dev, State.STIMULATING)
    return prog


def _fall_silent(dev: Device) -> float:
    """The host stops talking (its heartbeat ends); returns when its last frame was answered."""
    dev.link.stop_heartbeat()
    dev.status()  # the last frame: the watchdog restarts from its arrival
    return time.monotonic()


@pytest.mark.scs_requirement("WDG-001")
def test_a_tentative_amplitude_reverts_when_the_host_falls_silent(
    scs_connect: Callable[..., Device], scs_measure: Measure
) -> None:
    dev = scs_connect(watchdog_timeout_ms=WATCHDOG_MS)
    prog = _stimulating(dev)
    tried = prog.amplitude_ua + dev.profile.safety.max_amplitude_step_ua
    outcome = dev.set_amplitude(tried)
    assert outcome.status is not None and outcome.status.status_flags & StatusFlags.TENTATIVE
    assert outcome.status.amplitude_ua == tried
    timeline = Timeline(dev)
    silent_s = _fall_silent(dev)
    expired_s, _ = timeline.wait_for(
        lambda e: isinstance(e, m.EventFault) and e.fault is FaultCode.WATCHDOG_EXPIRY, WATCHDOG_MS / 1000 + 2
    )
    scs_measure("tentative_revert_after_silence_ms", ms(expired_s - silent_s), units="ms",
            limit=(None, WATCHDOG_MS + EVENT_LATE_MAX_MS),
            description="last frame answered -> EVENT_FAULT WATCHDOG_EXPIRY received")  # fmt: skip
    status = dev.status()
    assert status.state is State.STIMULATING, "an untethered program keeps running"
    assert (status.amplitude_ua, status.setpoint_ua) == (prog.amplitude_ua, prog.amplitude_ua)
    assert not status.status_flags & (StatusFlags.TENTATIVE | StatusFlags.SESSION_OPEN)
    assert status.fault_flags & FaultFlags.WATCHDOG_EXPIRY
    assert dev.read_program(0).amplitude_ua == prog.amplitude_ua


@pytest.mark.scs_requirement("WDG-002")
def test_tethered_output_stops_when_the_host_falls_silent(
    scs_connect: Callable[..., Device], scs_measure: Measure
) -> None:
    dev = scs_connect(tethered=True, watchdog_timeout_ms=WATCHDOG_MS)
    _stimulating(dev)
    timeline = Timeline(dev)
    silent_s = _fall_silent(dev)
    stopped_s, event = timeline.state_change(State.PROGRAMMED, WATCHDOG_MS / 1000 + 2, after_s=silent_s)
    scs_measure("output_stop_after_silence_ms", ms(stopped_s - silent_s), units="ms",
            limit=(None, WATCHDOG_MS + EVENT_LATE_MAX_MS),
            description="last frame answered -> EVENT_STATE PROGRAMMED (cause WATCHDOG) received")  # fmt: skip
    assert event.cause is StateCause.WATCHDOG and event.amplitude_ua == 0
    status = dev.status()
    assert (status.state, status.amplitude_ua) == (State.PROGRAMMED, 0)
    assert status.fault_flags & FaultFlags.WATCHDOG_EXPIRY


@pytest.mark.scs_emulator_only
@pytest.mark.scs_requirement("WDG-002")
def test_tethered_output_stops_when_the_line_is_cut(
    scs_emulator: EmulatorRunner[Any], scs_connect: Callable[..., Device], scs_measure: Measure
) -> None:
    dev = scs_connect(tethered=True, watchdog_timeout_ms=WATCHDOG_MS)
    _stimulating(dev)
    scs_emulator.disconnect()
    cut_s = time.monotonic()  # from here nothing reaches the device: its last frame came before
    time.sleep(WATCHDOG_MS / 1000 + 0.2)
    with scs_emulator.locked() as fw:
        off_s = fw.monitor.first_off_after(cut_s - WATCHDOG_MS / 1000)
    assert off_s is not None, "output did not stop after the line was cut"
    # Device clock = host monotonic clock: the watchdog counts from the last frame, before the cut.
    scs_measure("output_off_after_line_cut_ms", ms(off_s - cut_s), units="ms", limit=(None, WATCHDOG_MS))
    after = scs_connect()  # the port is back: a new session (arming the watchdog clears its flag)
    status = after.status()
    assert (status.state, status.amplitude_ua) == (State.PROGRAMMED, 0)
    log = [(e.code, e.detail) for e in after.usage().events]
    assert (EventCode.STIMULATION_STOPPED, StateCause.WATCHDOG) in log  # the device logged why
    assert (EventCode.WATCHDOG_EXPIRED, WATCHDOG_MS) in log

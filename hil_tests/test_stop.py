"""STOP from every state, always acknowledged, output off at once, never queued behind traffic."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from firmware_protocol.constants import OUTPUT_STATES, NakReason, State
from scsctl import Device
from scsctl.emulator import LeadOpen
from scsctl.emulator.runner import EmulatorRunner
from scsctl.errors import DeviceRefused
from scsctl.pytest_plugin import Measure

from .support import install, ms, program, ready_to_start, small_amplitude_ua, wait_state

STOP_CONFIRMED_MAX_MS = 100
"""STOP sent -> STOP_ACK received, as the host sees it: the device's 50 ms reply time (PROTOCOL.md
5.4) plus the line and the host's own scheduling on a loaded test machine."""

RAMP_MS = 400
CYCLE_S = 1


def _cycling_program(dev: Device) -> Any:
    amplitude = small_amplitude_ua(dev, RAMP_MS)
    return install(
        dev,
        program(dev, 0, amplitude_ua=amplitude, ramp_up_ms=RAMP_MS, ramp_down_ms=RAMP_MS,
                cycle_on_s=CYCLE_S, cycle_off_s=CYCLE_S),
    )  # fmt: skip


def _reach(dev: Device, state: State) -> None:
    """Bring the device into ``state`` with a cycling program with ramps (IDLE and FAULT aside)."""
    _cycling_program(dev)
    dev.select(0)
    if state is State.PROGRAMMED:
        return
    ready_to_start(dev)
    outcome = dev.start()
    assert outcome.status is not None
    if state is State.RAMPING_UP:
        status = outcome.status
        while status.amplitude_ua == 0:  # the ramp's first step: output is on
            assert status.state is State.RAMPING_UP, status
            status = dev.status()
        assert status.state is State.RAMPING_UP, f"the {RAMP_MS} ms ramp ended before it could be seen"
        return
    wait_state(dev, state, timeout_s=CYCLE_S * 3 + 1)


_STATES = [
    pytest.param(State.IDLE, marks=pytest.mark.scs_emulator_only, id="IDLE"),
    pytest.param(State.PROGRAMMED, id="PROGRAMMED"),
    pytest.param(State.RAMPING_UP, id="RAMPING_UP"),
    pytest.param(State.STIMULATING, id="STIMULATING"),
    pytest.param(State.RAMPING_DOWN, id="RAMPING_DOWN"),
    pytest.param(State.CYCLING_OFF, id="CYCLING_OFF"),
    pytest.param(State.FAULT, marks=pytest.mark.scs_emulator_only, id="FAULT"),
]


@pytest.mark.scs_requirement("SAF-003")
@pytest.mark.parametrize("state", _STATES)
def test_stop_from_every_state(
    scs_bench: Any, scs_connect: Callable[..., Device], state: State, scs_measure: Measure
) -> None:
    dev = scs_connect()
    if state is State.FAULT:
        _reach(dev, State.STIMULATING)
        assert scs_bench.emulator is not None
        scs_bench.emulator.inject(LeadOpen(0))  # contact 1 (the anode) opens while current flows
        wait_state(dev, State.FAULT)
    elif state is not State.IDLE:
        _reach(dev, state)
    assert dev.status().state is state
    sent_s = time.monotonic()
    dev.stop()
    scs_measure("stop_confirmed_ms", ms(time.monotonic() - sent_s), units="ms", limit=(None, STOP_CONFIRMED_MAX_MS),
            description=f"STOP in {state.name}: sent -> acknowledged")  # fmt: skip
    expected = {State.IDLE: State.IDLE, State.FAULT: State.FAULT}.get(state, State.PROGRAMMED)
    status = dev.status()
    assert (status.state, status.amplitude_ua) == (expected, 0)
    # Output stays off: no ramp or cycle resumes it (the off-period would end within CYCLE_S).
    time.sleep(CYCLE_S + 0.2 if state is State.CYCLING_OFF else 0.3)
    status = dev.status()
    assert (status.state, status.amplitude_ua) == (expected, 0)


@pytest.mark.scs_emulator_only
@pytest.mark.scs_requirement("SAF-003")
@pytest.mark.parametrize("state", [State.RAMPING_UP, State.STIMULATING], ids=lambda s: s.name)
def test_output_is_off_when_stop_is_acknowledged(
    scs_emulator: EmulatorRunner[Any], scs_connect: Callable[..., Device], state: State, scs_measure: Measure
) -> None:
    dev = scs_connect()
    _reach(dev, state)
    sent_s = time.monotonic()
    dev.stop()
    acked_s = time.monotonic()
    with scs_emulator.locked() as fw:
        off_s = fw.monitor.first_off_after(sent_s)
        on_after = fw.monitor.max_amplitude_ua(acked_s, fw.clock_s)
    assert off_s is not None, "the output never went off"
    # The emulator runs on the host's monotonic clock, so device and host times compare directly.
    scs_measure("output_off_after_stop_sent_ms", ms(off_s - sent_s), units="ms", limit=(None, STOP_CONFIRMED_MAX_MS))
    scs_measure("output_off_before_stop_ack_ms", ms(acked_s - off_s), units="ms", limit=(0, None),
            description="the output is off before the host hears STOP_ACK")  # fmt: skip
    assert on_after == 0


@pytest.mark.scs_requirement("SAF-004")
def test_stop_overtakes_an_amplitude_ramp(scs_connect: Callable[..., Device], scs_measure: Measure) -> None:
    dev = scs_connect()
    amplitude = small_amplitude_ua(dev)
    step = dev.profile.safety.max_amplitude_step_ua
    target = amplitude + 3 * step  # more than one step: the host ramps it at the profile's ramp rate
    install(dev, program(dev, 0, amplitude_ua=amplitude, patient_max_ua=max(target, 2000)))
    ready_to_start(dev)
    dev.start(0)
    wait_state(dev, State.STIMULATING)
    ended: list[object] = []

    def ramp() -> None:
        try:
            ended.append(dev.set_amplitude(target))
        except DeviceRefused as err:
            ended.append(err)

    ramping = threading.Thread(target=ramp)
    ramping.start()
    deadline = time.monotonic() + 2.0
    while dev.status().setpoint_ua == amplitude:  # the first step went out
        assert time.monotonic() < deadline, "the amplitude ramp did not begin"
        time.sleep(0.005)
    sent_s = time.monotonic()
    dev.stop()
    scs_measure("stop_confirmed_during_ramp_ms", ms(time.monotonic() - sent_s), units="ms",
            limit=(None, STOP_CONFIRMED_MAX_MS))  # fmt: skip
    ramping.join(timeout=10)
    assert not ramping.is_alive() and len(ended) == 1
    # Either the host saw the STOP and sent no further step, or the device refused the next one.
    if isinstance(ended[0], DeviceRefused):
        assert ended[0].reason is NakReason.WRONG_STATE, ended[0]
    status = dev.status()
    assert status.state not in OUTPUT_STATES and status.amplitude_ua == 0
    assert dev.read_program(0).amplitude_ua == amplitude  # the tentative steps were never committed

"""Cycling: on-period (ramp-up included), ramp-down, off-period, repeating on their own."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from firmware_protocol import messages as m
from firmware_protocol.constants import State, StateCause
from scsctl import Device
from scsctl.emulator.runner import EmulatorRunner
from scsctl.pytest_plugin import Measure

from .support import Timeline, install, ms, program, ready_to_start, small_amplitude_ua

ON_S = 1
OFF_S = 1
RAMP_UP_MS = 200
RAMP_DOWN_MS = 300
EVENT_JITTER_MS = 150
"""Intervals between device events as the host receives them: each end may be delayed by the line
and the host's scheduling on a loaded test machine (CI runs two workers on two cores)."""
MONITOR_TOLERANCE_MS = 25
"""On the device's own clock: one output update period (ramp step)."""


def _start_cycling(dev: Device, ramp_up_ms: int) -> tuple[int, float]:
    amplitude = small_amplitude_ua(dev, ramp_up_ms)
    install(dev, program(dev, 0, amplitude_ua=amplitude, ramp_up_ms=ramp_up_ms, ramp_down_ms=RAMP_DOWN_MS,
                         cycle_on_s=ON_S, cycle_off_s=OFF_S))  # fmt: skip
    dev.select(0)
    ready_to_start(dev)
    sent_s = time.monotonic()
    dev.start()
    return amplitude, sent_s


def _window(expected_ms: float, tolerance_ms: float) -> tuple[float, float]:
    return (expected_ms - tolerance_ms, expected_ms + tolerance_ms)


@pytest.mark.scs_slow
@pytest.mark.scs_requirement("OUT-002", "OUT-004")
def test_cycling_states_follow_the_programmed_timing(scs_device: Device, scs_measure: Measure) -> None:
    timeline = Timeline(scs_device)
    _, sent_s = _start_cycling(scs_device, RAMP_UP_MS)
    budget_s = ON_S + OFF_S + 2
    t_up, _ = timeline.state_change(State.RAMPING_UP, budget_s, after_s=sent_s)
    t_stim, _ = timeline.state_change(State.STIMULATING, budget_s, after_s=t_up)
    t_down, down = timeline.state_change(State.RAMPING_DOWN, budget_s, after_s=t_stim)
    t_off, _ = timeline.state_change(State.CYCLING_OFF, budget_s, after_s=t_down)
    t_again, again = timeline.state_change(State.RAMPING_UP, budget_s, after_s=t_off)
    scs_device.stop()
    assert (down.cause, again.cause) == (StateCause.CYCLE, StateCause.CYCLE)
    scs_measure("ramp_up_ms", ms(t_stim - t_up), units="ms", limit=_window(RAMP_UP_MS, EVENT_JITTER_MS))
    scs_measure("on_period_ms", ms(t_down - t_up), units="ms", limit=_window(ON_S * 1000, EVENT_JITTER_MS),
            description="ramp-up included")  # fmt: skip
    scs_measure("ramp_down_ms", ms(t_off - t_down), units="ms", limit=_window(RAMP_DOWN_MS, EVENT_JITTER_MS))
    scs_measure("off_period_ms", ms(t_again - t_off), units="ms", limit=_window(OFF_S * 1000, EVENT_JITTER_MS))
    changes = [e for _, e in timeline.items if isinstance(e, m.EventState)]
    assert all(e.amplitude_ua == 0 for e in changes if e.new_state is State.CYCLING_OFF)


@pytest.mark.scs_slow
@pytest.mark.scs_emulator_only
@pytest.mark.scs_requirement("OUT-002", "OUT-004")
def test_cycling_delivered_output_follows_the_program(
    scs_emulator: EmulatorRunner[Any], scs_connect: Callable[..., Device], scs_measure: Measure
) -> None:
    dev = scs_connect()
    amplitude, sent_s = _start_cycling(dev, 0)  # no ramp-up: the on-period starts with the output
    time.sleep(ON_S + OFF_S + RAMP_DOWN_MS / 1000 + 0.2)
    with scs_emulator.locked() as fw:
        intervals = fw.monitor.on_intervals(sent_s)
        changes = fw.monitor.amplitude_changes(sent_s)
    dev.stop()
    assert len(intervals) >= 2, intervals
    (on1, off1), (on2, _) = intervals[:2]
    assert off1 is not None
    scs_measure("delivered_on_ms", ms(off1 - on1), units="ms",
            limit=_window(ON_S * 1000 + RAMP_DOWN_MS, MONITOR_TOLERANCE_MS),
            description="on-period plus ramp-down: output above 0")  # fmt: skip
    scs_measure("delivered_off_ms", ms(on2 - off1), units="ms", limit=_window(OFF_S * 1000, MONITOR_TOLERANCE_MS))
    # Ramp-down: from the end of the on-period, level a is due when the line A -> 0 passes it.
    ramp_start_s = on1 + ON_S
    down = [(t, a) for t, a in changes if ramp_start_s <= t <= off1]
    levels = [a for _, a in down]
    assert levels == sorted(levels, reverse=True) and levels[-1] == 0, down
    assert max(levels) < amplitude, f"no ramp: the output went from {amplitude} uA straight to {levels}"
    due = [ramp_start_s + (amplitude - a) / amplitude * RAMP_DOWN_MS / 1000 for a in levels]
    worst_ms = max(abs(ms(t - d)) for (t, _), d in zip(down, due, strict=True))
    scs_measure("ramp_down_off_program_ms", worst_ms, units="ms", limit=(None, MONITOR_TOLERANCE_MS),
            description="largest time between a delivered ramp-down level and the programmed line")  # fmt: skip

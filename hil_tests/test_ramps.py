"""Ramp-up at START: delivered amplitude over time against the programmed ramp."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from firmware_protocol.constants import State
from scsctl import Device
from scsctl.emulator.runner import EmulatorRunner
from scsctl.pytest_plugin import Measure

from .support import Timeline, install, ms, program, ready_to_start, small_amplitude_ua

RAMP_MS = 500
EVENT_JITTER_MS = 150
"""Intervals between device events as the host receives them: each end may be delayed by the line
and the host's scheduling on a loaded test machine (CI runs two workers on two cores)."""
LAG_MAX_MS = 50
"""On the device's clock: the delivered ramp may trail the programmed line by one output update
period (the line drawn from when the host heard of the ramp's start, which is after it began)."""


def _start_ramp(dev: Device, timeline: Timeline) -> tuple[int, float, float]:
    """Start a ramp to a low amplitude; returns it, when START was sent and when the device said
    it was ramping: the device began the ramp between the two."""
    amplitude = small_amplitude_ua(dev, RAMP_MS)
    install(dev, program(dev, 0, amplitude_ua=amplitude, ramp_up_ms=RAMP_MS))
    dev.select(0)
    ready_to_start(dev)
    sent_s = time.monotonic()
    dev.start()
    began_s, _ = timeline.state_change(State.RAMPING_UP, after_s=sent_s)
    return amplitude, sent_s, began_s


@pytest.mark.scs_requirement("OUT-001")
def test_ramp_up_reaches_the_setpoint_after_the_ramp_time(scs_device: Device, scs_measure: Measure) -> None:
    timeline = Timeline(scs_device)
    amplitude, _, began_s = _start_ramp(scs_device, timeline)
    seen: list[int] = []
    while (status := scs_device.status()).state is State.RAMPING_UP:
        seen.append(status.amplitude_ua)
    done_s, _ = timeline.state_change(State.STIMULATING, timeout_s=RAMP_MS / 1000 + 1)
    scs_measure("ramp_up_time_ms", ms(done_s - began_s), units="ms",
            limit=(RAMP_MS - EVENT_JITTER_MS, RAMP_MS + EVENT_JITTER_MS),
            description="EVENT_STATE RAMPING_UP -> EVENT_STATE STIMULATING, as received")  # fmt: skip
    assert seen == sorted(seen), f"the amplitude fell during the ramp: {seen}"
    assert all(0 <= a <= amplitude for a in seen), seen
    assert any(0 < a < amplitude for a in seen), f"no intermediate amplitude seen: a jump, not a ramp ({seen})"
    assert scs_device.status().amplitude_ua == amplitude


@pytest.mark.scs_emulator_only
@pytest.mark.scs_requirement("OUT-001")
def test_ramp_up_delivered_amplitude_follows_the_program(
    scs_emulator: EmulatorRunner[Any], scs_connect: Callable[..., Device], scs_measure: Measure
) -> None:
    dev = scs_connect()
    amplitude, sent_s, began_s = _start_ramp(dev, Timeline(dev))
    time.sleep(RAMP_MS / 1000 + 0.1)
    with scs_emulator.locked() as fw:
        changes = [(t, a) for t, a in fw.monitor.amplitude_changes(sent_s) if t >= sent_s]
    assert changes and changes[-1][1] == amplitude, changes
    levels = [a for _, a in changes]
    assert levels == sorted(levels), f"the delivered amplitude fell during the ramp: {changes}"
    scs_measure("ramp_up_highest_ua", max(levels), units="uA", limit=(amplitude, amplitude))

    # The programmed ramp reaches level a at start + a / amplitude x RAMP_MS; the device started
    # between sent_s and began_s. Ahead of the earliest line is too fast; behind the latest, late.
    def due(start_s: float, level: int) -> float:
        return start_s + level / amplitude * RAMP_MS / 1000

    ahead_ms = max(ms(due(sent_s, a) - t) for t, a in changes)
    scs_measure("ramp_up_ahead_of_program_ms", ahead_ms, units="ms", limit=(None, 0.5))
    # Just before each change the output still held the previous level: how long past its due time.
    lag_ms = max(ms(t - due(began_s, a_prev)) for (t, _), a_prev in zip(changes[1:], levels, strict=False))
    scs_measure("ramp_up_lag_behind_program_ms", lag_ms, units="ms", limit=(None, LAG_MAX_MS))
    scs_measure("ramp_up_time_ms", ms(changes[-1][0] - began_s), units="ms", limit=(None, RAMP_MS + LAG_MAX_MS),
            description="from when the host heard the ramp began to the set-point (device clock)")  # fmt: skip

"""Programs: read-back equals what was written, in every slot, across sessions and power cycles."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from firmware_protocol import messages as m
from firmware_protocol.constants import State, StatusFlags, Waveform
from scsctl import Device
from scsctl.emulator.runner import EmulatorRunner

from .support import install, limits, pick, program, ready_to_start, small_amplitude_ua

_CONFIGS = ("1+ 2-", "3+ 4-", "1+ 2-50% 3-50%", "9+ 10-")


def _distinct_programs(dev: Device) -> list[m.Program]:
    """One program per slot, each differing from the others in every field a slot holds."""
    out: list[m.Program] = []
    recharges = list(dev.profile.recharges)
    for slot in range(dev.identity.program_slots):
        waveform = Waveform.BURST if slot == 1 and Waveform.BURST in dev.profile.waveforms else Waveform.TONIC
        grids = limits(dev, waveform)
        fields: dict[str, Any] = {
            "pulse_width_us": pick(grids.pulse_width_us, (200 if waveform is Waveform.TONIC else 1000) - 20 * slot),
            "ramp_up_ms": 1000 + 100 * slot,
            "ramp_down_ms": 200 + 10 * slot,
            "patient_max_ua": pick(grids.amplitude_ua, 1000 + 200 * slot),
        }
        if dev.profile.cycling and slot % 2:
            fields.update(cycle_on_s=60 * slot, cycle_off_s=120 + slot)
        out.append(
            program(dev, slot, amplitude_ua=small_amplitude_ua(dev, 1000, waveform), waveform=waveform,
                    config=_CONFIGS[slot % len(_CONFIGS)], recharge=recharges[slot % len(recharges)], **fields)
        )  # fmt: skip
    return out


@pytest.mark.scs_requirement("MEM-001")
def test_every_slot_reads_back_what_was_written(scs_connect: Callable[..., Device]) -> None:
    dev = scs_connect()
    dev.stop()
    written = [install(dev, p) for p in _distinct_programs(dev)]
    assert [dev.read_program(p.slot) for p in written] == written
    again = scs_connect()  # a new session reads the device afresh
    assert again.programs() == {p.slot: p for p in written}


@pytest.mark.scs_emulator_only
@pytest.mark.scs_requirement("MEM-002")
def test_programs_survive_a_power_cycle(scs_emulator: EmulatorRunner[Any], scs_connect: Callable[..., Device]) -> None:
    dev = scs_connect()
    written = [install(dev, p) for p in _distinct_programs(dev)]
    dev.select(0)
    ready_to_start(dev)
    dev.start(2)  # running when the power goes
    while dev.status().amplitude_ua == 0:  # the ramp-up has begun: output is on
        time.sleep(0.01)
    power_on_count = dev.usage().power_on_count
    cycled_s = time.monotonic()
    scs_emulator.power_cycle()
    after = scs_connect()
    assert after.programs() == {p.slot: p for p in written}
    status = after.status()
    assert (status.state, status.active_slot, status.amplitude_ua) == (State.PROGRAMMED, 2, 0)
    assert not status.status_flags & StatusFlags.IMPEDANCE_FRESH
    assert after.usage().power_on_count == power_on_count + 1
    time.sleep(0.2)
    with scs_emulator.locked() as fw:
        off_s = fw.monitor.first_off_after(cycled_s)
        assert off_s is not None, "the output did not go off at the power cycle"
        assert fw.monitor.max_amplitude_ua(off_s, fw.clock_s) == 0, "output resumed after power-on"

"""What the output stage delivers (output monitor): pulse width, rate, burst, high frequency, shares."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from firmware_protocol.constants import Recharge, State, Waveform
from scsctl import Device
from scsctl.emulator.runner import EmulatorRunner
from scsctl.pytest_plugin import Measure

from .support import contact_currents, install, program, ready_to_start, small_amplitude_ua, wait_state


def _deliver(dev: Device, runner: EmulatorRunner[Any], prog: Any) -> Any:
    install(dev, prog)
    ready_to_start(dev)
    dev.start(prog.slot)
    wait_state(dev, State.STIMULATING)
    time.sleep(0.05)
    with runner.locked() as fw:
        return fw.monitor.current


@pytest.mark.scs_emulator_only
@pytest.mark.scs_requirement("OUT-003")
@pytest.mark.parametrize("waveform", [Waveform.TONIC, Waveform.BURST, Waveform.HIGH_FREQUENCY], ids=lambda w: w.name)
def test_the_delivered_pulse_train_equals_the_program(
    scs_emulator: EmulatorRunner[Any], scs_connect: Callable[..., Device], waveform: Waveform, scs_measure: Measure
) -> None:
    dev = scs_connect()
    if waveform not in dev.profile.waveforms:
        pytest.skip(f"{dev.profile.name} offers no {waveform.name.lower()} waveform")
    recharge = Recharge.PASSIVE if waveform is Waveform.BURST and Recharge.PASSIVE in dev.profile.recharges \
        else Recharge.ACTIVE  # fmt: skip
    amplitude = small_amplitude_ua(dev, waveform=waveform)
    prog = program(dev, 1, amplitude_ua=amplitude, waveform=waveform, recharge=recharge)
    out = _deliver(dev, scs_emulator, prog)
    assert out.waveform is waveform
    assert out.recharge is recharge
    assert out.slot == 1
    for name in ("amplitude_ua", "pulse_width_us", "rate_dhz", "burst_pulses", "intra_burst_rate_dhz"):
        value = getattr(prog, name)
        unit = name.rsplit("_", 1)[1] if name != "burst_pulses" else "pulses"
        scs_measure(f"delivered_{name}", getattr(out, name), units=unit, limit=(value, value))


@pytest.mark.scs_emulator_only
@pytest.mark.scs_requirement("OUT-003")
def test_contact_currents_follow_their_shares(
    scs_emulator: EmulatorRunner[Any], scs_connect: Callable[..., Device], scs_measure: Measure
) -> None:
    dev = scs_connect()
    amplitude = small_amplitude_ua(dev)
    prog = program(dev, 2, amplitude_ua=amplitude, config="1+ 2-50% 3-50%")
    out = _deliver(dev, scs_emulator, prog)
    expected = contact_currents(prog, amplitude)
    assert out.contact_ua == expected
    for number, (got, want) in enumerate(zip(out.contact_ua, expected, strict=True), start=1):
        if want:
            scs_measure(f"contact_{number}_current_ua", got, units="uA", limit=(want, want))
    assert sum(c for c in out.contact_ua if c > 0) == amplitude == -sum(c for c in out.contact_ua if c < 0)

"""Line faults and cable faults: errors are reported, values are never wrong, sessions come back."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

import pytest

from firmware_protocol.constants import State
from scsctl import Device
from scsctl.emulator.runner import EmulatorRunner
from scsctl.errors import LinkError, ScsError
from scsctl.pytest_plugin import Measure

from .support import install, ms, program, ready_to_start, small_amplitude_ua, wait_state

LINE_FAULTS = ("corrupt-bytes:0.005", "drop-bytes:0.005")
COMMANDS = 18
WATCHDOG_MS = 300


def _connect_retrying(connect: Callable[..., Device], timeout_s: float = 5.0, **kwargs: Any) -> Device:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return connect(**kwargs)
        except LinkError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@pytest.mark.scs_slow
@pytest.mark.scs_emulator_only
@pytest.mark.scs_requirement("REC-001")
def test_line_faults_never_apply_a_wrong_value(
    scs_emulator: EmulatorRunner[Any], scs_connect: Callable[..., Device], scs_measure: Measure
) -> None:
    dev: Device | None = scs_connect()
    assert dev is not None
    step = dev.profile.safety.max_amplitude_step_ua
    amplitude = small_amplitude_ua(dev)
    running = install(dev, program(dev, 0, amplitude_ua=amplitude, patient_max_ua=2000))
    spare = install(dev, program(dev, 1))
    ready_to_start(dev)
    dev.start(0)
    wait_state(dev, State.STIMULATING)
    started_s = time.monotonic()
    asked_ua = {amplitude}
    asked_programs = {spare}
    for spec in LINE_FAULTS:
        scs_emulator.add_fault(spec)
    completed = failed = 0
    for i in range(COMMANDS):
        try:
            if dev is None:
                dev = scs_connect()
            if i % 6 == 5:
                rewrite = dataclasses.replace(spare, pulse_width_us=spare.pulse_width_us + 10 * (i % 3))
                asked_programs.add(rewrite)
                dev.write_program(rewrite)
            else:
                value = amplitude + step if i % 2 == 0 else amplitude
                asked_ua.add(value)
                dev.set_amplitude(value, commit=i % 3 == 0)
            completed += 1
        except ScsError:
            failed += 1  # reported as an error: allowed; what matters is what the device did
            if dev is not None and isinstance(dev, Device) and dev.link.status.value != "up":
                dev = None
    with scs_emulator.locked():
        applied = sum(scs_emulator.line_faults.applied.values())
    scs_emulator.clear_faults()
    after = _connect_retrying(scs_connect)
    scs_measure("line_faults_applied", applied, units="faults", limit=(1, None),
            description="bytes corrupted or dropped on the line during the test")  # fmt: skip
    scs_measure("commands_completed", completed, units="commands", limit=(1, None))
    scs_measure("commands_failed_with_an_error", failed, units="commands")
    status = after.status()
    assert status.state is State.STIMULATING, "nothing asked for stimulation to stop"
    assert status.amplitude_ua in asked_ua and status.setpoint_ua in asked_ua, status
    slot0 = after.read_program(0)
    assert slot0.amplitude_ua in asked_ua
    assert dataclasses.replace(slot0, amplitude_ua=amplitude) == running, "a field other than the amplitude changed"
    assert after.read_program(1) in asked_programs
    with scs_emulator.locked() as fw:
        delivered = {a for _, a in fw.monitor.amplitude_changes(started_s)}
    assert delivered <= asked_ua, f"delivered {sorted(delivered - asked_ua)} uA, which the host never sent"


@pytest.mark.scs_emulator_only
@pytest.mark.scs_requirement("REC-002")
def test_a_disconnect_and_reconnect_changes_nothing(
    scs_emulator: EmulatorRunner[Any], scs_connect: Callable[..., Device], scs_measure: Measure
) -> None:
    dev = scs_connect(watchdog_timeout_ms=WATCHDOG_MS)
    prog = install(dev, program(dev, 0, amplitude_ua=small_amplitude_ua(dev)))
    ready_to_start(dev)
    dev.start(0)
    wait_state(dev, State.STIMULATING)
    started_s = time.monotonic()
    tried = prog.amplitude_ua + dev.profile.safety.max_amplitude_step_ua
    dev.set_amplitude(tried)  # tentative, when the cable goes
    scs_emulator.disconnect(down_s=WATCHDOG_MS / 1000 + 0.2)
    cut_s = time.monotonic()  # from here nothing reaches the device: its last frame came before
    with pytest.raises(LinkError):
        dev.status()
    after = _connect_retrying(scs_connect)
    scs_measure("reconnected_after_ms", ms(time.monotonic() - cut_s), units="ms")
    status = after.status()
    assert (status.state, status.amplitude_ua, status.setpoint_ua) == (State.STIMULATING,) + (prog.amplitude_ua,) * 2
    assert after.programs()[0] == prog
    with scs_emulator.locked() as fw:
        on = fw.monitor.on_intervals(started_s)
        changes = [(t, a) for t, a in fw.monitor.amplitude_changes(started_s)]
    assert len(on) == 1 and on[0][1] is None, f"the untethered program stopped: {on}"
    assert {a for _, a in changes} <= {prog.amplitude_ua, tried}, changes
    reverted_s = next(t for t, a in changes if t >= cut_s and a == prog.amplitude_ua)
    scs_measure("tentative_reverted_after_cut_ms", ms(reverted_s - cut_s), units="ms", limit=(None, WATCHDOG_MS))

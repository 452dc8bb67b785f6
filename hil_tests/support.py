"""Helpers of the conformance suite: programs every profile's tier accepts, waiting on the device.

Only the public API (``scsctl.Device``, its ``link`` for time-stamped events, the profile) is used,
so a helper works the same on the emulator and on a device behind a port.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterable

from firmware_protocol import messages as m
from firmware_protocol.constants import NakReason, Polarity, Recharge, State, Waveform
from scsctl import Device
from scsctl.controller import LinkStateChange
from scsctl.errors import DeviceRefused
from scsctl.parsing import electrodes
from scsctl.profiles import Grid, WaveformLimits
from scsctl.pytest_plugin import RawSender

PATIENT_MAX_UA = 2000
"""A patient maximum every profile's tiers allow on its amplitude grid."""


def limits(device: Device, waveform: Waveform = Waveform.TONIC) -> WaveformLimits:
    """The grids the device's session (its role's tier) allows for ``waveform``."""
    found = device.guard.tier.for_waveform(waveform)
    assert found is not None, f"{device.profile.name} offers no {waveform.name} waveform in this tier"
    return found


def pick(grid: Grid, wanted: int) -> int:
    """``wanted`` when the grid has it, else its nearest grid value below (or above)."""
    if wanted in grid:
        return wanted
    below, above = grid.floor(wanted), grid.ceil(wanted)
    value = below if below is not None else above
    assert value is not None
    return value


def small_amplitude_ua(device: Device, ramp_up_ms: int = 0, waveform: Waveform = Waveform.TONIC) -> int:
    """A low amplitude the guard starts without refusing the ramp-up (changes above the profile's
    single step must ramp at its ramp rate), on the tier's grid, at most 1 mA."""
    safety = device.profile.safety
    allowed = max(safety.max_amplitude_step_ua, safety.ramp_rate_ua_per_s * ramp_up_ms // 1000)
    value = limits(device, waveform).amplitude_ua.floor(min(allowed, 1000))
    assert value is not None and value > 0
    return value


def program(
    device: Device,
    slot: int,
    *,
    amplitude_ua: int = 0,
    config: str = "1+ 2-",
    waveform: Waveform = Waveform.TONIC,
    recharge: Recharge = Recharge.ACTIVE,
    **fields: int,
) -> m.Program:
    """A program the session's tier accepts: typical values (200 us, 50 Hz) moved onto its grids."""
    grids = limits(device, waveform)
    settings: dict[str, int] = {
        "pulse_width_us": pick(grids.pulse_width_us, 200),
        "rate_dhz": pick(grids.rate_dhz, 500),
        "patient_max_ua": pick(grids.amplitude_ua, PATIENT_MAX_UA),
    }
    if waveform is Waveform.BURST:
        assert grids.burst_pulses is not None and grids.intra_burst_rate_dhz is not None
        settings.update(
            pulse_width_us=pick(grids.pulse_width_us, 1000),  # as usually described: 5 x 1 ms pulses at 500 Hz, 40 Hz
            rate_dhz=pick(grids.rate_dhz, 400),
            burst_pulses=pick(grids.burst_pulses, 5),
            intra_burst_rate_dhz=pick(grids.intra_burst_rate_dhz, 5000),
        )
    settings.update(fields)
    return m.Program(
        slot=slot,
        amplitude_ua=amplitude_ua,
        contacts=electrodes(config, device.identity.contacts),
        waveform=waveform,
        recharge=recharge,
        **settings,
    )


def install(device: Device, prog: m.Program) -> m.Program:
    """Write ``prog`` (read back by the controller). A new electrode configuration starts at 0 mA,
    so a program with an amplitude is first written at 0 when its slot holds other contacts."""
    try:
        held: m.Program | None = device.read_program(prog.slot)
    except DeviceRefused as err:
        if err.reason is not NakReason.EMPTY_SLOT:
            raise
        held = None
    if prog.amplitude_ua and (held is None or held.contacts != prog.contacts):
        device.write_program(dataclasses.replace(prog, amplitude_ua=0))
    device.write_program(prog)
    return prog


def ready_to_start(device: Device) -> None:
    """An impedance check when the session has none (profiles may require one before START)."""
    if device.impedance is None:
        device.measure_impedance()


def wait_state(device: Device, wanted: State | Iterable[State], timeout_s: float = 3.0) -> m.Status:
    """Poll STATUS until the state is one of ``wanted``; AssertionError after ``timeout_s``."""
    states = {wanted} if isinstance(wanted, State) else set(wanted)
    deadline = time.monotonic() + timeout_s
    status = device.status()
    while status.state not in states:
        assert time.monotonic() < deadline, f"state {status.state.name} after {timeout_s} s, waited for {states}"
        time.sleep(0.01)
        status = device.status()
    return status


class Timeline:
    """Device events with the host's monotonic time of arrival (taken on the thread that read
    them, before any audit write, so the times are as close to the wire as the host gets)."""

    def __init__(self, device: Device) -> None:
        self._cond = threading.Condition()
        self.items: list[tuple[float, m.Message | LinkStateChange]] = []
        self._unsubscribe = device.link.subscribe_timed(self._put)

    def _put(self, arrived_s: float, item: m.Message | LinkStateChange) -> None:
        with self._cond:
            self.items.append((arrived_s, item))
            self._cond.notify_all()

    def close(self) -> None:
        self._unsubscribe()

    def wait_for(
        self, predicate: Callable[[m.Message | LinkStateChange], bool], timeout_s: float = 3.0, *, after_s: float = 0.0
    ) -> tuple[float, m.Message | LinkStateChange]:
        """The first item at or after ``after_s`` that satisfies ``predicate``, waiting for it."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                for t, item in self.items:
                    if t >= after_s and predicate(item):
                        return t, item
                left = deadline - time.monotonic()
                assert left > 0, f"no matching event within {timeout_s} s; saw {[i for _, i in self.items]}"
                self._cond.wait(left)

    def state_change(
        self, new_state: State, timeout_s: float = 3.0, *, after_s: float = 0.0
    ) -> tuple[float, m.EventState]:
        t, item = self.wait_for(
            lambda e: isinstance(e, m.EventState) and e.new_state == new_state, timeout_s, after_s=after_s
        )
        assert isinstance(item, m.EventState)
        return t, item


def ms(seconds: float) -> float:
    """Seconds as milliseconds, to 0.01 ms (measurements are recorded in ms)."""
    return round(seconds * 1000, 2)


# --- raw sessions (negative tests, engineer role) ------------------------------------------------


def raw_program(raw: RawSender, slot: int, **fields: int) -> m.Program:
    """A program with nothing doubtful in it: 0 mA, 200 us, 50 Hz, contacts 1+ 2-."""
    assert raw.identify is not None
    values: dict[str, int] = {"amplitude_ua": 0, "pulse_width_us": 200, "rate_dhz": 500, "patient_max_ua": 1000}
    values.update(fields)
    return m.Program(slot=slot, contacts=electrodes("1+ 2-", raw.identify.contact_count), **values)


def raw_ok(raw: RawSender, message: m.Message) -> m.Message:
    """Send ``message`` raw and insist on its positive reply."""
    reply = raw.request(message)
    assert reply.TYPE is m.RESPONSE_TYPES[message.TYPE], f"{message} was answered {reply}"
    return reply


def raw_status(raw: RawSender) -> m.Status:
    reply = raw_ok(raw, m.GetStatus())
    assert isinstance(reply, m.Status)
    return reply


def raw_stimulating(raw: RawSender, slot: int, **fields: int) -> m.Program:
    """Stop, write a harmless program (0 mA unless told), check impedance, start it: STIMULATING."""
    raw_ok(raw, m.Stop())
    prog = raw_program(raw, slot, **fields)
    raw_ok(raw, m.SetProgram(prog))
    raw_ok(raw, m.MeasureImpedance())  # some devices require a fresh check before START
    raw_ok(raw, m.Start(slot))
    deadline = time.monotonic() + 2.0
    while raw_status(raw).state is not State.STIMULATING:
        assert time.monotonic() < deadline, "the program did not reach STIMULATING"
        time.sleep(0.01)
    return prog


def contact_currents(prog: m.Program, amplitude_ua: int) -> tuple[int, ...]:
    """Signed current per contact as an output monitor shows it (cathodes negative), rounded to
    the nearest uA as a device's current sources are set."""
    out = []
    for c in prog.contacts:
        current = (amplitude_ua * c.share_pct + 50) // 100
        out.append(-current if c.polarity == Polarity.CATHODE else current if c.polarity == Polarity.ANODE else 0)
    return tuple(out)

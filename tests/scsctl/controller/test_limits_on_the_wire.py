"""Random commands through the public API: nothing that leaves the host is outside the active tier.

The check here is written independently of the guard: it reads the wire capture, and judges each
stimulation frame with its own arithmetic against the profile's numbers (DOMAIN.md's formulas).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import scsctl
from firmware_protocol import Decoder, Frame
from firmware_protocol import messages as m
from firmware_protocol.constants import Polarity, Recharge, Waveform
from scsctl.errors import DeviceRefused, SafetyRefusal
from scsctl.link import read_capture
from scsctl.parsing import electrodes
from scsctl.profiles import DeviceProfile

CONTACTS = 16


@st.composite
def contact_sets(draw: st.DrawFn) -> tuple[m.ContactSetting, ...]:
    polarities = draw(st.lists(st.sampled_from(list(Polarity)), min_size=CONTACTS, max_size=CONTACTS))
    shares = draw(st.lists(st.sampled_from([0, 25, 50, 100, 33, 150]), min_size=CONTACTS, max_size=CONTACTS))
    return tuple(m.ContactSetting(p, 0 if p is Polarity.OFF else s) for p, s in zip(polarities, shares, strict=True))


def near(values: list[int]) -> st.SearchStrategy[int]:
    """Values at, around and far from interesting points, where limits bite."""
    return st.one_of(st.sampled_from(values), st.integers(0, 2 * max(values)))


BIPOLAR = (m.ContactSetting(Polarity.ANODE, 100), m.ContactSetting(Polarity.CATHODE, 100)) + (m.ContactSetting(),) * 14

wild_programs = st.builds(
    m.Program,
    slot=st.integers(0, 3),
    amplitude_ua=st.sampled_from([0, 0, 0, 500, 5000, 30000]),
    pulse_width_us=near([30, 50, 300, 500, 510, 1000]),
    rate_dhz=near([20, 400, 500, 12000, 100000]),
    contacts=st.one_of(contact_sets(), st.just(BIPOLAR)),
    waveform=st.sampled_from(list(Waveform)),
    burst_pulses=st.sampled_from([0, 5, 7, 8]),
    intra_burst_rate_dhz=st.sampled_from([0, 5000, 5500]),
    recharge=st.sampled_from(list(Recharge)),
    ramp_up_ms=st.sampled_from([0, 200, 5000]),
    patient_max_ua=near([0, 5000, 8500]),
)

# Programs on the clinical grid with valid electrodes, so that many are approved, started and adjusted.
CONFIGURATIONS = [electrodes(text, CONTACTS) for text in ("1+ 2-", "2+ 1-", "1+ 2- 3-", "4+ 5+ 6-", "9+ 10-", "1+ 16-")]


@st.composite
def plausible_programs(draw: st.DrawFn) -> m.Program:
    burst = draw(st.booleans())
    return m.Program(
        slot=draw(st.integers(0, 3)),
        amplitude_ua=0,
        pulse_width_us=draw(st.sampled_from(range(100, 1050, 50) if burst else range(50, 510, 10))),
        rate_dhz=draw(st.sampled_from(range(200, 610, 10) if burst else [20, 300, 400, 500, 600, 1000, 12000])),
        contacts=draw(st.sampled_from(CONFIGURATIONS)),
        waveform=Waveform.BURST if burst else Waveform.TONIC,
        burst_pulses=draw(st.integers(2, 7)) if burst else 0,
        intra_burst_rate_dhz=draw(st.sampled_from(range(2500, 5500, 500))) if burst else 0,
        recharge=draw(st.sampled_from(list(Recharge))),
        ramp_up_ms=draw(st.sampled_from([0, 100])),
        patient_max_ua=draw(st.sampled_from([0, 1000, 2000, 3000, 5000, 8500])),
    )


programs = st.one_of(wild_programs, plausible_programs())

actions = st.lists(
    st.one_of(
        st.tuples(st.just("write"), programs),
        st.tuples(st.just("start"), st.integers(0, 3)),
        st.tuples(st.just("start"), st.integers(0, 3)),
        st.tuples(st.just("amplitude"), near([0, 100, 500, 1000, 5000, 8500, 9000]), st.booleans()),
        st.tuples(st.just("amplitude"), st.sampled_from(range(0, 9100, 100)), st.booleans()),
        st.tuples(st.just("stop")),
        st.tuples(st.just("impedance")),
    ),
    max_size=6,
)


def run(dev: scsctl.Device, action: tuple[Any, ...]) -> None:
    kind = action[0]
    try:
        if kind == "write":
            dev.write_program(action[1], acknowledge=frozenset({"charge-density", "patient-max-charge-density"}))
        elif kind == "start":
            dev.start(action[1])
        elif kind == "amplitude":
            dev.set_amplitude(action[1], commit=action[2])
        elif kind == "stop":
            dev.stop()
        else:
            dev.measure_impedance()
    except (SafetyRefusal, DeviceRefused):
        pass


def frames_sent_and_answered(capture: Path) -> list[tuple[m.Message, m.Message | None]]:
    """Each command the host sent, with the reply that answered it, in time order.

    A reply answers the latest unanswered frame with its seq (a re-sent frame reuses its seq).
    """
    tx, rx = Decoder(), Decoder()
    out: list[tuple[m.Message, m.Message | None]] = []
    waiting: dict[int, int] = {}  # seq -> index in out
    for record in read_capture(capture):
        decoder = tx if record.direction == "tx" else rx
        for item in decoder.feed(record.data):
            if not isinstance(item, Frame):
                continue
            if record.direction == "tx":
                waiting[item.seq] = len(out)
                out.append((item.message, None))
            elif item.seq in waiting and not (item.message.TYPE >= 0xE0):
                index = waiting.pop(item.seq)
                out[index] = (out[index][0], item.message)
    return out


def check_program(p: m.Program, profile: DeviceProfile) -> None:
    tier = profile.clinical.for_waveform(p.waveform)
    assert tier is not None, f"waveform {p.waveform} is not in the clinical tier"
    assert p.amplitude_ua in tier.amplitude_ua
    assert p.pulse_width_us in tier.pulse_width_us
    assert p.rate_dhz in tier.rate_dhz
    assert p.patient_max_ua <= tier.amplitude_ua.max
    if p.waveform is Waveform.BURST:
        assert tier.burst_pulses is not None and p.burst_pulses in tier.burst_pulses
        assert tier.intra_burst_rate_dhz is not None and p.intra_burst_rate_dhz in tier.intra_burst_rate_dhz
        # the pulses of a burst fit in the burst period: n / intra-rate <= 1 / rate
        assert p.burst_pulses * p.rate_dhz <= p.intra_burst_rate_dhz
    check_charge(p, p.amplitude_ua, profile)
    check_charge(p, p.patient_max_ua, profile)
    for sign in (Polarity.ANODE, Polarity.CATHODE):
        assert sum(c.share_pct for c in p.contacts if c.polarity is sign) == 100


def check_charge(p: m.Program, amplitude_ua: int, profile: DeviceProfile) -> None:
    assert amplitude_ua <= profile.hardware.total_current_max_ua
    assert amplitude_ua * p.pulse_width_us / 1000 <= profile.safety.charge_per_phase_max_nc
    for index, c in enumerate(p.contacts):
        if c.polarity is Polarity.OFF or amplitude_ua == 0:
            continue
        current_ua = amplitude_ua * c.share_pct / 100
        assert current_ua <= profile.hardware.contact_current_max_ua
        charge_uc = current_ua * p.pulse_width_us / 1e6
        density = charge_uc / (profile.contacts.areas_mm2[index] / 100)
        assert math.log10(density) + math.log10(charge_uc) <= profile.safety.shannon_k + 1e-9


def test_no_frame_leaves_the_host_outside_the_technicians_tier(tmp_path: Path) -> None:
    capture = tmp_path / "wire.jsonl"
    with scsctl.connect("emu://", data_dir=tmp_path, capture=capture, watchdog_timeout_ms=60_000) as dev:
        dev.sleep = lambda s: None
        profile = dev.profile

        @given(actions)
        @settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
        def drive(steps: list[tuple[Any, ...]]) -> None:
            for action in steps:
                run(dev, action)
            dev.stop()

        drive()

    held: dict[int, m.Program] = {}
    running: m.Program | None = None
    checked = 0
    for message, reply in frames_sent_and_answered(capture):
        if isinstance(message, m.SetProgram):
            check_program(message.program, profile)
            checked += 1
            if isinstance(reply, m.SetProgramAck):
                held[message.program.slot] = message.program
        elif isinstance(message, m.Start):
            if isinstance(reply, m.StartAck):
                running = held[message.slot]
                check_program(running, profile)
            checked += 1
        elif isinstance(message, m.SetAmplitude):
            assert running is not None, "an amplitude change was sent with nothing started"
            tier = profile.clinical.for_waveform(running.waveform)
            assert tier is not None
            assert message.amplitude_ua in tier.amplitude_ua
            check_charge(running, message.amplitude_ua, profile)
            checked += 1
        elif isinstance(message, m.Stop) and isinstance(reply, m.StopAck):
            running = None
    assert checked > 100  # the run really exercised the guard (typically ~250 checked commands)

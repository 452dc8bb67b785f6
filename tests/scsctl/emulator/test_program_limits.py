"""The firmware's own limits: raw values a host guard would never send are refused with the right NAK.

Each case encodes a SET_PROGRAM with ``firmware_protocol.encode`` straight onto the wire, as a
buggy host would, and checks the param, the contact index and the limit the device names.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware_protocol import messages as m
from firmware_protocol.constants import NO_INDEX, NakReason, Param, Polarity, Recharge, Waveform
from scsctl.emulator import MODELS, Firmware, FirmwareModel
from scsctl.emulator.limits import contact_currents_ua

from .host import Host, contacts, program, ready

TB16 = MODELS["tonic-burst-16"]
BURST = {"waveform": Waveform.BURST, "rate_dhz": 400, "burst_pulses": 5, "intra_burst_rate_dhz": 5000,
         "pulse_width_us": 1000, "recharge": Recharge.PASSIVE, "amplitude_ua": 1000}  # fmt: skip

CASES: list[tuple[str, dict[str, Any], Param, int, int]] = [
    # (id, program fields, param, index, limit)
    ("slot", {"slot": 4}, Param.SLOT, NO_INDEX, 3),
    ("slot-huge", {"slot": 255}, Param.SLOT, NO_INDEX, 3),
    ("amplitude", {"amplitude_ua": 25_501, "patient_max_ua": 25_500}, Param.AMPLITUDE, NO_INDEX, 25_500),
    ("amplitude-huge", {"amplitude_ua": 0xFFFF}, Param.AMPLITUDE, NO_INDEX, 25_500),
    ("pulse-width-low", {"pulse_width_us": 10}, Param.PULSE_WIDTH, NO_INDEX, 20),
    ("pulse-width-high", {"pulse_width_us": 0xFFFF}, Param.PULSE_WIDTH, NO_INDEX, 1000),
    ("rate-low", {"rate_dhz": 0}, Param.RATE, NO_INDEX, 10),
    ("rate-high", {"rate_dhz": 0xFFFFFFFF}, Param.RATE, NO_INDEX, 12_000),
    # 2 x 1000 us phases need 2 ms: at most 500 Hz
    ("pulse-does-not-fit", {"pulse_width_us": 1000, "rate_dhz": 6000}, Param.RATE, NO_INDEX, 5000),
    ("waveform-unsupported", {"waveform": Waveform.HIGH_FREQUENCY}, Param.WAVEFORM, NO_INDEX, 0),
    ("burst-pulses-on-tonic", {"burst_pulses": 5}, Param.BURST_PULSES, NO_INDEX, 0),
    ("intra-rate-on-tonic", {"intra_burst_rate_dhz": 5000}, Param.INTRA_BURST_RATE, NO_INDEX, 0),
    ("burst-pulses-low", {**BURST, "burst_pulses": 1}, Param.BURST_PULSES, NO_INDEX, 2),
    ("burst-pulses-high", {**BURST, "burst_pulses": 200}, Param.BURST_PULSES, NO_INDEX, 16),
    ("burst-rate-high", {**BURST, "rate_dhz": 5000}, Param.RATE, NO_INDEX, 2000),
    ("intra-rate-low", {**BURST, "intra_burst_rate_dhz": 100}, Param.INTRA_BURST_RATE, NO_INDEX, 200),
    ("intra-rate-high", {**BURST, "intra_burst_rate_dhz": 10**9}, Param.INTRA_BURST_RATE, NO_INDEX, 10_000),
    # 16 pulses at 500 Hz take 32 ms; bursts at 40 Hz leave 25 ms: at most 12 pulses
    ("burst-does-not-fit", {**BURST, "burst_pulses": 16}, Param.BURST_PULSES, NO_INDEX, 12),
    ("cycle-on", {"cycle_on_s": 0xFFFF}, Param.CYCLE_ON, NO_INDEX, 10_800),
    ("cycle-off", {"cycle_off_s": 10_801}, Param.CYCLE_OFF, NO_INDEX, 10_800),
    ("ramp-up", {"ramp_up_ms": 60_001}, Param.RAMP_UP, NO_INDEX, 60_000),
    ("ramp-down", {"ramp_down_ms": 0xFFFF}, Param.RAMP_DOWN, NO_INDEX, 60_000),
    ("patient-max", {"patient_max_ua": 30_000}, Param.PATIENT_MAX, NO_INDEX, 25_500),
    ("above-patient-max", {"amplitude_ua": 4000, "patient_max_ua": 3500}, Param.AMPLITUDE, NO_INDEX, 3500),
    ("contact-count", {"contacts": contacts(8, {0: 100}, {1: 100})}, Param.CONTACT_COUNT, NO_INDEX, 16),
    ("share-zero", {"contacts": contacts(16, {0: 0}, {1: 100})}, Param.CONTACT_SHARE, 0, 1),
    ("share-over-100", {"contacts": contacts(16, {0: 100}, {3: 101})}, Param.CONTACT_SHARE, 3, 100),
    ("share-on-off-contact",
     {"contacts": contacts(16, {0: 100}, {1: 100})[:5] + (m.ContactSetting(share_pct=7),) * 11},
     Param.CONTACT_SHARE, 5, 0),
    ("no-cathode", {"contacts": contacts(16, {0: 100}, {})}, Param.CONTACT_POLARITY, NO_INDEX, 0),
    ("no-anode", {"contacts": contacts(16, {}, {1: 100})}, Param.CONTACT_POLARITY, NO_INDEX, 0),
    ("cathodic-sum", {"contacts": contacts(16, {0: 100}, {1: 50, 2: 40})}, Param.CONTACT_SHARE, NO_INDEX, 100),
    # Shannon at k = 2.00 on 12 mm2: 28 867 nC/cm2, about 3.46 uC per phase (10 mA x 400 us = 4 uC)
    ("charge-density", {"amplitude_ua": 10_000, "pulse_width_us": 400, "patient_max_ua": 10_000},
     Param.CHARGE_DENSITY, 0, 28_867),
    ("charge-density-on-a-share",
     {"amplitude_ua": 10_000, "pulse_width_us": 500, "patient_max_ua": 10_000,
      "contacts": contacts(16, {0: 30, 2: 70}, {1: 50, 3: 50})},  # 7 mA x 500 us on contact 3
     Param.CHARGE_DENSITY, 2, 28_867),
]  # fmt: skip


@pytest.mark.parametrize(("fields", "param", "index", "limit"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_out_of_range_program_is_refused_and_not_stored(
    fields: dict[str, Any], param: Param, index: int, limit: int
) -> None:
    host = ready()
    nak = host.nak(m.SetProgram(program(**fields)))
    assert (nak.reason, nak.param, nak.index, nak.limit) == (NakReason.OUT_OF_RANGE, param, index, limit)
    assert host.nak(m.ReadProgram(0)).reason == NakReason.EMPTY_SLOT


@pytest.mark.parametrize(
    "fields",
    [
        {},
        BURST,
        {"amplitude_ua": 25_500, "patient_max_ua": 25_500, "pulse_width_us": 100},
        {"pulse_width_us": 1000, "rate_dhz": 5000},
        {"pulse_width_us": 1000, "rate_dhz": 10_000, "recharge": Recharge.PASSIVE},
        {"amplitude_ua": 0, "patient_max_ua": 0},
        {"cycle_on_s": 10_800, "cycle_off_s": 10_800, "ramp_up_ms": 60_000, "ramp_down_ms": 60_000},
        {"contacts": contacts(16, {0: 30, 15: 70}, {1: 25, 2: 25, 3: 50})},
    ],
)
def test_programs_at_the_limits_are_stored(fields: dict[str, Any]) -> None:
    host = ready()
    host.ok(m.SetProgram(program(**fields)))
    assert host.ok(m.ReadProgram(0)) == m.ProgramData(program(**fields))


def _host(**model_changes: Any) -> Host:
    model: FirmwareModel = dataclasses.replace(TB16, **model_changes)
    return ready(Firmware(model=model))


def test_per_contact_current() -> None:
    host = _host(contact_current_max_ua=6000)
    nak = host.nak(m.SetProgram(program(amplitude_ua=7000, pulse_width_us=60, patient_max_ua=7000)))
    assert (nak.param, nak.index, nak.limit) == (Param.CONTACT_CURRENT, 0, 6000)
    # split over two cathodes and two anodes, each carries 3.5 mA
    host.ok(m.SetProgram(program(amplitude_ua=7000, pulse_width_us=60, patient_max_ua=7000,
                                 contacts=contacts(16, {0: 50, 2: 50}, {1: 50, 3: 50}))))  # fmt: skip


def test_total_current() -> None:
    host = _host(total_current_max_ua=20_000)
    fields: dict[str, Any] = {"amplitude_ua": 21_000, "pulse_width_us": 60, "patient_max_ua": 21_000,
              "contacts": contacts(16, {0: 50, 2: 50}, {1: 50, 3: 50})}  # fmt: skip
    nak = host.nak(m.SetProgram(program(**fields)))
    assert (nak.param, nak.index, nak.limit) == (Param.TOTAL_CURRENT, NO_INDEX, 20_000)


def test_charge_per_phase() -> None:
    host = _host(charge_per_phase_max_nc=2000)
    nak = host.nak(m.SetProgram(program(amplitude_ua=5000, pulse_width_us=410)))  # 2.05 uC
    assert (nak.param, nak.index, nak.limit) == (Param.CHARGE_PER_PHASE, 0, 2000)
    host.ok(m.SetProgram(program(amplitude_ua=5000, pulse_width_us=400)))  # 2.00 uC


def test_recharge_the_model_lacks() -> None:
    host = _host(recharges=frozenset({Recharge.ACTIVE}))
    nak = host.nak(m.SetProgram(program(recharge=Recharge.PASSIVE)))
    assert (nak.param, nak.limit) == (Param.RECHARGE, 0)


def test_cycling_on_a_model_without_it() -> None:
    host = _host(cycling=False)
    assert host.nak(m.SetProgram(program(cycle_on_s=10, cycle_off_s=10))).param == Param.CYCLE_ON
    assert host.nak(m.SetProgram(program(cycle_off_s=10))).param == Param.CYCLE_OFF


def test_compliance_against_the_last_measured_impedance() -> None:
    fw = Firmware()
    fw.leads.set_ohm(0, 1000)
    fw.leads.set_ohm(1, 2000)
    host = ready(fw)
    risky = program(amplitude_ua=8000, pulse_width_us=100, patient_max_ua=8000)  # 16 V on contact 2
    host.ok(m.SetProgram(risky))  # nothing measured yet: nothing to check against
    host.request(m.MeasureImpedance())
    host.after(0.2)
    nak = host.nak(m.SetProgram(risky))
    assert (nak.param, nak.index, nak.limit) == (Param.COMPLIANCE, 1, 15_000)
    host.ok(m.SetProgram(program(amplitude_ua=7000, pulse_width_us=100, patient_max_ua=8000)))  # ~14 V


def test_drg_model_limits() -> None:
    host = ready(Firmware(model=MODELS["drg-4x4"]))
    nak = host.nak(m.SetProgram(program(amplitude_ua=6025, patient_max_ua=6025)))
    assert (nak.param, nak.limit) == (Param.AMPLITUDE, 6000)
    nak = host.nak(m.SetProgram(program(waveform=Waveform.BURST)))
    assert nak.param == Param.WAVEFORM
    # 4 mm2 contacts: Shannon (k = 2) allows 2 uC per phase; 6 mA x 400 us = 2.4 uC
    nak = host.nak(m.SetProgram(program(amplitude_ua=6000, pulse_width_us=400)))
    assert (nak.param, nak.index, nak.limit) == (Param.CHARGE_DENSITY, 0, 50_000)


def test_high_frequency_model_limits() -> None:
    host = ready(Firmware(model=MODELS["hf10k-16"]))
    hf = {"waveform": Waveform.HIGH_FREQUENCY, "pulse_width_us": 30, "rate_dhz": 100_000}
    host.ok(m.SetProgram(program(**hf)))
    nak = host.nak(m.SetProgram(program(**{**hf, "pulse_width_us": 300})))
    assert (nak.param, nak.limit) == (Param.PULSE_WIDTH, 40)
    nak = host.nak(m.SetProgram(program(**{**hf, "rate_dhz": 200_000})))
    assert (nak.param, nak.limit) == (Param.RATE, 100_000)
    nak = host.nak(m.SetProgram(program(**{**hf, "amplitude_ua": 16_000, "patient_max_ua": 16_000})))
    assert (nak.param, nak.limit) == (Param.AMPLITUDE, 15_000)
    nak = host.nak(m.SetProgram(program(waveform=Waveform.BURST)))
    assert nak.param == Param.WAVEFORM


@st.composite
def _split(draw: st.DrawFn, polarity: Polarity) -> list[tuple[int, m.ContactSetting]]:
    """1 to 8 contacts (indexes 0-7 anodes, 8-15 cathodes) whose shares sum to 100 %."""
    count = draw(st.integers(1, 8))
    cuts = sorted(draw(st.lists(st.integers(1, 99), min_size=count - 1, max_size=count - 1, unique=True)))
    shares = [b - a for a, b in zip([0, *cuts], [*cuts, 100], strict=True)]
    first = 0 if polarity is Polarity.ANODE else 8
    return [(first + i, m.ContactSetting(polarity, share)) for i, share in enumerate(shares)]


@given(st.integers(0, 0xFFFF), _split(Polarity.ANODE), _split(Polarity.CATHODE))
def test_each_polaritys_currents_add_up_to_the_amplitude_exactly(
    amplitude_ua: int, anodes: list[tuple[int, m.ContactSetting]], cathodes: list[tuple[int, m.ContactSetting]]
) -> None:
    settings = [m.ContactSetting()] * 16
    for index, setting in anodes + cathodes:
        settings[index] = setting
    currents = contact_currents_ua(amplitude_ua, settings)
    assert sum(currents[:8]) == sum(currents[8:]) == amplitude_ua
    for index, setting in anodes + cathodes:
        assert abs(currents[index] * 100 - amplitude_ua * setting.share_pct) < 100  # within 1 uA of its share

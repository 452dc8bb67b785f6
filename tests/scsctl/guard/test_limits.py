"""Every limit at its boundary: the value at the limit passes, one step past is refused, and the
refusal names parameter, value, limit, tier and profile."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from firmware_protocol.constants import Recharge, Waveform
from firmware_protocol.messages import Message, Program, SetAmplitude, SetProgram, Start
from scsctl.errors import AcknowledgementRequired
from scsctl.guard import DeviceContext, Guard, Role

from ..profiles.sample import sample_profile
from .helpers import NOW_S, SPLIT, approve, held_like, idle, impedance, program, refusal, running

Made = tuple[Message, DeviceContext]


def write(prog: Program, **context: Any) -> Made:
    """Writing ``prog`` into a slot that holds the same electrode configuration."""
    return SetProgram(prog), idle(held_like(prog), **context)


def burst(**fields: Any) -> Program:
    base: dict[str, Any] = {
        "waveform": Waveform.BURST, "pulse_width_us": 1000, "rate_dhz": 400, "burst_pulses": 5,
        "intra_burst_rate_dhz": 5000, "recharge": Recharge.PASSIVE,
    }  # fmt: skip
    base.update(fields)
    return program(**base)


def shannon(amplitude_ua: int, pulse_width_us: int, area_mm2: float) -> float:
    """DOMAIN.md's arithmetic, written independently of the guard."""
    q_uc = amplitude_ua / 1000 * pulse_width_us / 1000
    d_uc_per_cm2 = q_uc / (area_mm2 / 100)
    return math.log10(d_uc_per_cm2) + math.log10(q_uc)


@dataclass(frozen=True)
class Limit:
    id: str
    make: Callable[[int], Made]
    at: int
    past: int
    parameter: str
    value: object
    limit: object
    role: Role = Role.TECHNICIAN
    changes: dict[str, Any] = field(default_factory=dict)
    acknowledge: tuple[str, ...] = ()


LIMITS = [
    Limit("amplitude clinical max", lambda a: write(program(amplitude_ua=a, patient_max_ua=6000)),
          6000, 6050, "amplitude_ua", 6050, 6000),
    Limit("amplitude engineering max",
          lambda a: write(program(amplitude_ua=a, patient_max_ua=12_000, contacts=SPLIT, pulse_width_us=40)),
          12_000, 12_050, "amplitude_ua", 12_050, 12_000, role=Role.ENGINEER),
    Limit("pulse width min", lambda w: write(program(pulse_width_us=w)), 40, 30, "pulse_width_us", 30, 40),
    Limit("pulse width max", lambda w: write(program(pulse_width_us=w)), 720, 730, "pulse_width_us", 730, 720),
    Limit("rate min", lambda r: write(program(rate_dhz=r)), 40, 20, "rate_dhz", 20, 40),
    Limit("rate max", lambda r: write(program(rate_dhz=r)), 1000, 1020, "rate_dhz", 1020, 1000),
    Limit("pulses per burst max", lambda n: write(burst(burst_pulses=n)), 7, 8, "burst_pulses", 8, 7),
    Limit("rate inside a burst min", lambda r: write(burst(intra_burst_rate_dhz=r)), 2500, 2000,
          "intra_burst_rate_dhz", 2000, 2500),
    Limit("rate inside a burst max", lambda r: write(burst(intra_burst_rate_dhz=r)), 5000, 5500,
          "intra_burst_rate_dhz", 5500, 5000),
    Limit("burst rate max", lambda r: write(burst(rate_dhz=r)), 600, 610, "rate_dhz", 610, 600),
    Limit("burst fits its period", lambda r: write(burst(intra_burst_rate_dhz=2500, rate_dhz=r)),
          500, 510, "burst_pulses", 5, 4),
    Limit("tonic pulse fits its period", lambda w: write(program(rate_dhz=12_000, pulse_width_us=w)),
          410, 420, "pulse_width_us", 420, 416, role=Role.ENGINEER),
    Limit("burst pulse fits, active recharge",
          lambda w: write(burst(recharge=Recharge.ACTIVE, intra_burst_rate_dhz=12_000, rate_dhz=100, pulse_width_us=w)),
          410, 420, "pulse_width_us", 420, 416, role=Role.ENGINEER),
    Limit("burst pulse fits, passive recharge",
          lambda w: write(burst(intra_burst_rate_dhz=12_000, rate_dhz=100, pulse_width_us=w)),
          830, 840, "pulse_width_us", 840, 833, role=Role.ENGINEER),
    Limit("high-frequency pulse width is fixed",
          lambda w: write(program(waveform=Waveform.HIGH_FREQUENCY, pulse_width_us=w, rate_dhz=100_000)),
          30, 40, "pulse_width_us", 40, 30),
    Limit("patient maximum within the tier", lambda p: write(program(patient_max_ua=p)),
          6000, 6050, "patient_max_ua", 6050, 6000),
    Limit("amplitude within the patient maximum", lambda a: write(program(amplitude_ua=a, patient_max_ua=1000)),
          1000, 1025, "amplitude_ua", 1025, 1000),
    Limit("program slot", lambda s: write(program(slot=s)), 3, 4, "slot", 4, 3),
    Limit("cycling on-time", lambda c: write(program(cycle_on_s=c, cycle_off_s=10)), 3600, 3601,
          "cycle_on_s", 3601, 3600),
    Limit("ramp-down", lambda r: write(program(ramp_down_ms=r)), 30_000, 30_001, "ramp_down_ms", 30_001, 30_000),
    Limit("total current", lambda a: write(program(amplitude_ua=a, patient_max_ua=a, contacts=SPLIT)),
          5000, 5050, "total_current_ua", 5050, 5000, changes={"hardware.total_current_max_ua": 5000}),
    Limit("current on one contact", lambda a: write(program(amplitude_ua=a, patient_max_ua=a)),
          3000, 3050, "contact_current_ua", 3050, 3000, changes={"hardware.contact_current_max_ua": 3000}),
    Limit("current on a contact with half the share",
          lambda a: write(program(amplitude_ua=a, patient_max_ua=a, contacts=SPLIT)),
          6000, 6050, "contact_current_ua", 3025, 3000, role=Role.ENGINEER,
          changes={"hardware.contact_current_max_ua": 3000}),
    Limit("charge per phase", lambda w: write(program(amplitude_ua=6000, patient_max_ua=6000, pulse_width_us=w)),
          500, 510, "charge_per_phase_nc", 3060, 3000, changes={"contacts.area_mm2": 100.0}),
    Limit("Shannon", lambda a: write(program(amplitude_ua=a, patient_max_ua=a, pulse_width_us=300)),
          5600, 5650, "shannon_k", round(shannon(5650, 300, 4.0), 3), 1.85,
          changes={"contacts.area_mm2": 4.0}, acknowledge=("charge-density",)),
    Limit("Shannon at the patient maximum", lambda p: write(program(patient_max_ua=p, pulse_width_us=300)),
          5600, 5650, "shannon_k", round(shannon(5650, 300, 4.0), 3), 1.85,
          changes={"contacts.area_mm2": 4.0}, acknowledge=("patient-max-charge-density",)),
    Limit("compliance", lambda a: write(program(amplitude_ua=a, patient_max_ua=a), record=impedance(2000)),
          5000, 5050, "compliance_mv", 10_100, 10_000),
    Limit("compliance at the patient maximum", lambda p: write(program(patient_max_ua=p), record=impedance(2000)),
          5000, 5050, "compliance_mv", 10_100, 10_000),
    Limit("open contact", lambda ohm: (Start(0), idle(program(), record=impedance(c1=ohm))),
          8000, 8001, "impedance_ohm", 8001, 8000),
    Limit("shorted contact", lambda ohm: (Start(0), idle(program(), record=impedance(c2=ohm))),
          150, 149, "impedance_ohm", 149, 150),
    Limit("impedance check age",
          lambda age: (Start(0), idle(program(), record=impedance(at_s=NOW_S - age))),
          600, 601, "impedance_age_s", 601, 600),
    Limit("ramp-up speed", lambda r: write(program(amplitude_ua=6000, patient_max_ua=6000, ramp_up_ms=r)),
          6000, 5999, "ramp_up_ms", 5999, 6000),
    Limit("start without ramp-up", lambda a: write(program(amplitude_ua=a, ramp_up_ms=0)),
          500, 525, "ramp_up_ms", 0, 525),
    Limit("amplitude change within the patient maximum",
          lambda a: (SetAmplitude(a), running(program(amplitude_ua=1000, patient_max_ua=2000))),
          2000, 2050, "amplitude_ua", 2050, 2000),
    Limit("amplitude change within the tier",
          lambda a: (SetAmplitude(a), running(program(amplitude_ua=5800, patient_max_ua=6000))),
          6000, 6050, "amplitude_ua", 6050, 6000),
]  # fmt: skip


@pytest.mark.parametrize("case", LIMITS, ids=[c.id for c in LIMITS])
def test_at_the_limit_passes_and_one_step_past_is_refused(case: Limit) -> None:
    guard = Guard(sample_profile(case.changes), role=case.role)
    command, context = case.make(case.at)
    approved = approve(guard, command, context, case.acknowledge)
    assert approved.messages[-1] == command or isinstance(command, SetAmplitude)
    command, context = case.make(case.past)
    refusal(guard, command, context, parameter=case.parameter, value=case.value, limit=case.limit,
            acknowledge=case.acknowledge)  # fmt: skip


def test_off_grid_is_refused_with_the_nearest_settings_never_rounded() -> None:
    guard = Guard(sample_profile())
    at_2050 = write(program(amplitude_ua=2050, patient_max_ua=6000))
    assert approve(guard, *at_2050).messages == (at_2050[0],)
    err = refusal(guard, *write(program(amplitude_ua=2075, patient_max_ua=6000)),
                  parameter="amplitude_ua", value=2075, limit=50)  # fmt: skip
    assert "amplitude 2.075 mA is not a setting of the clinical tier" in str(err)
    assert "2.05 mA and 2.1 mA" in str(err)
    # Below 2 mA the grid is finer: 1.975 mA is a setting, 1.99 mA is not.
    approve(guard, *write(program(amplitude_ua=1975, patient_max_ua=6000)))
    err = refusal(guard, *write(program(amplitude_ua=1990, patient_max_ua=6000)),
                  parameter="amplitude_ua", value=1990, limit=25)  # fmt: skip
    assert "1.975 mA and 2.0 mA" in str(err)


def test_charge_density_warning_must_be_acknowledged() -> None:
    # 4 mm2 contacts: 30 uC/cm2 is 1.2 uC per phase, i.e. 4.0 mA at 300 us; Shannon allows more.
    guard = Guard(sample_profile({"contacts.area_mm2": 4.0}))

    def make(a: int) -> Made:
        return write(program(amplitude_ua=a, patient_max_ua=a, pulse_width_us=300))

    assert approve(guard, *make(4000)).warnings == ()
    with pytest.raises(AcknowledgementRequired) as info:
        approve(guard, *make(4050))
    err = info.value
    assert (err.parameter, err.tier, err.profile) == ("charge_density_uc_per_cm2", "clinical", "bench-16")
    assert (err.value, err.limit) == (("charge-density",), 30)
    assert "'charge-density'" in str(err) and "30.4 uC/cm2" in str(err) and "warning level of 30 uC/cm2" in str(err)
    assert guard.warnings(*make(4050))[0].id == "charge-density"
    approved = approve(guard, *make(4050), acknowledge={"charge-density"})
    assert [w.id for w in approved.warnings] == ["charge-density"]


def test_patient_maximum_above_the_warning_level_needs_its_own_acknowledgement() -> None:
    guard = Guard(sample_profile({"contacts.area_mm2": 4.0}))
    command, context = write(program(amplitude_ua=1000, patient_max_ua=5000, pulse_width_us=300))
    assert [w.id for w in guard.warnings(command, context)] == ["patient-max-charge-density"]
    with pytest.raises(AcknowledgementRequired, match="the patient's remote could reach it"):
        approve(guard, command, context, acknowledge={"charge-density"})
    approve(guard, command, context, acknowledge={"patient-max-charge-density"})

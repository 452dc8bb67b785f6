"""What the guard does with each command: roles, electrode configuration, ramps, START, pass-through."""

from __future__ import annotations

import dataclasses
import re

import pytest

from firmware_protocol.constants import NO_SLOT, AmplitudeFlags, ImpedanceStatus, Polarity, Waveform
from firmware_protocol.messages import (
    ContactSetting,
    GetStatus,
    ImpedanceReading,
    MeasureImpedance,
    SelectProgram,
    SetAmplitude,
    SetProgram,
    Start,
    StartAck,
    Stop,
)
from scsctl.errors import AcknowledgementRequired, SafetyRefusal
from scsctl.guard import DeviceContext, Guard, ImpedanceRecord, Role
from scsctl.profiles import TierName, get_profile

from ..profiles.sample import DELETE, sample_profile
from .helpers import BIPOLAR, NOW_S, approve, contacts, held_like, idle, impedance, program, refusal, running

PROFILE = sample_profile()


# --- roles -------------------------------------------------------------------------------------------


def test_the_tier_follows_the_role_and_cannot_be_changed() -> None:
    assert Guard(PROFILE).tier.name is TierName.CLINICAL
    assert Guard(PROFILE, role=Role.ENGINEER).tier.name is TierName.ENGINEERING
    assert Guard(PROFILE, role="engineer").role is Role.ENGINEER  # type: ignore[arg-type]
    guard = Guard(PROFILE)
    with pytest.raises(AttributeError):
        guard._scope = Guard(PROFILE, role=Role.ENGINEER)._scope  # type: ignore[misc]
    with pytest.raises(AttributeError):
        guard.tier = PROFILE.engineering  # type: ignore[misc]
    with pytest.raises(TypeError):
        Guard(PROFILE, tier=TierName.ENGINEERING)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="admin"):
        Guard(PROFILE, role="admin")  # type: ignore[arg-type]
    assert Guard(PROFILE).tier.name is TierName.CLINICAL


def test_a_technician_cannot_start_or_adjust_an_engineering_program() -> None:
    engineer, technician = Guard(PROFILE, role=Role.ENGINEER), Guard(PROFILE)
    wide = program(pulse_width_us=1000, rate_dhz=100)
    approve(engineer, SetProgram(wide), idle())
    approve(engineer, Start(0), idle(wide))
    err = refusal(technician, Start(0), idle(wide), parameter="pulse_width_us", value=1000, limit=720)
    assert str(err).startswith("the program in slot 0 cannot be started: tonic pulse width 1000 us is above "
                               "the clinical tier's maximum of 720 us")  # fmt: skip
    err = refusal(technician, SetAmplitude(500), running(wide), parameter="pulse_width_us", value=1000, limit=720)
    assert "the running program (slot 0) cannot be adjusted in the clinical tier" in str(err)
    refusal(technician, SetProgram(wide), idle(), parameter="pulse_width_us", value=1000, limit=720)


# --- electrode configuration -------------------------------------------------------------------------


def test_a_new_electrode_configuration_must_be_written_at_zero() -> None:
    guard = Guard(PROFILE)
    held = program(slot=1, amplitude_ua=2000, patient_max_ua=3000)
    moved = dataclasses.replace(held, contacts=contacts({3: 100}, {4: 100}))
    err = refusal(guard, SetProgram(moved), idle(held), parameter="amplitude_ua", value=2000, limit=0)
    assert "changes the electrode configuration of slot 1" in str(err)
    assert "write it with amplitude 0.0 mA (asked for 2.0 mA)" in str(err)
    err = refusal(guard, SetProgram(moved), idle(), parameter="amplitude_ua", value=2000, limit=0)
    assert "puts a new electrode configuration into slot 1" in str(err)
    at_zero = SetProgram(dataclasses.replace(moved, amplitude_ua=0))
    assert approve(guard, at_zero, idle(held)).messages == (at_zero,)  # passed on unchanged
    same = SetProgram(dataclasses.replace(held, amplitude_ua=2500))
    assert approve(guard, same, idle(held)).messages == (same,)


def test_the_running_slot_cannot_be_rewritten() -> None:
    guard = Guard(PROFILE)
    prog = program(amplitude_ua=1000)
    refusal(guard, SetProgram(prog), running(prog), parameter="slot", value=0, limit=None)
    other = program(slot=2)
    approve(guard, SetProgram(other), running(prog))


@pytest.mark.parametrize(
    ("settings", "parameter", "value", "limit", "text"),
    [
        (contacts({1: 100}, {}), "contacts", 0, 1, "no anode"),
        (contacts({}, {2: 100}), "contacts", 0, 1, "no cathode"),
        (contacts({1: 60, 3: 39}, {2: 100}), "share_pct", 99, 100, "cathodic shares add up to 99 %"),
        (contacts({1: 100}, {2: 50, 4: 51}), "share_pct", 101, 100, "anodic shares add up to 101 %"),
        (contacts({1: 100, 3: 0}, {2: 100}), "share_pct", 0, 1, "contact 3 (cathode) has a share of 0 %"),
        ((*BIPOLAR[:3], ContactSetting(Polarity.OFF, 5), *BIPOLAR[4:]), "share_pct", 5, 0, "contact 4 is off"),
        (BIPOLAR[:15], "contacts", 15, 16, "lists 15 contacts but this model has 16"),
        ((ContactSetting(7, 100), *BIPOLAR[1:]), "polarity", 7, None, "unknown polarity"),  # type: ignore[arg-type]
    ],
)  # fmt: skip
def test_electrode_configuration(
    settings: tuple[ContactSetting, ...], parameter: str, value: object, limit: object, text: str
) -> None:
    err = refusal(Guard(PROFILE), SetProgram(program(contacts=settings)), idle(),
                  parameter=parameter, value=value, limit=limit)  # fmt: skip
    assert text in str(err)


# --- waveforms ----------------------------------------------------------------------------------------


def test_waveforms_the_model_or_the_tier_does_not_offer() -> None:
    drg = get_profile("drg-4x4", env={})
    burst = program(waveform=Waveform.BURST, burst_pulses=5, intra_burst_rate_dhz=5000, rate_dhz=400)
    err = refusal(Guard(drg), SetProgram(burst), idle(), parameter="waveform", value="burst", limit="tonic")
    assert "waveform burst is not offered by this model" in str(err)
    no_clinical_burst = sample_profile({"tiers.clinical.burst": DELETE})
    err = refusal(Guard(no_clinical_burst), SetProgram(burst), idle(), parameter="waveform", value="burst",
                  limit="tonic, high frequency")  # fmt: skip
    assert "not allowed in the clinical tier" in str(err)
    refusal(Guard(PROFILE), SetProgram(program(burst_pulses=5)), idle(), parameter="burst_pulses", value=5, limit=0)


_FIELD_NAME = re.compile(r"\b[a-z]+(?:_[a-z]+)*_(?:ua|us|ms|s|dhz|nc|pct|mv|ohm)\b")


@pytest.mark.parametrize(
    ("fields", "parameter", "value", "limit", "text"),
    [
        ({"intra_burst_rate_dhz": 5000}, "intra_burst_rate_dhz", 5000, 0,
         "the rate inside a burst must be 0 Hz for the tonic waveform, which has no bursts (got 500 Hz)"),
        ({"burst_pulses": 5}, "burst_pulses", 5, 0,
         "the pulses per burst must be 0 for the tonic waveform, which has no bursts (got 5 pulses)"),
        ({"ramp_up_ms": 45_000}, "ramp_up_ms", 45_000, 30_000, "ramp-up 45 s is above the hardware maximum of 30 s"),
        ({"ramp_down_ms": 30_500}, "ramp_down_ms", 30_500, 30_000,
         "ramp-down 30.5 s is above the hardware maximum of 30 s"),
        ({"amplitude_ua": 1000, "ramp_up_ms": 200}, "ramp_up_ms", 200, 1000,
         "starting at 1.0 mA with a ramp-up of 200 ms is a jump"),
        ({"waveform": 9}, "waveform", 9, None,
         "waveform code 9 is not a waveform scsctl knows (known: tonic, burst, high frequency)"),
        ({"recharge": 4}, "recharge", 4, None, "recharge code 4 is not a recharge mode scsctl knows (known: active, "
                                               "passive)"),
    ],
)  # fmt: skip
def test_refusals_speak_in_words_and_the_units_people_use(
    fields: dict[str, object], parameter: str, value: object, limit: object, text: str
) -> None:
    prog = program(**fields)
    err = refusal(Guard(PROFILE), SetProgram(prog), idle(held_like(prog)), parameter=parameter, value=value,
                  limit=limit)  # fmt: skip
    assert text in str(err)
    assert not _FIELD_NAME.search(str(err)), str(err)


def test_cycling_only_where_the_model_cycles() -> None:
    no_cycling = sample_profile({"cycling": False})
    err = refusal(Guard(no_cycling), SetProgram(program(cycle_on_s=10, cycle_off_s=10)), idle(),
                  parameter="cycle_on_s", value=10, limit=0)  # fmt: skip
    assert "cycling on-time must be 0 s: this model does not cycle (got 10 s)" in str(err)
    approve(Guard(PROFILE), SetProgram(program(cycle_on_s=10, cycle_off_s=10)), idle())


# --- amplitude changes while stimulating ---------------------------------------------------------------


def test_a_large_change_becomes_a_ramp_of_grid_steps() -> None:
    guard = Guard(PROFILE)
    prog = program(amplitude_ua=1000, patient_max_ua=6000)
    approved = approve(guard, SetAmplitude(3550, AmplitudeFlags.COMMIT), running(prog))
    points = [m.amplitude_ua for m in approved.messages if isinstance(m, SetAmplitude)]
    assert len(points) == len(approved.messages)
    assert points == [1500, 2000, 2500, 3000, 3500, 3550]
    assert all(isinstance(m, SetAmplitude) and m.commit for m in approved.messages)
    assert approved.step_interval_ms == 500 and approved.step_interval_s == 0.5
    assert any("ramping in 6 steps" in n for n in approved.notices)


def test_a_ramp_from_off_the_grid_lands_on_the_grid() -> None:
    drg = get_profile("drg-4x4", env={})
    prog = program(amplitude_ua=1990, patient_max_ua=6000, ramp_up_ms=0)
    approved = approve(Guard(drg), SetAmplitude(2550), running(prog, present_ua=1990))
    points = [m.amplitude_ua for m in approved.messages if isinstance(m, SetAmplitude)]
    assert points == [2150, 2350, 2550]
    tonic = drg.clinical.for_waveform(Waveform.TONIC)
    assert tonic is not None and all(p in tonic.amplitude_ua for p in points)


def test_a_small_change_is_one_message_unchanged() -> None:
    guard = Guard(PROFILE)
    command = SetAmplitude(1500)
    approved = approve(guard, command, running(program(amplitude_ua=1000, patient_max_ua=6000)))
    assert approved.messages == (command,) and approved.step_interval_ms == 0 and approved.notices == ()


def test_going_down_needs_no_acknowledgement() -> None:
    guard = Guard(sample_profile({"contacts.area_mm2": 4.0}))
    prog = program(amplitude_ua=5000, patient_max_ua=5000, pulse_width_us=300)
    with pytest.raises(AcknowledgementRequired):
        approve(guard, SetAmplitude(5000), running(prog, present_ua=4000))
    approved = approve(guard, SetAmplitude(4500), running(prog))
    assert approved.warnings == ()
    assert any("warning level" in n for n in approved.notices)


def test_a_present_amplitude_outside_the_tier_cannot_be_ramped_by_a_technician() -> None:
    wide = program(amplitude_ua=8000, patient_max_ua=8000, contacts=contacts({1: 50, 3: 50}, {2: 50, 4: 50}),
                   pulse_width_us=40)  # fmt: skip
    context = running(wide)
    err = refusal(Guard(PROFILE), SetAmplitude(3000), context, parameter="patient_max_ua", value=8000, limit=6000)
    assert "cannot be adjusted in the clinical tier" in str(err)
    approved = approve(Guard(PROFILE, role=Role.ENGINEER), SetAmplitude(3000), context)
    assert [m.amplitude_ua for m in approved.messages if isinstance(m, SetAmplitude)][-1] == 3000


def test_amplitude_changes_need_a_running_known_program() -> None:
    guard = Guard(PROFILE)
    refusal(guard, SetAmplitude(1000), idle(program()), parameter="amplitude_ua", value=1000, limit=None)
    unknown = DeviceContext(stimulating=True, running_slot=2, present_amplitude_ua=0)
    refusal(guard, SetAmplitude(1000), unknown, parameter="slot", value=2, limit=None)
    refusal(guard, SetAmplitude(1000, AmplitudeFlags(0x02)), running(program()), parameter="flags", value=2,
            limit=1)  # fmt: skip


# --- START ---------------------------------------------------------------------------------------------


def test_start_the_selected_program() -> None:
    guard = Guard(PROFILE)
    prog = program(slot=2)
    command = Start(NO_SLOT)
    assert approve(guard, command, idle(prog, selected=2)).messages == (command,)
    refusal(guard, command, idle(prog), parameter="slot", value=None, limit=None)
    refusal(guard, Start(1), idle(prog), parameter="slot", value=1, limit=None)
    refusal(guard, Start(2), running(prog), parameter="slot", value=2, limit=None)


def test_start_needs_an_impedance_check_when_the_profile_says_so() -> None:
    guard = Guard(PROFILE)
    no_record = DeviceContext(programs={0: program()}, now_s=NOW_S)
    err = refusal(guard, Start(0), no_record, parameter="impedance_age_s", value=None, limit=600)
    assert "requires one within 600 s before starting" in str(err)
    unmeasured = list(impedance().readings)
    unmeasured[1] = ImpedanceReading(0, ImpedanceStatus.NOT_MEASURED)
    record = ImpedanceRecord(tuple(unmeasured), NOW_S)
    refusal(guard, Start(0), idle(program(), record=record), parameter="impedance_ohm", value=None, limit=None)
    future = idle(program(), record=impedance(at_s=NOW_S + 5))
    refusal(guard, Start(0), future, parameter="impedance_age_s", value=-5.0, limit=600)

    relaxed = Guard(sample_profile({"impedance.required_before_start": False}))
    approved = approve(relaxed, Start(0), DeviceContext(programs={0: program(amplitude_ua=500)}, now_s=NOW_S))
    assert approved.notices == ("compliance not checked: no impedance measurement yet",)


def test_impedance_warnings_are_shown() -> None:
    approved = approve(Guard(PROFILE), Start(0), idle(program(), record=impedance(c1=3000, c2=200)))
    assert approved.notices == (
        "contact 1 impedance 3000 ohm is high (above 2500 ohm)",
        "contact 2 impedance 200 ohm is low (below 300 ohm)",
    )


def test_open_contacts_reported_by_the_device_are_refused() -> None:
    readings = list(impedance().readings)
    readings[0] = ImpedanceReading(0xFFFF, ImpedanceStatus.OPEN)
    context = idle(program(), record=ImpedanceRecord(tuple(readings), NOW_S))
    err = refusal(Guard(PROFILE), Start(0), context, parameter="impedance_ohm", value=0xFFFF, limit=8000)
    assert "contact 1 reads an open circuit" in str(err)


def test_a_patient_maximum_the_leads_cannot_carry_is_refused_when_written() -> None:
    # The case: contact 1 at 1366 ohm, "1+ 2-" with a 9 mA patient maximum needs 12.3 V of 12 V.
    tonic = get_profile("tonic-burst-16", env={})
    guard = Guard(tonic, role=Role.ENGINEER)
    prog = program(contacts=contacts({2: 100}, {1: 100}), pulse_width_us=100, patient_max_ua=9000)
    record = impedance(900, c1=1366)
    err = refusal(guard, SetProgram(prog), idle(record=record), parameter="compliance_mv", value=12_294.0,
                  limit=12_000)  # fmt: skip
    text = str(err)
    assert "patient maximum 9.0 mA puts 9.0 mA through contact 1 at 1366 ohm: 12.294 V needed" in text
    assert "above the compliance voltage of 12.0 V" in text
    assert "the patient's remote could reach it: at these impedances the patient maximum can be at most 8.7 mA" in text
    assert "(engineering tier, profile tonic-burst-16)" in text
    assert approve(guard, SetProgram(dataclasses.replace(prog, patient_max_ua=8700)), idle(record=record))
    # Without a measurement there is nothing to check it against (START then needs one on this model).
    assert approve(guard, SetProgram(prog), DeviceContext(now_s=NOW_S)).notices == ()


def test_a_program_whose_patient_maximum_no_longer_fits_the_leads_cannot_be_started() -> None:
    prog = program(patient_max_ua=5000)
    guard = Guard(PROFILE)
    approve(guard, Start(0), idle(prog, record=impedance(2000)))  # 5 mA x 2000 ohm = 10 V: the limit
    err = refusal(guard, Start(0), idle(prog, record=impedance(2000, c2=2100)), parameter="compliance_mv",
                  value=10_500.0, limit=10_000)  # fmt: skip
    assert str(err).startswith("the program in slot 0 cannot be started: patient maximum 5.0 mA puts 5.0 mA")
    assert "rewrite it with a lower patient maximum" in str(err)


# --- everything else -----------------------------------------------------------------------------------


@pytest.mark.parametrize("context", [DeviceContext(), running(program(amplitude_ua=1000))])
def test_stop_and_read_only_commands_always_pass_unchanged(context: DeviceContext) -> None:
    guard = Guard(PROFILE)
    for command in (Stop(), GetStatus(), MeasureImpedance()):
        assert approve(guard, command, context).messages == (command,)


def test_select_program_and_replies() -> None:
    guard = Guard(PROFILE)
    approve(guard, SelectProgram(3), DeviceContext())
    refusal(guard, SelectProgram(4), DeviceContext(), parameter="slot", value=4, limit=3)
    with pytest.raises(SafetyRefusal, match="StartAck is not a command the host sends"):
        guard.check(StartAck(), DeviceContext())


def test_program_for_another_slot_is_checked_by_its_own_slot() -> None:
    guard = Guard(PROFILE)
    prog = program(slot=1, amplitude_ua=1000)
    approve(guard, SetProgram(prog), idle(held_like(prog)))
    refusal(guard, SetProgram(prog), idle(held_like(dataclasses.replace(prog, slot=2))),
            parameter="amplitude_ua", value=1000, limit=0)  # fmt: skip

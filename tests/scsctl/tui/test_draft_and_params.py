"""The draft (program being edited), its settings' steps and its local check, without Textual."""

from __future__ import annotations

import dataclasses

import pytest

from firmware_protocol.constants import Polarity, Recharge, Waveform
from firmware_protocol.messages import ContactSetting, Program
from scsctl.errors import UsageError
from scsctl.guard import DeviceContext, Guard, ImpedanceRecord, Role
from scsctl.parsing import electrodes
from scsctl.profiles import get_profile
from scsctl.tui.draft import (
    adjust_share,
    balance,
    change_waveform,
    check_draft,
    check_start,
    cycle_polarity,
    new_program,
    set_polarity,
    share_sums,
)
from scsctl.tui.params import StepRefused, parse_param, program_params, step_param

TONIC = get_profile("tonic-burst-16")
DRG = get_profile("drg-4x4")
HF = get_profile("hf10k-16")


def spec(program: Program, key: str, profile=TONIC, role: Role = Role.TECHNICIAN):  # type: ignore[no-untyped-def]
    tier = Guard(profile, role=role).tier
    return next(s for s in program_params(profile, tier, program) if s.key == key), tier


def step(program: Program, key: str, direction: int, *, coarse: bool = False, profile=TONIC):  # type: ignore[no-untyped-def]
    s, tier = spec(program, key, profile)
    return step_param(s, program, direction, coarse=coarse, profile=profile, tier=tier)


# --- electrodes ------------------------------------------------------------------------------------


def test_a_new_program_starts_at_zero_with_no_contacts_and_the_profiles_patient_maximum() -> None:
    p = new_program(DRG, slot=2)
    assert (p.slot, p.amplitude_ua, p.patient_max_ua) == (2, 0, DRG.patient_max_default_ua)
    assert len(p.contacts) == 16 and all(c.polarity == Polarity.OFF for c in p.contacts)


def test_adding_contacts_splits_their_polarity_equally_and_removing_one_re_splits() -> None:
    contacts = new_program(TONIC).contacts
    contacts = set_polarity(contacts, 0, Polarity.ANODE)
    for i in (1, 2, 3):
        contacts = set_polarity(contacts, i, Polarity.CATHODE)
    assert [c.share_pct for c in contacts[:4]] == [100, 34, 33, 33]
    assert share_sums(contacts) == (100, 100)
    contacts = set_polarity(contacts, 3, Polarity.OFF)
    assert [(c.polarity, c.share_pct) for c in contacts[1:4]] == [
        (Polarity.CATHODE, 50),
        (Polarity.CATHODE, 50),
        (Polarity.OFF, 0),
    ]


def test_cycling_goes_off_anode_cathode_off() -> None:
    contacts = new_program(TONIC).contacts
    seen = []
    for _ in range(3):
        contacts = cycle_polarity(contacts, 5)
        seen.append(contacts[5].polarity)
    assert seen == [Polarity.ANODE, Polarity.CATHODE, Polarity.OFF]


def test_one_share_changes_alone_so_the_sum_can_leave_100_until_balanced() -> None:
    contacts = electrodes("1+ 2- 3-", 16)
    changed = adjust_share(contacts, 1, 5)
    assert share_sums(changed) == (100, 105)
    assert adjust_share(contacts, 4, 5) == contacts  # an off contact has no share
    assert adjust_share(contacts, 0, 50)[0].share_pct == 100  # kept within 1..100 %
    assert share_sums(balance(changed)) == (100, 100)


# --- the local check ---------------------------------------------------------------------------------


def test_the_guard_marks_an_invalid_draft_in_its_own_words() -> None:
    guard = Guard(TONIC)
    only_anode = dataclasses.replace(new_program(TONIC), contacts=electrodes("1+ 2+", 16))
    verdict = check_draft(guard, only_anode, DeviceContext())
    assert not verdict.ok and "no cathode" in (verdict.problem or "")
    too_high = dataclasses.replace(new_program(TONIC), contacts=electrodes("1+ 2-", 16), amplitude_ua=9000)
    verdict = check_draft(guard, too_high, DeviceContext())
    assert verdict.parameter == "amplitude_ua"
    assert "above the clinical tier's maximum of 8.5 mA" in (verdict.problem or "")
    assert check_draft(guard, dataclasses.replace(too_high, amplitude_ua=0), DeviceContext()).ok


def test_start_is_held_back_until_an_impedance_check_and_says_why() -> None:
    guard = Guard(TONIC)
    program = dataclasses.replace(new_program(TONIC), contacts=electrodes("1+ 2-", 16))
    context = DeviceContext(programs={0: program}, now_s=100.0)
    assert "impedance check" in (check_start(guard, 0, context) or "")
    measured = dataclasses.replace(context, impedance=ImpedanceRecord.uniform(900, 16, measured_at_s=99.0))
    assert check_start(guard, 0, measured) is None
    assert "holds no program" in (check_start(guard, 1, measured) or "")


# --- stepping ----------------------------------------------------------------------------------------


def test_amplitude_steps_by_the_profiles_fine_and_coarse_increments() -> None:
    program = new_program(TONIC)
    result = step(program, "amplitude_ua", 1)
    assert not isinstance(result, StepRefused) and result[0].amplitude_ua == 100
    result = step(program, "amplitude_ua", 1, coarse=True)
    assert not isinstance(result, StepRefused) and result[0].amplitude_ua == 500


def test_drg_amplitude_increments_change_at_2_ma() -> None:
    below = dataclasses.replace(new_program(DRG), amplitude_ua=1975)
    result = step(below, "amplitude_ua", 1, profile=DRG)
    assert not isinstance(result, StepRefused) and result[0].amplitude_ua == 2000
    above = dataclasses.replace(below, amplitude_ua=2000)
    result = step(above, "amplitude_ua", 1, profile=DRG)
    assert not isinstance(result, StepRefused) and result[0].amplitude_ua == 2050


def test_a_step_past_the_tiers_range_is_refused_with_the_limit_never_cut_short() -> None:
    at_max = dataclasses.replace(new_program(TONIC), pulse_width_us=500)
    refused = step(at_max, "pulse_width_us", 1)
    assert isinstance(refused, StepRefused)
    assert "maximum of 500 us" in refused.message
    near_max = dataclasses.replace(new_program(TONIC), pulse_width_us=480)
    refused = step(near_max, "pulse_width_us", 1, coarse=True)
    assert isinstance(refused, StepRefused)
    assert "530 us is above the clinical tier's maximum of 500 us" in refused.message
    at_zero = new_program(TONIC)
    assert isinstance(step(at_zero, "amplitude_ua", -1), StepRefused)


def test_the_waveform_is_chosen_from_what_the_tier_offers_and_the_burst_is_proposed() -> None:
    program = new_program(TONIC)
    result = step(program, "waveform", 1)
    assert not isinstance(result, StepRefused)
    burst, note = result
    assert burst.waveform == Waveform.BURST
    assert (burst.burst_pulses, burst.intra_burst_rate_dhz, burst.rate_dhz) == (5, 5000, 400)
    assert note is not None and "pulses per burst 5 pulses" in note
    back, note = change_waveform(burst, Waveform.TONIC, TONIC)
    assert (back.burst_pulses, back.intra_burst_rate_dhz) == (0, 0)
    assert isinstance(step(new_program(DRG), "waveform", 1, profile=DRG), StepRefused)  # tonic only


def test_high_frequency_sets_its_fixed_pulse_width_and_rate_and_says_so() -> None:
    assert HF.high_frequency is not None
    hf, note = change_waveform(new_program(HF), Waveform.HIGH_FREQUENCY, HF)
    assert (hf.pulse_width_us, hf.rate_dhz) == (HF.high_frequency.pulse_width_us, HF.high_frequency.rate_dhz)
    assert note is not None and "pulse width" in note


def test_burst_rows_appear_only_for_burst_and_cycling_only_where_offered() -> None:
    tier = Guard(TONIC).tier
    tonic_keys = [s.key for s in program_params(TONIC, tier, new_program(TONIC))]
    assert "burst_pulses" not in tonic_keys and "cycle_on_s" in tonic_keys
    burst = change_waveform(new_program(TONIC), Waveform.BURST, TONIC)[0]
    assert "burst_pulses" in [s.key for s in program_params(TONIC, tier, burst)]


def test_recharge_cycles_through_the_models_modes() -> None:
    result = step(new_program(TONIC), "recharge", 1)
    assert not isinstance(result, StepRefused) and result[0].recharge == Recharge.PASSIVE


@pytest.mark.parametrize(
    ("key", "text", "value"),
    [
        ("amplitude_ua", "3.5mA", 3500),
        ("pulse_width_us", "0.3ms", 300),
        ("rate_dhz", "2.5Hz", 25),
        ("ramp_up_ms", "2s", 2000),
        ("cycle_on_s", "2min", 120),
        ("burst_pulses", "5", 5),
    ],
)
def test_typed_values_are_read_exactly(key: str, text: str, value: int) -> None:
    assert parse_param(key, text) == value


@pytest.mark.parametrize(
    ("key", "text"),
    [("amplitude_ua", "3.5555mA"), ("burst_pulses", "five"), ("waveform", "burst"), ("pulse_width_us", "-3us")],
)
def test_typed_values_that_cannot_be_read_exactly_are_refused(key: str, text: str) -> None:
    with pytest.raises(UsageError):
        parse_param(key, text)


def test_contact_settings_are_the_wire_type() -> None:
    assert isinstance(new_program(TONIC).contacts[0], ContactSetting)

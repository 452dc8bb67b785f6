"""Broken profiles: every problem is reported, each naming the file, the key and the reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from scsctl.errors import ProfileError, ProfileProblem
from scsctl.profiles import Grid, Segment, TierName, load_profile

from .sample import DELETE, NAME, patched, sample_data, write_profile


def problems_of(tmp_path: Path, data: dict[str, Any], name: str | None = None) -> list[ProfileProblem]:
    path = write_profile(tmp_path, data, name)
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    for problem in info.value.problems:
        assert problem.file == str(path)
    return info.value.problems


def only_problem(tmp_path: Path, changes: dict[str, Any]) -> ProfileProblem:
    problems = problems_of(tmp_path, patched(changes))
    assert len(problems) == 1, problems
    return problems[0]


def test_the_sample_profile_is_valid(tmp_path: Path) -> None:
    profile = load_profile(write_profile(tmp_path, sample_data()))
    assert profile.name == NAME
    assert profile.contacts.count == 16
    assert profile.clinical.for_waveform(profile.waveforms[0]) is not None
    assert profile.tier(TierName.ENGINEERING) is profile.engineering


def test_malformed_toml_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text('name = "broken"\nmodel_id = = 3\n', encoding="utf-8")
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    (problem,) = info.value.problems
    assert problem.file == str(path)
    assert "line 2" in problem.reason
    assert str(path) in str(info.value)


def test_unreadable_file_is_a_profile_error(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="cannot read"):
        load_profile(tmp_path / "missing.toml")


@pytest.mark.parametrize(
    ("changes", "key", "reason"),
    [
        ({"colour": "blue"}, "colour", "unknown key"),
        ({"hardware.amplitude_mA": {"min": 0, "max": 1}}, "hardware.amplitude_mA", "unknown key"),
        ({"tiers.clinical.high_frequency.pulse_width_us": {"min": 30, "max": 30, "step": 1}},
         "tiers.clinical.high_frequency.pulse_width_us", "fixed by [high_frequency]"),
        ({"model_id": DELETE}, "model_id", "missing key"),
        ({"safety.ramp_rate_ua_per_s": DELETE}, "safety.ramp_rate_ua_per_s", "missing key"),
        ({"program_slots": "4"}, "program_slots", "expected an integer, got a string"),
        ({"cycling": 1}, "cycling", "expected true or false"),
        ({"contacts.area_mm2": "12"}, "contacts.area_mm2", "positive number"),
        ({"contacts.area_mm2": [12.0] * 15}, "contacts.area_mm2", "15 areas for 16 contacts"),
        ({"usb.vid": 0x10000}, "usb.vid", "at most 65535"),
        ({"hardware.pulse_width_us": {"min": 500, "max": 400}}, "hardware.pulse_width_us.min",
         "greater than max"),
        ({"tiers.clinical.tonic.rate_dhz": {"min": 40, "max": 1000, "step": 70}},
         "tiers.clinical.tonic.rate_dhz.step", "does not divide the range 40..1000"),
        ({"tiers.clinical.tonic.amplitude_ua": [{"min": 0, "max": 2000, "step": 25},
                                                 {"min": 2100, "max": 6000, "step": 50}]},
         "tiers.clinical.tonic.amplitude_ua[1].min", "previous one ends at 2000"),
        ({"tiers.engineering.tonic.pulse_width_us": {"min": 10, "max": 1000, "step": 10}},
         "tiers.engineering.tonic.pulse_width_us", "below the hardware minimum"),
        ({"tiers.clinical.tonic.pulse_width_us": {"min": 40, "max": 1200, "step": 10}},
         "tiers.clinical.tonic.pulse_width_us", "wider than the engineering tier"),
        ({"tiers.clinical.burst.pulse_width_us": {"min": 105, "max": 1000, "step": 5}},
         "tiers.clinical.burst.pulse_width_us", "not an engineering one"),
        ({"tiers.clinical.high_frequency.amplitude_ua": {"min": 100, "max": 5000, "step": 100}},
         "tiers.clinical.high_frequency.amplitude_ua", "must start at 0"),
        ({"safety.max_amplitude_step_ua": 40}, "safety.max_amplitude_step_ua", "a ramp could not move"),
        ({"patient_max_default_ua": 1010}, "patient_max_default_ua", "not a clinical tonic amplitude"),
        ({"impedance.low_warning_below_ohm": 100}, "impedance.short_below_ohm", "must be ordered"),
        ({"waveforms": ["tonic", "high_frequency"]}, "hardware.burst_pulses", "only allowed when waveforms"),
        ({"waveforms": ["tonic", "sawtooth"]}, "waveforms", "unknown name 'sawtooth'"),
        ({"tiers.engineering.burst": DELETE, "tiers.clinical.burst": DELETE},
         "tiers.engineering.burst", "covers every allowed waveform"),
        ({"schema_version": 2}, "schema_version", "schema version 1, not 2"),
        ({"name": "Bench 16"}, "name", "lowercase"),
        ({"amplitude_increments": [{"from_ua": 100, "fine_ua": 25, "coarse_ua": 200}]},
         "amplitude_increments[0].from_ua", "must start at 0"),
    ],
)  # fmt: skip
def test_each_kind_of_error_names_key_and_reason(
    tmp_path: Path, changes: dict[str, Any], key: str, reason: str
) -> None:
    problems = problems_of(tmp_path, patched(changes))
    assert any(p.key == key and reason in p.reason for p in problems), problems


def test_name_must_match_the_file_name(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, sample_data(), name="other-name")
    assert [(p.key, "does not match the file name" in p.reason) for p in problems] == [("name", True)]


def test_all_problems_are_listed_not_just_the_first(tmp_path: Path) -> None:
    data = patched({
        "colour": "blue",
        "program_slots": "four",
        "hardware.compliance_mv": DELETE,
        "tiers.clinical.tonic.rate_dhz": {"min": 40, "max": 1000, "step": 70},
    })  # fmt: skip
    problems = problems_of(tmp_path, data)
    keys = {p.key for p in problems}
    assert {"colour", "program_slots", "hardware.compliance_mv", "tiers.clinical.tonic.rate_dhz.step"} <= keys
    message = str(ProfileError(problems))
    assert message.count(str(tmp_path)) == len(problems)


def test_tier_checks_report_every_offending_tier(tmp_path: Path) -> None:
    data = patched({
        "tiers.engineering.tonic.rate_dhz": {"min": 10, "max": 200_000, "step": 10},
        "tiers.clinical.tonic.rate_dhz": {"min": 40, "max": 120_000, "step": 20},
    })  # fmt: skip
    problems = problems_of(tmp_path, data)
    keys = sorted(p.key for p in problems if "above the hardware maximum 100000" in p.reason)
    assert keys == ["tiers.clinical.tonic.rate_dhz", "tiers.engineering.tonic.rate_dhz"]


def test_defaults_for_the_two_charge_density_levels(tmp_path: Path) -> None:
    data = patched({"safety.charge_density_warning_uc_per_cm2": DELETE, "safety.shannon_k": DELETE})
    profile = load_profile(write_profile(tmp_path, data))
    assert profile.safety.charge_density_warning_uc_per_cm2 == 30
    assert profile.safety.shannon_k == 1.85


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("safety.shannon_k", 5.0, ["5 is above 1.85", "tissue damage", "stricter, never looser"]),
        ("safety.shannon_k", 1.86, ["1.86 is above 1.85"]),
        ("safety.shannon_k", 0, ["positive number, got 0"]),
        ("safety.shannon_k", -1.0, ["positive number, got -1"]),
        ("safety.charge_density_warning_uc_per_cm2", 3000, ["3000 uC/cm2 is above 30 uC/cm2", "soft limit",
                                                            "never later"]),
        ("safety.charge_density_warning_uc_per_cm2", 30.5, ["30.5 uC/cm2 is above 30 uC/cm2"]),
        ("safety.charge_density_warning_uc_per_cm2", 0, ["positive number, got 0"]),
    ],
)  # fmt: skip
def test_a_profile_cannot_loosen_the_charge_density_limits(
    tmp_path: Path, key: str, value: float, words: list[str]
) -> None:
    problem = only_problem(tmp_path, {key: value})
    assert problem.key == key
    for word in words:
        assert word in problem.reason, problem


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("safety.shannon_k", 1.85),
        ("safety.shannon_k", 1.5),
        ("safety.charge_density_warning_uc_per_cm2", 30),
        ("safety.charge_density_warning_uc_per_cm2", 20),
    ],
)
def test_a_profile_may_make_the_charge_density_limits_stricter(tmp_path: Path, key: str, value: float) -> None:
    profile = load_profile(write_profile(tmp_path, patched({key: value})))
    assert getattr(profile.safety, key.removeprefix("safety.")) == value


def test_a_hardware_type_error_does_not_hide_the_tier_cross_checks(tmp_path: Path) -> None:
    data = patched({
        "hardware.compliance_mv": "lots",  # a type error in [hardware]
        "hardware.amplitude_ua": {"min": 0, "max": "big"},  # and in one of its ranges
        "tiers.engineering.tonic.rate_dhz": {"min": 10, "max": 200_000, "step": 10},
        "tiers.clinical.tonic.pulse_width_us": {"min": 40, "max": 1200, "step": 10},
        "safety.max_amplitude_step_ua": 40,
        "patient_max_default_ua": 1010,
    })  # fmt: skip
    problems = problems_of(tmp_path, data)
    found = {(p.key, next(w for w in ("expected", "above the hardware maximum", "wider than the engineering",
                                      "a ramp could not move", "not a clinical", "?") if w in p.reason))
             for p in problems}  # fmt: skip
    assert {
        ("hardware.compliance_mv", "expected"),
        ("hardware.amplitude_ua.max", "expected"),
        ("tiers.engineering.tonic.rate_dhz", "above the hardware maximum"),
        ("tiers.clinical.tonic.pulse_width_us", "above the hardware maximum"),
        ("tiers.clinical.tonic.pulse_width_us", "wider than the engineering"),
        ("safety.max_amplitude_step_ua", "a ramp could not move"),
        ("patient_max_default_ua", "not a clinical"),
    } <= found


def test_a_broken_tier_grid_does_not_hide_the_other_grids_cross_checks(tmp_path: Path) -> None:
    data = patched({
        "tiers.clinical.tonic.amplitude_ua": "lots",
        "tiers.clinical.tonic.rate_dhz": {"min": 40, "max": 120_000, "step": 20},
        "safety.shannon_k": 5.0,
    })  # fmt: skip
    problems = problems_of(tmp_path, data)
    assert any(p.key == "safety.shannon_k" for p in problems)
    assert any(p.key == "tiers.clinical.tonic.amplitude_ua" and "expected" in p.reason for p in problems)
    assert any(p.key == "tiers.clinical.tonic.rate_dhz" and "above the hardware maximum" in p.reason
               for p in problems)  # fmt: skip


def test_the_fixed_high_frequency_values_are_reported_once(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, patched({"high_frequency.pulse_width_us": 10}))
    assert [p.key for p in problems] == ["high_frequency.pulse_width_us"]


def test_per_contact_areas(tmp_path: Path) -> None:
    areas = [12.0] * 8 + [6.0] * 8
    profile = load_profile(write_profile(tmp_path, patched({"contacts.area_mm2": areas})))
    assert profile.contacts.areas_mm2 == tuple(areas)
    assert profile.contacts.lead_of(8) == 2


def test_grid_arithmetic() -> None:
    grid = Grid((Segment(0, 2000, 25), Segment(2000, 6000, 50)))
    assert 1975 in grid and 2050 in grid and 2025 not in grid and 6050 not in grid and -25 not in grid
    assert grid.floor(2049) == 2000 and grid.ceil(2001) == 2050
    assert grid.floor(-1) is None and grid.ceil(6001) is None
    assert grid.step_at(1000) == 25 and grid.step_at(3000) == 50
    assert len(grid.values()) == 81 + 80
    assert Grid.fixed(30).values() == [30]

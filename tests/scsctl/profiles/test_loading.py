"""The shipped profiles, and finding profiles by name, by model id, in user folders."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest

from firmware_protocol.constants import Waveform
from scsctl.errors import ProfileError, ProfileMismatch
from scsctl.profiles import (
    PROFILE_PATH_ENV,
    ensure_model_matches,
    get_profile,
    list_profiles,
    profile_dirs,
    profile_for_model,
    shipped_profile_dir,
)

from .sample import NAME, patched, sample_data, write_profile

REPO = Path(__file__).resolve().parents[3]
NO_ENV: dict[str, str] = {}


def test_the_three_team_models_ship_with_their_ids() -> None:
    profiles = {p.name: p for p in list_profiles(env=NO_ENV)}
    assert set(profiles) >= {"tonic-burst-16", "drg-4x4", "hf10k-16"}
    expected = {  # name: (model id, leads, contacts per lead, slots, waveforms)
        "tonic-burst-16": (0x5101, 2, 8, 4, (Waveform.TONIC, Waveform.BURST)),
        "drg-4x4": (0x5102, 4, 4, 4, (Waveform.TONIC,)),
        "hf10k-16": (0x5103, 2, 8, 4, (Waveform.TONIC, Waveform.HIGH_FREQUENCY)),
    }
    for name, (model_id, leads, per_lead, slots, waveforms) in expected.items():
        p = profiles[name]
        assert (p.model_id, p.contacts.leads, p.contacts.contacts_per_lead, p.program_slots, p.waveforms) == (
            model_id, leads, per_lead, slots, waveforms)  # fmt: skip
        assert (p.usb.vid, p.usb.pid) == (0x1209, model_id)
        assert p.contacts.count == 16
        assert "representative" in p.description and "not a vendor specification" in p.description
        assert p.safety.shannon_k == 1.85 and p.safety.charge_density_warning_uc_per_cm2 == 30


def test_drg_profile_has_the_manuals_uneven_amplitude_steps() -> None:
    drg = get_profile("drg-4x4", env=NO_ENV)
    tonic = drg.clinical.for_waveform(Waveform.TONIC)
    assert tonic is not None
    assert [(s.min, s.max, s.step) for s in tonic.amplitude_ua.segments] == [(0, 2000, 25), (2000, 6000, 50)]
    assert (tonic.pulse_width_us.min, tonic.pulse_width_us.max, tonic.pulse_width_us.step_at(40)) == (40, 720, 10)
    assert (tonic.rate_dhz.min, tonic.rate_dhz.max, tonic.rate_dhz.step_at(40)) == (40, 1000, 20)
    assert [(i.from_ua, i.fine_ua, i.coarse_ua) for i in drg.amplitude_increments] == [(0, 25, 200), (2000, 50, 400)]
    assert drg.impedance.required_before_start


def test_high_frequency_is_fixed_at_30_us_and_10_khz() -> None:
    hf = get_profile("hf10k-16", env=NO_ENV)
    for tier in (hf.clinical, hf.engineering):
        limits = tier.for_waveform(Waveform.HIGH_FREQUENCY)
        assert limits is not None
        assert limits.pulse_width_us.values() == [30]
        assert limits.rate_dhz.values() == [100_000]


def test_shipped_folder_is_where_the_wheel_puts_it() -> None:
    # Source checkout: the repository's device_profiles/. The wheel copies that folder to
    # scsctl/device_profiles, which the loader tries first.
    assert shipped_profile_dir() == REPO / "device_profiles"
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    force_include = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    assert force_include["device_profiles"] == "scsctl/device_profiles"


def test_profile_for_model_and_mismatch() -> None:
    assert profile_for_model(0x5102, env=NO_ENV).name == "drg-4x4"
    with pytest.raises(ProfileError, match="no profile for device model 0x5999"):
        profile_for_model(0x5999, env=NO_ENV)
    tonic = get_profile("tonic-burst-16", env=NO_ENV)
    ensure_model_matches(tonic, 0x5101)
    with pytest.raises(ProfileMismatch, match="reports model 0x5102 but profile 'tonic-burst-16' is for model 0x5101"):
        ensure_model_matches(tonic, 0x5102)


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(ProfileError, match=r"no profile with this name \(known: .*drg-4x4"):
        get_profile("drg-9x9", env=NO_ENV)


def test_user_folders_from_option_and_environment(tmp_path: Path) -> None:
    option_dir, env_dir = tmp_path / "opt", tmp_path / "env"
    option_dir.mkdir()
    env_dir.mkdir()
    write_profile(option_dir, sample_data())
    write_profile(env_dir, patched({"name": "lab-16", "model_id": 0x7002}))
    env = {PROFILE_PATH_ENV: os.pathsep.join([str(env_dir), ""])}
    dirs = profile_dirs([option_dir], env=env)
    assert dirs[:2] == [option_dir, env_dir]
    assert get_profile(NAME, [option_dir], env=env).model_id == 0x7001
    assert get_profile("lab-16", [option_dir], env=env).model_id == 0x7002
    assert profile_for_model(0x7002, [option_dir], env=env).name == "lab-16"
    assert {"tonic-burst-16", NAME, "lab-16"} <= {p.name for p in list_profiles([option_dir], env=env)}


def test_a_profile_file_can_be_named_directly(tmp_path: Path) -> None:
    path = write_profile(tmp_path, sample_data())
    assert get_profile(str(path), env=NO_ENV).name == NAME
    with pytest.raises(ProfileError, match="no such profile file"):
        get_profile(str(tmp_path / "nothing.toml"), env=NO_ENV)


def test_missing_user_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match=r"no such folder \(given by --profile-path\)"):
        profile_dirs([tmp_path / "typo"], env=NO_ENV)
    with pytest.raises(ProfileError, match=f"given by {PROFILE_PATH_ENV}"):
        profile_dirs([], env={PROFILE_PATH_ENV: str(tmp_path / "typo")})


def test_same_name_twice_is_an_error_not_an_override(tmp_path: Path) -> None:
    mine = write_profile(tmp_path, patched({"name": "drg-4x4"}))
    attempts = (lambda: get_profile("drg-4x4", [tmp_path], env=NO_ENV), lambda: list_profiles([tmp_path], env=NO_ENV))
    for attempt in attempts:
        with pytest.raises(ProfileError) as err:
            attempt()
        (problem,) = [p for p in err.value.problems if p.key == "name"]
        assert problem.file == str(mine)  # the user's file is the one to rename, not the shipped one
        assert "is also the name of the profile shipped with scsctl (" in problem.reason
        assert "give this file another name" in problem.reason


def test_list_reports_problems_of_every_broken_file(tmp_path: Path) -> None:
    write_profile(tmp_path, patched({"colour": "blue"}))
    write_profile(tmp_path, patched({"name": "other-16", "cycling": "yes"}))
    with pytest.raises(ProfileError) as info:
        list_profiles([tmp_path], env=NO_ENV)
    assert {Path(p.file).name for p in info.value.problems} == {f"{NAME}.toml", "other-16.toml"}


def test_several_profiles_for_one_model_must_be_named(tmp_path: Path) -> None:
    write_profile(tmp_path, patched({"name": "drg-lab", "model_id": 0x5102}))
    with pytest.raises(ProfileError, match=r"several profiles for device model 0x5102 \(drg-lab, drg-4x4\)"):
        profile_for_model(0x5102, [tmp_path], env=NO_ENV)

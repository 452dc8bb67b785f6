"""``scsctl profiles list|show|check``: what a user sees, and the exit status."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scsctl.cli.main import main
from scsctl.profiles import PROFILE_PATH_ENV

from .sample import NAME, patched, sample_data, write_profile


@pytest.fixture(autouse=True)
def _no_user_profiles(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PROFILE_PATH_ENV, raising=False)


def test_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profiles", "list"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["NAME", "MODEL", "ID", "DESCRIPTION"]
    for name, model_id in (("tonic-burst-16", "0x5101"), ("drg-4x4", "0x5102"), ("hf10k-16", "0x5103")):
        line = next(line for line in out.splitlines() if line.startswith(name + " "))
        assert model_id in line and "representative" in line


def test_list_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profiles", "list", "--json"]) == 0
    listed = {p["name"]: p for p in json.loads(capsys.readouterr().out)}
    assert listed["drg-4x4"]["model_id"] == 0x5102
    assert listed["drg-4x4"]["source"].endswith("drg-4x4.toml")


def test_show_prints_every_limit_with_units(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profiles", "show", "drg-4x4"]) == 0
    out = capsys.readouterr().out
    for text in (
        "0x5102",
        "16 = 4 leads x 4",
        "0.0 mA to 2.0 mA in steps of 0.025 mA",
        "2.0 mA to 6.0 mA in steps of 0.05 mA",
        "40 us to 720 us in steps of 10 us",
        "4 Hz to 100 Hz in steps of 2 Hz",
        "4.32 uC per contact",
        "30 uC/cm2",
        "Shannon k = 1.85",
        "0.2 mA at most; larger changes ramp at 0.5 mA/s",
        "12.0 V",
        "short",
        "below 150 ohm",
        "yes, measured within 1800 s",
        "fine 0.025 mA, coarse 0.2 mA",
    ):
        assert text in out, text


def test_show_high_frequency_and_burst(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profiles", "show", "hf10k-16"]) == 0
    assert "30 us (fixed)" in capsys.readouterr().out
    assert main(["profiles", "show", "tonic-burst-16"]) == 0
    out = capsys.readouterr().out
    assert "pulses per burst" in out and "rate inside a burst" in out


def test_show_json_uses_the_file_keys(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profiles", "show", "drg-4x4", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["tiers"]["clinical"]["tonic"]["amplitude_ua"] == [
        {"min": 0, "max": 2000, "step": 25}, {"min": 2000, "max": 6000, "step": 50}]  # fmt: skip
    assert data["safety"]["shannon_k"] == 1.85
    assert data["impedance"]["required_before_start"] is True


def test_show_unknown_profile_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profiles", "show", "nope"]) == 2
    assert "no profile with this name" in capsys.readouterr().err


def test_profile_path_option_and_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_profile(tmp_path, sample_data())
    assert main(["profiles", "list", "--profile-path", str(tmp_path)]) == 0
    assert NAME in capsys.readouterr().out
    monkeypatch.setenv(PROFILE_PATH_ENV, str(tmp_path))
    assert main(["profiles", "show", NAME]) == 0
    assert "test bench profile" in capsys.readouterr().out


def test_check_good_files(capsys: pytest.CaptureFixture[str]) -> None:
    shipped = sorted(str(p) for p in (Path(__file__).resolve().parents[3] / "device_profiles").glob("*.toml"))
    assert main(["profiles", "check", *shipped]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == len(shipped)
    assert all(": ok" in line for line in out)


def test_check_lists_every_error_of_every_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write_profile(tmp_path, sample_data())
    bad_dir = tmp_path / "bad"
    bad_dir.mkdir()
    bad = write_profile(bad_dir, patched({"colour": "blue", "program_slots": 0}))
    garbled = tmp_path / "garbled.toml"
    garbled.write_text("name = \n", encoding="utf-8")
    assert main(["profiles", "check", str(good), str(bad), str(garbled)]) == 2
    captured = capsys.readouterr()
    assert f"{good}: ok" in captured.out
    assert f"{bad}: colour: unknown key" in captured.err
    assert f"{bad}: program_slots: must be at least 1, got 0" in captured.err
    assert f"{garbled}: not valid TOML" in captured.err and "line 1" in captured.err
    assert "2 of 3 profile file(s) invalid" in captured.err


def test_check_refuses_a_profile_that_loosens_the_shannon_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    loose = write_profile(
        tmp_path, patched({"safety.shannon_k": 5.0, "safety.charge_density_warning_uc_per_cm2": 3000})
    )
    assert main(["profiles", "check", str(loose)]) == 2
    err = capsys.readouterr().err
    assert f"{loose}: safety.shannon_k: 5 is above 1.85: tissue damage was seen at k >= 1.85" in err
    assert f"{loose}: safety.charge_density_warning_uc_per_cm2: 3000 uC/cm2 is above 30 uC/cm2" in err

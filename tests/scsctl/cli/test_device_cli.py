"""The CLI against ``scsctl emulator --pty`` in another process: what a script or a new user sees."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scsctl.cli.main import main


@pytest.fixture
def run(pty_emulator: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    def invoke(*argv: str) -> tuple[int, str, str]:
        code = main([*argv, "--port", pty_emulator, "--data-dir", str(tmp_path), "--operator", "cli-test"])
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


def test_info_json_names_model_serial_firmware_protocol_and_contacts(run) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run("info", "--json")
    info = json.loads(out)
    assert code == 0
    assert info["model"] == "tonic-burst-16"
    assert info["serial"].startswith("EMU")
    assert {"firmware", "protocol_version", "contacts"} <= set(info)


def test_program_start_adjust_commit_stop_and_the_log_shows_every_step(run, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert run("stop")[0] == 0
    assert run("impedance")[0] == 0
    code, out, err = run(
        "program",
        "--slot",
        "1",
        "--electrodes",
        "1+ 2-",
        "--amplitude",
        "0mA",
        "--pulse-width",
        "300us",
        "--rate",
        "50Hz",
        "--ramp",
        "0.5s",
        "--patient-max",
        "6mA",
    )
    assert code == 0, err
    assert "written and read back: slot 1: 1+ 2-  0.0 mA  300 us  50 Hz" in out
    code, out, err = run("start", "--slot", "1")
    assert code == 0, err
    assert "keeps running after this command exits" in out
    code, out, err = run("amplitude", "1mA", "--commit", "--json")
    assert code == 0, err
    status = json.loads(out)
    assert status["setpoint_ua"] == 1000
    assert status["active_slot"] == 1
    code, out, _ = run("status", "--json")
    assert json.loads(out)["state"] == "stimulating"
    assert run("stop")[0] == 0
    code, out, _ = run("status", "--json")
    assert json.loads(out)["amplitude_ua"] == 0

    assert main(["log", "show", "--data-dir", str(tmp_path)]) == 0
    log = capsys.readouterr().out
    for step in ("SET_PROGRAM", "START", "SET_AMPLITUDE", "STOP", "MEASURE_IMPEDANCE"):
        assert step in log
    assert "cli-test/technician" in log


def test_a_refusal_names_the_limit_and_exits_3(run) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run("program", "--slot", "0", "--electrodes", "1+ 2-", "--pulse-width", "900us", "--rate", "50Hz")
    assert code == 3
    assert "pulse width 900 us is above the clinical tier's maximum of 500 us" in err


def test_bad_values_are_usage_errors_naming_the_value(run) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run("amplitude", "3.5")
    assert code == 2
    assert "amplitude '3.5' needs a unit" in err


def test_a_missing_port_says_how_to_list_ports(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code = main(["info", "--port", "/dev/does-not-exist", "--data-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 5
    assert "/dev/does-not-exist" in err
    assert "scsctl ports" in err


def test_no_port_at_all_is_a_usage_error(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SCSCTL_PORT", raising=False)
    assert main(["status"]) == 2
    assert "no device given: use --port URL" in capsys.readouterr().err

"""What the review found: STOP that nothing can hold back, and sessions that end as they say."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from scsctl.audit import DB_NAME
from scsctl.cli.main import main


@pytest.fixture
def run(pty_emulator: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    def invoke(*argv: str) -> tuple[int, str, str]:
        code = main([*argv, "--port", pty_emulator, "--data-dir", str(tmp_path)])
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


def stimulate(run) -> None:  # type: ignore[no-untyped-def]
    assert run("stop")[0] == 0
    assert run("impedance")[0] == 0
    code, _, err = run("program", "--slot", "3", "--electrodes", "5+ 6-", "--pulse-width", "200us", "--rate", "40Hz")
    assert code == 0, err
    assert run("start", "--slot", "3")[0] == 0
    code, _, err = run("amplitude", "1mA", "--commit")
    assert code == 0, err


def status(run) -> dict[str, object]:  # type: ignore[no-untyped-def]
    code, out, err = run("status", "--json")
    assert code == 0, err
    result: dict[str, object] = json.loads(out)
    return result


def run_here(*argv: str) -> tuple[int, str, str]:
    done = subprocess.run([sys.executable, "-m", "scsctl.cli.main", *argv], capture_output=True, text=True, timeout=60)
    return done.returncode, done.stdout, done.stderr


def test_stop_goes_out_when_the_audit_log_is_locked_and_its_record_waits_in_a_journal(  # type: ignore[no-untyped-def]
    run, tmp_path: Path
) -> None:
    stimulate(run)
    blocker = sqlite3.connect(tmp_path / DB_NAME, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        code, out, err = run("stop")
    finally:
        blocker.execute("ROLLBACK")
    assert code == 0, err
    assert "confirmed by the device" in out
    assert status(run)["amplitude_ua"] == 0  # and this command's first record merged the journal
    code, out, _ = run_here("log", "show", "--json", "--data-dir", str(tmp_path))
    stops = [r for r in json.loads(out) if r["kind"] == "command" and r["name"] == "STOP"]
    assert stops and stops[-1]["id"] > 0 and "pending_journal" in stops[-1]["detail"]


def test_stop_goes_out_when_the_log_is_locked_and_no_journal_can_be_kept_and_says_it_is_not_recorded(  # type: ignore[no-untyped-def]
    run, tmp_path: Path
) -> None:
    stimulate(run)
    (tmp_path / f"{DB_NAME}.pending").write_text("a file where the journal's folder would go")
    blocker = sqlite3.connect(tmp_path / DB_NAME, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        code, _, err = run("stop")
    finally:
        blocker.execute("ROLLBACK")
    assert code == 6
    assert "STOP was carried out and confirmed by the device, but it is NOT recorded" in err
    assert "pending journal cannot take the record either" in err
    assert status(run)["amplitude_ua"] == 0


def test_stop_goes_out_whatever_profile_is_named(run) -> None:  # type: ignore[no-untyped-def]
    stimulate(run)
    code, out, err = run("stop", "--profile", "drg-4x4")
    assert code == 0, err
    assert "confirmed by the device" in out
    assert status(run)["state"] == "programmed"


def test_a_tentative_change_ends_with_its_command_and_leaves_no_watchdog_fault(run) -> None:  # type: ignore[no-untyped-def]
    stimulate(run)
    code, out, _ = run("amplitude", "1.5mA")
    assert code == 0
    assert "goes back to the committed amplitude when this command ends" in out
    now = status(run)
    assert (now["setpoint_ua"], now["tentative"], now["faults"]) == (1000, False, [])
    code, _, err = run("commit")
    assert code == 2
    assert "nothing to commit" in err
    code, out, _ = run("usage", "--json")
    assert "watchdog_expired" not in {e["code"] for e in json.loads(out)["events"]}
    run("stop")


def test_the_profiles_patient_maximum_is_the_default_and_says_so(run) -> None:  # type: ignore[no-untyped-def]
    run("stop")
    code, out, err = run("program", "--slot", "2", "--electrodes", "1+ 2-", "--pulse-width", "300us", "--rate", "50Hz")
    assert code == 0, err
    assert "patient maximum 5.0 mA: the profile's default" in out


def test_a_typo_changes_nothing_and_opens_no_port(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    argv = ["program", "--slot", "0", "--electrodes", "1+ 2-", "--pulse-width", "300uss", "--rate", "50Hz"]
    assert main([*argv, "--port", "/dev/not-a-port", "--data-dir", str(tmp_path)]) == 2
    assert "unknown unit 'uss'" in capsys.readouterr().err
    assert not (tmp_path / DB_NAME).exists()


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["info", "--port", "http://example"], 2, "unknown kind of port"),
        (["info", "--port", "emu://no-such-model"], 2, "no emulated model 'no-such-model'"),
        (["status", "--port", "emu://", "--capture", "/dev/full"], 2, "cannot write capture file /dev/full"),
    ],
)
def test_bad_ports_and_files_are_usage_errors(
    argv: list[str], code: int, message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main([*argv, "--data-dir", str(tmp_path)]) == code
    assert message in capsys.readouterr().err

"""The issue's cases from the command line: who may use which limits, and a log nobody can quietly change.

The command line always reads the site policy at its fixed place. These tests move that place
(``scsctl.trust.POLICY_PATH``, with the test's own user as its administrator) to a policy file
they write, so they run as any user; ``test_os_users.py`` does the same with real OS users and the
real default policy when the tests run as root.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from scsctl import trust
from scsctl.audit import DB_NAME, AuditLog, AuditRecord
from scsctl.cli.main import main

from ..test_trust import widened_copy

Run = Callable[..., tuple[int, str, str]]
ME = trust.OsUser.current().name


@pytest.fixture
def site_policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[list[str]], Path]:
    """``site_policy(["ana"])`` writes the site policy naming these engineers and makes it the one in force."""
    folder = tmp_path / "etc-scsctl"
    folder.mkdir(mode=0o755)
    path = folder / "policy.toml"
    monkeypatch.setattr(trust, "POLICY_PATH", path)
    monkeypatch.setattr(trust, "ADMIN_UID", os.getuid())

    def write(users: list[str]) -> Path:
        path.write_text(f"engineer_users = {json.dumps(users)}\nengineer_groups = []\n", encoding="utf-8")
        path.chmod(0o644)
        return path

    return write


@pytest.fixture
def run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Run:
    data = tmp_path / "data"

    def invoke(*argv: str) -> tuple[int, str, str]:
        code = main([*argv, "--data-dir", str(data)])
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


def records(tmp_path: Path) -> list[AuditRecord]:
    path = tmp_path / "data" / DB_NAME
    if not path.exists():
        return []
    with AuditLog(path, read_only=True) as log:
        return log.query()


PROGRAM_12MA = ("program", "--slot", "0", "--electrodes", "6+ 7-", "--pulse-width", "200us", "--rate", "50Hz",
                "--patient-max", "12mA")  # fmt: skip


# --- profiles ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("by", ["name", "file"])
def test_a_widened_copy_of_a_shipped_profile_is_refused_for_a_technician(
    by: str, tmp_path: Path, run: Run, site_policy: Callable[[list[str]], Path]
) -> None:
    policy = site_policy([])
    lab = tmp_path / "lab"
    lab.mkdir()
    wide = widened_copy(lab)
    chosen = ["--profile", "tonic-wide", "--profile-path", str(lab)] if by == "name" else ["--profile", str(wide)]
    capture = tmp_path / "wire.jsonl"
    code, out, err = run(*PROGRAM_12MA, "--port", "emu://tonic-burst-16", *chosen, "--capture", str(capture))
    assert code == 3, err
    assert f"profile tonic-wide comes from {wide} (a user's own file, sha256 " in err
    assert "its clinical tier is not trusted, so it is for the engineer role only" in err
    assert f"(site policy {policy})" in err
    assert "Nothing was sent" in err and out == ""
    assert not capture.exists()  # refused before the port was opened
    (refusal,) = records(tmp_path)
    assert (refusal.kind, refusal.name, refusal.role) == ("refusal", "connect", "technician")
    assert refusal.detail["profile_sha256"] == hashlib.sha256(wide.read_bytes()).hexdigest()
    assert refusal.detail["value"] == f"user:{wide}"


def test_an_engineer_the_policy_names_may_use_it_and_every_record_names_its_hash(
    tmp_path: Path, run: Run, site_policy: Callable[[list[str]], Path]
) -> None:
    site_policy([ME])
    wide = widened_copy(tmp_path)
    digest = hashlib.sha256(wide.read_bytes()).hexdigest()
    code, out, err = run(*PROGRAM_12MA, "--port", "emu://tonic-burst-16", "--profile", str(wide), "--role", "engineer")
    assert code == 0, err
    assert "patient max 12.0 mA" in out
    written = records(tmp_path)
    assert {r.role for r in written} == {"engineer"}
    connect, identify, *rest = written
    assert connect.detail["policy"] == f"site policy {trust.POLICY_PATH}"
    assert connect.detail["os_user"] == ME
    assert "SET_PROGRAM" in [r.name for r in rest]
    for record in (identify, *rest):
        assert (record.profile, record.profile_sha256, record.profile_origin) == (
            "tonic-wide", digest, f"user:{wide}"
        )
    code, out, _ = run("log", "show")
    assert f"os user {ME}  profile tonic-wide sha256 {digest[:16]} (user:{wide})" in out
    assert run("log", "verify")[0] == 0


def test_profiles_show_and_check_say_which_limits_a_technician_may_use(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wide = widened_copy(tmp_path)
    digest = hashlib.sha256(wide.read_bytes()).hexdigest()
    assert main(["profiles", "show", str(wide)]) == 0
    out = capsys.readouterr().out
    assert f"sha256  {digest}" in out
    assert f"origin  a user's own file ({wide}): for the engineer role only" in out
    assert main(["profiles", "check", str(wide)]) == 0
    out = capsys.readouterr().out
    assert f"{wide}: ok (tonic-wide, model 0x5101, sha256 {digest}); a user's own file" in out
    assert (f"{wide}: wider than the trusted profile tonic-burst-16: clinical tonic amplitude up to 25.5 mA "
            "(tonic-burst-16: 8.5 mA)") in out  # fmt: skip
    assert main(["profiles", "show", "tonic-burst-16", "--json"]) == 0
    provenance = json.loads(capsys.readouterr().out)["provenance"]
    assert (provenance["origin"], provenance["trusted"]) == ("shipped", True)


# --- roles -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("option", ["--role", "--ro"])
def test_the_engineer_role_for_a_user_the_policy_does_not_name_is_refused_and_nothing_is_sent(
    option: str, tmp_path: Path, run: Run, site_policy: Callable[[list[str]], Path]
) -> None:
    policy = site_policy(["somebody-else"])
    capture = tmp_path / "wire.jsonl"
    code, out, err = run("info", "--port", "emu://", option, "engineer", "--capture", str(capture))
    assert code == 3
    assert f"the engineer role is not granted to the OS user '{ME}'" in err
    assert f"the engineer role is for the user somebody-else (site policy {policy})" in err
    assert out == "" and not capture.exists()
    (refusal,) = records(tmp_path)
    assert (refusal.kind, refusal.role, refusal.detail["role_requested"]) == (
        "refusal", "technician", "engineer"
    )


def test_a_policy_file_others_can_write_grants_nobody_and_says_so(
    run: Run, site_policy: Callable[[list[str]], Path]
) -> None:
    site_policy([ME]).chmod(0o666)
    code, _, err = run("info", "--port", "emu://", "--role", "engineer")
    assert code == 3
    assert "the engineer role is granted to nobody" in err
    assert "is writable by its group and others (mode 666)" in err


def test_stop_is_never_refused_and_records_the_role_the_policy_grants(
    tmp_path: Path, run: Run, site_policy: Callable[[list[str]], Path]
) -> None:
    site_policy([])
    code, out, err = run("stop", "--port", "emu://", "--role", "engineer")
    assert code == 0, err
    assert "stopped" in out
    (stop,) = records(tmp_path)
    assert (stop.name, stop.role) == ("STOP", "technician")


# --- names and numbers -----------------------------------------------------------------------------------


def test_an_operator_with_a_newline_is_refused_and_nothing_is_recorded(tmp_path: Path, run: Run) -> None:
    with pytest.raises(SystemExit) as exit_:
        run("info", "--port", "emu://", "--operator", "ana\nroot/engineer  FAKE")
    assert exit_.value.code == 2
    with pytest.raises(SystemExit) as exit_:
        run("info", "--port", "emu://", "--operator", "x" * 100_000)
    assert exit_.value.code == 2
    assert records(tmp_path) == []


def test_the_operator_refusal_is_clear(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name, message in (("ana\nroot/engineer  FAKE", "holds characters that are not printable (\\n)"),
                          ("x" * 100_000, "is 100000 characters long: at most 64 are allowed")):  # fmt: skip
        with pytest.raises(SystemExit):
            main(["info", "--port", "emu://", "--data-dir", str(tmp_path), "--operator", name])
        err = capsys.readouterr().err
        assert message in err and "nothing was done or recorded" in err
        assert len(err) < 2000
        assert err.splitlines()[-1].startswith("scsctl info: error: argument --operator: operator name")
    assert not (tmp_path / DB_NAME).exists()


def test_the_operator_defaults_to_the_os_user(tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCSCTL_OPERATOR", "someone-else")
    monkeypatch.setenv("USER", "someone-else")
    assert run("info", "--port", "emu://")[0] == 0
    assert {(r.operator, r.os_user) for r in records(tmp_path)} == {(ME, ME)}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("amplitude", "３mA"), "uses digits other than 0-9 (３ (U+FF13))"),
        ((*PROGRAM_12MA[:4], "١+ ٢-", *PROGRAM_12MA[5:]), "uses digits other than 0-9 (١ (U+0661), ٢ (U+0662))"),
        (("select", "--slot", "２"), "--slot '２' uses digits other than 0-9"),
        (("select", "--slot", "-1"), "--slot -1 cannot be negative"),
        (("amplitude", "-1mA"), "amplitude '-1mA' cannot be negative"),  # a value, not an unknown option
        (("amplitude", "-.5mA"), "amplitude '-.5mA' cannot be negative"),
    ],
)
def test_numbers_in_other_digits_are_refused_before_anything_is_sent(
    argv: tuple[str, ...], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capture = tmp_path / "wire.jsonl"
    try:
        code = main([*argv, "--port", "emu://", "--data-dir", str(tmp_path), "--capture", str(capture)])
    except SystemExit as exit_:  # argparse's own refusal of an option's value
        code = int(str(exit_.code))
    assert code == 2
    assert message in capsys.readouterr().err
    assert not capture.exists()


def test_a_contact_the_device_does_not_have_is_named_with_its_contacts(run: Run) -> None:
    argv = list(PROGRAM_12MA)
    argv[4] = "0+ 1-"
    code, _, err = run(*argv[:-2], "--port", "emu://tonic-burst-16")
    assert code == 2
    assert "electrodes: contact 0 does not exist (this device has contacts 1 to 16)" in err


# --- the audit log ------------------------------------------------------------------------------------


def test_log_show_refuses_a_negative_limit(run: Run) -> None:
    assert run("info", "--port", "emu://")[0] == 0
    for limit in ("--limit=-5", "--limit=５"):
        with pytest.raises(SystemExit) as exit_:
            run("log", "show", limit)
        assert exit_.value.code == 2
    code, out, _ = run("log", "show", "--limit", "1")
    assert code == 0 and len(out.strip().splitlines()) == 2  # the session's heading and one record


def test_log_show_prints_every_record_on_one_line(tmp_path: Path, run: Run) -> None:
    with AuditLog.in_dir(tmp_path / "data", operator="ana") as log:
        log.device_serial = "SN1\n2026-01-01T00:00:00.000  root/engineer  SN1  command START"
        log.record("event", "EVENT\x1b[2J", {"error": "line\nbreak"})
    code, out, _ = run("log", "show")
    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) == 2  # the heading and the record
    assert "SN1\\n2026-01-01T00:00:00.000  root/engineer" in lines[1]
    assert "EVENT\\x1b[2J" in lines[1] and "error=line\\nbreak" in lines[1]


def _edit_with_sqlite3(path: Path, statement: str) -> None:
    if shutil.which("sqlite3"):
        subprocess.run(["sqlite3", str(path), statement], check=True)
    else:  # the same edit through Python's sqlite3 module
        db = sqlite3.connect(path, isolation_level=None)
        db.execute(statement)
        db.close()


def test_log_verify_passes_an_untouched_log_and_names_an_edited_row(tmp_path: Path, run: Run) -> None:
    for _ in range(2):
        assert run("info", "--port", "emu://")[0] == 0
    code, out, err = run("log", "verify")
    assert code == 0, err
    assert "6 records, chain intact (records 1 to 6)" in out  # connect, IDENTIFY, disconnect, twice
    head = next(line.removeprefix("head: ") for line in out.splitlines() if line.startswith("head: "))
    assert run("log", "verify", "--anchor", head)[0] == 0
    code, out, _ = run("log", "verify", "--json")
    assert json.loads(out)["intact"] is True

    _edit_with_sqlite3(tmp_path / "data" / DB_NAME, "UPDATE audit SET role = 'engineer' WHERE id = 3")
    code, out, err = run("log", "verify")
    assert code == 8
    assert "record 3 was changed after it was written: its content no longer matches its hash" in err
    assert str(tmp_path / "data" / DB_NAME) in err

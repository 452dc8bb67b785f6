"""The audit log keeps what it reported, and says clearly when it cannot."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from scsctl.audit import DB_NAME, AuditLog, export, parse_since
from scsctl.errors import AuditError, UsageError


def test_a_record_is_committed_before_record_returns(tmp_path: Path) -> None:
    log = AuditLog.in_dir(tmp_path, operator="ana", role="technician")
    log.device_serial = "SN-1"
    rid = log.record("command", "SET_AMPLITUDE", {"before_ua": 1000, "after_ua": 1500})
    # Another connection (another process would do the same) sees it at once.
    other = sqlite3.connect(tmp_path / DB_NAME)
    row = other.execute("SELECT operator, role, device_serial, kind, name, detail FROM audit WHERE id=?", (rid,))
    assert row.fetchone() == (
        "ana",
        "technician",
        "SN-1",
        "command",
        "SET_AMPLITUDE",
        '{"after_ua": 1500, "before_ua": 1000}',
    )


def test_killing_the_process_loses_nothing_it_reported(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import os, sys
        from scsctl.audit import AuditLog
        log = AuditLog.in_dir({str(tmp_path)!r}, operator="rig")
        for i in range(50):
            rid = log.record("action", "step", {{"i": i}})
            print(rid, flush=True)
        os.kill(os.getpid(), 9)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    reported = [int(x) for x in proc.stdout.split()]
    assert proc.returncode == -9
    assert len(reported) == 50
    kept = {r.id for r in AuditLog.in_dir(tmp_path).query()}
    assert set(reported) <= kept


def test_query_filters_by_device_and_time_and_keeps_order(tmp_path: Path) -> None:
    log = AuditLog.in_dir(tmp_path)
    for serial in ["A", "B", "A"]:
        log.device_serial = serial
        log.record("event", f"from {serial}")
    assert [r.name for r in log.query(device="A")] == ["from A", "from A"]
    assert log.query(since=datetime.now(UTC) + timedelta(minutes=1)) == []
    assert [r.device_serial for r in log.query(limit=2)] == ["B", "A"]


def test_a_locked_database_is_an_error_naming_the_file(tmp_path: Path) -> None:
    log = AuditLog.in_dir(tmp_path)
    blocker = sqlite3.connect(tmp_path / DB_NAME, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(AuditError) as err:
            log.record("action", "start")
    finally:
        blocker.execute("ROLLBACK")
    assert str(tmp_path / DB_NAME) in str(err.value)
    assert "locked" in str(err.value)
    assert "another program holds it locked" in str(err.value)


def test_a_corrupt_database_is_an_error_saying_what_to_do(tmp_path: Path) -> None:
    (tmp_path / DB_NAME).write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(AuditError, match="damaged; move it aside"):
        AuditLog.in_dir(tmp_path)


def test_export_as_csv_and_json(tmp_path: Path) -> None:
    log = AuditLog.in_dir(tmp_path, operator="ana")
    log.record("refusal", "amplitude", {"limit_ua": 6000, "value_ua": 7000})
    records = log.query()
    rows = list(csv.DictReader(io.StringIO(export(records, "csv"))))
    assert rows[0]["kind"] == "refusal"
    assert json.loads(rows[0]["detail"]) == {"limit_ua": 6000, "value_ua": 7000}
    assert json.loads(export(records, "json"))[0]["operator"] == "ana"
    with pytest.raises(UsageError, match="csv or json"):
        export(records, "xml")


def test_since_accepts_dates_and_ages_and_names_bad_input() -> None:
    assert parse_since("2026-11-21") == datetime(2026, 11, 21, tzinfo=UTC)
    assert datetime.now(UTC) - parse_since("2h") > timedelta(hours=1, minutes=59)
    with pytest.raises(UsageError, match="'yesterday'"):
        parse_since("yesterday")


def test_a_read_only_database_is_an_error_saying_so(tmp_path: Path) -> None:
    log = AuditLog.in_dir(tmp_path)
    # File permissions do not stop root; SQLite's query_only gives the same read-only refusal.
    log._db.execute("PRAGMA query_only = ON")
    with pytest.raises(AuditError, match=r"it is read-only; choose a writable --data-dir\."):
        log.record("action", "start")


def test_reading_the_log_needs_no_write_access(tmp_path: Path) -> None:
    with AuditLog.in_dir(tmp_path, operator="ana") as log:
        log.record("action", "start")
    with AuditLog(tmp_path / DB_NAME, read_only=True) as reader:
        assert [r.name for r in reader.query()] == ["start"]
        with pytest.raises(AuditError, match="read-only"):
            reader.record("action", "sneaky")

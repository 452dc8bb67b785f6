"""The audit log keeps what it reported, and says clearly when it cannot."""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from scsctl.audit import DB_NAME, GENESIS_HASH, AuditLog, ChainReport, export, parse_since
from scsctl.errors import AuditChainBroken, AuditError, UsageError


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


def test_a_locked_database_with_no_room_for_its_pending_journal_is_an_error_naming_the_file(tmp_path: Path) -> None:
    # (With room for it, the record waits in the journal: tests/scsctl/test_audit_pending.py.)
    log = AuditLog.in_dir(tmp_path)
    (tmp_path / f"{DB_NAME}.pending").write_text("a file where the journal's folder would go")
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
    assert "pending journal cannot take the record either" in str(err.value)


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
    assert parse_since("2026-11-21", utc=True) == datetime(2026, 11, 21, tzinfo=UTC)
    assert parse_since("2026-11-21") == datetime(2026, 11, 21).astimezone()  # no zone: local time
    assert parse_since("2026-11-21T10:00+02:00") == datetime(2026, 11, 21, 8, tzinfo=UTC)
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


# --- the hash chain -------------------------------------------------------------------------------------


def _log_with(tmp_path: Path, count: int) -> Path:
    with AuditLog.in_dir(tmp_path, operator="ana") as log:
        for i in range(count):
            log.record("action", "step", {"i": i})
    return tmp_path / DB_NAME


def _sql(path: Path, statement: str) -> None:
    """Change the database behind scsctl's back, as someone with the sqlite3 shell would."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute(statement)
    db.close()


def _verify(path: Path) -> ChainReport:
    with AuditLog(path, read_only=True) as log:
        return log.verify()


def test_an_untouched_log_verifies_and_every_record_is_chained(tmp_path: Path) -> None:
    path = _log_with(tmp_path, 5)
    report = _verify(path)
    assert (report.records, report.last_id, report.upgraded_through_id) == (5, 5, 0)
    records = AuditLog(path, read_only=True).query()
    assert [r.id for r in records] == [1, 2, 3, 4, 5]
    assert records[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(records))
    assert report.head_hash == records[-1].hash


def test_a_record_edited_with_sqlite3_is_named(tmp_path: Path) -> None:
    path = _log_with(tmp_path, 5)
    _sql(path, "UPDATE audit SET operator = 'someone else' WHERE id = 3")
    with pytest.raises(AuditChainBroken, match="record 3 was changed after it was written") as err:
        _verify(path)
    assert err.value.record_id == 3 and err.value.exit_code == 8


def test_a_record_edited_and_rehashed_is_still_found(tmp_path: Path) -> None:
    from scsctl.audit import CHAINED, record_hash

    path = _log_with(tmp_path, 5)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("UPDATE audit SET detail = '{\"i\": 99}' WHERE id = 2")
    row = db.execute(f"SELECT {', '.join(CHAINED)}, prev_hash FROM audit WHERE id = 2").fetchone()
    db.execute("UPDATE audit SET hash = ? WHERE id = 2", (record_hash(row[:-1], row[-1]),))
    db.close()
    with pytest.raises(AuditChainBroken, match="between record 2 and record 3: record 2 was changed") as err:
        _verify(path)
    assert err.value.record_id == 2


def test_removed_records_are_named(tmp_path: Path) -> None:
    path = _log_with(tmp_path, 6)
    _sql(path, "DELETE FROM audit WHERE id IN (3, 4)")
    with pytest.raises(AuditChainBroken, match="records 3 to 4 were removed: record 5 follows record 2") as err:
        _verify(path)
    assert err.value.record_id == 3


def test_a_record_removed_from_the_end_is_named(tmp_path: Path) -> None:
    path = _log_with(tmp_path, 4)
    _sql(path, "DELETE FROM audit WHERE id = 4")
    with pytest.raises(AuditChainBroken, match="record 4 was removed from the end of the log") as err:
        _verify(path)
    assert err.value.record_id == 4


def test_an_inserted_record_is_named(tmp_path: Path) -> None:
    from scsctl.audit import CHAINED, record_hash

    path = _log_with(tmp_path, 4)
    db = sqlite3.connect(path, isolation_level=None)
    # Make room after record 2 and insert a well-formed record chained to it.
    for record_id in (4, 3):
        db.execute("UPDATE audit SET id = id + 1 WHERE id = ?", (record_id,))
    row = list(db.execute(f"SELECT {', '.join(CHAINED)}, hash FROM audit WHERE id = 2").fetchone())
    prev = row.pop()
    row[0] = 3
    db.execute(
        f"INSERT INTO audit ({', '.join(CHAINED)}, prev_hash, hash) VALUES ({', '.join('?' * (len(CHAINED) + 2))})",
        (*row, prev, record_hash(row, prev)),
    )
    db.close()
    with pytest.raises(AuditChainBroken, match="record 3 was inserted: record 4 was written right after record 2") as e:
        _verify(path)
    assert e.value.record_id == 3


def test_a_record_appended_behind_scsctls_back_is_named(tmp_path: Path) -> None:
    path = _log_with(tmp_path, 2)
    _sql(path, "INSERT INTO audit (time_utc, session, operator, role, device_serial, kind, name, detail) "
               "VALUES ('2026-01-01', 'x', 'root', 'engineer', '', 'action', 'forged', '{}')")  # fmt: skip
    with pytest.raises(AuditChainBroken, match="record 3 has no hash: it was added by a scsctl older") as err:
        _verify(path)
    assert err.value.record_id == 3


def test_an_anchor_shows_a_log_rewritten_from_the_start(tmp_path: Path) -> None:
    path = _log_with(tmp_path, 3)
    head = _verify(path)
    path.unlink()
    (tmp_path / f"{DB_NAME}-wal").unlink(missing_ok=True)
    _log_with(tmp_path, 3)  # a whole new chain: it verifies on its own
    with AuditLog(path, read_only=True) as log:
        log.verify()
        with pytest.raises(AuditChainBroken, match="record 3 no longer has the hash it had"):
            log.verify(anchor=(head.last_id, head.head_hash))


def test_records_name_the_os_user_and_the_sessions_profile(tmp_path: Path) -> None:
    import pwd

    from scsctl.audit import ProfileStamp

    with AuditLog.in_dir(tmp_path, operator="ana") as log:
        log.record("action", "connect")
        log.profile = ProfileStamp("tonic-burst-16", "ab" * 32, "shipped:/x/tonic-burst-16.toml")
        log.record("reply", "IDENTIFY")
        first, second = log.query()
    assert first.os_user == second.os_user == pwd.getpwuid(os.getuid()).pw_name
    assert (first.profile, first.profile_sha256) == ("", "")
    assert (second.profile, second.profile_sha256, second.profile_origin) == (
        "tonic-burst-16", "ab" * 32, "shipped:/x/tonic-burst-16.toml"
    )


def test_an_operator_name_that_would_forge_a_line_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    for name in ("ana\nroot/engineer  FAKE", "x" * 100_000):
        with pytest.raises(UsageError, match="operator name"):
            AuditLog.in_dir(tmp_path, operator=name)
    assert not (tmp_path / DB_NAME).exists()


def test_writers_in_several_processes_keep_one_chain(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        from scsctl.audit import AuditLog
        log = AuditLog.in_dir({str(tmp_path)!r}, operator="rig")
        for i in range(40):
            log.record("action", "step", {{"i": i}})
        """
    )
    procs = [subprocess.Popen([sys.executable, "-c", script]) for _ in range(3)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    assert _verify(tmp_path / DB_NAME).records == 120


_SCHEMA_1 = """
CREATE TABLE audit (
    id INTEGER PRIMARY KEY, time_utc TEXT NOT NULL, session TEXT NOT NULL, operator TEXT NOT NULL,
    role TEXT NOT NULL, device_serial TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('action', 'command', 'reply', 'event', 'refusal', 'error')),
    name TEXT NOT NULL, detail TEXT NOT NULL
);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO meta VALUES ('schema_version', '1');
INSERT INTO audit (time_utc, session, operator, role, device_serial, kind, name, detail) VALUES
    ('2026-01-01T10:00:00+00:00', 's1', 'ana', 'technician', 'SN1', 'action', 'connect', '{}'),
    ('2026-01-01T10:00:01+00:00', 's1', 'ana', 'technician', 'SN1', 'command', 'STOP', '{}');
"""


def test_a_schema_1_log_is_read_as_it_is_and_chained_when_next_written(tmp_path: Path) -> None:
    path = tmp_path / DB_NAME
    db = sqlite3.connect(path)
    db.executescript(_SCHEMA_1)
    db.close()
    with AuditLog(path, read_only=True) as reader:
        assert [(r.name, r.os_user, r.hash) for r in reader.query()] == [("connect", "", ""), ("STOP", "", "")]
        with pytest.raises(AuditChainBroken, match=r"schema 1.*no hash chain yet") as err:
            reader.verify()
        assert err.value.record_id is None
    with AuditLog(path, operator="bea") as log:  # opened for writing: upgraded in one transaction
        log.record("action", "connect")
    report = _verify(path)
    assert (report.records, report.upgraded_through_id) == (3, 2)
    names = [(r.id, r.operator, r.name) for r in AuditLog(path, read_only=True).query()]
    assert names == [(1, "ana", "connect"), (2, "ana", "STOP"), (3, "bea", "connect")]
    _sql(path, "UPDATE audit SET role = 'engineer' WHERE id = 1")
    with pytest.raises(AuditChainBroken, match="record 1 was changed"):
        _verify(path)


def test_a_negative_limit_is_refused(tmp_path: Path) -> None:
    path = _log_with(tmp_path, 3)
    with AuditLog(path, read_only=True) as log, pytest.raises(UsageError, match="-5"):
        log.query(limit=-5)


def test_a_well_formed_record_appended_behind_scsctls_back_is_named_by_the_head(tmp_path: Path) -> None:
    from scsctl.audit import CHAINED, record_hash

    path = _log_with(tmp_path, 2)
    db = sqlite3.connect(path, isolation_level=None)
    row = list(db.execute(f"SELECT {', '.join(CHAINED)}, hash FROM audit WHERE id = 2").fetchone())
    prev = row.pop()
    row[0], row[CHAINED.index("name")] = 3, "forged"
    db.execute(
        f"INSERT INTO audit ({', '.join(CHAINED)}, prev_hash, hash) VALUES ({', '.join('?' * (len(CHAINED) + 2))})",
        (*row, prev, record_hash(row, prev)),
    )
    db.close()
    with pytest.raises(AuditChainBroken, match="record 3 was inserted: the last record scsctl wrote is record 2"):
        _verify(path)

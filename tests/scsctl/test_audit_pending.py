"""A log held locked by another process (frozen mid-write): records wait, synced, in a pending journal
and join the chain, in order, at the next write that gets the lock. Nothing is lost or doubled."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from scsctl.audit import AuditLog
from scsctl.audit.pending import journal_dir


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    path = tmp_path / "audit.sqlite3"
    with AuditLog(path) as log:
        log.record("action", "first")
    return path


class Blocker:
    """Another connection that took the write lock and does not let go."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("BEGIN IMMEDIATE")

    def release(self) -> None:
        self.db.execute("ROLLBACK")
        self.db.close()


@pytest.fixture
def blocker(log_path: Path) -> Iterator[Blocker]:
    b = Blocker(log_path)
    yield b
    with contextlib.suppress(sqlite3.ProgrammingError):  # unless the test released it
        b.release()


def names(log: AuditLog) -> list[tuple[int, str]]:
    return [(r.id, r.name) for r in log.query()]


def test_a_locked_log_takes_records_into_the_pending_journal_and_they_join_in_order(
    log_path: Path, blocker: Blocker
) -> None:
    log = AuditLog(log_path)  # opens although another process holds the lock
    assert log.record("command", "STOP", {"path": "direct"}) == 0
    assert log.record("reply", "STOP_ACK") == 0
    journals = list(journal_dir(log_path).iterdir())
    assert len(journals) == 1
    assert [json.loads(line)["name"] for line in journals[0].read_text().splitlines()] == ["STOP", "STOP_ACK"]
    # Shown while they wait, after the committed ones, with id 0.
    with AuditLog(log_path, read_only=True) as reader:
        assert names(reader) == [(1, "first"), (0, "STOP"), (0, "STOP_ACK")]
        assert reader.verify().waiting == 2
        assert reader.query()[1].detail["pending_journal"]["waiting"] is True

    blocker.release()
    assert log.record("action", "after") == 4
    assert names(log) == [(1, "first"), (2, "STOP"), (3, "STOP_ACK"), (4, "after")]
    stop = log.query()[1]
    assert stop.detail["path"] == "direct"
    assert stop.detail["pending_journal"]["file"] == journals[0].name
    report = log.verify()
    assert (report.records, report.waiting) == (4, 0)
    assert list(journal_dir(log_path).iterdir()) == []
    log.close()


def test_another_process_merges_what_a_process_left_waiting(log_path: Path, blocker: Blocker) -> None:
    waiting = AuditLog(log_path)
    assert waiting.record("command", "STOP") == 0
    waiting.close()  # the process is gone; its record is on disk
    blocker.release()
    with AuditLog(log_path) as other:
        other.record("action", "next")
        assert names(other) == [(1, "first"), (2, "STOP"), (3, "next")]
        other.verify()


def test_lines_already_merged_before_a_crash_are_not_merged_twice(log_path: Path, blocker: Blocker) -> None:
    log = AuditLog(log_path)
    log.record("command", "one")
    log.record("command", "two")
    journal = next(journal_dir(log_path).iterdir())
    blocker.release()
    # As if a merge of the first line committed and the process died before removing the file.
    with AuditLog(log_path) as merger:
        merger._write([{**json.loads(journal.read_text().splitlines()[0])}])
    db = sqlite3.connect(log_path, isolation_level=None)
    db.execute("INSERT INTO meta (key, value) VALUES (?, '1')", (f"pending:{journal.name}",))
    db.close()
    log.record("action", "three")
    assert [n for _, n in names(log)] == ["first", "one", "two", "three"]
    log.verify()
    log.close()


def test_a_journal_still_being_written_is_left_for_a_later_write(log_path: Path, blocker: Blocker) -> None:
    log = AuditLog(log_path)
    log.record("command", "waiting")
    journal = next(journal_dir(log_path).iterdir())
    blocker.release()
    fd = os.open(journal, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # its writer is appending right now
    try:
        with AuditLog(log_path) as other:
            other.record("action", "meanwhile")
            assert [n for _, n in names(other)] == ["first", "meanwhile", "waiting"]
    finally:
        os.close(fd)
    log.record("action", "later")
    assert [(i, n) for i, n in names(log)] == [(1, "first"), (2, "meanwhile"), (3, "waiting"), (4, "later")]
    log.close()


def test_an_unreadable_journal_line_is_kept_as_an_error_record(log_path: Path, blocker: Blocker) -> None:
    log = AuditLog(log_path)
    log.record("command", "good")
    journal = next(journal_dir(log_path).iterdir())
    with journal.open("a") as f:
        f.write("{not json\n")
    blocker.release()
    log.record("action", "next")
    records = log.query()
    assert [r.name for r in records] == ["first", "pending_journal_unreadable", "good", "next"] or [
        r.name for r in records
    ] == ["first", "good", "pending_journal_unreadable", "next"]
    bad = next(r for r in records if r.name == "pending_journal_unreadable")
    assert bad.kind == "error"
    assert bad.detail["line"] == 2 and bad.detail["file"] == journal.name
    log.verify()
    log.close()


def test_stop_from_a_second_process_is_recorded_while_a_frozen_process_holds_the_log(
    pty_emulator: str, tmp_path: Path
) -> None:
    """`scsctl stop` with the shared log locked by a stopped process: exit 0, and the STOP is on record."""
    data_dir = tmp_path / "data"
    env = {**os.environ}

    def scsctl(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "scsctl.cli.main", *argv, "--data-dir", str(data_dir)],
                              capture_output=True, text=True, timeout=60, env=env)  # fmt: skip

    assert scsctl("status", "--port", pty_emulator).returncode == 0  # the log exists
    frozen = subprocess.Popen(
        [sys.executable, "-c", "import sqlite3, sys, time; db = sqlite3.connect(sys.argv[1], isolation_level=None);"
         " db.execute('BEGIN IMMEDIATE'); print('locked', flush=True); time.sleep(120)",
         str(data_dir / "scsctl.sqlite3")], stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert frozen.stdout is not None and frozen.stdout.readline().strip() == "locked"
        done = scsctl("stop", "--port", pty_emulator)
        assert done.returncode == 0, done.stderr
        shown = scsctl("log", "show", "--json")
        waiting = [r for r in json.loads(shown.stdout) if r["name"] == "STOP" and r["id"] == 0]
        assert waiting, shown.stdout
    finally:
        frozen.kill()
        frozen.wait()
    assert scsctl("status", "--port", pty_emulator).returncode == 0  # its next write merges the journal
    records = json.loads(scsctl("log", "show", "--json").stdout)
    assert [r for r in records if r["name"] == "STOP" and r["id"] > 0 and "pending_journal" in r["detail"]]
    assert not [r for r in records if r["id"] == 0]
    verified = scsctl("log", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_a_journal_name_is_never_used_again_so_a_note_left_behind_skips_nothing(
    log_path: Path, blocker: Blocker
) -> None:
    log = AuditLog(log_path)
    log.record("command", "a1")
    (first,) = journal_dir(log_path).iterdir()
    blocker.release()
    log.record("action", "m1")  # merges a1 and removes the file
    # A note outliving its file (a merger killed between removing the file and the note).
    db = sqlite3.connect(log_path, isolation_level=None)
    db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, '1')", (f"pending:{first.name}",))
    db.execute("BEGIN IMMEDIATE")  # and the log is locked again
    log.record("command", "a2")
    (second,) = journal_dir(log_path).iterdir()
    assert second.name != first.name
    db.execute("ROLLBACK")
    db.close()
    log.record("action", "m2")
    assert [n for _, n in names(log)] == ["first", "a1", "m1", "a2", "m2"]
    log.verify()
    log.close()


def test_a_record_never_waits_for_a_merger_that_froze_holding_its_journal(log_path: Path, blocker: Blocker) -> None:
    log = AuditLog(log_path)
    log.record("command", "a1")
    (held,) = journal_dir(log_path).iterdir()
    fd = os.open(held, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # a merger froze mid-merge: it holds the file (and the log)
    returned: list[int] = []
    writer = threading.Thread(target=lambda: returned.append(log.record("command", "STOP")), daemon=True)
    try:
        writer.start()
        writer.join(30)
        assert not writer.is_alive(), "record() waited for the frozen merger"
    finally:
        os.close(fd)
    assert returned == [0]
    assert len(list(journal_dir(log_path).iterdir())) == 2  # STOP went to a new file
    blocker.release()
    log.record("action", "after")
    assert [n for _, n in names(log)] == ["first", "a1", "STOP", "after"]
    log.close()


def test_a_journal_that_cannot_be_removed_after_its_merge_is_not_merged_twice(
    log_path: Path, blocker: Blocker, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = AuditLog(log_path)
    log.record("command", "a1")
    blocker.release()
    real_unlink = Path.unlink

    def refuse(self: Path, missing_ok: bool = False) -> None:
        if self.suffix == ".jsonl":
            raise PermissionError(13, "Permission denied", str(self))
        real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", refuse)
    assert log.record("action", "m1") == 3  # committed, and said so
    monkeypatch.undo()
    assert len(list(journal_dir(log_path).iterdir())) == 1  # still there, noted as merged
    log.record("action", "m2")
    assert [n for _, n in names(log)] == ["first", "a1", "m1", "m2"]
    log.verify()
    log.close()


def test_a_journal_folder_others_may_write_to_is_not_trusted(log_path: Path, blocker: Blocker) -> None:
    from scsctl.errors import AuditError

    folder = journal_dir(log_path)
    folder.mkdir(mode=0o700)
    planted = folder / "planted.jsonl"
    planted.write_text(json.dumps({"time_utc": "2020-01-01T00:00:00+00:00", "kind": "action", "name": "forged"}) + "\n")
    folder.chmod(0o777)
    log = AuditLog(log_path)
    with pytest.raises(AuditError, match=r"others may write to it \(mode 777\)"):
        log.record("command", "STOP")
    folder.chmod(0o700)
    secret = log_path.parent / "secret.txt"
    secret.write_text("API_KEY=hunter2\n")
    (folder / "link.jsonl").symlink_to(secret)  # a link planted in the folder is never followed
    blocker.release()
    log.record("action", "after")
    shown = [r.name for r in log.query()]
    assert "forged" in shown  # a regular file of this user's, in a folder only this user may write
    assert not [r for r in log.query() if "hunter2" in json.dumps(r.detail)]
    log.close()

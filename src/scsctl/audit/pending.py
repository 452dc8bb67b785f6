"""Audit records kept on disk while the audit log is locked by another process, until they join it.

The audit log is one SQLite file shared by every scsctl process of a user. A process that stops
in the middle of a write (frozen with SIGSTOP, stopped in a debugger, a disk that hangs) keeps the
file's write lock, and every other process would then have to choose between not acting and acting
unrecorded. Neither is acceptable for STOP, and the second is not acceptable for anything.

So a record that cannot be written because the log is locked goes to a *pending journal* beside it
(``<log>.pending/<session>-<random>.jsonl``): one JSON line per record, appended, flushed and synced
before ``AuditLog.record`` returns, exactly as a committed row would be. The next write that gets
the log's lock, from this process or any other, first moves every pending record into the log, in
the order they happened, chained like any other record and marked with the journal they came from;
``log show`` lists the ones still waiting.

Each journal file is locked (``flock``) while it is appended to or merged. A merge reads the file,
inserts its records and notes in the log's ``meta`` table, in the same transaction, how many of its
lines are in the log; then it removes the file. A crash between the commit and the removal leaves
the note, so the lines are not merged twice. A writer that finds its file removed under it starts a
new one with a new name, so a note never applies to a file it was not written for.

What the chain cannot vouch for: a pending record could be edited before it is merged; once merged
it is covered like every other record.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SUFFIX = ".jsonl"
META_PREFIX = "pending:"
"""``meta`` key prefix: ``pending:<file name>`` is the number of that file's lines already merged."""


@dataclass(frozen=True, slots=True)
class PendingRecord:
    """One record from a journal: the values of the log's columns except ``id`` and the chain."""

    values: dict[str, Any]
    journal: str
    """The journal file's name."""
    line: int
    """Its line number in that file, from 1."""


def journal_dir(log_path: Path) -> Path:
    return log_path.with_name(log_path.name + ".pending")


class PendingJournal:
    """This process's journal for one audit log; created on the first record that needs it."""

    def __init__(self, log_path: Path, session: str) -> None:
        self.folder = journal_dir(log_path)
        self._session = session
        self._path: Path | None = None

    def append(self, values: dict[str, Any]) -> Path:
        """Append one record and sync it to disk; return the journal file's path.

        ``OSError`` when it cannot be written (the caller reports the original failure with it).
        """
        line = (json.dumps(values, sort_keys=True, ensure_ascii=True) + "\n").encode("ascii")
        self.folder.mkdir(mode=0o700, exist_ok=True)
        while True:
            if self._path is None:
                self._path = self.folder / f"{self._session}-{uuid.uuid4().hex[:8]}{SUFFIX}"
            fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                if os.fstat(fd).st_nlink == 0:  # merged and removed while we waited for its lock
                    self._path = None
                    continue
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)  # also releases the flock
            _sync_folder(self.folder)
            return self._path


@contextlib.contextmanager
def claimed_journals(log_path: Path) -> Iterator[list[tuple[Path, list[str]]]]:
    """Every journal of ``log_path`` no other process is writing to right now, locked, with its lines.

    The locks are held until the ``with`` block ends; remove the files (``remove``) inside it, once
    their records are committed to the log.
    """
    folder = journal_dir(log_path)
    held: list[tuple[int, Path, list[str]]] = []
    try:
        names = _journal_files(folder)
        for path in names:
            try:
                fd = os.open(path, os.O_RDONLY)
            except OSError:
                continue  # merged by another process just now
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)  # being written: its records join at a later write
                continue
            if os.fstat(fd).st_nlink == 0:
                os.close(fd)
                continue
            with os.fdopen(os.dup(fd), encoding="ascii", errors="replace") as f:
                lines = [text for text in f.read().split("\n") if text]
            held.append((fd, path, lines))
        yield [(path, lines) for _, path, lines in held]
    finally:
        for fd, _, _ in held:
            os.close(fd)


def parse_lines(path: Path, lines: list[str], skip: int) -> list[PendingRecord]:
    """The records of a journal's lines after the first ``skip``; a line that is not a record is
    kept as an ``error`` record naming the file and line, so nothing is dropped without a trace."""
    records: list[PendingRecord] = []
    for number, text in enumerate(lines[skip:], start=skip + 1):
        try:
            values = json.loads(text)
            if not isinstance(values, dict) or not isinstance(values.get("time_utc"), str):
                raise ValueError("not a record")
        except ValueError as err:
            values = {
                "kind": "error", "name": "pending_journal_unreadable", "time_utc": "",
                "detail": json.dumps({"file": path.name, "line": number, "problem": str(err), "text": text[:200]}),
            }  # fmt: skip
        records.append(PendingRecord(values, path.name, number))
    return records


def remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    with contextlib.suppress(OSError):
        _sync_folder(path.parent)


def read_all(log_path: Path) -> list[PendingRecord]:
    """Every record still waiting in the journals (without locking: for reading only)."""
    records: list[PendingRecord] = []
    folder = journal_dir(log_path)
    for path in _journal_files(folder):
        with contextlib.suppress(FileNotFoundError), path.open(encoding="ascii", errors="replace") as f:
            records += parse_lines(path, [t for t in f.read().split("\n") if t], 0)
    return records


def _journal_files(folder: Path) -> list[Path]:
    """The journals in ``folder``; none when it is missing, or is not a folder one can list (a
    journal that cannot be appended to there says so when a record needs it)."""
    try:
        return sorted(p for p in folder.iterdir() if p.name.endswith(SUFFIX))
    except OSError:
        return []


def _sync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

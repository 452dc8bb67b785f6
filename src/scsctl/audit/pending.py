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
the note, so the lines are not merged twice. A file name is never used twice: a writer creates each
file with ``O_EXCL`` and, when its file has been merged and removed, or is being merged right now
(perhaps by a process that froze), starts a new one rather than wait, so a note never applies to a
file it was not written for and a record never waits for another process.

Only a folder of this user's that nobody else may write to is used, and only regular files of this
user's in it (never through a link). What the chain cannot vouch for: until it is merged, a pending
record can be edited, forged or removed by anyone who can write this user's files (as the database
itself can be replaced); once merged it is covered like every other record.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import stat
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
        """Append one record and sync it to disk; return the journal file's path. Never waits.

        A file is never reused under its name once it is gone, and one being merged right now (its
        lock held by another process, which may be frozen) is left for a new file: a record waits
        for no other process. ``OSError`` when it cannot be written (the caller reports the
        original failure with it).
        """
        line = (json.dumps(values, sort_keys=True, ensure_ascii=True) + "\n").encode("ascii")
        check_folder(self.folder, create=True)
        while True:
            fresh = self._path is None
            if self._path is None:
                self._path = self.folder / f"{self._session}-{uuid.uuid4().hex[:12]}{SUFFIX}"
            flags = os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW | (os.O_CREAT | os.O_EXCL if fresh else 0)
            try:
                fd = os.open(self._path, flags, 0o600)
            except FileNotFoundError:  # merged and removed: never recreated under the same name
                self._path = None
                continue
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:  # being merged: start another file rather than wait
                    self._path = None
                    continue
                if os.fstat(fd).st_nlink == 0:  # merged and removed between open and lock
                    self._path = None
                    continue
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)  # also releases the flock
            if fresh:
                _sync_folder(self.folder)
            return self._path


def check_folder(folder: Path, *, create: bool = False) -> bool:
    """Whether ``folder`` is a journal folder to trust: a real folder (not a link) of this user's that
    nobody else may write to. ``create``: make it (owner-only) when missing; ``OSError`` when it
    cannot be trusted, naming why. Without ``create``: False for a missing or untrusted one."""
    try:
        info = os.lstat(folder)
    except FileNotFoundError:
        if not create:
            return False
        folder.mkdir(mode=0o700)
        info = os.lstat(folder)
    problem = ""
    if not stat.S_ISDIR(info.st_mode):
        problem = "it is not a folder"
    elif info.st_uid != os.getuid():
        problem = f"it belongs to uid {info.st_uid}, not to this user"
    elif info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        problem = f"others may write to it (mode {stat.S_IMODE(info.st_mode):o})"
    if problem and create:
        raise OSError(f"{folder}: {problem}")
    return not problem


def _open_journal(path: Path) -> int | None:
    """A journal file opened for reading: a regular file of this user's, not through a link."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None  # merged by another process just now, or a link planted there
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid():
        os.close(fd)
        return None
    return fd


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
            fd = _open_journal(path)
            if fd is None:
                continue
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


def remove(path: Path) -> bool:
    """Remove a merged journal; whether it is gone. A failure is left alone: its ``meta`` note (kept
    while the file is there) says its lines are merged, and its name is never used again."""
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except OSError:
        return False
    with contextlib.suppress(OSError):
        _sync_folder(path.parent)
    return True


def merged_lines(note: str | None) -> int:
    """A ``pending:`` note's count (0 when missing or not a count)."""
    try:
        return max(0, int(note or 0))
    except ValueError:
        return 0


def read_all(log_path: Path) -> list[PendingRecord]:
    """Every record still waiting in the journals (without locking: for reading only)."""
    records: list[PendingRecord] = []
    folder = journal_dir(log_path)
    for path in _journal_files(folder):
        fd = _open_journal(path)
        if fd is None:
            continue
        with os.fdopen(fd, encoding="ascii", errors="replace") as f:
            records += parse_lines(path, [t for t in f.read().split("\n") if t], 0)
    return records


def _journal_files(folder: Path) -> list[Path]:
    """The journals in ``folder``; none when it is missing, or is not a folder one can list (a
    journal that cannot be appended to there says so when a record needs it)."""
    if not check_folder(folder):
        return []
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

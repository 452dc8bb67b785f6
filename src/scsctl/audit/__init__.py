"""The audit log: every operator action, command, reply, device event and refusal, kept for good.

SQLite in write-ahead-log mode with ``synchronous=FULL``: ``record()`` returns only once the row is
committed and synced, so anything the user was told happened survives the process being killed at
any moment. A database that is locked, read-only or corrupt raises ``AuditError`` naming the file;
callers treat that as "the action must not happen" (STOP excepted: stopping always goes first)
and say which it was: not sent, or carried out but not recorded.

Heartbeats and status polls are not audit records: the wire capture has them.

Every record names who made it twice: the operator as given (``--operator``, checked: printable, at
most 64 characters; by default the OS user) and the OS user the process really runs as, which no
option changes. Once a session's profile is chosen, every record also names it with its content
hash and origin (``shipped:PATH``, ``site:PATH`` or ``user:PATH``): a record says which limits it
was checked against, not just a name anyone could reuse.

Tamper evidence: each record's ``hash`` is the SHA-256 of its canonical content (``CHAINED``, as
JSON) and the previous record's hash, and the ``meta`` table keeps the last record's id and hash
(``head``). ``verify`` recomputes the chain and names the first record that was changed, removed or
inserted. Records are numbered 1, 2, 3... with no gaps, so a removed record shows as a gap. What a
chain cannot show by itself is a log rewritten from some record to the end, hashes and head
included: ``scsctl log verify`` prints the head hash, and ``--anchor ID:HASH`` checks a head kept
elsewhere (a printed report, another machine) is still in the chain.

Schema 1 (no chain) is upgraded when the log is first opened for writing: the records it holds are
chained as found, and ``meta`` notes the last of them (they were not protected before). An older
scsctl can still append to an upgraded log; its records have no hash, and ``verify`` names the
first of them.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import hashlib
import io
import json
import os
import pwd
import sqlite3
import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any, Literal

from ..errors import AuditChainBroken, AuditError, UsageError
from ..text import check_name
from . import pending
from .pending import PendingJournal

Kind = Literal["action", "command", "reply", "event", "refusal", "error"]
KINDS: tuple[Kind, ...] = ("action", "command", "reply", "event", "refusal", "error")
DB_NAME = "scsctl.sqlite3"
SCHEMA_VERSION = 2
GENESIS_HASH = "0" * 64
"""The ``prev_hash`` of record 1."""

# Schema 2 added the columns after ``detail`` (in this order, so an upgraded table has the layout
# of a new one).
_ADDED_COLUMNS = ("os_user", "profile", "profile_sha256", "profile_origin", "prev_hash", "hash")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY,
    time_utc TEXT NOT NULL,
    session TEXT NOT NULL,
    operator TEXT NOT NULL,
    role TEXT NOT NULL,
    device_serial TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('action', 'command', 'reply', 'event', 'refusal', 'error')),
    name TEXT NOT NULL,
    detail TEXT NOT NULL,
    os_user TEXT NOT NULL DEFAULT '',
    profile TEXT NOT NULL DEFAULT '',
    profile_sha256 TEXT NOT NULL DEFAULT '',
    profile_origin TEXT NOT NULL DEFAULT '',
    prev_hash TEXT NOT NULL DEFAULT '',
    hash TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS audit_time ON audit (time_utc);
CREATE INDEX IF NOT EXISTS audit_device ON audit (device_serial, time_utc);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def default_data_dir() -> Path:
    """``$SCSCTL_DATA_DIR`` if set, else the user's data directory (platformdirs)."""
    env = os.environ.get("SCSCTL_DATA_DIR")
    if env:
        return Path(env)
    from platformdirs import user_data_dir

    return Path(user_data_dir("scsctl", appauthor=False))


CHAINED = (
    "id", "time_utc", "session", "operator", "os_user", "role", "device_serial",
    "profile", "profile_sha256", "profile_origin", "kind", "name", "detail",
)  # fmt: skip
"""The columns a record's hash covers, in this order, followed by ``prev_hash``."""

_COLUMNS = (*CHAINED, "prev_hash", "hash")


def record_hash(values: Sequence[Any], prev_hash: str) -> str:
    """SHA-256 of ``values`` (one per ``CHAINED`` column, ``detail`` as its stored JSON text) and
    the previous record's hash, as canonical JSON (ASCII, no spaces)."""
    payload = json.dumps([*values, prev_hash], ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode("ascii")).hexdigest()


def os_user_name() -> str:
    """The OS user this process really runs as (from the user database, not ``$USER``)."""
    uid = os.getuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid-{uid}"


def default_operator() -> str:
    """The operator when none is given: the OS user."""
    return os_user_name()


_BUSY_TIMEOUT_S = 2.0
"""How long a write waits for another process's lock before it goes to the pending journal."""
_BUSY_RETRY_MS = 50
"""The wait while the log is known to be locked: a stuck writer does not cost every record 2 s."""


def _is_locked(err: sqlite3.Error) -> bool:
    text = str(err)
    return "locked" in text or "busy" in text


def open_database(path: Path, *, timeout_s: float = _BUSY_TIMEOUT_S) -> sqlite3.Connection:
    """A connection to the shared database (audit log, trial records) with the guarantees records
    need: write-ahead log and synchronous commits, so a committed row survives a killed process."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=timeout_s)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    return db


def database_problem(err: BaseException) -> str:
    """What a database error means for the user, and what to do about it."""
    text = str(err)
    if "locked" in text or "busy" in text:
        return "another program holds it locked; close it and try again"
    if "readonly" in text or "read-only" in text or isinstance(err, PermissionError):
        return "it is read-only; choose a writable --data-dir"
    if "not a database" in text or "malformed" in text:
        return "it is damaged; move it aside (keep it for the record) and a new one will be made"
    return text


@dataclass(frozen=True, slots=True)
class ProfileStamp:
    """The profile a session's records were checked against: name, content hash, origin."""

    name: str
    sha256: str
    origin: str
    """``shipped:PATH``, ``site:PATH`` or ``user:PATH`` (see ``scsctl.trust``)."""


@dataclass(frozen=True, slots=True)
class AuditRecord:
    id: int
    time_utc: str
    session: str
    operator: str
    role: str
    device_serial: str
    kind: str
    name: str
    detail: dict[str, Any]
    os_user: str = ""
    profile: str = ""
    profile_sha256: str = ""
    profile_origin: str = ""
    prev_hash: str = ""
    hash: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "time_utc": self.time_utc,
            "session": self.session,
            "operator": self.operator,
            "os_user": self.os_user,
            "role": self.role,
            "device_serial": self.device_serial,
            "profile": self.profile,
            "profile_sha256": self.profile_sha256,
            "profile_origin": self.profile_origin,
            "kind": self.kind,
            "name": self.name,
            "detail": self.detail,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


@dataclass(frozen=True, slots=True)
class ChainReport:
    """What ``AuditLog.verify`` found in an intact chain."""

    records: int
    last_id: int
    head_hash: str
    """The last record's hash: keep it elsewhere to check later that nothing before it was rewritten."""
    upgraded_through_id: int
    """Records up to this id were written before the log had a chain (0: none); they were chained
    as found when the log was upgraded, so the chain vouches for them only from then on."""
    waiting: int = 0
    """Records in the pending journals (written while another process held the log locked) that
    join the chain at the next write."""


@dataclass(slots=True)
class _PendingMerge:
    """The pending journals one write has locked, to merge them and remove them once committed."""

    stack: contextlib.ExitStack[Any] = field(default_factory=contextlib.ExitStack)
    files: list[Path] = field(default_factory=list)
    lines: dict[str, int] = field(default_factory=dict)
    """Each file's line count: noted in ``meta`` with the merge, so a crash cannot merge it twice."""
    committed: bool = False


class AuditLog:
    """One connection to the audit database; ``record`` is safe from several threads and processes."""

    def __init__(
        self, path: str | Path, *, operator: str | None = None, role: str = "technician", read_only: bool = False
    ) -> None:
        """Open (and create, or upgrade) the log; ``read_only`` opens an existing one for reading only.

        ``operator`` is checked (``scsctl.text.check_name``): ``UsageError`` before anything is opened.
        """
        self.path = Path(path)
        self.operator = default_operator() if operator is None else check_name(operator)
        self.os_user = os_user_name()
        self.role = role
        self.device_serial = ""
        self.profile: ProfileStamp | None = None
        """Set once the session's profile is chosen; every later record names it."""
        self.session = uuid.uuid4().hex[:12]
        self._lock = threading.Lock()
        self._journal = PendingJournal(self.path, self.session)
        self._busy = False
        """The last write found the log locked: the next one waits only briefly before journaling."""
        self._pending = _PendingMerge()
        try:
            if read_only:
                uri = f"{self.path.resolve().as_uri()}?mode=ro"
                self._db = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None, timeout=2.0)
                self._columns = self._table_columns()
                return
            self._db = open_database(self.path)
            try:
                self._prepare()
            except sqlite3.OperationalError as err:
                # Locked by a writer that does not let go (frozen, or stopped in a debugger): a log
                # that is already set up can still take records, in the pending journal until then.
                if not _is_locked(err) or not self._ready_for_records():
                    raise
                self._busy = True
            self._columns = self._table_columns()
        except (sqlite3.Error, OSError) as err:
            raise self._error("cannot open", err) from err

    @classmethod
    def in_dir(cls, data_dir: str | Path | None, **kwargs: Any) -> AuditLog:
        """The log in ``data_dir`` (``--data-dir``), or in the default data directory."""
        return cls(Path(data_dir or default_data_dir()) / DB_NAME, **kwargs)

    def _prepare(self) -> None:
        self._db.executescript(_SCHEMA)
        self._db.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
        )
        self._upgrade()
        self._check_writable()

    def _ready_for_records(self) -> bool:
        """The log has this version's tables and columns (so records can wait to join it)."""
        try:
            return set(_COLUMNS) <= self._table_columns()
        except sqlite3.Error:
            return False

    def _table_columns(self) -> set[str]:
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(audit)")}
        if not columns:
            raise sqlite3.OperationalError("no such table: audit")
        return columns

    def _upgrade(self) -> None:
        """Schema 1 -> 2: add the columns and chain the records already there, in one transaction."""
        if "hash" in self._table_columns():
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            present = self._table_columns()  # another process may have upgraded it meanwhile
            if "hash" not in present:
                for column in _ADDED_COLUMNS:
                    if column not in present:
                        self._db.execute(f"ALTER TABLE audit ADD COLUMN {column} TEXT NOT NULL DEFAULT ''")
                prev, last_id = GENESIS_HASH, 0
                rows = self._db.execute(f"SELECT {', '.join(CHAINED)} FROM audit ORDER BY id").fetchall()
                for row in rows:
                    digest = record_hash(row, prev)
                    self._db.execute("UPDATE audit SET prev_hash = ?, hash = ? WHERE id = ?", (prev, digest, row[0]))
                    prev, last_id = digest, row[0]
                upgraded = json.dumps({"through_id": last_id, "time_utc": _now()})
                self._db.executemany(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                    [("schema_version", str(SCHEMA_VERSION)), ("upgraded", upgraded), ("head", f"{last_id}:{prev}")],
                )
            self._db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")
            raise

    def _check_writable(self) -> None:
        # A read-only file opens fine and only fails on the first write: find out now, not mid-action.
        self._db.execute("BEGIN IMMEDIATE")
        self._db.execute("ROLLBACK")

    def _error(self, what: str, err: BaseException) -> AuditError:
        return AuditError(f"audit log {self.path}: {what} ({err}): {database_problem(err)}.")

    def record(self, kind: Kind, name: str, detail: Mapping[str, Any] | None = None) -> int:
        """Write one record, chained to the one before, and return its id once it is committed to disk.

        If another process holds the log locked past the busy timeout, the record is synced to this
        process's pending journal instead (``scsctl.audit.pending``) and 0 is returned: it joins the
        log, in order, at the next write that gets the lock. ``AuditError`` only when neither works.
        """
        if kind not in KINDS:
            raise ValueError(f"unknown audit record kind {kind!r}")
        stamp = self.profile or ProfileStamp("", "", "")
        detail_text = json.dumps(dict(detail or {}), sort_keys=True, default=_json_default)
        values = {
            "time_utc": _now(), "session": self.session, "operator": self.operator, "os_user": self.os_user,
            "role": self.role, "device_serial": self.device_serial, "profile": stamp.name,
            "profile_sha256": stamp.sha256, "profile_origin": stamp.origin, "kind": kind, "name": name,
            "detail": detail_text,
        }  # fmt: skip
        with self._lock:
            try:
                if self._busy:  # it was locked a moment ago: do not make every record wait the full timeout
                    self._db.execute(f"PRAGMA busy_timeout = {_BUSY_RETRY_MS}")
                try:
                    record_id = self._write([*self._claim_pending(), values])
                finally:
                    try:
                        self._release_pending()  # before journaling below: this process's file may be among them
                    finally:
                        if self._busy:
                            self._db.execute(f"PRAGMA busy_timeout = {int(_BUSY_TIMEOUT_S * 1000)}")
                self._busy = False
            except sqlite3.OperationalError as err:
                if not _is_locked(err):
                    raise self._error("cannot write", err) from err
                try:
                    self._journal.append(values)
                except OSError as journal_err:
                    raise AuditError(
                        f"{self._error('cannot write', err)} Its pending journal cannot take the record either "
                        f"({journal_err})."
                    ) from journal_err
                self._busy = True
                return 0
            except sqlite3.Error as err:
                raise self._error("cannot write", err) from err
        return record_id

    def _claim_pending(self) -> list[dict[str, Any]]:
        """Lock every pending journal no one is writing to, and return its records not yet merged."""
        merge = self._pending
        journals = merge.stack.enter_context(pending.claimed_journals(self.path))
        merge.files = [path for path, _ in journals]
        merge.lines = {path.name: len(lines) for path, lines in journals}
        if not journals:
            return []
        notes = dict(
            self._db.execute("SELECT key, value FROM meta WHERE key LIKE ?", (pending.META_PREFIX + "%",))
        )
        found: list[pending.PendingRecord] = []
        for path, lines in journals:
            found += pending.parse_lines(path, lines, pending.merged_lines(notes.get(pending.META_PREFIX + path.name)))
        found.sort(key=lambda r: r.values.get("time_utc", ""))
        merged_utc = _now()
        records: list[dict[str, Any]] = []
        for item in found:
            values = _pending_values(item, CHAINED[1:], {"merged_utc": merged_utc})
            values["time_utc"] = values["time_utc"] or merged_utc
            records.append(values)
        return records

    def _release_pending(self) -> None:
        merge, self._pending = self._pending, _PendingMerge()
        try:
            if merge.committed and merge.files:
                gone = [path for path in merge.files if pending.remove(path)]
                with contextlib.suppress(sqlite3.Error):  # a note left behind names a file that is gone
                    self._db.executemany(
                        "DELETE FROM meta WHERE key = ?", [(pending.META_PREFIX + p.name,) for p in gone]
                    )
        finally:
            merge.stack.close()

    def _write(self, rows: list[dict[str, Any]]) -> int:
        """Append ``rows`` (the last is the new record) in one transaction; the last one's id."""
        # IMMEDIATE takes the write lock first: no other writer can slip a record in between reading
        # the last hash and appending the next.
        self._db.execute("BEGIN IMMEDIATE")
        try:
            last = self._db.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
            record_id, prev = (int(last[0]), str(last[1])) if last else (0, GENESIS_HASH)
            for row in rows:
                record_id += 1
                values = (record_id, *(row[c] for c in CHAINED[1:]))
                digest = record_hash(values, prev)
                self._db.execute(
                    f"INSERT INTO audit ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})",
                    (*values, prev, digest),
                )
                prev = digest
            self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('head', ?)", (f"{record_id}:{prev}",))
            self._db.executemany(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                [(pending.META_PREFIX + name, str(count)) for name, count in self._pending.lines.items()],
            )
            self._db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")
            raise
        self._pending.committed = True
        return record_id

    def _select(self) -> str:
        # A schema-1 log opened read-only has no chain columns yet: they read as empty.
        return "SELECT " + ", ".join(c if c in self._columns else f"'' AS {c}" for c in _COLUMNS) + " FROM audit"

    def query(
        self,
        *,
        since: datetime | None = None,
        device: str | None = None,
        session: str | None = None,
        limit: int | None = None,
    ) -> list[AuditRecord]:
        if limit is not None and limit < 0:
            raise UsageError(f"a limit of {limit} records: give a number of records, 0 or more")
        sql = self._select()
        where: list[str] = []
        args: list[Any] = []
        if since is not None:
            where.append("time_utc >= ?")
            args.append(since.astimezone(UTC).isoformat(timespec="microseconds"))
        if device:
            where.append("device_serial = ?")
            args.append(device)
        if session:
            where.append("session = ?")
            args.append(session)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(int(limit))
        with self._lock:
            try:
                rows = self._db.execute(sql, args).fetchall()
                waiting = self._waiting()
            except sqlite3.Error as err:
                raise self._error("cannot read", err) from err
        found = [_record(row) for row in reversed(rows)]
        if since is not None:
            after = since.astimezone(UTC).isoformat(timespec="microseconds")
            waiting = [r for r in waiting if r.time_utc >= after]
        waiting = [r for r in waiting if (not device or r.device_serial == device)]
        waiting = [r for r in waiting if (not session or r.session == session)]
        found += waiting
        return found if limit is None else found[len(found) - limit :] if limit else []

    def _waiting(self) -> list[AuditRecord]:
        """Records in the pending journals that have not joined the log yet, as id 0 and no hash."""
        records = pending.read_all(self.path)
        if not records:
            return []
        notes = dict(
            self._db.execute("SELECT key, value FROM meta WHERE key LIKE ?", (pending.META_PREFIX + "%",))
        )
        waiting: list[AuditRecord] = []
        for item in records:
            if item.line <= pending.merged_lines(notes.get(pending.META_PREFIX + item.journal)):
                continue  # merged already; the file is about to go
            values = {**_pending_values(item, _COLUMNS, {"waiting": True}), "id": "0"}
            record = _record(tuple(values[c] for c in _COLUMNS))
            waiting.append(dataclasses.replace(record, id=0))
        return sorted(waiting, key=lambda r: r.time_utc)

    def last(self, kind: Kind, name: str, *, device: str) -> AuditRecord | None:
        """The newest record of this kind and name for a device, or None."""
        sql = self._select() + " WHERE kind = ? AND name = ? AND device_serial = ? ORDER BY id DESC LIMIT 1"
        with self._lock:
            try:
                row = self._db.execute(sql, (kind, name, device)).fetchone()
            except sqlite3.Error as err:
                raise self._error("cannot read", err) from err
        return None if row is None else _record(row)

    def verify(self, *, anchor: tuple[int, str] | None = None) -> ChainReport:
        """Check the hash chain from the first record to the last (and the head kept in ``meta``).

        Raises ``AuditChainBroken`` naming the first record that was changed, removed or inserted.
        ``anchor``: a record id and the hash it had when it was noted down; it must still be there.
        """
        with self._lock:
            try:
                return self._verify(anchor)
            except sqlite3.Error as err:
                raise self._error("cannot read", err) from err

    def _verify(self, anchor: tuple[int, str] | None) -> ChainReport:
        if "hash" not in self._columns:
            raise AuditChainBroken(
                f"audit log {self.path} was written by an older scsctl (schema 1) and has no hash chain yet; "
                "it gets one, over the records as they are then, the next time scsctl writes to it",
                record_id=None,
            )
        meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        upgraded = json.loads(meta["upgraded"])["through_id"] if "upgraded" in meta else 0
        prev: tuple[int, str] | None = None  # (id, hash) of the record before
        before_prev: tuple[int, str] | None = None
        count = 0
        cursor = self._db.execute(f"SELECT {', '.join(_COLUMNS)} FROM audit ORDER BY id")
        for row in cursor:
            values, prev_hash, stored = row[: len(CHAINED)], row[-2], row[-1]
            record_id = int(values[0])
            expected_id, expected_prev = (prev[0] + 1, prev[1]) if prev else (1, GENESIS_HASH)
            if record_id != expected_id:
                gone = f"record {expected_id}" if record_id == expected_id + 1 else (
                    f"records {expected_id} to {record_id - 1}")  # fmt: skip
                after = f"record {prev[0]}" if prev else "the start of the log"
                raise AuditChainBroken(
                    f"{gone} {'was' if record_id == expected_id + 1 else 'were'} removed: record {record_id} "
                    f"follows {after}", record_id=expected_id)  # fmt: skip
            if not stored and not prev_hash:
                raise AuditChainBroken(
                    f"record {record_id} has no hash: it was added by a scsctl older than the hash chain (schema "
                    "1), or by hand", record_id=record_id)  # fmt: skip
            if prev_hash != expected_prev:
                if prev is not None and before_prev is not None and prev_hash == before_prev[1]:
                    raise AuditChainBroken(
                        f"record {prev[0]} was inserted: record {record_id} was written right after record "
                        f"{before_prev[0]}", record_id=prev[0])  # fmt: skip
                if prev is None:
                    raise AuditChainBroken(
                        f"record {record_id} was changed: it is the first record but does not start the chain",
                        record_id=record_id,
                    )
                if record_hash(values, prev_hash) != stored:
                    raise AuditChainBroken(
                        f"record {record_id} was changed or inserted: it neither follows record {prev[0]} nor "
                        "matches its own hash", record_id=record_id)  # fmt: skip
                raise AuditChainBroken(
                    f"the chain breaks between record {prev[0]} and record {record_id}: record {prev[0]} was changed "
                    f"and its hash recomputed to hide it, or it replaced the record that was there",
                    record_id=prev[0],
                )
            if record_hash(values, prev_hash) != stored:
                raise AuditChainBroken(
                    f"record {record_id} was changed after it was written: its content no longer matches its hash",
                    record_id=record_id,
                )
            before_prev, prev = prev, (record_id, str(stored))
            count += 1
        head = meta.get("head")
        if head is not None:
            head_id_text, _, head_hash = head.partition(":")
            head_id = int(head_id_text)
            last_id = prev[0] if prev else 0
            if last_id < head_id:
                gone = f"record {head_id}" if last_id + 1 == head_id else f"records {last_id + 1} to {head_id}"
                raise AuditChainBroken(
                    f"{gone} {'was' if last_id + 1 == head_id else 'were'} removed from the end of the log "
                    f"(the last record written was {head_id})", record_id=last_id + 1)  # fmt: skip
            if last_id > head_id:
                raise AuditChainBroken(
                    f"record {head_id + 1} was inserted: the last record scsctl wrote is record {head_id}",
                    record_id=head_id + 1,
                )
            if prev is not None and prev[1] != head_hash:
                raise AuditChainBroken(
                    f"record {last_id} was changed, or replaced: it is not the last record scsctl wrote",
                    record_id=last_id,
                )
        elif prev is not None:
            raise AuditChainBroken("the log's head (the last record written) is missing from its meta table",
                                   record_id=prev[0])  # fmt: skip
        if anchor is not None:
            anchor_id, anchor_hash = anchor
            row = self._db.execute("SELECT hash FROM audit WHERE id = ?", (anchor_id,)).fetchone()
            if row is None or row[0] != anchor_hash.lower():
                raise AuditChainBroken(
                    f"record {anchor_id} no longer has the hash it had when it was noted "
                    f"({anchor_hash[:16]}...): the log was rewritten from record {anchor_id} on, or before it",
                    record_id=anchor_id,
                )
        waiting = len(self._waiting())
        return ChainReport(count, prev[0] if prev else 0, prev[1] if prev else GENESIS_HASH, upgraded, waiting)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _pending_values(item: pending.PendingRecord, columns: Sequence[str], mark: dict[str, Any]) -> dict[str, str]:
    """A journal record's ``columns`` as text, its detail marked with the journal it came from (and
    ``mark``), an unknown kind as ``error``: what a waiting or merged record shows."""
    values = {c: str(item.values.get(c, "")) for c in columns}
    try:
        detail = json.loads(values["detail"] or "{}")
    except ValueError:
        detail = {"text": values["detail"]}
    if not isinstance(detail, dict):
        detail = {"value": detail}
    detail["pending_journal"] = {"file": item.journal, "line": item.line, **mark}
    values["detail"] = json.dumps(detail, sort_keys=True)
    if values["kind"] not in KINDS:
        values["kind"] = "error"
    return values


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _record(row: Any) -> AuditRecord:
    values = dict(zip(_COLUMNS, row, strict=True))
    values["detail"] = json.loads(values["detail"])
    return AuditRecord(**values)


def _json_default(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.name  # enums read better than numbers in an audit trail
    if isinstance(value, tuple | list):
        return list(value)
    if hasattr(value, "__dataclass_fields__"):
        return {k: getattr(value, k) for k in value.__dataclass_fields__}
    return str(value)


def export(records: list[AuditRecord], fmt: str) -> str:
    """Records as CSV (detail as a JSON column) or as a JSON array."""
    if fmt == "json":
        return json.dumps([r.as_dict() for r in records], indent=2)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        columns = list(AuditRecord.__dataclass_fields__)
        writer.writerow(columns)
        for r in records:
            row = r.as_dict()
            row["detail"] = json.dumps(r.detail, sort_keys=True)
            writer.writerow([row[c] for c in columns])
        return out.getvalue()
    raise UsageError(f"unknown export format {fmt!r}: use csv or json")


def parse_since(text: str, *, utc: bool = False) -> datetime:
    """``--since`` values: an ISO date or time, or '2h', '30m', '7d'. A time without a zone is local
    time (UTC with ``utc``), as the times ``log show`` prints are."""
    from datetime import timedelta

    units = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
    if text and text[-1] in units and text[:-1].isascii() and text[:-1].isdigit():
        return datetime.now(UTC) - timedelta(**{units[text[-1]]: int(text[:-1])})
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"--since {text!r} is neither a date/time (2026-11-21, 2026-11-21T14:30) nor an age (2h, 30m, 7d)"
        ) from None
    if moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC) if utc else moment.astimezone()  # a naive time is taken as local

"""The audit log: every operator action, command, reply, device event and refusal, kept for good.

SQLite in write-ahead-log mode with ``synchronous=FULL``: ``record()`` returns only once the row is
committed and synced, so anything the user was told happened survives the process being killed at
any moment. A database that is locked, read-only or corrupt raises ``AuditError`` naming the file;
callers treat that as "the action must not happen" (STOP excepted: stopping always goes first)
and say which it was: not sent, or carried out but not recorded.

Heartbeats and status polls are not audit records: the wire capture has them.
"""

from __future__ import annotations

import csv
import getpass
import io
import json
import os
import sqlite3
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any, Literal

from .errors import AuditError, UsageError

Kind = Literal["action", "command", "reply", "event", "refusal", "error"]
KINDS: tuple[Kind, ...] = ("action", "command", "reply", "event", "refusal", "error")
DB_NAME = "scsctl.sqlite3"
SCHEMA_VERSION = 1

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
    detail TEXT NOT NULL
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


def default_operator() -> str:
    env = os.environ.get("SCSCTL_OPERATOR")
    if env:
        return env
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def open_database(path: Path, *, timeout_s: float = 2.0) -> sqlite3.Connection:
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

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "time_utc": self.time_utc,
            "session": self.session,
            "operator": self.operator,
            "role": self.role,
            "device_serial": self.device_serial,
            "kind": self.kind,
            "name": self.name,
            "detail": self.detail,
        }


class AuditLog:
    """One connection to the audit database; ``record`` is safe from several threads."""

    def __init__(
        self, path: str | Path, *, operator: str | None = None, role: str = "technician", read_only: bool = False
    ) -> None:
        """Open (and create) the log; ``read_only`` opens an existing one for reading only."""
        self.path = Path(path)
        self.operator = operator or default_operator()
        self.role = role
        self.device_serial = ""
        self.session = uuid.uuid4().hex[:12]
        self._lock = threading.Lock()
        try:
            if read_only:
                uri = f"{self.path.resolve().as_uri()}?mode=ro"
                self._db = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None, timeout=2.0)
                self._db.execute("SELECT count(*) FROM audit")
                return
            self._db = open_database(self.path)
            self._db.executescript(_SCHEMA)
            self._db.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )
            self._check_writable()
        except (sqlite3.Error, OSError) as err:
            raise self._error("cannot open", err) from err

    @classmethod
    def in_dir(cls, data_dir: str | Path | None, **kwargs: Any) -> AuditLog:
        """The log in ``data_dir`` (``--data-dir``), or in the default data directory."""
        return cls(Path(data_dir or default_data_dir()) / DB_NAME, **kwargs)

    def _check_writable(self) -> None:
        # A read-only file opens fine and only fails on the first write: find out now, not mid-action.
        self._db.execute("BEGIN IMMEDIATE")
        self._db.execute("ROLLBACK")

    def _error(self, what: str, err: BaseException) -> AuditError:
        return AuditError(f"audit log {self.path}: {what} ({err}): {database_problem(err)}.")

    def record(self, kind: Kind, name: str, detail: Mapping[str, Any] | None = None) -> int:
        """Write one record and return its id once it is committed to disk."""
        if kind not in KINDS:
            raise ValueError(f"unknown audit record kind {kind!r}")
        row = (
            datetime.now(UTC).isoformat(timespec="microseconds"),
            self.session,
            self.operator,
            self.role,
            self.device_serial,
            kind,
            name,
            json.dumps(dict(detail or {}), sort_keys=True, default=_json_default),
        )
        with self._lock:
            try:
                cur = self._db.execute(
                    "INSERT INTO audit (time_utc, session, operator, role, device_serial, kind, name, detail)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    row,
                )
            except sqlite3.Error as err:
                raise self._error("cannot write", err) from err
        return int(cur.lastrowid or 0)

    def query(
        self,
        *,
        since: datetime | None = None,
        device: str | None = None,
        session: str | None = None,
        limit: int | None = None,
    ) -> list[AuditRecord]:
        sql = "SELECT id, time_utc, session, operator, role, device_serial, kind, name, detail FROM audit"
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
            except sqlite3.Error as err:
                raise self._error("cannot read", err) from err
        return [_record(row) for row in reversed(rows)]

    def last(self, kind: Kind, name: str, *, device: str) -> AuditRecord | None:
        """The newest record of this kind and name for a device, or None."""
        sql = (
            "SELECT id, time_utc, session, operator, role, device_serial, kind, name, detail FROM audit"
            " WHERE kind = ? AND name = ? AND device_serial = ? ORDER BY id DESC LIMIT 1"
        )
        with self._lock:
            try:
                row = self._db.execute(sql, (kind, name, device)).fetchone()
            except sqlite3.Error as err:
                raise self._error("cannot read", err) from err
        return None if row is None else _record(row)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _record(row: Any) -> AuditRecord:
    return AuditRecord(
        id=row[0], time_utc=row[1], session=row[2], operator=row[3], role=row[4],
        device_serial=row[5], kind=row[6], name=row[7], detail=json.loads(row[8]),
    )  # fmt: skip


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


def parse_since(text: str) -> datetime:
    """``--since`` values: an ISO date or time (UTC unless it says otherwise), or '2h', '30m', '7d'."""
    from datetime import timedelta

    units = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
    if text and text[-1] in units and text[:-1].isdigit():
        return datetime.now(UTC) - timedelta(**{units[text[-1]]: int(text[:-1])})
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"--since {text!r} is neither a date/time (2026-11-21, 2026-11-21T14:30) nor an age (2h, 30m, 7d)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

"""Trials kept in the audit log's SQLite database, in tables of their own.

The rules (what a trial, a diary day or a counter reading may be) are ``rules``'s, checked here
before anything is written; this module only stores. The guarantees are the audit log's: WAL mode
with ``synchronous=FULL``, and every method that stores something returns only once its one
transaction is committed, so what a caller was told is saved survives the process being killed. A
locked, read-only or damaged database raises ``AuditError`` naming the file; every check on the
input runs before the transaction, and a failed transaction is rolled back, so bad input or a
failing disk stores nothing.

Tables (``trial_`` prefix; the audit log's own tables are untouched)::

    trial                 one row per trial
    trial_diary           the present version of each diary day (one row per trial and date)
    trial_diary_history   every replaced version of a diary day, with who replaced it, when, why
    trial_program         each program tried: read-back settings, coverage, comfort, notes
    trial_usage           readings of the device's stimulation counter (diary hours are differences)
    trial_meta            schema version
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import date, datetime
from pathlib import Path
from typing import Any

from ..audit import DB_NAME, database_problem, default_data_dir, default_operator, open_database
from ..errors import AuditError, UsageError
from ..text import check_name
from .dates import utc_now_text
from .models import (
    DEFAULT_GOAL_PCT,
    Analgesics,
    DeviceUsage,
    DiaryEntry,
    DiaryRevision,
    ProgramCapture,
    ProgramTest,
    StimulationSource,
    Trial,
    UsageReading,
    check_comfort,
    check_nrs,
    program_fields,
    program_from_fields,
)
from .rules import (
    MAX_COUNTER_GAP_H,
    MIN_COUNTER_GAP_H,
    DiaryDayTaken,
    check_device_serial,
    check_diary_day,
    check_profile_name,
    check_same_device,
    check_seconds,
    counter_difference,
    parse_analgesics,
    plan_trial,
    program_number,
    regions_of,
    same_content,
)

__all__ = ["MAX_COUNTER_GAP_H", "MIN_COUNTER_GAP_H", "SCHEMA_VERSION", "TrialStore"]

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS trial_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS trial (
    trial_id TEXT PRIMARY KEY,
    device_serial TEXT NOT NULL,
    profile TEXT NOT NULL,
    start_date TEXT NOT NULL,
    planned_end_date TEXT NOT NULL,
    baseline_nrs INTEGER NOT NULL CHECK (baseline_nrs BETWEEN 1 AND 10),
    pain_regions TEXT NOT NULL,
    goal_reduction_pct INTEGER NOT NULL CHECK (goal_reduction_pct BETWEEN 1 AND 100),
    created_utc TEXT NOT NULL,
    created_by TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS trial_diary (
    trial_id TEXT NOT NULL REFERENCES trial (trial_id),
    entry_date TEXT NOT NULL,
    nrs INTEGER NOT NULL CHECK (nrs BETWEEN 0 AND 10),
    stimulation_s INTEGER CHECK (stimulation_s IS NULL OR stimulation_s >= 0),
    stimulation_source TEXT CHECK (stimulation_source IS NULL OR stimulation_source IN ('device', 'patient')),
    usage_since_utc TEXT,
    analgesics TEXT CHECK (analgesics IS NULL OR analgesics IN ('less', 'same', 'more')),
    notes TEXT NOT NULL,
    recorded_utc TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    revision INTEGER NOT NULL,
    PRIMARY KEY (trial_id, entry_date)
);
CREATE TABLE IF NOT EXISTS trial_diary_history (
    id INTEGER PRIMARY KEY,
    trial_id TEXT NOT NULL REFERENCES trial (trial_id),
    entry_date TEXT NOT NULL,
    nrs INTEGER NOT NULL,
    stimulation_s INTEGER,
    stimulation_source TEXT,
    usage_since_utc TEXT,
    analgesics TEXT,
    notes TEXT NOT NULL,
    recorded_utc TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    revision INTEGER NOT NULL,
    replaced_utc TEXT NOT NULL,
    replaced_by TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS trial_diary_history_day ON trial_diary_history (trial_id, entry_date, revision);
CREATE TABLE IF NOT EXISTS trial_program (
    id INTEGER PRIMARY KEY,
    trial_id TEXT NOT NULL REFERENCES trial (trial_id),
    number INTEGER NOT NULL,
    session_date TEXT NOT NULL,
    recorded_utc TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    device_serial TEXT NOT NULL,
    settings TEXT NOT NULL,
    read_utc TEXT NOT NULL,
    running INTEGER NOT NULL,
    setpoint_ua INTEGER,
    tentative INTEGER NOT NULL,
    source TEXT NOT NULL,
    regions TEXT NOT NULL,
    comfort INTEGER CHECK (comfort IS NULL OR comfort BETWEEN 1 AND 5),
    notes TEXT NOT NULL,
    left_active INTEGER NOT NULL,
    UNIQUE (trial_id, number)
);
CREATE TABLE IF NOT EXISTS trial_usage (
    id INTEGER PRIMARY KEY,
    trial_id TEXT NOT NULL REFERENCES trial (trial_id),
    device_serial TEXT NOT NULL,
    stimulation_s INTEGER NOT NULL CHECK (stimulation_s >= 0),
    read_utc TEXT NOT NULL,
    context TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS trial_usage_time ON trial_usage (trial_id, read_utc);
"""

_DIARY_COLUMNS = (
    "trial_id, entry_date, nrs, stimulation_s, stimulation_source, usage_since_utc, analgesics, notes, "
    "recorded_utc, recorded_by, revision"
)
_TRIAL_COLUMNS = (
    "trial_id, device_serial, profile, start_date, planned_end_date, baseline_nrs, pain_regions, "
    "goal_reduction_pct, created_utc, created_by"
)
_PROGRAM_COLUMNS = (
    "id, trial_id, number, session_date, recorded_utc, recorded_by, device_serial, settings, read_utc, running, "
    "setpoint_ua, tentative, source, regions, comfort, notes, left_active"
)


def _local_now() -> datetime:
    return datetime.now().astimezone()


class TrialStore:
    """Trials, diaries and programming sessions. Thread-safe; every write is one committed transaction.

    ``now`` returns the present as an aware datetime; its own time zone decides what "today" is (the
    patient's calendar day). Tests pass a fixed one. ``timeout_s``: how long a write waits for a
    database another program holds locked, as the audit log waits.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        operator: str | None = None,
        now: Callable[[], datetime] = _local_now,
        timeout_s: float = 2.0,
    ) -> None:
        self.path = Path(path)
        self.operator = default_operator() if operator is None else check_name(operator)
        self._now = now
        self._lock = threading.RLock()
        try:
            self._db = open_database(self.path, timeout_s=timeout_s)
        except (sqlite3.Error, OSError) as err:
            raise self._error("cannot open", err) from err
        try:
            self._db.execute("PRAGMA foreign_keys=ON")
            if not self._has_schema():
                with self._transaction():
                    for statement in _SCHEMA.split(";"):
                        if statement.strip():
                            self._db.execute(statement)
                    self._db.execute(
                        "INSERT OR IGNORE INTO trial_meta (key, value) VALUES ('schema_version', ?)",
                        (str(SCHEMA_VERSION),),
                    )
        except AuditError:
            self._db.close()
            raise
        except sqlite3.Error as err:
            self._db.close()
            raise self._error("cannot open", err) from err

    @classmethod
    def in_dir(cls, data_dir: str | Path | None, **kwargs: Any) -> TrialStore:
        """The store in ``data_dir`` (``--data-dir``), or in the default data directory."""
        return cls(Path(data_dir or default_data_dir()) / DB_NAME, **kwargs)

    # --- time ----------------------------------------------------------------------------------------

    def now(self) -> datetime:
        return self._now()

    def today(self) -> date:
        return self._now().date()

    # --- trials --------------------------------------------------------------------------------------

    def new_trial(
        self,
        *,
        device_serial: str,
        profile: str,
        baseline_nrs: int,
        start_date: date | None = None,
        planned_end_date: date | None = None,
        pain_regions: tuple[str, ...] | str = (),
        goal_reduction_pct: int = DEFAULT_GOAL_PCT,
        trial_id: str | None = None,
        usage: DeviceUsage | None = None,
    ) -> Trial:
        """Create a trial; ``usage`` (a counter reading from its device) starts the usage record."""
        serial = check_device_serial(device_serial)
        profile = check_profile_name(profile)
        start, end, baseline, regions, chosen_id = self.check_new_trial(
            baseline_nrs=baseline_nrs,
            start_date=start_date,
            planned_end_date=planned_end_date,
            pain_regions=pain_regions,
            goal_reduction_pct=goal_reduction_pct,
            trial_id=trial_id,
        )
        if usage is not None and usage.device_serial != serial:
            raise UsageError(
                f"the usage reading is from device {usage.device_serial}, not the new trial's device ({serial}): "
                "connect to the trial's device"
            )
        created = utc_now_text(self.now())
        with self._lock, self._transaction():
            if chosen_id is None:
                chosen_id = self._next_id(self.today().year)
            elif self._row("SELECT 1 FROM trial WHERE trial_id = ?", (chosen_id,)) is not None:
                raise UsageError(f"trial {chosen_id} exists already: choose another id (or leave --id out)")
            self._db.execute(
                f"INSERT INTO trial ({_TRIAL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (chosen_id, serial, profile, start.isoformat(), end.isoformat(), baseline,
                 json.dumps(list(regions)), goal_reduction_pct, created, self.operator),
            )  # fmt: skip
            if usage is not None:
                self._insert_usage(chosen_id, usage, "new")
        return self.trial(chosen_id)

    def check_new_trial(
        self,
        *,
        baseline_nrs: int,
        start_date: date | None = None,
        planned_end_date: date | None = None,
        pain_regions: tuple[str, ...] | str = (),
        goal_reduction_pct: int = DEFAULT_GOAL_PCT,
        trial_id: str | None = None,
    ) -> tuple[date, date, int, tuple[str, ...], str | None]:
        """``new_trial``'s checks without storing: (start, planned end, baseline, pain regions, id or None).

        A UI calls it before talking to the device, so bad input is refused before anything happens.
        """
        plan = plan_trial(
            self.today(),
            baseline_nrs=baseline_nrs,
            start_date=start_date,
            planned_end_date=planned_end_date,
            pain_regions=pain_regions,
            goal_reduction_pct=goal_reduction_pct,
            trial_id=trial_id,
        )
        chosen_id = plan.trial_id
        if chosen_id is not None and self._row("SELECT 1 FROM trial WHERE trial_id = ?", (chosen_id,)) is not None:
            raise UsageError(f"trial {chosen_id} exists already: choose another id (or leave --id out)")
        return plan.start_date, plan.planned_end_date, plan.baseline_nrs, plan.pain_regions, chosen_id

    def _next_id(self, year: int) -> str:
        prefix = f"T-{year}-"
        numbers = [
            int(row[0][len(prefix) :])
            for row in self._db.execute("SELECT trial_id FROM trial WHERE trial_id LIKE ?", (prefix + "%",))
            if row[0][len(prefix) :].isdigit()
        ]
        return f"{prefix}{max(numbers, default=0) + 1:04d}"

    def trial(self, trial_id: str) -> Trial:
        """The trial with this id; ``UsageError`` naming the known ids when there is none."""
        row = self._row(f"SELECT {_TRIAL_COLUMNS} FROM trial WHERE trial_id = ?", (trial_id.strip(),))
        if row is None:
            known = [t.trial_id for t in self.trials()]
            listing = f"known: {', '.join(known[-5:])}" if known else "none recorded yet"
            raise UsageError(f"no trial {trial_id!r} in {self.path} ({listing}; `scsctl trial list` shows them)")
        return _trial(row)

    def trials(self) -> list[Trial]:
        """Every trial, oldest first."""
        return [_trial(r) for r in self._rows(f"SELECT {_TRIAL_COLUMNS} FROM trial ORDER BY created_utc, trial_id")]

    # --- diary ---------------------------------------------------------------------------------------

    def add_diary(
        self,
        trial_id: str,
        entry_date: date,
        nrs: int,
        *,
        stimulation_s: int | None = None,
        usage: DeviceUsage | None = None,
        analgesics: Analgesics | str | None = None,
        notes: str = "",
    ) -> DiaryEntry:
        """Add the diary entry of one day (a late one with its real date).

        Hours of stimulation: ``stimulation_s`` as the patient reports them; else, with ``usage``
        (a counter reading taken now), the counter's growth since the newest earlier reading that
        is ``MIN_COUNTER_GAP_H`` to ``MAX_COUNTER_GAP_H`` old, for an entry about today or
        yesterday. Every entry stored with a reading keeps it, as the start of a later day's
        difference; a refused entry keeps nothing (bad input changes nothing).
        """
        trial = self.trial(trial_id)
        day = self.check_day(trial, entry_date)
        score = check_nrs(nrs)
        drug = parse_analgesics(analgesics)
        seconds = check_seconds(stimulation_s)
        if usage is not None:
            check_same_device(trial, usage.device_serial, "the usage reading is from device")
        with self._lock, self._transaction():
            if self._row("SELECT 1 FROM trial_diary WHERE trial_id = ? AND entry_date = ?",
                         (trial.trial_id, day.isoformat())) is not None:  # fmt: skip
                raise DiaryDayTaken(trial.trial_id, day)
            source: StimulationSource | None = "patient" if seconds is not None else None
            since: str | None = None
            if seconds is None and usage is not None:
                seconds, since = self._counter_difference(trial, day, usage)
                source = "device"
            entry = DiaryEntry(
                trial.trial_id, day, score, seconds, source, since, drug, notes.strip(),
                utc_now_text(self.now()), self.operator, 1,
            )  # fmt: skip
            self._insert_diary("trial_diary", entry)
            if usage is not None:
                self._insert_usage(trial.trial_id, usage, "diary")
        return entry

    def edit_diary(
        self,
        trial_id: str,
        entry_date: date,
        *,
        nrs: int | None = None,
        stimulation_s: int | None = None,
        analgesics: Analgesics | str | None = None,
        notes: str | None = None,
        reason: str = "",
    ) -> DiaryEntry:
        """Change a day's entry; the version it replaces goes to the history. None leaves a field as it is.

        Hours given here are the patient's (the device counter is read only for new entries).
        """
        trial = self.trial(trial_id)
        day = entry_date
        score = None if nrs is None else check_nrs(nrs)
        drug = parse_analgesics(analgesics)
        seconds = check_seconds(stimulation_s)
        if score is None and seconds is None and drug is None and notes is None:
            raise UsageError("nothing to change: give the new pain score, hours, analgesics or notes")
        with self._lock, self._transaction():
            old = self._diary_row(trial.trial_id, day)
            if old is None:
                raise UsageError(f"trial {trial.trial_id} has no diary entry for {day} to edit (add it first)")
            new = DiaryEntry(
                trial.trial_id,
                day,
                old.nrs if score is None else score,
                old.stimulation_s if seconds is None else seconds,
                old.stimulation_source if seconds is None else "patient",
                old.usage_since_utc if seconds is None else None,
                old.analgesics if drug is None else drug,
                old.notes if notes is None else notes.strip(),
                utc_now_text(self.now()),
                self.operator,
                old.revision + 1,
            )
            if same_content(old, new):
                raise UsageError(f"the entry for {day} already holds these values: nothing changed")
            self._db.execute(
                f"INSERT INTO trial_diary_history ({_DIARY_COLUMNS}, replaced_utc, replaced_by, reason)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*_diary_values(old), new.recorded_utc, self.operator, reason.strip()),
            )
            self._db.execute(
                "UPDATE trial_diary SET nrs = ?, stimulation_s = ?, stimulation_source = ?, usage_since_utc = ?,"
                " analgesics = ?, notes = ?, recorded_utc = ?, recorded_by = ?, revision = ?"
                " WHERE trial_id = ? AND entry_date = ?",
                (*_diary_values(new)[2:], trial.trial_id, day.isoformat()),
            )
        return new

    def diary(self, trial_id: str) -> list[DiaryEntry]:
        """The present version of every diary day, by date."""
        trial = self.trial(trial_id)
        rows = self._rows(
            f"SELECT {_DIARY_COLUMNS} FROM trial_diary WHERE trial_id = ? ORDER BY entry_date", (trial.trial_id,)
        )
        return [_diary(r) for r in rows]

    def diary_entry(self, trial_id: str, entry_date: date) -> DiaryEntry | None:
        return self._diary_row(self.trial(trial_id).trial_id, entry_date)

    def diary_history(self, trial_id: str, entry_date: date | None = None) -> list[DiaryRevision]:
        """Replaced versions of diary entries (of one day, or all), oldest first within each day."""
        trial = self.trial(trial_id)
        sql = f"SELECT {_DIARY_COLUMNS}, replaced_utc, replaced_by, reason FROM trial_diary_history WHERE trial_id = ?"
        args: list[Any] = [trial.trial_id]
        if entry_date is not None:
            sql += " AND entry_date = ?"
            args.append(entry_date.isoformat())
        sql += " ORDER BY entry_date, revision, id"
        return [DiaryRevision(_diary(r[:11]), r[11], r[12], r[13]) for r in self._rows(sql, tuple(args))]

    # --- programming sessions ------------------------------------------------------------------------

    def record_program(
        self,
        trial_id: str,
        capture: ProgramCapture,
        *,
        regions: tuple[str, ...] | str,
        comfort: int | None = None,
        notes: str = "",
        left_active: bool = False,
        usage: DeviceUsage | None = None,
    ) -> ProgramTest:
        """Record a program tried today, with the paresthesia coverage the patient reported for it.

        ``capture`` is the device's read-back (``capture_program``); it must come from the trial's
        device. ``left_active`` marks it as the program left active at the end of today's session
        (replacing an earlier mark of the same day).
        """
        trial = self.trial(trial_id)
        check_same_device(trial, capture.device_serial, "the program was read from device")
        if usage is not None:
            check_same_device(trial, usage.device_serial, "the usage reading is from device")
        covered = regions_of(regions, "coverage")
        rating = check_comfort(comfort)
        today = self.today()
        if today < trial.start_date:
            raise UsageError(f"trial {trial.trial_id} starts on {trial.start_date}: record programs from then on")
        recorded = utc_now_text(self.now())
        with self._lock, self._transaction():
            number = self._scalar("SELECT COALESCE(MAX(number), 0) + 1 FROM trial_program WHERE trial_id = ?",
                                  (trial.trial_id,))  # fmt: skip
            if left_active:
                self._db.execute(
                    "UPDATE trial_program SET left_active = 0 WHERE trial_id = ? AND session_date = ?",
                    (trial.trial_id, today.isoformat()),
                )
            cur = self._db.execute(
                f"INSERT INTO trial_program ({_PROGRAM_COLUMNS.removeprefix('id, ')})"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    trial.trial_id, number, today.isoformat(), recorded, self.operator, capture.device_serial,
                    json.dumps(program_fields(capture.program)), capture.read_utc, int(capture.running),
                    capture.setpoint_ua, int(capture.tentative), capture.source, json.dumps(list(covered)),
                    rating, notes.strip(), int(left_active),
                ),
            )  # fmt: skip
            test_id = int(cur.lastrowid or 0)
            if usage is not None:
                self._insert_usage(trial.trial_id, usage, "coverage")
        return self._program(test_id, trial)

    def set_left_active(self, trial_id: str, label: str | int) -> ProgramTest:
        """Mark a program tried (``P2`` or 2) as the one left active at the end of its session."""
        trial = self.trial(trial_id)
        number = program_number(label)
        with self._lock, self._transaction():
            row = self._row("SELECT id, session_date FROM trial_program WHERE trial_id = ? AND number = ?",
                            (trial.trial_id, number))  # fmt: skip
            if row is None:
                raise UsageError(f"trial {trial.trial_id} has no program P{number}")
            self._db.execute("UPDATE trial_program SET left_active = (id = ?) WHERE trial_id = ? AND session_date = ?",
                             (row[0], trial.trial_id, row[1]))  # fmt: skip
        return self._program(int(row[0]), trial)

    def program_tests(self, trial_id: str) -> list[ProgramTest]:
        """Every program tried in the trial, in the order tried."""
        trial = self.trial(trial_id)
        rows = self._rows(f"SELECT {_PROGRAM_COLUMNS} FROM trial_program WHERE trial_id = ? ORDER BY number",
                          (trial.trial_id,))  # fmt: skip
        return [_program_test(r, trial) for r in rows]

    # --- usage counter -------------------------------------------------------------------------------

    def record_usage(self, trial_id: str, usage: DeviceUsage) -> UsageReading:
        """Keep a counter reading (the start of the next diary day's difference)."""
        trial = self.trial(trial_id)
        check_same_device(trial, usage.device_serial, "the usage reading is from device")
        with self._lock, self._transaction():
            self._insert_usage(trial.trial_id, usage, "reading")
        return UsageReading(trial.trial_id, usage.device_serial, usage.stimulation_s, usage.read_utc, "reading")

    def usage_readings(self, trial_id: str) -> list[UsageReading]:
        trial = self.trial(trial_id)
        rows = self._rows(
            "SELECT trial_id, device_serial, stimulation_s, read_utc, context FROM trial_usage"
            " WHERE trial_id = ? ORDER BY read_utc, id",
            (trial.trial_id,),
        )
        return [UsageReading(r[0], r[1], int(r[2]), r[3], r[4]) for r in rows]

    # --- session -------------------------------------------------------------------------------------

    def check_writable(self) -> None:
        """Raise ``AuditError`` now if nothing could be stored (before talking to a device, say)."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.execute("ROLLBACK")
            except sqlite3.Error as err:
                raise self._error("cannot write", err) from err

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> TrialStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- internals -----------------------------------------------------------------------------------

    def check_day(self, trial: Trial, day: date) -> date:
        """``day`` if a diary entry may be about it: not before the trial, not in the future."""
        return check_diary_day(trial, day, self.today())

    def _counter_difference(self, trial: Trial, day: date, usage: DeviceUsage) -> tuple[int, str]:
        """Stimulation since the previous counter reading, when that reading makes it one day's figure."""
        readings = self._rows(
            "SELECT stimulation_s, read_utc FROM trial_usage WHERE trial_id = ? AND device_serial = ?",
            (trial.trial_id, usage.device_serial),
        )
        return counter_difference(trial, day, self.today(), usage, ((int(r[0]), str(r[1])) for r in readings))

    def _insert_usage(self, trial_id: str, usage: DeviceUsage, context: str) -> None:
        if usage.stimulation_s < 0:
            raise UsageError(f"usage counter {usage.stimulation_s} s cannot be negative")
        self._db.execute(
            "INSERT INTO trial_usage (trial_id, device_serial, stimulation_s, read_utc, context)"
            " VALUES (?, ?, ?, ?, ?)",
            (trial_id, usage.device_serial, usage.stimulation_s, usage.read_utc, context),
        )

    def _insert_diary(self, table: str, entry: DiaryEntry) -> None:
        self._db.execute(
            f"INSERT INTO {table} ({_DIARY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", _diary_values(entry)
        )

    def _diary_row(self, trial_id: str, day: date) -> DiaryEntry | None:
        row = self._row(
            f"SELECT {_DIARY_COLUMNS} FROM trial_diary WHERE trial_id = ? AND entry_date = ?",
            (trial_id, day.isoformat()),
        )
        return None if row is None else _diary(row)

    def _program(self, test_id: int, trial: Trial) -> ProgramTest:
        row = self._row(f"SELECT {_PROGRAM_COLUMNS} FROM trial_program WHERE id = ?", (test_id,))
        assert row is not None
        return _program_test(row, trial)

    def _has_schema(self) -> bool:
        with self._lock:
            row = self._db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'trial_usage'")
            return row.fetchone() is not None

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE .. COMMIT; a check that fails inside rolls everything back."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as err:
                raise self._error("cannot write", err) from err
            try:
                yield
                self._db.execute("COMMIT")
            except BaseException as exc:
                # The transaction may be gone already; the original error is the one to report.
                with suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise self._error("cannot write", exc) from exc
                raise

    def _rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        with self._lock:
            try:
                return self._db.execute(sql, args).fetchall()
            except sqlite3.Error as err:
                raise self._error("cannot read", err) from err

    def _row(self, sql: str, args: tuple[Any, ...] = ()) -> Any:
        with self._lock:
            try:
                return self._db.execute(sql, args).fetchone()
            except sqlite3.Error as err:
                raise self._error("cannot read", err) from err

    def _scalar(self, sql: str, args: tuple[Any, ...]) -> int:
        row = self._row(sql, args)
        return int(row[0])

    def _error(self, what: str, err: BaseException) -> AuditError:
        # The audit log's wording, so both say the same about the same file.
        return AuditError(f"trial records in {self.path}: {what} ({err}): {database_problem(err)}. Nothing was stored.")


# --- row conversion ----------------------------------------------------------------------------------


def _trial(row: Any) -> Trial:
    return Trial(
        trial_id=row[0],
        device_serial=row[1],
        profile=row[2],
        start_date=date.fromisoformat(row[3]),
        planned_end_date=date.fromisoformat(row[4]),
        baseline_nrs=int(row[5]),
        pain_regions=tuple(json.loads(row[6])),
        goal_reduction_pct=int(row[7]),
        created_utc=row[8],
        created_by=row[9],
    )


def _diary(row: Any) -> DiaryEntry:
    return DiaryEntry(
        trial_id=row[0],
        entry_date=date.fromisoformat(row[1]),
        nrs=int(row[2]),
        stimulation_s=None if row[3] is None else int(row[3]),
        stimulation_source=row[4],
        usage_since_utc=row[5],
        analgesics=None if row[6] is None else Analgesics(row[6]),
        notes=row[7],
        recorded_utc=row[8],
        recorded_by=row[9],
        revision=int(row[10]),
    )


def _diary_values(entry: DiaryEntry) -> tuple[Any, ...]:
    return (
        entry.trial_id, entry.entry_date.isoformat(), entry.nrs, entry.stimulation_s, entry.stimulation_source,
        entry.usage_since_utc, None if entry.analgesics is None else entry.analgesics.value, entry.notes,
        entry.recorded_utc, entry.recorded_by, entry.revision,
    )  # fmt: skip


def _program_test(row: Any, trial: Trial) -> ProgramTest:
    capture = ProgramCapture(
        device_serial=row[6],
        program=program_from_fields(json.loads(row[7])),
        read_utc=row[8],
        running=bool(row[9]),
        setpoint_ua=None if row[10] is None else int(row[10]),
        tentative=bool(row[11]),
        source=row[12],
    )
    return ProgramTest(
        test_id=int(row[0]),
        trial_id=row[1],
        number=int(row[2]),
        session_date=date.fromisoformat(row[3]),
        recorded_utc=row[4],
        recorded_by=row[5],
        capture=capture,
        regions=tuple(json.loads(row[13])),
        comfort=None if row[14] is None else int(row[14]),
        notes=row[15],
        left_active=bool(row[16]),
        pain_regions=trial.pain_regions,
    )

"""Trials, diaries and their history in the audit database: what is reported saved is saved, bad input
stores nothing, and a database that cannot be written says so."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from datetime import date, timedelta
from pathlib import Path

import pytest

from scsctl.audit import DB_NAME, AuditLog
from scsctl.errors import AuditError, UsageError
from scsctl.trial import Analgesics, DeviceUsage, TrialStore, hours_to_s, parse_day, parse_nrs

from .conftest import TODAY, Clock, NewTrial, day

SERIAL = "EMU5101-00000000"


def rows(tmp_path: Path, table: str) -> int:
    with sqlite3.connect(tmp_path / DB_NAME) as db:
        return int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


# --- trials ------------------------------------------------------------------------------------------


def test_a_new_trial_gets_the_next_opaque_id_and_a_seven_day_plan(store: TrialStore) -> None:
    first = store.new_trial(device_serial=SERIAL, profile="tonic-burst-16", baseline_nrs=7)
    second = store.new_trial(device_serial=SERIAL, profile="tonic-burst-16", baseline_nrs=6, pain_regions="foot")
    assert (first.trial_id, second.trial_id) == ("T-2026-0001", "T-2026-0002")
    assert first.start_date == TODAY
    assert first.planned_end_date == TODAY + timedelta(days=6)  # days 1 to 7
    assert first.goal_reduction_pct == 50
    assert first.created_by == "tech-a"
    assert second.pain_regions == ("foot-left", "foot-right")
    assert [t.trial_id for t in store.trials()] == ["T-2026-0001", "T-2026-0002"]


@pytest.mark.parametrize("good", ["STUDY-042", "site3_p17", "T-2026-0099", "A12"])
def test_an_opaque_id_of_ones_own_is_accepted(store: TrialStore, good: str) -> None:
    assert store.new_trial(device_serial=SERIAL, profile="p", baseline_nrs=7, trial_id=good).trial_id == good


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        ("Smith", "looks like a name"),
        ("J.Doe", "looks like a name"),
        ("Jane Doe 1", "must be opaque"),
        ("P-12.05.1980", "contains a date"),
        ("1980-05-12x", "contains a date"),
        ("x", "must be opaque"),
    ],
)
def test_an_id_that_could_identify_a_patient_is_refused(tmp_path: Path, store: TrialStore, bad: str, why: str) -> None:
    with pytest.raises(UsageError, match=why):
        store.new_trial(device_serial=SERIAL, profile="p", baseline_nrs=7, trial_id=bad)
    assert rows(tmp_path, "trial") == 0


def test_a_duplicate_id_is_refused(store: TrialStore, new_trial: NewTrial) -> None:
    new_trial(trial_id="STUDY-1")
    with pytest.raises(UsageError, match="exists already"):
        new_trial(trial_id="STUDY-1")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"baseline_nrs": 0}, "leaves no pain to reduce"),
        ({"baseline_nrs": 11}, "outside the scale"),
        ({"baseline_nrs": -1}, "outside the scale"),
        ({"goal_reduction_pct": 0}, "1 to 100"),
        ({"goal_reduction_pct": 101}, "1 to 100"),
        ({"planned_end_date": day(0)}, "before the start"),
        ({"planned_end_date": day(40)}, "typing error"),
        ({"start_date": TODAY + timedelta(days=31)}, "more than 30 days ahead"),
        ({"pain_regions": "knees"}, "unknown body region"),
        ({"device_serial": " "}, "device serial"),
    ],
)
def test_bad_trial_input_is_named_and_nothing_is_stored(
    tmp_path: Path, new_trial: NewTrial, fields: dict[str, object], message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        new_trial(**fields)
    assert rows(tmp_path, "trial") == 0


def test_an_unknown_trial_id_names_the_known_ones(store: TrialStore, new_trial: NewTrial) -> None:
    new_trial()
    with pytest.raises(UsageError, match=r"no trial 'T-2026-0009'.*known: T-2026-0001"):
        store.add_diary("T-2026-0009", TODAY, 3)


# --- diary -------------------------------------------------------------------------------------------


def test_a_diary_entry_is_committed_before_it_is_returned(
    tmp_path: Path, store: TrialStore, new_trial: NewTrial
) -> None:
    tid = new_trial()
    entry = store.add_diary(tid, day(2), 5, stimulation_s=hours_to_s("21.5"), analgesics="same", notes="walked")
    other = sqlite3.connect(tmp_path / DB_NAME)  # another process would see the same
    assert other.execute("SELECT nrs, stimulation_s, analgesics, notes FROM trial_diary").fetchall() == [
        (5, 77400, "same", "walked")
    ]
    assert entry.stimulation_source == "patient"
    assert entry.stimulation_h == 21.5
    assert entry.recorded_late  # written on day 7 about day 2
    assert store.diary(tid) == [entry]


@pytest.mark.parametrize(
    ("entry_date", "nrs", "message"),
    [
        (day(3), 11, "outside the scale"),
        (day(3), -1, "outside the scale"),
        (day(0), 4, "before trial T-2026-0001 started"),
        (TODAY + timedelta(days=1), 4, "in the future"),
    ],
)
def test_bad_diary_input_is_named_and_nothing_is_stored(
    tmp_path: Path, store: TrialStore, new_trial: NewTrial, entry_date: date, nrs: int, message: str
) -> None:
    tid = new_trial()
    with pytest.raises(UsageError, match=message):
        store.add_diary(tid, entry_date, nrs)
    assert rows(tmp_path, "trial_diary") == 0


def test_other_bad_diary_values_are_refused(tmp_path: Path, store: TrialStore, new_trial: NewTrial) -> None:
    tid = new_trial()
    with pytest.raises(UsageError, match="less, the same or more"):
        store.add_diary(tid, day(3), 4, analgesics="fewer")
    with pytest.raises(UsageError, match="0 to 24 hours"):
        store.add_diary(tid, day(3), 4, stimulation_s=25 * 3600)
    with pytest.raises(UsageError, match="whole number from 0 to 10"):
        store.add_diary(tid, day(3), 4.5)  # type: ignore[arg-type]
    assert rows(tmp_path, "trial_diary") == 0


def test_values_as_written_on_the_command_line() -> None:
    assert parse_nrs("7") == 7
    with pytest.raises(UsageError, match="no fractions"):
        parse_nrs("5.5")
    assert hours_to_s("18") == 64800
    assert hours_to_s("0.25") == 900
    with pytest.raises(UsageError, match="0 to 24 hours"):
        hours_to_s("25")
    with pytest.raises(UsageError, match="not rounded"):
        hours_to_s("0.0001")
    with pytest.raises(UsageError, match="not a number"):
        hours_to_s("lots")
    assert parse_day("today-3", TODAY) == TODAY - timedelta(days=3)
    assert parse_day("yesterday", TODAY) == TODAY - timedelta(days=1)
    assert parse_day("2026-11-19", TODAY) == date(2026, 11, 19)
    with pytest.raises(UsageError, match="is not a date"):
        parse_day("last tuesday", TODAY)


def test_a_second_entry_for_a_day_is_refused_and_points_to_edit(store: TrialStore, new_trial: NewTrial) -> None:
    tid = new_trial()
    store.add_diary(tid, day(3), 4)
    with pytest.raises(UsageError, match="already: edit it instead"):
        store.add_diary(tid, day(3), 2)
    assert [e.nrs for e in store.diary(tid)] == [4]


def test_an_edit_keeps_every_old_value_in_the_history(store: TrialStore, new_trial: NewTrial, clock: Clock) -> None:
    tid = new_trial()
    first = store.add_diary(tid, day(3), 4, stimulation_s=20 * 3600, analgesics="same", notes="card")
    clock.now += timedelta(minutes=5)
    second = store.edit_diary(tid, day(3), nrs=5, reason="patient corrected the card")
    clock.now += timedelta(minutes=5)
    third = store.edit_diary(tid, day(3), analgesics=Analgesics.LESS, notes="")
    assert (second.nrs, second.stimulation_s, second.analgesics, second.notes, second.revision) == (
        5, 72000, Analgesics.SAME, "card", 2,
    )  # fmt: skip
    assert (third.nrs, third.analgesics, third.notes, third.revision) == (5, Analgesics.LESS, "", 3)
    assert store.diary(tid) == [third]
    history = store.diary_history(tid, day(3))
    assert [h.entry for h in history] == [first, second]
    assert [h.reason for h in history] == ["patient corrected the card", ""]
    assert history[0].replaced_utc == second.recorded_utc
    assert history[0].replaced_by == "tech-a"


def test_an_edit_that_changes_nothing_or_has_no_entry_is_refused(
    tmp_path: Path, store: TrialStore, new_trial: NewTrial
) -> None:
    tid = new_trial()
    with pytest.raises(UsageError, match="no diary entry for"):
        store.edit_diary(tid, day(3), nrs=3)
    store.add_diary(tid, day(3), 4)
    with pytest.raises(UsageError, match="nothing to change"):
        store.edit_diary(tid, day(3))
    with pytest.raises(UsageError, match="already holds these values"):
        store.edit_diary(tid, day(3), nrs=4)
    with pytest.raises(UsageError, match="outside the scale"):
        store.edit_diary(tid, day(3), nrs=12)
    assert rows(tmp_path, "trial_diary_history") == 0
    assert store.diary(tid)[0].revision == 1


# --- hours from the device's usage counter -----------------------------------------------------------


def reading(stimulation_s: int, at: str, serial: str = SERIAL) -> DeviceUsage:
    return DeviceUsage(serial, stimulation_s, at)


def test_hours_are_the_counters_difference_since_the_previous_reading(store: TrialStore, new_trial: NewTrial) -> None:
    tid = new_trial(usage=reading(1000, "2026-11-20T11:00:00+00:00"))
    entry = store.add_diary(tid, TODAY, 3, usage=reading(1000 + 20 * 3600, "2026-11-21T11:00:00+00:00"))
    assert entry.stimulation_s == 72000
    assert entry.stimulation_source == "device"
    assert entry.usage_since_utc == "2026-11-20T11:00:00+00:00"
    assert [r.context for r in store.usage_readings(tid)] == ["new", "diary"]


@pytest.mark.parametrize(
    ("previous", "now", "entry_day", "message"),
    [
        (None, reading(5000, "2026-11-21T11:00:00+00:00"), TODAY, "no earlier reading"),
        (reading(0, "2026-11-19T11:00:00+00:00"), reading(5000, "2026-11-21T11:00:00+00:00"), TODAY,
         "spans more than one day"),
        (reading(0, "2026-11-21T09:00:00+00:00"), reading(5000, "2026-11-21T11:00:00+00:00"), TODAY,
         "last read 2.0 h ago"),
        (reading(9000, "2026-11-20T11:00:00+00:00"), reading(5000, "2026-11-21T11:00:00+00:00"), TODAY,
         "went back from 9000 s to 5000 s"),
        (reading(0, "2026-11-20T11:00:00+00:00"), reading(5000, "2026-11-21T11:00:00+00:00"), day(3),
         "give the hours the patient reports for a late entry"),
        (reading(0, "2026-11-20T11:00:00+00:00"), reading(5000, "2026-11-21T11:00:00+00:00", "OTHER-1"), TODAY,
         "not trial T-2026-0001's device"),
    ],
)  # fmt: skip
def test_a_counter_difference_that_is_not_one_days_use_is_refused(
    tmp_path: Path,
    store: TrialStore,
    new_trial: NewTrial,
    previous: DeviceUsage | None,
    now: DeviceUsage,
    entry_day: date,
    message: str,
) -> None:
    tid = new_trial(usage=previous)
    with pytest.raises(UsageError, match=message):
        store.add_diary(tid, entry_day, 3, usage=now)
    assert rows(tmp_path, "trial_diary") == 0
    assert rows(tmp_path, "trial_usage") == (0 if previous is None else 1)


def test_readings_taken_minutes_ago_do_not_stand_for_a_day(store: TrialStore, new_trial: NewTrial) -> None:
    tid = new_trial(usage=reading(1000, "2026-11-20T10:00:00+00:00"))
    store.add_diary(tid, day(2), 5, stimulation_s=3600, usage=reading(60_000, "2026-11-21T10:55:00+00:00"))
    entry = store.add_diary(tid, TODAY, 3, usage=reading(61_000, "2026-11-21T11:00:00+00:00"))
    assert (entry.stimulation_s, entry.usage_since_utc) == (60_000, "2026-11-20T10:00:00+00:00")


def test_reported_hours_with_a_reading_keep_the_reading_for_the_next_day(
    store: TrialStore, new_trial: NewTrial
) -> None:
    tid = new_trial()
    entry = store.add_diary(tid, day(6), 4, stimulation_s=3600, usage=reading(100, "2026-11-20T18:00:00+00:00"))
    assert (entry.stimulation_s, entry.stimulation_source) == (3600, "patient")
    today = store.add_diary(tid, TODAY, 3, usage=reading(100 + 7200, "2026-11-21T11:00:00+00:00"))
    assert (today.stimulation_s, today.stimulation_source) == (7200, "device")


# --- the database ------------------------------------------------------------------------------------


def test_trials_share_the_audit_database_without_touching_its_records(tmp_path: Path, new_trial: NewTrial) -> None:
    log = AuditLog.in_dir(tmp_path)
    log.record("action", "connect", {})
    new_trial()
    assert [r.name for r in AuditLog.in_dir(tmp_path).query()] == ["connect"]
    with TrialStore.in_dir(tmp_path) as again:
        assert [t.trial_id for t in again.trials()] == ["T-2026-0001"]


def test_a_locked_database_is_an_error_naming_the_file_and_nothing_is_stored(tmp_path: Path, clock: Clock) -> None:
    store = TrialStore.in_dir(tmp_path, now=clock, timeout_s=0.05)
    tid = store.new_trial(device_serial=SERIAL, profile="p", baseline_nrs=7, start_date=day(1)).trial_id
    blocker = sqlite3.connect(tmp_path / DB_NAME, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(AuditError) as err:
            store.add_diary(tid, day(3), 4)
        with pytest.raises(AuditError, match="locked"):
            store.check_writable()
    finally:
        blocker.execute("ROLLBACK")
    assert str(tmp_path / DB_NAME) in str(err.value)
    assert "Nothing was stored" in str(err.value)
    assert store.diary(tid) == []


def test_a_damaged_database_is_an_error_saying_what_to_do(tmp_path: Path) -> None:
    (tmp_path / DB_NAME).write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(AuditError, match="damaged; move it aside"):
        TrialStore.in_dir(tmp_path)


def test_killing_the_process_loses_no_diary_entry_it_reported(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import os
        from datetime import date, timedelta
        from scsctl.trial import TrialStore
        store = TrialStore.in_dir({str(tmp_path)!r})
        start = date.today() - timedelta(days=20)
        tid = store.new_trial(device_serial="SN-1", profile="p", baseline_nrs=8, start_date=start,
                              planned_end_date=start + timedelta(days=25)).trial_id
        for i in range(20):
            store.add_diary(tid, start + timedelta(days=i), i % 11)
            print(i, flush=True)
        os.kill(os.getpid(), 9)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert proc.returncode == -9, proc.stderr
    reported = [int(x) for x in proc.stdout.split()]
    assert len(reported) == 20
    with TrialStore.in_dir(tmp_path) as store:
        (trial,) = store.trials()
        assert [e.nrs for e in store.diary(trial.trial_id)] == [i % 11 for i in reported]

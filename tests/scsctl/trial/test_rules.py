"""The trial's rules without a database, and the workflows both front ends run."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from scsctl.controller import connect
from scsctl.errors import UsageError
from scsctl.trial import (
    DeviceUsage,
    DiaryDayTaken,
    Trial,
    TrialStore,
    add_diary,
    check_diary_day,
    read_coverage,
    read_trial_usage,
)
from scsctl.trial.rules import check_diary_day as rule_day
from scsctl.trial.rules import counter_difference, plan_trial

from .conftest import NOW, TODAY, NewTrial, day


def _trial(serial: str = "EMU5101-00000000") -> Trial:
    return Trial("T-1", serial, "tonic-burst-16", day(1), day(7), 7, (), 50, NOW.isoformat(), "tech")


def test_a_plan_is_checked_against_the_day_it_is_made_on() -> None:
    plan = plan_trial(TODAY, baseline_nrs=7, pain_regions="foot-left, low-back-left")
    assert (plan.start_date, plan.planned_end_date) == (TODAY, TODAY + timedelta(days=6))
    assert plan.pain_regions == ("low-back-left", "foot-left")  # put in body order
    with pytest.raises(UsageError, match="more than 30 days ahead"):
        plan_trial(TODAY, baseline_nrs=7, start_date=TODAY + timedelta(days=31))
    with pytest.raises(UsageError, match="looks like a name"):
        plan_trial(TODAY, baseline_nrs=7, trial_id="Smith")


def test_a_diary_day_is_within_the_trial_and_lived() -> None:
    trial = _trial()
    assert rule_day(trial, day(3), TODAY) == day(3)
    with pytest.raises(UsageError, match="before trial T-1 started"):
        rule_day(trial, day(0), TODAY)
    with pytest.raises(UsageError, match="is in the future"):
        rule_day(trial, TODAY + timedelta(days=1), TODAY)


def test_the_counter_gives_a_days_hours_from_a_reading_12_to_36_hours_old() -> None:
    trial = _trial()
    usage = DeviceUsage(trial.device_serial, 100_000, NOW.isoformat())
    readings = [(10_000, (NOW - timedelta(hours=40)).isoformat()), (40_000, (NOW - timedelta(hours=20)).isoformat())]
    assert counter_difference(trial, TODAY, TODAY, usage, readings) == (60_000, readings[1][1])
    with pytest.raises(UsageError, match=r"last read 1\.0 h ago"):
        counter_difference(trial, TODAY, TODAY, usage, [(90_000, (NOW - timedelta(hours=1)).isoformat())])
    with pytest.raises(UsageError, match="not that of"):
        counter_difference(trial, day(3), TODAY, usage, readings)


def test_a_taken_day_is_refused_before_the_device_is_read(store: TrialStore, new_trial: NewTrial) -> None:
    trial = store.trial(new_trial())
    add_diary(store, trial, day(6), 4)
    with pytest.raises(DiaryDayTaken, match="has a diary entry for"):
        check_diary_day(store, trial, day(6))
    with pytest.raises(DiaryDayTaken):
        add_diary(store, trial, day(6), 3)


def test_a_device_that_is_not_the_trials_is_neither_read_nor_recorded(tmp_path: Path) -> None:
    """Both front ends go through these reads: another device's counter or program says nothing here."""
    other = _trial(serial="EMU0000-99999999")
    with connect("emu://", data_dir=tmp_path) as device:
        with pytest.raises(UsageError, match="not trial T-1's device"):
            read_trial_usage(other, device)
        with pytest.raises(UsageError, match="not trial T-1's device"):
            read_coverage(other, device, 0, left_active=False)

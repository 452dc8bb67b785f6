"""The trial's rules, apart from where trials are stored: what a new trial may be, which day a diary
entry may be about, when the device's usage counter tells a day's hours of stimulation.

Pure functions of their arguments (``today`` and the present time are passed in): the store calls
them before it writes, the trial service before it touches the device, and a test can call them
with any date. Each refusal is a ``UsageError`` naming what was wrong.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from ..errors import UsageError
from .models import (
    DEFAULT_GOAL_PCT,
    DEFAULT_TRIAL_DAYS,
    MAX_TRIAL_DAYS,
    Analgesics,
    DeviceUsage,
    DiaryEntry,
    Trial,
    check_nrs,
    check_trial_id,
)
from .regions import parse_regions

__all__ = [
    "MAX_COUNTER_GAP_H",
    "MIN_COUNTER_GAP_H",
    "DiaryDayTaken",
    "TrialPlan",
    "check_device_serial",
    "check_diary_day",
    "check_profile_name",
    "check_same_device",
    "check_seconds",
    "counter_difference",
    "parse_analgesics",
    "plan_trial",
    "program_number",
    "regions_of",
    "same_content",
]

MIN_COUNTER_GAP_H = 12
"""A day's use is the counter's growth since the newest reading at least this old (a reading taken
minutes ago, while entering late entries or recording coverage, says nothing about the day)..."""
MAX_COUNTER_GAP_H = 36
"""...and at most this old: over a longer gap the difference covers more than one diary day."""


class DiaryDayTaken(UsageError):
    """The day has a diary entry already: it is edited, not added again (front ends say how)."""

    def __init__(self, trial_id: str, day: date) -> None:
        super().__init__(
            f"trial {trial_id} has a diary entry for {day} already: edit it instead; the old values are kept in "
            "the history"
        )
        self.trial_id = trial_id
        self.day = day


@dataclass(frozen=True, slots=True)
class TrialPlan:
    """A new trial's checked fields (the id, when one was given, is checked for its form only)."""

    start_date: date
    planned_end_date: date
    baseline_nrs: int
    pain_regions: tuple[str, ...]
    goal_reduction_pct: int
    trial_id: str | None


def plan_trial(
    today: date,
    *,
    baseline_nrs: int,
    start_date: date | None = None,
    planned_end_date: date | None = None,
    pain_regions: tuple[str, ...] | str = (),
    goal_reduction_pct: int = DEFAULT_GOAL_PCT,
    trial_id: str | None = None,
) -> TrialPlan:
    """A new trial's fields checked: a start at most ``MAX_TRIAL_DAYS`` ahead, an end after it and
    within ``MAX_TRIAL_DAYS`` of it (default ``DEFAULT_TRIAL_DAYS`` days), a baseline of 1-10, a goal
    of 1-100 %, known regions, an opaque id."""
    start = start_date or today
    end = planned_end_date or start + timedelta(days=DEFAULT_TRIAL_DAYS - 1)
    baseline = check_nrs(baseline_nrs, what="baseline pain (NRS)", lowest=1)
    if isinstance(goal_reduction_pct, bool) or not 1 <= goal_reduction_pct <= 100:
        raise UsageError(f"goal {goal_reduction_pct!r} %: give the reduction that counts as success, 1 to 100 %")
    if start > today + timedelta(days=MAX_TRIAL_DAYS):
        raise UsageError(f"start date {start} is more than {MAX_TRIAL_DAYS} days ahead (today is {today})")
    if end < start:
        raise UsageError(f"planned end {end} is before the start {start}")
    if (end - start).days + 1 > MAX_TRIAL_DAYS:
        raise UsageError(
            f"planned end {end} makes a trial of {(end - start).days + 1} days: trials last about 3 to 8 days, "
            f"and more than {MAX_TRIAL_DAYS} is taken for a typing error"
        )
    regions = regions_of(pain_regions, "pain area")
    chosen_id = check_trial_id(trial_id) if trial_id is not None else None
    return TrialPlan(start, end, baseline, regions, goal_reduction_pct, chosen_id)


def check_device_serial(serial: str) -> str:
    """The serial a device reports, stripped."""
    text = serial.strip()
    if not text or len(text) > 32 or not text.isprintable():
        raise UsageError(f"device serial {serial!r}: give the serial the device reports (`scsctl info`)")
    return text


def check_profile_name(profile: str) -> str:
    if not profile.strip():
        raise UsageError("profile: give the device's profile name (`scsctl profiles list`)")
    return profile.strip()


def check_same_device(trial: Trial, serial: str, what: str = "the connected device is") -> None:
    """What was read (the connected device, a program read back, a usage reading) must come from
    the trial's device: another device says nothing about this trial. ``what`` leads the serial in
    the message ("the usage reading is from device")."""
    if serial != trial.device_serial:
        raise UsageError(
            f"{what} {serial}, not trial {trial.trial_id}'s device ({trial.device_serial}): connect to the trial's "
            "device"
        )


def check_diary_day(trial: Trial, day: date, today: date) -> date:
    """``day`` if a diary entry may be about it: not before the trial, not in the future."""
    if day < trial.start_date:
        raise UsageError(f"{day} is before trial {trial.trial_id} started ({trial.start_date}): nothing stored")
    if day > today:
        raise UsageError(f"{day} is in the future (today is {today}): a diary day is written once it is lived")
    return day


def counter_difference(
    trial: Trial, day: date, today: date, usage: DeviceUsage, readings: Iterable[tuple[int, str]]
) -> tuple[int, str]:
    """A day's stimulation from the device's counter: its growth since the newest earlier reading
    (``readings``: stimulation_s and read time of this trial's readings of the same device) that is
    ``MIN_COUNTER_GAP_H`` to ``MAX_COUNTER_GAP_H`` old; (seconds, that reading's time)."""
    if day < today - timedelta(days=1):
        raise UsageError(
            f"the device counter tells today's use, not that of {day}: give the hours the patient reports "
            "for a late entry (--hours); nothing was stored"
        )
    now = datetime.fromisoformat(usage.read_utc)
    ordered = sorted((datetime.fromisoformat(read_utc), seconds, read_utc) for seconds, read_utc in readings)
    earlier = [r for r in ordered if r[0] <= now - timedelta(hours=MIN_COUNTER_GAP_H)]
    instead = (
        "give the hours the patient reports (--hours); nothing was stored. The counter gives them once a reading "
        f"{MIN_COUNTER_GAP_H}-{MAX_COUNTER_GAP_H} h old exists: every entry, coverage or trial recorded with the "
        "device connected leaves one"
    )
    if not earlier:
        if ordered and ordered[-1][0] <= now:
            age_h = (now - ordered[-1][0]).total_seconds() / 3600
            raise UsageError(
                f"the device's usage counter was last read {age_h:.1f} h ago ({ordered[-1][2]}): a day's use is "
                f"counted from a reading {MIN_COUNTER_GAP_H} to {MAX_COUNTER_GAP_H} h old; {instead}"
            )
        raise UsageError(
            f"trial {trial.trial_id} has no earlier reading of the device's usage counter, so the hours of "
            f"this day cannot be counted: {instead}"
        )
    at, before_s, since = earlier[-1]
    gap = now - at
    if gap > timedelta(hours=MAX_COUNTER_GAP_H):
        raise UsageError(
            f"the previous counter reading is from {since} ({gap.total_seconds() / 3600:.0f} h ago): the "
            f"difference spans more than one day, so it is not used as this day's hours; {instead}"
        )
    if usage.stimulation_s < before_s:
        raise UsageError(
            f"the device's stimulation counter went back from {before_s} s to {usage.stimulation_s} s since "
            f"{since} (was the device replaced or reset?): give the hours the patient reports"
        )
    return usage.stimulation_s - before_s, since


def regions_of(value: tuple[str, ...] | str, what: str) -> tuple[str, ...]:
    """Region names checked and put in order; an empty tuple (or 'none') is an empty map."""
    if isinstance(value, str) or value:
        return parse_regions(value, what=what)
    return ()


def parse_analgesics(value: Analgesics | str | None) -> Analgesics | None:
    if value is None or isinstance(value, Analgesics):
        return value
    try:
        return Analgesics(value.strip().lower())
    except ValueError:
        raise UsageError(
            f"analgesics {value!r}: say whether pain medication was less, the same or more than before the trial "
            "(less, same, more)"
        ) from None


def check_seconds(value: int | None) -> int | None:
    """Hours of stimulation of one day, in seconds (0 to 24 h)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 24 * 3600:
        raise UsageError(f"stimulation {value!r} s: a day has 0 to 24 hours (0 to 86400 s) of stimulation")
    return value


def program_number(label: str | int) -> int:
    """A program tried, by its label (``P2``) or number."""
    text = str(label).strip().upper().removeprefix("P")
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise UsageError(f"program {label!r}: give its label as listed (P1, P2, ...)")
    return int(text)


def same_content(a: DiaryEntry, b: DiaryEntry) -> bool:
    """Two versions of a diary day say the same (who wrote them and when aside)."""
    return (a.nrs, a.stimulation_s, a.stimulation_source, a.analgesics, a.notes) == (
        b.nrs, b.stimulation_s, b.stimulation_source, b.analgesics, b.notes,
    )  # fmt: skip

"""The trial workflows, once for every front end: start a trial for a device, record a program's
coverage, add or correct a diary day. Each is recorded in the audit log (``TRIAL_NEW``,
``TRIAL_COVERAGE``, ``TRIAL_DIARY``, ``TRIAL_DIARY_CORRECTION`` with the old and new values and the
reason) after it is stored and before the caller is told it is done.

Each workflow is cut where a front end may have to change threads: checks on the input (no I/O
beyond the store), reads from the device (through the controller: ``read_*``), then one write to
the store. The CLI calls the steps one after the other; the TUI runs the device reads on its device
worker and the writes on its blocking worker. Either way the same checks run in the same order,
with the same words: nothing is read from a device before the input is known good, and nothing
read from a device that is not the trial's is stored.

::

    plan = check_new_trial(store, baseline_nrs=7)
    trial = create_trial(store, read_trial_device(device), plan)
    reading = read_coverage(trial, device, slot=0, left_active=True)
    record_coverage(store, trial, reading, regions="low-back-left", comfort=4)
    check_diary_day(store, trial, day)
    add_diary(store, trial, day, 3, usage=read_trial_usage(trial, device))
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from ..audit import AuditLog
from ..errors import UsageError
from .capture import capture_program, read_usage, selected_slot
from .models import (
    DEFAULT_GOAL_PCT,
    Analgesics,
    DeviceUsage,
    DiaryEntry,
    ProgramCapture,
    ProgramTest,
    Trial,
    check_comfort,
)
from .regions import parse_regions
from .rules import DiaryDayTaken, TrialPlan, check_same_device, plan_trial
from .store import TrialStore

if TYPE_CHECKING:
    from ..controller import Device

__all__ = [
    "CoverageReading",
    "TrialDevice",
    "add_diary",
    "check_coverage",
    "check_diary_day",
    "check_new_trial",
    "create_trial",
    "edit_diary",
    "read_coverage",
    "read_trial_device",
    "read_trial_usage",
    "record_coverage",
]


# --- a new trial ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TrialDevice:
    """The device a new trial is for, as it says (serial, matched profile) with its usage counter."""

    serial: str
    profile: str
    usage: DeviceUsage | None


def check_new_trial(
    store: TrialStore,
    *,
    baseline_nrs: int,
    start_date: date | None = None,
    planned_end_date: date | None = None,
    pain_regions: tuple[str, ...] | str = (),
    goal_reduction_pct: int = DEFAULT_GOAL_PCT,
    trial_id: str | None = None,
) -> TrialPlan:
    """A new trial's fields checked, its id not taken: before any device is asked anything."""
    plan = plan_trial(
        store.today(), baseline_nrs=baseline_nrs, start_date=start_date, planned_end_date=planned_end_date,
        pain_regions=pain_regions, goal_reduction_pct=goal_reduction_pct, trial_id=trial_id,
    )  # fmt: skip
    store.check_new_trial(
        baseline_nrs=plan.baseline_nrs, start_date=plan.start_date, planned_end_date=plan.planned_end_date,
        pain_regions=plan.pain_regions, goal_reduction_pct=plan.goal_reduction_pct, trial_id=plan.trial_id,
    )  # fmt: skip  # the id must not be taken
    return plan


def read_trial_device(device: Device) -> TrialDevice:
    """Who the connected device is, and its usage counter now (the start of the usage record)."""
    return TrialDevice(device.identity.serial, device.identity.profile, read_usage(device))


def _audit(store: TrialStore, serial: str, name: str, detail: dict[str, Any]) -> None:
    """A trial action in the audit log (``scsctl log show`` lists it with the device's commands), in
    the same database, after the trial record itself was stored."""
    log = AuditLog(store.path, operator=store.operator)
    try:
        log.device_serial = serial
        log.record("action", name, detail)
    finally:
        log.close()


def create_trial(store: TrialStore, device: TrialDevice, plan: TrialPlan) -> Trial:
    trial = _create_trial(store, device, plan)
    _audit(store, trial.device_serial, "TRIAL_NEW", {
        "trial": trial.trial_id, "baseline_nrs": trial.baseline_nrs, "start": trial.start_date.isoformat(),
        "planned_end": trial.planned_end_date.isoformat(),
    })  # fmt: skip
    return trial


def _create_trial(store: TrialStore, device: TrialDevice, plan: TrialPlan) -> Trial:
    return store.new_trial(
        device_serial=device.serial,
        profile=device.profile,
        usage=device.usage,
        baseline_nrs=plan.baseline_nrs,
        start_date=plan.start_date,
        planned_end_date=plan.planned_end_date,
        pain_regions=plan.pain_regions,
        goal_reduction_pct=plan.goal_reduction_pct,
        trial_id=plan.trial_id,
    )


# --- coverage -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CoverageReading:
    """What the device said about a program being recorded: its read-back and the usage counter."""

    capture: ProgramCapture
    usage: DeviceUsage


def check_coverage(regions: str, comfort: int | None, *, what: str = "regions") -> tuple[str, ...]:
    """The coverage as given, checked before the device is read: the regions, in order ('none'
    when paresthesia-free). ``what`` names the field in a refusal."""
    covered = parse_regions(regions, what=what)
    check_comfort(comfort)
    return covered


def read_coverage(trial: Trial, device: Device, slot: int, *, left_active: bool) -> CoverageReading:
    """Read ``slot`` back from the trial's device; one left active must be the one selected."""
    check_same_device(trial, device.identity.serial)
    capture = capture_program(device, slot)
    if left_active:
        active = selected_slot(device)
        if active != slot:
            selected = "no slot" if active is None else f"slot {active}"
            raise UsageError(
                f"the device has {selected} selected, not slot {slot}: select it first (the program left active is "
                "the one the device has selected), or record it without 'left active'"
            )
    return CoverageReading(capture, read_usage(device))


def record_coverage(
    store: TrialStore,
    trial: Trial,
    reading: CoverageReading,
    *,
    regions: tuple[str, ...] | str,
    comfort: int | None = None,
    notes: str = "",
    left_active: bool = False,
) -> ProgramTest:
    test = store.record_program(
        trial.trial_id, reading.capture, regions=regions, comfort=comfort, notes=notes, left_active=left_active,
        usage=reading.usage,
    )  # fmt: skip
    _audit(store, trial.device_serial, "TRIAL_COVERAGE", {
        "trial": trial.trial_id, "slot": reading.capture.program.slot, "regions": list(test.regions),
        "comfort": comfort, "left_active": left_active,
    })  # fmt: skip
    return test


# --- diary ----------------------------------------------------------------------------------------------


def check_diary_day(store: TrialStore, trial: Trial, day: date) -> None:
    """A new entry may be about ``day``: within the trial, not in the future, none there yet
    (``DiaryDayTaken`` then: front ends say how to edit it). Before the device is read."""
    store.check_day(trial, day)
    if store.diary_entry(trial.trial_id, day) is not None:
        raise DiaryDayTaken(trial.trial_id, day)


def read_trial_usage(trial: Trial, device: Device) -> DeviceUsage:
    """The usage counter of the trial's device now (another device's counter says nothing here)."""
    check_same_device(trial, device.identity.serial)
    return read_usage(device)


def add_diary(
    store: TrialStore,
    trial: Trial,
    day: date,
    nrs: int,
    *,
    stimulation_s: int | None = None,
    usage: DeviceUsage | None = None,
    analgesics: Analgesics | str | None = None,
    notes: str = "",
) -> DiaryEntry:
    """A new day: hours as the patient reports them, else from the device's counter (``usage``)."""
    check_diary_day(store, trial, day)
    entry = store.add_diary(
        trial.trial_id, day, nrs, stimulation_s=stimulation_s, usage=usage, analgesics=analgesics, notes=notes
    )
    _audit(store, trial.device_serial, "TRIAL_DIARY", {"trial": trial.trial_id, "day": day.isoformat(), "nrs": nrs})
    return entry


def edit_diary(
    store: TrialStore,
    trial: Trial,
    day: date,
    *,
    reason: str,
    nrs: int | None = None,
    stimulation_s: int | None = None,
    analgesics: Analgesics | str | None = None,
    notes: str | None = None,
) -> DiaryEntry:
    """Correct a day: a clinical record's correction says why (the history keeps old values and reason).
    No device is used: its counter says nothing about what was written."""
    if not reason.strip():
        raise UsageError("a diary correction needs the reason why it is corrected (kept with the old values)")
    entry = store.edit_diary(
        trial.trial_id, day, nrs=nrs, stimulation_s=stimulation_s, analgesics=analgesics, notes=notes, reason=reason
    )
    # The version this edit replaced, by its revision (another edit may have come since).
    replaced = [h.entry for h in store.diary_history(trial.trial_id, day) if h.entry.revision == entry.revision - 1]
    old = _corrected_fields(replaced[0]) if replaced else {}
    new = _corrected_fields(entry)
    changed = [key for key in new if old.get(key) != new[key]] if replaced else list(new)
    _audit(store, trial.device_serial, "TRIAL_DIARY_CORRECTION", {
        "trial": trial.trial_id, "day": day.isoformat(), "revision": entry.revision, "reason": reason.strip(),
        "old": {key: old.get(key) for key in changed}, "new": {key: new[key] for key in changed},
    })  # fmt: skip
    return entry


def _corrected_fields(entry: DiaryEntry) -> dict[str, Any]:
    """What a correction may change in a day's entry, as the audit log records it."""
    return {
        "nrs": entry.nrs,
        "stimulation_s": entry.stimulation_s,
        "stimulation_source": entry.stimulation_source,
        "analgesics": None if entry.analgesics is None else entry.analgesics.value,
        "notes": entry.notes,
    }

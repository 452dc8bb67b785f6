"""The trial report's content, gathered once and written as Markdown, JSON or HTML (``html.py``).

``build_report`` reads the trial, its diary and edit history, the programs tried and the device's
faults during the trial (the audit log's event records for the trial's device between its dates),
and computes the assessment. The writers only lay that out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from firmware_protocol.constants import NO_INDEX, FaultCode, ImpedanceStatus

from .. import __version__
from ..audit import AuditLog
from ..controller import EMULATOR_SERIAL_PREFIX
from ..units import format_ua
from .assessment import Assessment, assess
from .dates import local_day_bounds_utc
from .models import COMFORT_LABELS, DiaryEntry, DiaryRevision, ProgramTest, Trial, program_summary
from .regions import format_regions
from .store import TrialStore

__all__ = ["FAULT_EVENTS", "DeviceFault", "TrialReport", "build_report", "device_faults", "render_json",
           "render_markdown"]  # fmt: skip

FAULT_EVENTS = ("EVENT_FAULT", "EVENT_IMPEDANCE_WARNING")
"""Audit event records that count as device faults in a report."""

PRIVACY_NOTE = "No patient-identifying data is held in this record; keep notes free of it too."


@dataclass(frozen=True, slots=True)
class DeviceFault:
    time_utc: str
    name: str
    description: str
    detail: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"time_utc": self.time_utc, "name": self.name, "description": self.description, "detail": self.detail}


def _enum_name(enum: Any, value: Any) -> str:
    if isinstance(value, str):
        return value.lower()
    try:
        return str(enum(value).name).lower()
    except (ValueError, TypeError):
        return str(value)


def describe_fault(name: str, detail: dict[str, Any]) -> str:
    contact = detail.get("contact")
    where = f" on contact {int(contact) + 1}" if isinstance(contact, int) and contact != NO_INDEX else ""
    if name == "EVENT_FAULT":
        return f"fault: {_enum_name(FaultCode, detail.get('fault')).replace('_', ' ')}{where}"
    if name == "EVENT_IMPEDANCE_WARNING":
        status = _enum_name(ImpedanceStatus, detail.get("status"))
        return f"impedance {status}{where}: {detail.get('impedance_ohm')} ohm"
    return name.lower()


def device_faults(audit: AuditLog, device_serial: str, start_utc: datetime, end_utc: datetime) -> list[DeviceFault]:
    """Fault and impedance-warning events the host recorded for a device in [start, end), by time."""
    found = [
        r
        for r in audit.query(since=start_utc, device=device_serial)
        if r.kind == "event" and r.name in FAULT_EVENTS and datetime.fromisoformat(r.time_utc) < end_utc
    ]
    found.sort(key=lambda r: datetime.fromisoformat(r.time_utc))
    return [DeviceFault(r.time_utc, r.name, describe_fault(r.name, r.detail), r.detail) for r in found]


@dataclass(frozen=True, slots=True)
class TrialReport:
    trial: Trial
    diary: tuple[DiaryEntry, ...]
    history: tuple[DiaryRevision, ...]
    assessment: Assessment
    programs: tuple[ProgramTest, ...]
    faults: tuple[DeviceFault, ...]
    first_day: date
    last_day: date
    """The period shown: the start date to the planned end or the last diary day, whichever is later."""
    generated_utc: str
    tz: tzinfo | None = None
    """The time zone diary days are in (the local one when None)."""

    def days(self) -> list[tuple[date, DiaryEntry | None]]:
        """Every day of the period with its entry (None for a day without one)."""
        by_date = {e.entry_date: e for e in self.diary}
        count = (self.last_day - self.first_day).days + 1
        return [(d, by_date.get(d)) for d in (self.first_day + timedelta(days=i) for i in range(count))]

    @property
    def generated_text(self) -> str:
        return datetime.fromisoformat(self.generated_utc).strftime("%Y-%m-%d %H:%M UTC")

    @property
    def generated_on(self) -> date:
        """The local day the report was made: days after it have not happened yet."""
        return datetime.fromisoformat(self.generated_utc).astimezone(self.tz).date()

    def edits_of(self, day: date) -> int:
        return sum(1 for h in self.history if h.entry.entry_date == day)

    def as_dict(self) -> dict[str, Any]:
        return {
            "report": "scsctl trial report",
            "scsctl_version": __version__,
            "generated_utc": self.generated_utc,
            "trial": self.trial.as_dict(),
            "period": {"first_day": self.first_day.isoformat(), "last_day": self.last_day.isoformat()},
            "assessment": self.assessment.as_dict(),
            "diary": [{**e.as_dict(), "day": self.trial.day_number(e.entry_date)} for e in self.diary],
            "diary_history": [h.as_dict() for h in self.history],
            "programs": [p.as_dict() for p in self.programs],
            "device_faults": [f.as_dict() for f in self.faults],
            "note": PRIVACY_NOTE,
        }


def build_report(
    store: TrialStore, trial_id: str, *, audit: AuditLog | None = None, tz: tzinfo | None = None
) -> TrialReport:
    """Everything the report says; ``UsageError`` for an unknown trial or one with no diary entry yet."""
    trial = store.trial(trial_id)
    diary = store.diary(trial.trial_id)
    assessment = assess(trial, diary)  # refuses a trial without diary entries
    last_day = max(trial.planned_end_date, diary[-1].entry_date)
    faults: list[DeviceFault] = []
    if audit is not None:
        start_utc, end_utc = local_day_bounds_utc(trial.start_date, last_day, tz or store.now().tzinfo)
        faults = device_faults(audit, trial.device_serial, start_utc, end_utc)
    return TrialReport(
        trial=trial,
        diary=tuple(diary),
        history=tuple(store.diary_history(trial.trial_id)),
        assessment=assessment,
        programs=tuple(store.program_tests(trial.trial_id)),
        faults=tuple(faults),
        first_day=trial.start_date,
        last_day=last_day,
        generated_utc=store.now().astimezone(UTC).isoformat(timespec="seconds"),
        tz=tz or store.now().tzinfo,
    )


# --- writers -----------------------------------------------------------------------------------------


def render_json(report: TrialReport) -> str:
    return json.dumps(report.as_dict(), indent=2) + "\n"


def hours_text(entry: DiaryEntry | None) -> str:
    if entry is None or entry.stimulation_s is None:
        return "-"
    return f"{entry.stimulation_s / 3600:.1f} h"


def usage_source_text(entry: DiaryEntry) -> str:
    if entry.stimulation_source == "device":
        return f"device counter since {entry.usage_since_utc[:16].replace('T', ' ') if entry.usage_since_utc else '?'}"
    if entry.stimulation_source == "patient":
        return "patient"
    return ""


def comfort_text(test: ProgramTest) -> str:
    return "-" if test.comfort is None else f"{test.comfort} {COMFORT_LABELS[test.comfort]}"


def felt_text(test: ProgramTest) -> str:
    """The amplitude felt at coverage, when it is not the program's own."""
    capture = test.capture
    if not capture.running:
        return "not running when read"
    if capture.felt_amplitude_ua != capture.program.amplitude_ua:
        note = "tentative, not committed" if capture.tentative else "running amplitude"
        return f"felt at {format_ua(capture.felt_amplitude_ua)} ({note})"
    return "running"


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: TrialReport) -> str:
    t, a = report.trial, report.assessment
    lines = [
        f"# SCS trial report: {t.trial_id}",
        "",
        f"Device {t.device_serial} ({t.profile}); trial from {t.start_date} to {t.planned_end_date} (planned); "
        f"report generated {report.generated_text} by scsctl {__version__}.",
        "",
        *(
            ["**EMULATOR: the data come from scsctl's emulator, not a real device (no patient was stimulated).**", ""]
            if t.device_serial.startswith(EMULATOR_SERIAL_PREFIX)
            else []
        ),
        "## Verdict",
        "",
        f"**{a.statement}**",
        "",
        f"Rule: {a.rule}",
        "",
        f"Arithmetic: {a.arithmetic}.",
        "",
    ]
    if a.analgesics_unknown:
        lines += [f"Analgesics not recorded on: {', '.join(d.isoformat() for d in a.analgesics_unknown)}.", ""]
    lines += [
        "## Baseline and goal",
        "",
        f"- Baseline pain: NRS {t.baseline_nrs}",
        f"- Pain area: {format_regions(t.pain_regions) if t.pain_regions else 'not recorded'}",
        f"- Goal: at least {t.goal_reduction_pct} % reduction, i.e. a mean NRS of {t.goal_nrs:g} or less",
        "",
        "## Diary",
        "",
        "| day | date | NRS | stimulation | analgesics | notes |",
        "|---:|---|---:|---|---|---|",
    ]
    for day, entry in report.days():
        n = t.day_number(day)
        if entry is None:
            missing = "not yet" if day > report.generated_on else "no entry"
            lines.append(f"| {n} | {day} | - | - | - | {missing} |")
            continue
        usage = hours_text(entry) + (f" ({usage_source_text(entry)})" if entry.stimulation_source else "")
        flags = []
        if entry.recorded_late:
            flags.append(f"entered late, {entry.recorded_utc[:10]}")
        edits = report.edits_of(day)
        if edits:
            flags.append(f"edited {edits}x")
        note = " ".join(part for part in (entry.notes, f"[{'; '.join(flags)}]" if flags else "") if part)
        drug = entry.analgesics.value if entry.analgesics else "-"
        lines.append(f"| {n} | {day} | {entry.nrs} | {usage} | {drug} | {_md_cell(note)} |")
    total_s = sum(e.stimulation_s for e in report.diary if e.stimulation_s is not None)
    known = [e for e in report.diary if e.stimulation_s is not None]
    if known:
        lines += [
            "",
            f"Stimulation: {total_s / 3600:.1f} h over {len(known)} day{'s' if len(known) != 1 else ''} with "
            f"a figure, {total_s / 3600 / len(known):.1f} h a day on average.",
        ]
    lines += ["", "## Programs tried", ""]
    if not report.programs:
        lines.append("No programs recorded.")
    else:
        lines += [
            "| program | date | slot | settings (device read-back) | paresthesia felt in | over the pain area "
            "| comfort | notes |",
            "|---|---|---:|---|---|---|---|---|",
        ]
        for p in report.programs:
            label = p.label + (" (left active)" if p.left_active else "")
            settings = f"{program_summary(p.capture.program)}; {felt_text(p)}"
            lines.append(
                f"| {label} | {p.session_date} | {p.slot} | {_md_cell(settings)} | {format_regions(p.regions)} "
                f"| {_md_cell(p.overlap.describe())} | {comfort_text(p)} | {_md_cell(p.notes) or '-'} |"
            )
    lines += ["", "## Device faults during the trial", ""]
    if report.faults:
        lines += [f"- {f.time_utc[:19].replace('T', ' ')} UTC: {f.description}" for f in report.faults]
    else:
        lines.append(f"None recorded for {t.device_serial} from {report.first_day} to {report.last_day}.")
    if report.history:
        lines += ["", "## Diary edits", "", "| date | was | replaced | by | reason |", "|---|---|---|---|---|"]
        for h in report.history:
            e = h.entry
            was = f"NRS {e.nrs}, {hours_text(e)}, analgesics {e.analgesics.value if e.analgesics else '-'}"
            if e.notes:
                was += f", notes: {e.notes}"
            lines.append(
                f"| {e.entry_date} | {_md_cell(was)} | {h.replaced_utc[:16].replace('T', ' ')} | {h.replaced_by} "
                f"| {_md_cell(h.reason) or '-'} |"
            )
    lines += ["", f"_{PRIVACY_NOTE}_", ""]
    return "\n".join(lines)

"""The trial workflow: a week of trial stimulation recorded beside the device, not on a paper form.

A trial (opaque id, device, dates, baseline pain, goal), its programming sessions (each program's
read-back settings with the paresthesia coverage the patient reported), its daily pain diary (with
hours of stimulation and the history of every edit), and the report with its verdict::

    from scsctl.trial import TrialStore, capture_program, read_usage, build_report, render_html

    with TrialStore.in_dir(data_dir) as store:
        trial = store.new_trial(device_serial="EMU5101-00000000", profile="tonic-burst-16", baseline_nrs=7,
                                pain_regions="low-back, foot-left")
        store.record_program(trial.trial_id, capture_program(device, 0), regions="low-back-left",
                             comfort=4, left_active=True)
        store.add_diary(trial.trial_id, store.today(), 3, stimulation_s=18 * 3600, analgesics="less")
        html = render_html(build_report(store, trial.trial_id, audit=device.audit))

The workflows the CLI and the TUI both run (start a trial for the connected device, record a
program's coverage, add or correct a diary day) are ``service``'s; the rules they check, apart from
storage, are ``rules``'s; the store only stores.

Everything is kept in the audit log's database (``scsctl.sqlite3``) in ``trial_*`` tables; every
method that stores returns once it is committed; bad input raises ``UsageError`` and stores nothing;
a database that cannot be written raises ``AuditError``.
"""

from __future__ import annotations

from .assessment import LAST_DAYS, Assessment, assess, rule_text
from .capture import capture_program, check_trial_device, read_usage, selected_slot
from .chart import pain_chart_svg, pain_chart_text
from .dates import parse_day
from .html import render_html
from .models import (
    COMFORT_LABELS,
    DEFAULT_GOAL_PCT,
    DEFAULT_TRIAL_DAYS,
    Analgesics,
    DeviceUsage,
    DiaryEntry,
    DiaryRevision,
    ProgramCapture,
    ProgramTest,
    Trial,
    UsageReading,
    check_comfort,
    hours_to_s,
    parse_nrs,
    program_summary,
)
from .regions import BODY_REGIONS, SIDED_REGIONS, Overlap, format_regions, overlap, parse_regions
from .report import (
    DeviceFault,
    TrialReport,
    build_report,
    comfort_text,
    felt_text,
    hours_text,
    render_json,
    render_markdown,
    usage_source_text,
)
from .rules import DiaryDayTaken, TrialPlan
from .service import (
    CoverageReading,
    TrialDevice,
    add_diary,
    check_coverage,
    check_diary_day,
    check_new_trial,
    create_trial,
    edit_diary,
    read_coverage,
    read_trial_device,
    read_trial_usage,
    record_coverage,
)
from .store import TrialStore

__all__ = [
    "BODY_REGIONS",
    "COMFORT_LABELS",
    "DEFAULT_GOAL_PCT",
    "DEFAULT_TRIAL_DAYS",
    "LAST_DAYS",
    "SIDED_REGIONS",
    "Analgesics",
    "Assessment",
    "CoverageReading",
    "DeviceFault",
    "DeviceUsage",
    "DiaryDayTaken",
    "DiaryEntry",
    "DiaryRevision",
    "Overlap",
    "ProgramCapture",
    "ProgramTest",
    "Trial",
    "TrialDevice",
    "TrialPlan",
    "TrialReport",
    "TrialStore",
    "UsageReading",
    "add_diary",
    "assess",
    "build_report",
    "capture_program",
    "check_comfort",
    "check_coverage",
    "check_diary_day",
    "check_new_trial",
    "check_trial_device",
    "comfort_text",
    "create_trial",
    "edit_diary",
    "felt_text",
    "format_regions",
    "hours_text",
    "hours_to_s",
    "overlap",
    "pain_chart_svg",
    "pain_chart_text",
    "parse_day",
    "parse_nrs",
    "parse_regions",
    "program_summary",
    "read_coverage",
    "read_trial_device",
    "read_trial_usage",
    "read_usage",
    "record_coverage",
    "render_html",
    "render_json",
    "render_markdown",
    "rule_text",
    "selected_slot",
    "usage_source_text",
]

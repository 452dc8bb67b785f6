"""The report says the figures a technician can check by hand, in Markdown, JSON and HTML."""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import UTC, timedelta
from pathlib import Path

import pytest

from firmware_protocol import messages as m
from firmware_protocol.constants import FaultCode
from scsctl.audit import DB_NAME, AuditLog
from scsctl.errors import UsageError
from scsctl.parsing import electrodes
from scsctl.trial import (
    ProgramCapture,
    TrialReport,
    TrialStore,
    build_report,
    render_html,
    render_json,
    render_markdown,
)

from .conftest import Clock, day

SERIAL = "EMU5101-00000000"


def capture(slot: int, amplitude_ua: int, *, running: bool) -> ProgramCapture:
    program = m.Program(slot=slot, amplitude_ua=amplitude_ua, pulse_width_us=300, rate_dhz=500,
                        contacts=electrodes("1+ 2-", 16), patient_max_ua=6000)  # fmt: skip
    return ProgramCapture(SERIAL, program, "2026-11-15T10:00:00+00:00", running, amplitude_ua if running else None,
                          False)  # fmt: skip


def audit_row(tmp_path: Path, time_utc: str, serial: str, kind: str, name: str, detail: dict[str, object]) -> None:
    """An audit record at a chosen time (the audit log itself always writes the present)."""
    AuditLog.in_dir(tmp_path).close()
    with sqlite3.connect(tmp_path / DB_NAME) as db:
        db.execute(
            "INSERT INTO audit (time_utc, session, operator, role, device_serial, kind, name, detail)"
            " VALUES (?, 's1', 'tech', 'technician', ?, ?, ?, ?)",
            (time_utc, serial, kind, name, json.dumps(detail)),
        )


@pytest.fixture
def report(tmp_path: Path, clock: Clock) -> TrialReport:
    """A week: baseline 7, pain in the low back and left foot; last three days 3, 3, 2."""
    with TrialStore.in_dir(tmp_path, now=clock, operator="tech-a") as store:
        tid = store.new_trial(device_serial=SERIAL, profile="tonic-burst-16", baseline_nrs=7, start_date=day(1),
                              planned_end_date=day(8), pain_regions="low-back, foot-left").trial_id  # fmt: skip
        store.record_program(tid, capture(0, 3500, running=True), regions="low-back-left, buttock-left", comfort=4,
                             notes="left only")  # fmt: skip
        store.record_program(tid, capture(1, 2000, running=False), regions="low-back, foot-left", comfort=3,
                             left_active=True)  # fmt: skip
        for n, nrs, hours, drug in [(1, 6, 20, "same"), (2, 5, 21.5, "same"), (4, 4, 22, None), (5, 3, 23, "less"),
                                    (6, 4, 22, "less"), (7, 2, 12, "less")]:  # fmt: skip
            store.add_diary(tid, day(n), nrs, stimulation_s=int(hours * 3600), analgesics=drug)
        clock.now += timedelta(minutes=10)
        store.edit_diary(tid, day(6), nrs=3, reason="patient corrected the card")
        lead_open = {"fault": int(FaultCode.LEAD_OPEN), "contact": 1, "detail": 65535, "fault_flags": 1}
        for time_utc, serial, name, detail in [
            ("2026-11-18T08:30:00+00:00", SERIAL, "EVENT_FAULT", lead_open),
            ("2026-11-18T09:00:00+00:00", "OTHER-DEVICE", "EVENT_FAULT", lead_open),  # another device
            ("2026-11-10T09:00:00+00:00", SERIAL, "EVENT_FAULT", lead_open),  # before the trial
            ("2026-11-23T00:00:00+00:00", SERIAL, "EVENT_FAULT", lead_open),  # after its last day
            ("2026-11-18T08:31:00+00:00", SERIAL, "STOP", {}),  # a command, not an event
            ("2026-11-19T07:00:00+00:00", SERIAL, "EVENT_IMPEDANCE_WARNING",
             {"contact": 3, "impedance_ohm": 3900, "status": "HIGH"}),
        ]:  # fmt: skip
            kind = "command" if name == "STOP" else "event"
            audit_row(tmp_path, time_utc, serial, kind, name, detail)
        with AuditLog.in_dir(tmp_path) as audit:
            return build_report(store, tid, audit=audit, tz=UTC)


def test_markdown_states_the_verdict_the_rule_and_the_sums(report: TrialReport) -> None:
    md = render_markdown(report)
    assert "**INTERIM (diary up to 2026-11-21; the trial runs to 2026-11-22): " \
           "success: mean NRS of the last 3 diary days (2.7) is at least 50 % below the baseline (7): " \
           "61 % reduction**" in md  # fmt: skip
    assert "**EMULATOR: the data come from scsctl's emulator, not a real device" in md  # serial EMU...
    assert "Rule: The trial succeeds when the mean pain score (NRS 0-10) of the last 3 diary days is at least " \
           "50 % below the baseline, and analgesics were not increased on any of those days." in md  # fmt: skip
    assert "Arithmetic: 2026-11-19 NRS 3, 2026-11-20 NRS 3, 2026-11-21 NRS 2; mean = 8 / 3 = 2.67; " \
           "reduction = (7 - 2.67) / 7 x 100 = 61.9 % (rounded down)." in md  # fmt: skip
    assert "- Goal: at least 50 % reduction, i.e. a mean NRS of 3.5 or less" in md


def test_markdown_lists_every_day_with_usage_and_marks_gaps_late_entries_and_edits(report: TrialReport) -> None:
    md = render_markdown(report)
    assert "| 2 | 2026-11-16 | 5 | 21.5 h (patient) | same | [entered late, 2026-11-21] |" in md
    assert "| 3 | 2026-11-17 | - | - | - | no entry |" in md
    assert "| 6 | 2026-11-20 | 3 | 22.0 h (patient) | less | [entered late, 2026-11-21; edited 1x] |" in md
    assert "| 7 | 2026-11-21 | 2 | 12.0 h (patient) | less |  |" in md
    assert "| 8 | 2026-11-22 | - | - | - | not yet |" in md
    assert "Stimulation: 120.5 h over 6 days with a figure, 20.1 h a day on average." in md
    assert "| 2026-11-20 | NRS 4, 22.0 h, analgesics less | 2026-11-21 12:10 | tech-a | patient corrected the card |" \
        in md  # fmt: skip


def test_markdown_lists_programs_with_coverage_and_the_faults_of_that_device_in_the_trial(report: TrialReport) -> None:
    md = render_markdown(report)
    assert (
        "| P1 | 2026-11-21 | 0 | 1+ 2-  3.5 mA  300 us  50 Hz  tonic  patient max 6.0 mA; running "
        "| low-back-left, buttock-left | 1 of 3 pain regions (33 %); not reached: low-back-right, foot-left; "
        "also felt outside the pain area: buttock-left | 4 comfortable | left only |"
    ) in md
    assert "| P2 (left active) | 2026-11-21 | 1 |" in md
    assert "| 3 of 3 pain regions (100 %) | 3 acceptable | - |" in md
    faults = md.split("## Device faults during the trial")[1].split("##")[0]
    assert faults.strip().splitlines() == [
        "- 2026-11-18 08:30:00 UTC: fault: lead open on contact 2",
        "- 2026-11-19 07:00:00 UTC: impedance high on contact 4: 3900 ohm",
    ]


def test_json_carries_the_exact_figures(report: TrialReport) -> None:
    data = json.loads(render_json(report))
    a = data["assessment"]
    assert a["verdict"] == "success"
    assert a["success"] is True
    assert a["last_days"] == ["2026-11-19", "2026-11-20", "2026-11-21"]
    assert a["last_scores"] == [3, 3, 2]
    assert a["mean_nrs_fraction"] == "8/3"
    assert a["mean_nrs"] == 2.667
    assert a["reduction_pct"] == 61.9
    assert a["reduction_whole_pct"] == 61
    assert a["analgesics_unknown"] == []  # day 4 had none recorded, but it is not one of the last three
    assert data["trial"]["baseline_nrs"] == 7
    assert data["trial"]["pain_regions"] == ["low-back-left", "low-back-right", "foot-left"]
    assert [(d["day"], d["nrs"], d["stimulation_s"]) for d in data["diary"]] == [
        (1, 6, 72000), (2, 5, 77400), (4, 4, 79200), (5, 3, 82800), (6, 3, 79200), (7, 2, 43200),
    ]  # fmt: skip
    assert data["diary_history"][0]["nrs"] == 4
    assert [p["program"]["settings"]["amplitude_ua"] for p in data["programs"]] == [3500, 2000]
    assert data["programs"][0]["overlap"]["covered_pct"] == 33
    assert [f["name"] for f in data["device_faults"]] == ["EVENT_FAULT", "EVENT_IMPEDANCE_WARNING"]


def test_html_is_self_contained_with_the_chart_and_the_verdict(report: TrialReport) -> None:
    page = render_html(report)
    assert page.startswith("<!DOCTYPE html>")
    assert "success: mean NRS of the last 3 diary days (2.7) is at least 50 % below the baseline (7): 61 % reduction" \
        in page  # fmt: skip
    assert "Interim: success so far (final on 2026-11-22)" in page  # not "Success" before the last day
    assert 'class="emulated">EMULATOR: the data come from scsctl' in page
    svg = page[page.index("<svg") : page.index("</svg>")]
    assert "baseline 7" in svg
    assert "goal 3.5 (-50 %)" in svg
    assert "mean 2.7" in svg
    assert len(re.findall(r"<circle ", svg)) == 6  # one point per diary day
    assert len(re.findall(r"<polyline ", svg)) == 2  # the missing day 3 breaks the line
    assert "stimulation per day" in svg
    assert "@media print" in page and "@page" in page
    assert "<script" not in page
    assert not re.search(r"""(src|href)=["']?https?:""", page)  # nothing fetched from elsewhere


def test_html_escapes_what_people_typed(tmp_path: Path, clock: Clock) -> None:
    with TrialStore.in_dir(tmp_path, now=clock) as store:
        tid = store.new_trial(device_serial=SERIAL, profile="p", baseline_nrs=5, start_date=day(7)).trial_id
        store.add_diary(tid, day(7), 2, notes="<b>better</b> & walking")
        page = render_html(build_report(store, tid))
    assert "&lt;b&gt;better&lt;/b&gt; &amp; walking" in page
    assert "<b>better</b>" not in page


def test_a_report_before_any_diary_entry_is_a_clear_error(tmp_path: Path, clock: Clock) -> None:
    with TrialStore.in_dir(tmp_path, now=clock) as store:
        tid = store.new_trial(device_serial=SERIAL, profile="p", baseline_nrs=5).trial_id
        with pytest.raises(UsageError, match=f"trial {tid} has no diary entry yet"):
            build_report(store, tid)
        with pytest.raises(UsageError, match="no trial 'T-1999-0001'"):
            build_report(store, "T-1999-0001")

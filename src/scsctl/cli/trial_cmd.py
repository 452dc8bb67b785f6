"""``scsctl trial new|list|show|diary|coverage|report|regions``: the trial record beside the device.

Trials live in the audit log's database (``--data-dir``). ``coverage`` needs the device: a program's
settings are always its read-back, never reconstructed. ``new`` and ``diary`` use the device when a
port is given, for its serial and profile and for the hours of stimulation from its usage counter.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from .common import add_device_options, emit, open_device, table, whole_number

if TYPE_CHECKING:
    from ..trial import DiaryEntry, ProgramTest, Trial, TrialStore

_DATE_HELP = "2026-11-19, today, yesterday or today-N (N days ago)"
_PRIVACY = "no names or other patient-identifying data: the trial id is opaque and notes must not identify"


def register(sub: Any) -> None:
    trial = sub.add_parser(
        "trial",
        help="record a trial: programs tried with their coverage, the pain diary, the report",
        description="Record an SCS trial beside the device: the programs tried (settings read back from the "
        "device) with the paresthesia coverage the patient reports, a daily pain diary, and the report "
        f"with its verdict. Kept in the audit log's database; {_PRIVACY}.",
    )
    trial_sub = trial.add_subparsers(dest="trial_command", metavar="ACTION", required=True)

    def data_only(name: str, help_text: str, handler: Any) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = trial_sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--data-dir", metavar="DIR", help="where the audit log lives (default: user data folder)")
        p.set_defaults(handler=handler)
        return p

    def with_device(name: str, help_text: str, handler: Any) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = trial_sub.add_parser(name, help=help_text, description=help_text)
        add_device_options(p)
        p.set_defaults(handler=handler)
        return p

    p = with_device(
        "new",
        "start a trial record: with --port the device's serial and profile are read from it; "
        "else give --serial and --profile",
        _new,
    )
    p.add_argument("--baseline", required=True, metavar="NRS", help="pain before the trial, NRS 1-10")
    p.add_argument("--pain-area", metavar="REGIONS", help="where the pain is: low-back,foot-left (`trial regions`)")
    p.add_argument(
        "--goal",
        type=whole_number("--goal"),
        default=50,
        metavar="PCT",
        help="reduction that counts as success (default 50)",
    )
    p.add_argument("--start", default="today", metavar="DATE", help=f"first trial day (default today): {_DATE_HELP}")
    end = p.add_mutually_exclusive_group()
    end.add_argument("--end", metavar="DATE", help="planned end date")
    end.add_argument(
        "--days", type=whole_number("--days"), metavar="N", help="planned length in days, the start counted (default 7)"
    )
    p.add_argument("--serial", help="the device's serial, when no --port is given")
    p.add_argument(
        "--id",
        dest="trial_id",
        metavar="ID",
        help="an opaque id of your own (letters, digits, - _ ., with a digit, no date); default T-YEAR-NNNN",
    )

    p = data_only("list", "list the trials recorded", _list)
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = data_only("show", "show a trial: diary, programs tried, verdict so far", _show)
    p.add_argument("trial_id", metavar="ID")
    p.add_argument("--history", action="store_true", help="also list every replaced diary value")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = with_device(
        "diary",
        "add (or --edit) a day's diary entry: pain NRS 0-10, hours of stimulation, analgesics, notes",
        _diary,
    )
    p.add_argument("trial_id", metavar="ID")
    p.add_argument("--date", default="today", help=f"the day the entry is about (default today): {_DATE_HELP}")
    p.add_argument("--nrs", metavar="0-10", help="the day's pain, NRS 0-10 (required for a new entry)")
    p.add_argument(
        "--hours",
        help="hours of stimulation that day as reported (e.g. 18.5); without it and with --port, the growth of "
        "the device's usage counter since a reading 12 to 36 h old",
    )
    p.add_argument("--analgesics", choices=["less", "same", "more"], help="pain medication compared with before")
    p.add_argument("--notes", help=f"free text ({_PRIVACY})")
    p.add_argument(
        "--edit",
        action="store_true",
        help="change an existing entry (hours as reported; no device is used); its old values stay in the history",
    )
    p.add_argument("--reason", default="", help="why an entry is edited (required with --edit; kept in the history)")

    p = with_device(
        "coverage",
        "record a program tried: its settings are read back from the device (--port), with the regions where "
        "the patient feels paresthesia",
        _coverage,
    )
    p.add_argument("trial_id", metavar="ID")
    p.add_argument("--slot", type=whole_number("--slot"), required=True, help="the program slot tried, from 0")
    p.add_argument(
        "--regions",
        required=True,
        help="where the paresthesia is felt, e.g. low-back-left,buttock-left; 'none' when paresthesia-free",
    )
    p.add_argument("--comfort", type=whole_number("--comfort"), choices=range(1, 6), metavar="1-5",
                   help="1 unpleasant, 2 uncomfortable, 3 acceptable, 4 comfortable, 5 very comfortable")  # fmt: skip
    p.add_argument("--notes", help=f"free text ({_PRIVACY})")
    p.add_argument(
        "--left-active",
        action="store_true",
        help="this program is the one left active at the end of today's session (the device must have it selected)",
    )

    p = data_only("report", "write the trial report: verdict, daily pain and usage, programs, device faults", _report)
    p.add_argument("trial_id", metavar="ID")
    p.add_argument("--format", choices=["md", "html", "json"], default="md", help="md (default), html or json")
    p.add_argument("--output", "-o", metavar="FILE", help="write to FILE (default, or -: standard output)")

    trial_sub.add_parser("regions", help="list the body regions coverage and pain areas are written in").set_defaults(
        handler=_regions
    )


# --- helpers -----------------------------------------------------------------------------------------


def _store(args: argparse.Namespace, *, write: bool) -> TrialStore:
    """The store in --data-dir; reading commands do not create a database that is not there."""
    from ..audit import DB_NAME, default_data_dir
    from ..trial import TrialStore

    path = Path(args.data_dir or default_data_dir()) / DB_NAME
    if not write and not path.exists():
        raise UsageError(f"no trial records at {path}: nothing has been recorded there yet (see --data-dir)")
    store = TrialStore(path, operator=getattr(args, "operator", None))
    if write:
        try:
            store.check_writable()  # before any device is touched
        except BaseException:
            store.close()
            raise
    return store


def _day(store: TrialStore, text: str, what: str) -> date:
    from ..trial import parse_day

    return parse_day(text, store.today(), what=what)


def _trial_rows(t: Trial) -> list[tuple[str, Any]]:
    from ..trial import format_regions

    return [
        ("trial", t.trial_id),
        ("device", f"{t.device_serial} ({t.profile})"),
        ("dates", f"{t.start_date} to {t.planned_end_date} (planned)"),
        ("baseline", f"NRS {t.baseline_nrs}"),
        ("pain area", format_regions(t.pain_regions) if t.pain_regions else "not recorded"),
        ("goal", f"{t.goal_reduction_pct} % reduction (a mean NRS of {t.goal_nrs:g} or less)"),
    ]


def _diary_line(t: Trial, e: DiaryEntry) -> str:
    from ..trial import hours_text, usage_source_text

    usage = hours_text(e) + (f" ({usage_source_text(e)})" if e.stimulation_source else "")
    drug = e.analgesics.value if e.analgesics else "-"
    edited = f"  [revision {e.revision}]" if e.revision > 1 else ""
    notes = f"  {e.notes}" if e.notes else ""
    day = f"day {t.day_number(e.entry_date):>2}  {e.entry_date}"
    return f"{day}  NRS {e.nrs:>2}  {usage:<12}  analgesics {drug}{notes}{edited}"


def _program_line(p: ProgramTest) -> str:
    from ..trial import comfort_text, felt_text, format_regions, program_summary

    mark = "  [left active]" if p.left_active else ""
    return (
        f"{p.label}  {p.session_date}  slot {p.slot}: {program_summary(p.capture.program)} ({felt_text(p)})\n"
        f"    felt in: {format_regions(p.regions)}; over the pain area: {p.overlap.describe()}; "
        f"comfort: {comfort_text(p)}{mark}" + (f"\n    notes: {p.notes}" if p.notes else "")
    )


# --- handlers ----------------------------------------------------------------------------------------


def _new(args: argparse.Namespace) -> int:
    from ..profiles import get_profile
    from ..trial import TrialDevice, check_new_trial, create_trial, parse_nrs, read_trial_device

    with _store(args, write=True) as store:
        baseline = parse_nrs(args.baseline, what="--baseline", lowest=1)
        start = _day(store, args.start, "--start")
        end = _day(store, args.end, "--end") if args.end else None
        if args.days is not None:
            if args.days < 1:
                raise UsageError(f"--days {args.days}: give the planned length in days, 1 or more")
            from datetime import timedelta

            end = start + timedelta(days=args.days - 1)
        if args.serial is not None:
            if args.port:
                raise UsageError("--serial is read from the device when a port is given (--port or $SCSCTL_PORT)")
            if not args.profile:
                raise UsageError("--serial needs --profile too (the device's model, see `scsctl profiles list`)")
        elif not args.port:
            raise UsageError("which device? give --port (its serial and profile are read) or --serial and --profile")
        # Bad input is refused before the device is opened.
        plan = check_new_trial(
            store, baseline_nrs=baseline, start_date=start, planned_end_date=end,
            pain_regions=args.pain_area or (), goal_reduction_pct=args.goal, trial_id=args.trial_id,
        )  # fmt: skip
        if args.serial is not None:
            device = TrialDevice(args.serial, get_profile(args.profile, args.profile_path).name, None)
            trial = create_trial(store, device, plan)
        else:
            with open_device(args) as dev:
                trial = create_trial(store, read_trial_device(dev), plan)
        emit(args, trial.as_dict(), table(_trial_rows(trial)) + f"\ntrial {trial.trial_id} recorded")
    return 0


def _list(args: argparse.Namespace) -> int:
    from ..audit import DB_NAME, default_data_dir

    if not (Path(args.data_dir or default_data_dir()) / DB_NAME).exists():
        emit(args, [], "no trials recorded")
        return 0
    with _store(args, write=False) as store:
        rows = []
        for t in store.trials():
            diary = store.diary(t.trial_id)
            rows.append((t, len(diary), diary[-1].entry_date if diary else None))
        emit(
            args,
            [{**t.as_dict(), "diary_days": n, "last_diary_date": None if d is None else d.isoformat()}
             for t, n, d in rows],
            "\n".join(
                f"{t.trial_id}  {t.device_serial} ({t.profile})  {t.start_date} to {t.planned_end_date}  "
                f"baseline NRS {t.baseline_nrs}  {n} diary day{'s' if n != 1 else ''}"
                for t, n, _ in rows
            )
            or "no trials recorded",
        )  # fmt: skip
    return 0


def _show(args: argparse.Namespace) -> int:
    from ..trial import assess

    with _store(args, write=False) as store:
        t = store.trial(args.trial_id)
        diary = store.diary(t.trial_id)
        programs = store.program_tests(t.trial_id)
        history = store.diary_history(t.trial_id)
        assessment = assess(t, diary) if diary else None
        data = {
            "trial": t.as_dict(),
            "assessment": None if assessment is None else assessment.as_dict(),
            "diary": [{**e.as_dict(), "day": t.day_number(e.entry_date)} for e in diary],
            "programs": [p.as_dict() for p in programs],
            "diary_history": [h.as_dict() for h in history],
        }
        verdict = assessment.statement if assessment else "no diary entry yet"
        lines = [table([*_trial_rows(t), ("verdict", verdict)]), "", "diary:"]
        lines += [f"  {_diary_line(t, e)}" for e in diary] or ["  none"]
        lines += ["", "programs tried:"]
        lines += [f"  {_program_line(p)}" for p in programs] or ["  none"]
        if history and args.history:
            lines += ["", "replaced diary values:"]
            for h in history:
                lines.append(
                    f"  {h.entry.entry_date}: NRS {h.entry.nrs}, revision {h.entry.revision}, replaced "
                    f"{h.replaced_utc} by {h.replaced_by}" + (f" ({h.reason})" if h.reason else "")
                )
        elif history:
            lines += [
                "",
                f"{len(history)} replaced diary value(s): `scsctl trial show {t.trial_id} --history` lists them",
            ]
        emit(args, data, "\n".join(lines))
    return 0


def _diary(args: argparse.Namespace) -> int:
    from ..trial import DiaryDayTaken, add_diary, check_diary_day, edit_diary, hours_to_s, parse_nrs, read_trial_usage

    if args.edit and not args.reason.strip():
        # A clinical record's correction says why: the history keeps the old value and the reason.
        raise UsageError('--edit needs --reason "why the entry is corrected" (kept with the old values)')
    with _store(args, write=True) as store:
        trial = store.trial(args.trial_id)
        day = _day(store, args.date, "--date")
        nrs = None if args.nrs is None else parse_nrs(args.nrs, what="--nrs")
        seconds = None if args.hours is None else hours_to_s(args.hours)
        if args.edit:
            # An edit corrects what was written; the device's counter says nothing about that, so no port is used.
            entry = edit_diary(
                store, trial, day, nrs=nrs, stimulation_s=seconds, analgesics=args.analgesics, notes=args.notes,
                reason=args.reason,
            )  # fmt: skip
            what = f"entry for {day} changed (revision {entry.revision}); the old values are kept in the history"
        else:
            if nrs is None:
                raise UsageError("--nrs is required: the day's pain, NRS 0-10")
            try:
                check_diary_day(store, trial, day)  # before the device is opened: a bad day asks nothing of it
                usage = None
                if args.port:
                    with open_device(args) as dev:
                        usage = read_trial_usage(trial, dev)
                entry = add_diary(
                    store, trial, day, nrs, stimulation_s=seconds, usage=usage, analgesics=args.analgesics,
                    notes=args.notes or "",
                )  # fmt: skip
            except DiaryDayTaken as err:
                how = f"`scsctl trial diary {trial.trial_id} --date {day} --edit --reason ...`"
                raise UsageError(f"{err} ({how})") from err
            what = f"entry for {day} (day {trial.day_number(day)}) recorded"
        emit(args, entry.as_dict(), f"{_diary_line(trial, entry)}\n{what}")
    return 0


def _coverage(args: argparse.Namespace) -> int:
    from ..trial import check_coverage, read_coverage, record_coverage

    with _store(args, write=True) as store:
        trial = store.trial(args.trial_id)
        regions = check_coverage(args.regions, args.comfort, what="--regions")  # before the device is opened
        if not args.port:
            raise UsageError(
                "coverage needs the device (--port or $SCSCTL_PORT): the program's settings are read back from it, "
                "so the record says what the patient actually had"
            )
        with open_device(args) as dev:
            reading = read_coverage(trial, dev, args.slot, left_active=args.left_active)
        test = record_coverage(
            store, trial, reading, regions=regions, comfort=args.comfort, notes=args.notes or "",
            left_active=args.left_active,
        )  # fmt: skip
        emit(args, test.as_dict(), _program_line(test) + f"\n{test.label} recorded for trial {trial.trial_id}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from ..audit import AuditLog
    from ..trial import build_report, render_html, render_json, render_markdown

    with _store(args, write=False) as store:
        trial = store.trial(args.trial_id)
        store.diary(trial.trial_id)
        with AuditLog(store.path) as audit:
            report = build_report(store, trial.trial_id, audit=audit)
    render = {"md": render_markdown, "html": render_html, "json": render_json}[args.format]
    text = render(report)
    if args.output and args.output != "-":
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as err:
            raise UsageError(f"cannot write {args.output}: {err.strerror}") from err
        print(f"{report.assessment.statement}\nreport written to {args.output}")
    else:
        sys.stdout.write(text)
    return 0


def _regions(args: argparse.Namespace) -> int:
    from ..trial import BODY_REGIONS, SIDED_REGIONS

    print("body regions (a region without -left/-right means both sides; 'none' for no paresthesia):")
    for name in BODY_REGIONS:
        print(f"  {name}")
    print(f"sided: {', '.join(SIDED_REGIONS)}")
    return 0

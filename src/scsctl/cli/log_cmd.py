"""``scsctl log show|export|verify``: read the audit log, and check that nobody changed it.

``show`` prints each record's time in local time with its offset (``--utc``: in UTC), to the
millisecond; ``export`` writes the stored UTC times as they are. Every field ``show`` prints is
escaped (``scsctl.text.printable``): a record prints as one line whatever a name, a device serial or
an error text holds.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..errors import AuditChainBroken, UsageError
from .common import whole_number


def register(sub: Any) -> None:
    log = sub.add_parser("log", help="read and verify the audit log", description="Read and verify the audit log.")
    log_sub = log.add_subparsers(dest="log_command", metavar="ACTION", required=True)
    for name, help_text, handler in (
        ("show", "print audit records, oldest first", _show),
        ("export", "write audit records as CSV or JSON", _export),
    ):
        p = log_sub.add_parser(name, help=help_text, description=help_text)
        _data_dir(p)
        p.add_argument(
            "--since",
            help="from this date/time (2026-11-21, 2026-11-21T14:30, local time unless it gives a zone or --utc is "
            "given) or age (2h, 7d)",
        )
        p.add_argument("--device", metavar="SERIAL", help="only this device's records")
        p.add_argument("--session", help="only this session's records")
        p.set_defaults(handler=handler)
        if name == "show":
            p.add_argument("--limit", type=whole_number("--limit"), metavar="N", help="only the newest N records")
            p.add_argument("--json", action="store_true", help="machine-readable output")
        else:
            p.add_argument("--format", choices=["csv", "json"], required=True)
            p.add_argument("--output", "-o", metavar="FILE", help="write to FILE (default, or -: standard output)")
    verify_help = (
        "check the hash chain: every record as written, none removed or inserted; names the first record "
        "that is not (exit 8)"
    )
    p = log_sub.add_parser("verify", help=verify_help, description=verify_help)
    _data_dir(p)
    p.add_argument(
        "--anchor",
        metavar="ID:HASH",
        help="also check that record ID still has HASH (a head printed by an earlier verify, kept elsewhere)",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=_verify)


def _data_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", metavar="DIR", help="where the audit log lives (default: user data folder)")


def _path(args: argparse.Namespace) -> Path:
    from ..audit import DB_NAME, default_data_dir

    path = Path(args.data_dir or default_data_dir()) / DB_NAME
    if not path.exists():
        raise UsageError(f"no audit log at {path}: nothing has been recorded there yet (see --data-dir)")
    return path


def _records(args: argparse.Namespace) -> list[Any]:
    from ..audit import AuditLog, parse_since

    path = _path(args)
    since = parse_since(args.since, utc=args.utc) if args.since else None
    with AuditLog(path, read_only=True) as log:
        return log.query(since=since, device=args.device, session=args.session, limit=getattr(args, "limit", None))


def _show(args: argparse.Namespace) -> int:
    from ..text import printable as p

    records = _records(args)
    if args.json:
        json.dump([r.as_dict() for r in records], sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    heading: tuple[str, ...] = ()
    for r in records:
        session = (r.session, r.os_user, r.profile, r.profile_sha256, r.profile_origin)
        if session != heading and (r.os_user or r.profile):
            # Who really ran the session and which limits it was checked against: once per change.
            profile = (f"  profile {p(r.profile)} sha256 {r.profile_sha256[:16]} ({p(r.profile_origin)})"
                       if r.profile else "")  # fmt: skip
            print(f"-- session {p(r.session)}  os user {p(r.os_user) or '?'}{profile}")
        heading = session
        detail = ", ".join(f"{p(k)}={p(v)}" for k, v in r.detail.items() if k not in ("sent",))
        print(
            f"{p(_when(r.time_utc, args.utc))}  {p(r.operator)}/{p(r.role)}  {p(r.device_serial) or '-'}  "
            f"{p(r.kind):<7} {p(r.name)}  {detail}"
        )
    if not records:
        print("no records")
    return 0


def _when(time_utc: str, utc: bool) -> str:
    """A record's time to the millisecond with its zone: local time and its offset, or UTC."""
    from datetime import UTC, datetime

    try:
        moment = datetime.fromisoformat(time_utc)
    except ValueError:
        return time_utc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # the log stores UTC
    moment = moment.astimezone(UTC) if utc else moment.astimezone()
    offset = moment.strftime("%z")
    return f"{moment:%Y-%m-%d %H:%M:%S}.{moment.microsecond // 1000:03d} {offset[:3]}:{offset[3:]}"


def _export(args: argparse.Namespace) -> int:
    from ..audit import export

    text = export(_records(args), args.format)
    if args.output and args.output != "-":
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as err:
            raise UsageError(f"cannot write {args.output}: {err.strerror}") from err
    else:
        sys.stdout.write(text)
    return 0


def _anchor(text: str) -> tuple[int, str]:
    from ..parsing import whole_number as parse

    record_id, sep, digest = text.partition(":")
    if not sep or len(digest) != 64 or any(c not in "0123456789abcdefABCDEF" for c in digest):
        raise UsageError(f"--anchor {text!r}: give a record id and its 64-digit hash, as ID:HASH")
    return parse(record_id, "--anchor record id", minimum=1), digest.lower()


def _verify(args: argparse.Namespace) -> int:
    from ..audit import AuditLog

    anchor = _anchor(args.anchor) if args.anchor else None
    path = _path(args)
    with AuditLog(path, read_only=True) as log:
        try:
            report = log.verify(anchor=anchor)
        except AuditChainBroken as err:
            raise AuditChainBroken(f"audit log {path}: {err}", record_id=err.record_id) from err
    if args.json:
        json.dump({"path": str(path), "intact": True, "records": report.records, "last_id": report.last_id,
                   "head_hash": report.head_hash, "upgraded_through_id": report.upgraded_through_id,
                   "waiting": report.waiting},
                  sys.stdout, indent=2)  # fmt: skip
        sys.stdout.write("\n")
        return 0
    if not report.records and not report.waiting:
        print(f"audit log {path}: no records yet")
        return 0
    print(f"audit log {path}: {report.records} records, chain intact (records 1 to {report.last_id})")
    if report.upgraded_through_id:
        print(
            f"records 1 to {report.upgraded_through_id} were written before the log had a hash chain: they were "
            "chained as they were found when scsctl upgraded the log"
        )
    if report.waiting:
        print(
            f"{report.waiting} record(s) wait in {path.name}.pending/: written while another process held the log "
            "locked, they join the chain at the next write (`scsctl log show` lists them with id 0)"
        )
    print(f"head: {report.last_id}:{report.head_hash}")
    print("keep the head elsewhere; `scsctl log verify --anchor ID:HASH` later shows whether anything up to it was "
          "rewritten")  # fmt: skip
    return 0

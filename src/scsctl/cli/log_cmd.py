"""``scsctl log show|export``: read the audit log."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..errors import UsageError


def register(sub: Any) -> None:
    log = sub.add_parser("log", help="read the audit log", description="Read the audit log.")
    log_sub = log.add_subparsers(dest="log_command", metavar="ACTION", required=True)
    for name, help_text, handler in (
        ("show", "print audit records, oldest first", _show),
        ("export", "write audit records as CSV or JSON", _export),
    ):
        p = log_sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--data-dir", metavar="DIR", help="where the audit log lives (default: user data folder)")
        p.add_argument("--since", help="from this date/time (2026-11-21, 2026-11-21T14:30) or age (2h, 7d)")
        p.add_argument("--device", metavar="SERIAL", help="only this device's records")
        p.add_argument("--session", help="only this session's records")
        p.set_defaults(handler=handler)
        if name == "show":
            p.add_argument("--limit", type=int, help="only the newest N records")
            p.add_argument("--json", action="store_true", help="machine-readable output")
        else:
            p.add_argument("--format", choices=["csv", "json"], required=True)
            p.add_argument("--output", "-o", metavar="FILE", help="write to FILE (default: standard output)")


def _records(args: argparse.Namespace) -> list[Any]:
    from ..audit import DB_NAME, AuditLog, default_data_dir, parse_since

    path = Path(args.data_dir or default_data_dir()) / DB_NAME
    if not path.exists():
        raise UsageError(f"no audit log at {path}: nothing has been recorded there yet (see --data-dir)")
    since = parse_since(args.since) if args.since else None
    with AuditLog(path, read_only=True) as log:
        return log.query(since=since, device=args.device, session=args.session, limit=getattr(args, "limit", None))


def _show(args: argparse.Namespace) -> int:
    records = _records(args)
    if args.json:
        json.dump([r.as_dict() for r in records], sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    for r in records:
        detail = ", ".join(f"{k}={v}" for k, v in r.detail.items() if k not in ("sent",))
        print(f"{r.time_utc[:23]}  {r.operator}/{r.role}  {r.device_serial or '-'}  {r.kind:<7} {r.name}  {detail}")
    if not records:
        print("no records")
    return 0


def _export(args: argparse.Namespace) -> int:
    from ..audit import export

    text = export(_records(args), args.format)
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as err:
            raise UsageError(f"cannot write {args.output}: {err.strerror}") from err
    else:
        sys.stdout.write(text)
    return 0

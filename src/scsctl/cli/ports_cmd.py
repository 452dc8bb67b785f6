"""``scsctl ports [--json]``: the serial ports and known USB devices this machine can open."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "ports",
        help="list serial ports and USB devices whose ids match a device profile",
        description="List serial ports (with the profile whose USB ids match, if any) and USB devices "
        "whose ids match a device profile. The emulator is not listed: open emu:// or run "
        "`scsctl emulator --pty`.",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..controller import list_ports

    listing = list_ports()
    for problem in listing.problems:
        print(f"scsctl: warning: {problem}", file=sys.stderr)
    if args.json:
        print(json.dumps([p.to_dict() for p in listing.ports], indent=2))
        return 0
    if not listing.ports:
        print("no serial ports or known USB devices found (the emulator: emu:// or `scsctl emulator --pty`)")
        return 0
    rows = [("PORT", "PROFILE", "USB ID", "SERIAL", "DESCRIPTION")]
    for p in listing.ports:
        usb_id = f"{p.usb_vid:04x}:{p.usb_pid:04x}" if p.usb_vid is not None and p.usb_pid is not None else ""
        rows.append((p.url, p.profile or "", usb_id, p.serial_number or "", p.description))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)) + "  " + row[-1])
    return 0

"""``scsctl bench``: measure the link, STOP and scale against this machine's own limits."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..errors import UsageError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="benchmark the link, STOP, watchdog, codec, audit log, scaling and start-up",
        description="Measure each figure of issue 8 together with its baseline (the operating system's "
        "or the interpreter's own floor), in the same run, and say which targets are met. Starts "
        "emulators in other processes on pseudo-terminals; takes a few minutes (--quick: under one). "
        "Missed targets do not change the exit status; a measurement that broke exits 1.",
    )
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--quick", action="store_true", help="smoke run for CI: every figure, few samples")
    length.add_argument(
        "--full", action="store_true", help="as the default run, but the soak sends the whole million request/replies"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.add_argument(
        "--only",
        metavar="NAMES",
        help="comma-separated figures or families to measure (e.g. rtt,stop_latency_us,codec)",
    )
    parser.add_argument(
        "--peers",
        action="store_true",
        help="also measure a peer on the same kind of pty pair: pymodbus's RTU client and server "
        "(needs pymodbus: pip install 'scsctl[bench]')",
    )
    parser.add_argument("--work-dir", metavar="DIR", help="keep the scratch files (audit logs, bytecode cache) in DIR")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..bench.context import Mode
    from ..bench.suite import run as run_bench

    mode = Mode.QUICK if args.quick else Mode.FULL if args.full else Mode.DEFAULT
    only = [name.strip() for name in (args.only or "").split(",") if name.strip()]
    if args.only is not None and not only:
        raise UsageError("--only: name at least one figure or family (e.g. --only rtt,codec); without it all run")
    work_dir = Path(args.work_dir) if args.work_dir else None
    if work_dir is not None:
        work_dir.mkdir(parents=True, exist_ok=True)

    def progress(text: str) -> None:
        print(f"scsctl bench: {text}", file=sys.stderr, flush=True)

    report = run_bench(mode, only=only, work_dir=work_dir, progress=progress, peers=args.peers)
    print(report.to_json() if args.json else report.table())
    return 1 if any(f.error is not None for f in report.figures) else 0

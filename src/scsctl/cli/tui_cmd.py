"""``scsctl tui`` (and ``scsctl`` with no arguments): open the terminal UI.

Textual is imported only in the handler, so other commands start without it. With no --port (and
no $SCSCTL_PORT) the TUI connects to the built-in emulator and says so on screen.
"""

from __future__ import annotations

import argparse
from typing import Any

from .common import add_device_options, line_speed


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "tui",
        help="open the terminal UI (the default when scsctl is run with no command)",
        description="Open the terminal UI. With no --port it connects to the built-in emulator "
        "(emu://) and says so on screen. F2 stops all stimulation from any screen or dialog.",
    )
    add_device_options(parser, json_output=False)
    parser.add_argument(
        "--tethered",
        action="store_true",
        help="stop stimulation when the link is lost or the TUI closes (default: a running program keeps running)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..controller import EMULATOR_URL, ConnectTarget
    from ..tui.app import ScsApp

    target = ConnectTarget(
        url=args.port or EMULATOR_URL,
        baud=line_speed(args),
        profile=args.profile,
        role=args.role,
        data_dir=args.data_dir,
        operator=args.operator,
        capture=args.capture,
        tethered=getattr(args, "tethered", False),
        profile_paths=tuple(args.profile_path),
    )
    ScsApp(target).run()
    return 0

"""Entry point: builds the argument parser from the command modules and maps errors to exit codes.

Command modules import their heavy dependencies inside their handlers, so ``scsctl info`` does not
pay for the TUI or the emulator at start-up.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from .. import __version__
from ..errors import EXIT_CODES, ScsError

COMMAND_MODULES: tuple[str, ...] = (
    "device_cmds",
    "log_cmd",
    "capture_cmd",
    "emulator_cmd",
    "ports_cmd",
    "profiles_cmd",
    "tui_cmd",
    "trial_cmd",
    "bench_cmd",
    "hil_cmd",
)
"""Modules under ``scsctl.cli`` that add sub-commands, in the order ``--help`` lists them."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scsctl",
        description="Bench programmer and controller for external trial spinal cord stimulators.",
        epilog="exit codes: " + "; ".join(f"{code} {text}" for code, text in EXIT_CODES.items()),
    )
    parser.add_argument("--version", action="version", version=f"scsctl {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"scsctl.cli.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None and sys.stdin.isatty() and sys.stdout.isatty():
        # No command at a terminal: open the TUI (on the emulator unless $SCSCTL_PORT names a port).
        args = parser.parse_args(["tui"])
        handler = args.handler
    if handler is None:
        parser.print_help()
        return 0
    try:
        return int(handler(args) or 0)
    except ScsError as err:
        print(f"scsctl: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        # Whatever this command had sent stays as the device took it: say so, and how to look.
        print(
            "scsctl: interrupted: the device keeps what it had already accepted; `scsctl status` shows it, "
            "`scsctl stop` stops it",
            file=sys.stderr,
        )
        return 130
    except BrokenPipeError:  # the reader went away (`| head`): nothing to say to nobody
        sys.stderr.close()
        return 0
    except OSError as err:  # a file or device the command was given could not be used
        print(f"scsctl: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

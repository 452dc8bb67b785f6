"""Entry point: builds the argument parser from the command modules and maps errors to exit codes.

Command modules import their heavy dependencies inside their handlers, so ``scsctl info`` does not
pay for the TUI or the emulator at start-up.

Common options (``common.DEVICE_OPTIONS``, ``common.GLOBAL_OPTIONS``) are accepted before or after
the command: ``scsctl --port X status`` and ``scsctl status --port X`` are the same. The top-level
parser and every command that takes an option each have a copy of it whose default is
``argparse.SUPPRESS``, so neither copy clobbers a value the other parsed (argparse copies a
sub-command's namespace over the top-level one); the real defaults are filled in afterwards, from
the command's own declaration. Given both before and after, the value after the command wins, except
that repeatable options (``--profile-path``, ``-v``) add up. A device option given before a command
that has no use for it is an error naming both.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import sys
from collections.abc import Iterator, Sequence
from typing import Any

from .. import __version__
from ..errors import EXIT_CODES, ScsError, UsageError
from .common import DEVICE_OPTIONS, GLOBAL_OPTIONS, add_device_options, add_global_options

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
    "completion_cmd",
)
"""Modules under ``scsctl.cli`` that add sub-commands, in the order ``--help`` lists them."""

COMMON = {**DEVICE_OPTIONS, **GLOBAL_OPTIONS}
_BEFORE = "__before"
"""Suffix of the top-level copy of a repeatable option, added to the command's own afterwards."""
_ACCEPTS = "_common_defaults"
_PROG = "_command_prog"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scsctl",
        description="Bench programmer and controller for external trial spinal cord stimulators. Device options "
        "and -v, --log-file and --utc may be given before or after the command.",
        epilog="exit codes: " + "; ".join(f"{code} {text}" for code, text in EXIT_CODES.items()),
    )
    parser.add_argument("--version", action="version", version=f"scsctl {__version__}")
    add_global_options(parser)
    add_device_options(parser, json_output=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"scsctl.cli.{name}").register(sub)
    originals: dict[int, Any] = {}  # one action may serve several commands (argparse parents)
    for leaf in _leaves(parser):
        if not any("--log-file" in a.option_strings for a in leaf._actions):
            add_global_options(leaf)
        _suppress_common(leaf, originals, top=False)
    _suppress_common(parser, originals, top=True)
    return parser


def _leaves(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """Every parser under ``parser`` that runs a command (has no sub-commands of its own)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):  # aliases map to the same parser
                children = [a for a in child._actions if isinstance(a, argparse._SubParsersAction)]
                if children:
                    yield from _leaves(child)
                else:
                    yield child


def _suppress_common(parser: argparse.ArgumentParser, originals: dict[int, Any], *, top: bool) -> None:
    """Make ``parser``'s copies of the common options leave the namespace alone unless given, and
    remember (for a command) the defaults they had."""
    accepts: dict[str, Any] = {}
    for action in parser._actions:
        if action.dest not in COMMON:
            continue
        accepts[action.dest] = originals.setdefault(id(action), action.default)
        action.default = argparse.SUPPRESS
        if top and isinstance(action, argparse._AppendAction | argparse._CountAction):
            action.dest += _BEFORE
    if not top:
        parser.set_defaults(**{_ACCEPTS: accepts, _PROG: parser.prog})


def resolve_common(args: argparse.Namespace) -> None:
    """Fill in the common options' defaults from the command's own, add up repeatable ones, and
    refuse a device option given before a command that takes none."""
    accepts: dict[str, Any] = getattr(args, _ACCEPTS, {})
    prog = getattr(args, _PROG, "scsctl")
    for dest, flag in COMMON.items():
        before = getattr(args, dest + _BEFORE, None)
        given = hasattr(args, dest) or before is not None
        if given and dest not in accepts and dest in DEVICE_OPTIONS and prog != "scsctl":
            raise UsageError(f"{flag} does not apply to `{prog}`: it takes no device options")
        if not hasattr(args, dest):
            setattr(args, dest, accepts.get(dest, _TOP_DEFAULTS.get(dest)))
        if before is not None:
            after = getattr(args, dest)
            setattr(args, dest, before + after if isinstance(before, list) else before + (after or 0))
        if hasattr(args, dest + _BEFORE):
            delattr(args, dest + _BEFORE)
    for helper in (_ACCEPTS, _PROG):
        if hasattr(args, helper):
            delattr(args, helper)


_TOP_DEFAULTS: dict[str, Any] = {"verbose": 0, "profile_path": [], "role": "technician", "utc": False}
"""Defaults of the common options when no command (or a command without them) was given."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None and sys.stdin.isatty() and sys.stdout.isatty():
        # No command at a terminal: open the TUI (on the emulator unless $SCSCTL_PORT names a port).
        args = parser.parse_args([*argv, "tui"])
        handler = args.handler
    try:
        resolve_common(args)
    except UsageError as err:
        parser.error(str(err))
    if handler is None:
        parser.print_help()
        return 0
    try:
        with _output(args):
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


@contextlib.contextmanager
def _output(args: argparse.Namespace) -> Iterator[None]:
    """Logging as -v and --log-file ask; with ``--capture -`` the capture has standard output to itself
    and what the command prints goes to standard error."""
    from .logs import configure_logging

    with configure_logging(args.verbose, args.log_file, terminal_ui=args.command == "tui"):
        if getattr(args, "capture", None) != "-":
            yield
            return
        if args.command == "tui":
            raise UsageError("--capture -: the terminal UI draws on standard output; give the capture a file")
        args.capture = sys.stdout
        with contextlib.redirect_stdout(sys.stderr):
            yield


if __name__ == "__main__":
    sys.exit(main())

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

_DEVICE_COMMANDS = (
    "info", "status", "programs", "program", "select", "start", "stop", "amplitude", "commit", "impedance", "usage",
)  # fmt: skip

COMMANDS: dict[str, str] = {
    **dict.fromkeys(_DEVICE_COMMANDS, "device_cmds"),
    "log": "log_cmd",
    "capture": "capture_cmd",
    "emulator": "emulator_cmd",
    "ports": "ports_cmd",
    "profiles": "profiles_cmd",
    "tui": "tui_cmd",
    "trial": "trial_cmd",
    "bench": "bench_cmd",
    "hil-report": "hil_cmd",
    "completion": "completion_cmd",
}
"""Each command and the module of ``COMMAND_MODULES`` that adds it (a test checks it against them):
``scsctl status ...`` builds only ``device_cmds``'s commands, which saves a script's every call the
time of building the rest."""

COMMON = {**DEVICE_OPTIONS, **GLOBAL_OPTIONS}
_BEFORE = "__before"
"""Suffix of the top-level copy of a repeatable option, added to the command's own afterwards."""
_ACCEPTS = "_common_defaults"
_PROG = "_command_prog"


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The whole parser; with ``argv``, only as much of it as parsing ``argv`` needs: the module of
    the command it names, when that is certain from the options before it (else every command, so
    that help lists them all and a wrong name is told the choices)."""
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
    command = None if argv is None else _named_command(argv, parser)
    for name in COMMAND_MODULES if command is None else (COMMANDS[command],):
        importlib.import_module(f"scsctl.cli.{name}").register(sub)
    originals: dict[int, Any] = {}  # one action may serve several commands (argparse parents)
    for leaf in _leaves(parser):
        if not any("--log-file" in a.option_strings for a in leaf._actions):
            add_global_options(leaf)
        _suppress_common(leaf, originals, top=False)
    _suppress_common(parser, originals, top=True)
    return parser


def _named_command(argv: Sequence[str], parser: argparse.ArgumentParser) -> str | None:
    """The command ``argv`` names, read past the top-level options before it; None when that is not
    certain without the whole parser (help, an option it does not know as written, no command, a
    name that is not a command)."""
    with_value = {o for a in parser._actions if a.nargs is None for o in a.option_strings}
    flags = {o for a in parser._actions if a.nargs == 0 and not isinstance(a, argparse._HelpAction)
             for o in a.option_strings}  # fmt: skip
    value_next = False
    for arg in argv:
        if value_next:
            value_next = False
        elif arg.startswith("-") and arg != "-":
            name, equals, _ = arg.partition("=")
            if name in with_value:
                value_next = not equals
            elif arg not in flags and arg.strip("v") != "-":  # -vv is -v twice
                return None
        else:
            return arg if arg in COMMANDS else None
    return None


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
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
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

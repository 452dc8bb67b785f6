"""Options every device command shares, and printing helpers."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import UsageError

if TYPE_CHECKING:
    from ..controller import ConnectTarget, Device

PORT_ENV = "SCSCTL_PORT"
BAUD_ENV = "SCSCTL_BAUD"
POLICY_HELP = "/etc/scsctl/policy.toml"

DEVICE_OPTIONS: dict[str, str] = {
    "port": "--port",
    "baud": "--baud",
    "profile": "--profile",
    "profile_path": "--profile-path",
    "role": "--role",
    "operator": "--operator",
    "data_dir": "--data-dir",
    "capture": "--capture",
}
"""Options of the commands that talk to a device (dest -> flag): given before or after the command."""
GLOBAL_OPTIONS: dict[str, str] = {"verbose": "-v", "log_file": "--log-file", "utc": "--utc"}
"""Options every command takes, before or after its name."""


def whole_number(what: str, *, minimum: int = 0, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse ``type``: a whole number in ASCII digits within bounds (``parsing.whole_number``)."""

    def convert(text: str) -> int:
        from ..parsing import whole_number as parse

        try:
            return parse(text, what, minimum=minimum, maximum=maximum)
        except UsageError as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    convert.__name__ = what  # argparse names the type in some messages
    return convert


def operator_name(text: str) -> str:
    """An argparse ``type`` for ``--operator``: printable, at most 64 characters (``text.check_name``)."""
    from ..text import check_name

    try:
        return check_name(text)
    except UsageError as err:
        raise argparse.ArgumentTypeError(f"{err}; nothing was done or recorded") from None


def add_device_options(parser: argparse.ArgumentParser, *, json_output: bool = True) -> None:
    group = parser.add_argument_group("device")
    group.add_argument(
        "--port",
        metavar="URL",
        default=os.environ.get(PORT_ENV),
        help="serial path, pyserial URL (socket://, rfc2217://), usb://VID:PID[/SERIAL] or "
        f"emu://[MODEL]; default ${PORT_ENV}",
    )
    group.add_argument(
        "--baud",
        metavar="B",
        type=whole_number("--baud", minimum=1),
        help=f"line speed in bits per second (default ${BAUD_ENV}, else 115200 for a serial port): sets a serial "
        "port's speed, and the reply timeouts follow it (a pseudo-terminal or TCP line to a slow device: give "
        "the device's speed)",
    )
    group.add_argument(
        "--profile",
        metavar="NAME",
        help="device profile, by name or .toml file (default: matched from the device's model); technicians get "
        "only the shipped profiles and those of the site folder /etc/scsctl/profiles",
    )
    group.add_argument(
        "--profile-path",
        metavar="DIR",
        action="append",
        default=[],
        help="another folder of profile files (also $SCSCTL_PROFILE_PATH); its profiles are for the engineer "
        "role only",
    )
    group.add_argument(
        "--role",
        choices=["technician", "engineer"],
        default="technician",
        help="technician: clinical limits (default); engineer: engineering limits, only for OS users the "
        f"site policy ({POLICY_HELP}) names",
    )
    group.add_argument(
        "--operator",
        metavar="NAME",
        type=operator_name,
        help="name recorded in the audit log, up to 64 printable characters (default: your OS user name)",
    )
    group.add_argument("--data-dir", metavar="DIR", help="where the audit log lives (default: user data folder)")
    group.add_argument(
        "--capture", metavar="FILE", help="record every byte on the wire to FILE (- for standard output; the "
        "command's own output then goes to standard error)"
    )
    if json_output:
        parser.add_argument("--json", action="store_true", help="machine-readable output")


def line_speed(args: argparse.Namespace, *, stopping: bool = False) -> int | None:
    """``--baud``, else ``$SCSCTL_BAUD``, else None (the transport's own default).

    ``--baud`` with a port that has no line speed (``usb://``) is a usage error rather than ignored,
    except for STOP, which nothing may hold back: there it is ignored, with a warning.
    ``$SCSCTL_BAUD`` is the speed of the serial ports this user works with: a USB device leaves it
    aside (checked, still, so that a malformed value is named).
    """
    from ..controller import has_line_speed, no_line_speed_text

    port = str(getattr(args, "port", None) or "")
    no_speed = bool(port) and not has_line_speed(port)
    if getattr(args, "baud", None) is not None:
        if no_speed:
            problem = f"--baud {args.baud}: {no_line_speed_text(port)}"
            if stopping:
                print(f"scsctl: warning: {problem}; ignored", file=sys.stderr)
                return None
            raise UsageError(f"{problem}; leave --baud out")
        return int(args.baud)
    text = os.environ.get(BAUD_ENV)
    if not text:
        return None
    from ..parsing import whole_number as parse

    baud = parse(text, f"${BAUD_ENV}", minimum=1)
    return None if no_speed else baud


def add_global_options(parser: argparse.ArgumentParser) -> None:
    """-v, --log-file and --utc: every command takes them, before or after its name."""
    group = parser.add_argument_group("output")
    group.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="say what the link, the transports and the controller do on standard error (retries, stray "
        "replies, reconnects, timeouts): -v for the main steps, -vv for every detail",
    )
    group.add_argument(
        "--log-file",
        metavar="FILE",
        help="append every detail of what the link, the transports and the controller do to FILE (- for standard "
        "output); the only way to see it from the terminal UI",
    )
    group.add_argument(
        "--utc", action="store_true", help="print times in UTC, and read times without a zone as UTC (default: "
        "local time, with its offset)"
    )


def require_port(args: argparse.Namespace) -> None:
    if not args.port:
        raise UsageError(
            f"no device given: use --port URL (e.g. /dev/ttyUSB0, socket://host:port, usb://1209:5101, emu://) "
            f"or set {PORT_ENV}; `scsctl ports` lists serial ports and USB devices"
        )


def target_of(args: argparse.Namespace, *, tethered: bool = False) -> ConnectTarget:
    """The session layer's target for the device options given."""
    from ..controller import ConnectTarget

    require_port(args)
    return ConnectTarget(
        args.port,
        baud=line_speed(args),
        profile=args.profile,
        role=args.role,
        data_dir=args.data_dir,
        operator=args.operator,
        capture=args.capture,
        tethered=tethered,
        profile_paths=args.profile_path,
    )


def open_device(args: argparse.Namespace, *, tethered: bool = False) -> Device:
    """Connect for one command: the process holds the port until the command ends (PortBusy names
    another holder), and a `scsctl stop` from another terminal meanwhile goes through it."""
    return target_of(args, tethered=tethered).open()


def emit(args: argparse.Namespace, data: Any, text: str) -> None:
    """Print ``data`` as JSON with --json, else ``text``."""
    if getattr(args, "json", False):
        json.dump(data, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        print(text)


def table(rows: list[tuple[str, Any]]) -> str:
    width = max((len(k) for k, _ in rows), default=0)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)

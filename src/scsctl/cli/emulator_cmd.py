"""``scsctl emulator``: serve emulated stimulators on pseudo-terminals or TCP until interrupted.

The first lines of output are ``port: URL``, one per emulator, flushed at once, so a script or a
test can read where to connect before anything else; a port that comes back after a
``disconnect`` fault is announced again the same way. Standard error says what is served, and each
emulator's counters (GET_COUNTERS: frames, invalid frames, noise bytes, NAKs) whenever a line
problem grew and once more at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from .common import whole_number

if TYPE_CHECKING:
    from ..emulator import FirmwareFault, FirmwareModel

_FAULT_HELP = """\
fault specs (--fault, repeatable):
  line faults, per byte or frame with probability RATE (0.05 or 5%), option ,dir=to-device|to-host:
    drop-bytes:RATE  corrupt-bytes:RATE  duplicate-bytes:RATE  delay-bytes:RATE:DURATION
    drop-frames:RATE corrupt-frames:RATE duplicate-frames:RATE delay-frames:RATE:DURATION
  line events, at @AT after start-up (default at once), option ,every=PERIOD:
    stall:DURATION          the line carries nothing both ways; held bytes arrive afterwards
    disconnect[:DURATION]   the port vanishes; back after DURATION (a pty may get a new path)
  firmware faults:
    nak=REASON[:COMMAND]    answer the next command (or the next COMMAND) with that NAK
    lead-open=N[@T]  lead-short=N[@T]  lead-repair=N[@T]   contact N (from 1)
    battery=PCT[@T]  reboot[@T]  hardware[=CODE][@T]
  DURATION, AT, PERIOD, T: 250ms, 2s, or bare seconds (2.5).

example:
  scsctl emulator --pty --baud 115200 --fault drop-bytes:0.01 --fault corrupt-frames:5% \\
      --fault stall:2s@10s --fault lead-open=3@30
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "emulator",
        help="serve an emulated stimulator on a pseudo-terminal or a TCP port",
        description="Serve emulated trial stimulators until interrupted (Ctrl-C). Prints `port: URL` "
        "for each as the first lines of output; open that path (or socket:// URL) with pyserial, "
        "the CLI or the TUI as you would a real device.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_FAULT_HELP,
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--pty", action="store_true", help="serve each emulator on a new pseudo-terminal")
    where.add_argument(
        "--tcp",
        metavar="HOST:PORT",
        help="serve on TCP (pyserial socket://HOST:PORT); several emulators take "
        "PORT, PORT+1, ...; port 0 picks free ports",
    )
    parser.add_argument(
        "--model",
        action="append",
        metavar="MODEL",
        help="emulated model (repeat for several emulators; default: the model emu:// opens)",
    )
    parser.add_argument(
        "--count",
        type=whole_number("--count"),
        default=1,
        metavar="N",
        help="emulators of each model (default 1): N independent devices, each on its own port with its own "
        "serial number, all served by this one process (one I/O loop); one `port: URL` line each",
    )
    parser.add_argument(
        "--baud",
        type=whole_number("--baud"),
        metavar="B",
        help="simulate the wire speed of B bits/s (10 bits a byte); default: instant. Tell the host the same "
        "(scsctl --baud B, or SCSCTL_BAUD=B): a pseudo-terminal does not",
    )
    parser.add_argument(
        "--fault", action="append", default=[], metavar="SPEC", help="inject a fault (repeatable; syntax below)"
    )
    parser.add_argument(
        "--seed",
        type=whole_number("--seed"),
        default=None,
        metavar="N",
        help="seed for faults, device variation and the serial number (EMU<model>-<seed>); emulator i uses "
        "N+i (default: a new one each time, so two emulators never share a serial and their trials never mix)",
    )
    parser.add_argument(
        "--codec",
        choices=("python", "c"),
        default="python",
        help="what the emulated firmware decodes and encodes frames with: the Python codec (default) or the C "
        "kit of firmware_protocol/c (built with the system's C compiler on first use)",
    )
    parser.add_argument(
        "--link",
        metavar="PATH",
        help="with --pty: keep a symlink PATH to the pty (PATH-0, PATH-1... for more "
        "emulators), which still works after a disconnect fault moves the pty",
    )
    parser.set_defaults(handler=run)


def _tcp_address(text: str) -> tuple[str, int]:
    host, sep, port_text = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host:
        raise UsageError(f"--tcp {text!r}: write HOST:PORT, e.g. 127.0.0.1:5555")
    if not (port_text.isascii() and port_text.isdigit()):
        raise UsageError(f"--tcp {text!r}: port {port_text!r} is not a number (digits 0-9)")
    port = int(port_text)
    if not 0 <= port <= 65535:
        raise UsageError(f"--tcp {text!r}: port {port} is outside 0..65535")
    return host, port


def _announce(url: str) -> None:
    print(f"port: {url}", flush=True)


def _firmware_fault(spec: str, model: FirmwareModel, now_s: float = 0.0) -> FirmwareFault:
    """One firmware ``--fault`` for ``model``; the core's ValueError becomes a usage error here."""
    from ..emulator import is_firmware_fault, parse_firmware_fault

    try:
        return parse_firmware_fault(spec, now_s, model)
    except ValueError as err:
        if is_firmware_fault(spec):
            raise UsageError(str(err)) from None
        raise UsageError(
            f"{err}; or a line fault: drop-, corrupt-, duplicate-, delay-bytes/-frames, stall, "
            "disconnect (see `scsctl emulator --help`)"
        ) from None


def run(args: argparse.Namespace) -> int:
    from ..emulator import DEFAULT_MODEL_NAME, EmulatorServer, find_model, is_line_fault, make_emulator, parse_fault

    # Everything is checked before anything is served: bad input changes nothing.
    if args.count < 1:
        raise UsageError(f"--count {args.count}: give 1 or more")
    if args.baud is not None and args.baud <= 0:
        raise UsageError(f"--baud {args.baud}: give a positive number of bits per second")
    if args.link and not args.pty:
        raise UsageError("--link goes with --pty")
    models = [m for m in (args.model or [DEFAULT_MODEL_NAME]) for _ in range(args.count)]
    chosen = {name: find_model(name) for name in models}  # an unknown name is refused here, once
    line_faults = [parse_fault(spec) for spec in args.fault if is_line_fault(spec)]
    firmware_specs = [spec for spec in args.fault if not is_line_fault(spec)]
    for spec in firmware_specs:
        for model in dict.fromkeys(models):  # a contact must exist on every model served
            _firmware_fault(spec, chosen[model])
    tcp = _tcp_address(args.tcp) if args.tcp else None
    import secrets  # here: every scsctl command would pay its import (hashlib, hmac) at start-up

    seed = args.seed if args.seed is not None else secrets.randbelow(10**8 - 100)
    runners = [
        make_emulator(model, seed=seed + i, baud=args.baud, faults=line_faults, codec=args.codec)
        for i, model in enumerate(models)
    ]
    for model, runner in zip(models, runners, strict=True):
        now_s = runner.now_s()
        for spec in firmware_specs:
            runner.inject(_firmware_fault(spec, chosen[model], now_s))

    server = EmulatorServer()
    for i, runner in enumerate(runners):
        if tcp is not None:
            server.add_tcp(runner, tcp[0], tcp[1] + i if tcp[1] else 0, on_port=_announce)
        else:
            link = None if not args.link else args.link if len(runners) == 1 else f"{args.link}-{i}"
            server.add_pty(runner, link=link, on_port=_announce)

    stop = threading.Event()
    in_main = threading.current_thread() is threading.main_thread()
    # Ended by kill, or by its terminal closing (SIGHUP): either way the ports close and the --link
    # symlink goes, so that nothing is later sent through it to whatever reuses the pty's number.
    ending = [s for s in (signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s is not None] if in_main else []
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in ending}
    try:
        try:
            urls = server.start()
        except OSError as err:
            raise UsageError(f"cannot serve the emulator: {err}") from err
        for url in urls:
            _announce(url)
        for i, (model, runner, url) in enumerate(zip(models, runners, urls, strict=True)):
            faults = ", ".join([*(str(f) for f in runner.faults), *firmware_specs]) or "none"
            baud = f"{runner.baud} baud" if runner.baud else "instant line"
            codec = "" if args.codec == "python" else f"; {args.codec} codec"
            serial = getattr(runner.firmware, "serial_number", "")
            print(
                f"scsctl emulator: {model} {serial} on {url} ({baud}; faults: {faults}{codec}; seed {seed + i})",
                file=sys.stderr,
                flush=True,
            )
        if args.baud:
            print(f"scsctl emulator: a {args.baud} baud line: give scsctl --baud {args.baud} (or SCSCTL_BAUD="
                  f"{args.baud}) so that its reply timeouts follow it", file=sys.stderr, flush=True)  # fmt: skip
        print("scsctl emulator: serving until interrupted (Ctrl-C)", file=sys.stderr, flush=True)
        watch = _CounterWatch(runners, urls)
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how serving normally ends
            while not stop.wait(COUNTERS_EVERY_S):
                watch.report(changed_only=True)
        watch.report(changed_only=False)
    finally:
        server.stop()
        for number, handler in previous.items():
            signal.signal(number, handler)
    return 0


COUNTERS_EVERY_S = 1.0
"""How often the emulators' counters are looked at; a line is printed only when a line problem grew."""


class _CounterWatch:
    """Prints each emulator's receiver and NAK counters (what GET_COUNTERS answers) to stderr: when a
    line problem grew (noise, invalid frames, NAK BAD_CRC; not the NAKs every session gets, such as
    EMPTY_SLOT for the slots it reads), and once more when serving ends."""

    def __init__(self, runners: list[Any], urls: list[str]) -> None:
        self._runners = runners
        self._urls = urls
        self._seen: list[tuple[int, int, int] | None] = [None] * len(runners)

    def report(self, *, changed_only: bool) -> None:
        from ..diagnostics import device_counters_text

        for i, (runner, url) in enumerate(zip(self._runners, self._urls, strict=True)):
            with runner.locked() as fw:
                counters = fw.counters
            problems = (counters.invalid_frames, counters.discarded_bytes, counters.bad_crc_naks)
            if changed_only and problems == (self._seen[i] or (0, 0, 0)):
                continue
            self._seen[i] = problems
            print(f"scsctl emulator: {url}: since power-on {device_counters_text(counters)}", file=sys.stderr,
                  flush=True)  # fmt: skip

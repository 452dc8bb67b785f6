"""A bench-only emulator process that also reports when its output goes on and off.

``python -m scsctl.bench.monitored_emulator [--model MODEL] [--baud B]`` serves one emulator on a pty as
``scsctl emulator --pty`` does (same runner, same pty endpoint) and prints, after ``port: PATH``,
one line per change of the output between off and on::

    off 12345.678901234 12345.678890000
    on  12345.812345678 12345.812340000

The first number is ``time.monotonic()`` taken in the output stage the moment the firmware set
the output (CLOCK_MONOTONIC is one clock for every process on a Linux machine, so the host can
subtract its own readings from it); the second is the firmware's device-clock time for the same
change, which for timed work (ramp steps, the watchdog) is when it was due rather than when the
runner got to it. The benchmark uses the first: it is when the output really changed.

The emulator's own modules are not changed: the firmware's output monitor is swapped for a
subclass that also reports, and the lines are written by a thread of their own so that the
firmware never waits on the pipe. The process exits on SIGTERM or when its stdin closes.
"""

from __future__ import annotations

import argparse
import contextlib
import queue
import signal
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from ..emulator import DEFAULT_MODEL_NAME, Output, OutputMonitor, PtyEndpoint, make_emulator
from ..errors import ScsError

_Change = tuple[bool, float, float]

CHANGE_TIMEOUT_S = 10.0
"""How long the host waits for a change it caused: generous, a loaded machine must not break a run."""


class ReportingMonitor(OutputMonitor):
    """An output monitor that also queues (on, monotonic time, device time) at each on/off change."""

    def __init__(self, contact_count: int, start_s: float, changes: queue.SimpleQueue[_Change]) -> None:
        super().__init__(contact_count, start_s)
        self._changes = changes

    def record(self, t_s: float, output: Output) -> None:
        now_s = time.monotonic()  # first: the moment the output stage is set
        was_on = self.current.is_on
        super().record(t_s, output)
        if output.is_on != was_on:
            self._changes.put((output.is_on, now_s, t_s))


def _write_changes(changes: queue.SimpleQueue[_Change]) -> None:
    while True:
        on, now_s, device_s = changes.get()
        sys.stdout.write(f"{'on' if on else 'off'} {now_s:.9f} {device_s:.9f}\n")
        sys.stdout.flush()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scsctl.bench.monitored_emulator", description=__doc__)
    parser.add_argument("--model", default=DEFAULT_MODEL_NAME)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--baud", type=int, default=None, help="simulate a line of this speed (default: instant)")
    args = parser.parse_args(argv)

    runner = make_emulator(args.model, seed=args.seed, baud=args.baud)
    changes: queue.SimpleQueue[_Change] = queue.SimpleQueue()
    with runner.locked() as firmware:
        old = firmware.monitor
        firmware.monitor = ReportingMonitor(old.contact_count, firmware.clock_s, changes)
    threading.Thread(target=_write_changes, args=(changes,), name="bench-monitor-out", daemon=True).start()

    endpoint = PtyEndpoint(runner)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())

    def watch_stdin() -> None:
        sys.stdin.read()  # returns at end of file: the benchmark has gone
        done.set()

    threading.Thread(target=watch_stdin, name="bench-stdin", daemon=True).start()
    print(f"port: {endpoint.start()}", flush=True)
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    finally:
        endpoint.stop()
    return 0


# --- the host's side -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Change:
    """One reported change: output ``on`` or off, at ``at_s`` (monotonic) and ``device_s``."""

    on: bool
    at_s: float
    device_s: float


class OutputWatch:
    """Reads a monitored emulator's change lines (``ChildProcess.lines``) on the host."""

    def __init__(self, lines: queue.Queue[str]) -> None:
        self._lines = lines

    def drain(self) -> None:
        """Forget changes reported so far."""
        with contextlib.suppress(queue.Empty):
            while True:
                self._lines.get_nowait()

    def next(self, on: bool, timeout_s: float) -> Change:
        """The next change to ``on`` (on) or off; ScsError if none comes within ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise ScsError(
                    f"the emulator reported no output {'on' if on else 'off'} within {timeout_s} s"
                ) from None
            if not line:
                raise ScsError("the monitored emulator exited")
            word, at_s, device_s = line.split()
            if (word == "on") == on:
                return Change(on, float(at_s), float(device_s))


if __name__ == "__main__":
    sys.exit(main())

"""``watchdog_error_ms``: how late the device's output stops after the host's traffic ceases.

A tethered session (STOP_ON_LOSS) with a 250 ms watchdog starts stimulation, then its heartbeats
stop (``Link.stop_heartbeat()``: as if the host hung). The device must stop its output
``watchdog_timeout_ms`` after the last frame it received. The error is

    (output at zero, in the emulator) - (the host's last write returned) - timeout

so it includes the last frame's trip over the pty: the device cannot count from earlier than
that. Baseline: how late this machine's own timer wakes a thread (``threading.Event.wait``).
"""

from __future__ import annotations

import threading
import time

from ..controller import transport_for_url
from .context import Bench
from .monitored_emulator import CHANGE_TIMEOUT_S, OutputWatch
from .procs import monitored_emulator_process
from .report import Figure, Limit
from .spy import TimedTransport
from .stats import Summary
from .stop import prepare

TIMEOUT_MS = 250
TARGET_PCT = 10
TIMER_WAIT_S = 0.05


def _timer_lateness_ms(count: int) -> list[float]:
    event = threading.Event()
    out = []
    for _ in range(count):
        t0 = time.monotonic()
        event.wait(TIMER_WAIT_S)
        out.append((time.monotonic() - t0 - TIMER_WAIT_S) * 1000)
    return out


def measure(bench: Bench) -> list[Figure]:
    trials = bench.pick(2, 8)
    timeout_s = TIMEOUT_MS / 1000
    errors_ms: list[float] = []
    with monitored_emulator_process(bench.child_env) as emulator:
        watch = OutputWatch(emulator.lines)
        spy = TimedTransport(transport_for_url(emulator.port))
        with bench.connect(
            emulator.port, "watchdog", transport=spy, tethered=True, watchdog_timeout_ms=TIMEOUT_MS
        ) as device:
            prepare(device)
            for trial in range(trials):
                if trial:
                    device.link.start_heartbeat(TIMEOUT_MS, stop_on_loss=True)
                watch.drain()
                device.start()
                watch.next(True, CHANGE_TIMEOUT_S)
                time.sleep(timeout_s)  # a few heartbeats while stimulating
                device.link.stop_heartbeat()
                last_write_s = spy.last_write_s
                assert last_write_s is not None
                off = watch.next(False, timeout_s + CHANGE_TIMEOUT_S)
                errors_ms.append((off.at_s - last_write_s - timeout_s) * 1000)
    timer = _timer_lateness_ms(bench.pick(5, 20))
    error = Summary.of(errors_ms)
    late = Summary.of(timer)
    worst = max(errors_ms)
    return [
        Figure(
            "watchdog_error_ms",
            {
                "median": round(error.median, 3),
                "max": round(worst, 3),
                "n": error.n,
                "timeout_ms": TIMEOUT_MS,
                "max_pct_of_timeout": round(worst / TIMEOUT_MS * 100, 2),
            },
            f"median {error.median:.2f} ms, max {worst:.2f} ms late on {TIMEOUT_MS} ms "
            f"({worst / TIMEOUT_MS * 100:.1f} %)",
            {"timer_late_ms": {"median": round(late.median, 3), "max": round(max(timer), 3), "n": late.n}},
            f"thread timer {late.median:.2f} ms late (max {max(timer):.2f})",
            limits=(Limit("max_pct_of_timeout", TARGET_PCT, "%"),),
            detail={
                "from": "the host's last write (returned) before the heartbeats stopped",
                "timer_wait_ms": TIMER_WAIT_S * 1000,
            },
        )
    ]

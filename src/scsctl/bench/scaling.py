"""``scaling``: one host process driving 1, 16 and 64 emulated devices, each on its own pty.

Each device is connected with ``scsctl.connect`` (so each has its reader, heartbeat and event
threads, and its audit log) and polled with ``status()`` at 20 Hz on a fixed schedule by a thread
of its own, the devices' phases spread evenly over the 50 ms period. Per device count: each
device's p99 round trip (the worst device's and the median device's are reported) and the host
process's CPU time over the window (``time.process_time``, all its threads) as a percentage of one
core. Baseline: the same with one device, in the same run.

The devices are served by one emulator process (``scsctl emulator --pty --count 64``: one I/O loop
for every pty, each device with its own firmware and serial number), which shares this machine's
two cores with the host, as hardware would not on a rig: its load is part of what the host sees.
"""

from __future__ import annotations

import threading
import time
from contextlib import ExitStack
from typing import Any

from ..controller import Device
from ..errors import ScsError
from .context import Bench
from .procs import emulators_process
from .report import Figure, Limit
from .stats import Summary, median

COUNTS = (1, 16, 64)
POLL_HZ = 20
P99_TARGET_MS = 5.0
CPU_TARGET_PCT = 25.0


class _Poller(threading.Thread):
    def __init__(self, device: Device, first_s: float, until_s: float) -> None:
        super().__init__(name=f"bench-poll {device.link.url}", daemon=True)
        self.device = device
        self.first_s = first_s
        self.until_s = until_s
        self.rtt_ns: list[int] = []
        self.failures = 0

    def run(self) -> None:
        next_s = self.first_s
        while next_s < self.until_s:
            delay_s = next_s - time.monotonic()
            if delay_s > 0:
                time.sleep(delay_s)
            next_s += 1 / POLL_HZ  # a fixed schedule: a late poll does not shift the next
            t0 = time.perf_counter_ns()
            try:
                self.device.status()
            except ScsError:
                self.failures += 1
                continue
            self.rtt_ns.append(time.perf_counter_ns() - t0)


def _drive(devices: list[Device], duration_s: float) -> dict[str, Any]:
    start_s = time.monotonic() + 0.1
    # Each device's polls keep their own phase, spread over the period, as independent pollers'
    # would: sixteen requests at the same instant would measure a queue made by the benchmark.
    offset_s = 1 / POLL_HZ / len(devices)
    pollers = [_Poller(d, start_s + i * offset_s, start_s + duration_s) for i, d in enumerate(devices)]
    # Host CPU over the whole window: every thread of this process (pollers, readers, heartbeats).
    cpu0, wall0 = time.process_time(), time.monotonic()
    for poller in pollers:
        poller.start()
    for poller in pollers:
        poller.join()
    cpu_pct = (time.process_time() - cpu0) / (time.monotonic() - wall0) * 100
    per_device = [Summary.of(p.rtt_ns).scaled(1e-6) for p in pollers if p.rtt_ns]
    p99s = [s.p99 for s in per_device]
    return {
        "devices": len(devices),
        "p99_ms_worst_device": round(max(p99s), 3),
        "p99_ms_median_device": round(median(p99s), 3),
        "median_ms": round(median([s.median for s in per_device]), 3),
        "host_cpu_pct_of_one_core": round(cpu_pct, 1),
        "polls": sum(len(p.rtt_ns) for p in pollers),
        "failed_polls": sum(p.failures for p in pollers),
    }


def measure(bench: Bench) -> list[Figure]:
    duration_s = bench.pick(2.0, 10.0)
    levels: dict[str, dict[str, Any]] = {}
    top_count = max(COUNTS)
    emulators = emulators_process(top_count, bench.child_env)
    with ExitStack() as stack:
        stack.callback(emulators.close)
        bench.progress(f"scaling: starting {top_count} emulated devices in one process")
        ports = emulators.wait_ports(top_count)
        devices: list[Device] = []
        for i, port in enumerate(ports):
            devices.append(stack.enter_context(bench.connect(port, f"scaling-{i}")))
        for count in COUNTS:
            bench.progress(f"scaling: {count} device(s) for {duration_s:g} s")
            levels[str(count)] = _drive(devices[:count], duration_s)
    top = levels[str(top_count)]
    mid = levels[str(COUNTS[1])]
    one = levels["1"]
    return [
        Figure(
            "scaling",
            levels,
            f"{top_count} devices: worst p99 {top['p99_ms_worst_device']:.2f} ms, host CPU "
            f"{top['host_cpu_pct_of_one_core']:.0f} %; {COUNTS[1]}: {mid['p99_ms_worst_device']:.2f} ms, "
            f"{mid['host_cpu_pct_of_one_core']:.0f} %",
            {"one_device": one},
            f"1 device: p99 {one['p99_ms_worst_device']:.2f} ms, CPU {one['host_cpu_pct_of_one_core']:.0f} %",
            limits=(
                Limit(f"{top_count}.p99_ms_worst_device", P99_TARGET_MS, "ms"),
                Limit(f"{top_count}.host_cpu_pct_of_one_core", CPU_TARGET_PCT, "%"),
            ),
            detail={
                "poll_hz": POLL_HZ,
                "duration_s": duration_s,
                "heartbeat": "every 333 ms (1 s watchdog)",
                "emulator": f"one process, {top_count} devices on one I/O loop (scsctl emulator --pty --count)",
            },
        )
    ]

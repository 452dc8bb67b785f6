"""``stop_latency_us``, ``stop_at_line_rate_us``: from ``Device.stop()`` to the emulator's output at zero.

The emulator runs in its own process (:mod:`scsctl.bench.monitored_emulator`) and reports the
``time.monotonic()`` at which its output stage went to zero; the host reads the same clock just
before calling ``stop()``. Stops are taken twice: on an idle link (the baseline) and while other
traffic is in flight, as on a rig: status polls at 100 Hz and amplitude changes (400 <-> 500 uA,
each guarded and audited) every 100 ms. Each STOP comes at a random moment of that traffic.

``stop_at_line_rate_us`` does the same over a line at a real speed: the emulator simulates 115200
baud (10 bits a byte, both ways) and the host is told so, while status polls stream back to back
and an amplitude ramp (steps of the profile's size, 500 <-> 1500 uA) is in progress. Its baseline is
the line time of the longest frame the host sends in it: a STOP can wait for at most the frame
being sent (the link's write holds the line until ``Transport.drain``, and a STOP goes before any
other waiting writer), then takes its own line time, which the 1 ms of the target covers with the
emulator's processing.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections.abc import Callable

from firmware_protocol import encode
from firmware_protocol import messages as m

from ..controller import Device
from ..errors import ScsError
from ..parsing import electrodes
from .context import Bench
from .monitored_emulator import CHANGE_TIMEOUT_S, OutputWatch
from .procs import monitored_emulator_process
from .report import Figure, Limit
from .stats import Summary

MEDIAN_TARGET_US = 500
P99_TARGET_US = 2000
POLL_HZ = 100
AMPLITUDE_PERIOD_S = 0.1
AMPLITUDES_UA = (500, 400)

LINE_BAUD = 115_200
BITS_PER_BYTE = 10
"""A UART byte: start bit, 8 data bits, stop bit (as the emulator simulates it)."""
LINE_SLACK_US = 1000
"""The target at line rate: the longest frame's line time plus this (median), twice the line time plus this (p99)."""
RAMP_UA = (1500, 500)
"""At line rate: ramps between these (several steps each way) follow each other while the output is on."""

PROGRAM = m.Program(
    slot=0,
    amplitude_ua=0,  # a new electrode configuration starts at 0; prepare() commits AMPLITUDES_UA[0]
    pulse_width_us=300,
    rate_dhz=500,
    contacts=electrodes("1+ 2-", 16),
    patient_max_ua=5000,
)


def prepare(device: Device) -> None:
    """Impedance check, program in slot 0 at 500 uA, selected: each start turns the output on at once.

    500 uA is no more than one amplitude step, so it starts without a ramp.
    """
    device.measure_impedance()
    device.write_program(PROGRAM)
    device.select(PROGRAM.slot)
    device.start()
    device.set_amplitude(AMPLITUDES_UA[0], commit=True)
    device.stop()
    device.read_program(PROGRAM.slot)


class Traffic:
    """Status polls and amplitude changes from two threads while ``running`` is set.

    ``poll_hz`` None: polls back to back; ``amplitudes_ua``/``amplitude_period_s``: the amplitudes
    set in turn, one change (a ramp when it is more than a step) each period.
    """

    def __init__(self, device: Device, *, poll_hz: float | None = POLL_HZ,
                 amplitudes_ua: tuple[int, ...] = AMPLITUDES_UA[::-1],
                 amplitude_period_s: float = AMPLITUDE_PERIOD_S) -> None:  # fmt: skip
        self.device = device
        self.poll_hz = poll_hz
        self.amplitudes_ua = amplitudes_ua
        self.amplitude_period_s = amplitude_period_s
        self.running = threading.Event()
        self.polls = 0
        self.amplitude_changes = 0
        self._done = threading.Event()
        self._threads = [
            threading.Thread(target=self._poll, name="bench-polls", daemon=True),
            threading.Thread(target=self._change_amplitude, name="bench-amplitude", daemon=True),
        ]

    def __enter__(self) -> Traffic:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self.running.set()
        for thread in self._threads:
            thread.join(timeout=5)

    def _every(self, period_s: float, action: Callable[[], object]) -> int:
        """Call ``action`` every ``period_s`` on a fixed schedule while ``running``; returns the count."""
        count = 0
        next_s = time.monotonic()
        while True:
            self.running.wait()
            if self._done.is_set():
                return count
            next_s += period_s
            delay_s = next_s - time.monotonic()
            if delay_s > 0:
                self._done.wait(delay_s)
            else:
                next_s = time.monotonic()  # paused or fell behind: the schedule starts again
            if self._done.is_set():
                return count
            try:
                action()
                count += 1
            except ScsError:
                continue  # e.g. an amplitude change just after a STOP: the guard refuses it

    def _poll(self) -> None:
        self.polls = self._every(1 / self.poll_hz if self.poll_hz else 0.0, self.device.status)

    def _change_amplitude(self) -> None:
        amplitudes = itertools.cycle(self.amplitudes_ua)
        self.amplitude_changes = self._every(self.amplitude_period_s,
                                             lambda: self.device.set_amplitude(next(amplitudes)))  # fmt: skip


def _trial(device: Device, watch: OutputWatch, rng: random.Random) -> tuple[float, float]:
    """One start, a random wait, one stop: (stop call -> output zero, stop call -> stop() returned) in s."""
    watch.drain()
    device.start()
    watch.next(True, CHANGE_TIMEOUT_S)
    time.sleep(rng.uniform(0.02, 0.06))
    watch.drain()
    t0 = time.monotonic()
    device.stop()
    returned = time.monotonic()
    off = watch.next(False, CHANGE_TIMEOUT_S)
    return off.at_s - t0, returned - t0


def measure(bench: Bench) -> list[Figure]:
    return [_instant_line(bench), _line_rate(bench)]


def _instant_line(bench: Bench) -> Figure:
    idle_trials, loaded_trials = bench.pick((5, 15), (50, 150))
    rng = random.Random(8)
    with monitored_emulator_process(bench.child_env) as emulator:
        watch = OutputWatch(emulator.lines)
        with bench.connect(emulator.port, "stop") as device:
            prepare(device)
            idle = [_trial(device, watch, rng) for _ in range(idle_trials)]
            with Traffic(device) as traffic:
                traffic.running.set()
                started_s = time.monotonic()
                loaded = [_trial(device, watch, rng) for _ in range(loaded_trials)]
                traffic_s = time.monotonic() - started_s
                traffic.running.clear()
    latency = Summary.of([off for off, _ in loaded]).scaled(1e6)
    baseline = Summary.of([off for off, _ in idle]).scaled(1e6)
    returned = Summary.of([ret for _, ret in loaded]).scaled(1e3)
    return Figure(
        "stop_latency_us",
        latency.as_dict(),
        f"median {latency.median:.0f} us, p99 {latency.p99:.0f} us under traffic",
        {"idle_link": baseline.as_dict()},
        f"idle link: median {baseline.median:.0f} us, p99 {baseline.p99:.0f} us",
        limits=(Limit("median", MEDIAN_TARGET_US, "us"), Limit("p99", P99_TARGET_US, "us")),
        detail={
            "traffic": {
                "status_polls_per_s": round(traffic.polls / traffic_s, 1),
                "amplitude_changes_per_s": round(traffic.amplitude_changes / traffic_s, 1),
            },
            "stop_call_returned_ms": returned.as_dict(2),
            "clock": "time.monotonic() in both processes (CLOCK_MONOTONIC, system-wide)",
        },
    )


def longest_host_frame(messages: tuple[m.Message, ...]) -> int:
    """Bytes of the longest of these frames (the sequence number does not change a frame's size)."""
    return max(len(encode(message, 0)) for message in messages)


def _line_rate(bench: Bench) -> Figure:
    trials = bench.pick(15, 100)
    rng = random.Random(19)
    # Every frame the host writes during the measurement: polls, ramp steps, heartbeats, the STOP.
    longest = longest_host_frame((m.GetStatus(), m.SetAmplitude(RAMP_UA[0]), m.Heartbeat(1000), m.Stop()))
    frame_us = longest * BITS_PER_BYTE / LINE_BAUD * 1e6
    stop_us = len(encode(m.Stop(), 0)) * BITS_PER_BYTE / LINE_BAUD * 1e6
    with monitored_emulator_process(bench.child_env, baud=LINE_BAUD) as emulator:
        watch = OutputWatch(emulator.lines)
        with bench.connect(emulator.port, "stop-line-rate", baud=LINE_BAUD) as device:
            prepare(device)
            with Traffic(device, poll_hz=None, amplitudes_ua=RAMP_UA, amplitude_period_s=0.0) as traffic:
                traffic.running.set()
                started_s = time.monotonic()
                loaded = [_trial(device, watch, rng) for _ in range(trials)]
                traffic_s = time.monotonic() - started_s
                traffic.running.clear()
            stats = device.link.stats.as_dict()
    latency = Summary.of([off for off, _ in loaded]).scaled(1e6)
    median_target = frame_us + LINE_SLACK_US
    p99_target = 2 * frame_us + LINE_SLACK_US
    return Figure(
        "stop_at_line_rate_us",
        latency.as_dict(),
        f"median {latency.median:.0f} us, p99 {latency.p99:.0f} us at {LINE_BAUD} baud under traffic",
        {
            "longest_frame_bytes": longest,
            "longest_frame_us": round(frame_us, 1),
            "stop_frame_us": round(stop_us, 1),
            "baud": LINE_BAUD,
        },
        f"longest frame {longest} B = {frame_us:.0f} us on the line (STOP itself {stop_us:.0f} us)",
        limits=(Limit("median", round(median_target, 1), "us"), Limit("p99", round(p99_target, 1), "us")),
        detail={
            "traffic": {
                "status_polls_per_s": round(traffic.polls / traffic_s, 1),
                "amplitude_ramps_per_s": round(traffic.amplitude_changes / traffic_s, 1),
            },
            "targets": f"median <= longest frame + {LINE_SLACK_US} us; p99 <= 2 x longest frame + {LINE_SLACK_US} us",
            "at_most_one_frame_ahead": "writes hold the link's line until Transport.drain (the frame's line time "
            "on a pty standing for a stated speed, the UART driver empty); a STOP goes before every waiting writer",
            "link": stats,
        },
    )

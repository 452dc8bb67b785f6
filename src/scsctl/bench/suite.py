"""Runs the figure families in order and collects one :class:`~scsctl.bench.report.Report`.

Each family is a module of this package with ``measure(bench) -> list[Figure]``. A family that
raises is reported as an error for each of its figures and the run goes on: one broken
measurement does not hide the others. Interrupting (Ctrl-C) stops the run; every child process is
ended by the ``with`` blocks that started it.
"""

from __future__ import annotations

import importlib
import os
import platform
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from ..errors import UsageError
from .context import Bench, Mode
from .procs import warm_bytecode
from .report import Figure, Report

FAMILIES: dict[str, tuple[str, ...]] = {
    "codec": ("codec_us",),
    "rtt": ("raw_echo_rtt_us", "rtt_us", "rtt_ratio", "rtt_minimal_device_us", "host_rtt_ratio"),
    "remote": ("rfc2217_status_us", "rfc2217_ratio"),
    "peers": ("peer_rtt_us", "peer_rtt_ratio"),
    "stop": ("stop_latency_us", "stop_at_line_rate_us"),
    "watchdog": ("watchdog_error_ms",),
    "audit": ("audit_ms",),
    "cli_info": ("cli_info_s",),
    "plugin_load": ("plugin_load_ms",),
    "tui": ("tui_ready_s", "tui_key_to_wire_ms"),
    "scaling": ("scaling",),
    "soak": ("soak",),
}
"""Module -> the figures it measures, in the order they run (the longest last)."""

FIGURE_NAMES: tuple[str, ...] = tuple(name for names in FAMILIES.values() for name in names)


def select_families(only: Sequence[str]) -> list[str]:
    """Families named directly or through one of their figures; UsageError for an unknown name."""
    if not only:
        return list(FAMILIES)
    chosen: set[str] = set()
    for name in only:
        found = [family for family, names in FAMILIES.items() if name == family or name in names]
        if not found:
            known = ", ".join([*FAMILIES, *(n for n in FIGURE_NAMES if n not in FAMILIES)])
            raise UsageError(f"--only {name!r}: no such figure; known: {known}")
        chosen.update(found)
    return [family for family in FAMILIES if family in chosen]


def load_average() -> float:
    """The 1-minute load average: on a shared machine, how much else was running."""
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else 0.0


def machine() -> dict[str, object]:
    return {
        "cpus": os.cpu_count() or 0,
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "load_average_1min_at_start": load_average(),
    }


def run(
    mode: Mode,
    *,
    only: Sequence[str] = (),
    work_dir: Path | None = None,
    progress: Callable[[str], None] = lambda text: None,
    peers: bool = False,
) -> Report:
    families = select_families(only)
    report = Report(mode.value, datetime.now(UTC).isoformat(timespec="seconds"), machine())
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="scsctl-bench-") as scratch:
        bench = Bench(mode, work_dir or Path(scratch), progress, peers=peers)
        progress("compiling what the child processes run ...")
        warm_bytecode(bench.child_env)
        for family in families:
            progress(f"measuring {family} ...")
            started = time.monotonic()
            module = importlib.import_module(f"{__package__}.{family}")
            try:
                figures: list[Figure] = module.measure(bench)
            except Exception as err:  # noqa: BLE001 - reported as this family's result; the run goes on
                figures = [Figure.failed(name, f"{type(err).__name__}: {err}") for name in FAMILIES[family]]
            report.figures += figures
            progress(f"  {family}: {time.monotonic() - started:.1f} s")
    report.duration_s = time.monotonic() - t0
    report.machine["load_average_1min_at_end"] = load_average()
    return report

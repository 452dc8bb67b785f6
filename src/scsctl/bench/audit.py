"""``audit_ms``: what the audit log adds to one state-changing command.

``Device.select()`` against an emulator process writes two audit records (the command before it is
sent, the reply after), each committed and synced before the call goes on. The figure is the time
spent inside ``AuditLog.record`` per command, measured by wrapping the log's ``record``; the
whole command's time is given beside it. Baseline, taken right after each command: two appends of a
300-byte line to a file in the same folder, each ``fsync``-ed: the least two durable writes cost on
this disk at that moment (a shared disk's load moves both alike).
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .context import Bench, elapsed_ns
from .procs import emulator_process
from .report import Figure, Limit
from .stats import Summary
from .stop import PROGRAM, prepare

MEDIAN_TARGET_MS = 2.0
RECORDS_PER_COMMAND = 2
LINE = b"x" * 300 + b"\n"


def _durable_appends_ns(fd: int, count: int) -> int:
    t0 = time.perf_counter_ns()
    for _ in range(count):
        os.write(fd, LINE)
        os.fsync(fd)
    return time.perf_counter_ns() - t0


def _filesystem(folder: Path) -> str:
    """The mount type holding ``folder`` (Linux), for the reader to judge the fsync figures."""
    best, fstype = "", "unknown"
    try:
        with open("/proc/mounts", encoding="utf-8") as f:
            for line in f:
                parts = line.split()
                if len(parts) > 2 and str(folder.resolve()).startswith(parts[1]) and len(parts[1]) > len(best):
                    best, fstype = parts[1], parts[2]
    except OSError:
        pass
    return fstype


def measure(bench: Bench) -> list[Figure]:
    count = bench.pick(20, 200)
    folder = bench.data_dir("audit")
    with emulator_process(bench.child_env) as emulator, bench.connect(emulator.port, "audit") as device:
        prepare(device)
        log = device.audit
        original = log.record
        spent_ns = 0

        def timed_record(kind: Any, name: str, detail: Mapping[str, Any] | None = None) -> int:
            nonlocal spent_ns
            t0 = time.perf_counter_ns()
            try:
                return original(kind, name, detail)
            finally:
                spent_ns += time.perf_counter_ns() - t0

        log.record = timed_record  # type: ignore[method-assign]
        audit_ns: list[int] = []
        command_ns: list[int] = []
        floor_ns: list[int] = []
        floor_path = folder / "fsync-floor.bin"
        fd = os.open(floor_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            for _ in range(count):
                spent_ns = 0
                command_ns.append(elapsed_ns(lambda: device.select(PROGRAM.slot)))
                audit_ns.append(spent_ns)
                floor_ns.append(_durable_appends_ns(fd, RECORDS_PER_COMMAND))
        finally:
            log.record = original  # type: ignore[method-assign]
            os.close(fd)
            floor_path.unlink()
    floor = Summary.of(floor_ns).scaled(1e-6)
    audit = Summary.of(audit_ns).scaled(1e-6)
    command = Summary.of(command_ns).scaled(1e-6)
    return [
        Figure(
            "audit_ms",
            audit.as_dict(3),
            f"median {audit.median:.2f} ms, p99 {audit.p99:.2f} ms per command (2 records)",
            {"two_fsyncs_ms": floor.as_dict(3)},
            f"2 x (append + fsync) {floor.median:.2f} ms (p99 {floor.p99:.2f})",
            limits=(Limit("median", MEDIAN_TARGET_MS, "ms"),),
            detail={
                "command": "SELECT_PROGRAM",
                "records_per_command": RECORDS_PER_COMMAND,
                "command_ms": command.as_dict(3),
                "filesystem": _filesystem(folder),
                "sqlite": "WAL, synchronous=FULL",
            },
        )
    ]

"""What every figure's measurement is given: the mode, a scratch folder, and a progress line."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from .procs import child_env

if TYPE_CHECKING:
    from ..controller import Device, Transport

T = TypeVar("T")

OPERATOR = "scsctl-bench"


class Mode(StrEnum):
    QUICK = "quick"
    """A smoke run for CI: every figure, few samples; the numbers are rough."""
    DEFAULT = "default"
    FULL = "full"
    """As default, and the soak runs the whole million request/replies."""


@dataclass
class Bench:
    mode: Mode
    work_dir: Path
    progress: Callable[[str], None] = field(default=lambda text: None)
    peers: bool = False
    """Measure peers (pymodbus) beside scsctl (``--peers``)."""

    def pick(self, quick: T, default: T, full: T | None = None) -> T:
        """The setting for this mode (``full`` defaults to ``default``)."""
        if self.mode is Mode.QUICK:
            return quick
        if self.mode is Mode.FULL and full is not None:
            return full
        return default

    @property
    def child_env(self) -> dict[str, str]:
        """The environment child processes run in (bytecode cached in the scratch folder)."""
        return child_env(self.work_dir / "pycache")

    def data_dir(self, name: str) -> Path:
        """A folder of the scratch space for one figure (its audit log, say); made if missing."""
        path = self.work_dir / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def connect(self, port: str, name: str, *, transport: Transport | None = None, tethered: bool = False,
                watchdog_timeout_ms: int = 1000, baud: int | None = None) -> Device:  # fmt: skip
        """``scsctl.connect`` to an emulator process's pty, with the audit log in the scratch folder.

        ``baud``: the speed of the line the emulator simulates (``scsctl --baud``), else an instant line.
        """
        from ..controller import connect

        return connect(
            port,
            data_dir=self.data_dir(name),
            operator=OPERATOR,
            transport=transport,
            tethered=tethered,
            watchdog_timeout_ms=watchdog_timeout_ms,
            baud=baud,
        )


def elapsed_ns(action: Callable[[], object]) -> int:
    t0 = time.perf_counter_ns()
    action()
    return time.perf_counter_ns() - t0

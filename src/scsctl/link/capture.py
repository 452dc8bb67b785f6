"""Wire capture: every byte in both directions with its time, one JSON object per line.

Lines are ``{"t": seconds since the capture began, "dir": "tx"|"rx", "hex": "..."}``, preceded by
one header line ``{"scsctl_capture": 1, "started_utc": "...", "port": "..."}``. JSON lines keep the
file readable with ``jq`` and survive a crash mid-write (every line is flushed).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, TextIO

from ..errors import UsageError

Direction = Literal["tx", "rx"]
FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class CaptureRecord:
    t_s: float
    direction: Direction
    data: bytes


class WireCapture:
    """Appends records to a capture file; safe to call from the reader and writer threads."""

    def __init__(self, path: str | Path, *, port: str = "") -> None:
        self.path = Path(path)
        try:
            self._file: TextIO = self.path.open("w", encoding="ascii")
        except OSError as err:
            raise UsageError(f"cannot write capture file {self.path}: {err.strerror}") from err
        self._lock = threading.Lock()
        self.error: OSError | None = None
        """Set when writing failed: the capture stopped there (the link goes on without it)."""
        self._t0 = time.monotonic()
        started = datetime.now(UTC).isoformat()
        header = {"scsctl_capture": FORMAT_VERSION, "started_utc": started, "port": port}
        self._write_line(json.dumps(header))
        if self.error is not None:
            raise UsageError(f"cannot write capture file {self.path}: {self.error.strerror or self.error}")

    def record(self, direction: Direction, data: bytes) -> None:
        if not data:
            return
        t = time.monotonic() - self._t0
        self._write_line(f'{{"t": {t:.6f}, "dir": "{direction}", "hex": "{data.hex()}"}}')

    def _write_line(self, line: str) -> None:
        with self._lock:
            if self._file.closed:
                return
            try:
                self._file.write(line + "\n")
                self._file.flush()
            except OSError as err:
                # A full disk must not stop the device being controlled (or stopped): the capture ends.
                self.error = err
                with contextlib.suppress(OSError):
                    self._file.close()

    def close(self) -> None:
        with self._lock, contextlib.suppress(OSError):
            self._file.close()


def read_capture(path: str | Path) -> Iterator[CaptureRecord]:
    """Records of a capture file; a damaged line raises UsageError naming the file and line."""
    p = Path(path)
    try:
        lines = p.read_text(encoding="ascii").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise UsageError(f"cannot read capture file {p}: {err}") from err
    if not lines:
        raise UsageError(f"{p} is empty: not a scsctl capture file")
    for number, line in enumerate(lines, start=1):
        try:
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                raise ValueError("not a JSON line (is this a file written by --capture?)") from None
            if number == 1:
                if obj.get("scsctl_capture") != FORMAT_VERSION:
                    raise ValueError("not a scsctl capture file (no header line)")
                continue
            direction = obj["dir"]
            if direction not in ("tx", "rx"):
                raise ValueError(f"dir must be tx or rx, not {direction!r}")
            yield CaptureRecord(float(obj["t"]), direction, bytes.fromhex(obj["hex"]))
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            raise UsageError(f"{p}, line {number}: {err}") from err

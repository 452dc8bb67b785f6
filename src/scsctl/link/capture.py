"""Wire capture: every byte in both directions with its time, one JSON object per line.

Lines are ``{"t": seconds since the capture began, "dir": "tx"|"rx", "hex": "..."}``, preceded by
one header line ``{"scsctl_capture": 1, "started_utc": "...", "port": "..."}``. JSON lines keep the
file readable with ``jq`` and survive a crash mid-write (every line is flushed).

``frame_packets`` and ``write_pcap`` turn a capture into a pcap file for Wireshark (with
``firmware_protocol/wireshark/scsctl.lua``): link type LINKTYPE_USER0 (147), one packet per frame
the receiver consumed whole and one per run of bytes between them that is not a frame, each after
an 8-byte pseudo-header: direction (0 host to device, 1 device to host), three reserved zero bytes,
and the stream offset of the packet's first byte in its direction (u32, little-endian). A packet's
time is when its last byte was recorded.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import struct
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import BinaryIO, Literal, TextIO

from firmware_protocol import Decoder, Frame, InvalidFrame, InvalidReason, encode

from ..errors import CaptureDamaged, UsageError

Direction = Literal["tx", "rx"]
FORMAT_VERSION = 1


STDIO = "-"
"""The file name that means standard input (reading) or standard output (writing)."""


@dataclass(frozen=True, slots=True)
class CaptureRecord:
    t_s: float
    direction: Direction
    data: bytes


class WireCapture:
    """Appends records to a capture file; safe to call from the reader and writer threads."""

    def __init__(self, path: str | Path | TextIO, *, port: str = "") -> None:
        """``path``: a file to create, or an open text stream to write to and leave open (standard
        output for ``--capture -``; the name ``-`` is standard output too)."""
        if isinstance(path, str) and path == STDIO:
            path = sys.stdout
        if not isinstance(path, str | Path):
            self.path = Path(getattr(path, "name", STDIO))
            self._file: TextIO = path
            self._owned = False
        else:
            self.path = Path(path)
            self._owned = True
            try:
                self._file = self.path.open("w", encoding="ascii")
            except OSError as err:
                raise UsageError(f"cannot write capture file {self.path}: {err.strerror}") from err
        self._closed = False
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
            if self._closed or self._file.closed:
                return
            try:
                self._file.write(line + "\n")
                self._file.flush()
            except (OSError, ValueError) as err:
                # A full disk (or a reader that went away) must not stop the device being controlled
                # (or stopped): the capture ends.
                self.error = err if isinstance(err, OSError) else OSError(str(err))
                self._close()

    def close(self) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError, ValueError):
            if self._owned:
                self._file.close()
            else:
                self._file.flush()


class CaptureProblem(StrEnum):
    """Why a line of a capture file is not a record: each has a name, for people and for JSON."""

    CUT_SHORT = "cut_short"
    """The file ends inside this line: the writer was stopped mid-line (a crash, kill -9, a full disk)."""
    NOT_JSON = "not_json"
    NOT_AN_OBJECT = "not_an_object"
    MISSING_FIELD = "missing_field"
    BAD_DIRECTION = "bad_direction"
    BAD_TIME = "bad_time"
    BAD_HEX = "bad_hex"
    NOT_ASCII = "not_ascii"


@dataclass(frozen=True, slots=True)
class DamagedLine:
    """A line of a capture file that is not a record: where it is, and why."""

    line: int
    """From 1; line 1 is the header."""
    offset: int
    """The file byte its first character is at."""
    problem: CaptureProblem
    reason: str
    kept: CaptureRecord | None = None
    """What a line cut short still holds: its time, direction and the whole bytes before the cut."""

    def __str__(self) -> str:
        return f"line {self.line} (file byte {self.offset}): {self.reason}"


@dataclass(frozen=True, slots=True)
class CaptureFile:
    """A capture as read: its header, and its lines in file order (records, and lines that are not)."""

    name: str
    started: datetime | None
    port: str
    lines: tuple[CaptureRecord | DamagedLine, ...]

    @property
    def records(self) -> list[CaptureRecord]:
        """Every record, with what a line cut short still holds."""
        out: list[CaptureRecord] = []
        for item in self.lines:
            if isinstance(item, CaptureRecord):
                out.append(item)
            elif item.kept is not None:
                out.append(item.kept)
        return out

    @property
    def damaged(self) -> list[DamagedLine]:
        return [item for item in self.lines if isinstance(item, DamagedLine)]

    @property
    def cut_at_end_only(self) -> bool:
        """The only damage is a last line cut short (what a writer stopped mid-line leaves)."""
        damaged = self.damaged
        return len(damaged) == 1 and damaged[0].problem is CaptureProblem.CUT_SHORT


# A record line as WireCapture writes it, for what a cut one still holds.
_CUT_RECORD = re.compile(rb'\{"t": ([0-9]+(?:\.[0-9]+)?), "dir": "(tx|rx)", "hex": "([0-9a-f]*)')


def load_capture(path: str | Path, *, stdin: BinaryIO | None = None) -> CaptureFile:
    """Read a whole capture file (``-``: ``stdin``, else standard input), keeping going past damage.

    A file that cannot be read, is empty, or does not start with a capture header raises
    UsageError; a later line that is not a record becomes a ``DamagedLine`` naming its problem.
    """
    name = str(path)
    try:
        if name == STDIO:
            raw = (stdin or sys.stdin.buffer).read()
            name = "standard input"
        else:
            raw = Path(path).read_bytes()
    except OSError as err:
        raise UsageError(f"cannot read capture file {name}: {err.strerror or err}") from err
    if not raw.strip():
        raise UsageError(f"{name} is empty: not a scsctl capture file")
    lines: list[CaptureRecord | DamagedLine] = []
    offset = 0
    header: dict[str, object] | None = None
    for number, line in enumerate(raw.split(b"\n"), start=1):
        start, offset = offset, offset + len(line) + 1
        last = offset > len(raw)  # no newline after it: the end of the file
        if not line.strip():
            continue
        if header is None:
            header = _header(name, line)
            continue
        lines.append(_record(line, number, start, cut=last))
    assert header is not None  # raw holds a non-blank line
    started_text = header.get("started_utc")
    try:
        started = datetime.fromisoformat(started_text) if isinstance(started_text, str) else None
    except ValueError:
        started = None
    port = header.get("port")
    return CaptureFile(name, started, port if isinstance(port, str) else "", tuple(lines))


def _header(name: str, line: bytes) -> dict[str, object]:
    try:
        obj = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        obj = None
    if not isinstance(obj, dict) or obj.get("scsctl_capture") != FORMAT_VERSION:
        raise UsageError(
            f"{name}, line 1: not a scsctl capture file (its first line is not a capture header "
            f'{{"scsctl_capture": {FORMAT_VERSION}, ...}}: is this a file written by --capture?)'
        )
    return obj


def _record(line: bytes, number: int, offset: int, *, cut: bool) -> CaptureRecord | DamagedLine:
    def damaged(problem: CaptureProblem, reason: str) -> DamagedLine:
        return DamagedLine(number, offset, problem, reason)

    try:
        obj = json.loads(line.decode("ascii"))
    except UnicodeDecodeError:
        return damaged(CaptureProblem.NOT_ASCII, "holds bytes that are not ASCII: not a record")
    except ValueError:
        if cut:
            return _cut_line(line, number, offset)
        return damaged(CaptureProblem.NOT_JSON, "not a JSON line: a record was damaged or something else was written")
    if not isinstance(obj, dict):
        return damaged(CaptureProblem.NOT_AN_OBJECT, f"a JSON {type(obj).__name__}, not a record object")
    for field in ("t", "dir", "hex"):
        if field not in obj:
            return damaged(CaptureProblem.MISSING_FIELD, f'the record has no "{field}" field')
    direction, t, hex_text = obj["dir"], obj["t"], obj["hex"]
    if direction not in ("tx", "rx"):
        return damaged(CaptureProblem.BAD_DIRECTION, f'"dir" is {json.dumps(direction)}, not "tx" or "rx"')
    if isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t) or t < 0:
        return damaged(CaptureProblem.BAD_TIME, f'"t" is {json.dumps(t)}, not a number of seconds (0 or more)')
    if not isinstance(hex_text, str) or len(hex_text) % 2 or not _HEX.fullmatch(hex_text):
        return damaged(CaptureProblem.BAD_HEX, '"hex" is not an even number of hexadecimal digits')
    return CaptureRecord(float(t), direction, bytes.fromhex(hex_text))


_HEX = re.compile(r"[0-9a-fA-F]*")


def _cut_line(line: bytes, number: int, offset: int) -> DamagedLine:
    found = _CUT_RECORD.match(line)
    why = "cut short: the file ends inside this line (the capture was interrupted while writing)"
    if found is None:
        return DamagedLine(number, offset, CaptureProblem.CUT_SHORT, why)
    digits = found.group(3)
    data = bytes.fromhex(digits[: len(digits) // 2 * 2].decode("ascii"))
    kept = CaptureRecord(float(found.group(1)), "tx" if found.group(2) == b"tx" else "rx", data)
    return DamagedLine(
        number, offset, CaptureProblem.CUT_SHORT,
        f"{why}; its first {len(data)} byte(s) of {kept.direction} data are kept", kept,
    )  # fmt: skip


def read_capture(path: str | Path) -> Iterator[CaptureRecord]:
    """The records of a capture file, all of them or none: a line that is not a record raises
    ``CaptureDamaged`` naming the file, the line, its byte offset and the problem."""
    capture = load_capture(path)
    for item in capture.lines:
        if isinstance(item, DamagedLine):
            raise CaptureDamaged(f"{capture.name}, {item}", line=item.line, offset=item.offset,
                                 problem=item.problem.value)  # fmt: skip
        yield item


def capture_started(path: str | Path) -> datetime | None:
    """When the capture began (its header line), or None if the header does not say."""
    try:
        return load_capture(path).started
    except UsageError:
        return None


# --- pcap export ---------------------------------------------------------------------------------

LINKTYPE_USER0 = 147
"""The pcap link type of the packets (DLT_USER0); the dissector registers on it."""
PSEUDO_HEADER = struct.Struct("<B3xI")
"""direction (0 host to device, 1 device to host), 3 reserved bytes, stream offset (u32 LE)."""
_DIRECTION_BYTE = {"tx": 0, "rx": 1}
_CONSUMED_WHOLE = frozenset({InvalidReason.UNKNOWN_TYPE, InvalidReason.BAD_LENGTH, InvalidReason.BAD_VALUE})
"""Invalid frames whose CRC was right: the receiver consumed them whole, like valid frames."""


@dataclass(frozen=True, slots=True)
class Packet:
    t_s: float
    direction: Direction
    offset: int
    """Stream offset of the first byte, in its direction."""
    data: bytes
    frame: bool
    """One frame the receiver consumed whole (valid, or invalid with a good CRC); False: not a frame."""


def frame_packets(records: Iterable[CaptureRecord]) -> list[Packet]:
    """The capture cut at frame boundaries, as the decoder sees them, in time order.

    Each direction is decoded as one stream. A valid frame is consumed whole and encodes back to
    exactly its bytes, so it is the first occurrence of those bytes after the previous frame; an
    invalid frame with a good CRC gives its own offset and its length byte. What lies between them
    (noise, frames damaged on the line) becomes packets of its own.
    """
    streams: dict[Direction, list[CaptureRecord]] = {"tx": [], "rx": []}
    order: list[tuple[float, int, Packet]] = []
    for record in records:
        streams[record.direction].append(record)
    serial = 0
    for direction, chunks in streams.items():
        data = b"".join(r.data for r in chunks)
        ends: list[int] = []  # stream position after each chunk, for the time of a byte
        total = 0
        for r in chunks:
            total += len(r.data)
            ends.append(total)
        decoder = Decoder()
        items = decoder.feed(data) + decoder.flush()
        spans: list[tuple[int, int, bool]] = []
        cursor = 0
        for item in items:
            if isinstance(item, Frame):
                raw = encode(item.message, item.seq)
                start = data.find(raw, cursor)
                if start < 0:  # cannot happen: a decoded frame is its own bytes
                    raise AssertionError(f"frame {item} not found in the {direction} stream")
                end = start + len(raw)
            elif isinstance(item, InvalidFrame) and item.reason in _CONSUMED_WHOLE:
                start = item.offset
                end = start + 8 + data[start + 2]
            else:
                continue
            if start > cursor:
                spans.append((cursor, start, False))
            spans.append((start, end, True))
            cursor = end
        if cursor < len(data):
            spans.append((cursor, len(data), False))
        chunk = 0
        for start, end, whole in spans:
            while ends[chunk] < end:
                chunk += 1
            packet = Packet(chunks[chunk].t_s, direction, start, data[start:end], whole)
            order.append((packet.t_s, serial, packet))
            serial += 1
    order.sort(key=lambda entry: (entry[0], entry[1]))
    return [packet for _, _, packet in order]


def write_pcap(out: BinaryIO, packets: Iterable[Packet], started: datetime | None = None) -> int:
    """Classic pcap (microseconds) with link type LINKTYPE_USER0; returns the number of packets."""
    base = (started or datetime.fromtimestamp(0, UTC)).timestamp()
    out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, LINKTYPE_USER0))
    count = 0
    for packet in packets:
        body = PSEUDO_HEADER.pack(_DIRECTION_BYTE[packet.direction], packet.offset & 0xFFFFFFFF) + packet.data
        t_us = round((base + packet.t_s) * 1_000_000)
        out.write(struct.pack("<IIII", t_us // 1_000_000, t_us % 1_000_000, len(body), len(body)))
        out.write(body)
        count += 1
    return count

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
import struct
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Literal, TextIO

from firmware_protocol import Decoder, Frame, InvalidFrame, InvalidReason, encode

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


def capture_started(path: str | Path) -> datetime | None:
    """When the capture began (its header line), or None if the header does not say."""
    p = Path(path)
    try:
        with p.open(encoding="ascii") as f:
            header = json.loads(f.readline())
        return datetime.fromisoformat(header["started_utc"])
    except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError):
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

"""The link: codec and session over one transport (request/reply, STOP, heartbeat, events)."""

from __future__ import annotations

from .capture import (
    STDIO,
    CaptureFile,
    DamagedLine,
    WireCapture,
    capture_started,
    frame_packets,
    load_capture,
    read_capture,
    write_pcap,
)
from .session import Link, LinkStateChange, LinkStats, LinkStatus
from .timing import reply_line_time_s

__all__ = [
    "STDIO",
    "CaptureFile",
    "DamagedLine",
    "Link",
    "LinkStateChange",
    "LinkStats",
    "LinkStatus",
    "WireCapture",
    "capture_started",
    "frame_packets",
    "load_capture",
    "read_capture",
    "reply_line_time_s",
    "write_pcap",
]

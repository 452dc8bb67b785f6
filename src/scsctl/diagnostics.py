"""The line's health in words: the host's link counters and the device's own (GET_COUNTERS).

A bench engineer debugging a device wants to tell a bad line (noise, damaged frames, lost replies)
from a device that refuses: these texts put the counts of both ends side by side. No I/O here; the
CLI, the TUI and ``scsctl emulator`` print what these return.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from firmware_protocol import messages as m

    from .controller import LinkStats

__all__ = ["count", "device_counters_text", "link_text"]


def count(n: int, thing: str, plural: str | None = None) -> str:
    """``count(1, "frame") == "1 frame"``, ``count(2, "frame") == "2 frames"``."""
    return f"{n} {thing if n == 1 else plural or thing + 's'}"


def link_text(stats: LinkStats) -> str:
    """The host's side of this session: what it asked, and what came back damaged or unasked."""
    return ", ".join(
        [
            count(stats.requests, "request"),
            count(stats.retries, "retry", "retries"),
            count(stats.timeouts, "timeout"),
            count(stats.invalid_frames, "invalid frame"),
            count(stats.discarded_bytes, "noise byte"),
            count(stats.stray_replies, "stray reply", "stray replies"),
        ]
    )


def device_counters_text(counters: m.Counters) -> str:
    """The device's side since its power-on: what its receiver saw, and what it sent."""
    return (
        f"received {count(counters.frames_received, 'frame')}, {count(counters.invalid_frames, 'invalid frame')}, "
        f"{count(counters.discarded_bytes, 'noise byte')}; sent {count(counters.frames_sent, 'frame')}, "
        f"{count(counters.naks_sent, 'NAK')} ({counters.bad_crc_naks} BAD_CRC: damaged on the way; the rest are "
        "refusals of any kind, an empty program slot read included)"
    )

"""The link: codec and session over one transport (request/reply, STOP, heartbeat, events)."""

from __future__ import annotations

from .capture import WireCapture, read_capture
from .session import Link, LinkStateChange, LinkStats, LinkStatus

__all__ = ["Link", "LinkStateChange", "LinkStats", "LinkStatus", "WireCapture", "read_capture"]

"""How long the link waits for a reply: the device's reply time, plus the line time at its speed.

On a UART every byte takes 10 bit times (start, 8 data, stop): at 2400 baud a 99-byte PROGRAM frame
takes 413 ms on the line, longer than the 250 ms a reply is otherwise given. So each wait is the
link's base reply timeout (the device's reply time and the host's own latency) plus the line time of
the request, of the longest reply the protocol allows for that command, and of one frame of the
largest size in use ahead of each (another thread's request, a reply or event already on the line).
A transport that does not know its line speed (TCP, USB) adds nothing. PROTOCOL.md 5.4 says the same.
"""

from __future__ import annotations

from firmware_protocol.codec import MAX_FRAME_SIZES, longest_reply_frame
from firmware_protocol.constants import MessageType, is_command

__all__ = [
    "BITS_PER_BYTE",
    "LARGEST_DEVICE_FRAME",
    "LARGEST_HOST_FRAME",
    "line_time_s",
    "reply_line_time_s",
    "stop_line_time_s",
]

BITS_PER_BYTE = 10
"""A UART byte on the wire: start bit, 8 data bits, stop bit."""

LARGEST_HOST_FRAME = max(n for t, n in MAX_FRAME_SIZES.items() if is_command(t))
"""The largest frame a host sends (SET_PROGRAM with 32 contacts)."""
LARGEST_DEVICE_FRAME = max(n for t, n in MAX_FRAME_SIZES.items() if not is_command(t))
"""The largest frame a device sends (USAGE with 32 entries)."""
_STOP_EXCHANGE = MAX_FRAME_SIZES[MessageType.STOP] + MAX_FRAME_SIZES[MessageType.STOP_ACK]


def line_time_s(n_bytes: int, baud: int | None) -> float:
    """Seconds ``n_bytes`` take on a line of ``baud`` bits per second; 0 when the speed is not known."""
    return n_bytes * BITS_PER_BYTE / baud if baud else 0.0


def reply_line_time_s(request_bytes: int, command: MessageType, baud: int | None) -> float:
    """The line time to add to a reply timeout for a request of ``request_bytes``."""
    ahead = LARGEST_HOST_FRAME + LARGEST_DEVICE_FRAME
    return line_time_s(request_bytes + longest_reply_frame(command) + ahead, baud)


def stop_line_time_s(baud: int | None) -> tuple[float, float]:
    """(extra time between STOP re-sends, extra time before STOP is given up): a STOP and its
    STOP_ACK must fit between re-sends, and the deadline allows for the largest frames ahead."""
    return (
        line_time_s(_STOP_EXCHANGE, baud),
        line_time_s(_STOP_EXCHANGE + LARGEST_HOST_FRAME + LARGEST_DEVICE_FRAME, baud),
    )

"""A raw frame sender for negative tests: it bypasses the host's safety guard on purpose.

Conformance tests must show that the *device* refuses what the host would never send (limits are
enforced twice), and how it answers damaged frames. Those frames cannot go through
``scsctl.connect``: the guard refuses them first. This sender writes whatever bytes it is given,
so it is for the engineer role only, and every frame it sends and every answer is recorded in the
audit log (``RAW_FRAME``), with the guard marked as bypassed.

::

    raw.request(m.SetAmplitude(60000, AmplitudeFlags.COMMIT))     # -> m.Nak(...) or the reply
    seq, frame = raw.frame(m.GetStatus())
    raw.send(frame[:-1] + bytes([frame[-1] ^ 0xFF]), seq=seq)     # bad CRC -> m.Nak(BAD_CRC)

It owns the port while it is open (one session per port, as on a serial line). It does not feed
the watchdog: a session armed by someone else expires while only raw frames flow, unless the test
sends HEARTBEAT itself.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any

from firmware_protocol import PROTOCOL_VERSION, Decoded, Decoder, Frame, InvalidFrame, LocalProtocolError, encode
from firmware_protocol import messages as m
from firmware_protocol.constants import MessageType, is_command, is_event

from ..audit import AuditLog
from ..controller import Role, Transport, reply_line_time_s
from ..errors import ReplyTimeout, UsageError

__all__ = ["RawSender"]

READ_CHUNK = 4096
DEFAULT_TIMEOUT_S = 0.5
IMPEDANCE_TIMEOUT_S = 1.5


def _command_type(msg_type: int | None) -> MessageType | None:
    try:
        known = MessageType(msg_type) if msg_type is not None else None
    except ValueError:
        return None
    return known if known is not None and is_command(known) else None


def _type_name(msg_type: int) -> str:
    try:
        return MessageType(msg_type).name
    except ValueError:
        return f"0x{msg_type:02X}"


class RawSender:
    """Frames straight onto a transport, replies matched by sequence number. Not thread-safe."""

    def __init__(self, transport: Transport, audit: AuditLog, *, on_open: Callable[[], None] | None = None) -> None:
        if audit.role != Role.ENGINEER.value:
            raise UsageError(
                f"the raw frame sender bypasses the host's safety guard: it is for the engineer role only "
                f"(this audit session's role is {audit.role})"
            )
        self.transport = transport
        self.audit = audit
        self._on_open = on_open
        self._decoder = Decoder()
        self._seq = 0x80  # far from a controller's seqs, so a late reply to one is never taken for ours
        self.events: list[m.Message] = []
        """Device events seen while waiting for replies, in order."""
        self.invalid: list[InvalidFrame] = []
        """Damaged frames received from the device."""
        self.stray: list[Frame] = []
        """Replies that answered no frame being waited for (e.g. late ones)."""
        self._backlog: deque[Decoded] = deque()
        self.identify: m.Identify | None = None

    # --- session ---------------------------------------------------------------------------------

    def open(self) -> RawSender:
        if self._on_open is not None:
            self._on_open()
        if not self.transport.is_open:
            self.transport.open()
            self._decoder = Decoder()
            self._backlog.clear()
            self.audit.record("action", "RAW_SENDER_OPEN", {"port": self.transport.url, "guard": "bypassed"})
        return self

    def close(self) -> None:
        if self.transport.is_open:
            self.audit.record("action", "RAW_SENDER_CLOSE", {"port": self.transport.url})
        self.transport.close()

    @property
    def is_open(self) -> bool:
        return self.transport.is_open

    def hello(self) -> m.Identify:
        """HELLO for this protocol version; raises ``ReplyTimeout`` or returns IDENTIFY (a NAK raises)."""
        reply = self.request(m.Hello(PROTOCOL_VERSION, PROTOCOL_VERSION))
        if not isinstance(reply, m.Identify):
            raise UsageError(f"the device answered HELLO with {reply}")
        self.identify = reply
        self.audit.device_serial = reply.serial_number
        return reply

    # --- frames ----------------------------------------------------------------------------------

    def next_seq(self) -> int:
        seq = self._seq
        self._seq = (seq + 1) & 0xFF
        return seq

    def frame(self, message: m.Message, seq: int | None = None) -> tuple[int, bytes]:
        """A correctly built frame for ``message`` and the seq it carries (to damage before sending)."""
        seq = self.next_seq() if seq is None else seq
        try:
            return seq, encode(message, seq)
        except LocalProtocolError as err:  # damaged frames are made from good ones: this one cannot be built
            raise UsageError(f"{message.TYPE.name} cannot be encoded: {err}") from err

    def request(self, message: m.Message, *, timeout_s: float | None = None) -> m.Message:
        """Send ``message`` unguarded; return the device's answer (a NAK is returned, not raised).

        The default wait is the device's reply time plus the line time of the frame, its longest
        reply and the largest frames ahead of them at the transport's speed, as the link waits.
        """
        seq, data = self.frame(message)
        if timeout_s is None:
            base_s = IMPEDANCE_TIMEOUT_S if isinstance(message, m.MeasureImpedance) else DEFAULT_TIMEOUT_S
            timeout_s = base_s + reply_line_time_s(len(data), message.TYPE, self.transport.baud)
        reply = self.send(data, seq=seq, timeout_s=timeout_s, detail={"message": m.to_fields(message)})
        if reply is None:
            raise ReplyTimeout(
                f"no reply to raw {message.TYPE.name} (seq {seq}) from {self.transport.url} "
                f"within {timeout_s * 1000:.0f} ms"
            )
        return reply

    def send(
        self,
        data: bytes,
        *,
        seq: int | None,
        timeout_s: float | None = None,
        detail: dict[str, Any] | None = None,
    ) -> m.Message | None:
        """Write ``data`` as it is; return the first reply carrying ``seq`` (None: none in time).

        With ``seq=None`` nothing is awaited: whatever arrives within ``timeout_s`` is collected
        into ``events``/``invalid`` and None is returned (to show the device stayed silent).
        """
        self.open()
        msg_type = data[4] if len(data) > 4 else None
        if timeout_s is None:  # as long as the frame's own type may take to answer, or a NAK (damaged ones)
            known = _command_type(msg_type)
            timeout_s = DEFAULT_TIMEOUT_S + reply_line_time_s(len(data), known or MessageType.STOP, self.transport.baud)
        self.audit.record(
            "command",
            "RAW_FRAME",
            {
                "guard": "bypassed",
                "type": None if msg_type is None else _type_name(msg_type),
                "seq": seq,
                "hex": data.hex(" "),
                **(detail or {}),
            },
        )
        self.transport.write(data)
        reply = self._await(seq, timeout_s)
        self.audit.record(
            "reply",
            "RAW_FRAME",
            {"seq": seq, "reply": None}
            if reply is None
            else {"seq": seq, "reply": reply.TYPE.name, **m.to_fields(reply)},
        )
        return reply

    def drain(self, duration_s: float) -> list[m.Message]:
        """Read for ``duration_s``; return (and keep in ``events``) the device events that came."""
        self.open()
        before = len(self.events)
        self._await(None, duration_s)
        return self.events[before:]

    def _await(self, seq: int | None, timeout_s: float) -> m.Message | None:
        deadline = time.monotonic() + timeout_s
        while True:
            while self._backlog:
                item = self._backlog.popleft()
                if isinstance(item, InvalidFrame):
                    self.invalid.append(item)
                elif is_event(item.message.TYPE):
                    self.events.append(item.message)
                elif seq is not None and item.seq == seq:
                    return item.message
                else:
                    self.stray.append(item)
            left_s = deadline - time.monotonic()
            if left_s <= 0:
                return None
            data = self.transport.read(READ_CHUNK, left_s)
            if data:
                self._backlog.extend(self._decoder.feed(data))

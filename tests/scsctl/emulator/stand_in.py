"""A tiny firmware core for testing the runtime on its own, and a conformance exchange helper.

``StandInFirmware`` answers HELLO, GET_STATUS and STOP through ``firmware_protocol`` and NAKs
anything else; with ``tick_s`` it also sends an event every ``tick_s`` from ``poll``, so a test
sees that the runner calls it at its deadlines. It records what it was fed and when.
"""

from __future__ import annotations

import time

from firmware_protocol import Decoder, Frame, InvalidFrame, encode
from firmware_protocol import messages as m
from firmware_protocol.constants import (
    Capability,
    FaultFlags,
    NakReason,
    State,
    StateCause,
    StatusFlags,
)
from scsctl.transports.base import Transport


class StandInFirmware:
    def __init__(self, now_s: float = 0.0, *, tick_s: float | None = None) -> None:
        self.decoder = Decoder()
        self.frames: list[Frame] = []
        self.invalid: list[InvalidFrame] = []
        self.received = bytearray()
        self.polls: list[float] = []
        self.early_polls = 0
        """Polls before the deadline this core announced (a runner should make none)."""
        self.tick_s = tick_s
        self._next_tick_s = now_s + tick_s if tick_s else None
        self._event_seq = 0
        self.monitor: list[str] = []
        """Stands in for the output monitor: what the core was asked to do, in order."""

    def receive(self, data: bytes, now_s: float) -> bytes:
        self.received += data
        out = bytearray()
        for item in self.decoder.feed(data):
            if isinstance(item, InvalidFrame):
                self.invalid.append(item)
                continue
            self.frames.append(item)
            self.monitor.append(type(item.message).__name__)
            out += encode(self._reply(item.message), item.seq)
        return bytes(out)

    def _reply(self, msg: m.Message) -> m.Message:
        if isinstance(msg, m.Hello):
            return m.Identify(0x5101, 1, 0, 0, 1, "STAND-IN", 1, 16, 4, Capability.TONIC)
        if isinstance(msg, m.GetStatus):
            return m.Status(State.IDLE, 0xFF, 0, 0, 90, 3900, FaultFlags.NONE, StatusFlags.NONE, 5)
        if isinstance(msg, m.Stop):
            return m.StopAck()
        return m.Nak(int(msg.TYPE), NakReason.UNKNOWN_COMMAND)

    def poll(self, now_s: float) -> bytes:
        self.polls.append(now_s)
        if self._next_tick_s is None or self.tick_s is None or now_s < self._next_tick_s:
            self.early_polls += 1
            return b""
        self._next_tick_s += self.tick_s
        seq = self._event_seq
        self._event_seq = (seq + 1) % 256
        return encode(m.EventState(State.IDLE, State.IDLE, StateCause.COMMAND, 0), seq)

    def next_deadline_s(self) -> float | None:
        return self._next_tick_s


REPLIES = {m.Hello: m.Identify, m.GetStatus: m.Status, m.Stop: m.StopAck}

# Only a guard against a hang: every exchange normally completes long before it.
GUARD_S = 10.0


def exchange(transport: Transport, decoder: Decoder, message: m.Message, seq: int) -> Frame:
    """Send ``message``, return the reply carrying ``seq`` (events in between are skipped)."""
    transport.write(encode(message, seq))
    return wait_for(transport, decoder, lambda f: f.seq == seq and not type(f.message).__name__.startswith("Event"))


def wait_for(transport: Transport, decoder: Decoder, want: object) -> Frame:
    """Read until a frame for which ``want(frame)`` holds arrives."""
    check = want if callable(want) else (lambda f: True)
    give_up_s = time.monotonic() + GUARD_S
    while time.monotonic() < give_up_s:
        for item in decoder.feed(transport.read(512, 0.5)):
            if isinstance(item, Frame) and check(item):
                return item
    raise AssertionError(f"no matching frame from {transport.url}")


def conformance(transport: Transport) -> None:
    """HELLO -> IDENTIFY, GET_STATUS -> STATUS, STOP -> STOP_ACK: the same on every transport."""
    decoder = Decoder()
    for seq, message in enumerate([m.Hello(), m.GetStatus(), m.Stop()], start=1):
        reply = exchange(transport, decoder, message, seq)
        assert isinstance(reply.message, REPLIES[type(message)]), reply
    assert decoder.invalid_frames == 0

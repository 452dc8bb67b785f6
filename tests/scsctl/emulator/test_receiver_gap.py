"""A damaged length byte must not make the device deaf: a partial frame is given up when the line
goes quiet, and what followed its first byte is read again."""

from __future__ import annotations

from firmware_protocol import Decoder, Frame, encode
from firmware_protocol import messages as m
from firmware_protocol.constants import SYNC, is_event
from scsctl.emulator import MODELS, Firmware
from scsctl.emulator.firmware import RX_GAP_S

# A header whose (valid-looking) length promises 200 payload bytes that never come.
DAMAGED = SYNC + bytes([200, 200 ^ 0xFF, m.MessageType.SET_PROGRAM, 9])


def frames(data: bytes) -> list[m.Message]:
    """The replies in what the device sent (its own events, such as power-on, left out)."""
    return [i.message for i in Decoder().feed(data) if isinstance(i, Frame) and not is_event(i.message.TYPE)]


def test_a_hello_behind_a_damaged_header_is_answered_once_the_line_is_quiet() -> None:
    fw = Firmware(model=MODELS["tonic-burst-16"], now_s=0.0)
    out = fw.receive(DAMAGED + encode(m.Hello(), 1), now_s=1.0)
    assert frames(out) == []  # the device is still waiting for the promised bytes
    deadline = fw.next_deadline_s()
    assert deadline is not None
    assert deadline <= 1.0 + RX_GAP_S + 1e-6  # it knows when to give up
    out = fw.poll(1.0 + RX_GAP_S)
    (reply,) = frames(out)
    assert isinstance(reply, m.Identify)


def test_a_frame_arriving_in_pieces_within_the_gap_is_not_given_up() -> None:
    fw = Firmware(model=MODELS["tonic-burst-16"], now_s=0.0)
    hello = encode(m.Hello(), 2)
    assert frames(fw.receive(hello[:4], now_s=1.0)) == []
    fw.poll(1.0 + RX_GAP_S / 2)
    (reply,) = frames(fw.receive(hello[4:], now_s=1.0 + RX_GAP_S * 0.9))
    assert isinstance(reply, m.Identify)

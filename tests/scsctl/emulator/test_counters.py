"""GET_COUNTERS (P 7.16): what the device's receiver saw and what it sent, readable from the host."""

from __future__ import annotations

import dataclasses

import pytest

from firmware_protocol import encode, frame_bytes
from firmware_protocol import messages as m
from firmware_protocol.constants import Capability, MessageType, NakReason
from scsctl.emulator import Firmware
from scsctl.emulator.models import DEFAULT_MODEL

from .host import Host

NOISE = bytes(1000)
"""A kilobyte of a line held low: no sync pattern, so every byte is noise."""


def _counters(host: Host) -> m.Counters:
    reply = host.ok(m.GetCounters())
    assert isinstance(reply, m.Counters)
    return reply


def _bad_crc_frame(seq: int) -> bytes:
    frame = encode(m.SelectProgram(1), seq)
    return frame[:-1] + bytes([frame[-1] ^ 0x01])


def test_noise_and_a_damaged_frame_show_in_the_counters() -> None:
    host = Host(Firmware())
    ident = host.ok(m.Hello())
    assert isinstance(ident, m.Identify) and Capability.COUNTERS in ident.capabilities
    host.send_raw(NOISE)
    damaged = _bad_crc_frame(0x40)
    answers = host.send_raw(damaged)
    assert [f.message.reason for f in answers] == [NakReason.BAD_CRC]  # type: ignore[attr-defined]
    counters = _counters(host)
    assert counters == m.Counters(
        frames_received=2,  # HELLO, and this GET_COUNTERS
        invalid_frames=1,  # the damaged SELECT_PROGRAM
        discarded_bytes=1000 + len(damaged) - 1,  # the noise, and the damaged frame after its first byte
        frames_sent=3,  # the power-on EVENT_STATE, IDENTIFY, the NAK
        naks_sent=1,
        bad_crc_naks=1,
    )


def test_counters_count_from_power_on() -> None:
    host = Host(Firmware())
    host.ok(m.Hello())
    host.send_raw(b"\x01\x02\x03")
    host.nak(m.Start(0))  # an empty slot: a NAK that is not about the line
    before = _counters(host)
    assert (before.discarded_bytes, before.naks_sent, before.bad_crc_naks) == (3, 1, 0)
    host.power_cycle()
    host.ok(m.Hello())
    after = _counters(host)
    assert after == m.Counters(frames_received=2, invalid_frames=0, discarded_bytes=0, frames_sent=2, naks_sent=0,
                               bad_crc_naks=0)  # fmt: skip


def test_counters_need_a_hello_first() -> None:
    host = Host(Firmware())
    assert host.nak(m.GetCounters()).reason is NakReason.NOT_PERMITTED


@pytest.mark.parametrize("hello_first", [False, True], ids=["before_hello", "after_hello"])
def test_a_device_without_the_capability_answers_unknown_command(hello_first: bool) -> None:
    older = dataclasses.replace(DEFAULT_MODEL, counters=False)
    host = Host(Firmware(older))
    if hello_first:
        ident = host.ok(m.Hello())
        assert isinstance(ident, m.Identify) and Capability.COUNTERS not in ident.capabilities
    nak = host.nak(m.GetCounters())
    assert (nak.reason, nak.command) == (NakReason.UNKNOWN_COMMAND, MessageType.GET_COUNTERS)
    # A damaged one gets BAD_CRC (nothing was acted on); a wrong length is still an unknown command to it.
    seq = 0x33
    wrong_length = host.send_raw(frame_bytes(MessageType.GET_COUNTERS, seq, b"\x00"))
    assert [f.message.reason for f in wrong_length] == [NakReason.UNKNOWN_COMMAND]  # type: ignore[attr-defined]


def test_the_counters_property_is_what_get_counters_answers() -> None:
    fw = Firmware()
    host = Host(fw)
    host.ok(m.Hello())
    host.send_raw(NOISE)
    seen = fw.counters
    assert (seen.frames_received, seen.discarded_bytes) == (1, 1000)
    assert _counters(host).frames_received == seen.frames_received + 1

"""The codec as a device or host sees it: whatever arrives on the line, only valid frames come out."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware_protocol import (
    MAX_FRAME,
    Decoder,
    Frame,
    InvalidFrame,
    InvalidReason,
    LocalProtocolError,
    NakReason,
    encode,
    frame_bytes,
)
from firmware_protocol import messages as m
from firmware_protocol.constants import Capability, Polarity

from .strategies import any_message, frames

BIPOLAR = m.Program(
    slot=0,
    amplitude_ua=3500,
    pulse_width_us=300,
    rate_dhz=500,
    contacts=(m.ContactSetting(Polarity.ANODE, 100), m.ContactSetting(Polarity.CATHODE, 100))
    + (m.ContactSetting(),) * 14,
    ramp_up_ms=2000,
)


def only_frames(items: list[Frame | InvalidFrame]) -> list[Frame]:
    return [i for i in items if isinstance(i, Frame)]


@given(frames)
@settings(max_examples=2000)
def test_every_message_round_trips(frame: tuple[m.Message, int]) -> None:
    message, seq = frame
    assert Decoder().feed(encode(message, seq)) == [Frame(seq, message)]


@given(st.lists(frames, min_size=1, max_size=5), st.data())
def test_frames_split_at_any_points_come_out_in_order(batch: list[tuple[m.Message, int]], data: st.DataObject) -> None:
    stream = b"".join(encode(msg, seq) for msg, seq in batch)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    decoder = Decoder()
    out: list[Frame | InvalidFrame] = []
    for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        out += decoder.feed(stream[a:b])
    assert out == [Frame(seq, msg) for msg, seq in batch]
    assert decoder.buffered == 0


@given(st.binary(max_size=4000))
@settings(max_examples=1000)
def test_random_bytes_never_raise_and_never_pile_up(noise: bytes) -> None:
    decoder = Decoder()
    for i in range(0, len(noise), 97):
        for item in decoder.feed(noise[i : i + 97]):
            assert isinstance(item, Frame | InvalidFrame)
        assert decoder.buffered < MAX_FRAME


@given(frames, st.binary(max_size=300), st.binary(max_size=300))
def test_a_frame_between_noise_is_found(frame: tuple[m.Message, int], before: bytes, after: bytes) -> None:
    message, seq = frame
    # Noise may end in a fake header that claims more bytes than follow; once the line goes quiet
    # (flush), the rescan must still find the real frame.
    decoder = Decoder()
    out = only_frames(decoder.feed(before + encode(message, seq) + after) + decoder.flush())
    assert Frame(seq, message) in out


@given(frames, st.data())
def test_truncated_frame_yields_nothing_and_next_frame_still_decodes(
    frame: tuple[m.Message, int], data: st.DataObject
) -> None:
    message, seq = frame
    raw = encode(message, seq)
    cut = data.draw(st.integers(1, len(raw) - 1))
    decoder = Decoder()
    assert only_frames(decoder.feed(raw[:cut])) == []
    follow = encode(m.Stop(), (seq + 1) % 256)
    # The truncated frame's claimed length may swallow the next frame; a few more arrive as a
    # retrying host would send them, and the decoder must resynchronise onto them.
    out = only_frames(decoder.feed(follow * 40))
    assert Frame((seq + 1) % 256, m.Stop()) in out


@given(frames, st.binary(min_size=1, max_size=50))
def test_extended_frame_decodes_once_and_leaves_the_tail(frame: tuple[m.Message, int], tail: bytes) -> None:
    message, seq = frame
    out = only_frames(Decoder().feed(encode(message, seq) + tail))
    assert out[0] == Frame(seq, message)


@given(frames, st.data())
@settings(max_examples=3000, suppress_health_check=[HealthCheck.too_slow])
def test_any_single_bit_flip_is_detected(frame: tuple[m.Message, int], data: st.DataObject) -> None:
    message, seq = frame
    raw = bytearray(encode(message, seq))
    bit = data.draw(st.integers(0, len(raw) * 8 - 1))
    raw[bit // 8] ^= 1 << (bit % 8)
    decoder = Decoder()
    out = decoder.feed(bytes(raw)) + decoder.flush()
    assert only_frames(out) == []
    assert decoder.invalid_frames + decoder.discarded_bytes > 0


def test_bad_crc_reports_seq_and_type_so_a_device_can_nak_it() -> None:
    raw = bytearray(encode(m.Start(), 42))
    raw[-1] ^= 0xFF
    decoder = Decoder()
    (item,) = decoder.feed(bytes(raw))
    assert isinstance(item, InvalidFrame)
    assert (item.reason, item.seq, item.msg_type, item.nak_reason) == (
        InvalidReason.BAD_CRC,
        42,
        m.MessageType.START,
        NakReason.BAD_CRC,
    )
    assert decoder.invalid_frames == 1


def test_unknown_type_and_bad_length_and_bad_value_are_named() -> None:
    decoder = Decoder()
    unknown, short, enum = decoder.feed(
        frame_bytes(0x3E, 1, b"")
        + frame_bytes(m.MessageType.SET_AMPLITUDE, 2, b"\x01\x02")
        + frame_bytes(m.MessageType.NAK, 3, bytes([0x10, 99, 0, 0xFF, 0, 0, 0, 0]))
    )
    assert isinstance(unknown, InvalidFrame) and unknown.reason is InvalidReason.UNKNOWN_TYPE
    assert unknown.nak_reason is NakReason.UNKNOWN_COMMAND
    assert isinstance(short, InvalidFrame) and short.reason is InvalidReason.BAD_LENGTH
    assert isinstance(enum, InvalidFrame) and (enum.reason, enum.field) == (InvalidReason.BAD_VALUE, "reason")


def test_undefined_polarity_names_the_contact_parameter() -> None:
    payload = bytearray(encode(m.SetProgram(BIPOLAR), 0)[6:-2])
    payload[27] = 3  # first contact's polarity
    (item,) = Decoder().feed(frame_bytes(m.MessageType.SET_PROGRAM, 0, bytes(payload)))
    assert isinstance(item, InvalidFrame)
    assert item.param is m.Param.CONTACT_POLARITY


def test_offsets_point_into_the_whole_stream() -> None:
    decoder = Decoder()
    decoder.feed(b"noise!" + encode(m.Stop(), 1))
    bad = bytearray(encode(m.Stop(), 2))
    bad[-1] ^= 1
    (item,) = decoder.feed(b"xx" + bytes(bad))
    assert isinstance(item, InvalidFrame)
    assert item.offset == 6 + 8 + 2


def test_flush_reports_a_partial_frame_as_truncated() -> None:
    decoder = Decoder()
    assert decoder.feed(encode(m.SetProgram(BIPOLAR), 5)[:20]) == []
    (item,) = decoder.flush()
    assert isinstance(item, InvalidFrame) and item.reason is InvalidReason.TRUNCATED
    assert decoder.buffered == 0


@pytest.mark.parametrize(
    ("message", "field"),
    [
        (m.SetAmplitude(70_000), "amplitude_ua"),
        (m.Identify(1, 1, 1, 0, 0, "S" * 17, 1, 16, 4, Capability.TONIC), "serial_number"),
        (m.Identify(1, 1, 1, 0, 0, "née", 1, 16, 4, Capability.TONIC), "serial_number"),
        (m.Identify(1, 1, 1, 0, 0, "SCS\x1b[2J", 1, 16, 4, Capability.TONIC), "serial_number"),
        (m.Identify(1, 1, 1, 0, 0, "SCS\x7f", 1, 16, 4, Capability.TONIC), "serial_number"),
        (m.Identify(1, 1, 1, 0, 0, "line\r\n", 1, 16, 4, Capability.TONIC), "serial_number"),
        (m.Identify(1, 1, 1, 0, 0, "A\x00B", 1, 16, 4, Capability.TONIC), "serial_number"),
        (m.SetProgram(replace(BIPOLAR, contacts=(m.ContactSetting(Polarity.ANODE, 1),) * 33)), "contacts"),
    ],
)
def test_unencodable_values_are_refused_with_the_field_named(message: m.Message, field: str) -> None:
    with pytest.raises(LocalProtocolError) as err:
        encode(message, 0)
    assert err.value.field == field
    assert field in str(err.value)


@given(any_message, st.integers(min_value=256) | st.integers(max_value=-1))
def test_seq_outside_a_byte_is_refused(message: m.Message, seq: int) -> None:
    with pytest.raises(LocalProtocolError):
        encode(message, seq)


@pytest.mark.parametrize(
    "serial",
    [
        b"AB\x00CD" + bytes(11),
        b"caf\xe9" + bytes(12),
        b"SCS16\x1b[2J" + bytes(7),  # ESC: a terminal escape sequence
        b"SCS16\x7f" + bytes(10),  # DEL
        b"\x01" + bytes(15),
        b"A\rB" + bytes(13),
        b"\x1f" * 16,
    ],
)
def test_serial_numbers_must_be_nul_padded_printable_ascii(serial: bytes) -> None:
    good = bytearray(encode(m.Identify(0x5101, 1, 1, 0, 0, "X", 1, 16, 4, Capability.TONIC), 9)[6:-2])
    good[6:22] = serial
    (item,) = Decoder().feed(frame_bytes(m.MessageType.IDENTIFY, 9, bytes(good)))
    assert isinstance(item, InvalidFrame)
    assert (item.reason, item.field) == (InvalidReason.BAD_VALUE, "serial_number")


@pytest.mark.parametrize("serial", ["", " ", "~" * 16, "SCS16-2024-0042"])
def test_printable_serial_numbers_round_trip(serial: str) -> None:
    identify = m.Identify(0x5101, 1, 1, 0, 0, serial, 1, 16, 4, Capability.TONIC)
    (item,) = Decoder().feed(encode(identify, 9))
    assert isinstance(item, Frame) and item.message == identify


def test_more_than_32_impedance_readings_are_refused_both_ways() -> None:
    reading = m.ImpedanceReading(800, m.ImpedanceStatus.OK)
    with pytest.raises(LocalProtocolError, match="contacts"):
        encode(m.Impedance((reading,) * 33), 0)
    payload = bytes([33]) + bytes([0x20, 0x03, 0]) * 33
    (item,) = Decoder().feed(frame_bytes(m.MessageType.IMPEDANCE, 0, payload))
    assert isinstance(item, InvalidFrame)
    assert item.reason is InvalidReason.BAD_VALUE


def test_the_largest_frames_are_those_of_protocol_md_section_13() -> None:
    from firmware_protocol.codec import MAX_FRAME_SIZES, longest_reply_frame
    from firmware_protocol.constants import MessageType

    # 8 bytes of header and CRC around the largest payloads of PROTOCOL.md 13 (typed from it).
    sizes = {"USAGE": 243, "PROGRAM": 91, "SET_PROGRAM": 91, "IMPEDANCE": 97, "IDENTIFY": 27, "COUNTERS": 24,
             "STATUS": 16, "NAK": 8, "GET_STATUS": 0}  # fmt: skip
    assert {name: MAX_FRAME_SIZES[MessageType[name]] - 8 for name in sizes} == sizes
    assert max(MAX_FRAME_SIZES.values()) == 251  # "the largest frame in use is 8 + 243 = 251 bytes"
    assert longest_reply_frame(MessageType.STOP) == 16  # STOP_ACK is 8 bytes, a NAK 16

"""``codec_us``: encode + decode of one SET_PROGRAM frame (16 contacts), against ``struct`` by hand.

The codec's round trip is ``Decoder().feed(encode(SetProgram(program), seq))``: message object to
frame bytes (layout, CRC) and back to a checked, typed message. The floor (``struct_us``) builds
and parses the same bytes with one precompiled ``struct.Struct`` and the same C CRC, from and to
a flat tuple of integers: no message objects, no enums, no checks beyond the CRC. Both are timed
the same way, in alternating batches (``timeit``), and each figure is the median batch.
"""

from __future__ import annotations

import binascii
import struct
import timeit
from collections.abc import Callable

from firmware_protocol import Decoder, Frame, encode
from firmware_protocol import messages as m
from firmware_protocol.constants import SYNC, MessageType, Recharge, Waveform

from ..parsing import electrodes
from .context import Bench
from .report import Figure, Limit
from .stats import median

TARGET_US = 25.0

PROGRAM = m.Program(
    slot=1,
    amplitude_ua=3500,
    pulse_width_us=300,
    rate_dhz=500,
    contacts=electrodes("1+25% 2+25% 3+25% 4+25% 9-25% 10-25% 11-25% 12-25%", 16),
    waveform=Waveform.TONIC,
    recharge=Recharge.ACTIVE,
    ramp_up_ms=4000,
    ramp_down_ms=1000,
    patient_max_ua=5000,
)

_PROGRAM = struct.Struct("<BHHIBBIBHHHHHB" + "BB" * 16)
_HEADER = struct.Struct("<2sBBBB")
_CRC = struct.Struct("<H")


def _flat(program: m.Program) -> tuple[int, ...]:
    p = program
    head = (p.slot, p.amplitude_ua, p.pulse_width_us, p.rate_dhz, p.waveform, p.burst_pulses,
            p.intra_burst_rate_dhz, p.recharge, p.cycle_on_s, p.cycle_off_s, p.ramp_up_ms, p.ramp_down_ms,
            p.patient_max_ua, len(p.contacts))  # fmt: skip
    return tuple(int(v) for v in head) + tuple(int(x) for c in p.contacts for x in (c.polarity, c.share_pct))


def struct_round_trip(values: tuple[int, ...], seq: int) -> tuple[int, ...]:
    """The floor: the same frame packed and unpacked by hand with precompiled structs."""
    payload = _PROGRAM.pack(*values)
    body = bytes((len(payload), len(payload) ^ 0xFF, MessageType.SET_PROGRAM, seq)) + payload
    frame = SYNC + body + _CRC.pack(binascii.crc_hqx(body, 0xFFFF))
    sync, length, check, _msg_type, _seq = _HEADER.unpack_from(frame)
    end = 6 + length
    if (
        sync != SYNC
        or check != length ^ 0xFF
        or binascii.crc_hqx(frame[2:end], 0xFFFF) != _CRC.unpack_from(frame, end)[0]
    ):
        raise ValueError("bad frame")
    return _PROGRAM.unpack_from(frame, 6)


def codec_round_trip(message: m.SetProgram, decoder: Decoder, seq: int) -> Frame:
    (item,) = decoder.feed(encode(message, seq))
    assert isinstance(item, Frame)
    return item


def _time_us(action: Callable[[], object], number: int) -> float:
    return timeit.timeit(action, number=number) / number * 1e6


def measure(bench: Bench) -> list[Figure]:
    batches, number = bench.pick((5, 500), (21, 2000))
    message = m.SetProgram(PROGRAM)
    decoder = Decoder()
    values = _flat(PROGRAM)
    # Both must produce the same bytes, or the floor is not the same work.
    assert codec_round_trip(message, decoder, 7).message == message
    assert struct_round_trip(values, 7) == values
    assert _PROGRAM.pack(*values) == encode(message, 7)[6:-2]

    def codec() -> None:
        codec_round_trip(message, decoder, 7)

    def floor() -> None:
        struct_round_trip(values, 7)

    def encode_only() -> None:
        encode(message, 7)

    frame = encode(message, 7)

    def decode_only() -> None:
        decoder.feed(frame)

    for action in (codec, floor, encode_only, decode_only):
        _time_us(action, number)  # warm-up: caches filled, first-call costs paid
    codec_us: list[float] = []
    floor_us: list[float] = []
    encode_us: list[float] = []
    decode_us: list[float] = []
    for _ in range(batches):
        codec_us.append(_time_us(codec, number))
        floor_us.append(_time_us(floor, number))
        encode_us.append(_time_us(encode_only, number))
        decode_us.append(_time_us(decode_only, number))
    codec_median = median(codec_us)
    floor_median = median(floor_us)
    return [
        Figure(
            "codec_us",
            {"median": round(codec_median, 2)},
            f"median {codec_median:.1f} us ({codec_median / floor_median:.1f} x struct)",
            {"struct_us": {"median": round(floor_median, 2)}},
            f"struct by hand {floor_median:.1f} us",
            limits=(Limit("median", TARGET_US, "us"),),
            detail={
                "frame_bytes": len(frame),
                "encode_us": round(median(encode_us), 2),
                "decode_us": round(median(decode_us), 2),
                "batches": batches,
                "per_batch": number,
            },
        )
    ]

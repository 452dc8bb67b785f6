"""The codec figure compares like with like: the struct floor builds the very same frame."""

from __future__ import annotations

from firmware_protocol import Decoder, encode
from firmware_protocol import messages as m
from scsctl.bench.codec import PROGRAM, _flat, codec_round_trip, struct_round_trip


def test_the_struct_floor_builds_the_codecs_bytes_and_reads_them_back() -> None:
    values = _flat(PROGRAM)
    assert len(PROGRAM.contacts) == 16
    assert struct_round_trip(values, 9) == values
    frame = encode(m.SetProgram(PROGRAM), 9)
    assert len(frame) == 67
    assert codec_round_trip(m.SetProgram(PROGRAM), Decoder(), 9).message == m.SetProgram(PROGRAM)

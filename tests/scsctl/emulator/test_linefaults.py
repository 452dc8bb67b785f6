"""Line faults: the spec syntax, and what each fault does to a byte stream, deterministically."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware_protocol import Decoder, Frame, encode
from firmware_protocol import messages as m
from scsctl.emulator.linefaults import (
    Direction,
    FaultKind,
    FaultSpec,
    LineFaults,
    is_line_fault,
    parse_duration_ms,
    parse_fault,
    parse_rate,
)
from scsctl.errors import UsageError

TO_HOST = Direction.TO_HOST
TO_DEVICE = Direction.TO_DEVICE

FRAMES = [encode(m.GetStatus(), seq) for seq in range(40)]
STREAM = b"".join(FRAMES)


def through(faults: LineFaults, data: bytes, direction: Direction = TO_HOST) -> bytes:
    return b"".join(seg.data for seg in faults.apply(direction, data))


# --- syntax ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("drop-bytes:0.01", FaultSpec(FaultKind.DROP_BYTES, rate=0.01)),
        ("drop-bytes=1%", FaultSpec(FaultKind.DROP_BYTES, rate=0.01)),
        ("corrupt-frames:0.05,dir=to-host", FaultSpec(FaultKind.CORRUPT_FRAMES, rate=0.05, direction=TO_HOST)),
        ("duplicate-bytes:1", FaultSpec(FaultKind.DUPLICATE_BYTES, rate=1.0)),
        ("delay-frames:0.1:200ms", FaultSpec(FaultKind.DELAY_FRAMES, rate=0.1, duration_ms=200)),
        ("delay-bytes:0.5:1.5s,dir=to-device",
         FaultSpec(FaultKind.DELAY_BYTES, rate=0.5, duration_ms=1500, direction=TO_DEVICE)),
        ("stall:2s", FaultSpec(FaultKind.STALL, duration_ms=2000)),
        ("stall=2.5@10", FaultSpec(FaultKind.STALL, duration_ms=2500, at_ms=10_000)),
        ("stall:2s,at=10s,every=30s", FaultSpec(FaultKind.STALL, duration_ms=2000, at_ms=10_000, every_ms=30_000)),
        ("disconnect", FaultSpec(FaultKind.DISCONNECT)),
        ("disconnect:1s@5s", FaultSpec(FaultKind.DISCONNECT, duration_ms=1000, at_ms=5000)),
    ],
)  # fmt: skip
def test_fault_specs_parse_as_written(text: str, spec: FaultSpec) -> None:
    assert parse_fault(text) == spec
    assert parse_fault(str(spec)) == spec  # str() writes a spec that reads back the same


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("drop-packets:0.1", "unknown kind 'drop-packets'"),
        ("drop-bytes:1.5", "outside 0..1"),
        ("drop-bytes:150%", "outside 0..1"),
        ("drop-bytes:lots", "not a number"),
        ("drop-bytes", "write drop-bytes:RATE"),
        ("delay-bytes:0.1", "write delay-bytes:RATE:DURATION"),
        ("stall", "write stall:DURATION"),
        ("stall:2 minutes", "not a duration"),
        ("stall:0.0005s", "not a whole number of milliseconds"),
        ("drop-bytes:0.1,dir=sideways", "dir='sideways'"),
        ("drop-bytes:0.1,at=2s", "takes options ['dir']"),
        ("stall:1s,dir=to-host", "takes options ['at', 'every']"),
        ("stall:1s@2s,at=3s", "give the time once"),
        ("disconnect,every=0s", "every=0ms"),
        ("drop-bytes:0.1,dir", "not KEY=VALUE"),
    ],
)
def test_bad_fault_specs_are_refused_naming_the_problem(text: str, named: str) -> None:
    with pytest.raises(UsageError, match=named.replace("[", r"\[").replace("]", r"\]").replace(".", r"\.")):
        parse_fault(text)


def test_durations_and_rates_are_exact_or_refused() -> None:
    assert parse_duration_ms("1.5s") == 1500
    assert parse_duration_ms("0.001s") == 1
    assert parse_duration_ms("250ms") == 250
    assert parse_duration_ms("2") == 2000
    with pytest.raises(UsageError):
        parse_duration_ms("1.5ms")
    assert parse_rate("5%") == 0.05
    assert parse_rate("0") == 0.0


def test_line_faults_are_told_from_firmware_faults() -> None:
    assert is_line_fault("drop-bytes:0.1")
    assert is_line_fault("stall=2@10")
    assert is_line_fault("disconnect")
    assert not is_line_fault("nak=BUSY")
    assert not is_line_fault("lead-open=3@5")
    assert not is_line_fault("reboot@30")


# --- effects -----------------------------------------------------------------------------------


def test_no_faults_pass_everything_unchanged() -> None:
    faults = LineFaults()
    assert faults.apply(TO_HOST, STREAM) == [(0.0, STREAM)]


def test_dropped_frames_never_arrive() -> None:
    faults = LineFaults([parse_fault("drop-frames:1.0")])
    assert through(faults, STREAM) == b""
    assert faults.applied[FaultKind.DROP_FRAMES] == len(FRAMES)


def test_corrupted_frames_are_each_counted_invalid_by_the_decoder() -> None:
    decoder = Decoder()
    items = decoder.feed(through(LineFaults([parse_fault("corrupt-frames:1.0")]), STREAM))
    items += decoder.flush()
    assert decoder.frames == 0
    assert decoder.invalid_frames >= len(FRAMES)


def test_duplicated_frames_arrive_twice() -> None:
    decoder = Decoder()
    items = decoder.feed(through(LineFaults([parse_fault("duplicate-frames:1.0")]), STREAM))
    assert [f.seq for f in items if isinstance(f, Frame)] == [s for s in range(40) for _ in (1, 2)]


def test_dropped_bytes_damage_frames_the_decoder_counts() -> None:
    decoder = Decoder()
    out = through(LineFaults([parse_fault("drop-bytes:0.02")], seed=1), STREAM)
    decoder.feed(out)
    decoder.flush()
    assert len(out) < len(STREAM)
    assert decoder.invalid_frames > 0
    assert decoder.frames < len(FRAMES)


def test_delays_pause_the_line_without_reordering() -> None:
    segments = LineFaults([parse_fault("delay-frames:1.0:200ms")]).apply(TO_HOST, STREAM[: 2 * len(FRAMES[0])])
    assert [s.gap_s for s in segments] == [0.2, 0.2]
    assert b"".join(s.data for s in segments) == FRAMES[0] + FRAMES[1]


def test_a_fault_applies_only_in_its_direction() -> None:
    faults = LineFaults([parse_fault("drop-bytes:1.0,dir=to-device")])
    assert through(faults, STREAM, TO_HOST) == STREAM
    assert through(faults, STREAM, TO_DEVICE) == b""


def test_frame_faults_hold_a_partial_frame_until_it_is_complete() -> None:
    faults = LineFaults([parse_fault("duplicate-frames:1.0")])
    frame = FRAMES[0]
    assert through(faults, frame[:5]) == b""
    assert through(faults, frame[5:]) == frame + frame


def test_noise_between_frames_is_not_a_frame() -> None:
    faults = LineFaults([parse_fault("drop-frames:1.0")])
    assert through(faults, b"noise" + FRAMES[0] + b"!\xa5") == b"noise!"
    # The trailing A5 may start a sync: held, then let go once it is not one.
    assert through(faults, b"?") == b"\xa5?"


@given(cuts=st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=12), seed=st.integers(0, 3))
def test_the_same_seed_gives_the_same_faults_however_the_stream_is_split(cuts: list[int], seed: int) -> None:
    specs = [parse_fault("corrupt-bytes:0.05"), parse_fault("drop-frames:0.2"), parse_fault("duplicate-bytes:0.05")]
    whole = through(LineFaults(specs, seed=seed), STREAM)
    split = LineFaults(specs, seed=seed)
    bounds = [0, *sorted(cuts), len(STREAM)]
    pieces = b"".join(through(split, STREAM[a:b]) for a, b in itertools.pairwise(bounds))
    assert pieces == whole


def test_different_seeds_give_different_faults() -> None:
    spec = [parse_fault("drop-bytes:0.1")]
    assert through(LineFaults(spec, seed=1), STREAM) != through(LineFaults(spec, seed=2), STREAM)


def test_clearing_faults_lets_bytes_through_again() -> None:
    faults = LineFaults([parse_fault("drop-bytes:1.0")])
    faults.clear()
    assert through(faults, STREAM) == STREAM


def test_line_events_are_not_stream_faults() -> None:
    with pytest.raises(UsageError, match="scheduled by the runner"):
        LineFaults([parse_fault("stall:1s")])

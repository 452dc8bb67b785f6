"""Faults on the line between host and emulated device: bytes and frames lost, damaged, repeated or
late, a stalled line, a vanished port. Deterministic: the same seed and the same byte stream give
the same faults, however the stream was split into reads and writes.

Fault spec syntax (``scsctl emulator --fault SPEC``, ``parse_fault(SPEC)``, ``emu://?fault=SPEC``)::

    KIND[:VALUE[:VALUE]][@AT][,OPTION=VALUE...]      (``=`` may stand for the first ``:``)

    stream faults, drawn for each byte or frame with probability RATE:
      drop-bytes:RATE             the byte is lost
      corrupt-bytes:RATE          one bit of the byte is flipped
      duplicate-bytes:RATE        the byte is sent twice
      delay-bytes:RATE:DURATION   the line pauses for DURATION before the byte
      drop-frames:RATE            the whole frame is lost
      corrupt-frames:RATE         one bit after the frame's sync is flipped (always detectable)
      duplicate-frames:RATE       the frame is sent twice
      delay-frames:RATE:DURATION  the line pauses for DURATION before the frame
      option dir=to-device|to-host|both   which direction (default both)

    line events, once (AT after the fault is added; for --fault, after start-up) or repeatedly:
      stall:DURATION              the line carries nothing either way for DURATION; bytes sent
                                  meanwhile are held and arrive when it ends (nothing is lost)
      disconnect[:DURATION]       the port vanishes (the host sees it lost) and can be opened
                                  again after DURATION (default 0: at once)
      @AT or option at=AT         when (default at once)
      option every=PERIOD         repeat

    RATE is a probability: 0.05 or 5%, from 0 to 1. DURATION, AT and PERIOD are whole
    milliseconds, written with a unit (250ms, 2s, 1.5s) or as bare seconds (2.5).

Examples: ``drop-bytes:0.01``, ``corrupt-frames:5%,dir=to-host``, ``delay-frames:0.1:200ms``,
``stall:2s@10s`` (= ``stall=2s,at=10s``), ``disconnect:1s,at=30s,every=60s``.

The firmware's own faults (``scsctl.emulator.faults``: ``nak=REASON``, ``lead-open=N@T``,
``battery=PCT``, ``reboot@T``...) share the ``--fault`` option; ``stall`` there means the line
stall above.

Frames are found by their header (sync, length, length check) only, so a frame rule applies to
anything frame-shaped, valid or not; bytes outside frames only meet the byte rules. A line never
reorders: a delay holds back everything behind it too.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from firmware_protocol.constants import CRC_SIZE, HEADER_SIZE, SYNC

from ..errors import UsageError

__all__ = [
    "Direction",
    "FaultKind",
    "FaultSpec",
    "LineFaults",
    "Segment",
    "format_duration_ms",
    "is_line_fault",
    "parse_duration_ms",
    "parse_fault",
    "parse_rate",
]


class Direction(StrEnum):
    TO_DEVICE = "to-device"
    TO_HOST = "to-host"
    BOTH = "both"


class FaultKind(StrEnum):
    DROP_BYTES = "drop-bytes"
    CORRUPT_BYTES = "corrupt-bytes"
    DUPLICATE_BYTES = "duplicate-bytes"
    DELAY_BYTES = "delay-bytes"
    DROP_FRAMES = "drop-frames"
    CORRUPT_FRAMES = "corrupt-frames"
    DUPLICATE_FRAMES = "duplicate-frames"
    DELAY_FRAMES = "delay-frames"
    STALL = "stall"
    DISCONNECT = "disconnect"

    @property
    def is_event(self) -> bool:
        """A timed line event rather than a fault drawn per byte or frame."""
        return self in (FaultKind.STALL, FaultKind.DISCONNECT)

    @property
    def per_frame(self) -> bool:
        return self.value.endswith("-frames")


_DELAYS = (FaultKind.DELAY_BYTES, FaultKind.DELAY_FRAMES)


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """One line fault. ``str(spec)`` gives back the spec text ``parse_fault`` reads."""

    kind: FaultKind
    rate: float = 0.0
    """Probability per byte or frame (stream faults only)."""
    duration_ms: int = 0
    """Delay before the byte/frame, stall length, or time the port stays away after a disconnect."""
    direction: Direction = Direction.BOTH
    at_ms: int = 0
    """Line events: first occurrence, after the emulator starts."""
    every_ms: int | None = None
    """Line events: repeat period; None for once."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise UsageError(f"fault {self.kind}: rate {self.rate} is outside 0..1")
        for name in ("duration_ms", "at_ms"):
            if getattr(self, name) < 0:
                raise UsageError(f"fault {self.kind}: {name} {getattr(self, name)} is negative")
        if self.every_ms is not None and self.every_ms <= 0:
            raise UsageError(f"fault {self.kind}: every={self.every_ms}ms must be more than 0ms")

    def __str__(self) -> str:
        if self.kind.is_event:
            text = str(self.kind)
            if self.kind is FaultKind.STALL or self.duration_ms:
                text += f":{format_duration_ms(self.duration_ms)}"
            if self.at_ms:
                text += f",at={format_duration_ms(self.at_ms)}"
            if self.every_ms is not None:
                text += f",every={format_duration_ms(self.every_ms)}"
            return text
        text = f"{self.kind}:{self.rate:g}"
        if self.kind in _DELAYS:
            text += f":{format_duration_ms(self.duration_ms)}"
        if self.direction is not Direction.BOTH:
            text += f",dir={self.direction}"
        return text


_DURATION = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(ms|s)?$")


def parse_duration_ms(text: str, *, what: str = "duration") -> int:
    """``250ms``/``2s``/``1.5s``/``1.5`` (seconds) -> whole milliseconds; refuses fractions of a ms."""
    m = _DURATION.match(text.strip())
    if m is None:
        raise UsageError(f"{what} {text!r} is not a duration: write 250ms, 2s or 2.5 (seconds)")
    number, unit = m.groups()
    unit = unit or "s"
    scale = 1000 if unit == "s" else 1
    whole, _, frac = number.partition(".")
    frac = frac.rstrip("0")
    # Exact decimal arithmetic: 1.5s is 1500 ms; 0.0005s is refused rather than rounded.
    if len(frac) > (3 if scale == 1000 else 0):
        raise UsageError(f"{what} {text!r} is not a whole number of milliseconds")
    digits = frac.ljust(3 if scale == 1000 else 0, "0")
    return int(whole) * scale + (int(digits) if digits else 0)


def format_duration_ms(duration_ms: int) -> str:
    if duration_ms and duration_ms % 1000 == 0:
        return f"{duration_ms // 1000}s"
    return f"{duration_ms}ms"


def parse_rate(text: str, *, what: str = "rate") -> float:
    """``0.05`` or ``5%`` -> 0.05; refuses anything outside 0..1 (0%..100%)."""
    raw = text.strip()
    percent = raw.endswith("%")
    try:
        if not raw.isascii():  # float() also reads full-width and other scripts' digits
            raise ValueError(raw)
        value = float(raw[:-1] if percent else raw)
    except ValueError:
        raise UsageError(f"{what} {text!r} is not a number: write 0.05 or 5%") from None
    if percent:
        value /= 100
    if not 0.0 <= value <= 1.0:
        raise UsageError(f"{what} {text!r} is outside 0..1 (0%..100%)")
    return value


_KINDS = ", ".join(k.value for k in FaultKind)
_KIND_NAMES = frozenset(k.value for k in FaultKind)


def is_line_fault(text: str) -> bool:
    """Whether a ``--fault`` value names a line fault (else it is for the firmware)."""
    name = re.split(r"[:=@,]", text.strip(), maxsplit=1)[0].strip()
    return name in _KIND_NAMES


def parse_fault(text: str) -> FaultSpec:
    """Parse one fault spec (syntax in the module docstring); UsageError names what is wrong."""
    head, *options = [part.strip() for part in text.strip().split(",")]
    head, at_sign, at_text = head.partition("@")
    name, eq, rest = head.partition("=")
    if eq:
        head = f"{name}:{rest}"
    name, *values = [part.strip() for part in head.split(":")]
    try:
        kind = FaultKind(name)
    except ValueError:
        raise UsageError(f"fault {text!r}: unknown kind {name!r}; known: {_KINDS}") from None
    where = f"fault {text!r}"
    opts: dict[str, str] = {}
    for option in options:
        key, sep, value = option.partition("=")
        if not sep or not key or not value:
            raise UsageError(f"{where}: option {option!r} is not KEY=VALUE")
        if key in opts:
            raise UsageError(f"{where}: option {key!r} is given twice")
        opts[key] = value
    if at_sign:
        if "at" in opts:
            raise UsageError(f"fault {text!r}: give the time once, as @AT or at=AT")
        opts["at"] = at_text.strip()
    allowed = {"at", "every"} if kind.is_event else {"dir"}
    unknown = sorted(set(opts) - allowed)
    if unknown:
        raise UsageError(f"{where}: {kind} takes options {sorted(allowed)}, not {unknown}")

    if kind.is_event:
        if len(values) > 1 or (kind is FaultKind.STALL and len(values) != 1):
            usage = "stall:DURATION" if kind is FaultKind.STALL else "disconnect[:DURATION]"
            raise UsageError(f"{where}: write {usage}")
        duration_ms = parse_duration_ms(values[0], what=f"{where}: duration") if values else 0
        at_ms = parse_duration_ms(opts["at"], what=f"{where}: at") if "at" in opts else 0
        every_ms = parse_duration_ms(opts["every"], what=f"{where}: every") if "every" in opts else None
        return FaultSpec(kind, duration_ms=duration_ms, at_ms=at_ms, every_ms=every_ms)

    expected = 2 if kind in _DELAYS else 1
    if len(values) != expected:
        usage = f"{kind}:RATE:DURATION" if expected == 2 else f"{kind}:RATE"
        raise UsageError(f"{where}: write {usage}")
    rate = parse_rate(values[0], what=f"{where}: rate")
    duration_ms = parse_duration_ms(values[1], what=f"{where}: duration") if expected == 2 else 0
    try:
        direction = Direction(opts.get("dir", Direction.BOTH))
    except ValueError:
        known = ", ".join(d.value for d in Direction)
        raise UsageError(f"{where}: dir={opts['dir']!r} is not one of {known}") from None
    return FaultSpec(kind, rate=rate, duration_ms=duration_ms, direction=direction)


class Segment(NamedTuple):
    """Bytes for the line, and how long the line pauses before them."""

    gap_s: float
    data: bytes


class _FrameSplitter:
    """Cuts a byte stream into frame-shaped pieces and the noise between them.

    A piece is a frame when it starts with the sync and its length check holds; like the decoder,
    a failed length check gives up only the first sync byte. A partial frame is held until the
    rest arrives (a receiver cannot act on it before then either).
    """

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = bytearray()

    def reset(self) -> None:
        self._buf.clear()

    def take(self) -> bytes:
        """Give up the bytes held back."""
        held = bytes(self._buf)
        self._buf.clear()
        return held

    def feed(self, data: bytes) -> list[tuple[bool, bytes]]:
        buf = self._buf
        buf += data
        out: list[tuple[bool, bytes]] = []
        while buf:
            i = buf.find(SYNC)
            if i < 0:
                keep = 1 if buf[-1] == SYNC[0] else 0
                if len(buf) > keep:
                    out.append((False, bytes(buf[: len(buf) - keep])))
                    del buf[: len(buf) - keep]
                break
            if i:
                out.append((False, bytes(buf[:i])))
                del buf[:i]
            if len(buf) < HEADER_SIZE:
                break
            if buf[3] != buf[2] ^ 0xFF:
                out.append((False, bytes(buf[:1])))
                del buf[:1]
                continue
            size = HEADER_SIZE + buf[2] + CRC_SIZE
            if len(buf) < size:
                break
            out.append((True, bytes(buf[:size])))
            del buf[:size]
        return out


class _Lane:
    """Fault state for one direction."""

    __slots__ = ("rng", "splitter")

    def __init__(self, seed: int, direction: Direction) -> None:
        # A string seed is hashed the same way on every run and platform.
        self.rng = random.Random(f"scsctl-line:{seed}:{direction}")
        self.splitter = _FrameSplitter()


class LineFaults:
    """The stream faults on one line, both directions. Not thread-safe: the runner holds its lock.

    ``apply(direction, data)`` turns bytes put on the line into the segments that come out of it.
    Line events (stall, disconnect) are not applied here; the runner schedules them.
    """

    def __init__(self, specs: Iterable[FaultSpec] = (), *, seed: int = 0) -> None:
        self.seed = seed
        self._specs: list[FaultSpec] = []
        self._lanes = {d: _Lane(seed, d) for d in (Direction.TO_DEVICE, Direction.TO_HOST)}
        self.applied: dict[FaultKind, int] = {}
        """How many times each fault has struck, for tests and logs."""
        for spec in specs:
            self.add(spec)

    @property
    def specs(self) -> tuple[FaultSpec, ...]:
        return tuple(self._specs)

    @property
    def none(self) -> bool:
        """No stream fault is in force (``specs`` is empty, without building it)."""
        return not self._specs

    def add(self, spec: FaultSpec) -> None:
        if spec.kind.is_event:
            raise UsageError(f"fault {spec}: a line event is scheduled by the runner, not LineFaults")
        self._specs.append(spec)

    def clear(self) -> None:
        """Remove every stream fault; bytes held as a partial frame still go out (unharmed)."""
        self._specs.clear()

    def reset(self) -> None:
        """The line broke: forget any partial frame held back."""
        for lane in self._lanes.values():
            lane.splitter.reset()

    def apply(self, direction: Direction, data: bytes) -> list[Segment]:
        if direction is Direction.BOTH:
            raise ValueError("apply() needs one direction")
        rules = [s for s in self._specs if s.direction in (Direction.BOTH, direction) and s.rate > 0]
        lane = self._lanes[direction]
        frame_rules = [s for s in rules if s.kind.per_frame]
        byte_rules = [s for s in rules if not s.kind.per_frame]
        if not frame_rules:
            # Without frame rules nothing is held; a partial frame held from before goes first.
            data = lane.splitter.take() + data
            if not byte_rules:
                return [Segment(0.0, data)] if data else []
            return _merge(self._bytes(data, byte_rules, lane.rng, 0.0))
        out: list[Segment] = []
        for is_frame, piece in lane.splitter.feed(data):
            gap_s = 0.0
            copies = [piece]
            if is_frame:
                copies, gap_s = self._frame(piece, frame_rules, lane.rng)
            for copy in copies:
                if byte_rules:
                    out += self._bytes(copy, byte_rules, lane.rng, gap_s)
                else:
                    out.append(Segment(gap_s, copy))
                gap_s = 0.0
        return _merge(out)

    def _count(self, kind: FaultKind) -> None:
        self.applied[kind] = self.applied.get(kind, 0) + 1

    def _frame(self, frame: bytes, rules: list[FaultSpec], rng: random.Random) -> tuple[list[bytes], float]:
        copies = [frame]
        gap_s = 0.0
        for rule in rules:
            if rng.random() >= rule.rate:
                continue
            self._count(rule.kind)
            if rule.kind is FaultKind.DROP_FRAMES:
                return [], 0.0
            if rule.kind is FaultKind.CORRUPT_FRAMES:
                # After the sync, so the receiver sees a damaged frame rather than noise.
                copies = [_flip(c, rng, first=len(SYNC)) for c in copies]
            elif rule.kind is FaultKind.DUPLICATE_FRAMES:
                copies = copies * 2
            elif rule.kind is FaultKind.DELAY_FRAMES:
                gap_s += rule.duration_ms / 1000
        return copies, gap_s

    def _bytes(self, data: bytes, rules: list[FaultSpec], rng: random.Random, gap_s: float) -> list[Segment]:
        out: list[Segment] = []
        run = bytearray()
        for byte in data:
            copies = 1
            value = byte
            pause_s = 0.0
            for rule in rules:
                if rng.random() >= rule.rate:
                    continue
                self._count(rule.kind)
                if rule.kind is FaultKind.DROP_BYTES:
                    copies = 0
                    break
                if rule.kind is FaultKind.CORRUPT_BYTES:
                    value ^= 1 << rng.randrange(8)
                elif rule.kind is FaultKind.DUPLICATE_BYTES:
                    copies *= 2
                elif rule.kind is FaultKind.DELAY_BYTES:
                    pause_s += rule.duration_ms / 1000
            if pause_s and copies:
                if run:
                    out.append(Segment(gap_s, bytes(run)))
                    run.clear()
                    gap_s = pause_s
                else:
                    gap_s += pause_s
            run += bytes((value,)) * copies
        if run or gap_s:
            out.append(Segment(gap_s, bytes(run)))
        return out


def _flip(data: bytes, rng: random.Random, *, first: int) -> bytes:
    pos = rng.randrange(first, len(data))
    damaged = bytearray(data)
    damaged[pos] ^= 1 << rng.randrange(8)
    return bytes(damaged)


def _merge(segments: list[Segment]) -> list[Segment]:
    out: list[Segment] = []
    for seg in segments:
        if out and seg.gap_s == 0.0:
            out[-1] = Segment(out[-1].gap_s, out[-1].data + seg.data)
        elif seg.data or seg.gap_s:
            out.append(seg)
    return [s for s in out if s.data]

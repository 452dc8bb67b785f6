"""What the emulated device actually delivered, read the way a rig reads an oscilloscope.

The firmware records a :class:`Segment` each time its output changes (a ramp step, a set-point
change, STOP, a fault, a cycle). Segments are contiguous from power-on: the last one is open
(``end_s`` None). Times are the device clock of the change itself, even when the firmware was
polled late, so a test can compare the delivered ramp, rate and amplitude with what was programmed.

Sign convention of ``contact_ua``: the first phase of each pulse is cathodic, so cathodes carry a
negative current and anodes a positive one; each is that contact's share of the amplitude in whole
microamperes, and the anodic currents, like the cathodic ones, add up to the amplitude exactly
(PROTOCOL.md 7.4). A zero-amplitude output is recorded as OFF (no pulse parameters), as no current
flows.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from firmware_protocol.constants import Recharge, Waveform


@dataclass(frozen=True, slots=True)
class Output:
    """The output stage's setting: amplitude, per-contact current and pulse train."""

    amplitude_ua: int
    contact_ua: tuple[int, ...]
    pulse_width_us: int = 0
    rate_dhz: int = 0
    waveform: Waveform | None = None
    burst_pulses: int = 0
    intra_burst_rate_dhz: int = 0
    recharge: Recharge | None = None
    slot: int | None = None

    @property
    def is_on(self) -> bool:
        return self.amplitude_ua > 0

    @property
    def anodic_ua(self) -> int:
        """The sum of the anodes' currents."""
        return sum(c for c in self.contact_ua if c > 0)

    @property
    def cathodic_ua(self) -> int:
        """The sum of the cathodes' currents, as a positive number."""
        return -sum(c for c in self.contact_ua if c < 0)


@dataclass(frozen=True, slots=True)
class Segment:
    """One stretch of unchanged output, ``start_s`` <= t < ``end_s`` (None: still going)."""

    start_s: float
    end_s: float | None
    output: Output

    @property
    def amplitude_ua(self) -> int:
        return self.output.amplitude_ua

    @property
    def contact_ua(self) -> tuple[int, ...]:
        return self.output.contact_ua

    def covers(self, t_s: float) -> bool:
        return self.start_s <= t_s and (self.end_s is None or t_s < self.end_s)


def off_output(contact_count: int) -> Output:
    return Output(0, (0,) * contact_count)


class OutputMonitor:
    """Time-stamped record of the delivered output, with queries for tests and rigs.

    Holds at most ``max_segments`` segments (the oldest are forgotten) so that an emulator left
    running for days does not grow without bound.
    """

    def __init__(self, contact_count: int, start_s: float, max_segments: int = 200_000) -> None:
        self.contact_count = contact_count
        self._closed: deque[Segment] = deque(maxlen=max_segments - 1)
        self._open_start_s = start_s
        self._open = off_output(contact_count)

    # --- recording (the firmware's side) ---------------------------------------------------------

    def record(self, t_s: float, output: Output) -> None:
        """The output changed to ``output`` at ``t_s``; nothing is recorded if it did not change."""
        if output == self._open:
            return
        if t_s > self._open_start_s:
            self._closed.append(Segment(self._open_start_s, t_s, self._open))
        # A second change at the same instant replaces the first: no zero-length segments.
        self._open_start_s = t_s
        self._open = output

    # --- queries ---------------------------------------------------------------------------------

    @property
    def segments(self) -> tuple[Segment, ...]:
        return (*self._closed, Segment(self._open_start_s, None, self._open))

    @property
    def current(self) -> Output:
        """The output now."""
        return self._open

    def segment_at(self, t_s: float) -> Segment | None:
        """The segment in force at ``t_s`` (at a change, the new one); None before the record."""
        for seg in reversed(self.segments):
            if seg.start_s <= t_s:
                return seg
        return None

    def output_at(self, t_s: float) -> Output:
        seg = self.segment_at(t_s)
        return seg.output if seg else off_output(self.contact_count)

    def amplitude_at(self, t_s: float) -> int:
        return self.output_at(t_s).amplitude_ua

    def contact_ua_at(self, t_s: float, contact: int) -> int:
        """Signed current of contact index ``contact`` (0-based) at ``t_s``."""
        return self.output_at(t_s).contact_ua[contact]

    def segments_between(self, t0_s: float, t1_s: float) -> list[Segment]:
        """Segments overlapping ``[t0_s, t1_s]``."""
        return [s for s in self.segments if s.start_s <= t1_s and (s.end_s is None or s.end_s > t0_s)]

    def amplitude_changes(self, t0_s: float = 0.0, t1_s: float | None = None) -> list[tuple[float, int]]:
        """(time, amplitude) of every change within ``[t0_s, t1_s]``: a ramp reads as its steps."""
        return [
            (s.start_s, s.amplitude_ua)
            for s in self.segments
            if s.start_s >= t0_s and (t1_s is None or s.start_s <= t1_s)
        ]

    def max_amplitude_ua(self, t0_s: float, t1_s: float) -> int:
        return max((s.amplitude_ua for s in self.segments_between(t0_s, t1_s)), default=0)

    def first_off_after(self, t_s: float) -> float | None:
        """When the output next went from on to off at or after ``t_s``; None if it did not."""
        previous_on = False
        for seg in self.segments:
            if seg.start_s >= t_s and previous_on and not seg.output.is_on:
                return seg.start_s
            previous_on = seg.output.is_on
        return None

    def first_on_after(self, t_s: float) -> float | None:
        """When the output next went from off to on at or after ``t_s``; None if it did not."""
        previous_on = True
        for seg in self.segments:
            if seg.start_s >= t_s and not previous_on and seg.output.is_on:
                return seg.start_s
            previous_on = seg.output.is_on
        return None

    def on_intervals(self, t0_s: float = 0.0, t1_s: float | None = None) -> list[tuple[float, float | None]]:
        """Stretches with output on (amplitude > 0) that overlap ``[t0_s, t1_s]``, merged."""
        out: list[tuple[float, float | None]] = []
        start: float | None = None
        for seg in self.segments:
            if seg.output.is_on and start is None:
                start = seg.start_s
            elif not seg.output.is_on and start is not None:
                out.append((start, seg.start_s))
                start = None
        if start is not None:
            out.append((start, None))
        return [(a, b) for a, b in out if (b is None or b > t0_s) and (t1_s is None or a <= t1_s)]

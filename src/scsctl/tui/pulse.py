"""The pulse train drawn with box characters: biphasic shape, width, period, burst structure.

Three rows: the anodic (recharge) phase above the line, the cathodic phase below it; the
cathodic phase comes first (as the emulator's output monitor and most stimulators have it).
Active recharge is a mirror phase right after; passive recharge is a slow, low return drawn
dotted (after each pulse for tonic, after the whole burst for burst). Widths are to scale when
the period allows, otherwise each phase gets at least two columns and the caption says so.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from firmware_protocol.constants import Recharge, Waveform
from firmware_protocol.messages import Program

from ..units import format_dhz, format_us

__all__ = ["PulseDrawing", "draw_pulses"]

US_PER_S_DHZ = 10_000_000  # a period in us is US_PER_S_DHZ / rate_dhz

_UP, _BASE, _DOWN, _PASSIVE = 1, 0, -1, 2
"""Levels; _PASSIVE is drawn on the upper row, dotted."""


@dataclass(frozen=True, slots=True)
class PulseDrawing:
    lines: tuple[str, str, str]
    caption: str
    to_scale: bool


def _period_us(rate_dhz: int) -> float:
    return US_PER_S_DHZ / rate_dhz if rate_dhz > 0 else 0.0


def _fmt_period(us: float) -> str:
    if us >= 10_000:
        return f"{us / 1000:.3g} ms".replace(".0 ms", " ms")
    if us >= 1000:
        return f"{us / 1000:.3g} ms"
    return f"{us:.4g} us"


def _segments(program: Program) -> tuple[list[tuple[int, float]], str]:
    """(level, duration_us) pieces of what is drawn, and the caption."""
    pw = program.pulse_width_us
    passive = program.recharge == Recharge.PASSIVE
    recharge = "passive recharge" if passive else "active recharge"
    if program.waveform == Waveform.BURST and program.burst_pulses > 0 and program.intra_burst_rate_dhz > 0:
        n = program.burst_pulses
        inner = _period_us(program.intra_burst_rate_dhz)
        outer = _period_us(program.rate_dhz)
        one_burst: list[tuple[int, float]] = []
        for i in range(n):
            one_burst.append((_DOWN, pw))
            if not passive:
                one_burst.append((_UP, pw))
            gap = inner - pw * (1 if passive else 2)
            if i < n - 1:
                one_burst.append((_BASE, max(gap, 0.0)))
        used = inner * (n - 1) + pw * (1 if passive else 2)
        if passive:
            one_burst.append((_PASSIVE, min(max(outer - used, 0.0), inner * 2)))
            used += one_burst[-1][1]
        one_burst.append((_BASE, max(outer - used, 0.0)))
        caption = (
            f"burst: {n} pulses of {format_us(pw)} at {format_dhz(program.intra_burst_rate_dhz)} "
            f"({_fmt_period(inner)} apart), bursts at {format_dhz(program.rate_dhz)} (every {_fmt_period(outer)}); "
            + ("passive recharge after each burst" if passive else "active recharge after each pulse")
        )
        return [(_BASE, outer * 0.03), *one_burst, *one_burst[:3]], caption
    period = _period_us(program.rate_dhz)
    pulse = [(_DOWN, float(pw)), (_PASSIVE, 2.0 * pw) if passive else (_UP, float(pw))]
    busy = sum(d for _, d in pulse)
    one = [*pulse, (_BASE, max(period - busy, 0.0))]
    kind = program.waveform.name.lower().replace("_", " ")
    caption = (
        f"{kind}: {format_us(pw)} per phase, {format_dhz(program.rate_dhz)} (period {_fmt_period(period)}); "
        f"{recharge}, cathodic phase first"
    )
    return [(_BASE, period * 0.05), *one, *one, *pulse], caption


def draw_pulses(program: Program, width: int) -> PulseDrawing:
    """Two periods (tonic) or a burst and the start of the next, in ``width`` columns."""
    segments, caption = _segments(program)
    total_us = sum(d for _, d in segments) or 1.0
    edges = sum(1 for a, b in itertools.pairwise(segments) if a[0] != b[0])
    usable = max(width - edges, len(segments))
    scale = usable / total_us  # columns per us
    cols: list[int] = []
    to_scale = True
    for level, duration in segments:
        n = round(duration * scale)
        if level != _BASE and n < 2:
            n, to_scale = 2, False
        cols.append(max(n, 0))
    # Phases forced wider than to scale borrow from the longest flat stretch.
    excess = sum(cols) + edges - width
    while excess > 0:
        longest = max(range(len(cols)), key=lambda i: cols[i] if segments[i][0] == _BASE else -1)
        if segments[longest][0] != _BASE or cols[longest] <= 1:
            break
        take = min(excess, cols[longest] - 1)
        cols[longest] -= take
        excess -= take
        to_scale = False
    levels: list[int] = []
    for (level, _), n in zip(segments, cols, strict=True):
        levels += [level] * n
    rows = _render(levels)
    if not to_scale:
        caption += " (not to scale)"
    return PulseDrawing(rows, caption, to_scale)


def _row(level: int) -> int:
    return {_UP: 0, _PASSIVE: 0, _BASE: 1, _DOWN: 2}[level]


def _render(levels: list[int]) -> tuple[str, str, str]:
    top: list[str] = []
    mid: list[str] = []
    bottom: list[str] = []
    grid = (top, mid, bottom)
    previous: int | None = None
    for level in levels:
        if previous is not None and previous != level:
            a, b = _row(previous), _row(level)
            dotted = _PASSIVE in (previous, level)
            bar = "┆" if dotted else "│"
            for r, out in enumerate(grid):
                if r == a == b:
                    out.append("┄" if dotted else "─")
                elif r == a:
                    out.append(("┐" if a < b else "┘") if not (dotted and r == 0) else ("╮" if a < b else "╯"))
                elif r == b:
                    out.append(("└" if a < b else "┌") if not (dotted and r == 0) else ("╰" if a < b else "╭"))
                elif min(a, b) < r < max(a, b):
                    out.append(bar)
                else:
                    out.append(" ")
        for r, out in enumerate(grid):
            if r == _row(level):
                out.append("┄" if level == _PASSIVE else "─")
            else:
                out.append(" ")
        previous = level
    return "".join(top), "".join(mid), "".join(bottom)

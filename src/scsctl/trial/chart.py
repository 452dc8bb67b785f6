"""The trial's chart, drawn two ways from the same diary: as inline SVG for the report (daily pain
against the baseline and the goal line, usage per day), and as text for a terminal.

The SVG is plain (no scripts, no external fonts or files), drawn in a fixed ``viewBox`` and scaled
by the page, so it looks the same in a browser, in print and in a PDF. The text chart is a list of
(text, style) pieces, the style a Rich style name ("green", "dim", ""), so this module needs no
terminal library; the TUI assembles the pieces (``rich.text.Text.assemble``).
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from html import escape

from .assessment import Assessment, format_fraction
from .models import DiaryEntry, Trial
from .report import TrialReport

__all__ = ["pain_chart_svg", "pain_chart_text"]

TEXT_COLS_PER_POINT = 3
"""Columns of the text chart per point of the pain scale."""

WIDTH = 720
LEFT, RIGHT = 46, 112  # room for the axis labels and for the line labels on the right
PAIN_TOP, PAIN_BOTTOM = 16, 206
USAGE_TOP, USAGE_BOTTOM = 236, 300
LABELS_Y = 318
HEIGHT = 346

PAIN_COLOUR = "#1f4e79"
BASELINE_COLOUR = "#6b6b6b"
GOAL_COLOUR = "#2e7d32"
USAGE_COLOUR = "#8fa8c0"
BAND_COLOUR = "#fdf1cf"
GRID_COLOUR = "#e3e3e3"
MEAN_COLOUR = "#b26a00"
HALO = 'stroke="#fff" stroke-width="3" paint-order="stroke"'
"""A white outline under a label, so a line running through it does not hide it."""
LABEL_GAP = 13.0


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def pain_chart_svg(report: TrialReport) -> str:
    trial = report.trial
    days = report.days()
    n = len(days)
    plot_w = WIDTH - LEFT - RIGHT
    step = plot_w / n

    def x(i: int) -> float:
        return LEFT + (i + 0.5) * step

    def y_pain(nrs: float) -> float:
        return PAIN_BOTTOM - nrs / 10 * (PAIN_BOTTOM - PAIN_TOP)

    def y_usage(hours: float) -> float:
        return USAGE_BOTTOM - hours / 24 * (USAGE_BOTTOM - USAGE_TOP)

    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="chart-title chart-desc" class="chart" font-family="inherit" font-size="11">',
        '<title id="chart-title">Daily pain (NRS) against the baseline and the goal, and hours of stimulation '
        "per day</title>",
        f'<desc id="chart-desc">{escape(_description(report))}</desc>',
    ]
    # The days the verdict's mean is taken over, shaded behind everything.
    last_dates = {e.entry_date for e in report.assessment.last_entries}
    index = {d: i for i, (d, _) in enumerate(days)}
    for d in sorted(last_dates):
        i = index[d]
        out.append(
            f'<rect x="{x(i) - step / 2:.1f}" y="{PAIN_TOP}" width="{step:.1f}" '
            f'height="{PAIN_BOTTOM - PAIN_TOP}" fill="{BAND_COLOUR}"/>'
        )
    # Pain axis and grid.
    for nrs in range(0, 11, 2):
        yy = y_pain(nrs)
        out.append(f'<line x1="{LEFT}" y1="{yy:.1f}" x2="{LEFT + plot_w}" y2="{yy:.1f}" stroke="{GRID_COLOUR}"/>')
        out.append(f'<text x="{LEFT - 6}" y="{yy + 4:.1f}" text-anchor="end" fill="#444">{nrs}</text>')
    out.append(
        f'<text x="12" y="{(PAIN_TOP + PAIN_BOTTOM) / 2:.0f}" transform="rotate(-90 12 '
        f'{(PAIN_TOP + PAIN_BOTTOM) / 2:.0f})" text-anchor="middle" fill="#444">pain (NRS)</text>'
    )
    # Baseline and goal lines; their labels go at the right, after the mean's.
    right_labels: list[tuple[float, str, str]] = []
    for value, colour, label, dash in (
        (trial.baseline_nrs, BASELINE_COLOUR, f"baseline {trial.baseline_nrs}", "6 4"),
        (trial.goal_nrs, GOAL_COLOUR, f"goal {_num(trial.goal_nrs)} (-{trial.goal_reduction_pct} %)", "3 3"),
    ):
        yy = y_pain(value)
        out.append(
            f'<line x1="{LEFT}" y1="{yy:.1f}" x2="{LEFT + plot_w}" y2="{yy:.1f}" stroke="{colour}" '
            f'stroke-width="1.5" stroke-dasharray="{dash}"/>'
        )
        right_labels.append((yy, colour, label))
    # Mean of the last days, as a short bar over the band.
    if report.assessment.last_entries:
        first = index[min(last_dates)]
        last = index[max(last_dates)]
        ym = y_pain(float(report.assessment.mean_nrs))
        out.append(
            f'<line x1="{x(first) - step / 2 + 2:.1f}" y1="{ym:.1f}" x2="{x(last) + step / 2 - 2:.1f}" y2="{ym:.1f}" '
            f'stroke="{MEAN_COLOUR}" stroke-width="2.5"/>'
        )
        right_labels.append((ym, MEAN_COLOUR, f"mean {format_fraction(report.assessment.mean_nrs, 1)}"))
    for yy, colour, label in _spread(right_labels, LABEL_GAP):
        out.append(f'<text x="{LEFT + plot_w + 6}" y="{yy + 4:.1f}" fill="{colour}">{escape(label)}</text>')
    # Pain line: consecutive days joined, a missing day breaks it.
    runs: list[list[tuple[int, DiaryEntry]]] = []
    for i, (_, entry) in enumerate(days):
        if entry is None:
            runs.append([])
            continue
        if not runs:
            runs.append([])
        runs[-1].append((i, entry))
    for run in runs:
        if len(run) > 1:
            points = " ".join(f"{x(i):.1f},{y_pain(e.nrs):.1f}" for i, e in run)
            out.append(f'<polyline points="{points}" fill="none" stroke="{PAIN_COLOUR}" stroke-width="2.2"/>')
    for i, (_, entry) in enumerate(days):
        if entry is None:
            continue
        yy = y_pain(entry.nrs)
        out.append(f'<circle cx="{x(i):.1f}" cy="{yy:.1f}" r="4" fill="{PAIN_COLOUR}"/>')
        out.append(
            f'<text x="{x(i):.1f}" y="{yy - 8:.1f}" text-anchor="middle" fill="{PAIN_COLOUR}" '
            f'font-weight="bold" {HALO}>{entry.nrs}</text>'
        )
    out.append(f'<line x1="{LEFT}" y1="{PAIN_BOTTOM}" x2="{LEFT + plot_w}" y2="{PAIN_BOTTOM}" stroke="#888"/>')
    # Usage panel.
    for tick_h in (0, 12, 24):
        yy = y_usage(tick_h)
        out.append(f'<line x1="{LEFT}" y1="{yy:.1f}" x2="{LEFT + plot_w}" y2="{yy:.1f}" stroke="{GRID_COLOUR}"/>')
        out.append(f'<text x="{LEFT - 6}" y="{yy + 4:.1f}" text-anchor="end" fill="#444">{tick_h} h</text>')
    out.append(
        f'<text x="{LEFT + plot_w + 6}" y="{(USAGE_TOP + USAGE_BOTTOM) / 2 + 4:.0f}" fill="#444">'
        "stimulation per day</text>"
    )
    bar_w = min(step * 0.6, 40)
    for i, (_, entry) in enumerate(days):
        if entry is None or entry.stimulation_s is None:
            continue
        hours = entry.stimulation_s / 3600
        top = y_usage(min(hours, 24))
        out.append(
            f'<rect x="{x(i) - bar_w / 2:.1f}" y="{top:.1f}" width="{bar_w:.1f}" height="{USAGE_BOTTOM - top:.1f}" '
            f'fill="{USAGE_COLOUR}"/>'
        )
        if step >= 26:
            out.append(f'<text x="{x(i):.1f}" y="{top - 3:.1f}" text-anchor="middle" fill="#333">{hours:.1f}</text>')
    out.append(f'<line x1="{LEFT}" y1="{USAGE_BOTTOM}" x2="{LEFT + plot_w}" y2="{USAGE_BOTTOM}" stroke="#888"/>')
    # Day labels under both panels; on a long trial only every few dates, so they do not overlap.
    date_every = max(1, math.ceil(40 / step))
    for i, (d, _) in enumerate(days):
        number = trial.day_number(d)
        day_label = f"day {number}" if step >= 44 else str(number)
        out.append(f'<text x="{x(i):.1f}" y="{LABELS_Y}" text-anchor="middle" fill="#333">{day_label}</text>')
        if i % date_every == 0:
            out.append(f'<text x="{x(i):.1f}" y="{LABELS_Y + 14}" text-anchor="middle" fill="#777">{_short(d)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def _spread(labels: list[tuple[float, str, str]], gap: float) -> list[tuple[float, str, str]]:
    """Labels moved apart vertically (top to bottom, keeping their order) so none overlaps the next."""
    placed: list[tuple[float, str, str]] = []
    for yy, colour, text in sorted(labels):
        if placed and yy - placed[-1][0] < gap:
            yy = placed[-1][0] + gap
        placed.append((yy, colour, text))
    return placed


def _short(d: date) -> str:
    return f"{d.month:02d}-{d.day:02d}"


def _description(report: TrialReport) -> str:
    scores = ", ".join(f"day {report.trial.day_number(e.entry_date)}: {e.nrs}" for e in report.diary)
    return (
        f"Baseline NRS {report.trial.baseline_nrs}, goal line at {_num(report.trial.goal_nrs)}. "
        f"Daily pain scores: {scores}. {report.assessment.statement}."
    )


def pain_chart_text(trial: Trial, diary: list[DiaryEntry], assessment: Assessment | None) -> list[tuple[str, str]]:
    """Daily pain as bars against the baseline (│) and the goal (┆), with the hours of stimulation.

    One row per trial day from the start to the later of the planned end and the last entry; bars at
    or under the goal are green. The days the verdict's mean is taken over are marked ▸. Returns
    (text, style) pieces.
    """
    cols = TEXT_COLS_PER_POINT
    width = 10 * cols
    base_col = trial.baseline_nrs * cols
    goal_col = round(trial.goal_nrs * cols)
    last_dates = {e.entry_date for e in assessment.last_entries} if assessment else set()
    by_date = {e.entry_date: e for e in diary}
    last_day = max([trial.planned_end_date, *by_date])
    out: list[tuple[str, str]] = []
    axis = "".join(str(n).ljust(2 * cols) for n in range(0, 11, 2))
    out.append((f"{'':14}{axis[: width + 2]}  stimulation\n", "dim"))
    day = trial.start_date
    while day <= last_day:
        entry = by_date.get(day)
        mark = "▸" if day in last_dates else " "
        label = f"{mark}day {trial.day_number(day):>2} {day.month:02d}-{day.day:02d} "
        out.append((label, "bold" if mark.strip() else ""))
        filled = 0 if entry is None else entry.nrs * cols
        bar_style = "green" if entry is not None and entry.nrs <= trial.goal_nrs else "cyan"
        for col in range(width + 1):
            if col < filled:
                out.append(("█", bar_style))
            elif col == base_col:
                out.append(("│", "grey50"))
            elif col == goal_col:
                out.append(("┆", "green"))
            else:
                out.append((" ", ""))
        if entry is None:
            out += [("  -    ", "dim"), ("no entry\n", "dim")]
        else:
            hours = "" if entry.stimulation_s is None else f"{entry.stimulation_s / 3600:5.1f} h"
            out += [(f" {entry.nrs:>2}    ", "bold"), (f"{hours}\n", "")]
        day += timedelta(days=1)
    out.append((f"│ baseline {trial.baseline_nrs}   ", "grey50"))
    out.append((f"┆ goal {trial.goal_nrs:g} (-{trial.goal_reduction_pct} %)   ", "green"))
    out.append(("▸ the days the verdict's mean is taken over", "bold"))
    return out

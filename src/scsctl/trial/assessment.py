"""The trial's arithmetic: mean pain of the last diary days, its reduction from baseline, the verdict.

Computed exactly (``Fraction``) and rounded only for display, always the same way: the mean to one
decimal (half up), the reduction rounded down to whole percent. Rounding down keeps the figure shown
in agreement with the verdict: the goal is a whole percentage, so "50 %" is never shown for 49.9 %.

The rule (DOMAIN.md: a trial succeeds when pain falls by at least 50 %, with stable or reduced
analgesics): success when the mean NRS of the last three diary days (the three latest dates with an
entry) is at least the goal below the baseline, and analgesics were not increased on any of them.
Fewer than three diary days give no verdict yet.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from typing import Any, Literal

from ..errors import UsageError
from .models import Analgesics, DiaryEntry, Trial

__all__ = ["LAST_DAYS", "Assessment", "assess", "format_fraction", "rule_text"]

LAST_DAYS = 3

Verdict = Literal["success", "not met", "not yet"]


def format_fraction(value: Fraction, decimals: int) -> str:
    """``value`` to ``decimals`` places, halves rounded up (away from zero): 8/3 -> '2.7' at 1."""
    scale = 10**decimals
    scaled = abs(value) * scale
    rounded = math.floor(scaled + Fraction(1, 2))
    sign = "-" if value < 0 and rounded else ""
    whole, frac = divmod(rounded, scale)
    return f"{sign}{whole}.{frac:0{decimals}d}" if decimals else f"{sign}{whole}"


def _floor_tenths(value: Fraction) -> str:
    tenths = math.floor(value * 10)
    sign = "-" if tenths < 0 else ""
    whole, frac = divmod(abs(tenths), 10)
    return f"{sign}{whole}.{frac}"


def rule_text(goal_reduction_pct: int) -> str:
    return (
        f"The trial succeeds when the mean pain score (NRS 0-10) of the last {LAST_DAYS} diary days is at least "
        f"{goal_reduction_pct} % below the baseline, and analgesics were not increased on any of those days. "
        "The mean is shown to one decimal; percentages are rounded down, so a percentage shown always agrees "
        "with the verdict."
    )


@dataclass(frozen=True, slots=True)
class Assessment:
    baseline_nrs: int
    goal_reduction_pct: int
    days_recorded: int
    last_entries: tuple[DiaryEntry, ...]
    """The entries the mean is taken over: the last ``LAST_DAYS`` (or all, while there are fewer)."""
    mean_nrs: Fraction
    reduction_pct: Fraction
    """Exact: (baseline - mean) / baseline x 100; negative when pain rose."""
    verdict: Verdict
    analgesics_increased: tuple[date, ...]
    """Days among ``last_entries`` with more analgesics than before the trial."""
    analgesics_unknown: tuple[date, ...]
    final_date: date | None = None
    """The trial's last day while the diary has not reached it (the verdict is interim), else None."""

    @property
    def interim(self) -> bool:
        return self.final_date is not None and self.verdict != "not yet"

    @property
    def success(self) -> bool | None:
        return None if self.verdict == "not yet" else self.verdict == "success"

    @property
    def pain_goal_met(self) -> bool:
        return self.reduction_pct >= self.goal_reduction_pct

    @property
    def mean_text(self) -> str:
        return format_fraction(self.mean_nrs, 1)

    @property
    def reduction_whole_pct(self) -> int:
        """The reduction rounded down to whole percent (negative: pain rose)."""
        return math.floor(self.reduction_pct)

    @property
    def reduction_text(self) -> str:
        if self.reduction_pct < 0:
            return f"pain rose by {math.floor(-self.reduction_pct)} %"
        return f"{self.reduction_whole_pct} % reduction"

    @property
    def rule(self) -> str:
        return rule_text(self.goal_reduction_pct)

    @property
    def statement(self) -> str:
        """The verdict in one sentence with the figures it rests on."""
        baseline = f"the baseline ({self.baseline_nrs})"
        if self.verdict == "not yet":
            return (
                f"not yet decided: {self.days_recorded} diary day{'s' if self.days_recorded != 1 else ''} recorded, "
                f"{LAST_DAYS} needed; so far the mean NRS ({self.mean_text}) against {baseline}: {self.reduction_text}"
            )
        compare = "at least" if self.pain_goal_met else "less than"
        text = (
            f"{self.verdict}: mean NRS of the last {LAST_DAYS} diary days ({self.mean_text}) is {compare} "
            f"{self.goal_reduction_pct} % below {baseline}: {self.reduction_text}"
        )
        if self.analgesics_increased:
            days = ", ".join(d.isoformat() for d in self.analgesics_increased)
            text += f", but analgesics were increased on {days}"
        if self.interim:
            last = self.last_entries[-1].entry_date
            text = f"INTERIM (diary up to {last}; the trial runs to {self.final_date}): {text}"
        return text

    @property
    def arithmetic(self) -> str:
        """The sums, for checking by hand."""
        scores = ", ".join(f"{e.entry_date} NRS {e.nrs}" for e in self.last_entries)
        total = sum(e.nrs for e in self.last_entries)
        n = len(self.last_entries)
        return (
            f"{scores}; mean = {total} / {n} = {format_fraction(self.mean_nrs, 2)}; "
            f"reduction = ({self.baseline_nrs} - {format_fraction(self.mean_nrs, 2)}) / {self.baseline_nrs} x 100 = "
            f"{_floor_tenths(self.reduction_pct)} % (rounded down)"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "interim": self.interim,
            "success": self.success,
            "statement": self.statement,
            "rule": self.rule,
            "arithmetic": self.arithmetic,
            "baseline_nrs": self.baseline_nrs,
            "goal_reduction_pct": self.goal_reduction_pct,
            "days_recorded": self.days_recorded,
            "last_days": [e.entry_date.isoformat() for e in self.last_entries],
            "last_scores": [e.nrs for e in self.last_entries],
            "mean_nrs": round(float(self.mean_nrs), 3),
            "mean_nrs_fraction": f"{self.mean_nrs.numerator}/{self.mean_nrs.denominator}",
            "reduction_pct": math.floor(self.reduction_pct * 10) / 10,
            "reduction_whole_pct": self.reduction_whole_pct,
            "pain_goal_met": self.pain_goal_met,
            "analgesics_increased": [d.isoformat() for d in self.analgesics_increased],
            "analgesics_unknown": [d.isoformat() for d in self.analgesics_unknown],
        }


def assess(trial: Trial, entries: list[DiaryEntry]) -> Assessment:
    """The verdict over a trial's diary; ``UsageError`` when it has no entry yet."""
    if not entries:
        raise UsageError(
            f"trial {trial.trial_id} has no diary entry yet: there is nothing to assess "
            f"(add one with `scsctl trial diary {trial.trial_id} --nrs N`)"
        )
    ordered = sorted(entries, key=lambda e: e.entry_date)
    last = tuple(ordered[-LAST_DAYS:])
    mean = Fraction(sum(e.nrs for e in last), len(last))
    reduction = (trial.baseline_nrs - mean) / trial.baseline_nrs * 100
    increased = tuple(e.entry_date for e in last if e.analgesics is Analgesics.MORE)
    unknown = tuple(e.entry_date for e in last if e.analgesics is None)
    verdict: Verdict
    if len(last) < LAST_DAYS:
        verdict = "not yet"
    elif reduction >= trial.goal_reduction_pct and not increased:
        verdict = "success"
    else:
        verdict = "not met"
    return Assessment(
        baseline_nrs=trial.baseline_nrs,
        goal_reduction_pct=trial.goal_reduction_pct,
        days_recorded=len(ordered),
        last_entries=last,
        mean_nrs=mean,
        reduction_pct=reduction,
        verdict=verdict,
        analgesics_increased=increased,
        analgesics_unknown=unknown,
        final_date=trial.planned_end_date if ordered[-1].entry_date < trial.planned_end_date else None,
    )

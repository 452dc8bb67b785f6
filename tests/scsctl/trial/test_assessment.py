"""The verdict's arithmetic, checked against sums done by hand."""

from __future__ import annotations

import math
from datetime import date, timedelta
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scsctl.errors import UsageError
from scsctl.trial import Analgesics, DiaryEntry, Trial, assess
from scsctl.trial.assessment import format_fraction

START = date(2026, 11, 15)


def trial(baseline: int = 7, goal: int = 50) -> Trial:
    return Trial("T-2026-0001", "EMU5101-00000000", "tonic-burst-16", START, START + timedelta(days=6), baseline,
                 (), goal, "2026-11-15T09:00:00+00:00", "tech")  # fmt: skip


def diary(*scores: int, analgesics: tuple[Analgesics | None, ...] = ()) -> list[DiaryEntry]:
    drugs = analgesics or (Analgesics.SAME,) * len(scores)
    return [
        DiaryEntry("T-2026-0001", START + timedelta(days=i), nrs, None, None, None, drug, "",
                   "2026-11-21T12:00:00+00:00", "tech")
        for i, (nrs, drug) in enumerate(zip(scores, drugs, strict=True))
    ]  # fmt: skip


def test_the_briefs_example_61_percent_from_a_mean_of_2_point_7() -> None:
    # Baseline 7; last three days 3, 3, 2: mean 8/3 = 2.67, shown 2.7; (7 - 8/3) / 7 = 13/21 = 61.9 % -> 61 %.
    a = assess(trial(7), diary(6, 5, 4, 3, 3, 2))
    assert a.mean_nrs == Fraction(8, 3)
    assert a.mean_text == "2.7"
    assert a.reduction_pct == Fraction(1300, 21)
    assert a.reduction_whole_pct == 61
    assert a.verdict == "success"
    assert a.success is True
    assert a.interim  # the diary ends on day 6 of 7: the verdict is not final yet
    assert a.statement == (
        "INTERIM (diary up to 2026-11-20; the trial runs to 2026-11-21): "
        "success: mean NRS of the last 3 diary days (2.7) is at least 50 % below the baseline (7): 61 % reduction"
    )
    assert a.arithmetic == (
        "2026-11-18 NRS 3, 2026-11-19 NRS 3, 2026-11-20 NRS 2; mean = 8 / 3 = 2.67; "
        "reduction = (7 - 2.67) / 7 x 100 = 61.9 % (rounded down)"
    )
    assert "at least 50 % below the baseline" in a.rule


def test_exactly_the_goal_is_a_success() -> None:
    # Baseline 6, last days 3, 3, 3: mean 3, reduction exactly 50 %.
    a = assess(trial(6), diary(5, 3, 3, 3))
    assert (a.mean_text, a.reduction_pct, a.verdict) == ("3.0", 50, "success")


def test_just_short_of_the_goal_is_not_met_and_the_figure_shown_agrees() -> None:
    # Baseline 7, last days 4, 3, 4: mean 11/3 = 3.67; (7 - 11/3) / 7 = 10/21 = 47.6 % -> 47 %.
    a = assess(trial(7), diary(4, 3, 4))
    assert a.mean_text == "3.7"
    assert a.reduction_whole_pct == 47
    assert a.verdict == "not met"
    assert a.statement == (
        "INTERIM (diary up to 2026-11-17; the trial runs to 2026-11-21): "
        "not met: mean NRS of the last 3 diary days (3.7) is less than 50 % below the baseline (7): 47 % reduction"
    )


def test_a_verdict_is_interim_until_the_diary_reaches_the_trials_last_day() -> None:
    early = assess(trial(7), diary(6, 2, 2))  # day 3 of 7
    assert early.verdict == "success" and early.interim
    assert early.statement.startswith("INTERIM (diary up to 2026-11-17; the trial runs to 2026-11-21): success")
    final = assess(trial(7), diary(6, 5, 4, 3, 3, 2, 2))  # day 7 of 7
    assert not final.interim and final.statement.startswith("success:")
    assert assess(trial(7), diary(6, 2)).statement.startswith("not yet decided")  # too few days: no verdict


def test_a_reduction_just_under_the_goal_is_rounded_down_not_up() -> None:
    # Baseline 9, last days 4, 5, 5: mean 14/3 = 4.67, (9 - 14/3) / 9 = 13/27 = 48.1 % -> 48 %.
    a = assess(trial(9), diary(4, 5, 5))
    assert a.reduction_whole_pct == 48
    assert not a.pain_goal_met


def test_more_analgesics_on_one_of_the_last_days_is_not_a_success() -> None:
    a = assess(trial(7), diary(3, 3, 2, analgesics=(Analgesics.SAME, Analgesics.MORE, Analgesics.LESS)))
    assert a.pain_goal_met
    assert a.verdict == "not met"
    assert a.statement.endswith("61 % reduction, but analgesics were increased on 2026-11-16")


def test_analgesics_not_recorded_are_listed_but_do_not_decide() -> None:
    a = assess(trial(7), diary(3, 3, 2, analgesics=(None, Analgesics.SAME, None)))
    assert a.verdict == "success"
    assert a.analgesics_unknown == (date(2026, 11, 15), date(2026, 11, 17))


def test_only_the_last_three_dates_count_whatever_order_they_were_entered_in() -> None:
    entries = diary(9, 9, 9, 3, 3, 2)
    a = assess(trial(7), list(reversed(entries)))
    assert [e.nrs for e in a.last_entries] == [3, 3, 2]
    assert a.days_recorded == 6


def test_fewer_than_three_days_give_no_verdict_yet() -> None:
    a = assess(trial(7), diary(4, 3))
    assert a.verdict == "not yet"
    assert a.success is None
    assert a.mean_nrs == Fraction(7, 2)
    assert a.statement == (
        "not yet decided: 2 diary days recorded, 3 needed; so far the mean NRS (3.5) against the baseline (7): "
        "50 % reduction"
    )


def test_pain_that_rose_is_said_so() -> None:
    # Baseline 5, last days 6, 6, 7: mean 19/3 = 6.33, (5 - 19/3) / 5 = -26.7 %.
    a = assess(trial(5), diary(6, 6, 7))
    assert a.verdict == "not met"
    assert a.reduction_text == "pain rose by 26 %"


def test_a_goal_other_than_50_percent_is_stated_and_applied() -> None:
    a = assess(trial(8, goal=30), diary(6, 5, 5))  # mean 16/3, (8 - 16/3) / 8 = 33.3 %
    assert a.verdict == "success"
    assert "at least 30 % below the baseline (8): 33 % reduction" in a.statement


def test_no_diary_entry_is_a_clear_error() -> None:
    with pytest.raises(UsageError, match="no diary entry yet"):
        assess(trial(), [])


def test_rounding_for_display_is_half_up_and_exact() -> None:
    assert format_fraction(Fraction(8, 3), 1) == "2.7"
    assert format_fraction(Fraction(5, 2), 0) == "3"
    assert format_fraction(Fraction(1, 4), 1) == "0.3"
    assert format_fraction(Fraction(7, 3), 2) == "2.33"
    assert format_fraction(Fraction(-1, 4), 1) == "-0.3"
    assert format_fraction(Fraction(0), 1) == "0.0"


@given(
    baseline=st.integers(1, 10),
    goal=st.integers(1, 100),
    scores=st.lists(st.integers(0, 10), min_size=3, max_size=10),
)
def test_the_whole_percentage_shown_always_agrees_with_the_verdict(baseline: int, goal: int, scores: list[int]) -> None:
    a = assess(trial(baseline, goal), diary(*scores))
    last = scores[-3:]
    exact = (baseline - Fraction(sum(last), 3)) / baseline * 100
    assert a.reduction_pct == exact
    assert a.reduction_whole_pct == math.floor(exact)
    assert (a.verdict == "success") == (a.reduction_whole_pct >= goal)

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from scsctl.trial import TrialStore

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
TODAY = NOW.date()


class Clock:
    """A settable present for the store (what "today" and "recorded at" are)."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> Iterator[TrialStore]:
    with TrialStore.in_dir(tmp_path, operator="tech-a", now=clock) as s:
        yield s


def day(n: int) -> date:
    """Day ``n`` of a trial started six days before TODAY (day 7 is TODAY)."""
    return date.fromordinal(TODAY.toordinal() - 7 + n)


NewTrial = Callable[..., str]


@pytest.fixture
def new_trial(store: TrialStore) -> NewTrial:
    def make(**kw: object) -> str:
        fields: dict[str, object] = {
            "device_serial": "EMU5101-00000000",
            "profile": "tonic-burst-16",
            "baseline_nrs": 7,
            "start_date": day(1),
            "pain_regions": "low-back, foot-left",
        }
        fields.update(kw)
        return store.new_trial(**fields).trial_id  # type: ignore[arg-type]

    return make

"""Calendar days as technicians write them: ``2026-11-19``, ``today``, ``yesterday``, ``today-3``.

A diary day is the patient's local calendar day, not a UTC instant; times that are instants
(when something was recorded) are kept in UTC as the audit log keeps them.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from ..errors import UsageError

__all__ = ["local_day_bounds_utc", "parse_day", "utc_now_text"]

_RELATIVE = re.compile(r"^today\s*-\s*([0-9]{1,3})$")


def parse_day(text: str, today: date, *, what: str = "date") -> date:
    """An ISO date, ``today``, ``yesterday`` or ``today-N`` (N days ago)."""
    value = text.strip().lower()
    if value == "today":
        return today
    if value == "yesterday":
        return today - timedelta(days=1)
    match = _RELATIVE.match(value)
    if match:
        return today - timedelta(days=int(match.group(1)))
    try:
        if not value.isascii():  # only the digits 0-9 are read as numbers
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"{what} {text!r} is not a date: write 2026-11-19, today, yesterday or today-3 (three days ago)"
        ) from None


def local_day_bounds_utc(first: date, last: date, tz: tzinfo | None = None) -> tuple[datetime, datetime]:
    """From the start of ``first`` to the end of ``last`` in local time (``tz``), as UTC instants."""
    zone = tz if tz is not None else datetime.now().astimezone().tzinfo
    start = datetime.combine(first, time.min, tzinfo=zone)
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def utc_now_text(now: datetime) -> str:
    return now.astimezone(UTC).isoformat(timespec="seconds")

"""Measurements with units and limits, OpenHTF-style: a test run leaves numbers, not just a verdict.

::

    def test_stop_latency(scs_device, measure):
        ...
        measure("stop_confirmed_ms", elapsed_ms, units="ms", limit=(None, 100))

``measure`` records the value in the test record first and then asserts the limit (both ends
included; None leaves an end open), so a value out of limits is kept in the record too.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import UsageError

__all__ = ["Limit", "Measure", "Measurement", "check_measurement"]

Limit = tuple[float | None, float | None]


class Measure(Protocol):
    """The ``measure`` fixture: record a value with its unit and limit, then assert the limit."""

    def __call__(
        self, name: str, value: float, *, units: str, limit: Limit = (None, None), description: str = ""
    ) -> float: ...


_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


@dataclass(frozen=True, slots=True)
class Measurement:
    """One measured value, its unit and the limit it was judged against."""

    name: str
    value: float
    units: str
    low: float | None = None
    high: float | None = None
    description: str = ""

    @property
    def passed(self) -> bool:
        if self.low is not None and self.value < self.low:
            return False
        return not (self.high is not None and self.value > self.high)

    def limit_text(self) -> str:
        """``<= 50 ms``, ``>= 2``, ``200..300 ms``, or ``no limit``."""
        unit = f" {self.units}" if self.units else ""
        if self.low is None and self.high is None:
            return "no limit"
        if self.low is None:
            return f"<= {_num(self.high)}{unit}"
        if self.high is None:
            return f">= {_num(self.low)}{unit}"
        if self.low == self.high:
            return f"== {_num(self.low)}{unit}"
        return f"{_num(self.low)}..{_num(self.high)}{unit}"

    def __str__(self) -> str:
        unit = f" {self.units}" if self.units else ""
        verdict = "pass" if self.passed else "FAIL"
        return f"{self.name} = {_num(self.value)}{unit} (limit {self.limit_text()}: {verdict})"

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "units": self.units,
            "low": self.low,
            "high": self.high,
            "outcome": "pass" if self.passed else "fail",
            "description": self.description,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Measurement:
        return cls(
            name=str(data["name"]),
            value=float(data["value"]),
            units=str(data.get("units", "")),
            low=None if data.get("low") is None else float(data["low"]),
            high=None if data.get("high") is None else float(data["high"]),
            description=str(data.get("description", "")),
        )


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.3f}".rstrip("0").rstrip(".")


def check_measurement(name: str, value: object, units: object, limit: object, description: str = "") -> Measurement:
    """Validate the arguments of ``measure(...)``; ``UsageError`` says which one is wrong."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise UsageError(f"measurement name {name!r} must be a word such as 'stop_latency_ms'")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise UsageError(f"measurement {name}: value {value!r} is not a finite number")
    if not isinstance(units, str):
        raise UsageError(f"measurement {name}: units {units!r} must be text such as 'ms' or 'uA'")
    if not (isinstance(limit, tuple) and len(limit) == 2):
        raise UsageError(f"measurement {name}: limit {limit!r} must be a pair (low, high); None leaves an end open")
    low, high = limit
    for end in (low, high):
        if end is not None and (isinstance(end, bool) or not isinstance(end, int | float) or not math.isfinite(end)):
            raise UsageError(f"measurement {name}: limit end {end!r} is not a finite number or None")
    if low is not None and high is not None and low > high:
        raise UsageError(f"measurement {name}: limit {limit!r} has its low end above its high end")
    return Measurement(
        name,
        value,
        units,
        None if low is None else low,
        None if high is None else high,
        description,
    )

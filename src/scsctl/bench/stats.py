"""Summaries of timing samples: median and 99th percentile, nearest-rank, no interpolation."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


def percentile(samples: Sequence[float], pct: float) -> float:
    """The nearest-rank percentile: a value that was actually measured, never an interpolation."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def median(samples: Sequence[float]) -> float:
    ordered = sorted(samples)
    n = len(ordered)
    if not n:
        raise ValueError("no samples")
    mid = n // 2
    return ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2


@dataclass(frozen=True, slots=True)
class Summary:
    """Median and p99 of one set of samples, in the unit the samples were in."""

    median: float
    p99: float
    n: int

    @classmethod
    def of(cls, samples: Sequence[float]) -> Summary:
        return cls(median(samples), percentile(samples, 99), len(samples))

    def scaled(self, factor: float) -> Summary:
        return Summary(self.median * factor, self.p99 * factor, self.n)

    def as_dict(self, digits: int = 1) -> dict[str, float | int]:
        return {"median": round(self.median, digits), "p99": round(self.p99, digits), "n": self.n}

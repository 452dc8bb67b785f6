"""The benchmark's record: each figure with its baseline, its targets, and met or missed.

Targets are data (:class:`Limit`: a value at a path must be at most a number in a unit), so the
JSON says what was compared, and a missed target says by how much. A figure that could not be
measured says why (``not_measured``) or what broke (``error``), never a made-up number.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class Limit:
    """A target: the value at ``path`` (dotted, '' for the value itself) is at most ``most`` ``unit``."""

    path: str
    most: float
    unit: str

    def describe(self, name: str) -> str:
        unit = f" {self.unit}" if self.unit else ""
        return f"{self.path or name} <= {self.most:g}{unit}"


def lookup(value: Any, path: str) -> Any:
    for key in filter(None, path.split(".")):
        value = value[key]
    return value


@dataclass
class Figure:
    """One measured figure. ``value`` is None exactly when ``not_measured`` or ``error`` says why."""

    name: str
    value: Any
    value_text: str
    baseline: dict[str, Any] | None
    baseline_text: str
    limits: tuple[Limit, ...] = ()
    detail: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    not_measured: str | None = None
    error: str | None = None

    @classmethod
    def failed(cls, name: str, error: str) -> Figure:
        return cls(name, None, "", None, "", error=error)

    @classmethod
    def unmeasured(cls, name: str, reason: str, limits: tuple[Limit, ...] = ()) -> Figure:
        return cls(name, None, "", None, "", limits=limits, not_measured=reason)

    @property
    def met(self) -> bool | None:
        """True when every target is met, False when one is missed, None without a target or value."""
        if self.value is None or not self.limits:
            return None
        return not self.misses

    @property
    def misses(self) -> list[str]:
        """Each missed target with the measured value and how far over it is."""
        if self.value is None:
            return []
        out = []
        for limit in self.limits:
            got = float(lookup(self.value, limit.path))
            if got > limit.most:
                over = f"{(got / limit.most - 1) * 100:.0f} % over" if limit.most else "over"
                out.append(f"{limit.describe(self.name)}: measured {got:g} ({over})")
        return out

    @property
    def result(self) -> str:
        if self.error is not None:
            return "ERROR"
        if self.not_measured is not None:
            return "not measured"
        met = self.met
        return "-" if met is None else "met" if met else "MISSED"

    def as_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "baseline": self.baseline,
            "target": [limit.describe(self.name) for limit in self.limits] or None,
            "met": self.met,
            "misses": self.misses,
            "detail": self.detail,
            "note": self.note,
            "not_measured": self.not_measured,
            "error": self.error,
        }


@dataclass
class Report:
    mode: str
    started_utc: str
    machine: dict[str, Any]
    figures: list[Figure] = field(default_factory=list)
    duration_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        def names(result: str) -> list[str]:
            return [f.name for f in self.figures if f.result == result]

        return {
            "scsctl_bench": FORMAT_VERSION,
            "mode": self.mode,
            "started_utc": self.started_utc,
            "duration_s": round(self.duration_s, 1),
            "machine": self.machine,
            "figures": {f.name: f.as_dict() for f in self.figures},
            "summary": {
                "met": names("met"),
                "missed": names("MISSED"),
                "not_measured": names("not measured"),
                "errors": names("ERROR"),
            },
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2)

    def table(self) -> str:
        rows = [("figure", "measured", "baseline (same run)", "target", "result")]
        for f in self.figures:
            target = ", ".join(limit.describe(f.name) for limit in f.limits) or "-"
            measured = f.value_text or f.not_measured or f.error or ""
            rows.append((f.name, measured, f.baseline_text or "-", target, f.result))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
        lines = []
        for n, row in enumerate(rows):
            cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
            lines.append("  ".join([*cells, row[-1]]).rstrip())
            if n == 0:
                lines.append("  ".join("-" * w for w in [*widths, len(row[-1])]))
        notes = [f"{f.name}: {miss}" for f in self.figures for miss in f.misses]
        notes += [f"{f.name}: {f.note}" for f in self.figures if f.note]
        machine = ", ".join(f"{k} {v}" for k, v in self.machine.items())
        footer = [f"mode {self.mode}; {self.duration_s:.0f} s; {machine}"]
        return "\n".join([*lines, *(["", *notes] if notes else []), "", *footer])

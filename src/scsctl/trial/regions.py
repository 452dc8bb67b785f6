"""The fixed list of body regions a paresthesia map and a pain area are written in.

Coarse on purpose: a patient says "my left calf and foot", not a dermatome. Regions on both sides
of the body carry ``-left``/``-right``; writing the region without a side means both sides
(``low-back`` is ``low-back-left`` and ``low-back-right``). ``none`` is an empty map, as for a
paresthesia-free program (10 kHz, often burst).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import UsageError

__all__ = ["BODY_REGIONS", "SIDED_REGIONS", "Overlap", "format_regions", "overlap", "parse_regions"]

_MIDLINE = ("neck", "upper-back", "chest", "abdomen", "perineum")
SIDED_REGIONS: tuple[str, ...] = (
    "shoulder",
    "arm",
    "hand",
    "low-back",
    "buttock",
    "hip",
    "groin",
    "thigh",
    "knee",
    "lower-leg",
    "foot",
)
"""Regions that exist on both sides; each is listed in ``BODY_REGIONS`` as ``-left`` and ``-right``."""


def _sided(name: str) -> tuple[str, str]:
    return (f"{name}-left", f"{name}-right")


# Head to foot, so a list of regions reads as a body map does.
BODY_REGIONS: tuple[str, ...] = (
    "neck",
    *_sided("shoulder"),
    "upper-back",
    "chest",
    *_sided("arm"),
    *_sided("hand"),
    "abdomen",
    *_sided("low-back"),
    *_sided("buttock"),
    *_sided("hip"),
    *_sided("groin"),
    "perineum",
    *_sided("thigh"),
    *_sided("knee"),
    *_sided("lower-leg"),
    *_sided("foot"),
)
assert set(_MIDLINE) <= set(BODY_REGIONS)

_ORDER = {name: i for i, name in enumerate(BODY_REGIONS)}
_NONE = ("none", "-")


def parse_regions(value: str | Iterable[str], *, what: str = "regions") -> tuple[str, ...]:
    """``"low-back, foot-left"`` (or a list of names) -> region names in head-to-foot order.

    ``none`` gives an empty tuple. An unknown name is refused with the closest known names.
    """
    tokens = [t for t in re.split(r"[\s,;]+", value.strip().lower()) if t] if isinstance(value, str) else list(value)
    if not tokens:
        raise UsageError(f"{what}: none given (name body regions, e.g. low-back-left,foot-left, or 'none')")
    if any(t.lower() in _NONE for t in tokens):
        if len(tokens) > 1:
            raise UsageError(f"{what}: 'none' cannot be combined with regions ({', '.join(tokens)})")
        return ()
    chosen: set[str] = set()
    for token in tokens:
        name = token.strip().lower()
        if name in _ORDER:
            chosen.add(name)
        elif name in SIDED_REGIONS:
            chosen.update(_sided(name))
        else:
            close = difflib.get_close_matches(name, [*BODY_REGIONS, *SIDED_REGIONS], n=3, cutoff=0.6)
            hint = f"did you mean {', '.join(close)}? " if close else ""
            raise UsageError(f"{what}: unknown body region {token!r}; {hint}`scsctl trial regions` lists them all")
    return tuple(sorted(chosen, key=_ORDER.__getitem__))


def format_regions(regions: Iterable[str]) -> str:
    """Regions for people: both sides of a region are written once (``low-back``); none is 'none'."""
    names = list(regions)
    left_right = {n.rsplit("-", 1)[0] for n in names if n.endswith("-left") and n[:-5] + "-right" in names}
    out: list[str] = []
    for name in names:
        base = name.rsplit("-", 1)[0]
        if base in left_right:
            if name.endswith("-left"):
                out.append(f"{base} (both sides)")
            continue
        out.append(name)
    return ", ".join(out) if out else "none"


@dataclass(frozen=True, slots=True)
class Overlap:
    """How a paresthesia map lies over the pain area."""

    covered: tuple[str, ...]
    """Pain regions the paresthesia reaches."""
    missed: tuple[str, ...]
    """Pain regions it does not reach."""
    outside: tuple[str, ...]
    """Regions with paresthesia but no pain (often what a patient finds unpleasant)."""

    @property
    def pain_region_count(self) -> int:
        return len(self.covered) + len(self.missed)

    @property
    def covered_pct(self) -> int | None:
        """Share of the pain regions reached, rounded down; None when no pain area was recorded."""
        total = self.pain_region_count
        return None if total == 0 else len(self.covered) * 100 // total

    @property
    def overlaps(self) -> bool:
        return bool(self.covered)

    def describe(self) -> str:
        if self.pain_region_count == 0:
            return "no pain area recorded for the trial"
        text = f"{len(self.covered)} of {self.pain_region_count} pain regions ({self.covered_pct} %)"
        if self.missed:
            text += f"; not reached: {format_regions(self.missed)}"
        if self.outside:
            text += f"; also felt outside the pain area: {format_regions(self.outside)}"
        return text


def overlap(coverage: Iterable[str], pain: Iterable[str]) -> Overlap:
    covered_set, pain_set = set(coverage), set(pain)

    def ordered(names: set[str]) -> tuple[str, ...]:
        return tuple(sorted(names, key=lambda n: _ORDER.get(n, len(_ORDER))))

    return Overlap(
        covered=ordered(covered_set & pain_set),
        missed=ordered(pain_set - covered_set),
        outside=ordered(covered_set - pain_set),
    )

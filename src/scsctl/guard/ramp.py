"""Turning a large amplitude change into a ramp of small steps, every one a valid setting.

While stimulating, no single command may change the amplitude by more than the profile's
``max_amplitude_step_ua``. A larger change becomes a sequence of set-points, each on the tier's
grid and each at most one maximum step from the previous one, ending exactly at the target.
"""

from __future__ import annotations

from ..profiles.models import Grid

__all__ = ["plan_ramp", "step_interval_ms"]


def plan_ramp(present_ua: int, target_ua: int, grid: Grid, max_step_ua: int) -> list[int] | None:
    """The set-points from ``present_ua`` (excluded) to ``target_ua`` (included), or None when the
    grid offers no point within one step (e.g. ``present_ua`` lies far outside the grid).

    ``target_ua`` must be on ``grid``; ``present_ua`` need not be. Empty when they are equal.
    """
    points: list[int] = []
    current = present_ua
    while current != target_ua:
        if abs(target_ua - current) <= max_step_ua:
            nxt: int | None = target_ua
        elif target_ua > current:
            nxt = grid.floor(current + max_step_ua)
            if nxt is not None and nxt <= current:
                nxt = None
        else:
            nxt = grid.ceil(current - max_step_ua)
            if nxt is not None and nxt >= current:
                nxt = None
        if nxt is None:
            return None
        points.append(nxt)
        current = nxt
    return points


def step_interval_ms(present_ua: int, points: list[int], ramp_rate_ua_per_s: int) -> int:
    """Wait between consecutive set-points so that no step goes faster than ``ramp_rate_ua_per_s``."""
    if len(points) < 2:
        return 0
    largest = max(abs(b - a) for a, b in zip([present_ua, *points], points, strict=False))
    return -(-largest * 1000 // ramp_rate_ua_per_s)

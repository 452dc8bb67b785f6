"""The program's settings as rows to edit: label, unit, allowed values, fine and coarse steps.

Amplitudes step by the profile's increments (``profile.increment_at``); the other settings by
their tier grid's step (fine) and a multiple of it (coarse); ramps and cycling, which have only a
hardware range, by fixed steps. A step that would leave the tier's range is refused with the limit
named in the guard's words (``scsctl.guard.setting_refusal``), never cut short to the limit; a step
into a gap of a grid goes to the next setting in that direction. Typed values are read with
``scsctl.parsing`` (exact, never rounded).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from firmware_protocol.constants import Recharge, Waveform
from firmware_protocol.messages import Program

from .. import parsing
from ..controller import setting_refusal
from ..errors import UsageError
from ..profiles import RECHARGE_NAMES, WAVEFORM_NAMES, DeviceProfile, Grid, Range, Tier
from ..units import format_dhz, format_ms, format_s, format_ua, format_us
from .draft import change_waveform, tier_waveforms

__all__ = [
    "PARAM_LABELS",
    "ParamSpec",
    "StepRefused",
    "format_param",
    "parse_param",
    "program_params",
    "step_param",
    "with_value",
]

PARAM_LABELS: dict[str, str] = {
    "amplitude_ua": "Amplitude",
    "pulse_width_us": "Pulse width",
    "rate_dhz": "Rate",
    "waveform": "Waveform",
    "burst_pulses": "Pulses per burst",
    "intra_burst_rate_dhz": "Rate in burst",
    "recharge": "Recharge",
    "ramp_up_ms": "Ramp-up",
    "ramp_down_ms": "Ramp-down",
    "cycle_on_s": "Cycling on",
    "cycle_off_s": "Cycling off",
    "patient_max_ua": "Patient max",
}


def _pulses(n: int) -> str:
    return f"{n} pulse" + ("" if n == 1 else "s")


_FORMATS: dict[str, Callable[[int], str]] = {
    "amplitude_ua": format_ua,
    "patient_max_ua": format_ua,
    "pulse_width_us": format_us,
    "rate_dhz": format_dhz,
    "intra_burst_rate_dhz": format_dhz,
    "burst_pulses": _pulses,
    "ramp_up_ms": format_ms,
    "ramp_down_ms": format_ms,
    "cycle_on_s": lambda s: format_s(s) if s else "none",
    "cycle_off_s": format_s,
    "waveform": lambda w: WAVEFORM_NAMES[Waveform(w)].replace("_", " "),
    "recharge": lambda r: RECHARGE_NAMES[Recharge(r)],
}


def format_param(key: str, value: int) -> str:
    return _FORMATS[key](value)


def with_value(program: Program, key: str, value: int) -> Program:
    """``program`` with the setting ``key`` (a ``Program`` field) set to ``value``."""
    if key not in PARAM_LABELS:
        raise KeyError(f"{key!r} is not an editable setting")
    changes: dict[str, Any] = {key: value}
    return dataclasses.replace(program, **changes)


@dataclass(frozen=True, slots=True)
class StepRefused:
    """A step that was not taken, and why (the value stays as it was)."""

    message: str


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """One editable setting of the draft. ``grid`` (tier) or ``range`` (hardware) bounds it."""

    key: str
    label: str
    grid: Grid | None = None
    range: Range | None = None
    choices: tuple[int, ...] = ()
    fine: Callable[[int], int] = lambda v: 1
    coarse: Callable[[int], int] = lambda v: 10
    hint: str = ""

    @property
    def bounds(self) -> tuple[int, int] | None:
        if self.grid is not None:
            return self.grid.min, self.grid.max
        if self.range is not None:
            return self.range.min, self.range.max
        return None

    def fmt(self, value: int) -> str:
        return format_param(self.key, value)


def program_params(profile: DeviceProfile, tier: Tier, program: Program) -> list[ParamSpec]:
    """The rows for ``program``'s waveform in this tier (burst rows only for burst, cycling if offered)."""
    hw = profile.hardware
    limits = tier.for_waveform(Waveform(program.waveform))

    def amp_fine(v: int) -> int:
        return profile.increment_at(v).fine_ua

    def amp_coarse(v: int) -> int:
        return profile.increment_at(v).coarse_ua

    def grid_step(grid: Grid | None, times: int) -> Callable[[int], int]:
        return lambda v: (grid.step_at(v) if grid is not None else 1) * times

    burst = program.waveform == Waveform.BURST
    amp_grid = limits.amplitude_ua if limits else None
    rows = [
        ParamSpec(
            "amplitude_ua",
            "Amplitude",
            amp_grid,
            hw.amplitude_ua,
            fine=amp_fine,
            coarse=amp_coarse,
            hint="where the program starts; raise it live once running",
        ),
        ParamSpec(
            "pulse_width_us",
            "Pulse width",
            limits.pulse_width_us if limits else None,
            hw.pulse_width_us,
            fine=grid_step(limits.pulse_width_us if limits else None, 1),
            coarse=grid_step(limits.pulse_width_us if limits else None, 5),
            hint="per phase",
        ),
        ParamSpec(
            "rate_dhz",
            "Burst rate" if burst else "Rate",
            limits.rate_dhz if limits else None,
            hw.rate_dhz,
            fine=grid_step(limits.rate_dhz if limits else None, 1),
            coarse=grid_step(limits.rate_dhz if limits else None, 10),
            hint="how often bursts repeat" if burst else "",
        ),
        ParamSpec("waveform", "Waveform", choices=tuple(int(w) for w in tier_waveforms(profile, tier))),
    ]
    if burst and limits is not None:
        rows += [
            ParamSpec(
                "burst_pulses",
                "Pulses per burst",
                limits.burst_pulses,
                hw.burst_pulses,
                fine=lambda v: 1,
                coarse=lambda v: 1,
            ),
            ParamSpec(
                "intra_burst_rate_dhz",
                "Rate in burst",
                limits.intra_burst_rate_dhz,
                hw.intra_burst_rate_dhz,
                fine=grid_step(limits.intra_burst_rate_dhz, 1),
                coarse=grid_step(limits.intra_burst_rate_dhz, 5),
                hint="pulses inside a burst",
            ),
        ]
    rows += [
        ParamSpec("recharge", "Recharge", choices=tuple(int(r) for r in profile.recharges)),
        ParamSpec(
            "ramp_up_ms",
            "Ramp-up",
            range=hw.ramp_up_ms,
            fine=lambda v: 500,
            coarse=lambda v: 5000,
            hint="0 to the amplitude at START",
        ),
        ParamSpec("ramp_down_ms", "Ramp-down", range=hw.ramp_down_ms, fine=lambda v: 500, coarse=lambda v: 5000),
    ]
    if profile.cycling:
        rows += [
            ParamSpec(
                "cycle_on_s",
                "Cycling on",
                range=hw.cycle_on_s,
                fine=lambda v: 10,
                coarse=lambda v: 60,
                hint="none: continuous, no cycling",
            ),
            ParamSpec("cycle_off_s", "Cycling off", range=hw.cycle_off_s, fine=lambda v: 10, coarse=lambda v: 60),
        ]
    rows.append(
        ParamSpec(
            "patient_max_ua",
            "Patient max",
            amp_grid,
            hw.amplitude_ua,
            fine=amp_fine,
            coarse=amp_coarse,
            hint="highest amplitude the patient's remote may set",
        )
    )
    return rows


def step_param(
    spec: ParamSpec, program: Program, direction: int, *, coarse: bool, profile: DeviceProfile, tier: Tier
) -> tuple[Program, str | None] | StepRefused:
    """``program`` with ``spec`` moved one fine/coarse step up (``direction`` 1) or down (-1).

    Returns the new program and a note (when other values changed with it), or ``StepRefused``
    with the guard's own words for the limit the step would pass.
    """
    value = int(getattr(program, spec.key))
    if spec.choices:
        if len(spec.choices) < 2:
            return StepRefused(f"{spec.label.lower()}: this model offers only {spec.fmt(value)} in this tier")
        index = spec.choices.index(value) if value in spec.choices else -1
        chosen = spec.choices[(index + direction) % len(spec.choices)]
        if spec.key == "waveform":
            return change_waveform(program, Waveform(chosen), profile)
        return with_value(program, spec.key, chosen), None
    size = spec.coarse(value) if coarse else spec.fine(value)
    target = value + direction * size
    grid = spec.grid
    if grid is not None and grid.min <= target <= grid.max and target not in grid:
        # A step into a gap of the grid goes on to the next setting in that direction.
        nxt = grid.ceil(target) if direction > 0 else grid.floor(target)
        if nxt is None:
            return StepRefused(f"{spec.label.lower()}: no setting beyond {spec.fmt(value)} in this tier")
        target = nxt
    refusal = setting_refusal(profile, tier, Waveform(program.waveform), spec.key, target)
    if refusal is not None:
        bounds = spec.bounds
        at_limit = bounds is not None and (value >= bounds[1] if direction > 0 else value <= bounds[0])
        hint = ": use a fine step or type the value (Enter)" if coarse else ": type the value (Enter)"
        if at_limit:
            hint = ""
        return StepRefused(f"{refusal}{hint}")
    return with_value(program, spec.key, target), None


_PARSERS: dict[str, Callable[[str], int]] = {
    "amplitude_ua": parsing.amplitude_ua,
    "patient_max_ua": parsing.amplitude_ua,
    "pulse_width_us": parsing.pulse_width_us,
    "rate_dhz": parsing.rate_dhz,
    "intra_burst_rate_dhz": parsing.rate_dhz,
    "ramp_up_ms": lambda t: parsing.duration_ms(t, "ramp-up"),
    "ramp_down_ms": lambda t: parsing.duration_ms(t, "ramp-down"),
    "cycle_on_s": lambda t: parsing.duration_s(t, "cycling on-time"),
    "cycle_off_s": lambda t: parsing.duration_s(t, "cycling off-time"),
}

EXAMPLES: dict[str, str] = {
    "amplitude_ua": "3.5mA",
    "patient_max_ua": "6mA",
    "pulse_width_us": "300us",
    "rate_dhz": "50Hz",
    "intra_burst_rate_dhz": "500Hz",
    "burst_pulses": "5",
    "ramp_up_ms": "2s",
    "ramp_down_ms": "1s",
    "cycle_on_s": "60s",
    "cycle_off_s": "120s",
}


def parse_param(key: str, text: str) -> int:
    """A typed value for ``key`` in wire units; ``UsageError`` naming what was wrong."""
    if key == "burst_pulses":
        try:
            value = int(text.strip())
        except ValueError:
            raise UsageError(f"pulses per burst {text!r} is not a whole number (for example 5)") from None
        if value < 0:
            raise UsageError(f"pulses per burst {text!r} cannot be negative")
        return value
    parser = _PARSERS.get(key)
    if parser is None:
        raise UsageError(f"{PARAM_LABELS.get(key, key).lower()} is chosen from a list, not typed")
    return parser(text)

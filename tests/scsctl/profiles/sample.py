"""A test-only profile ("bench-16") with round numbers, and a small TOML writer for broken variants.

The numbers are chosen so that each limit can be reached on its own in a test; the shipped
profiles are tested separately. ``sample_data()`` returns a fresh dict each time, to be changed
with ``patched(...)`` and written with ``write_profile(...)``.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from scsctl.profiles import DeviceProfile, parse_profile

NAME = "bench-16"

_SAMPLE: dict[str, Any] = {
    "schema_version": 1,
    "name": NAME,
    "model_id": 0x7001,
    "description": "test bench profile",
    "program_slots": 4,
    "patient_max_default_ua": 1000,
    "waveforms": ["tonic", "burst", "high_frequency"],
    "recharge": ["active", "passive"],
    "cycling": True,
    "usb": {"vid": 0x1209, "pid": 0x7001},
    "contacts": {"leads": 2, "contacts_per_lead": 8, "area_mm2": 12.0, "area_source": "test"},
    "high_frequency": {"pulse_width_us": 30, "rate_dhz": 100_000},
    "hardware": {
        "amplitude_ua": {"min": 0, "max": 20_000},
        "pulse_width_us": {"min": 20, "max": 1000},
        "rate_dhz": {"min": 10, "max": 100_000},
        "burst_pulses": {"min": 2, "max": 16},
        "intra_burst_rate_dhz": {"min": 1000, "max": 12_000},
        "cycle_on_s": {"min": 0, "max": 3600},
        "cycle_off_s": {"min": 0, "max": 3600},
        "ramp_up_ms": {"min": 0, "max": 30_000},
        "ramp_down_ms": {"min": 0, "max": 30_000},
        "contact_current_max_ua": 8000,
        "total_current_max_ua": 12_000,
        "compliance_mv": 10_000,
    },
    "safety": {
        "charge_per_phase_max_nc": 3000,
        "charge_density_warning_uc_per_cm2": 30,
        "shannon_k": 1.85,
        "max_amplitude_step_ua": 500,
        "ramp_rate_ua_per_s": 1000,
    },
    "impedance": {
        "short_below_ohm": 150,
        "low_warning_below_ohm": 300,
        "high_warning_above_ohm": 2500,
        "open_above_ohm": 8000,
        "required_before_start": True,
        "max_age_s": 600,
    },
    "amplitude_increments": [
        {"from_ua": 0, "fine_ua": 25, "coarse_ua": 200},
        {"from_ua": 2000, "fine_ua": 50, "coarse_ua": 400},
    ],
    "tiers": {
        "engineering": {
            "tonic": {
                "amplitude_ua": [{"min": 0, "max": 2000, "step": 25}, {"min": 2000, "max": 12_000, "step": 50}],
                "pulse_width_us": {"min": 20, "max": 1000, "step": 10},
                "rate_dhz": {"min": 10, "max": 12_000, "step": 10},
            },
            "burst": {
                "amplitude_ua": {"min": 0, "max": 12_000, "step": 50},
                "pulse_width_us": {"min": 100, "max": 1000, "step": 10},
                "rate_dhz": {"min": 100, "max": 1000, "step": 10},
                "burst_pulses": {"min": 2, "max": 16, "step": 1},
                "intra_burst_rate_dhz": {"min": 1000, "max": 12_000, "step": 100},
            },
            "high_frequency": {"amplitude_ua": {"min": 0, "max": 10_000, "step": 100}},
        },
        "clinical": {
            "tonic": {
                "amplitude_ua": [{"min": 0, "max": 2000, "step": 25}, {"min": 2000, "max": 6000, "step": 50}],
                "pulse_width_us": {"min": 40, "max": 720, "step": 10},
                "rate_dhz": {"min": 40, "max": 1000, "step": 20},
            },
            "burst": {
                "amplitude_ua": {"min": 0, "max": 5000, "step": 50},
                "pulse_width_us": {"min": 100, "max": 1000, "step": 50},
                "rate_dhz": {"min": 200, "max": 600, "step": 10},
                "burst_pulses": {"min": 2, "max": 7, "step": 1},
                "intra_burst_rate_dhz": {"min": 2500, "max": 5000, "step": 500},
            },
            "high_frequency": {"amplitude_ua": {"min": 0, "max": 5000, "step": 100}},
        },
    },
}


def sample_data() -> dict[str, Any]:
    return copy.deepcopy(_SAMPLE)


def patched(changes: dict[str, Any], data: dict[str, Any] | None = None) -> dict[str, Any]:
    """A copy of ``data`` (default: the sample) with dotted keys set; value ``DELETE`` removes the key."""
    data = copy.deepcopy(data if data is not None else _SAMPLE)
    for dotted, value in changes.items():
        *parents, last = dotted.split(".")
        table = data
        for part in parents:
            table = table[part]
        if value is DELETE:
            del table[last]
        else:
            table[last] = value
    return data


DELETE = object()


def sample_profile(changes: dict[str, Any] | None = None) -> DeviceProfile:
    return parse_profile(patched(changes or {}), f"{NAME}.toml")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(type(value))


def to_toml(data: dict[str, Any]) -> str:
    """TOML text for ``data``: one top-level key per line, tables written inline."""
    return "".join(f"{key} = {_toml_value(value)}\n" for key, value in data.items())


def write_profile(folder: Path, data: dict[str, Any], name: str | None = None) -> Path:
    path = folder / f"{name or data.get('name', NAME)}.toml"
    path.write_text(to_toml(data), encoding="utf-8")
    return path

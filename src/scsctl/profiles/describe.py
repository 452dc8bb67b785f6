"""A profile written out for people (``profile_table``) and for programs (``profile_to_dict``, JSON).

``profile_to_dict`` uses the file format's own keys and units, so its output reads like the TOML it
came from (integers in the unit each key names).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from firmware_protocol.constants import Waveform

from ..units import (
    format_area_mm2,
    format_dhz,
    format_mv,
    format_nc,
    format_ohm,
    format_s,
    format_ua,
    format_us,
)
from .models import (
    RECHARGE_NAMES,
    WAVEFORM_NAMES,
    DeviceProfile,
    Grid,
    Range,
    TierName,
    WaveformLimits,
)

__all__ = ["clinical_widenings", "profile_summary", "profile_table", "profile_to_dict"]


def _grid_dict(grid: Grid) -> list[dict[str, int]]:
    return [{"min": s.min, "max": s.max, "step": s.step} for s in grid.segments]


def _range_dict(r: Range | None) -> dict[str, int] | None:
    return None if r is None else {"min": r.min, "max": r.max}


def _waveform_dict(w: WaveformLimits) -> dict[str, Any]:
    out: dict[str, Any] = {
        "amplitude_ua": _grid_dict(w.amplitude_ua),
        "pulse_width_us": _grid_dict(w.pulse_width_us),
        "rate_dhz": _grid_dict(w.rate_dhz),
    }
    if w.burst_pulses is not None:
        out["burst_pulses"] = _grid_dict(w.burst_pulses)
    if w.intra_burst_rate_dhz is not None:
        out["intra_burst_rate_dhz"] = _grid_dict(w.intra_burst_rate_dhz)
    return out


def profile_summary(profile: DeviceProfile) -> dict[str, Any]:
    """What ``scsctl profiles list --json`` prints for one profile."""
    return {
        "name": profile.name,
        "model_id": profile.model_id,
        "description": profile.description,
        "source": profile.source,
        "sha256": profile.sha256,
    }


def profile_to_dict(profile: DeviceProfile) -> dict[str, Any]:
    """Every limit of the profile as plain JSON-able data, keyed like the profile file."""
    hw = profile.hardware
    return {
        **profile_summary(profile),
        "notes": profile.notes,
        "program_slots": profile.program_slots,
        "patient_max_default_ua": profile.patient_max_default_ua,
        "waveforms": [WAVEFORM_NAMES[w] for w in profile.waveforms],
        "recharge": [RECHARGE_NAMES[r] for r in profile.recharges],
        "cycling": profile.cycling,
        "usb": {"vid": profile.usb.vid, "pid": profile.usb.pid},
        "contacts": {
            "leads": profile.contacts.leads,
            "contacts_per_lead": profile.contacts.contacts_per_lead,
            "area_mm2": list(profile.contacts.areas_mm2),
            "area_source": profile.contacts.area_source,
        },
        "hardware": {
            "amplitude_ua": _range_dict(hw.amplitude_ua),
            "pulse_width_us": _range_dict(hw.pulse_width_us),
            "rate_dhz": _range_dict(hw.rate_dhz),
            "burst_pulses": _range_dict(hw.burst_pulses),
            "intra_burst_rate_dhz": _range_dict(hw.intra_burst_rate_dhz),
            "cycle_on_s": _range_dict(hw.cycle_on_s),
            "cycle_off_s": _range_dict(hw.cycle_off_s),
            "ramp_up_ms": _range_dict(hw.ramp_up_ms),
            "ramp_down_ms": _range_dict(hw.ramp_down_ms),
            "contact_current_max_ua": hw.contact_current_max_ua,
            "total_current_max_ua": hw.total_current_max_ua,
            "compliance_mv": hw.compliance_mv,
        },
        "high_frequency": None if profile.high_frequency is None else {
            "pulse_width_us": profile.high_frequency.pulse_width_us,
            "rate_dhz": profile.high_frequency.rate_dhz,
        },
        "safety": {
            "charge_per_phase_max_nc": profile.safety.charge_per_phase_max_nc,
            "charge_density_warning_uc_per_cm2": profile.safety.charge_density_warning_uc_per_cm2,
            "shannon_k": profile.safety.shannon_k,
            "max_amplitude_step_ua": profile.safety.max_amplitude_step_ua,
            "ramp_rate_ua_per_s": profile.safety.ramp_rate_ua_per_s,
        },
        "impedance": {
            "short_below_ohm": profile.impedance.short_below_ohm,
            "low_warning_below_ohm": profile.impedance.low_warning_below_ohm,
            "high_warning_above_ohm": profile.impedance.high_warning_above_ohm,
            "open_above_ohm": profile.impedance.open_above_ohm,
            "required_before_start": profile.impedance.required_before_start,
            "max_age_s": profile.impedance.max_age_s,
        },
        "amplitude_increments": [
            {"from_ua": i.from_ua, "fine_ua": i.fine_ua, "coarse_ua": i.coarse_ua}
            for i in profile.amplitude_increments
        ],
        "tiers": {
            tier.value: {WAVEFORM_NAMES[w.waveform]: _waveform_dict(w) for w in profile.tier(tier).waveforms}
            for tier in TierName
        },
    }  # fmt: skip


def _pulses(n: int) -> str:
    return f"{n} pulses" if n != 1 else "1 pulse"


_SETTINGS: tuple[tuple[str, str, Callable[[int], str]], ...] = (
    ("amplitude_ua", "amplitude", format_ua),
    ("pulse_width_us", "pulse width", format_us),
    ("rate_dhz", "rate", format_dhz),
    ("burst_pulses", "pulses per burst", _pulses),
    ("intra_burst_rate_dhz", "rate inside a burst", format_dhz),
)


def _grid_lines(grid: Grid, fmt: Callable[[int], str]) -> list[str]:
    if grid.min == grid.max:
        return [f"{fmt(grid.min)} (fixed)"]
    return [f"{fmt(s.min)} to {fmt(s.max)} in steps of {fmt(s.step)}" for s in grid.segments]


def _range_text(r: Range, fmt: Callable[[int], str]) -> str:
    return f"{fmt(r.min)} to {fmt(r.max)}"


def _rows(rows: list[tuple[str, str]], indent: str = "  ") -> list[str]:
    width = max(len(label) for label, _ in rows)
    return [f"{indent}{label.ljust(width)}  {value}" for label, value in rows]


def profile_table(profile: DeviceProfile) -> str:
    """Every limit of ``profile`` as an aligned, readable text table with units."""
    hw, safety, imp, contacts = profile.hardware, profile.safety, profile.impedance, profile.contacts
    areas = sorted(set(contacts.areas_mm2))
    area_text = (f"{format_area_mm2(areas[0])} each" if len(areas) == 1
                 else "from " + " to ".join(format_area_mm2(a) for a in (areas[0], areas[-1])))  # fmt: skip
    lines = [f"{profile.name}: {profile.description}"]
    lines += _rows([
        ("file", profile.source),
        ("sha256", profile.sha256),
        ("model id", f"0x{profile.model_id:04X}"),
        ("USB id", f"{profile.usb.vid:04X}:{profile.usb.pid:04X}"),
        ("contacts", f"{contacts.count} = {contacts.leads} leads x {contacts.contacts_per_lead}, "
                     f"surface {area_text}"),
        ("contact area source", contacts.area_source),
        ("program slots", str(profile.program_slots)),
        ("patient maximum default", format_ua(profile.patient_max_default_ua)),
        ("waveforms", ", ".join(WAVEFORM_NAMES[w].replace("_", " ") for w in profile.waveforms)),
        ("recharge", ", ".join(RECHARGE_NAMES[r] for r in profile.recharges)),
        ("cycling", "yes" if profile.cycling else "no"),
    ] + ([("notes", profile.notes)] if profile.notes else []))  # fmt: skip
    lines += ["", "Hardware (whatever the tier)"]
    hw_rows = [
        ("amplitude", _range_text(hw.amplitude_ua, format_ua)),
        ("pulse width", _range_text(hw.pulse_width_us, format_us)),
        ("rate", _range_text(hw.rate_dhz, format_dhz)),
    ]
    if hw.burst_pulses is not None and hw.intra_burst_rate_dhz is not None:
        hw_rows += [
            ("pulses per burst", _range_text(hw.burst_pulses, _pulses)),
            ("rate inside a burst", _range_text(hw.intra_burst_rate_dhz, format_dhz)),
        ]
    if profile.high_frequency is not None:
        hw_rows.append(("high frequency", f"{format_us(profile.high_frequency.pulse_width_us)} at "
                                          f"{format_dhz(profile.high_frequency.rate_dhz)} (fixed)"))  # fmt: skip
    hw_rows += [
        ("cycle on", _range_text(hw.cycle_on_s, format_s)),
        ("cycle off", _range_text(hw.cycle_off_s, format_s)),
        ("ramp up", _range_text(hw.ramp_up_ms, lambda v: f"{v} ms")),
        ("ramp down", _range_text(hw.ramp_down_ms, lambda v: f"{v} ms")),
        ("current per contact, max", format_ua(hw.contact_current_max_ua)),
        ("total current, max", format_ua(hw.total_current_max_ua)),
        ("compliance voltage", format_mv(hw.compliance_mv)),
    ]
    lines += _rows(hw_rows)
    lines += ["", "Safety"]
    lines += _rows([
        ("charge per phase, max", f"{format_nc(safety.charge_per_phase_max_nc)} per contact"),
        ("charge density warning", f"{safety.charge_density_warning_uc_per_cm2:g} uC/cm2 per contact "
                                   "(must be acknowledged)"),
        ("charge density hard limit", f"Shannon k = {safety.shannon_k:g} "
                                      "(log10 D + log10 Q, per contact)"),
        ("amplitude step while stimulating", f"{format_ua(safety.max_amplitude_step_ua)} at most; "
                                             f"larger changes ramp at {format_ua(safety.ramp_rate_ua_per_s)}/s"),
    ])  # fmt: skip
    lines += ["", "Impedance"]
    fresh = f"yes, measured within {format_s(imp.max_age_s)}" if imp.required_before_start else "no"
    lines += _rows(
        [
            ("short", f"below {format_ohm(imp.short_below_ohm)}"),
            ("low (warning)", f"below {format_ohm(imp.low_warning_below_ohm)}"),
            ("high (warning)", f"above {format_ohm(imp.high_warning_above_ohm)}"),
            ("open", f"above {format_ohm(imp.open_above_ohm)}"),
            ("check required before START", fresh),
        ]
    )
    lines += ["", "Amplitude increments (UI)"]
    lines += _rows(
        [
            (f"from {format_ua(i.from_ua)}", f"fine {format_ua(i.fine_ua)}, coarse {format_ua(i.coarse_ua)}")
            for i in profile.amplitude_increments
        ]
    )
    lines += ["", "Tiers (a technician gets the clinical tier; an engineer the engineering tier)"]
    table: list[tuple[str, list[str], list[str]]] = [("", ["engineering"], ["clinical"])]
    for waveform in profile.waveforms:
        table.append((WAVEFORM_NAMES[waveform].replace("_", " "), [""], [""]))
        eng = profile.engineering.for_waveform(waveform)
        cli = profile.clinical.for_waveform(waveform)
        for attr, label, fmt in _SETTINGS:
            egrid: Grid | None = getattr(eng, attr) if eng is not None else None
            cgrid: Grid | None = getattr(cli, attr) if cli is not None else None
            if egrid is None and cgrid is None:
                continue
            ecell = _grid_lines(egrid, fmt) if egrid is not None else ["not allowed"]
            ccell = _grid_lines(cgrid, fmt) if cgrid is not None else ["not allowed"]
            if waveform is Waveform.BURST and attr == "rate_dhz":
                label = "burst rate"  # how often bursts repeat (the wire's rate_dhz for BURST)
            table.append((f"  {label}", ecell, ccell))
    label_w = max(len(label) for label, _, _ in table)
    eng_w = max(len(line) for _, cell, _ in table for line in cell)
    for label, ecell, ccell in table:
        for i in range(max(len(ecell), len(ccell))):
            e = ecell[i] if i < len(ecell) else ""
            c = ccell[i] if i < len(ccell) else ""
            lines.append(f"  {(label if i == 0 else '').ljust(label_w)}  {e.ljust(eng_w)}  {c}".rstrip())
    return "\n".join(lines)


def clinical_widenings(candidate: DeviceProfile, reference: DeviceProfile) -> list[str]:
    """Where ``candidate`` lets a technician go further than ``reference`` (a trusted profile of the
    same model): clinical settings beyond its grids, and looser safety limits. Empty when none."""
    found: list[str] = []
    for waveform_limits in candidate.clinical.waveforms:
        waveform = waveform_limits.waveform
        label = WAVEFORM_NAMES[waveform].replace("_", " ")
        ref = reference.clinical.for_waveform(waveform)
        if ref is None:
            found.append(f"clinical {label} is allowed ({reference.name} does not allow it)")
            continue
        for attr, name, fmt in _SETTINGS:
            grid: Grid | None = getattr(waveform_limits, attr)
            ref_grid: Grid | None = getattr(ref, attr)
            if grid is None or ref_grid is None:
                continue
            if grid.max > ref_grid.max:
                found.append(f"clinical {label} {name} up to {fmt(grid.max)} ({reference.name}: {fmt(ref_grid.max)})")
            if grid.min < ref_grid.min:
                found.append(f"clinical {label} {name} from {fmt(grid.min)} ({reference.name}: {fmt(ref_grid.min)})")
    safety, ref_safety = candidate.safety, reference.safety
    for value, ref_value, text in (
        (safety.charge_per_phase_max_nc, ref_safety.charge_per_phase_max_nc, "charge per phase up to {}"),
        (safety.max_amplitude_step_ua, ref_safety.max_amplitude_step_ua, "amplitude steps up to {}"),
        (safety.ramp_rate_ua_per_s, ref_safety.ramp_rate_ua_per_s, "ramps at up to {}/s"),
    ):
        if value > ref_value:
            fmt = format_nc if "charge" in text else format_ua
            found.append(text.format(fmt(value)) + f" ({reference.name}: {fmt(ref_value)})")
    if safety.shannon_k > ref_safety.shannon_k:
        found.append(f"Shannon k = {safety.shannon_k:g} ({reference.name}: {ref_safety.shannon_k:g})")
    if safety.charge_density_warning_uc_per_cm2 > ref_safety.charge_density_warning_uc_per_cm2:
        found.append(f"charge-density warning at {safety.charge_density_warning_uc_per_cm2:g} uC/cm2 "
                     f"({reference.name}: {ref_safety.charge_density_warning_uc_per_cm2:g} uC/cm2)")  # fmt: skip
    return found

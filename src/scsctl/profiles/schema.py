"""The profile file format, and its validation: every problem found, each naming file, key and reason.

A profile is one TOML file named after the profile (``drg-4x4.toml`` holds ``name = "drg-4x4"``)::

    schema_version = 1
    name = "drg-4x4"                     # lowercase letters, digits and '-'; the file's name
    model_id = 0x5102                    # IDENTIFY's model_id this profile matches
    description = "..."
    notes = "..."                        # optional
    program_slots = 4
    patient_max_default_ua = 1000        # suggested patient maximum for new programs
    waveforms = ["tonic"]                # of "tonic", "burst", "high_frequency"
    recharge = ["active", "passive"]
    cycling = true                       # cycle_on_s / cycle_off_s may be non-zero

    [usb]            vid, pid
    [contacts]       leads, contacts_per_lead, area_mm2 (one number, or one per contact), area_source
    [hardware]       amplitude_ua, pulse_width_us, rate_dhz, cycle_on_s, cycle_off_s, ramp_up_ms,
                     ramp_down_ms as {min, max}; with burst also burst_pulses, intra_burst_rate_dhz;
                     contact_current_max_ua, total_current_max_ua, compliance_mv
    [high_frequency] pulse_width_us, rate_dhz (the fixed values; only with "high_frequency")
    [safety]         charge_per_phase_max_nc, max_amplitude_step_ua, ramp_rate_ua_per_s,
                     charge_density_warning_uc_per_cm2 (default 30), shannon_k (default 1.85)
    [impedance]      short_below_ohm, low_warning_below_ohm, high_warning_above_ohm,
                     open_above_ohm, required_before_start, max_age_s
    [[amplitude_increments]]  from_ua, fine_ua, coarse_ua (UI steps from that amplitude up)
    [tiers.engineering.<waveform>] and [tiers.clinical.<waveform>]:
                     amplitude_ua, pulse_width_us, rate_dhz as grids; burst adds burst_pulses and
                     intra_burst_rate_dhz; high_frequency has amplitude_ua only (the rest is fixed)

A grid is ``{min, max, step}`` or a list of them joined end to end, each with its own step::

    amplitude_ua = [{ min = 0, max = 2000, step = 25 }, { min = 2000, max = 6000, step = 50 }]

Rules checked on load, beyond keys and types: min <= max; a step divides its segment; segments
join; every amplitude grid starts at 0 (amplitude always starts at 0); each tier lies inside the
hardware ranges; every clinical value is also an engineering value; the engineering tier covers
every allowed waveform and the clinical tier no other; the patient maximum default is a clinical
amplitude; the largest amplitude step while stimulating is at least every amplitude grid's step (so
a ramp can always move); impedance bounds are ordered; UI increments start at 0 and ascend.

A profile may make the charge-density safety limits stricter, never looser: ``shannon_k`` is at
most 1.85 (tissue damage was seen at k >= 1.85, Shannon 1992) and the warning level at most
30 uC/cm2 (the widely used soft limit per phase). The cross checks (tiers against the hardware,
clinical against engineering, amplitude grids) run on every key that parsed, whatever else is
broken, so one run of ``scsctl profiles check`` lists every problem.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from firmware_protocol.constants import MAX_CONTACTS, Waveform

from ..errors import ProfileError, ProfileProblem
from .models import (
    RECHARGE_NAMES,
    WAVEFORM_NAMES,
    AmplitudeIncrement,
    ContactLayout,
    DeviceProfile,
    Grid,
    Hardware,
    HighFrequency,
    ImpedanceLimits,
    Range,
    SafetyLimits,
    Segment,
    Tier,
    TierName,
    UsbId,
    WaveformLimits,
)

__all__ = ["SCHEMA_VERSION", "content_sha256", "load_profile", "parse_profile", "parse_profile_text"]

SCHEMA_VERSION = 1
DEFAULT_CHARGE_DENSITY_WARNING_UC_PER_CM2 = 30.0
DEFAULT_SHANNON_K = 1.85
MAX_CHARGE_DENSITY_WARNING_UC_PER_CM2 = 30.0
"""The widely used soft limit per phase (DOMAIN.md): a profile may warn earlier, never later."""
MAX_SHANNON_K = 1.85
"""Tissue damage was seen at k >= 1.85 (Shannon 1992): a profile may be stricter, never looser."""

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_U8, _U16, _U32 = 0xFF, 0xFFFF, 0xFFFF_FFFF
_WAVEFORM_BY_NAME = {name: w for w, name in WAVEFORM_NAMES.items()}
_RECHARGE_BY_NAME = {name: r for r, name in RECHARGE_NAMES.items()}

# Wire width of each setting: a profile cannot allow what the protocol cannot carry.
_WIRE_MAX = {
    "amplitude_ua": _U16,
    "pulse_width_us": _U16,
    "rate_dhz": _U32,
    "burst_pulses": _U8,
    "intra_burst_rate_dhz": _U32,
    "cycle_on_s": _U16,
    "cycle_off_s": _U16,
    "ramp_up_ms": _U16,
    "ramp_down_ms": _U16,
}
_BURST_SETTINGS = ("burst_pulses", "intra_burst_rate_dhz")


def _type_name(value: object) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list",
            dict: "a table"}.get(type(value), type(value).__name__)  # fmt: skip


class _Collector:
    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[ProfileProblem] = []

    def add(self, key: str, reason: str) -> None:
        problem = ProfileProblem(self.file, key, reason)
        if problem not in self.problems:  # e.g. [high_frequency] checked once per tier
            self.problems.append(problem)


@dataclass(frozen=True, slots=True)
class _ParsedGrid:
    """One tier grid that parsed, kept for the cross checks even when the rest of the file did not."""

    tier: TierName
    waveform: Waveform
    setting: str
    grid: Grid
    key: str
    """Where a problem with it is reported (``high_frequency.*`` for the fixed values)."""


class _Table:
    """A TOML table being read: typed getters record problems instead of raising; ``done`` reports
    the keys nobody asked for."""

    def __init__(self, data: Mapping[str, Any], path: str, out: _Collector) -> None:
        self.data = data
        self.path = path
        self.out = out
        self.seen: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def has(self, name: str) -> bool:
        return name in self.data

    def _value(self, name: str, required: bool) -> tuple[bool, Any]:
        self.seen.add(name)
        if name not in self.data:
            if required:
                self.out.add(self.key(name), "missing key")
            return False, None
        return True, self.data[name]

    def integer(self, name: str, *, lo: int | None = 0, hi: int | None = None,
                required: bool = True) -> int | None:  # fmt: skip
        present, value = self._value(name, required)
        if not present:
            return None
        return _check_int(value, self.key(name), self.out, lo, hi)

    def number(self, name: str, *, default: float | None = None) -> float | None:
        present, value = self._value(name, default is None)
        if not present:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.out.add(self.key(name), f"expected a number, got {_type_name(value)}")
            return None
        if not math.isfinite(value) or value <= 0:
            self.out.add(self.key(name), f"must be a positive number, got {value}")
            return None
        return float(value)

    def string(self, name: str, *, required: bool = True) -> str | None:
        present, value = self._value(name, required)
        if not present:
            return None
        if not isinstance(value, str):
            self.out.add(self.key(name), f"expected a string, got {_type_name(value)}")
            return None
        return value

    def boolean(self, name: str) -> bool | None:
        present, value = self._value(name, True)
        if not present:
            return None
        if not isinstance(value, bool):
            self.out.add(self.key(name), f"expected true or false, got {_type_name(value)}")
            return None
        return value

    def raw(self, name: str, *, required: bool = True) -> Any:
        return self._value(name, required)[1]

    def table(self, name: str, *, required: bool = True) -> _Table | None:
        present, value = self._value(name, required)
        if not present:
            return None
        if not isinstance(value, dict):
            self.out.add(self.key(name), f"expected a table, got {_type_name(value)}")
            return None
        return _Table(value, self.key(name), self.out)

    def names(self, name: str, allowed: Mapping[str, Any]) -> list[str] | None:
        """A non-empty list of distinct names out of ``allowed``."""
        present, value = self._value(name, True)
        if not present:
            return None
        key = self.key(name)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.out.add(key, f"expected a list of names, got {_type_name(value)}")
            return None
        ok = True
        if not value:
            self.out.add(key, "must name at least one")
            ok = False
        for v in value:
            if v not in allowed:
                self.out.add(key, f"unknown name {v!r} (known: {', '.join(allowed)})")
                ok = False
        if len(set(value)) != len(value):
            self.out.add(key, "names a value twice")
            ok = False
        return value if ok else None

    def done(self, hint: Mapping[str, str] | None = None) -> None:
        for name in self.data:
            if name not in self.seen:
                extra = f" ({hint[name]})" if hint and name in hint else ""
                self.out.add(self.key(name), f"unknown key{extra}")


def _check_int(value: object, key: str, out: _Collector, lo: int | None, hi: int | None) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        out.add(key, f"expected an integer, got {_type_name(value)}")
        return None
    if lo is not None and value < lo:
        out.add(key, f"must be at least {lo}, got {value}")
        return None
    if hi is not None and value > hi:
        out.add(key, f"must be at most {hi}, got {value}")
        return None
    return value


def _range(parent: _Table, name: str, wire_max: int) -> Range | None:
    t = parent.table(name)
    if t is None:
        return None
    lo = t.integer("min", hi=wire_max)
    hi = t.integer("max", hi=wire_max)
    t.done()
    if lo is None or hi is None:
        return None
    if lo > hi:
        parent.out.add(t.key("min"), f"min {lo} is greater than max {hi}")
        return None
    return Range(lo, hi)


def _grid(parent: _Table, name: str, wire_max: int) -> Grid | None:
    present, value = parent._value(name, True)
    if not present:
        return None
    key = parent.key(name)
    out = parent.out
    if isinstance(value, dict):
        items: list[tuple[str, Any]] = [(key, value)]
    elif isinstance(value, list) and value:
        items = [(f"{key}[{i}]", v) for i, v in enumerate(value)]
    else:
        out.add(key, f"expected a table {{min, max, step}} or a list of them, got {_type_name(value)}")
        return None
    segments: list[Segment] = []
    ok = True
    for item_key, item in items:
        if not isinstance(item, dict):
            out.add(item_key, f"expected a table {{min, max, step}}, got {_type_name(item)}")
            ok = False
            continue
        t = _Table(item, item_key, out)
        lo = t.integer("min", hi=wire_max)
        hi = t.integer("max", hi=wire_max)
        step = t.integer("step", lo=1, hi=wire_max)
        t.done()
        if lo is None or hi is None or step is None:
            ok = False
            continue
        if lo > hi:
            out.add(t.key("min"), f"min {lo} is greater than max {hi}")
            ok = False
            continue
        if (hi - lo) % step:
            out.add(t.key("step"), f"step {step} does not divide the range {lo}..{hi} ({hi - lo})")
            ok = False
            continue
        if segments and lo != segments[-1].max:
            out.add(t.key("min"), f"segment starts at {lo} but the previous one ends at {segments[-1].max}")
            ok = False
            continue
        segments.append(Segment(lo, hi, step))
    return Grid(tuple(segments)) if ok and segments else None


def content_sha256(content: bytes) -> str:
    """A profile's identity: the SHA-256 of its file's bytes, in hex (what ``profiles show`` and
    every audit record of a session show)."""
    return hashlib.sha256(content).hexdigest()


def parse_profile_text(text: str, file: str) -> DeviceProfile:
    """Parse a profile from TOML text; ``file`` names it in errors. Its hash is the text's, as UTF-8."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        # The message ends "(at line L, column C)": the file and line a user needs.
        raise ProfileError(ProfileProblem(file, "", f"not valid TOML: {err}")) from None
    return parse_profile(data, file, sha256=content_sha256(text.encode("utf-8")))


def load_profile(path: str | Path) -> DeviceProfile:
    """Read and validate one profile file. Raises ``ProfileError`` listing every problem.

    The bytes are read once: the hash recorded for the profile is the hash of what was parsed.
    """
    path = Path(path)
    try:
        content = path.read_bytes()
        text = content.decode("utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ProfileError(ProfileProblem(str(path), "", f"cannot read the file: {err}")) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ProfileError(ProfileProblem(str(path), "", f"not valid TOML: {err}")) from None
    return parse_profile(data, str(path), sha256=content_sha256(content))


def parse_profile(data: Mapping[str, Any], file: str, *, sha256: str | None = None) -> DeviceProfile:
    """Validate a parsed TOML document; raises ``ProfileError`` with all the problems found.

    ``sha256``: the hash of the file the document was read from; without it (a document built in
    code), the hash of its canonical JSON form.
    """
    if sha256 is None:
        sha256 = content_sha256(json.dumps(data, sort_keys=True, default=str).encode("utf-8"))
    out = _Collector(file)
    top = _Table(data, "", out)
    version = top.integer("schema_version")
    if version is not None and version != SCHEMA_VERSION:
        out.add("schema_version", f"this scsctl reads schema version {SCHEMA_VERSION}, not {version}")
    name = top.string("name")
    if name is not None:
        stem = Path(file).stem
        if not _NAME_RE.match(name):
            out.add("name", f"{name!r}: use lowercase letters, digits and '-'")
        elif file.endswith(".toml") and stem != name:
            out.add("name", f"{name!r} does not match the file name {Path(file).name!r} (use {name}.toml)")
    model_id = top.integer("model_id", hi=_U16)
    description = top.string("description")
    notes = top.string("notes", required=False) or ""
    slots = top.integer("program_slots", lo=1, hi=_U8 - 1)
    patient_max_default = top.integer("patient_max_default_ua", hi=_U16)
    waveform_names = top.names("waveforms", _WAVEFORM_BY_NAME)
    recharge_names = top.names("recharge", _RECHARGE_BY_NAME)
    cycling = top.boolean("cycling")
    waveforms = tuple(_WAVEFORM_BY_NAME[n] for n in waveform_names) if waveform_names else None
    recharges = tuple(_RECHARGE_BY_NAME[n] for n in recharge_names) if recharge_names else None

    usb = _usb(top)
    contacts = _contacts(top)
    hardware, hardware_ranges = _hardware(top, waveforms)
    high_frequency = _high_frequency(top, waveforms)
    safety, max_step_ua = _safety(top)
    impedance = _impedance(top)
    increments = _increments(top)
    grids: list[_ParsedGrid] = []
    tiers = _tiers(top, waveforms, high_frequency, grids)
    top.done()

    # The cross checks take whatever parsed, so a type error elsewhere hides none of their problems.
    _check_tiers_against_hardware(out, hardware_ranges, grids)
    _check_clinical_within_engineering(out, grids)
    _check_amplitude_grids(out, grids, max_step_ua, patient_max_default)

    if (
        name is None or model_id is None or description is None or slots is None
        or patient_max_default is None or waveforms is None or recharges is None or cycling is None
        or usb is None or contacts is None or hardware is None or safety is None or impedance is None
        or increments is None or tiers is None
        or (Waveform.HIGH_FREQUENCY in waveforms and high_frequency is None)
        or out.problems
    ):  # fmt: skip
        raise ProfileError(out.problems or [ProfileProblem(file, "", "invalid profile")])
    engineering, clinical = tiers

    return DeviceProfile(
        name=name,
        model_id=model_id,
        description=description,
        source=file,
        sha256=sha256,
        program_slots=slots,
        patient_max_default_ua=patient_max_default,
        waveforms=waveforms,
        recharges=recharges,
        cycling=cycling,
        usb=usb,
        contacts=contacts,
        hardware=hardware,
        high_frequency=high_frequency,
        safety=safety,
        impedance=impedance,
        amplitude_increments=increments,
        engineering=engineering,
        clinical=clinical,
        notes=notes,
    )


def _usb(top: _Table) -> UsbId | None:
    t = top.table("usb")
    if t is None:
        return None
    vid = t.integer("vid", hi=_U16)
    pid = t.integer("pid", hi=_U16)
    t.done()
    return UsbId(vid, pid) if vid is not None and pid is not None else None


def _contacts(top: _Table) -> ContactLayout | None:
    t = top.table("contacts")
    if t is None:
        return None
    leads = t.integer("leads", lo=1, hi=MAX_CONTACTS)
    per_lead = t.integer("contacts_per_lead", lo=1, hi=MAX_CONTACTS)
    source = t.string("area_source")
    area = t.raw("area_mm2")
    t.done()
    if leads is None or per_lead is None or source is None or area is None:
        return None
    count = leads * per_lead
    if count > MAX_CONTACTS:
        t.out.add(t.key("leads"), f"{leads} x {per_lead} = {count} contacts; the protocol carries {MAX_CONTACTS}")
        return None
    values = area if isinstance(area, list) else [area]
    if isinstance(area, list) and len(area) != count:
        t.out.add(t.key("area_mm2"), f"lists {len(area)} areas for {count} contacts")
        return None
    areas: list[float] = []
    for i, v in enumerate(values):
        key = t.key("area_mm2") + (f"[{i}]" if isinstance(area, list) else "")
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v <= 0:
            t.out.add(key, f"expected a positive number of mm2, got {v!r}")
            return None
        areas.append(float(v))
    if not isinstance(area, list):
        areas = areas * count
    return ContactLayout(leads, per_lead, tuple(areas), source)


def _hardware(top: _Table, waveforms: tuple[Waveform, ...] | None) -> tuple[Hardware | None, dict[str, Range]]:
    """The hardware section, and the ranges that parsed (for the cross checks) even if it did not."""
    t = top.table("hardware")
    if t is None:
        return None, {}
    ranges = {n: _range(t, n, _WIRE_MAX[n]) for n in (
        "amplitude_ua", "pulse_width_us", "rate_dhz", "cycle_on_s", "cycle_off_s", "ramp_up_ms",
        "ramp_down_ms")}  # fmt: skip
    burst: dict[str, Range | None] = {n: None for n in _BURST_SETTINGS}
    has_burst = waveforms is not None and Waveform.BURST in waveforms
    for n in _BURST_SETTINGS:
        if has_burst:
            burst[n] = _range(t, n, _WIRE_MAX[n])
        elif waveforms is None:
            t.seen.add(n)  # cannot tell whether it belongs until "waveforms" is fixed
        elif t.has(n):
            t.seen.add(n)
            t.out.add(t.key(n), 'only allowed when waveforms include "burst"')
    contact_max = t.integer("contact_current_max_ua", lo=1, hi=_U16)
    total_max = t.integer("total_current_max_ua", lo=1, hi=_U16)
    compliance = t.integer("compliance_mv", lo=1, hi=_U32)
    t.done()
    parsed = {n: r for n, r in (*ranges.items(), *burst.items()) if r is not None}
    if any(r is None for r in ranges.values()) or contact_max is None or total_max is None or compliance is None:
        return None, parsed
    if has_burst and any(r is None for r in burst.values()):
        return None, parsed
    hardware = Hardware(
        amplitude_ua=_req(ranges["amplitude_ua"]),
        pulse_width_us=_req(ranges["pulse_width_us"]),
        rate_dhz=_req(ranges["rate_dhz"]),
        burst_pulses=burst["burst_pulses"],
        intra_burst_rate_dhz=burst["intra_burst_rate_dhz"],
        cycle_on_s=_req(ranges["cycle_on_s"]),
        cycle_off_s=_req(ranges["cycle_off_s"]),
        ramp_up_ms=_req(ranges["ramp_up_ms"]),
        ramp_down_ms=_req(ranges["ramp_down_ms"]),
        contact_current_max_ua=contact_max,
        total_current_max_ua=total_max,
        compliance_mv=compliance,
    )
    return hardware, parsed


def _req(value: Range | None) -> Range:
    assert value is not None  # callers return early on None
    return value


def _high_frequency(top: _Table, waveforms: tuple[Waveform, ...] | None) -> HighFrequency | None:
    wanted = waveforms is not None and Waveform.HIGH_FREQUENCY in waveforms
    if waveforms is None:
        top.seen.add("high_frequency")  # cannot tell whether it belongs until "waveforms" is fixed
        return None
    if not wanted:
        if top.has("high_frequency"):
            top.seen.add("high_frequency")
            top.out.add("high_frequency", 'only allowed when waveforms include "high_frequency"')
        return None
    t = top.table("high_frequency")
    if t is None:
        return None
    pw = t.integer("pulse_width_us", lo=1, hi=_U16)
    rate = t.integer("rate_dhz", lo=1, hi=_U32)
    t.done()
    return HighFrequency(pw, rate) if pw is not None and rate is not None else None


def _safety(top: _Table) -> tuple[SafetyLimits | None, int | None]:
    """The safety section, and ``max_amplitude_step_ua`` (for the cross checks) if it parsed."""
    t = top.table("safety")
    if t is None:
        return None, None
    charge = t.integer("charge_per_phase_max_nc", lo=1, hi=_U32)
    warning = t.number("charge_density_warning_uc_per_cm2", default=DEFAULT_CHARGE_DENSITY_WARNING_UC_PER_CM2)
    if warning is not None and warning > MAX_CHARGE_DENSITY_WARNING_UC_PER_CM2:
        t.out.add(t.key("charge_density_warning_uc_per_cm2"),
                  f"{warning:g} uC/cm2 is above {MAX_CHARGE_DENSITY_WARNING_UC_PER_CM2:g} uC/cm2, the widely used "
                  "soft limit of charge density per phase: a profile may warn earlier, never later")  # fmt: skip
        warning = None
    k = t.number("shannon_k", default=DEFAULT_SHANNON_K)
    if k is not None and k > MAX_SHANNON_K:
        t.out.add(t.key("shannon_k"),
                  f"{k:g} is above {MAX_SHANNON_K:g}: tissue damage was seen at k >= {MAX_SHANNON_K:g} "
                  "(Shannon 1992), so a profile may make the Shannon limit stricter, never looser")  # fmt: skip
        k = None
    step = t.integer("max_amplitude_step_ua", lo=1, hi=_U16)
    ramp = t.integer("ramp_rate_ua_per_s", lo=1, hi=_U32)
    t.done()
    if charge is None or warning is None or k is None or step is None or ramp is None:
        return None, step
    return SafetyLimits(charge, warning, k, step, ramp), step


def _impedance(top: _Table) -> ImpedanceLimits | None:
    t = top.table("impedance")
    if t is None:
        return None
    short = t.integer("short_below_ohm", hi=_U16)
    low = t.integer("low_warning_below_ohm", hi=_U16)
    high = t.integer("high_warning_above_ohm", hi=_U16)
    open_ = t.integer("open_above_ohm", hi=_U16)
    required = t.boolean("required_before_start")
    max_age = t.integer("max_age_s", lo=1)
    t.done()
    if short is None or low is None or high is None or open_ is None or required is None or max_age is None:
        return None
    if not short <= low <= high <= open_:
        t.out.add(t.key("short_below_ohm"),
                  f"bounds must be ordered short <= low warning <= high warning <= open, got "
                  f"{short} / {low} / {high} / {open_}")  # fmt: skip
        return None
    return ImpedanceLimits(short, low, high, open_, required, max_age)


def _increments(top: _Table) -> tuple[AmplitudeIncrement, ...] | None:
    present, value = top._value("amplitude_increments", True)
    if not present:
        return None
    if not isinstance(value, list) or not value:
        top.out.add("amplitude_increments", f"expected a list of tables, got {_type_name(value)}")
        return None
    result: list[AmplitudeIncrement] = []
    for i, item in enumerate(value):
        key = f"amplitude_increments[{i}]"
        if not isinstance(item, dict):
            top.out.add(key, f"expected a table, got {_type_name(item)}")
            return None
        t = _Table(item, key, top.out)
        start = t.integer("from_ua", hi=_U16)
        fine = t.integer("fine_ua", lo=1, hi=_U16)
        coarse = t.integer("coarse_ua", lo=1, hi=_U16)
        t.done()
        if start is None or fine is None or coarse is None:
            return None
        if i == 0 and start != 0:
            top.out.add(t.key("from_ua"), f"the first increment must start at 0, starts at {start}")
        if result and start <= result[-1].from_ua:
            top.out.add(t.key("from_ua"), f"{start} does not ascend (previous {result[-1].from_ua})")
        if coarse < fine:
            top.out.add(t.key("coarse_ua"), f"coarse {coarse} is smaller than fine {fine}")
        result.append(AmplitudeIncrement(start, fine, coarse))
    return tuple(result)


def _tiers(
    top: _Table, waveforms: tuple[Waveform, ...] | None, hf: HighFrequency | None, grids: list[_ParsedGrid]
) -> tuple[Tier, Tier] | None:
    """Both tiers; every grid that parsed is also added to ``grids``, even if its tier did not."""
    t = top.table("tiers")
    if t is None:
        return None
    built: dict[TierName, Tier] = {}
    for tier_name in TierName:
        tt = t.table(tier_name.value)
        if tt is None:
            continue
        limits: list[WaveformLimits] = []
        ok = True
        for wname in tt.data:
            if wname not in _WAVEFORM_BY_NAME:
                continue  # reported by done() below
            waveform = _WAVEFORM_BY_NAME[wname]
            if waveforms is not None and waveform not in waveforms:
                tt.seen.add(wname)
                tt.out.add(tt.key(wname), f"waveform {wname!r} is not in the profile's waveforms")
                ok = False
                continue
            wt = tt.table(wname)
            if wt is None:
                ok = False
                continue
            wl = _waveform_limits(wt, tier_name, waveform, hf, grids)
            if wl is None:
                ok = False
            else:
                limits.append(wl)
        tt.done()
        if waveforms is not None:
            present = {w.waveform for w in limits}
            if tier_name is TierName.ENGINEERING:
                for w in waveforms:
                    if w not in present and WAVEFORM_NAMES[w] not in tt.data:
                        tt.out.add(tt.key(WAVEFORM_NAMES[w]), "missing key (the engineering tier covers every "
                                   "allowed waveform)")  # fmt: skip
                        ok = False
            elif not limits and ok:
                tt.out.add(tt.path, "the clinical tier allows no waveform")
                ok = False
        if ok:
            order = {w: i for i, w in enumerate(waveforms or ())}
            limits.sort(key=lambda w: order.get(w.waveform, 99))
            built[tier_name] = Tier(tier_name, tuple(limits))
    t.done()
    if len(built) != 2:
        return None
    return built[TierName.ENGINEERING], built[TierName.CLINICAL]


def _waveform_limits(
    wt: _Table, tier: TierName, waveform: Waveform, hf: HighFrequency | None, grids: list[_ParsedGrid]
) -> WaveformLimits | None:
    def grid(setting: str) -> Grid | None:
        parsed = _grid(wt, setting, _WIRE_MAX[setting])
        if parsed is not None:
            grids.append(_ParsedGrid(tier, waveform, setting, parsed, wt.key(setting)))
        return parsed

    amplitude = grid("amplitude_ua")
    if waveform is Waveform.HIGH_FREQUENCY:
        fixed = "fixed by [high_frequency]"
        wt.done({"pulse_width_us": fixed, "rate_dhz": fixed})
        if hf is None:
            return None
        for setting, value in (("pulse_width_us", hf.pulse_width_us), ("rate_dhz", hf.rate_dhz)):
            grids.append(_ParsedGrid(tier, waveform, setting, Grid.fixed(value), f"high_frequency.{setting}"))
        if amplitude is None:
            return None
        return WaveformLimits(waveform, amplitude, Grid.fixed(hf.pulse_width_us), Grid.fixed(hf.rate_dhz))
    pulse_width = grid("pulse_width_us")
    rate = grid("rate_dhz")
    burst_pulses = intra = None
    if waveform is Waveform.BURST:
        burst_pulses = grid("burst_pulses")
        intra = grid("intra_burst_rate_dhz")
        if burst_pulses is None or intra is None:
            return None
    wt.done({n: "only for the burst waveform" for n in _BURST_SETTINGS})
    if amplitude is None or pulse_width is None or rate is None:
        return None
    return WaveformLimits(waveform, amplitude, pulse_width, rate, burst_pulses, intra)


def _check_tiers_against_hardware(out: _Collector, hardware: Mapping[str, Range], grids: Sequence[_ParsedGrid]) -> None:
    for g in grids:
        hw_range = hardware.get(g.setting)
        if hw_range is None:
            continue  # not parsed (reported), or not a hardware setting
        if g.grid.min < hw_range.min:
            out.add(g.key, f"{g.grid.min} is below the hardware minimum {hw_range.min} "
                    f"(hardware.{g.setting}): a tier cannot be wider than the hardware")  # fmt: skip
        if g.grid.max > hw_range.max:
            out.add(g.key, f"{g.grid.max} is above the hardware maximum {hw_range.max} "
                    f"(hardware.{g.setting}): a tier cannot be wider than the hardware")  # fmt: skip


def _check_clinical_within_engineering(out: _Collector, grids: Sequence[_ParsedGrid]) -> None:
    engineering = {(g.waveform, g.setting): g.grid for g in grids if g.tier is TierName.ENGINEERING}
    for g in grids:
        egrid = engineering.get((g.waveform, g.setting))
        if g.tier is not TierName.CLINICAL or egrid is None:
            continue  # a missing engineering grid is reported where it is missing
        cgrid = g.grid
        if cgrid.min < egrid.min or cgrid.max > egrid.max:
            out.add(g.key, f"{cgrid.min}..{cgrid.max} is wider than the engineering tier's "
                    f"{egrid.min}..{egrid.max}: the clinical tier cannot be wider")  # fmt: skip
            continue
        stray = next((v for v in cgrid.values() if v not in egrid), None)
        if stray is not None:
            out.add(g.key, f"{stray} is a clinical value but not an engineering one: the clinical grid "
                    f"must be part of the engineering grid")  # fmt: skip


def _check_amplitude_grids(
    out: _Collector, grids: Sequence[_ParsedGrid], max_step_ua: int | None, patient_max_default_ua: int | None
) -> None:
    amplitude_grids = [g for g in grids if g.setting == "amplitude_ua"]
    for g in amplitude_grids:
        if g.grid.min != 0:
            out.add(g.key, f"must start at 0 (amplitude always starts at 0), starts at {g.grid.min}")
        if max_step_ua is not None and g.grid.largest_step > max_step_ua:
            out.add("safety.max_amplitude_step_ua",
                    f"{max_step_ua} is smaller than the step {g.grid.largest_step} of {g.key}: "
                    "a ramp could not move")  # fmt: skip
    if patient_max_default_ua is None:
        return
    for g in amplitude_grids:
        if g.tier is TierName.CLINICAL and patient_max_default_ua not in g.grid:
            out.add("patient_max_default_ua",
                    f"{patient_max_default_ua} is not a clinical {WAVEFORM_NAMES[g.waveform]} amplitude "
                    f"(grid {g.grid.min}..{g.grid.max})")  # fmt: skip

"""Quantities written for people: ``format_ua(3500) == "3.5 mA"``.

Messages shown to a technician name values in the units a clinician programmer uses (mA, us, Hz,
uC), while the code keeps integers in the wire's units (uA, us, dHz, nC). The conversions here are
exact: an integer is printed with as many decimals as it needs and never rounded, so a message
cannot show two different settings as the same number. (Reading user strings such as "3.5mA" is
the CLI's job, not this module's.)
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = [
    "format_area_mm2",
    "format_charge_density",
    "format_dhz",
    "format_event_detail",
    "format_limit",
    "format_local_time",
    "format_ms",
    "format_mv",
    "format_nc",
    "format_nc_per_cm2",
    "format_ohm",
    "format_pct",
    "format_s",
    "format_ua",
    "format_ua_derived",
    "format_us",
]


def _decimal(value: int, scale: int, min_decimals: int = 0) -> str:
    """``value / scale`` written exactly (``scale`` a power of ten), at least ``min_decimals`` decimals."""
    sign = "-" if value < 0 else ""
    whole, frac = divmod(abs(value), scale)
    digits = len(str(scale)) - 1
    frac_text = str(frac).rjust(digits, "0").rstrip("0") if digits else ""
    if len(frac_text) < min_decimals:
        frac_text = frac_text.ljust(min_decimals, "0")
    return f"{sign}{whole}.{frac_text}" if frac_text else f"{sign}{whole}"


def format_ua(amplitude_ua: int) -> str:
    """A current in mA with at least one decimal: 3500 -> "3.5 mA", 7000 -> "7.0 mA", 25 -> "0.025 mA"."""
    return f"{_decimal(amplitude_ua, 1000, 1)} mA"


def format_ua_derived(amplitude_ua: float, decimals: int = 2) -> str:
    """A current worked out rather than set (where a limit is reached, a contact's share), in mA to
    ``decimals`` places: 8512.5 -> "8.51 mA". Settings are written with ``format_ua``."""
    return f"{amplitude_ua / 1000:.{decimals}f} mA"


def format_us(duration_us: int) -> str:
    """A pulse width: 300 -> "300 us"."""
    return f"{duration_us} us"


def format_ms(duration_ms: int) -> str:
    """A duration in ms below 10 s, in s above: 500 -> "500 ms", 12000 -> "12 s", 12500 -> "12.5 s"."""
    if abs(duration_ms) < 10_000:
        return f"{duration_ms} ms"
    return f"{_decimal(duration_ms, 1000)} s"


def format_s(duration_s: int | float) -> str:
    """A duration in seconds: 90 -> "90 s"; a measured (float) age is shown to 0.1 s."""
    if isinstance(duration_s, float) and not duration_s.is_integer():
        return f"{duration_s:.1f} s"
    return f"{int(duration_s)} s"


def format_dhz(rate_dhz: int) -> str:
    """A rate given in 0.1 Hz: 500 -> "50 Hz", 25 -> "2.5 Hz", 12000 -> "1.2 kHz", 100000 -> "10 kHz"."""
    if abs(rate_dhz) >= 10_000:
        return f"{_decimal(rate_dhz, 10_000)} kHz"
    return f"{_decimal(rate_dhz, 10)} Hz"


def format_nc(charge_nc: int | float) -> str:
    """A charge per phase: 3000 -> "3.0 uC", 150 -> "0.15 uC" (clinical texts use uC)."""
    if isinstance(charge_nc, float) and not charge_nc.is_integer():
        return f"{charge_nc / 1000:.3f} uC"
    return f"{_decimal(int(charge_nc), 1000, 1)} uC"


def format_charge_density(density_uc_per_cm2: float) -> str:
    """A charge density: 25.0 -> "25.0 uC/cm2" (one decimal; the value is derived, not a setting)."""
    return f"{density_uc_per_cm2:.1f} uC/cm2"


def format_mv(voltage_mv: int | float) -> str:
    """A voltage: 12000 -> "12.0 V", 6500 -> "6.5 V"."""
    if isinstance(voltage_mv, float) and not voltage_mv.is_integer():
        return f"{voltage_mv / 1000:.2f} V"
    return f"{_decimal(int(voltage_mv), 1000, 1)} V"


def format_ohm(impedance_ohm: int) -> str:
    """An impedance: 850 -> "850 ohm"."""
    return f"{impedance_ohm} ohm"


def format_pct(share_pct: int) -> str:
    return f"{share_pct} %"


def format_area_mm2(area_mm2: float) -> str:
    """A contact area: 12.0 -> "12 mm2", 12.25 -> "12.25 mm2"."""
    return f"{area_mm2:g} mm2"


def format_local_time(time_utc: str) -> str:
    """An ISO time (UTC) in local time with its offset: "2026-12-06 08:01:02 +01:00"; unreadable: as given."""
    from datetime import datetime

    try:
        moment = datetime.fromisoformat(time_utc)
    except ValueError:
        return time_utc
    local = moment.astimezone()
    return f"{local:%Y-%m-%d %H:%M:%S} {local.isoformat()[-6:]}"


def format_nc_per_cm2(density_nc_per_cm2: int) -> str:
    """A charge density limit given in nC/cm2, written exactly in uC/cm2: 30000 -> "30.0 uC/cm2"."""
    return f"{_decimal(density_nc_per_cm2, 1000, 1)} uC/cm2"


# --- wire fields in words ---------------------------------------------------------------------

_LIMIT_UNITS: dict[str, Callable[[int], str]] = {
    "SLOT": lambda v: f"slot {v}",
    "AMPLITUDE": format_ua,
    "PULSE_WIDTH": format_us,
    "RATE": format_dhz,
    "BURST_PULSES": lambda v: f"{v} pulse{'' if v == 1 else 's'}",
    "INTRA_BURST_RATE": format_dhz,
    "CYCLE_ON": format_s,
    "CYCLE_OFF": format_s,
    "RAMP_UP": format_ms,
    "RAMP_DOWN": format_ms,
    "PATIENT_MAX": format_ua,
    "CONTACT_COUNT": lambda v: f"{v} contact{'' if v == 1 else 's'}",
    "CONTACT_SHARE": format_pct,
    "CONTACT_CURRENT": format_ua,
    "TOTAL_CURRENT": format_ua,
    "CHARGE_PER_PHASE": format_nc,
    "CHARGE_DENSITY": format_nc_per_cm2,
    "COMPLIANCE": format_mv,
    "AMPLITUDE_STEP": format_ua,
    "WATCHDOG_TIMEOUT": format_ms,
    "PROTOCOL_VERSION": lambda v: f"version {v}",
    "EVENT_INDEX": lambda v: f"{v} entr{'y' if v == 1 else 'ies'}",
}
"""The unit of a NAK's ``limit`` for each param (PROTOCOL.md 8.2), by the param's name."""


def format_limit(param: str, limit: int) -> str:
    """A NAK's ``limit`` in the unit of its ``param`` (a ``Param`` name): ("AMPLITUDE", 6000) ->
    "6.0 mA", ("RATE", 12000) -> "1.2 kHz"; a param without a unit gives the bare number."""
    fmt = _LIMIT_UNITS.get(param)
    return fmt(limit) if fmt is not None else str(limit)


def format_event_detail(code: str, detail: int) -> str:
    """The ``detail`` of a device event-log entry in words, by its ``EventCode`` name (PROTOCOL.md 6)."""
    from firmware_protocol.constants import FaultCode, StateCause

    if code in ("PROGRAM_WRITTEN", "PROGRAM_SELECTED", "STIMULATION_STARTED"):
        return f"slot {detail}"
    if code in ("AMPLITUDE_COMMITTED", "TENTATIVE_REVERTED"):
        return format_ua(detail)
    if code == "WATCHDOG_EXPIRED":
        return f"timeout {format_ms(detail)}"
    if code in ("BATTERY_LOW", "END_OF_SERVICE"):
        return f"battery {format_mv(detail)}"
    if code == "STIMULATION_STOPPED":
        try:
            return "by " + StateCause(detail).name.lower().replace("_", " ")
        except ValueError:
            return f"cause {detail}"
    if code == "IMPEDANCE_MEASURED":
        return f"{detail} contact{'' if detail == 1 else 's'} open or short"
    if code == "FAULT":
        fault, contact = detail & 0xFF, detail >> 8
        try:
            name = FaultCode(fault).name.lower().replace("_", " ")
        except ValueError:
            name = f"fault {fault}"
        return name if contact == 0xFF else f"{name}, contact {contact + 1}"
    return "" if detail == 0 else str(detail)

"""The checks themselves: one program against one tier of one profile, and against the leads.

Each check either passes, raises ``SafetyRefusal`` naming parameter, value, limit, tier and profile
in words a technician understands, or (for the soft charge-density level) returns a
``GuardWarning``. Nothing here rounds or clamps a value: off-grid values are refused and the
message suggests the nearest valid settings.

Safety arithmetic (DOMAIN.md): per-contact current, charge, density and Shannon are computed in
``electrical`` (the one place, which displays use too); per contact i carrying its share:
    compliance:      I_i x Z_i / 1000 [mV] <= compliance_mv   (Z_i from the last impedance check)
Comparisons that can be done in integers are (scaled by 100, 100 000, ...), so a value exactly at
a limit passes exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from firmware_protocol.constants import ImpedanceStatus, Polarity, Recharge, Waveform
from firmware_protocol.messages import ContactSetting, Program

from ..errors import SafetyRefusal
from ..profiles.models import RECHARGE_NAMES, WAVEFORM_NAMES, DeviceProfile, Grid, Range, Tier, WaveformLimits
from ..units import (
    format_charge_density,
    format_dhz,
    format_ms,
    format_mv,
    format_nc,
    format_ohm,
    format_s,
    format_ua,
    format_ua_derived,
    format_us,
)
from .context import (
    WARNING_CHARGE_DENSITY,
    WARNING_PATIENT_MAX_CHARGE_DENSITY,
    GuardWarning,
    ImpedanceRecord,
)
from .electrical import active_contacts, charge_density_uc_per_cm2, charge_nc_x100k, current_ua_x100, shannon_sum

US_PER_S_DHZ = 10_000_000
"""A period in us is ``US_PER_S_DHZ / rate_dhz``."""


@dataclass(frozen=True, slots=True)
class Scope:
    """The profile and tier every check of one guard runs against; builds the refusals."""

    profile: DeviceProfile
    tier: Tier

    @property
    def tier_name(self) -> str:
        return self.tier.name.value

    def refuse(self, message: str, *, parameter: str, value: object, limit: object) -> SafetyRefusal:
        return SafetyRefusal(
            message + refusal_suffix(message, self.tier_name, self.profile.name),
            parameter=parameter,
            value=value,
            limit=limit,
            tier=self.tier_name,
            profile=self.profile.name,
        )


def refusal_suffix(message: str, tier: str, profile: str) -> str:
    """Every refusal ends naming the profile, and the tier unless the message already does."""
    return f" (profile {profile})" if f"{tier} tier" in message else f" ({tier} tier, profile {profile})"


def _pulses(n: int) -> str:
    return f"{n} pulses" if n != 1 else "1 pulse"


def _fraction_ua(numerator: int, denominator: int) -> str:
    """A current given as numerator/denominator uA, written exactly when it is whole."""
    if numerator % denominator == 0:
        return format_ua(numerator // denominator)
    return format_ua_derived(numerator / denominator, 3)


def waveform_label(waveform: Waveform) -> str:
    return WAVEFORM_NAMES[waveform].replace("_", " ")


# --- one setting against a grid and the hardware ------------------------------------------------


def check_setting(
    scope: Scope,
    value: int,
    grid: Grid,
    hardware: Range | None,
    *,
    parameter: str,
    what: str,
    fmt: Callable[[int], str],
) -> None:
    """``value`` must be a point of the tier's ``grid`` and inside the ``hardware`` range."""
    tier = scope.tier_name
    if grid.min == grid.max and value != grid.min:
        raise scope.refuse(
            f"{what} {fmt(value)} is not allowed: it is fixed at {fmt(grid.min)} in the {tier} tier",
            parameter=parameter, value=value, limit=grid.min,
        )  # fmt: skip
    if value < grid.min:
        raise scope.refuse(
            f"{what} {fmt(value)} is below the {tier} tier's minimum of {fmt(grid.min)}",
            parameter=parameter, value=value, limit=grid.min,
        )  # fmt: skip
    if value > grid.max:
        raise scope.refuse(
            f"{what} {fmt(value)} is above the {tier} tier's maximum of {fmt(grid.max)}",
            parameter=parameter, value=value, limit=grid.max,
        )  # fmt: skip
    if value not in grid:
        below, above = grid.floor(value), grid.ceil(value)
        near = " and ".join(fmt(v) for v in (below, above) if v is not None)
        step = grid.step_at(value)
        raise scope.refuse(
            f"{what} {fmt(value)} is not a setting of the {tier} tier: it goes in steps of {fmt(step)} here "
            f"(nearest settings: {near}); values are never rounded",
            parameter=parameter, value=value, limit=step,
        )  # fmt: skip
    if hardware is not None and value not in hardware:
        bound = hardware.min if value < hardware.min else hardware.max
        side = "minimum" if value < hardware.min else "maximum"
        raise scope.refuse(
            f"{what} {fmt(value)} is beyond the hardware {side} of {fmt(bound)}",
            parameter=parameter, value=value, limit=bound,
        )  # fmt: skip


def check_in_range(scope: Scope, value: int, hardware: Range, *, parameter: str, what: str,
                   fmt: Callable[[int], str]) -> None:  # fmt: skip
    if value not in hardware:
        bound = hardware.min if value < hardware.min else hardware.max
        side = "below the hardware minimum" if value < hardware.min else "above the hardware maximum"
        raise scope.refuse(f"{what} {fmt(value)} is {side} of {fmt(bound)}",
                           parameter=parameter, value=value, limit=bound)  # fmt: skip


def check_field(scope: Scope, waveform: Waveform, limits: WaveformLimits | None, key: str, value: int) -> None:
    """One numeric setting of a program (``key`` a ``Program`` field) on its own: on the tier's grid
    (``limits``, for ``waveform``; None: the tier has none, only the hardware range applies) and
    inside the hardware range.

    The one place that names each setting and its bounds: the program checks use it, and so does
    a display that steps a setting and must say why a step is refused.
    """
    hw = scope.profile.hardware
    label = waveform_label(waveform)
    burst = waveform is Waveform.BURST

    def tier_grid(name: str) -> Grid | None:
        grid: Grid | None = getattr(limits, name) if limits is not None else None
        return grid

    grids: dict[str, tuple[Grid | None, Range | None, str, Callable[[int], str]]] = {
        "amplitude_ua": (tier_grid("amplitude_ua"), hw.amplitude_ua, "amplitude", format_ua),
        "patient_max_ua": (tier_grid("amplitude_ua"), hw.amplitude_ua, "patient maximum", format_ua),
        "pulse_width_us": (tier_grid("pulse_width_us"), hw.pulse_width_us, f"{label} pulse width", format_us),
        "rate_dhz": (tier_grid("rate_dhz"), hw.rate_dhz, "burst rate" if burst else f"{label} rate", format_dhz),
        "burst_pulses": (tier_grid("burst_pulses"), hw.burst_pulses, "pulses per burst", _pulses),
        "intra_burst_rate_dhz": (tier_grid("intra_burst_rate_dhz"), hw.intra_burst_rate_dhz, "rate inside a burst",
                                 format_dhz),
        "ramp_up_ms": (None, hw.ramp_up_ms, "ramp-up", format_ms),
        "ramp_down_ms": (None, hw.ramp_down_ms, "ramp-down", format_ms),
        "cycle_on_s": (None, hw.cycle_on_s, "cycling on-time", format_s),
        "cycle_off_s": (None, hw.cycle_off_s, "cycling off-time", format_s),
    }  # fmt: skip
    if key not in grids:
        raise KeyError(f"{key!r} is not a numeric program setting")
    grid, hardware, what, fmt = grids[key]
    if grid is not None:
        check_setting(scope, value, grid, hardware, parameter=key, what=what, fmt=fmt)
    elif hardware is not None:
        check_in_range(scope, value, hardware, parameter=key, what=what, fmt=fmt)


# --- the program as a whole -------------------------------------------------------------------------


def waveform_limits(scope: Scope, program: Program) -> WaveformLimits:
    """The tier's limits for the program's waveform; refuses a waveform the tier does not offer."""
    try:
        waveform = Waveform(program.waveform)
    except ValueError:
        known = ", ".join(waveform_label(w) for w in Waveform)
        raise scope.refuse(f"waveform code {program.waveform!r} is not a waveform scsctl knows (known: {known})",
                           parameter="waveform", value=program.waveform, limit=None) from None  # fmt: skip
    offered = ", ".join(waveform_label(w) for w in scope.profile.waveforms)
    if waveform not in scope.profile.waveforms:
        raise scope.refuse(f"waveform {waveform_label(waveform)} is not offered by this model (it offers {offered})",
                           parameter="waveform", value=waveform_label(waveform), limit=offered)  # fmt: skip
    limits = scope.tier.for_waveform(waveform)
    if limits is None:
        allowed = ", ".join(waveform_label(w.waveform) for w in scope.tier.waveforms)
        raise scope.refuse(
            f"waveform {waveform_label(waveform)} is not allowed in the {scope.tier_name} tier (allowed: {allowed})",
            parameter="waveform", value=waveform_label(waveform), limit=allowed,
        )  # fmt: skip
    return limits


def check_slot(scope: Scope, slot: int) -> None:
    last = scope.profile.program_slots - 1
    if not 0 <= slot <= last:
        raise scope.refuse(f"program slot {slot} does not exist on this model (slots 0 to {last})",
                           parameter="slot", value=slot, limit=last)  # fmt: skip


def check_contacts(scope: Scope, contacts: tuple[ContactSetting, ...]) -> None:
    """At least one anode and one cathode, each polarity's shares summing to 100 %, all contacts listed."""
    count = scope.profile.contacts.count
    if len(contacts) != count:
        raise scope.refuse(f"the program lists {len(contacts)} contacts but this model has {count}",
                           parameter="contacts", value=len(contacts), limit=count)  # fmt: skip
    sums = {Polarity.ANODE: 0, Polarity.CATHODE: 0}
    for number, contact in enumerate(contacts, start=1):
        try:
            polarity = Polarity(contact.polarity)
        except ValueError:
            raise scope.refuse(f"contact {number} has an unknown polarity code {contact.polarity!r} "
                               "(known: off, anode, cathode)",
                               parameter="polarity", value=contact.polarity, limit=None) from None  # fmt: skip
        share = contact.share_pct
        if polarity is Polarity.OFF:
            if share != 0:
                raise scope.refuse(f"contact {number} is off but has a share of {share} % (must be 0 %)",
                                   parameter="share_pct", value=share, limit=0)  # fmt: skip
            continue
        if not 1 <= share <= 100:
            raise scope.refuse(
                f"contact {number} ({polarity.name.lower()}) has a share of {share} %: a share is 1 to 100 %",
                parameter="share_pct", value=share, limit=1 if share < 1 else 100,
            )  # fmt: skip
        sums[polarity] += share
    for polarity, label in ((Polarity.ANODE, "anode"), (Polarity.CATHODE, "cathode")):
        if sums[polarity] == 0:
            raise scope.refuse(f"the electrode configuration has no {label}: it needs at least one anode "
                               "and one cathode", parameter="contacts", value=0, limit=1)  # fmt: skip
    for polarity, label in ((Polarity.ANODE, "anodic"), (Polarity.CATHODE, "cathodic")):
        if sums[polarity] != 100:
            raise scope.refuse(f"the {label} shares add up to {sums[polarity]} %, not 100 %",
                               parameter="share_pct", value=sums[polarity], limit=100)  # fmt: skip


def check_timing(scope: Scope, program: Program, waveform: Waveform) -> None:
    """Each biphasic pulse fits its period; a burst's pulses fit the burst period."""
    pw, rate = program.pulse_width_us, program.rate_dhz
    if waveform is Waveform.BURST:
        intra = program.intra_burst_rate_dhz
        # Inside a burst: one phase per period with passive recharge (recharge after the burst),
        # both phases with active recharge.
        phases = 2 if program.recharge == Recharge.ACTIVE else 1
        if phases * pw * intra > US_PER_S_DHZ:
            raise scope.refuse(
                f"pulse width {format_us(pw)} does not fit the {format_us(US_PER_S_DHZ // intra)} between pulses "
                f"of a burst at {format_dhz(intra)}" + (" (active recharge needs two phases)" if phases == 2 else ""),
                parameter="pulse_width_us", value=pw, limit=US_PER_S_DHZ // (phases * intra),
            )  # fmt: skip
        # burst_pulses periods of the intra-burst rate must fit one period of the burst rate.
        if program.burst_pulses * rate > intra:
            raise scope.refuse(
                f"{_pulses(program.burst_pulses)} at {format_dhz(intra)} do not fit inside a burst period "
                f"at {format_dhz(rate)} (at most {_pulses(intra // rate)})",
                parameter="burst_pulses", value=program.burst_pulses, limit=intra // rate,
            )  # fmt: skip
        return
    # A charge-balanced pulse takes two phases' time (active) or at least as long (passive).
    if 2 * pw * rate > US_PER_S_DHZ:
        raise scope.refuse(
            f"pulse width {format_us(pw)} does not fit a biphasic pulse into the period of {format_dhz(rate)}",
            parameter="pulse_width_us", value=pw, limit=US_PER_S_DHZ // (2 * rate),
        )  # fmt: skip


def check_program_settings(scope: Scope, program: Program) -> WaveformLimits:
    """Every field of ``program`` against the tier and the hardware (not yet the electrical checks)."""
    profile = scope.profile
    check_slot(scope, program.slot)
    limits = waveform_limits(scope, program)
    waveform = limits.waveform
    try:
        recharge = Recharge(program.recharge)
    except ValueError:
        known = ", ".join(RECHARGE_NAMES[r] for r in Recharge)
        raise scope.refuse(f"recharge code {program.recharge!r} is not a recharge mode scsctl knows (known: {known})",
                           parameter="recharge", value=program.recharge, limit=None) from None  # fmt: skip
    if recharge not in profile.recharges:
        offered = ", ".join(RECHARGE_NAMES[r] for r in profile.recharges)
        raise scope.refuse(f"{RECHARGE_NAMES[recharge]} recharge is not offered by this model (it offers {offered})",
                           parameter="recharge", value=RECHARGE_NAMES[recharge], limit=offered)  # fmt: skip
    check_contacts(scope, program.contacts)
    label = waveform_label(waveform)
    for key in ("amplitude_ua", "pulse_width_us", "rate_dhz"):
        check_field(scope, waveform, limits, key, getattr(program, key))
    if waveform is Waveform.BURST:
        assert limits.burst_pulses is not None and limits.intra_burst_rate_dhz is not None  # schema
        check_field(scope, waveform, limits, "burst_pulses", program.burst_pulses)
        check_field(scope, waveform, limits, "intra_burst_rate_dhz", program.intra_burst_rate_dhz)
    else:
        if program.burst_pulses != 0:
            raise scope.refuse(f"the pulses per burst must be 0 for the {label} waveform, which has no bursts "
                               f"(got {_pulses(program.burst_pulses)})",
                               parameter="burst_pulses", value=program.burst_pulses, limit=0)  # fmt: skip
        if program.intra_burst_rate_dhz != 0:
            raise scope.refuse(f"the rate inside a burst must be {format_dhz(0)} for the {label} waveform, which has "
                               f"no bursts (got {format_dhz(program.intra_burst_rate_dhz)})",
                               parameter="intra_burst_rate_dhz", value=program.intra_burst_rate_dhz,
                               limit=0)  # fmt: skip
    check_timing(scope, program, waveform)
    for name, value in (("cycle_on_s", program.cycle_on_s), ("cycle_off_s", program.cycle_off_s)):
        what = "cycling on-time" if name == "cycle_on_s" else "cycling off-time"
        if not profile.cycling and value != 0:
            raise scope.refuse(f"{what} must be {format_s(0)}: this model does not cycle (got {format_s(value)})",
                               parameter=name, value=value, limit=0)  # fmt: skip
        check_field(scope, waveform, limits, name, value)
    check_field(scope, waveform, limits, "ramp_up_ms", program.ramp_up_ms)
    check_field(scope, waveform, limits, "ramp_down_ms", program.ramp_down_ms)
    # The patient's remote may set any amplitude up to patient_max_ua without the host, so it must
    # itself be a setting this tier allows.
    patient_max = program.patient_max_ua
    check_field(scope, waveform, limits, "patient_max_ua", patient_max)
    if program.amplitude_ua > patient_max:
        raise scope.refuse(
            f"amplitude {format_ua(program.amplitude_ua)} is above this program's patient maximum of "
            f"{format_ua(patient_max)}: raise the patient maximum in the program first",
            parameter="amplitude_ua", value=program.amplitude_ua, limit=patient_max,
        )  # fmt: skip
    return limits


# --- electrical checks, per contact -------------------------------------------------------------------


def _highest_amplitude(grid: Grid, start: int, passes: Callable[[int], bool]) -> int | None:
    """The largest grid amplitude <= start for which ``passes`` holds (a suggestion for messages)."""
    value = grid.floor(start)
    while value is not None and value > 0 and not passes(value):
        value = grid.floor(value - 1)
    return value


def check_electrical(
    scope: Scope,
    program: Program,
    amplitude_ua: int,
    grid: Grid,
    *,
    what: str = "amplitude",
    warning_id: str = WARNING_CHARGE_DENSITY,
) -> list[GuardWarning]:
    """Currents, charge, charge density and Shannon for every contact at ``amplitude_ua``.

    ``what`` names the amplitude in messages ("amplitude" or "patient maximum").
    """
    profile, hw, safety = scope.profile, scope.profile.hardware, scope.profile.safety
    pw = program.pulse_width_us
    amp_text = f"{what} {format_ua(amplitude_ua)}"
    if amplitude_ua > hw.total_current_max_ua:
        raise scope.refuse(f"{amp_text} is above the hardware's total current maximum of "
                           f"{format_ua(hw.total_current_max_ua)}", parameter="total_current_ua",
                           value=amplitude_ua, limit=hw.total_current_max_ua)  # fmt: skip
    over_warning: list[tuple[int, float]] = []
    for index, share in active_contacts(program.contacts):
        number = index + 1
        area = profile.contacts.areas_mm2[index]
        current = _fraction_ua(amplitude_ua * share, 100)
        if current_ua_x100(amplitude_ua, share) > hw.contact_current_max_ua * 100:
            raise scope.refuse(
                f"{amp_text} puts {current} on contact {number} ({share} %), above the per-contact maximum "
                f"of {format_ua(hw.contact_current_max_ua)}",
                parameter="contact_current_ua", value=amplitude_ua * share / 100, limit=hw.contact_current_max_ua,
            )  # fmt: skip
        if amplitude_ua == 0:
            continue
        charge_x100k = charge_nc_x100k(amplitude_ua, share, pw)
        if charge_x100k > safety.charge_per_phase_max_nc * 100_000:
            charge = charge_x100k / 100_000
            raise scope.refuse(
                f"{amp_text} at {format_us(pw)} gives {format_nc(charge)} per phase on contact {number}, above "
                f"the maximum of {format_nc(safety.charge_per_phase_max_nc)}",
                parameter="charge_per_phase_nc", value=charge, limit=safety.charge_per_phase_max_nc,
            )  # fmt: skip
        shannon = shannon_sum(amplitude_ua, share, pw, area)
        density = charge_density_uc_per_cm2(amplitude_ua, share, pw, area)
        if shannon > safety.shannon_k:
            best = _highest_amplitude(
                grid,
                amplitude_ua,
                lambda a: shannon_sum(a, share, pw, area) <= safety.shannon_k,  # noqa: B023
            )
            hint = f"; at {format_us(pw)} this contact allows at most {format_ua(best)}" if best else ""
            raise scope.refuse(
                f"{amp_text} at {format_us(pw)} breaks the Shannon limit on contact {number} ({area:g} mm2): "
                f"{format_nc(charge_x100k / 100_000)} per phase at {format_charge_density(density)} gives "
                f"log10(D) + log10(Q) = {shannon:.3f}, above k = {safety.shannon_k:g}{hint}",
                parameter="shannon_k", value=round(shannon, 3), limit=safety.shannon_k,
            )  # fmt: skip
        if density > safety.charge_density_warning_uc_per_cm2:
            over_warning.append((number, density))
    if not over_warning:
        return []
    contacts = ", ".join(f"contact {n} {format_charge_density(d)}" for n, d in over_warning)
    level = f"{safety.charge_density_warning_uc_per_cm2:g} uC/cm2"
    message = (f"{amp_text} at {format_us(pw)} gives a charge density above the warning level of {level} "
               f"({contacts}); still below the Shannon limit")  # fmt: skip
    if warning_id == WARNING_PATIENT_MAX_CHARGE_DENSITY:
        message += ": the patient's remote could reach it"
    return [GuardWarning(warning_id, "charge_density_uc_per_cm2", message)]


def minimum_ramp_up_ms(profile: DeviceProfile, amplitude_ua: int) -> int:
    """The shortest ramp-up a START to ``amplitude_ua`` may have (0 when one step may start it)."""
    safety = profile.safety
    if amplitude_ua <= safety.max_amplitude_step_ua:
        return 0
    return -(-amplitude_ua * 1000 // safety.ramp_rate_ua_per_s)


def check_ramp_up(scope: Scope, program: Program) -> None:
    """START ramps from 0 to the amplitude over ramp_up_ms: no faster than the profile's ramp rate."""
    safety = scope.profile.safety
    amplitude = program.amplitude_ua
    needed_ms = minimum_ramp_up_ms(scope.profile, amplitude)
    if program.ramp_up_ms < needed_ms:
        raise scope.refuse(
            f"starting at {format_ua(amplitude)} with a ramp-up of {format_ms(program.ramp_up_ms)} is a jump: "
            f"changes above {format_ua(safety.max_amplitude_step_ua)} must ramp at "
            f"{format_ua(safety.ramp_rate_ua_per_s)}/s at most, so the ramp-up must be at least "
            f"{format_ms(needed_ms)}: rewrite slot {program.slot} with that ramp-up (scsctl program ... --ramp), "
            "or with 0 mA and raise it live",
            parameter="ramp_up_ms", value=program.ramp_up_ms, limit=needed_ms,
        )  # fmt: skip


# --- leads: impedance, compliance, freshness -------------------------------------------------------------


def check_leads(
    scope: Scope,
    program: Program,
    amplitude_ua: int,
    record: ImpedanceRecord | None,
    *,
    require_measured: bool,
) -> list[str]:
    """Open or shorted active contacts, and compliance (contact current x impedance <= compliance).

    Returns notices (impedance warnings, what could not be checked). ``require_measured`` refuses
    instead of noting an active contact without a reading (START on a profile that requires a check).
    """
    limits = scope.profile.impedance
    active = list(active_contacts(program.contacts))
    if record is None:
        if require_measured:
            raise scope.refuse("no impedance check on record: run an impedance check before starting",
                               parameter="impedance_ohm", value=None, limit=None)  # fmt: skip
        return ["compliance not checked: no impedance measurement yet"] if active and amplitude_ua else []
    if len(record.readings) != scope.profile.contacts.count:
        raise scope.refuse(f"the impedance check lists {len(record.readings)} contacts but this model has "
                           f"{scope.profile.contacts.count}: measure again", parameter="impedance_ohm",
                           value=len(record.readings), limit=scope.profile.contacts.count)  # fmt: skip
    notices: list[str] = []
    for index, share in active:
        number = index + 1
        reading = record.readings[index]
        ohm = reading.impedance_ohm
        if reading.status == ImpedanceStatus.NOT_MEASURED:
            if require_measured:
                raise scope.refuse(f"contact {number} was not measured in the last impedance check: measure again",
                                   parameter="impedance_ohm", value=None, limit=None)  # fmt: skip
            notices.append(f"contact {number} was not measured: compliance not checked for it")
            continue
        if reading.status == ImpedanceStatus.OPEN or ohm > limits.open_above_ohm:
            raise scope.refuse(
                f"contact {number} reads an open circuit ({format_ohm(ohm)}, open above "
                f"{format_ohm(limits.open_above_ohm)}): it cannot carry current; check the lead",
                parameter="impedance_ohm", value=ohm, limit=limits.open_above_ohm,
            )  # fmt: skip
        if reading.status == ImpedanceStatus.SHORT or ohm < limits.short_below_ohm:
            raise scope.refuse(
                f"contact {number} reads a short circuit ({format_ohm(ohm)}, short below "
                f"{format_ohm(limits.short_below_ohm)}): its lead must not be used; check the lead",
                parameter="impedance_ohm", value=ohm, limit=limits.short_below_ohm,
            )  # fmt: skip
        if ohm > limits.high_warning_above_ohm:
            notices.append(f"contact {number} impedance {format_ohm(ohm)} is high "
                           f"(above {format_ohm(limits.high_warning_above_ohm)})")  # fmt: skip
        elif ohm < limits.low_warning_below_ohm:
            notices.append(f"contact {number} impedance {format_ohm(ohm)} is low "
                           f"(below {format_ohm(limits.low_warning_below_ohm)})")  # fmt: skip
        _check_compliance(scope, amplitude_ua, share, number, ohm)
    return notices


def _within_compliance(amplitude_ua: int, share_pct: int, impedance_ohm: int, compliance_mv: int) -> bool:
    # volts_mv x 100 000 = amplitude x share x ohm
    return amplitude_ua * share_pct * impedance_ohm <= compliance_mv * 100_000


def _check_compliance(scope: Scope, amplitude_ua: int, share: int, number: int, ohm: int, *,
                      what: str = "amplitude", hint: str = "") -> None:  # fmt: skip
    """One contact: its share of ``amplitude_ua`` through ``ohm`` within the compliance voltage."""
    compliance_mv = scope.profile.hardware.compliance_mv
    if not _within_compliance(amplitude_ua, share, ohm, compliance_mv):
        volts = amplitude_ua * share * ohm / 100_000
        raise scope.refuse(
            f"{what} {format_ua(amplitude_ua)} puts {_fraction_ua(amplitude_ua * share, 100)} through contact "
            f"{number} at {format_ohm(ohm)}: {format_mv(volts)} needed, above the compliance voltage of "
            f"{format_mv(compliance_mv)} (the output would not be what was asked){hint}",
            parameter="compliance_mv", value=volts, limit=compliance_mv,
        )  # fmt: skip


def check_patient_max_compliance(
    scope: Scope, program: Program, grid: Grid, record: ImpedanceRecord | None
) -> None:
    """The patient maximum within the compliance voltage at the last measured impedance.

    The patient's remote can raise the amplitude to the patient maximum without the host, so a
    patient maximum the output stage cannot drive through these leads is refused when the program
    is written or started, not later on the patient. Contacts without a usable reading (none
    measured, not measured, open or short) are left to ``check_leads``, which refuses or notes them.
    """
    if record is None or len(record.readings) != scope.profile.contacts.count:
        return
    compliance_mv = scope.profile.hardware.compliance_mv
    measured = [
        (index + 1, share, record.readings[index].impedance_ohm)
        for index, share in active_contacts(program.contacts)
        if record.readings[index].status in (ImpedanceStatus.OK, ImpedanceStatus.HIGH, ImpedanceStatus.LOW)
    ]
    for number, share, ohm in measured:
        if _within_compliance(program.patient_max_ua, share, ohm, compliance_mv):
            continue
        best = _highest_amplitude(
            grid,
            program.patient_max_ua,
            lambda a: all(_within_compliance(a, s, z, compliance_mv) for _, s, z in measured),
        )
        hint = (f"; the patient's remote could reach it: at these impedances the patient maximum can be at most "
                f"{format_ua(best)}, or measure the impedance again") if best else (
                "; the patient's remote could reach it")  # fmt: skip
        _check_compliance(scope, program.patient_max_ua, share, number, ohm, what="patient maximum", hint=hint)


def check_fresh_impedance(scope: Scope, record: ImpedanceRecord | None, now_s: float) -> None:
    """START on a profile that requires it: an impedance check no older than ``max_age_s``."""
    limits = scope.profile.impedance
    if not limits.required_before_start:
        return
    if record is None:
        raise scope.refuse(
            f"no impedance check on record: this model requires one within {format_s(limits.max_age_s)} "
            "before starting",
            parameter="impedance_age_s", value=None, limit=limits.max_age_s,
        )  # fmt: skip
    age_s = now_s - record.measured_at_s
    if age_s < 0:
        raise scope.refuse("the impedance check is dated in the future (clock mismatch): measure again",
                           parameter="impedance_age_s", value=age_s, limit=limits.max_age_s)  # fmt: skip
    if age_s > limits.max_age_s:
        raise scope.refuse(
            f"the last impedance check is {format_s(round(age_s, 1))} old; this model requires one within "
            f"{format_s(limits.max_age_s)} before starting: measure again",
            parameter="impedance_age_s", value=age_s, limit=limits.max_age_s,
        )  # fmt: skip

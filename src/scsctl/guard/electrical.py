"""The safety arithmetic, in one place: per-contact current, charge, charge density and Shannon,
and the amplitudes at which a program reaches each limit.

The guard's checks judge with these functions and every display (the TUI's charge panel, the
start dialog) shows what they compute; nothing above the guard does this arithmetic itself, so a
display cannot disagree with the guard about where a limit is (DOMAIN.md, "Safety arithmetic").

Per active contact i carrying ``share_pct`` of the amplitude:

::

    I_i [uA]       = amplitude_ua x share_pct / 100
    Q_i [nC]       = I_i x pulse_width_us / 1000                 (charge per phase)
    D_i [uC/cm2]   = (Q_i / 1000) / (area_mm2 / 100)             (charge density)
    Shannon:         log10(D_i) + log10(Q_i / 1000) <= k

The integer forms (``current_ua_x100``, ``charge_nc_x100k``) let a check compare exactly, so a
value exactly at a limit passes exactly; the float forms are for messages and displays.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum

from firmware_protocol.constants import Polarity
from firmware_protocol.messages import ContactSetting, Program

from ..profiles.models import DeviceProfile, SafetyLimits

__all__ = [
    "ChargeLevel",
    "ContactCharge",
    "ProgramLimits",
    "active_contacts",
    "charge_density_uc_per_cm2",
    "charge_level",
    "charge_nc_x100k",
    "contact_charges",
    "current_ua_x100",
    "program_limits",
    "shannon_sum",
    "worst_contact",
]


def active_contacts(contacts: tuple[ContactSetting, ...]) -> Iterator[tuple[int, int]]:
    """(0-based index, share_pct) of every contact carrying current."""
    for index, contact in enumerate(contacts):
        if contact.polarity != Polarity.OFF and contact.share_pct > 0:
            yield index, contact.share_pct


def current_ua_x100(amplitude_ua: int, share_pct: int) -> int:
    """A contact's current in uA, times 100 (exact: the share is a whole percent)."""
    return amplitude_ua * share_pct


def charge_nc_x100k(amplitude_ua: int, share_pct: int, pulse_width_us: int) -> int:
    """A contact's charge per phase in nC, times 100 000 (exact)."""
    return amplitude_ua * share_pct * pulse_width_us


def charge_density_uc_per_cm2(amplitude_ua: int, share_pct: int, pulse_width_us: int, area_mm2: float) -> float:
    """A contact's charge density per phase."""
    return charge_nc_x100k(amplitude_ua, share_pct, pulse_width_us) / 1e8 / (area_mm2 / 100)


def shannon_sum(amplitude_ua: int, share_pct: int, pulse_width_us: int, area_mm2: float) -> float:
    """log10(D) + log10(Q), D in uC/cm2 and Q in uC, as one log of an exact integer product.

    D x Q = Q_uC^2 / A_cm2 with Q_uC = N / 1e8 (N = amplitude x share x pulse width) and
    A_cm2 = area_mm2 / 100, so D x Q = N^2 / (1e14 x area_mm2). -inf at no current.
    """
    n = charge_nc_x100k(amplitude_ua, share_pct, pulse_width_us)
    if n <= 0:
        return -math.inf
    return 2 * math.log10(n) - 14 - math.log10(area_mm2)


@dataclass(frozen=True, slots=True)
class ContactCharge:
    """One active contact of a program at one amplitude."""

    number: int
    """Contact number, from 1."""
    share_pct: int
    current_ua: float
    charge_nc: float
    density_uc_per_cm2: float
    shannon: float
    """log10(D) + log10(Q); -inf at no current."""


class ChargeLevel(Enum):
    """Where a contact's charge stands against the profile's limits (the guard's comparisons)."""

    OK = "ok"
    ABOVE_WARNING = "above warning"
    """Above the charge-density warning level: allowed once acknowledged."""
    ABOVE_SHANNON = "ABOVE SHANNON"
    """Above the Shannon limit: refused."""


def charge_level(charge: ContactCharge, safety: SafetyLimits) -> ChargeLevel:
    """The comparisons ``checks.check_electrical`` makes, for a display that shows the level."""
    if charge.shannon > safety.shannon_k:
        return ChargeLevel.ABOVE_SHANNON
    if charge.density_uc_per_cm2 > safety.charge_density_warning_uc_per_cm2:
        return ChargeLevel.ABOVE_WARNING
    return ChargeLevel.OK


def contact_charges(program: Program, amplitude_ua: int, profile: DeviceProfile) -> list[ContactCharge]:
    """Every active contact of ``program`` at ``amplitude_ua``."""
    out = []
    pw = program.pulse_width_us
    for index, share in active_contacts(program.contacts):
        area = profile.contacts.areas_mm2[index]
        out.append(
            ContactCharge(
                number=index + 1,
                share_pct=share,
                current_ua=current_ua_x100(amplitude_ua, share) / 100,
                charge_nc=charge_nc_x100k(amplitude_ua, share, pw) / 100_000,
                density_uc_per_cm2=charge_density_uc_per_cm2(amplitude_ua, share, pw, area),
                shannon=shannon_sum(amplitude_ua, share, pw, area),
            )
        )
    return out


def worst_contact(charges: list[ContactCharge]) -> ContactCharge | None:
    """The contact nearest the limits (highest charge density; on equal areas the largest share)."""
    return max(charges, key=lambda c: (c.density_uc_per_cm2, c.share_pct), default=None)


@dataclass(frozen=True, slots=True)
class ProgramLimits:
    """Amplitudes (uA, not on any grid) at which a program reaches each limit on its worst contact."""

    contact: int
    """Contact number, from 1."""
    warning_ua: float
    """The charge-density warning level."""
    shannon_ua: float
    charge_ua: float
    """The maximum charge per phase."""
    contact_current_ua: float
    """The per-contact current maximum."""


def program_limits(program: Program, profile: DeviceProfile) -> ProgramLimits | None:
    """None when the program has no active contact or no pulse width."""
    pw = program.pulse_width_us
    safety, hw = profile.safety, profile.hardware
    best: ProgramLimits | None = None
    for index, share in active_contacts(program.contacts):
        if pw <= 0:
            return None
        area = profile.contacts.areas_mm2[index]
        # charge_density_uc_per_cm2(amp, ...) = warning level  ->  amp
        warning = safety.charge_density_warning_uc_per_cm2 * area / 100 * 1e8 / (share * pw)
        # shannon_sum(amp, ...) = 2 log10(amp x share x pw) - 14 - log10(area) = k  ->  amp
        shannon = 10 ** ((safety.shannon_k + 14 + math.log10(area)) / 2) / (share * pw)
        # charge_nc_x100k(amp, ...) = maximum x 100 000  ->  amp
        charge = safety.charge_per_phase_max_nc * 100_000 / (share * pw)
        # current_ua_x100(amp, share) = maximum x 100  ->  amp
        contact_current = hw.contact_current_max_ua * 100 / share
        limits = ProgramLimits(index + 1, warning, shannon, charge, contact_current)
        if best is None or min(limits.shannon_ua, limits.warning_ua) < min(best.shannon_ua, best.warning_ua):
            best = limits
    return best

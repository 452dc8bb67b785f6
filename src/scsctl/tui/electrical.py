"""Charge per phase and charge density per contact, as the guard computes them, for display.

Per active contact i carrying its share of the amplitude (DOMAIN.md, ``scsctl.guard.checks``):
``I_i = amplitude x share``, ``Q_i = I_i x pulse width``, ``D_i = Q_i / area``; Shannon:
``log10(D) + log10(Q) <= k``. Besides the values at an amplitude, this gives the amplitudes at
which the program reaches each limit, which is what a technician turning the amplitude up needs.
The guard stays the judge: this module only shows its arithmetic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from firmware_protocol.messages import Program

from ..guard.checks import active_contacts, charge_density_uc_per_cm2
from ..profiles import DeviceProfile

__all__ = ["ContactCharge", "ProgramLimits", "contact_charges", "program_limits", "worst_contact"]


@dataclass(frozen=True, slots=True)
class ContactCharge:
    number: int
    """Contact number, from 1."""
    share_pct: int
    current_ua: float
    charge_nc: float
    density_uc_per_cm2: float
    shannon: float
    """log10(D) + log10(Q); -inf at no current."""


def contact_charges(program: Program, amplitude_ua: int, profile: DeviceProfile) -> list[ContactCharge]:
    """Every active contact of ``program`` at ``amplitude_ua``."""
    out = []
    pw = program.pulse_width_us
    for index, share in active_contacts(program.contacts):
        area = profile.contacts.areas_mm2[index]
        current = amplitude_ua * share / 100
        charge_nc = current * pw / 1000
        density = charge_density_uc_per_cm2(amplitude_ua, share, pw, area)
        shannon = math.log10(density) + math.log10(charge_nc / 1000) if charge_nc > 0 else -math.inf
        out.append(ContactCharge(index + 1, share, current, charge_nc, density, shannon))
    return out


def worst_contact(charges: list[ContactCharge]) -> ContactCharge | None:
    """The contact nearest the limits (highest charge density; on equal areas the largest share)."""
    return max(charges, key=lambda c: (c.density_uc_per_cm2, c.share_pct), default=None)


@dataclass(frozen=True, slots=True)
class ProgramLimits:
    """Amplitudes (uA, not on any grid) at which ``program`` reaches each limit on its worst contact."""

    contact: int
    warning_ua: float
    shannon_ua: float
    charge_ua: float
    contact_current_ua: float


def program_limits(program: Program, profile: DeviceProfile) -> ProgramLimits | None:
    """None when the program has no active contact or no pulse width."""
    pw = program.pulse_width_us
    safety, hw = profile.safety, profile.hardware
    best: ProgramLimits | None = None
    for index, share in active_contacts(program.contacts):
        if pw <= 0:
            return None
        area = profile.contacts.areas_mm2[index]
        # D = amp x share x pw / 1e8 / (area / 100) = warning  ->  amp
        warning = safety.charge_density_warning_uc_per_cm2 * area / 100 * 1e8 / (share * pw)
        # 2 log10(amp x share x pw) - 14 - log10(area) = k  ->  amp
        shannon = 10 ** ((safety.shannon_k + 14 + math.log10(area)) / 2) / (share * pw)
        charge = safety.charge_per_phase_max_nc * 100_000 / (share * pw)
        contact_current = hw.contact_current_max_ua * 100 / share
        limits = ProgramLimits(index + 1, warning, shannon, charge, contact_current)
        if best is None or min(limits.shannon_ua, limits.warning_ua) < min(best.shannon_ua, best.warning_ua):
            best = limits
    return best

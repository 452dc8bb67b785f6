"""Charge per phase and charge density of a program, against the warning and the hard limits."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from firmware_protocol.messages import Program

from ...controller import ChargeLevel, charge_level, contact_charges, program_limits, worst_contact
from ...profiles import DeviceProfile
from ...units import format_charge_density, format_nc, format_ua, format_ua_derived
from . import show as set_text
from .bars import range_bar

__all__ = ["ChargePanel", "charge_line"]


def charge_line(program: Program, amplitude_ua: int, profile: DeviceProfile, label: str) -> Text:
    """``label``: charge per phase and density of the worst contact at ``amplitude_ua``; the bar runs
    from 0 to the amplitude at the Shannon limit, with the warning level marked ``┃``."""
    safety = profile.safety
    worst = worst_contact(contact_charges(program, amplitude_ua, profile))
    text = Text(f"{label:<22}", style="dim")
    if worst is None:
        return text.append("no active contact")
    text.append(
        f"{format_nc(round(worst.charge_nc))}/phase {format_charge_density(worst.density_uc_per_cm2)} ", style="bold"
    )
    limits = program_limits(program, profile)
    if limits is not None:
        level = charge_level(worst, safety)
        style = {ChargeLevel.ABOVE_SHANNON: "red", ChargeLevel.ABOVE_WARNING: "yellow", ChargeLevel.OK: "green"}[level]
        text.append_text(range_bar(amplitude_ua, 0, limits.shannon_ua, 16, mark=limits.warning_ua, style=style))
        text.append(f" {level.value}", style=f"bold {style}")
    text.append(f" (contact {worst.number})", style="dim")
    return text


class ChargePanel(Static):
    """The draft at its amplitude and at its patient maximum, and where it meets each limit."""

    def __init__(self, profile: DeviceProfile, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.profile = profile
        self.border_title = "Charge per phase and density (worst contact)"

    def show(self, program: Program) -> None:
        profile, safety = self.profile, self.profile.safety
        text = charge_line(program, program.amplitude_ua, profile, f"at {format_ua(program.amplitude_ua)}")
        text.append("\n")
        text.append_text(
            charge_line(program, program.patient_max_ua, profile, f"at patient max {format_ua(program.patient_max_ua)}")
        )
        text.append("\n")
        limits = program_limits(program, profile)
        if limits is None:
            text.append("limits: choose at least one anode and one cathode", style="dim")
        else:
            text.append("at this pulse width: ", style="dim")
            warning = safety.charge_density_warning_uc_per_cm2
            text.append(f"warning {warning:g} uC/cm2 at {format_ua_derived(limits.warning_ua)}", style="yellow")
            text.append(f"  Shannon (k {safety.shannon_k:g}) at {format_ua_derived(limits.shannon_ua)}", style="red")
            charge_max = format_nc(safety.charge_per_phase_max_nc)
            text.append(f"  charge max {charge_max} at {format_ua_derived(limits.charge_ua)}", style="red")
        set_text(self, text)

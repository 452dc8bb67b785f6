"""What a device profile holds, as typed, immutable values (built only by ``schema.parse_profile``).

A profile describes one device model: its contacts, what its hardware can do (``Hardware``), and,
for each tier of user, the settings that tier may ask for (``Tier``). Settings are *grids*: a value
is allowed only when it is one of the grid's points, e.g. the DRG amplitude grid is 0, 25, ...,
2000 uA in 25 uA steps and then 2050, ..., 6000 uA in 50 uA steps. Nothing here rounds: a value is
on the grid or it is not, and ``Grid.floor``/``Grid.ceil`` only *suggest* neighbours.

Every quantity is an integer in the unit its name ends with; the exceptions are the contact areas
(mm2) and the two safety constants (charge-density warning level and Shannon's k), which are
derived, not wire values.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from firmware_protocol.constants import Recharge, Waveform

__all__ = [
    "WAVEFORM_NAMES",
    "AmplitudeIncrement",
    "ContactLayout",
    "DeviceProfile",
    "Grid",
    "Hardware",
    "HighFrequency",
    "ImpedanceLimits",
    "Range",
    "SafetyLimits",
    "Segment",
    "Tier",
    "TierName",
    "UsbId",
    "WaveformLimits",
]

WAVEFORM_NAMES: dict[Waveform, str] = {
    Waveform.TONIC: "tonic",
    Waveform.BURST: "burst",
    Waveform.HIGH_FREQUENCY: "high_frequency",
}
"""The names profiles use for waveforms (TOML keys and lists)."""

RECHARGE_NAMES: dict[Recharge, str] = {Recharge.ACTIVE: "active", Recharge.PASSIVE: "passive"}


class TierName(StrEnum):
    """The two sets of limits a profile defines. Which one applies follows the user's role."""

    ENGINEERING = "engineering"
    CLINICAL = "clinical"


@dataclass(frozen=True, slots=True)
class Range:
    """A hardware range, both ends included."""

    min: int
    max: int

    def __contains__(self, value: object) -> bool:
        return isinstance(value, int) and self.min <= value <= self.max


@dataclass(frozen=True, slots=True)
class Segment:
    """``min, min + step, ..., max``; ``step`` divides ``max - min`` (checked on load)."""

    min: int
    max: int
    step: int

    def __contains__(self, value: object) -> bool:
        return isinstance(value, int) and self.min <= value <= self.max and (value - self.min) % self.step == 0


@dataclass(frozen=True, slots=True)
class Grid:
    """The allowed values of one setting: contiguous segments, each with its own step."""

    segments: tuple[Segment, ...]

    @classmethod
    def fixed(cls, value: int) -> Grid:
        return cls((Segment(value, value, 1),))

    @property
    def min(self) -> int:
        return self.segments[0].min

    @property
    def max(self) -> int:
        return self.segments[-1].max

    @property
    def largest_step(self) -> int:
        return max(s.step for s in self.segments) if self.max > self.min else 0

    def __contains__(self, value: object) -> bool:
        return any(value in s for s in self.segments)

    def step_at(self, value: int) -> int:
        """The step of the segment ``value`` falls in (the first one at a boundary)."""
        for s in self.segments:
            if s.min <= value <= s.max:
                return s.step
        return self.segments[0].step if value < self.min else self.segments[-1].step

    def floor(self, value: int) -> int | None:
        """The largest grid value <= ``value``, or None."""
        best: int | None = None
        for s in self.segments:
            if value < s.min:
                break
            top = min(value, s.max)
            best = s.min + (top - s.min) // s.step * s.step
        return best

    def ceil(self, value: int) -> int | None:
        """The smallest grid value >= ``value``, or None."""
        for s in self.segments:
            if value <= s.max:
                if value <= s.min:
                    return s.min
                return s.min + -(-(value - s.min) // s.step) * s.step
        return None

    def values(self) -> list[int]:
        """Every grid value in order (for validation and tests; grids are a few thousand points)."""
        out: list[int] = []
        for s in self.segments:
            for v in range(s.min, s.max + 1, s.step):
                if not out or v > out[-1]:
                    out.append(v)
        return out


@dataclass(frozen=True, slots=True)
class WaveformLimits:
    """One tier's grids for one waveform.

    For BURST, ``rate_dhz`` is how often bursts repeat and ``intra_burst_rate_dhz`` the pulse rate
    inside a burst (the wire's meaning). For HIGH_FREQUENCY, pulse width and rate are fixed grids
    holding the profile's one value.
    """

    waveform: Waveform
    amplitude_ua: Grid
    pulse_width_us: Grid
    rate_dhz: Grid
    burst_pulses: Grid | None = None
    intra_burst_rate_dhz: Grid | None = None


@dataclass(frozen=True, slots=True)
class Tier:
    name: TierName
    waveforms: tuple[WaveformLimits, ...]

    def for_waveform(self, waveform: Waveform) -> WaveformLimits | None:
        for w in self.waveforms:
            if w.waveform == waveform:
                return w
        return None


@dataclass(frozen=True, slots=True)
class ContactLayout:
    """Leads x contacts; ``areas_mm2[i]`` is the surface of contact number i + 1."""

    leads: int
    contacts_per_lead: int
    areas_mm2: tuple[float, ...]
    area_source: str

    @property
    def count(self) -> int:
        return self.leads * self.contacts_per_lead

    def lead_of(self, index: int) -> int:
        """Lead number (1-based) of the contact at 0-based ``index``."""
        return index // self.contacts_per_lead + 1


@dataclass(frozen=True, slots=True)
class Hardware:
    """What the output stage can do whatever the tier; every tier lies inside these ranges."""

    amplitude_ua: Range
    pulse_width_us: Range
    rate_dhz: Range
    burst_pulses: Range | None
    intra_burst_rate_dhz: Range | None
    cycle_on_s: Range
    cycle_off_s: Range
    ramp_up_ms: Range
    ramp_down_ms: Range
    contact_current_max_ua: int
    total_current_max_ua: int
    compliance_mv: int


@dataclass(frozen=True, slots=True)
class HighFrequency:
    """The fixed pulse width and rate of the high-frequency waveform."""

    pulse_width_us: int
    rate_dhz: int


@dataclass(frozen=True, slots=True)
class SafetyLimits:
    charge_per_phase_max_nc: int
    """Largest charge one contact may carry in one phase (its current x pulse width)."""
    charge_density_warning_uc_per_cm2: float
    """Soft level: above it the user must acknowledge a warning (30 uC/cm2 by default)."""
    shannon_k: float
    """Hard level: log10(D) + log10(Q) must stay <= k (1.85 by default; Shannon 1992)."""
    max_amplitude_step_ua: int
    """Largest single amplitude change while stimulating; larger changes become a ramp."""
    ramp_rate_ua_per_s: int
    """Speed of such ramps, and the slowest ramp-up a START may use."""


@dataclass(frozen=True, slots=True)
class ImpedanceLimits:
    """Bounds for a measured contact impedance, and whether START needs a recent measurement."""

    short_below_ohm: int
    low_warning_below_ohm: int
    high_warning_above_ohm: int
    open_above_ohm: int
    required_before_start: bool
    max_age_s: int


@dataclass(frozen=True, slots=True)
class AmplitudeIncrement:
    """UI steps from ``from_ua`` up to the next increment's ``from_ua``."""

    from_ua: int
    fine_ua: int
    coarse_ua: int


@dataclass(frozen=True, slots=True)
class UsbId:
    vid: int
    pid: int


@dataclass(frozen=True, slots=True)
class DeviceProfile:
    """One device model's profile, validated. ``source`` is the file it was read from and
    ``sha256`` the hash of that file's bytes: the profile's identity in the audit log (two files
    with the same name but other limits have different hashes)."""

    name: str
    model_id: int
    description: str
    source: str
    sha256: str
    program_slots: int
    patient_max_default_ua: int
    waveforms: tuple[Waveform, ...]
    recharges: tuple[Recharge, ...]
    cycling: bool
    usb: UsbId
    contacts: ContactLayout
    hardware: Hardware
    high_frequency: HighFrequency | None
    safety: SafetyLimits
    impedance: ImpedanceLimits
    amplitude_increments: tuple[AmplitudeIncrement, ...]
    engineering: Tier
    clinical: Tier
    notes: str = ""

    def tier(self, name: TierName) -> Tier:
        return self.engineering if name is TierName.ENGINEERING else self.clinical

    def increment_at(self, amplitude_ua: int) -> AmplitudeIncrement:
        """The UI increments that apply at ``amplitude_ua``."""
        current = self.amplitude_increments[0]
        for inc in self.amplitude_increments:
            if inc.from_ua <= amplitude_ua:
                current = inc
        return current

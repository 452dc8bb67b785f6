"""Firmware limit tables: what each emulated model's hardware can do, as its firmware enforces it.

These are the device's own limits, written as a firmware team would from its hardware, and kept
apart from the host's profiles on purpose: the host's guard and the device each check every
stimulation command (limits are enforced twice), so a host bug shows up as a device refusal in a
test instead of being hidden by shared numbers. Each table is a superset of what any host profile
of that model allows; ``tests/scsctl/emulator/test_limits_vs_profiles.py`` checks that.

The numbers are representative of the public manuals quoted in DOMAIN.md, never a vendor's
specification:

- ``tonic-burst-16``: amplitude up to 25.5 mA (the figure commonly quoted for tonic SCS), pulse
  width up to 1000 us, rate up to 1200 Hz; bursts of 2-16 pulses at 20-1200 Hz inside the burst,
  repeated at 1-200 Hz (the usual figure: 5 pulses at 500 Hz, 40 times a second); 12 mm2 contacts.
- ``drg-4x4``: the DRG trial stimulator manual's 0-6 mA, widened pulse width and rate ranges around
  its 40-720 us and 4-100 Hz; small DRG contacts.
- ``hf10k-16``: tonic paresthesia mode up to 1200 Hz plus a high-frequency mode at 1-10 kHz with
  short pulses (30 us in clinical use) and up to 15 mA.

The charge-density hard limit is Shannon's criterion at k = 2.00, above the k = 1.85 a host
profile uses by default: the device's stop sits beyond the clinical one, never inside it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from firmware_protocol.constants import Capability, Recharge, Waveform

US_PER_S_DHZ = 10_000_000
"""A pulse period in us is ``US_PER_S_DHZ / rate_dhz`` (1 s = 1e6 us, rate in 0.1 Hz)."""


@dataclass(frozen=True, slots=True)
class WaveformLimits:
    """Hardware ranges of one waveform. For BURST the rate is how often bursts repeat."""

    amplitude_max_ua: int
    pulse_width_min_us: int
    pulse_width_max_us: int
    rate_min_dhz: int
    rate_max_dhz: int


@dataclass(frozen=True, slots=True)
class BurstLimits:
    """Ranges of the burst fields: pulses per burst and the rate of the pulses inside a burst."""

    pulses_min: int
    pulses_max: int
    intra_burst_rate_min_dhz: int
    intra_burst_rate_max_dhz: int


@dataclass(frozen=True, slots=True)
class ImpedanceBands:
    """How a measured impedance is classified. Readings above ``open_above_ohm`` read as OPEN."""

    short_below_ohm: int = 150
    low_below_ohm: int = 300
    high_above_ohm: int = 2_500
    open_above_ohm: int = 8_000


@dataclass(frozen=True, slots=True)
class FirmwareModel:
    """One emulated device model: identity, capabilities and the firmware's hardware limits."""

    name: str
    model_id: int
    contact_count: int
    contacts_per_lead: int
    program_slots: int
    waveforms: Mapping[Waveform, WaveformLimits]
    burst: BurstLimits | None
    recharges: frozenset[Recharge]
    contact_current_max_ua: int
    """One contact's share of the amplitude (its current source's maximum)."""
    total_current_max_ua: int
    """The amplitude, i.e. the sum of the cathodic currents."""
    charge_per_phase_max_nc: int
    """One contact's charge per phase: contact current x pulse width."""
    contact_area_um2: int
    shannon_k_x100: int
    """Shannon's k, times 100: the charge-density hard limit at the contact area above."""
    amplitude_step_max_ua: int
    """Largest SET_AMPLITUDE change accepted while stimulating."""
    compliance_mv: int
    cycling: bool = True
    cycle_on_max_s: int = 10_800
    cycle_off_max_s: int = 10_800
    ramp_up_max_ms: int = 60_000
    ramp_down_max_ms: int = 60_000
    impedance: bool = True
    usage_log: bool = True
    tentative_amplitude: bool = True
    counters: bool = True
    """GET_COUNTERS is answered (the optional COUNTERS capability); False: UNKNOWN_COMMAND, as an older device."""
    requires_fresh_impedance: bool = False
    """START is refused (NOT_PERMITTED) until an impedance check passed since power-on/lead fault."""
    impedance_bands: ImpedanceBands = field(default_factory=ImpedanceBands)
    ramp_step_ms: int = 20
    """Ramps move the amplitude in steps this far apart (the output stage's update period)."""
    impedance_measure_ms: int = 150
    """How long MEASURE_IMPEDANCE takes (the reply must come within 500 ms)."""
    hardware_revision: int = 1
    firmware_version: tuple[int, int, int] = (1, 0, 0)
    protocol_versions: tuple[int, int] = (1, 1)

    @property
    def amplitude_max_ua(self) -> int:
        """The highest amplitude of any waveform."""
        return max(w.amplitude_max_ua for w in self.waveforms.values())

    @property
    def charge_density_max_nc_per_cm2(self) -> int:
        """Shannon: log10(D) + log10(Q) <= k, i.e. D_max = sqrt(10^k / A), D in uC/cm2, A in cm2."""
        area_cm2 = self.contact_area_um2 / 1e8
        return math.floor(1000 * math.sqrt(10 ** (self.shannon_k_x100 / 100) / area_cm2))

    @property
    def leads(self) -> int:
        return self.contact_count // self.contacts_per_lead

    @property
    def capabilities(self) -> Capability:
        caps = Capability.NONE
        for waveform, cap in (
            (Waveform.TONIC, Capability.TONIC),
            (Waveform.BURST, Capability.BURST),
            (Waveform.HIGH_FREQUENCY, Capability.HIGH_FREQUENCY),
        ):
            if waveform in self.waveforms:
                caps |= cap
        if Recharge.ACTIVE in self.recharges:
            caps |= Capability.ACTIVE_RECHARGE
        if Recharge.PASSIVE in self.recharges:
            caps |= Capability.PASSIVE_RECHARGE
        for flag, cap in (
            (self.cycling, Capability.CYCLING),
            (self.impedance, Capability.IMPEDANCE),
            (self.usage_log, Capability.USAGE_LOG),
            (self.tentative_amplitude, Capability.TENTATIVE_AMPLITUDE),
            (self.counters, Capability.COUNTERS),
        ):
            if flag:
                caps |= cap
        return caps


_TONIC_1200HZ = WaveformLimits(
    amplitude_max_ua=25_500, pulse_width_min_us=20, pulse_width_max_us=1_000, rate_min_dhz=10,
    rate_max_dhz=12_000,
)  # fmt: skip
_BOTH_RECHARGES = frozenset({Recharge.ACTIVE, Recharge.PASSIVE})

TONIC_BURST_16 = FirmwareModel(
    name="tonic-burst-16",
    model_id=0x5101,
    contact_count=16,
    contacts_per_lead=8,
    program_slots=4,
    waveforms=MappingProxyType(
        {
            Waveform.TONIC: _TONIC_1200HZ,
            Waveform.BURST: WaveformLimits(
                amplitude_max_ua=25_500,
                pulse_width_min_us=20,
                pulse_width_max_us=1_000,
                rate_min_dhz=10,
                rate_max_dhz=2_000,
            ),
        }
    ),
    burst=BurstLimits(pulses_min=2, pulses_max=16, intra_burst_rate_min_dhz=200, intra_burst_rate_max_dhz=12_000),
    recharges=_BOTH_RECHARGES,
    contact_current_max_ua=25_500,
    total_current_max_ua=25_500,
    charge_per_phase_max_nc=25_500,
    contact_area_um2=12_000_000,  # 1.3 mm diameter x 3 mm cylinder, about 12 mm2
    shannon_k_x100=200,
    amplitude_step_max_ua=2_000,
    compliance_mv=15_000,
)

DRG_4X4 = FirmwareModel(
    name="drg-4x4",
    model_id=0x5102,
    contact_count=16,
    contacts_per_lead=4,
    program_slots=4,
    waveforms=MappingProxyType(
        {
            Waveform.TONIC: WaveformLimits(
                amplitude_max_ua=6_000,
                pulse_width_min_us=20,
                pulse_width_max_us=1_000,
                rate_min_dhz=10,
                rate_max_dhz=2_000,
            ),
        }
    ),
    burst=None,
    recharges=_BOTH_RECHARGES,
    contact_current_max_ua=6_000,
    total_current_max_ua=6_000,
    charge_per_phase_max_nc=6_000,
    contact_area_um2=4_000_000,  # small DRG contacts, about 4 mm2 (no public figure)
    shannon_k_x100=200,
    amplitude_step_max_ua=1_000,
    compliance_mv=15_000,
    requires_fresh_impedance=True,  # a short disables a lead: check before every session
)

HF10K_16 = FirmwareModel(
    name="hf10k-16",
    model_id=0x5103,
    contact_count=16,
    contacts_per_lead=8,
    program_slots=4,
    waveforms=MappingProxyType(
        {
            Waveform.TONIC: _TONIC_1200HZ,
            Waveform.HIGH_FREQUENCY: WaveformLimits(
                amplitude_max_ua=15_000,
                pulse_width_min_us=20,
                pulse_width_max_us=40,
                rate_min_dhz=10_000,
                rate_max_dhz=100_000,
            ),
        }
    ),
    burst=None,
    recharges=_BOTH_RECHARGES,
    contact_current_max_ua=25_500,
    total_current_max_ua=25_500,
    charge_per_phase_max_nc=25_500,
    contact_area_um2=12_000_000,
    shannon_k_x100=200,
    amplitude_step_max_ua=2_000,
    compliance_mv=15_000,
)

MODELS: Mapping[str, FirmwareModel] = MappingProxyType({m.name: m for m in (TONIC_BURST_16, DRG_4X4, HF10K_16)})
"""Every emulated model, keyed by model name (the same names as the host's profiles)."""

DEFAULT_MODEL = TONIC_BURST_16
DEFAULT_MODEL_NAME = DEFAULT_MODEL.name
"""What ``emu://`` without a model, and ``scsctl emulator`` without ``--model``, emulate."""

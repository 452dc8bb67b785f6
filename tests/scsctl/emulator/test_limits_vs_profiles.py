"""Every shipped profile lies within the emulated firmware's limits for its model.

The one test that looks at both sides. The host's guard and the device's firmware keep their own
limits (limits are enforced twice); this checks that nothing a profile allows is beyond what the
device accepts, so a host that obeys its profile is never refused for a range it was told it had.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from firmware_protocol.constants import Waveform
from scsctl.emulator import MODELS, FirmwareModel
from scsctl.profiles import DeviceProfile, Grid, Range, load_profile, shipped_profile_dir

SHIPPED = shipped_profile_dir()
FILES = sorted(SHIPPED.glob("*.toml")) if SHIPPED else []


def test_every_model_has_a_profile_and_every_profile_a_model() -> None:
    assert {f.stem for f in FILES} == set(MODELS)


@pytest.fixture(params=FILES, ids=lambda f: f.stem)
def pair(request: pytest.FixtureRequest) -> tuple[DeviceProfile, FirmwareModel]:
    path: Path = request.param
    profile = load_profile(path)
    return profile, MODELS[profile.name]


def _within(what: str, inner: Range | Grid, low: int, high: int) -> None:
    assert low <= inner.min and inner.max <= high, f"{what}: profile {inner.min}..{inner.max}, device {low}..{high}"


def test_identity(pair: tuple[DeviceProfile, FirmwareModel]) -> None:
    profile, model = pair
    assert profile.model_id == model.model_id
    assert profile.contacts.count == model.contact_count
    assert profile.contacts.contacts_per_lead == model.contacts_per_lead
    assert profile.program_slots <= model.program_slots
    assert set(profile.waveforms) <= set(model.waveforms)
    assert set(profile.recharges) <= model.recharges
    assert model.cycling or not profile.cycling


def test_hardware_ranges(pair: tuple[DeviceProfile, FirmwareModel]) -> None:
    profile, model = pair
    hw = profile.hardware
    limits = list(model.waveforms.values())
    _within("amplitude_ua", hw.amplitude_ua, 0, model.amplitude_max_ua)
    _within("pulse_width_us", hw.pulse_width_us, min(w.pulse_width_min_us for w in limits),
            max(w.pulse_width_max_us for w in limits))  # fmt: skip
    _within("rate_dhz", hw.rate_dhz, min(w.rate_min_dhz for w in limits), max(w.rate_max_dhz for w in limits))
    if hw.burst_pulses is not None or hw.intra_burst_rate_dhz is not None:
        burst = model.burst
        assert burst is not None
        if hw.burst_pulses is not None:
            _within("burst_pulses", hw.burst_pulses, burst.pulses_min, burst.pulses_max)
        if hw.intra_burst_rate_dhz is not None:
            _within("intra_burst_rate_dhz", hw.intra_burst_rate_dhz, burst.intra_burst_rate_min_dhz,
                    burst.intra_burst_rate_max_dhz)  # fmt: skip
    cycle_max = (model.cycle_on_max_s, model.cycle_off_max_s) if model.cycling else (0, 0)
    _within("cycle_on_s", hw.cycle_on_s, 0, cycle_max[0])
    _within("cycle_off_s", hw.cycle_off_s, 0, cycle_max[1])
    _within("ramp_up_ms", hw.ramp_up_ms, 0, model.ramp_up_max_ms)
    _within("ramp_down_ms", hw.ramp_down_ms, 0, model.ramp_down_max_ms)
    assert hw.contact_current_max_ua <= model.contact_current_max_ua
    assert hw.total_current_max_ua <= model.total_current_max_ua
    assert hw.compliance_mv <= model.compliance_mv


def test_every_tier_fits_the_device_waveform_by_waveform(pair: tuple[DeviceProfile, FirmwareModel]) -> None:
    profile, model = pair
    for tier in (profile.engineering, profile.clinical):
        for wl in tier.waveforms:
            fw = model.waveforms[wl.waveform]
            where = f"{tier.name}.{wl.waveform.name.lower()}"
            _within(f"{where}.amplitude_ua", wl.amplitude_ua, 0, fw.amplitude_max_ua)
            _within(f"{where}.pulse_width_us", wl.pulse_width_us, fw.pulse_width_min_us, fw.pulse_width_max_us)
            _within(f"{where}.rate_dhz", wl.rate_dhz, fw.rate_min_dhz, fw.rate_max_dhz)
            if wl.waveform == Waveform.BURST:
                assert model.burst is not None and wl.burst_pulses and wl.intra_burst_rate_dhz
                _within(f"{where}.burst_pulses", wl.burst_pulses, model.burst.pulses_min, model.burst.pulses_max)
                _within(f"{where}.intra_burst_rate_dhz", wl.intra_burst_rate_dhz,
                        model.burst.intra_burst_rate_min_dhz, model.burst.intra_burst_rate_max_dhz)  # fmt: skip
    if profile.high_frequency is not None:
        fw = model.waveforms[Waveform.HIGH_FREQUENCY]
        assert fw.pulse_width_min_us <= profile.high_frequency.pulse_width_us <= fw.pulse_width_max_us
        assert fw.rate_min_dhz <= profile.high_frequency.rate_dhz <= fw.rate_max_dhz


def test_charge_limits(pair: tuple[DeviceProfile, FirmwareModel]) -> None:
    profile, model = pair
    safety = profile.safety
    assert safety.charge_per_phase_max_nc <= model.charge_per_phase_max_nc
    # The most charge per phase the host's Shannon limit lets one contact carry must not break the
    # device's own: sqrt(10^k x A) uC on each contact's area, against the device's D_max x area.
    device_max_nc = model.charge_density_max_nc_per_cm2 * model.contact_area_um2 / 1e8
    for i, area_mm2 in enumerate(profile.contacts.areas_mm2):
        host_max_nc = 1000 * math.sqrt(10**safety.shannon_k * area_mm2 / 100)
        assert host_max_nc <= device_max_nc, f"contact {i + 1}: {host_max_nc:.0f} nC > {device_max_nc:.0f} nC"


def test_live_changes_and_impedance(pair: tuple[DeviceProfile, FirmwareModel]) -> None:
    profile, model = pair
    assert profile.safety.max_amplitude_step_ua <= model.amplitude_step_max_ua
    if model.requires_fresh_impedance:
        assert profile.impedance.required_before_start
    bands = model.impedance_bands
    assert (bands.short_below_ohm, bands.open_above_ohm) == (
        profile.impedance.short_below_ohm, profile.impedance.open_above_ohm
    )  # fmt: skip

"""The firmware's own checks of a program and of a live amplitude, against its model's limits.

Order and NAK contents follow PROTOCOL.md section 10.3 (SET_PROGRAM steps 3-9, SET_AMPLITUDE steps
3-5): the first failing check is reported, as (param, contact index, limit in the param's unit).

Two checks go beyond the fields' own ranges because no hardware could deliver the pulse train
otherwise (they are reported with the param whose limit depends on the others, PROTOCOL.md 8.2):

- the pulse must fit its period: ``pulse_width_us x phases <= period``, two phases with active
  recharge, one with passive -> RATE (INTRA_BURST_RATE for the pulses of a burst), limit = the
  highest rate at that pulse width;
- a burst must fit in the burst period: ``burst_pulses x rate_dhz <= intra_burst_rate_dhz``
  (``rate_dhz`` is how often bursts repeat) -> BURST_PULSES, limit = the most pulses that fit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from firmware_protocol.constants import NO_INDEX, NakReason, Param, Polarity, Recharge, Waveform
from firmware_protocol.messages import ContactSetting, Program

from .models import US_PER_S_DHZ, FirmwareModel, WaveformLimits


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why the firmware refuses a command: the contents of its NAK."""

    reason: NakReason
    param: Param = Param.NONE
    index: int = NO_INDEX
    limit: int = 0


def out_of_range(param: Param, limit: int, index: int = NO_INDEX) -> Refusal:
    return Refusal(NakReason.OUT_OF_RANGE, param, index, limit)


_last_currents: tuple[int, tuple[ContactSetting, ...], tuple[int, ...]] | None = None
"""The last ``contact_currents_ua`` answer for a tuple of contacts: a command asks for the running
program's currents up to three times (its limits, the output it sets, the output stage's checks)."""


def contact_currents_ua(amplitude_ua: int, contacts: Sequence[ContactSetting]) -> tuple[int, ...]:
    """The current each contact carries (unsigned, uA; 0 for OFF contacts).

    Each polarity's contacts share the whole amplitude (P 7.4: the anodic sum equals the cathodic
    sum equals ``amplitude_ua``), so whole microamperes are handed out by largest remainder:
    every contact gets the floor of ``amplitude_ua x share_pct / 100``, then the microamperes left
    over go one each to the contacts with the largest remainders, the lower index first on a tie.
    Rounding each contact on its own would not add up: 25 uA at 50/50 would give 13 + 13.

    The answer for the same tuple object and amplitude is the last one: a tuple of frozen settings
    never changes, and the one kept is referenced here, so no other tuple can take its identity.
    """
    global _last_currents
    last = _last_currents
    if last is not None and last[1] is contacts and last[0] == amplitude_ua:
        return last[2]
    currents = _shared_out_ua(amplitude_ua, contacts)
    if type(contacts) is tuple:
        _last_currents = (amplitude_ua, contacts, currents)
    return currents


def _shared_out_ua(amplitude_ua: int, contacts: Sequence[ContactSetting]) -> tuple[int, ...]:
    """``contact_currents_ua`` worked out."""
    currents = [0] * len(contacts)
    for polarity in (Polarity.ANODE, Polarity.CATHODE):
        members = [i for i, c in enumerate(contacts) if c.polarity == polarity]
        shares = {i: amplitude_ua * contacts[i].share_pct for i in members}  # in uA/100
        for i in members:
            currents[i] = shares[i] // 100
        left_over = amplitude_ua - sum(currents[i] for i in members)
        # With shares summing to 100 (checked before any current is computed) 0 <= left_over <
        # len(members); the guard keeps a program that breaks that from getting extra current.
        if 0 < left_over < len(members):
            for i in sorted(members, key=lambda i: (-(shares[i] % 100), i))[:left_over]:
                currents[i] += 1
    return tuple(currents)


def waveform_limits(model: FirmwareModel, waveform: Waveform) -> WaveformLimits | None:
    return model.waveforms.get(waveform)


def amplitude_max_ua(model: FirmwareModel, waveform: Waveform) -> int:
    limits = model.waveforms.get(waveform)
    return limits.amplitude_max_ua if limits else model.amplitude_max_ua


def check_program(model: FirmwareModel, program: Program, measured_ohm: Sequence[int | None] | None) -> Refusal | None:
    """SET_PROGRAM steps 3-9 (the slot and state checks are the caller's)."""
    p = program
    wl = model.waveforms.get(p.waveform)
    amp_max = amplitude_max_ua(model, p.waveform)
    if p.amplitude_ua > amp_max:
        return out_of_range(Param.AMPLITUDE, amp_max)
    if wl is not None:
        if p.pulse_width_us < wl.pulse_width_min_us:
            return out_of_range(Param.PULSE_WIDTH, wl.pulse_width_min_us)
        if p.pulse_width_us > wl.pulse_width_max_us:
            return out_of_range(Param.PULSE_WIDTH, wl.pulse_width_max_us)
        if p.rate_dhz < wl.rate_min_dhz:
            return out_of_range(Param.RATE, wl.rate_min_dhz)
        rate_max = wl.rate_max_dhz
        if p.waveform != Waveform.BURST:  # a burst's pulses follow the intra-burst rate instead
            rate_max = min(rate_max, _rate_fitting_dhz(p.pulse_width_us, p.recharge))
        if p.rate_dhz > rate_max:
            return out_of_range(Param.RATE, rate_max)
    else:
        return out_of_range(Param.WAVEFORM, 0)
    refusal = _check_burst(model, p)
    if refusal:
        return refusal
    if p.recharge not in model.recharges:
        return out_of_range(Param.RECHARGE, 0)
    refusal = _check_cycling_and_ramps(model, p)
    if refusal:
        return refusal
    if p.patient_max_ua > amp_max:
        return out_of_range(Param.PATIENT_MAX, amp_max)
    if p.amplitude_ua > p.patient_max_ua:
        return out_of_range(Param.AMPLITUDE, p.patient_max_ua)
    refusal = _check_contacts(model, p.contacts)
    if refusal:
        return refusal
    return check_currents(model, p, p.amplitude_ua, measured_ohm)


def _rate_fitting_dhz(pulse_width_us: int, recharge: Recharge) -> int:
    phases = 2 if recharge == Recharge.ACTIVE else 1
    needed_us = max(1, pulse_width_us * phases)
    return US_PER_S_DHZ // needed_us


def _check_burst(model: FirmwareModel, p: Program) -> Refusal | None:
    if p.waveform != Waveform.BURST or model.burst is None:
        if p.burst_pulses != 0:
            return out_of_range(Param.BURST_PULSES, 0)
        if p.intra_burst_rate_dhz != 0:
            return out_of_range(Param.INTRA_BURST_RATE, 0)
        return None
    b = model.burst
    if p.burst_pulses < b.pulses_min:
        return out_of_range(Param.BURST_PULSES, b.pulses_min)
    if p.burst_pulses > b.pulses_max:
        return out_of_range(Param.BURST_PULSES, b.pulses_max)
    if p.intra_burst_rate_dhz < b.intra_burst_rate_min_dhz:
        return out_of_range(Param.INTRA_BURST_RATE, b.intra_burst_rate_min_dhz)
    intra_max = min(b.intra_burst_rate_max_dhz, _rate_fitting_dhz(p.pulse_width_us, p.recharge))
    if p.intra_burst_rate_dhz > intra_max:
        return out_of_range(Param.INTRA_BURST_RATE, intra_max)
    if p.burst_pulses * p.rate_dhz > p.intra_burst_rate_dhz:
        return out_of_range(Param.BURST_PULSES, p.intra_burst_rate_dhz // p.rate_dhz)
    return None


def _check_cycling_and_ramps(model: FirmwareModel, p: Program) -> Refusal | None:
    on_max = model.cycle_on_max_s if model.cycling else 0
    off_max = model.cycle_off_max_s if model.cycling else 0
    if p.cycle_on_s > on_max:
        return out_of_range(Param.CYCLE_ON, on_max)
    if p.cycle_off_s > off_max:
        return out_of_range(Param.CYCLE_OFF, off_max)
    if p.ramp_up_ms > model.ramp_up_max_ms:
        return out_of_range(Param.RAMP_UP, model.ramp_up_max_ms)
    if p.ramp_down_ms > model.ramp_down_max_ms:
        return out_of_range(Param.RAMP_DOWN, model.ramp_down_max_ms)
    return None


def _check_contacts(model: FirmwareModel, contacts: Sequence[ContactSetting]) -> Refusal | None:
    if len(contacts) != model.contact_count:
        return out_of_range(Param.CONTACT_COUNT, model.contact_count)
    sums = {Polarity.ANODE: 0, Polarity.CATHODE: 0}
    for i, c in enumerate(contacts):
        if c.polarity == Polarity.OFF:
            if c.share_pct != 0:
                return out_of_range(Param.CONTACT_SHARE, 0, i)
            continue
        if c.share_pct < 1:
            return out_of_range(Param.CONTACT_SHARE, 1, i)
        if c.share_pct > 100:
            return out_of_range(Param.CONTACT_SHARE, 100, i)
        sums[c.polarity] += c.share_pct
    if not sums[Polarity.ANODE] or not sums[Polarity.CATHODE]:
        return out_of_range(Param.CONTACT_POLARITY, 0)
    if sums[Polarity.ANODE] != 100 or sums[Polarity.CATHODE] != 100:
        return out_of_range(Param.CONTACT_SHARE, 100)
    return None


def check_currents(
    model: FirmwareModel, p: Program, amplitude_ua: int, measured_ohm: Sequence[int | None] | None
) -> Refusal | None:
    """Step 9: per-contact current, total current, charge, charge density, compliance."""
    currents = contact_currents_ua(amplitude_ua, p.contacts)
    for i, current in enumerate(currents):
        if current > model.contact_current_max_ua:
            return out_of_range(Param.CONTACT_CURRENT, model.contact_current_max_ua, i)
    if amplitude_ua > model.total_current_max_ua:
        return out_of_range(Param.TOTAL_CURRENT, model.total_current_max_ua)
    # The currents are the whole microamperes the output stage delivers; every comparison below is
    # of integer products (uA x us = pC), so nothing is rounded before it is compared.
    for i, current in enumerate(currents):
        if current * p.pulse_width_us > model.charge_per_phase_max_nc * 1000:
            return out_of_range(Param.CHARGE_PER_PHASE, model.charge_per_phase_max_nc, i)
    density_max = model.charge_density_max_nc_per_cm2
    for i, current in enumerate(currents):
        # D [nC/cm2] = I [uA] x PW [us] / 1000 / (A [um2] / 1e8)
        if current * p.pulse_width_us * 100_000 > density_max * model.contact_area_um2:
            return out_of_range(Param.CHARGE_DENSITY, density_max, i)
    if measured_ohm is not None:
        for i, current in enumerate(currents):
            ohm = measured_ohm[i] if i < len(measured_ohm) else None
            if ohm is not None and current * ohm > model.compliance_mv * 1000:
                return out_of_range(Param.COMPLIANCE, model.compliance_mv, i)
    return None


def check_live_amplitude(
    model: FirmwareModel,
    p: Program,
    amplitude_ua: int,
    setpoint_ua: int,
    measured_ohm: Sequence[int | None] | None,
) -> Refusal | None:
    """SET_AMPLITUDE steps 3-5 for the running program ``p``."""
    limit = min(amplitude_max_ua(model, p.waveform), p.patient_max_ua)
    if amplitude_ua > limit:
        return out_of_range(Param.AMPLITUDE, limit)
    if abs(amplitude_ua - setpoint_ua) > model.amplitude_step_max_ua:
        return out_of_range(Param.AMPLITUDE_STEP, model.amplitude_step_max_ua)
    return check_currents(model, p, amplitude_ua, measured_ohm)

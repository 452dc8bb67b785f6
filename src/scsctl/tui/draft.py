"""The program being edited on screen (a ``Program`` not yet written), and its local check.

The draft is an ordinary ``firmware_protocol.messages.Program``: editing makes a new one
(``dataclasses.replace``). Nothing here talks to the device. ``check_draft`` runs the device's own
guard (the same object the controller uses, with the profile and the role's tier) against the
UI's last read-back of the device, so an invalid program is marked, with the guard's words, before
anything is sent; the controller checks again when it is saved.

Electrode editing: adding a contact to a polarity, or taking one away, splits that polarity's
current equally again (34/33/33 for three; the shares are on screen); ``adjust_share`` changes one
share alone, so the sum may leave 100 % and the draft is marked invalid until it is 100 % again.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from firmware_protocol.constants import Polarity, Recharge, Waveform
from firmware_protocol.messages import ContactSetting, Program, SetProgram, Start

from ..controller import (
    WARNING_CHARGE_DENSITY,
    WARNING_PATIENT_MAX_CHARGE_DENSITY,
    DeviceContext,
    Guard,
)
from ..errors import AcknowledgementRequired, SafetyRefusal
from ..profiles import DeviceProfile, Tier

__all__ = [
    "CYCLE_ORDER",
    "DraftVerdict",
    "adjust_share",
    "balance",
    "change_waveform",
    "check_draft",
    "check_start",
    "cycle_polarity",
    "new_program",
    "set_polarity",
    "share_sums",
]

CYCLE_ORDER = (Polarity.OFF, Polarity.ANODE, Polarity.CATHODE)
"""A click (or space) on a contact goes off -> + -> - -> off."""

DEFAULT_PULSE_WIDTH_US = 300
DEFAULT_RATE_DHZ = 500
DEFAULT_RAMP_UP_MS = 2000
BURST_PRESET = {"burst_pulses": 5, "intra_burst_rate_dhz": 5000, "rate_dhz": 400}
"""Burst as usually described (DOMAIN.md): 5 pulses at 500 Hz, bursts at 40 Hz."""

_ALL_WARNINGS = frozenset({WARNING_CHARGE_DENSITY, WARNING_PATIENT_MAX_CHARGE_DENSITY})


def new_program(profile: DeviceProfile, slot: int = 0) -> Program:
    """A blank program: no contacts, amplitude 0, 300 us, 50 Hz, tonic, the profile's patient maximum."""
    return Program(
        slot=slot,
        amplitude_ua=0,
        pulse_width_us=DEFAULT_PULSE_WIDTH_US,
        rate_dhz=DEFAULT_RATE_DHZ,
        contacts=tuple(ContactSetting() for _ in range(profile.contacts.count)),
        recharge=profile.recharges[0] if profile.recharges else Recharge.ACTIVE,
        ramp_up_ms=DEFAULT_RAMP_UP_MS,
        patient_max_ua=profile.patient_max_default_ua,
    )


# --- electrodes ------------------------------------------------------------------------------------


def _even_shares(count: int) -> list[int]:
    return [100 // count + (1 if i < 100 % count else 0) for i in range(count)]


def balance(contacts: tuple[ContactSetting, ...], polarity: Polarity | None = None) -> tuple[ContactSetting, ...]:
    """Split each polarity's current (or only ``polarity``'s) equally among its contacts."""
    out = list(contacts)
    for pol in (Polarity.ANODE, Polarity.CATHODE):
        if polarity is not None and pol is not polarity:
            continue
        members = [i for i, c in enumerate(out) if c.polarity == pol]
        for i, share in zip(members, _even_shares(len(members)) if members else [], strict=True):
            out[i] = ContactSetting(pol, share)
    return tuple(out)


def set_polarity(contacts: tuple[ContactSetting, ...], index: int, polarity: Polarity) -> tuple[ContactSetting, ...]:
    """Contact ``index`` (0-based) becomes ``polarity``; the polarities it left and joined are re-split."""
    old = Polarity(contacts[index].polarity)
    if old is polarity:
        return contacts
    out = list(contacts)
    out[index] = ContactSetting(polarity, 0)
    result = tuple(out)
    for pol in {old, polarity} - {Polarity.OFF}:
        result = balance(result, pol)
    return result


def cycle_polarity(contacts: tuple[ContactSetting, ...], index: int) -> tuple[ContactSetting, ...]:
    now = CYCLE_ORDER.index(Polarity(contacts[index].polarity))
    return set_polarity(contacts, index, CYCLE_ORDER[(now + 1) % len(CYCLE_ORDER)])


def adjust_share(contacts: tuple[ContactSetting, ...], index: int, delta_pct: int) -> tuple[ContactSetting, ...]:
    """Change one active contact's share by ``delta_pct``, kept within 1..100 %; others unchanged."""
    contact = contacts[index]
    if contact.polarity == Polarity.OFF:
        return contacts
    share = min(100, max(1, contact.share_pct + delta_pct))
    out = list(contacts)
    out[index] = ContactSetting(contact.polarity, share)
    return tuple(out)


def share_sums(contacts: tuple[ContactSetting, ...]) -> tuple[int, int]:
    """(anodic sum, cathodic sum) in percent."""
    anode = sum(c.share_pct for c in contacts if c.polarity == Polarity.ANODE)
    cathode = sum(c.share_pct for c in contacts if c.polarity == Polarity.CATHODE)
    return anode, cathode


# --- waveform --------------------------------------------------------------------------------------


def change_waveform(program: Program, waveform: Waveform, profile: DeviceProfile) -> tuple[Program, str | None]:
    """The program with another waveform, and a note of every other value that had to change with it.

    Burst needs its burst fields (the usual burst is proposed when they are 0), tonic and
    high-frequency need them 0, high-frequency has a fixed pulse width and rate; leaving
    high-frequency goes back to 300 us / 50 Hz. Each such change is named in the note.
    """
    changes: dict[str, int] = {}
    if waveform is Waveform.BURST:
        if program.burst_pulses == 0 or program.intra_burst_rate_dhz == 0:
            changes.update(BURST_PRESET)
    else:
        if program.burst_pulses:
            changes["burst_pulses"] = 0
        if program.intra_burst_rate_dhz:
            changes["intra_burst_rate_dhz"] = 0
    if waveform is Waveform.HIGH_FREQUENCY and profile.high_frequency is not None:
        changes["pulse_width_us"] = profile.high_frequency.pulse_width_us
        changes["rate_dhz"] = profile.high_frequency.rate_dhz
    elif program.waveform == Waveform.HIGH_FREQUENCY:
        changes.setdefault("pulse_width_us", DEFAULT_PULSE_WIDTH_US)
        changes.setdefault("rate_dhz", DEFAULT_RATE_DHZ)
    changes = {k: v for k, v in changes.items() if getattr(program, k) != v}
    updated = dataclasses.replace(program, waveform=waveform, **changes)  # type: ignore[arg-type]
    if not changes:
        return updated, None
    from .params import PARAM_LABELS, format_param

    said = ", ".join(f"{PARAM_LABELS[k].lower()} {format_param(k, v)}" for k, v in changes.items())
    return updated, f"waveform {waveform.name.lower().replace('_', ' ')}: also set {said}"


# --- the local check -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DraftVerdict:
    """What the guard would say about saving the draft: a refusal, or warnings and notices."""

    problem: str | None = None
    parameter: str | None = None
    warnings: tuple[str, ...] = ()
    notices: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.problem is None


def check_draft(guard: Guard, program: Program, context: DeviceContext) -> DraftVerdict:
    """The guard's verdict on writing ``program``, without sending anything."""
    try:
        approved = guard.check(SetProgram(program), context, acknowledge=_ALL_WARNINGS)
    except SafetyRefusal as err:
        return DraftVerdict(str(err), err.parameter)
    return DraftVerdict(None, None, tuple(w.message for w in approved.warnings), approved.notices)


def check_start(guard: Guard, slot: int, context: DeviceContext) -> str | None:
    """Why START of ``slot`` would be refused now, or None (warnings are asked for at START)."""
    refusal = start_refusal(guard, slot, context)
    return str(refusal) if refusal is not None else None


def start_refusal(guard: Guard, slot: int, context: DeviceContext) -> SafetyRefusal | None:
    """The guard's refusal of START of ``slot`` now (with its parameter and limit), or None."""
    try:
        guard.check(Start(slot), context, acknowledge=_ALL_WARNINGS)
    except AcknowledgementRequired:
        return None
    except SafetyRefusal as err:
        return err
    return None


def ramp_fix(guard: Guard, program: Program, context: DeviceContext) -> int | None:
    """The ramp-up (ms) the guard asks for before ``program`` (stored, not running) may start, if its
    ramp-up is what stands in the way; None if it may start or something else stands in the way."""
    stopped = dataclasses.replace(
        context,
        stimulating=False,
        running_slot=None,
        programs={**context.programs, program.slot: program},
    )
    refusal = start_refusal(guard, program.slot, stopped)
    if refusal is not None and refusal.parameter == "ramp_up_ms" and isinstance(refusal.limit, int):
        return refusal.limit
    return None


def tier_waveforms(profile: DeviceProfile, tier: Tier) -> tuple[Waveform, ...]:
    """The waveforms both the model and the tier offer, in the profile's order."""
    offered = {w.waveform for w in tier.waveforms}
    return tuple(w for w in profile.waveforms if w in offered)


def program_changes(old: Program, new: Program) -> list[str]:
    """Each setting that differs, as ``name: old -> new`` in the units people read."""
    from ..parsing import format_electrodes
    from .params import PARAM_LABELS, format_param

    lines: list[str] = []
    if old.contacts != new.contacts:
        lines.append(f"  electrodes: {format_electrodes(old.contacts)} -> {format_electrodes(new.contacts)}")
    for field in dataclasses.fields(Program):
        key = field.name
        if key in ("slot", "contacts"):
            continue
        before, after = getattr(old, key), getattr(new, key)
        if before != after:
            label = PARAM_LABELS.get(key, key.replace("_", " "))
            try:
                lines.append(f"  {label}: {format_param(key, int(before))} -> {format_param(key, int(after))}")
            except KeyError:
                lines.append(f"  {label}: {before} -> {after}")
    return lines or ["  (nothing: the slot holds this program already)"]

"""Programs, contexts and refusal checks shared by the guard tests."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from typing import Any

import pytest

from firmware_protocol.constants import ImpedanceStatus, Polarity
from firmware_protocol.messages import ContactSetting, ImpedanceReading, Message, Program
from scsctl.errors import SafetyRefusal
from scsctl.guard import Approved, DeviceContext, Guard, ImpedanceRecord

NOW_S = 1000.0


def contacts(cathodes: dict[int, int], anodes: dict[int, int], count: int = 16) -> tuple[ContactSetting, ...]:
    """Contact settings from {contact number: share %} for cathodes and anodes; the rest off."""
    out = []
    for number in range(1, count + 1):
        if number in cathodes:
            out.append(ContactSetting(Polarity.CATHODE, cathodes[number]))
        elif number in anodes:
            out.append(ContactSetting(Polarity.ANODE, anodes[number]))
        else:
            out.append(ContactSetting())
    return tuple(out)


BIPOLAR = contacts({1: 100}, {2: 100})
SPLIT = contacts({1: 50, 3: 50}, {2: 50, 4: 50})


def program(**fields: Any) -> Program:
    """A clinical-tier tonic program at 0 mA on contacts 1 (-) and 2 (+), overridden by ``fields``."""
    base: dict[str, Any] = {
        "slot": 0, "amplitude_ua": 0, "pulse_width_us": 100, "rate_dhz": 500, "contacts": BIPOLAR,
        "patient_max_ua": 1000, "ramp_up_ms": 30_000,
    }  # fmt: skip
    base.update(fields)
    return Program(**base)


def impedance(ohm: int = 1000, *, at_s: float = NOW_S, **per_contact: int) -> ImpedanceRecord:
    """Every contact at ``ohm``; ``c3=9000`` sets contact 3."""
    readings = [ImpedanceReading(ohm, ImpedanceStatus.OK) for _ in range(16)]
    for key, value in per_contact.items():
        readings[int(key[1:]) - 1] = ImpedanceReading(value, ImpedanceStatus.OK)
    return ImpedanceRecord(tuple(readings), at_s)


def idle(*programs: Program, record: ImpedanceRecord | None = None, selected: int | None = None) -> DeviceContext:
    return DeviceContext(
        programs={p.slot: p for p in programs}, impedance=record or impedance(), now_s=NOW_S, selected_slot=selected
    )


def running(prog: Program, *, present_ua: int | None = None, record: ImpedanceRecord | None = None) -> DeviceContext:
    return DeviceContext(
        stimulating=True,
        running_slot=prog.slot,
        selected_slot=prog.slot,
        present_amplitude_ua=prog.amplitude_ua if present_ua is None else present_ua,
        programs={prog.slot: prog},
        impedance=record or impedance(),
        now_s=NOW_S,
    )


def held_like(prog: Program) -> Program:
    """What the slot already holds: the same configuration at 0 mA (so a non-zero amplitude may be written)."""
    return dataclasses.replace(prog, amplitude_ua=0)


def approve(guard: Guard, command: Message, context: DeviceContext, acknowledge: Collection[str] = ()) -> Approved:
    return guard.check(command, context, acknowledge=frozenset(acknowledge))


def refusal(
    guard: Guard,
    command: Message,
    context: DeviceContext,
    *,
    parameter: str,
    value: object,
    limit: object,
    acknowledge: Collection[str] = (),
) -> SafetyRefusal:
    """The refusal, after checking it names parameter, value, limit, tier and profile."""
    with pytest.raises(SafetyRefusal) as info:
        guard.check(command, context, acknowledge=frozenset(acknowledge))
    err = info.value
    assert (err.parameter, err.value, err.limit) == (parameter, value, limit), str(err)
    assert err.tier == guard.tier.name.value
    assert err.profile == guard.profile.name
    text = str(err)
    assert f"profile {guard.profile.name}" in text and f"{err.tier} tier" in text, text
    return err

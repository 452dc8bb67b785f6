"""Thousands of random commands: every message the guard approves is inside the active tier and the
hardware, re-checked here with DOMAIN.md's arithmetic straight from the profile files (not with the
guard's own helpers), and every refusal is a ``SafetyRefusal``."""

from __future__ import annotations

import math
import random
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_protocol.constants import NO_SLOT, AmplitudeFlags, ImpedanceStatus, Polarity, Recharge, Waveform
from firmware_protocol.messages import (
    ContactSetting,
    ImpedanceReading,
    Message,
    Program,
    SetAmplitude,
    SetProgram,
    Start,
    Stop,
)
from scsctl.errors import SafetyRefusal
from scsctl.guard import DeviceContext, Guard, ImpedanceRecord, Role
from scsctl.profiles import get_profile

PROFILE_DIR = Path(__file__).resolve().parents[3] / "device_profiles"
NAMES = ("tonic-burst-16", "drg-4x4", "hf10k-16")
RAW: dict[str, dict[str, Any]] = {
    name: tomllib.loads((PROFILE_DIR / f"{name}.toml").read_text(encoding="utf-8")) for name in NAMES
}
PROFILES = {name: get_profile(name, env={}) for name in NAMES}
WAVEFORM_KEYS = {Waveform.TONIC: "tonic", Waveform.BURST: "burst", Waveform.HIGH_FREQUENCY: "high_frequency"}
RECHARGE_KEYS = {Recharge.ACTIVE: "active", Recharge.PASSIVE: "passive"}
TIER_OF_ROLE = {Role.TECHNICIAN: "clinical", Role.ENGINEER: "engineering"}
EPS = 1e-9


# --- independent re-check, from the raw TOML ------------------------------------------------------------


def segments(spec: Any) -> list[dict[str, int]]:
    return spec if isinstance(spec, list) else [spec]


def on_grid(spec: Any, value: int) -> bool:
    return any(s["min"] <= value <= s["max"] and (value - s["min"]) % s["step"] == 0 for s in segments(spec))


def in_range(spec: dict[str, int], value: int) -> bool:
    return spec["min"] <= value <= spec["max"]


def assert_program_allowed(raw: dict[str, Any], tier: str, prog: Program, amplitude_ua: int,
                           impedance: ImpedanceRecord | None) -> None:  # fmt: skip
    hw = raw["hardware"]
    wname = WAVEFORM_KEYS[Waveform(prog.waveform)]
    assert wname in raw["waveforms"]
    spec = raw["tiers"][tier][wname]
    assert 0 <= prog.slot < raw["program_slots"]
    assert RECHARGE_KEYS[Recharge(prog.recharge)] in raw["recharge"]
    for amp in (amplitude_ua, prog.patient_max_ua):
        assert on_grid(spec["amplitude_ua"], amp) and in_range(hw["amplitude_ua"], amp)
    assert amplitude_ua <= prog.patient_max_ua
    if wname == "high_frequency":
        assert prog.pulse_width_us == raw["high_frequency"]["pulse_width_us"]
        assert prog.rate_dhz == raw["high_frequency"]["rate_dhz"]
    else:
        assert on_grid(spec["pulse_width_us"], prog.pulse_width_us)
        assert on_grid(spec["rate_dhz"], prog.rate_dhz)
    assert in_range(hw["pulse_width_us"], prog.pulse_width_us) and in_range(hw["rate_dhz"], prog.rate_dhz)
    if wname == "burst":
        assert on_grid(spec["burst_pulses"], prog.burst_pulses)
        assert on_grid(spec["intra_burst_rate_dhz"], prog.intra_burst_rate_dhz)
        assert in_range(hw["burst_pulses"], prog.burst_pulses)
        assert in_range(hw["intra_burst_rate_dhz"], prog.intra_burst_rate_dhz)
        # The burst's pulses fit its period: pulses / intra rate <= 1 / burst rate.
        assert prog.burst_pulses / prog.intra_burst_rate_dhz <= 1 / prog.rate_dhz + EPS
    else:
        assert prog.burst_pulses == 0 and prog.intra_burst_rate_dhz == 0
        # A biphasic pulse fits its period: 2 x pulse width <= 1 / rate.
        assert 2 * prog.pulse_width_us / 1e6 <= 1 / (prog.rate_dhz / 10) + EPS
    for name in ("cycle_on_s", "cycle_off_s", "ramp_up_ms", "ramp_down_ms"):
        assert in_range(hw[name], getattr(prog, name))
    if not raw["cycling"]:
        assert prog.cycle_on_s == 0 and prog.cycle_off_s == 0
    # Electrode configuration.
    count = raw["contacts"]["leads"] * raw["contacts"]["contacts_per_lead"]
    assert len(prog.contacts) == count
    anodes = [c.share_pct for c in prog.contacts if c.polarity == Polarity.ANODE]
    cathodes = [c.share_pct for c in prog.contacts if c.polarity == Polarity.CATHODE]
    assert sum(anodes) == 100 and sum(cathodes) == 100 and all(s > 0 for s in anodes + cathodes)
    assert all(c.share_pct == 0 for c in prog.contacts if c.polarity == Polarity.OFF)
    # Electrical, per contact, at the amplitude and at the patient maximum (DOMAIN.md).
    area = raw["contacts"]["area_mm2"]
    safety = raw["safety"]
    for amp in (amplitude_ua, prog.patient_max_ua):
        assert amp <= hw["total_current_max_ua"]
        for index, c in enumerate(prog.contacts):
            if c.polarity == Polarity.OFF:
                continue
            current_ma = amp / 1000 * c.share_pct / 100
            assert current_ma * 1000 <= hw["contact_current_max_ua"] + EPS
            q_uc = current_ma * prog.pulse_width_us / 1000
            assert q_uc * 1000 <= safety["charge_per_phase_max_nc"] + EPS
            if q_uc > 0:
                density = q_uc / (area / 100)
                assert math.log10(density) + math.log10(q_uc) <= safety["shannon_k"] + EPS
            if impedance is not None and amp == amplitude_ua:
                ohm = impedance.readings[index].impedance_ohm
                assert raw["impedance"]["short_below_ohm"] <= ohm <= raw["impedance"]["open_above_ohm"]
                assert current_ma * ohm <= hw["compliance_mv"] + EPS  # mA x ohm = mV


# --- random commands --------------------------------------------------------------------------------------
# Hypothesis picks profile, role and a seed; the scenario is built from ``random.Random(seed)``, which
# is far cheaper than nested composite strategies, so thousands of commands run in seconds (a
# failure names its seed). Values are mostly settings of the profile's grids (so many commands are
# approved) and sometimes anything at all (negative, off-grid, far out of range, the other tier's).


def grid_values(spec: Any) -> list[int]:
    return sorted({v for s in segments(spec) for v in range(s["min"], s["max"] + 1, s["step"])})


GRIDS: dict[tuple[str, str, str], dict[str, list[int]]] = {
    (name, tier, wname): {key: grid_values(value) for key, value in spec.items()}
    for name, raw in RAW.items()
    for tier, waveforms in raw["tiers"].items()
    for wname, spec in waveforms.items()
}
CONTACT_COUNT = 16
WILD_HIGH = {"amplitude_ua": 70_000, "pulse_width_us": 2000, "rate_dhz": 200_000, "burst_pulses": 40,
             "intra_burst_rate_dhz": 50_000}  # fmt: skip


def pick(rng: random.Random, values: list[int], key: str) -> int:
    if rng.random() < 0.85:
        return rng.choice(values)
    return rng.randint(-100, WILD_HIGH[key])


def contact_set(rng: random.Random) -> tuple[ContactSetting, ...]:
    if rng.random() < 0.1:
        return tuple(ContactSetting(rng.choice(list(Polarity)), rng.randint(0, 120))
                     for _ in range(rng.randint(CONTACT_COUNT - 1, CONTACT_COUNT + 1)))  # fmt: skip
    first, second, third = rng.sample(range(CONTACT_COUNT), 3)
    settings_ = [ContactSetting()] * CONTACT_COUNT
    if rng.random() < 0.6:
        settings_[first] = ContactSetting(Polarity.CATHODE, 100)
        settings_[second] = ContactSetting(Polarity.ANODE, 100)
    else:
        share = rng.randint(1, 99)
        settings_[first] = ContactSetting(Polarity.CATHODE, share)
        settings_[second] = ContactSetting(Polarity.CATHODE, 100 - share if rng.random() < 0.95 else 100 - share + 1)
        settings_[third] = ContactSetting(Polarity.ANODE, 100)
    return tuple(settings_)


def random_program(rng: random.Random, name: str, tier: str, slot: int | None = None,
                   contacts: tuple[ContactSetting, ...] | None = None) -> Program:  # fmt: skip
    raw = RAW[name]
    if rng.random() < 0.2:  # now and then a program of the other tier
        tier = "engineering" if tier == "clinical" else "clinical"
    wname = rng.choice(sorted(raw["tiers"][tier]))
    grids = GRIDS[(name, tier, wname)]
    waveform = {v: k for k, v in WAVEFORM_KEYS.items()}[wname]
    if rng.random() < 0.05:
        waveform = rng.choice(list(Waveform))
    amplitude = 0 if rng.random() < 0.3 else pick(rng, grids["amplitude_ua"], "amplitude_ua")
    if wname == "high_frequency":
        hf = raw["high_frequency"]
        pw = hf["pulse_width_us"] if rng.random() < 0.9 else rng.randint(0, 100)
        rate = hf["rate_dhz"] if rng.random() < 0.9 else rng.randint(0, 200_000)
    else:
        pw = pick(rng, grids["pulse_width_us"][: max(1, len(grids["pulse_width_us"]) // 2)], "pulse_width_us")
        rate = pick(rng, grids["rate_dhz"], "rate_dhz")
    burst = wname == "burst"
    unusual = rng.random() < 0.1
    burst_pulses = 0
    if burst:
        burst_pulses = pick(rng, grids["burst_pulses"], "burst_pulses")
    elif unusual:
        burst_pulses = rng.randint(1, 5)  # not allowed outside BURST
    patient_max = amplitude if rng.random() < 0.3 else max(amplitude, pick(rng, grids["amplitude_ua"], "amplitude_ua"))
    return Program(
        slot=rng.randint(-1, raw["program_slots"]) if slot is None else slot,
        amplitude_ua=amplitude,
        pulse_width_us=pw,
        rate_dhz=rate,
        contacts=contacts if contacts is not None else contact_set(rng),
        waveform=waveform,
        burst_pulses=burst_pulses,
        intra_burst_rate_dhz=pick(rng, grids["intra_burst_rate_dhz"], "intra_burst_rate_dhz") if burst else 0,
        recharge=rng.choice(list(Recharge)),
        cycle_on_s=rng.choice([0, 10, 20_000]) if unusual else 0,
        cycle_off_s=rng.choice([0, 10, 20_000]) if unusual else 0,
        ramp_up_ms=rng.choice([0, 1000, 70_000]) if unusual else 60_000,
        ramp_down_ms=rng.choice([1000, 70_000]) if unusual else 0,
        patient_max_ua=patient_max if rng.random() < 0.95 else rng.randint(-100, 70_000),
    )


def random_scenario(rng: random.Random, name: str, role: Role) -> tuple[DeviceContext, list[Message]]:
    tier = TIER_OF_ROLE[role]
    raw = RAW[name]
    slots = raw["program_slots"]
    held = {s: random_program(rng, name, tier, slot=s) for s in rng.sample(range(slots), rng.randint(1, slots))}
    running = rng.choice(sorted(held)) if rng.random() < 0.5 else None
    present = held[running].amplitude_ua if running is not None else 0
    if running is not None and rng.random() < 0.2:
        present = rng.randint(0, 20_000)
    record = None
    if rng.random() < 0.85:
        ohms = rng.choices([1000, 800, 2000, 100, 150, 3000, 8000, 9000, 0xFFFF],
                           weights=[30, 10, 10, 1, 1, 2, 1, 1, 1], k=CONTACT_COUNT)  # fmt: skip
        readings = tuple(ImpedanceReading(o, ImpedanceStatus.OK) for o in ohms)
        record = ImpedanceRecord(readings, measured_at_s=rng.choice([0.0, 900.0, 999.0, 1000.0]))
    context = DeviceContext(
        stimulating=running is not None,
        running_slot=running,
        selected_slot=rng.choice([None, rng.choice(sorted(held)), rng.randint(0, slots - 1)]),
        present_amplitude_ua=present,
        programs=held,
        impedance=record,
        now_s=1000.0,
    )
    commands: list[Message] = []
    for _ in range(rng.randint(1, 6)):
        if running is not None:
            kind = rng.choice(["program", "same-config", "amplitude", "amplitude", "amplitude", "start", "stop"])
        else:
            kind = rng.choice(["program", "same-config", "start", "start", "start", "amplitude", "stop"])
        if kind == "program":
            commands.append(SetProgram(random_program(rng, name, tier)))
        elif kind == "same-config":
            slot = rng.choice(sorted(held))
            commands.append(SetProgram(random_program(rng, name, tier, slot=slot, contacts=held[slot].contacts)))
        elif kind == "amplitude":
            flags = rng.choice([AmplitudeFlags.NONE, AmplitudeFlags.COMMIT])
            ceiling = max(held[running].patient_max_ua, 0) if running is not None else 5000
            grid = GRIDS.get((name, tier, WAVEFORM_KEYS.get(Waveform(held[running].waveform), "")
                              if running is not None else "tonic"), {})  # fmt: skip
            choices = [v for v in grid.get("amplitude_ua", []) if v <= ceiling]
            target = rng.choice(choices) if choices and rng.random() < 0.85 else rng.randint(-50, 30_000)
            commands.append(SetAmplitude(target, flags))
        elif kind == "start":
            commands.append(Start(rng.choice([NO_SLOT, *sorted(held), *range(slots + 1)])))
        else:
            commands.append(Stop())
    return context, commands


def check_approved(name: str, role: Role, context: DeviceContext, command: Message, sent: tuple[Message, ...]) -> None:
    raw, tier = RAW[name], TIER_OF_ROLE[role]
    if isinstance(command, Stop):
        assert sent == (command,)
    elif isinstance(command, SetProgram):
        assert sent == (command,)
        prog = command.program
        assert not (context.stimulating and context.running_slot == prog.slot)
        held = context.programs.get(prog.slot)
        assert prog.amplitude_ua == 0 or (held is not None and held.contacts == prog.contacts)
        assert_program_allowed(raw, tier, prog, prog.amplitude_ua, context.impedance)
    elif isinstance(command, Start):
        assert sent == (command,) and not context.stimulating
        slot = context.selected_slot if command.slot == NO_SLOT else command.slot
        assert slot is not None
        prog = context.programs[slot]
        assert_program_allowed(raw, tier, prog, prog.amplitude_ua, context.impedance)
        if raw["impedance"]["required_before_start"]:
            assert context.impedance is not None
            assert 0 <= context.now_s - context.impedance.measured_at_s <= raw["impedance"]["max_age_s"]
    elif isinstance(command, SetAmplitude):
        assert context.stimulating and context.running_slot is not None
        prog = context.programs[context.running_slot]
        previous = context.present_amplitude_ua
        for message in sent:
            assert isinstance(message, SetAmplitude) and message.flags == command.flags
            assert abs(message.amplitude_ua - previous) <= raw["safety"]["max_amplitude_step_ua"] or len(sent) == 1
            assert_program_allowed(raw, tier, prog, message.amplitude_ua, context.impedance)
            previous = message.amplitude_ua
        assert previous == command.amplitude_ua
        if len(sent) == 1:
            assert abs(command.amplitude_ua - context.present_amplitude_ua) <= raw["safety"]["max_amplitude_step_ua"]
    else:
        raise AssertionError(f"unexpected approval of {command}")


def test_every_approved_message_is_within_the_tier_and_the_hardware() -> None:
    stats: Counter[str] = Counter()

    @settings(max_examples=1500, derandomize=True, deadline=None, database=None)
    @given(st.integers(0, 2**32 - 1), st.sampled_from(NAMES), st.sampled_from(list(Role)))
    def run(seed: int, name: str, role: Role) -> None:
        context, commands = random_scenario(random.Random(seed), name, role)
        guard = Guard(PROFILES[name], role=role)
        for command in commands:
            stats["commands"] += 1
            try:
                approved = guard.check(command, context, acknowledge=frozenset(
                    {"charge-density", "patient-max-charge-density"}))  # fmt: skip
            except SafetyRefusal:
                stats["refused"] += 1
                continue
            stats[f"approved {type(command).__name__}"] += 1
            stats["messages"] += len(approved.messages)
            check_approved(name, role, context, command, approved.messages)

    run()
    assert stats["commands"] >= 3000, stats
    assert stats["refused"] >= 500, stats
    for kind in ("SetProgram", "SetAmplitude", "Start"):
        assert stats[f"approved {kind}"] >= 100, stats

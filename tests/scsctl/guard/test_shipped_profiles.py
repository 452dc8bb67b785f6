"""The guard on the shipped profiles: DOMAIN.md's examples, in words a technician understands."""

from __future__ import annotations

import dataclasses

import pytest

from firmware_protocol.constants import Waveform
from firmware_protocol.messages import SetAmplitude, SetProgram, Start
from scsctl.errors import SafetyRefusal
from scsctl.guard import Guard, Role
from scsctl.profiles import get_profile

from .helpers import approve, held_like, idle, program, refusal, running


def shipped(name: str) -> Guard:
    return Guard(get_profile(name, env={}))


def test_domain_example_10_ma_at_300_us_on_12_mm2_breaks_shannon() -> None:
    # A = 12 mm2, 10 mA, 300 us: Q = 3 uC, D = 25 uC/cm2, log D + log Q = 1.875 > 1.85.
    engineer = Guard(get_profile("tonic-burst-16", env={}), role=Role.ENGINEER)
    prog = program(amplitude_ua=10_000, patient_max_ua=10_000, pulse_width_us=300, ramp_up_ms=10_000)
    err = refusal(engineer, SetProgram(prog), idle(held_like(prog)), parameter="shannon_k", value=1.875, limit=1.85)
    assert str(err) == (
        "amplitude 10.0 mA at 300 us breaks the Shannon limit on contact 1 (12 mm2): 3.0 uC per phase at "
        "25.0 uC/cm2 gives log10(D) + log10(Q) = 1.875, above k = 1.85; at 300 us this contact allows at most "
        "9.7 mA (engineering tier, profile tonic-burst-16)"
    )
    at_most = dataclasses.replace(prog, amplitude_ua=9700, patient_max_ua=9700)
    approve(engineer, SetProgram(at_most), idle(held_like(at_most)))
    # The same change made live, from 9.5 mA, is refused as well.
    live = dataclasses.replace(prog, amplitude_ua=9500, patient_max_ua=10_000)
    with pytest.raises(SafetyRefusal, match="breaks the Shannon limit"):
        engineer.check(SetAmplitude(10_000), running(live))
    # A technician does not even reach Shannon: 10 mA is outside the clinical tier.
    refusal(shipped("tonic-burst-16"), SetProgram(prog), idle(held_like(prog)), parameter="amplitude_ua",
            value=10_000, limit=8500)  # fmt: skip


def test_drg_amplitude_message() -> None:
    guard = shipped("drg-4x4")
    prog = program(amplitude_ua=5800, patient_max_ua=6000, ramp_up_ms=12_000)
    with pytest.raises(SafetyRefusal) as info:
        guard.check(SetAmplitude(7000), running(prog))
    assert str(info.value) == "amplitude 7.0 mA is above the clinical tier's maximum of 6.0 mA (profile drg-4x4)"


def test_drg_uneven_steps() -> None:
    guard = shipped("drg-4x4")
    prog = program(amplitude_ua=1900, patient_max_ua=6000, ramp_up_ms=12_000)
    approve(guard, SetAmplitude(1975), running(prog))
    err = refusal(guard, SetAmplitude(2025), running(prog), parameter="amplitude_ua", value=2025, limit=50)
    assert "nearest settings: 2.0 mA and 2.05 mA" in str(err)


def test_high_frequency_on_hf10k() -> None:
    guard = shipped("hf10k-16")
    hf = program(waveform=Waveform.HIGH_FREQUENCY, pulse_width_us=30, rate_dhz=100_000, patient_max_ua=5000)
    approve(guard, SetProgram(hf), idle())
    approve(guard, Start(0), idle(dataclasses.replace(hf, amplitude_ua=5000, ramp_up_ms=5000)))
    err = refusal(guard, SetProgram(dataclasses.replace(hf, pulse_width_us=60)), idle(),
                  parameter="pulse_width_us", value=60, limit=30)  # fmt: skip
    assert "high frequency pulse width 60 us is not allowed: it is fixed at 30 us" in str(err)
    refusal(guard, SetProgram(dataclasses.replace(hf, patient_max_ua=5100)), idle(),
            parameter="patient_max_ua", value=5100, limit=5000)  # fmt: skip


@pytest.mark.parametrize("name", ["tonic-burst-16", "drg-4x4", "hf10k-16"])
def test_a_typical_clinical_program_runs(name: str) -> None:
    guard = shipped(name)
    prog = program(pulse_width_us=300, rate_dhz=500, patient_max_ua=4000, ramp_up_ms=4000)
    approve(guard, SetProgram(prog), idle())
    started = dataclasses.replace(prog, amplitude_ua=0)
    approve(guard, Start(0), idle(started))
    approved = approve(guard, SetAmplitude(3500), running(started))
    assert approved.messages[-1] == SetAmplitude(3500)

"""Delivered output, read from the output monitor as a rig reads an oscilloscope: ramps, cycling,
live amplitude changes."""

from __future__ import annotations

import dataclasses

import pytest

from firmware_protocol import messages as m
from firmware_protocol.constants import (
    AmplitudeFlags,
    EventCode,
    NakReason,
    Param,
    Recharge,
    State,
    StateCause,
    StatusFlags,
    Waveform,
)
from scsctl.emulator import MODELS, Firmware

from .host import Host, contacts, program, ready


def _start(host: Host, **fields: object) -> float:
    host.ok(m.SetProgram(program(**fields)))  # type: ignore[arg-type]
    host.ok(m.Start(0))
    return host.t


def test_ramp_up_is_delivered_linearly_over_the_programmed_time() -> None:
    host = ready(t=10.0)
    t0 = _start(host, amplitude_ua=4000, ramp_up_ms=1000)
    assert host.fw.state == State.RAMPING_UP
    host.at(12.0)  # polled late: the device still ramped on its own timer
    changes = host.fw.monitor.amplitude_changes(t0, t0 + 1.0)
    assert len(changes) == 51  # 0 mA at START, then a step every 20 ms
    for k, (t, amplitude) in enumerate(changes):
        assert t == pytest.approx(t0 + 0.02 * k)
        assert amplitude == 4000 * k // 50
    assert host.fw.monitor.amplitude_at(t0 + 0.5) == 2000
    assert host.fw.monitor.amplitude_at(t0 + 1.0) == 4000
    assert host.fw.monitor.amplitude_changes(t0 + 1.001) == []
    ramp_done = host.events(m.EventState)[-1]
    assert ramp_done == m.EventState(State.RAMPING_UP, State.STIMULATING, StateCause.RAMP_DONE, 4000)


def test_delivered_output_matches_the_program() -> None:
    host = ready()
    fields = {"amplitude_ua": 5000, "pulse_width_us": 250, "rate_dhz": 600, "recharge": Recharge.PASSIVE,
              "contacts": contacts(16, {0: 100}, {8: 60, 9: 40})}  # fmt: skip
    t0 = _start(host, **fields)
    out = host.fw.monitor.output_at(t0 + 1)
    assert out.amplitude_ua == 5000
    assert out.contact_ua == (5000,) + (0,) * 7 + (-3000, -2000) + (0,) * 6
    assert (out.pulse_width_us, out.rate_dhz, out.waveform, out.recharge) == (
        250, 600, Waveform.TONIC, Recharge.PASSIVE
    )  # fmt: skip
    assert sum(out.contact_ua) == 0  # charge in = charge out
    assert host.status().amplitude_ua == 5000


@pytest.mark.parametrize("amplitude_ua", [25, 1001, 3001, 7777, 10_001])
@pytest.mark.parametrize(
    ("anodes", "cathodes"),
    [
        ({0: 50, 1: 50}, {8: 33, 9: 33, 10: 34}),
        ({0: 33, 1: 34, 2: 33}, {8: 100}),
        ({0: 1, 1: 1, 2: 98}, {8: 34, 9: 33, 10: 33}),
    ],
)
def test_split_currents_add_up_to_the_amplitude_on_both_sides(
    amplitude_ua: int, anodes: dict[int, int], cathodes: dict[int, int]
) -> None:
    host = ready()
    t0 = _start(host, amplitude_ua=amplitude_ua, patient_max_ua=12_000, contacts=contacts(16, anodes, cathodes))
    out = host.fw.monitor.output_at(t0)
    assert out.anodic_ua == out.cathodic_ua == amplitude_ua  # no charge imbalance
    for index, share_pct in {**anodes, **cathodes}.items():
        exact_x100 = amplitude_ua * share_pct
        assert abs(abs(out.contact_ua[index]) * 100 - exact_x100) < 100  # each within 1 uA of its share


def test_25_ua_split_50_50_is_12_and_13_not_13_and_13() -> None:
    host = ready()
    t0 = _start(host, amplitude_ua=25, contacts=contacts(16, {0: 50, 1: 50}, {8: 50, 9: 50}))
    out = host.fw.monitor.output_at(t0)
    assert out.contact_ua[:2] == (13, 12)  # the left-over microampere goes to the lower contact
    assert out.contact_ua[8:10] == (-13, -12)


def test_a_ramp_keeps_the_split_balanced_at_every_step() -> None:
    host = ready()
    t0 = _start(host, amplitude_ua=3001, ramp_up_ms=1000, contacts=contacts(16, {0: 50, 1: 50}, {8: 33, 9: 33, 10: 34}))
    host.at(t0 + 2)
    segments = host.fw.monitor.segments_between(t0, t0 + 2)
    assert len(segments) > 40
    for segment in segments:
        assert segment.output.anodic_ua == segment.output.cathodic_ua == segment.amplitude_ua


def test_burst_delivery_records_its_parameters() -> None:
    host = ready()
    t0 = _start(host, waveform=Waveform.BURST, rate_dhz=400, burst_pulses=5, intra_burst_rate_dhz=5000,
                pulse_width_us=1000, recharge=Recharge.PASSIVE, amplitude_ua=1500)  # fmt: skip
    out = host.fw.monitor.output_at(t0)
    assert (out.waveform, out.rate_dhz, out.burst_pulses, out.intra_burst_rate_dhz) == (
        Waveform.BURST, 400, 5, 5000
    )  # fmt: skip


def test_the_record_does_not_depend_on_how_often_the_device_is_polled() -> None:
    def run(step_s: float) -> list[tuple[float, int]]:
        host = ready()
        _start(host, ramp_up_ms=700, cycle_on_s=2, cycle_off_s=1, ramp_down_ms=300)
        t = 0.0
        while t < 10:
            t = round(t + step_s, 6)
            host.at(t)
        return [(round(t, 6), a) for t, a in host.fw.monitor.amplitude_changes()]

    assert run(0.001) == run(0.5) == run(10.0)


def test_cycling_switches_on_and_off_on_schedule() -> None:
    host = ready()
    _start(host, ramp_up_ms=500, cycle_on_s=2, cycle_off_s=3, ramp_down_ms=1000)
    host.at(13.0)
    on = host.fw.monitor.on_intervals()
    assert on == [
        pytest.approx((0.02, 3.0)),  # ramp up 0-0.5 s, on-period ends at 2 s, ramp down to 3 s
        pytest.approx((6.02, 9.0)),  # 3 s off, then again
        (pytest.approx(12.02), None),
    ]
    assert host.fw.monitor.amplitude_at(1.0) == 3000
    assert host.fw.monitor.amplitude_at(2.5) == 1500  # half-way down
    transitions = [(e[1], e[2]) for e in host.states()[2:]]
    assert transitions[:5] == [
        (State.STIMULATING, StateCause.RAMP_DONE),
        (State.RAMPING_DOWN, StateCause.CYCLE),
        (State.CYCLING_OFF, StateCause.RAMP_DONE),
        (State.RAMPING_UP, StateCause.CYCLE),
        (State.STIMULATING, StateCause.RAMP_DONE),
    ]


def test_an_on_period_shorter_than_the_ramp_ramps_down_from_what_it_reached() -> None:
    host = ready()
    _start(host, amplitude_ua=3000, ramp_up_ms=2000, cycle_on_s=1, cycle_off_s=1, ramp_down_ms=500)
    host.at(1.6)
    assert host.fw.monitor.max_amplitude_ua(0, 1.6) == 1500
    assert host.fw.monitor.amplitude_at(1.31) == 600  # 1.5 mA, 300 of 500 ms down
    assert host.fw.monitor.first_off_after(1.0) == pytest.approx(1.5)


def test_cycling_without_ramps_switches_at_once() -> None:
    host = ready()
    _start(host, cycle_on_s=1, cycle_off_s=2)
    host.at(7.5)
    assert host.fw.monitor.on_intervals() == [(0.0, 1.0), (3.0, 4.0), (6.0, 7.0)]
    assert host.fw.state == State.CYCLING_OFF
    assert host.status().amplitude_ua == 0


def test_zero_in_either_cycle_time_means_continuous() -> None:
    host = ready()
    _start(host, cycle_on_s=1, ramp_down_ms=500)
    host.at(100.0)
    assert host.fw.monitor.on_intervals() == [(0.0, None)]


def test_tentative_amplitude_is_live_but_not_stored_and_stop_reverts_it() -> None:
    host = ready()
    _start(host)
    host.at(1.0)
    host.ok(m.SetAmplitude(4500))
    assert host.fw.monitor.amplitude_at(1.0) == 4500
    status = host.status()
    assert (status.amplitude_ua, status.setpoint_ua) == (4500, 4500)
    assert status.status_flags & StatusFlags.TENTATIVE
    assert host.ok(m.ReadProgram(0)).program.amplitude_ua == 3000  # type: ignore[attr-defined]
    host.at(2.0)
    host.ok(m.Stop())
    status = host.status()
    assert (status.amplitude_ua, status.setpoint_ua, status.status_flags) == (0, 3000, StatusFlags.NONE)
    codes = [e.code for e in host.fw.storage.log.entries()]
    assert codes[-2:] == [EventCode.TENTATIVE_REVERTED, EventCode.STIMULATION_STOPPED]
    host.ok(m.Start(0))
    assert host.fw.output_ua == 3000


def test_committed_amplitude_is_written_into_the_running_slot() -> None:
    host = ready()
    _start(host)
    host.ok(m.SetAmplitude(4000))
    host.ok(m.SetAmplitude(5000, AmplitudeFlags.COMMIT))
    status = host.status()
    assert status.setpoint_ua == 5000
    assert not status.status_flags & StatusFlags.TENTATIVE
    assert host.ok(m.ReadProgram(0)).program.amplitude_ua == 5000  # type: ignore[attr-defined]
    host.ok(m.Stop())
    assert host.status().setpoint_ua == 5000
    usage = host.ok(m.GetUsage(0, 0))
    assert isinstance(usage, m.Usage)
    assert usage.amplitude_change_count == 2
    assert host.fw.storage.log.entries()[-2].code == EventCode.AMPLITUDE_COMMITTED


def test_amplitude_change_in_cycling_off_applies_from_the_next_on_period() -> None:
    host = ready()
    _start(host, cycle_on_s=1, cycle_off_s=1)
    host.at(1.5)
    host.ok(m.SetAmplitude(2000))
    assert host.fw.output_ua == 0
    host.at(2.5)
    assert host.fw.monitor.amplitude_at(2.0) == 2000


@pytest.mark.parametrize(
    ("message", "param", "limit"),
    [
        (m.SetAmplitude(6001), Param.AMPLITUDE, 6000),  # the program's patient maximum
        (m.SetAmplitude(0xFFFF, AmplitudeFlags.COMMIT), Param.AMPLITUDE, 6000),
        (m.SetAmplitude(5001), Param.AMPLITUDE_STEP, 2000),  # 3 mA -> 5.001 mA in one go
        (m.SetAmplitude(3000, AmplitudeFlags(0x80)), Param.FLAGS, 0),
    ],
)
def test_live_amplitude_limits(message: m.SetAmplitude, param: Param, limit: int) -> None:
    host = ready()
    _start(host)
    nak = host.nak(message)
    assert (nak.reason, nak.param, nak.limit) == (NakReason.OUT_OF_RANGE, param, limit)
    assert host.fw.output_ua == 3000


def test_amplitude_steps_add_up_within_the_step_limit() -> None:
    host = ready()
    _start(host, amplitude_ua=1000)
    for target in (3000, 5000, 6000, 4000):
        host.ok(m.SetAmplitude(target))
    assert host.fw.output_ua == 4000


def test_live_amplitude_charge_density_is_checked() -> None:
    host = ready()
    _start(host, amplitude_ua=7000, pulse_width_us=450, patient_max_ua=12_000)  # 3.15 uC
    nak = host.nak(m.SetAmplitude(8000))  # 3.6 uC on 12 mm2 breaks Shannon at k = 2
    assert (nak.param, nak.index) == (Param.CHARGE_DENSITY, 0)


def test_tentative_change_on_a_model_without_it_is_not_permitted() -> None:
    model = dataclasses.replace(MODELS["tonic-burst-16"], tentative_amplitude=False)
    host = ready(Firmware(model=model))
    _start(host)
    assert host.nak(m.SetAmplitude(3500)).reason == NakReason.NOT_PERMITTED
    host.ok(m.SetAmplitude(3500, AmplitudeFlags.COMMIT))


def test_a_committed_program_keeps_running_without_a_host() -> None:
    host = ready()
    _start(host, cycle_on_s=60, cycle_off_s=60)
    host.at(3 * 3600.0 - 1)  # three hours without a single frame
    assert len(host.fw.monitor.on_intervals()) == 90
    assert host.fw.state in (State.STIMULATING, State.CYCLING_OFF)

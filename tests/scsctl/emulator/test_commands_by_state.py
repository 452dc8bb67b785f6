"""Every command in every state (PROTOCOL.md 10.2), checked through the wire."""

from __future__ import annotations

import pytest

from firmware_protocol import messages as m
from firmware_protocol.constants import NO_SLOT, OUTPUT_STATES, AmplitudeFlags, NakReason, Param, State

from .host import enter, program

ALL_STATES = list(State)
OUTPUT = sorted(OUTPUT_STATES)


@pytest.mark.parametrize("state", ALL_STATES, ids=lambda s: s.name)
@pytest.mark.parametrize(
    "message",
    [m.Hello(), m.GetStatus(), m.Heartbeat(5000), m.ReadProgram(0), m.GetUsage(0, 4), m.Stop()],
    ids=lambda msg: type(msg).__name__,
)
def test_commands_answered_in_every_state(state: State, message: m.Message) -> None:
    host = enter(state)
    reply = host.ok(message)
    assert reply.TYPE == message.TYPE | 0x80


@pytest.mark.parametrize("state", ALL_STATES, ids=lambda s: s.name)
def test_set_program(state: State) -> None:
    host = enter(state)
    assert isinstance(host.ok(m.SetProgram(program(2))), m.SetProgramAck)  # another slot: always
    running_slot = m.SetProgram(program(0, amplitude_ua=1000))
    if state in OUTPUT_STATES:
        assert host.nak(running_slot).reason == NakReason.WRONG_STATE
        assert host.ok(m.ReadProgram(0)).program.amplitude_ua == 3000  # type: ignore[attr-defined]
    else:
        host.ok(running_slot)
        assert host.ok(m.ReadProgram(0)).program.amplitude_ua == 1000  # type: ignore[attr-defined]
    assert host.fw.state == state


@pytest.mark.parametrize("state", ALL_STATES, ids=lambda s: s.name)
def test_select_program(state: State) -> None:
    host = enter(state)
    if state in OUTPUT_STATES:
        assert host.nak(m.SelectProgram(1)).reason == NakReason.WRONG_STATE
        assert host.status().active_slot == 0
        return
    host.ok(m.SelectProgram(1))
    assert host.status().active_slot == 1
    # a hardware fault holds FAULT; otherwise selecting means PROGRAMMED
    assert host.fw.state == (State.FAULT if state == State.FAULT else State.PROGRAMMED)


@pytest.mark.parametrize("state", ALL_STATES, ids=lambda s: s.name)
def test_start_selected(state: State) -> None:
    host = enter(state)
    if state == State.PROGRAMMED:
        host.ok(m.Start(NO_SLOT))
        assert host.fw.state == State.STIMULATING  # slot 0 has no ramp
        return
    nak = host.nak(m.Start(NO_SLOT))
    assert nak.reason == NakReason.WRONG_STATE
    assert nak.param == (Param.SLOT if state == State.IDLE else Param.NONE)
    assert host.fw.state == state


def test_start_explicit_slot_from_idle_selects_it() -> None:
    host = enter(State.IDLE)
    host.ok(m.Start(1))
    assert host.fw.state == State.STIMULATING
    assert host.status().active_slot == 1
    assert host.states()[-1][:2] == (State.IDLE, State.STIMULATING)


@pytest.mark.parametrize("state", ALL_STATES, ids=lambda s: s.name)
def test_set_amplitude(state: State) -> None:
    host = enter(state)
    message = m.SetAmplitude(3200, AmplitudeFlags.NONE)
    if state in (State.STIMULATING, State.CYCLING_OFF):
        host.ok(message)
        assert host.status().setpoint_ua == 3200
    else:
        assert host.nak(message).reason == NakReason.WRONG_STATE
    assert host.fw.state == state


@pytest.mark.parametrize("state", ALL_STATES, ids=lambda s: s.name)
def test_measure_impedance(state: State) -> None:
    host = enter(state)
    if state in OUTPUT_STATES:
        assert host.nak(m.MeasureImpedance()).reason == NakReason.WRONG_STATE
        return
    assert host.request(m.MeasureImpedance()) is None  # measuring takes a moment
    (reply,) = host.after(0.2)
    assert isinstance(reply.message, m.Impedance)
    assert reply.seq == host.seq
    assert len(reply.message.contacts) == 16
    assert host.fw.state == state


@pytest.mark.parametrize("state", ALL_STATES, ids=lambda s: s.name)
def test_stop_from_every_state(state: State) -> None:
    host = enter(state)
    t = host.t
    host.ok(m.Stop())
    expected = {
        State.IDLE: State.IDLE,
        State.FAULT: State.FAULT,  # a hardware fault holds it
    }.get(state, State.PROGRAMMED)
    assert host.fw.state == expected
    assert host.fw.monitor.amplitude_at(t) == 0
    assert host.fw.output_ua == 0
    # idempotent, and nothing restarts later
    host.ok(m.Stop())
    host.after(30.0)
    assert host.fw.state == expected
    assert host.fw.monitor.on_intervals(t) == []


@pytest.mark.parametrize("state", OUTPUT, ids=lambda s: s.name)
def test_stop_ends_output_at_once(state: State) -> None:
    host = enter(state)
    host.after(0.013)  # between two ramp steps
    t = host.t
    was_on = host.fw.output_ua > 0
    host.ok(m.Stop())
    assert host.fw.monitor.amplitude_at(t) == 0
    if was_on:
        assert host.fw.monitor.first_off_after(t - 0.001) == t
    assert host.states()[-1][1] == State.PROGRAMMED

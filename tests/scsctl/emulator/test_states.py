"""The firmware's state machine is a table: every change it reports is in it, and it refuses others."""

from __future__ import annotations

import pytest

from firmware_protocol import messages as m
from firmware_protocol.constants import OUTPUT_STATES, State, StateCause
from scsctl.emulator.states import TRANSITIONS, TransitionError, check_invariants, transition

from .host import enter, program, ready


def test_the_table_refuses_a_change_it_does_not_hold() -> None:
    assert transition(State.PROGRAMMED, State.RAMPING_UP, StateCause.COMMAND) is State.RAMPING_UP
    with pytest.raises(TransitionError, match="IDLE -> CYCLING_OFF"):
        transition(State.IDLE, State.CYCLING_OFF, StateCause.COMMAND)
    with pytest.raises(TransitionError, match="for cause RAMP_DONE"):
        transition(State.PROGRAMMED, State.STIMULATING, StateCause.RAMP_DONE)  # only START gets there


def test_stop_and_faults_reach_every_state_and_fault_is_left_only_by_a_command() -> None:
    for state in OUTPUT_STATES:
        assert StateCause.COMMAND in TRANSITIONS[(state, State.PROGRAMMED)]
    for state in set(State) - {State.FAULT}:
        assert TRANSITIONS[(state, State.FAULT)] == {StateCause.FAULT, StateCause.BATTERY}
    leaving_fault = {(old, new): causes for (old, new), causes in TRANSITIONS.items() if old is State.FAULT}
    assert leaving_fault == {(State.FAULT, State.PROGRAMMED): {StateCause.COMMAND},
                             (State.FAULT, State.IDLE): {StateCause.COMMAND}}  # fmt: skip


def test_the_invariants_are_checked() -> None:
    check_invariants(State.STIMULATING, 0, 3000)
    with pytest.raises(TransitionError, match="must run"):
        check_invariants(State.CYCLING_OFF, None, 0)
    with pytest.raises(TransitionError, match="of output in CYCLING_OFF"):
        check_invariants(State.CYCLING_OFF, 0, 100)
    with pytest.raises(TransitionError, match="must not run"):
        check_invariants(State.PROGRAMMED, 0, 0)


def test_the_firmware_refuses_a_change_outside_the_table() -> None:
    host = ready()
    with pytest.raises(TransitionError):
        host.fw._change_state(State.CYCLING_OFF, StateCause.CYCLE)  # from IDLE: a bug, not a host error
    assert host.fw.state is State.IDLE


@pytest.mark.parametrize("state", sorted(State), ids=lambda s: s.name)
def test_every_change_reported_is_in_the_table(state: State) -> None:
    host = enter(state)
    host.ok(m.SetProgram(program(2, ramp_up_ms=500, cycle_on_s=1, cycle_off_s=1, ramp_down_ms=500)))
    for command in (m.Stop(), m.SelectProgram(2), m.Start(2)):
        host.request(command)
    host.after(5.0)
    host.request(m.Stop())
    changes = [f.message for f in host.frames if isinstance(f.message, m.EventState)]
    assert changes
    for event in changes[1:]:  # the first is power-on's, which sets the first state
        assert event.cause in TRANSITIONS[(event.old_state, event.new_state)], event

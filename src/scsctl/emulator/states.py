"""The emulated firmware's state machine as a table (PROTOCOL.md 10.2), with its invariants.

Every state change the firmware makes goes through ``transition``, which looks the change up here
and refuses one the table does not hold (a ``TransitionError`` is a bug in the emulator, never the
host's fault: the host's mistakes are answered with a NAK before any state changes). Power-on is
the one change not in the table: it sets the first state (IDLE, or PROGRAMMED when a program is
selected in storage).

::

    IDLE ──SELECT──> PROGRAMMED ──START──> RAMPING_UP ──ramp_up_ms──> STIMULATING
      └──────START slot─────────────────────^  ^  │ └──cycle_on_s (from the on-period's start)──┐
                                               │  └─(no ramp-up: START goes to STIMULATING)     v
                         CYCLING_OFF <──ramp_down_ms── RAMPING_DOWN <──cycle_on_s── STIMULATING
                              └──cycle_off_s──> RAMPING_UP (or STIMULATING with no ramp-up)
    any output state ──STOP, or watchdog with stop-on-loss──> PROGRAMMED (at once, no ramp)
    any state but FAULT ──lead open/short, over-compliance, end of service, hardware──> FAULT
    FAULT ──STOP or SELECT_PROGRAM once no fault holds it──> PROGRAMMED (a slot selected) or IDLE
    watchdog reverting a tentative amplitude: RAMPING_UP ──> STIMULATING (down: at once),
                                              STIMULATING ──> RAMPING_UP (up: as a ramp)

Invariants, checked after every change (``check_invariants``):

- a program runs (``run_slot`` is set) exactly in the output states;
- the output is zero outside RAMPING_UP, STIMULATING and RAMPING_DOWN.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from firmware_protocol.constants import OUTPUT_STATES, State, StateCause

__all__ = ["ON_STATES", "TRANSITIONS", "TransitionError", "check_invariants", "transition"]

ON_STATES = frozenset({State.RAMPING_UP, State.STIMULATING, State.RAMPING_DOWN})
"""Output states in which current may flow (CYCLING_OFF runs a program but delivers nothing)."""

_C, _R, _Y, _W, _F, _B = (
    StateCause.COMMAND, StateCause.RAMP_DONE, StateCause.CYCLE, StateCause.WATCHDOG, StateCause.FAULT,
    StateCause.BATTERY,
)  # fmt: skip
_FAULTS = frozenset({_F, _B})


def _table() -> dict[tuple[State, State], frozenset[StateCause]]:
    table: dict[tuple[State, State], frozenset[StateCause]] = {
        (State.IDLE, State.PROGRAMMED): frozenset({_C}),  # SELECT_PROGRAM
        (State.RAMPING_UP, State.STIMULATING): frozenset({_R, _W}),  # ramp done; watchdog revert down
        (State.STIMULATING, State.RAMPING_UP): frozenset({_W}),  # watchdog revert up, as a ramp
        (State.RAMPING_DOWN, State.CYCLING_OFF): frozenset({_R}),
        (State.CYCLING_OFF, State.RAMPING_UP): frozenset({_Y}),
        (State.CYCLING_OFF, State.STIMULATING): frozenset({_Y}),  # no ramp-up
        (State.FAULT, State.PROGRAMMED): frozenset({_C}),  # STOP / SELECT_PROGRAM, no fault holding
        (State.FAULT, State.IDLE): frozenset({_C}),
    }
    for idle in (State.IDLE, State.PROGRAMMED):  # START (IDLE only with a slot named)
        table[(idle, State.RAMPING_UP)] = frozenset({_C})
        table[(idle, State.STIMULATING)] = frozenset({_C})
    for on in (State.RAMPING_UP, State.STIMULATING):  # the on-period ends (cycling)
        table[(on, State.RAMPING_DOWN)] = frozenset({_Y})
        table[(on, State.CYCLING_OFF)] = frozenset({_Y})
    for running in OUTPUT_STATES:  # STOP; the watchdog of a tethered session
        table[(running, State.PROGRAMMED)] = frozenset({_C, _W})
    for state in State:
        if state is not State.FAULT:
            table[(state, State.FAULT)] = _FAULTS
    return table


TRANSITIONS: Mapping[tuple[State, State], frozenset[StateCause]] = MappingProxyType(_table())
"""(from, to) -> the causes that may make that change; anything else is refused."""


class TransitionError(RuntimeError):
    """The firmware tried a state change the table does not allow, or broke an invariant (a bug)."""


def transition(old: State, new: State, cause: StateCause) -> State:
    """``new`` if the table allows ``old`` -> ``new`` for ``cause``; raises ``TransitionError``."""
    if cause not in TRANSITIONS.get((old, new), frozenset()):
        raise TransitionError(f"no state change {old.name} -> {new.name} for cause {cause.name}")
    return new


def check_invariants(state: State, run_slot: int | None, output_ua: int) -> None:
    """The invariants above, for the firmware's state just after a change."""
    if (run_slot is not None) != (state in OUTPUT_STATES):
        raise TransitionError(f"in {state.name} a program must {'' if state in OUTPUT_STATES else 'not '}run")
    if output_ua and state not in ON_STATES:
        raise TransitionError(f"{output_ua} uA of output in {state.name}")

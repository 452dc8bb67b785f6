"""The firmware's timer scheduler: the earliest first, precedence on a tie, remembered until a change."""

from __future__ import annotations

from scsctl.emulator.timers import Scheduler, Timer


def test_the_earliest_timer_goes_first_and_a_tie_goes_to_the_one_listed_first() -> None:
    due = {"a": 2.0, "b": 1.0, "c": 1.0}
    fired: list[tuple[str, float]] = []
    timers = Scheduler(
        [Timer(k, lambda k=k: due[k], lambda t, k=k: fired.append((k, t))) for k in ("a", "b", "c")],  # type: ignore[misc]
        inputs=lambda: (),
    )
    assert timers.earliest() == (1.0, "b")
    timers.fire("c", 1.5)
    assert fired == [("c", 1.5)]


def test_a_remembered_answer_holds_until_the_firmware_or_an_outside_input_changes() -> None:
    state = {"due": 5.0, "outside": 1}
    asked = [0]

    def due() -> float:
        asked[0] += 1
        return state["due"]

    timers = Scheduler([Timer("x", due, lambda t: None)], inputs=lambda: (state["outside"],))
    assert timers.next() == (5.0, "x") and timers.next() == (5.0, "x")
    assert asked[0] == 1  # worked out once
    state["due"] = 3.0
    assert timers.next() == (5.0, "x")  # the firmware has not said it changed
    timers.forget()
    assert timers.next() == (3.0, "x")
    state["due"], state["outside"] = 4.0, 2  # something outside the firmware changed: worked out again
    assert timers.next() == (4.0, "x")

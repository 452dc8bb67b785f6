"""Keys that arrive close together (auto-repeat, fast typing) each count, as slow presses do.

A terminal hands the app a burst of keys in one read: each is queued before the first is handled.
``burst`` queues keys the same way (``pilot.press`` waits for the app to go idle after every key,
which a burst does not), so every key here is handled before the edits of the ones before it have
been drawn; each must still step on from the value the previous key produced.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual import events
from textual.pilot import Pilot

from firmware_protocol.constants import Polarity, Waveform
from scsctl.transports.emulated import EmulatedTransport
from scsctl.tui.app import ScsApp
from scsctl.tui.screens.main import MainScreen
from scsctl.tui.widgets.lead_view import LeadView
from scsctl.tui.widgets.param_list import ParamList

from .conftest import SIZE, bipolar, commands_sent, connected, prepare, text_of

MakeApp = Callable[..., ScsApp]

CHARS = {"space": " ", "plus": "+", "minus": "-", "left_square_bracket": "[", "right_square_bracket": "]"}


async def burst(pilot: Pilot[None], *keys: str) -> None:
    """Queue ``keys`` for the app all at once, as a terminal delivers them, then let them be handled."""
    for key in keys:
        pilot.app.post_message(events.Key(key, CHARS.get(key, key if len(key) == 1 else None)))
    await pilot.pause()
    await pilot.pause()


def main_screen(app: ScsApp) -> MainScreen:
    assert isinstance(app.screen, MainScreen)
    return app.screen


def polarities(screen: MainScreen, count: int = 3) -> list[tuple[Polarity, int]]:
    return [(Polarity(c.polarity), c.share_pct) for c in screen.draft.contacts[:count]]


async def test_two_quick_spaces_step_a_contact_twice(
    make_app: MakeApp, emu: EmulatedTransport, tmp_path: Path
) -> None:
    prepare(emu, tmp_path, bipolar())  # 1+ 2-
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        screen = main_screen(app)
        written = commands_sent(tmp_path).count("SET_PROGRAM")
        await pilot.press("e", "right", "right")  # contact 3, off
        await burst(pilot, "space", "space")  # off -> + -> -
        assert polarities(screen) == [(Polarity.ANODE, 100), (Polarity.CATHODE, 50), (Polarity.CATHODE, 50)]
        assert screen.query_one(LeadView).contacts == screen.draft.contacts  # and it is what is drawn
        await burst(pilot, "space", "space", "space")  # - -> off -> + -> -: round to where it was
        assert polarities(screen) == [(Polarity.ANODE, 100), (Polarity.CATHODE, 50), (Polarity.CATHODE, 50)]
        assert commands_sent(tmp_path).count("SET_PROGRAM") == written  # editing sends nothing


async def test_quick_share_and_polarity_keys_each_count(
    make_app: MakeApp, emu: EmulatedTransport, tmp_path: Path
) -> None:
    prepare(emu, tmp_path, bipolar())  # 1+ 2-
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        screen = main_screen(app)
        await pilot.press("e", "right", "right", "plus")  # contact 3: a second anode, 50/50
        await burst(pilot, "right_square_bracket", "right_square_bracket", "right_square_bracket")
        assert polarities(screen) == [(Polarity.ANODE, 50), (Polarity.CATHODE, 100), (Polarity.ANODE, 65)]
        # Set, then set again from what the first made: cathode, then off (the cathode re-split both times).
        await burst(pilot, "minus", "o")
        assert polarities(screen) == [(Polarity.ANODE, 100), (Polarity.CATHODE, 100), (Polarity.OFF, 0)]
        # Quick moves, then shares on contact 1: it stays within 100 %, then two steps down.
        await burst(pilot, "left", "left", "right_square_bracket", "left_square_bracket", "left_square_bracket")
        assert polarities(screen) == [(Polarity.ANODE, 90), (Polarity.CATHODE, 100), (Polarity.OFF, 0)]


async def test_three_quick_rights_step_the_pulse_width_three_times(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        screen = main_screen(app)
        await pilot.press("v", "down")  # pulse width, 300 us
        assert screen.draft.pulse_width_us == 300
        await burst(pilot, "right", "right", "right")
        assert screen.draft.pulse_width_us == 330
        assert "330 us" in text_of(app, "#params")
        await burst(pilot, "shift+left", "shift+left")  # coarse: 50 us each
        assert screen.draft.pulse_width_us == 230
        await burst(pilot, "left", "right", "left", "left")
        assert screen.draft.pulse_width_us == 210


async def test_quick_steps_of_amplitude_rate_and_ramp_each_count(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        screen = main_screen(app)
        await pilot.press("v")
        await burst(pilot, "right", "right", "right", "shift+right")  # 0.1 mA fine, 0.5 mA coarse
        assert screen.draft.amplitude_ua == 800
        await burst(pilot, "down", "down", "right", "right")  # rate: 50 Hz in 1 Hz steps
        assert screen.draft.rate_dhz == 520
        rows = [spec.key for spec in screen.query_one(ParamList).specs]
        await burst(pilot, *["down"] * (rows.index("ramp_up_ms") - rows.index("rate_dhz")), "left", "left")
        assert screen.draft.ramp_up_ms == 1000  # 2 s in 0.5 s steps
        assert (screen.draft.amplitude_ua, screen.draft.rate_dhz) == (800, 520)  # nothing else moved


async def test_a_quick_step_past_the_limit_is_refused_and_names_it(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        screen = main_screen(app)
        await pilot.press("v", "down", "enter", *"480us", "enter")
        assert screen.draft.pulse_width_us == 480
        await burst(pilot, "right", "right", "right")  # 490, 500, then the tier's maximum: refused
        assert screen.draft.pulse_width_us == 500
        assert app.note is not None and "maximum of 500 us" in app.note.text


async def test_quick_waveform_steps_each_count(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        screen = main_screen(app)
        await pilot.press("v", "down", "down", "down")  # waveform
        choices = next(s.choices for s in screen.query_one(ParamList).specs if s.key == "waveform")
        start = choices.index(screen.draft.waveform)
        await burst(pilot, "right", "right")
        assert screen.draft.waveform == Waveform(choices[(start + 2) % len(choices)])


async def test_an_electrode_edit_and_a_setting_step_on_their_way_together_keep_each_other(
    make_app: MakeApp,
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        screen = main_screen(app)
        # Both on their way to the screen at once (a click on one panel as a key repeats on the
        # other): neither undoes the other.
        screen.query_one(LeadView).action_set_polarity("anode")
        screen.query_one(ParamList).action_step(1, False)
        await pilot.pause()
        await pilot.pause()
        assert screen.draft.contacts[0].polarity == Polarity.ANODE
        assert screen.draft.amplitude_ua == 100
        screen.query_one(ParamList).action_step(1, False)
        screen.query_one(LeadView).action_cycle()
        await pilot.pause()
        await pilot.pause()
        assert screen.draft.contacts[0].polarity == Polarity.CATHODE
        assert screen.draft.amplitude_ua == 200

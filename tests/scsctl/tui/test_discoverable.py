"""Every action can be found: the help screen (? and F1), the command palette, a footer for the state."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.command import CommandPalette

from firmware_protocol.constants import State
from scsctl.transports.emulated import EmulatedTransport
from scsctl.tui.app import ScsApp
from scsctl.tui.screens.help import HelpScreen
from scsctl.tui.screens.main import MainScreen

from .conftest import SIZE, bipolar, connected, prepare, text_of, until

MakeApp = Callable[..., ScsApp]


async def test_question_mark_and_f1_list_every_key_of_the_main_screen(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        for key in ("question_mark", "f1"):
            await pilot.press(key)
            assert isinstance(app.screen, HelpScreen)
            keys = text_of(app, "#help-text")
            for line in ("F2", "STOP", "Electrodes panel (e)", "Settings panel (v)", "Live amplitude (a)"):
                assert line in keys
            for key_and_what in (("e", "Electrodes"), ("v", "Settings"), ("n", "New draft"), ("r", "Reconnect")):
                assert any(row.split(maxsplit=1) == [*key_and_what] for row in keys.splitlines()), key_and_what
            assert "Program tab" in keys and "anode" in keys
            await pilot.press("escape")
            assert isinstance(app.screen, MainScreen)


async def test_the_command_palette_offers_stop_and_the_screens_actions(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert titles[0].startswith("STOP")
        for wanted in ("Save (s)", "Electrodes (e)", "Settings (v)", "Impedance (m)", "Trial (t)", "Help (?)"):
            assert wanted in titles
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette), "the palette is open")
        await pilot.press("f2")  # STOP closes it too
        await until(pilot, lambda: isinstance(app.screen, MainScreen), "the palette is closed")


async def test_the_footer_shows_the_keys_of_the_present_state(
    make_app: MakeApp, emu: EmulatedTransport, tmp_path: Path
) -> None:
    prepare(emu, tmp_path, bipolar(amplitude_ua=500))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        keys = text_of(app, ".keys")
        assert "g Start" in keys and "? Help" in keys and "e Electrodes" in keys and "v Settings" in keys
        assert "a Amplitude" not in keys and "c Commit" not in keys and "r Reconnect" not in keys
        await pilot.press("g", "enter")
        await until(pilot, lambda: app.status is not None and app.status.state == State.STIMULATING, "stimulating")
        await pilot.press("escape")
        await until(pilot, lambda: "a Amplitude" in text_of(app, ".keys"), "Amplitude is offered")
        assert "g Start" not in text_of(app, ".keys")
        await pilot.press("a", "up")
        await until(pilot, lambda: "c Commit" in text_of(app, ".keys"), "Commit is offered")


async def test_at_80_by_24_stop_the_message_bar_and_the_program_editor_are_on_screen(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot)
        screen = app.screen
        for selector in ("#stop-main", "#messages", "#start", ".stop-key", "#leads"):
            widget = screen.query_one(selector)
            region = widget.region
            assert region.height > 0 and region.right <= 80 and region.bottom <= 24, selector
        await pilot.press("v")
        params = screen.query_one("#params")
        assert app.focused is params
        await pilot.pause()
        assert params.region.height > 0 and 0 <= params.region.y < 24  # scrolled into view
        await pilot.press("4")
        assert "Battery" in text_of(app, "#device-full")


async def test_l_shows_every_limit_of_the_profile_with_units(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot)
        await pilot.press("l")
        shown = text_of(app, "#profile-text")
        assert "tonic-burst-16" in shown and "patient maximum default" in shown
        assert " mA" in shown
        assert "technician: clinical limits" in str(app.screen.title_text)  # type: ignore[attr-defined]

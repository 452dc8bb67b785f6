"""The message bar's priorities: STOP first and until read; STOP closes dialogs; stale messages go."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from firmware_protocol.constants import State
from scsctl.transports.emulated import EmulatedTransport
from scsctl.tui.app import ScsApp
from scsctl.tui.screens.dialogs import ValueDialog
from scsctl.tui.screens.main import MainScreen
from scsctl.tui.screens.start_dialog import StartDialog

from .conftest import SIZE, bipolar, commands_sent, connected, prepare, start_from_the_tui, state, text_of, until

MakeApp = Callable[..., ScsApp]




async def test_stopped_during_a_ramp_stays_until_acknowledged_and_the_start_dialog_closes(
    make_app: MakeApp, emu: EmulatedTransport, tmp_path: Path
) -> None:
    prepare(emu, tmp_path, bipolar(amplitude_ua=1000, ramp_up_ms=3000))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await pilot.press("g", "enter")
        await until(pilot, lambda: "Ramping up" in text_of(app, "#ramp-progress"), "the ramp is shown")
        await pilot.press("f2")
        assert isinstance(app.screen, MainScreen)  # at once: the dialog does not hide the message bar
        await until(pilot, lambda: app.note is not None and app.note.title.startswith("STOPPED"), "STOPPED")
        await until(pilot, lambda: state(app) == State.PROGRAMMED, "the device has stopped")
        # Whatever comes next (a notice of the start that was cut short, a refusal) waits behind it.
        app.show_note("Started slot 0", "raise the amplitude live", "info")
        assert app.note is not None and app.note.title.startswith("STOPPED")
        assert "STOPPED" in text_of(app, "#messages") and "k or a click here" in text_of(app, "#messages")
        assert "OK: clear the STOP message" in text_of(app, ".keys")
        await pilot.press("k")
        assert app.note is not None and app.note.title == "Started slot 0"  # the message held back
        assert "OK: clear the STOP message" not in text_of(app, ".keys")


async def test_stop_inside_the_amplitude_dialog_closes_it_and_enter_sends_nothing(
    make_app: MakeApp, emu: EmulatedTransport, tmp_path: Path
) -> None:
    prepare(emu, tmp_path, bipolar(amplitude_ua=500))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await start_from_the_tui(pilot)
        await pilot.press("escape", "a", "enter")
        assert isinstance(app.screen, ValueDialog)
        await pilot.press("backspace", "backspace", "backspace", "backspace", "backspace", "2", "m", "A")
        await pilot.press("f2")
        await until(pilot, lambda: app.note is not None and app.note.title.startswith("STOPPED"), "STOPPED")
        assert isinstance(app.screen, MainScreen)
        await pilot.press("enter")
        await until(pilot, lambda: state(app) == State.PROGRAMMED, "the device has stopped")
        assert "SET_AMPLITUDE" not in commands_sent(tmp_path)
        assert app.note is not None and app.note.title.startswith("STOPPED")


async def test_a_refusal_is_cleared_once_the_device_moves_on(
    make_app: MakeApp, emu: EmulatedTransport, tmp_path: Path
) -> None:
    prepare(emu, tmp_path, bipolar(patient_max_ua=200))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await start_from_the_tui(pilot)
        await pilot.press("escape", "a", "up", "up", "up")
        await until(pilot, lambda: app.note is not None and "refused" in app.note.title, "the refusal is shown")
        await pilot.press("down")  # a change the device takes: the refusal no longer describes anything
        await until(pilot, lambda: app.note is None or "refused" not in app.note.title, "the refusal is gone")
        assert "refused" not in text_of(app, "#messages")
        assert not isinstance(app.screen, StartDialog)

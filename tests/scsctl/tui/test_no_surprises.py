"""Flows without surprises: a commit that would leave a slot unable to start, saving over a slot,
choosing another program while one runs, and a device in FAULT."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.widgets import Button

from firmware_protocol.constants import State
from scsctl.emulator.faults import LeadOpen
from scsctl.transports.emulated import EmulatedTransport
from scsctl.tui.app import ScsApp
from scsctl.tui.screens.dialogs import ConfirmDialog, ValueDialog
from scsctl.tui.screens.main import MainScreen
from scsctl.tui.screens.start_dialog import StartDialog

from .conftest import SIZE, bipolar, commands_sent, connected, prepare, start_from_the_tui, state, text_of, until

MakeApp = Callable[..., ScsApp]




async def start_and_raise(pilot, app: ScsApp, typed: str) -> None:  # type: ignore[no-untyped-def]
    await pilot.press("g", "enter")
    await until(pilot, lambda: state(app) == State.STIMULATING, "stimulation is on")
    await pilot.press("escape", "a", "enter")
    assert isinstance(app.screen, ValueDialog)
    await pilot.press(*["backspace"] * 8, *typed)
    await pilot.press("enter")


async def test_a_commit_that_leaves_the_slot_unable_to_start_says_so_and_g_offers_the_longer_ramp(
    make_app: MakeApp, emu: EmulatedTransport, tmp_path: Path
) -> None:
    prepare(emu, tmp_path, bipolar(ramp_up_ms=2000))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await start_and_raise(pilot, app, "3.5mA")
        await until(pilot, lambda: app.status is not None and app.status.setpoint_ua == 3500, "3.5 mA is set")
        await until(pilot, lambda: not app.busy, "the calls are done")
        await pilot.press("c")
        await until(pilot, lambda: app.programs[0].amplitude_ua == 3500, "the commit is read back")
        assert app.note is not None and "cannot START again at 3.5 mA" in app.note.text
        assert isinstance(app.screen, MainScreen) and app.screen.draft.amplitude_ua == 3500  # the draft followed
        await pilot.press("f2")
        await until(pilot, lambda: state(app) == State.PROGRAMMED, "stopped")
        await until(pilot, lambda: app.note is not None and app.note.title.startswith("STOPPED"), "STOPPED")
        await pilot.press("k")
        assert "g offers to lengthen it" in text_of(app, "#start-why")
        await pilot.press("g")
        dialog = app.screen
        assert isinstance(dialog, ConfirmDialog)
        lines = text_of(app, "#confirm-lines")
        assert "Ramp-up: 2000 ms ->" in " ".join(lines.split()) or "ramp" in lines.lower()
        await pilot.press("enter")
        await until(pilot, lambda: app.programs[0].ramp_up_ms > 2000, "the longer ramp-up is read back")
        assert app.programs[0].amplitude_ua == 3500
        await until(pilot, lambda: isinstance(app.screen, StartDialog), "the start asks as usual")
        assert not app.screen.query(".-warning")  # no "draft not saved" warning: the draft took the fix too
        await pilot.press("enter")
        await until(pilot, lambda: state(app) in (State.RAMPING_UP, State.STIMULATING), "it starts again")
        await pilot.press("f2")
        await until(pilot, lambda: state(app) == State.PROGRAMMED, "stopped")


async def test_saving_over_a_stored_slot_asks_first_and_shows_what_changes(
    make_app: MakeApp, emu: EmulatedTransport, tmp_path: Path
) -> None:
    prepare(emu, tmp_path, bipolar(amplitude_ua=1500, ramp_up_ms=3000))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await pilot.press("n", "e", "plus", "right", "minus", "s")  # a new draft for slot 0, at 0.0 mA
        assert isinstance(app.screen, ConfirmDialog)
        body = " ".join(text_of(app, "#confirm-lines").split())
        assert "Amplitude: 1.5 mA -> 0.0 mA" in body
        assert "holds 1.5 mA (committed)" in text_of(app, ".dialog-body")
        await pilot.press("escape")
        await pilot.pause()
        assert app.programs[0].amplitude_ua == 1500
        assert commands_sent(tmp_path).count("SET_PROGRAM") == 2  # only what prepare() wrote
        await pilot.press("s", "enter")
        await until(pilot, lambda: app.programs[0].amplitude_ua == 0, "the slot is overwritten (asked and agreed)")


async def test_choosing_another_slot_while_one_runs_offers_stop_then_select(
    make_app: MakeApp, emu: EmulatedTransport, tmp_path: Path
) -> None:
    prepare(emu, tmp_path, bipolar(slot=0), bipolar(slot=1))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await start_from_the_tui(pilot)
        await pilot.press("escape")
        assert not app.screen.query_one("#start", Button).display  # no "Start slot 1" while slot 0 runs
        app.screen.query_one("#programs").focus()
        await pilot.press("down", "x")
        assert isinstance(app.screen, ConfirmDialog)
        assert "Stop slot 0, then select slot 1" in " ".join(text_of(app, "#confirm-lines").split())
        await pilot.press("enter")
        await until(pilot, lambda: app.status is not None and app.status.active_slot == 1, "slot 1 is selected")
        assert state(app) == State.PROGRAMMED
        sent = commands_sent(tmp_path)
        assert sent[-2:] == ["STOP", "SELECT_PROGRAM"]


async def test_in_fault_start_is_disabled_with_the_reason_and_the_way_out(
    make_app: MakeApp, emu: EmulatedTransport, tmp_path: Path
) -> None:
    prepare(emu, tmp_path, bipolar(amplitude_ua=500))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await start_from_the_tui(pilot)
        await pilot.press("escape")
        emu.emulator.inject(LeadOpen(1))
        await until(pilot, lambda: state(app) == State.FAULT, "the device is in FAULT")
        await pilot.pause()
        start = app.screen.query_one("#start", Button)
        assert start.display and start.disabled
        why = text_of(app, "#start-why")
        assert "FAULT" in why and "measure impedance (m)" in why
        assert "ready" not in why
        await pilot.press("g")
        assert not isinstance(app.screen, StartDialog)
        assert app.note is not None and "Cannot start now" in app.note.title


async def test_a_bare_number_in_a_field_labelled_with_a_unit_is_taken_in_that_unit(
    make_app: MakeApp, emu: EmulatedTransport, tmp_path: Path
) -> None:
    prepare(emu, tmp_path, bipolar(patient_max_ua=5000))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await start_and_raise(pilot, app, "1.5")
        await until(pilot, lambda: app.status is not None and app.status.setpoint_ua == 1500, "1.5 mA is set")
        await pilot.press("escape", "f2")
        await until(pilot, lambda: state(app) == State.PROGRAMMED, "stopped")
        await pilot.press("k", "v", "enter")  # the first setting, the amplitude, in mA
        dialog = app.screen
        assert isinstance(dialog, ValueDialog) and dialog.title_text.endswith("(mA)")
        await pilot.press(*["backspace"] * 8, "2", "enter")
        assert isinstance(app.screen, MainScreen)
        assert app.screen.draft.amplitude_ua == 2000

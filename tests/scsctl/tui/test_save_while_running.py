"""Saving the draft over the slot that is running: it asks first, showing the committed amplitude
that would be replaced and every other change, and writes only after a confirmed STOP."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from firmware_protocol.constants import State
from scsctl.transports.emulated import EmulatedTransport
from scsctl.tui.app import ScsApp
from scsctl.tui.screens.dialogs import ConfirmDialog, ValueDialog
from scsctl.tui.screens.main import MainScreen

from .conftest import SIZE, bipolar, commands_sent, connected, prepare, start_from_the_tui, state, text_of, until

MakeApp = Callable[..., ScsApp]


async def test_saving_over_the_running_slot_after_a_commit_asks_and_writes_only_when_confirmed(
    make_app: MakeApp, emu: EmulatedTransport, tmp_path: Path
) -> None:
    prepare(emu, tmp_path, bipolar(amplitude_ua=500))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await start_from_the_tui(pilot)
        await pilot.press("escape", "a", "enter")
        assert isinstance(app.screen, ValueDialog)
        await pilot.press(*["backspace"] * 8, *"0.7mA", "enter")
        await until(pilot, lambda: app.status is not None and app.status.setpoint_ua == 700, "0.7 mA is set")
        await until(pilot, lambda: not app.busy, "the calls are done")
        await pilot.press("c")
        await until(pilot, lambda: app.programs[0].amplitude_ua == 700, "the commit is read back")
        screen = app.screen
        assert isinstance(screen, MainScreen) and screen.draft.amplitude_ua == 700  # the draft followed
        # The draft is changed afterwards: a lower amplitude and a narrower pulse.
        screen.draft = dataclasses.replace(screen.draft, amplitude_ua=500, pulse_width_us=250)
        await pilot.pause()
        sent_before = commands_sent(tmp_path)

        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "it asks first")
        dialog = app.screen
        assert isinstance(dialog, ConfirmDialog)
        assert "Slot 0 is running at 0.7 mA" in dialog.title_text
        body = " ".join(text_of(app, "#confirm-lines").split())
        assert "Amplitude: 0.7 mA -> 0.5 mA" in body
        assert "Pulse width: 300 us -> 250 us" in body
        assert "Stop it, then write the draft" in body
        warning = " ".join(text_of(app, ".dialog-body.-warning").split())
        assert "holds 0.7 mA (committed); this draft would store 0.5 mA" in warning

        await pilot.press("escape")  # cancel: nothing is sent, it keeps running as committed
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        assert commands_sent(tmp_path) == sent_before
        assert state(app) == State.STIMULATING
        device = app.device
        assert device is not None
        readback = device.read_program(0)
        assert (readback.amplitude_ua, readback.pulse_width_us) == (700, 300)
        assert app.note is not None and app.note.title == "Slot 0 not written"

        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "it asks again")
        await pilot.press("enter")  # confirm: STOP, then the write, read back
        await until(pilot, lambda: app.programs[0].amplitude_ua == 500, "the slot is written after the STOP")
        assert state(app) != State.STIMULATING
        readback = device.read_program(0)
        assert (readback.amplitude_ua, readback.pulse_width_us) == (500, 250)
        assert commands_sent(tmp_path)[len(sent_before) :] == ["STOP", "SET_PROGRAM"]


async def test_saving_the_running_slot_unchanged_sends_nothing(
    make_app: MakeApp, emu: EmulatedTransport, tmp_path: Path
) -> None:
    prepare(emu, tmp_path, bipolar(amplitude_ua=500))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await start_from_the_tui(pilot)
        await pilot.press("escape")
        sent_before = commands_sent(tmp_path)
        await pilot.press("s")
        await until(pilot, lambda: app.note is not None and app.note.title == "Slot 0 holds this draft already",
                    "it says there is nothing to write")  # fmt: skip
        assert isinstance(app.screen, MainScreen)
        assert commands_sent(tmp_path) == sent_before
        assert state(app) == State.STIMULATING

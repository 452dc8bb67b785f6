"""The TUI's trial screen on the in-process emulator: a trial created, coverage recorded from the
device's read-back, diary entries added and edited, bad input refused with nothing stored."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import Button, Checkbox, Input, Select, Static

import scsctl
from firmware_protocol import messages as m
from firmware_protocol.constants import OUTPUT_STATES
from scsctl.audit import DB_NAME
from scsctl.controller.target import ConnectTarget
from scsctl.parsing import electrodes
from scsctl.transports.emulated import EmulatedTransport
from scsctl.transports.ports import PortListing
from scsctl.trial import DiaryEntry, TrialStore, parse_day
from scsctl.tui.app import ScsApp
from scsctl.tui.trial_screen import NewTrialDialog, TrialScreen

from .conftest import TODAY, Clock, day


def program(slot: int) -> m.Program:
    return m.Program(slot=slot, amplitude_ua=0, pulse_width_us=300, rate_dhz=500,
                     contacts=electrodes("1+ 2-", 16), patient_max_ua=5000)  # fmt: skip


async def until(pilot: Pilot[None], condition: Callable[[], object], what: str) -> None:
    for _ in range(500):
        if condition():
            return
        await pilot.pause(0.01)
    raise AssertionError(f"timed out waiting until {what}")


def shown(widget: Static) -> str:
    console = Console(width=300, record=True, color_system=None, file=open(os.devnull, "w"))  # noqa: SIM115
    console.print(widget.content)
    return console.export_text()


def note(app: ScsApp) -> str:
    return "" if app.note is None else f"{app.note.title} {app.note.text}"


def test_a_trial_is_recorded_from_the_trial_screen(tmp_path: Path) -> None:
    emu = EmulatedTransport("emu://", seed=0)
    with scsctl.connect("emu://", transport=emu, data_dir=tmp_path, operator="rig") as device:
        device.write_program(program(0))
        device.write_program(program(1))
        device.measure_impedance()
    store = TrialStore.in_dir(tmp_path, operator="tech-a", now=Clock())
    app = ScsApp(ConnectTarget("emu://", data_dir=tmp_path, operator="tester", transport=emu), show_times=False,
                 port_lister=lambda: PortListing([]), status_interval_s=0.2)  # fmt: skip

    async def flow() -> None:
        async with app.run_test(size=(160, 50)) as pilot:
            await until(pilot, lambda: app.connected.is_set() and app.status is not None, "connected")
            screen = TrialScreen(store)
            app.push_screen(screen)
            await until(pilot, lambda: app.screen is screen and screen.query("#trial-summary"), "the screen shows")
            top = screen.query_one("#trial-summary", Static)
            await until(pilot, lambda: "No trial for device EMU5101-00000000 yet" in shown(top), "no trial yet")

            # A new trial: the dialog refuses a name as id and a baseline of 0, then creates it.
            await pilot.press("ctrl+n")
            await until(pilot, lambda: isinstance(app.screen, NewTrialDialog) and app.screen.query("#new-id"), "dialog")
            dialog = app.screen
            await pilot.pause()
            dialog.query_one("#new-baseline", Input).value = "0"
            dialog.query_one("#new-pain-area", Input).value = "low-back, foot-left"
            dialog.query_one("#new-start", Input).value = "today-6"
            error = dialog.query_one("#new-error", Static)
            dialog.query_one("#create", Button).press()
            await until(pilot, lambda: "leaves no pain to reduce" in shown(error), "a baseline of 0 is refused")
            dialog.query_one("#new-baseline", Input).value = "7"
            dialog.query_one("#new-id", Input).value = "Smith"
            dialog.query_one("#create", Button).press()
            await until(pilot, lambda: "looks like a name" in shown(error), "a name as trial id is refused")
            assert store.trials() == []
            dialog.query_one("#new-id", Input).value = ""
            dialog.query_one("#create", Button).press()
            await until(pilot, lambda: store.trials() != [], "the trial is stored")
            await until(pilot, lambda: screen.trial is not None, "the trial is open")
            (trial,) = store.trials()
            assert (trial.trial_id, trial.baseline_nrs, trial.device_serial) == ("T-2026-0001", 7, "EMU5101-00000000")
            assert [r.context for r in store.usage_readings(trial.trial_id)] == ["new"]

            # Coverage of slot 0, read back from the device; 'left active' is refused while nothing is selected.
            screen.query_one("#cov-slot", Select).value = 0
            screen.query_one("#cov-comfort", Select).value = 4
            screen.query_one("#cov-regions", Input).value = "lowback"
            await pilot.press("ctrl+k")
            await until(pilot, lambda: "unknown body region 'lowback'" in note(app), "an unknown region is refused")
            screen.query_one("#cov-regions", Input).value = "low-back-left, buttock-left"
            screen.query_one("#cov-left-active", Checkbox).value = True
            await pilot.press("ctrl+k")
            await until(pilot, lambda: "select it first" in note(app), "left active is refused")
            assert store.program_tests(trial.trial_id) == []
            screen.query_one("#cov-left-active", Checkbox).value = False
            await pilot.press("ctrl+k")
            await until(pilot, lambda: store.program_tests(trial.trial_id) != [], "the coverage is stored")
            (p1,) = store.program_tests(trial.trial_id)
            assert p1.capture.program == program(0)
            assert (p1.regions, p1.comfort) == (("low-back-left", "buttock-left"), 4)
            assert "P1 recorded" in note(app)

            # Diary: a bad score is refused, then three days are added and one is edited.
            date_input = screen.query_one("#diary-date", Input)
            nrs_input = screen.query_one("#diary-nrs", Input)
            date_input.value, nrs_input.value = "today", "11"
            await pilot.press("ctrl+d")
            await until(pilot, lambda: "outside the scale" in note(app), "NRS 11 is refused")
            for date, nrs, hours in (("today-2", "4", "20"), ("today-1", "3", "22"), ("today", "3", "12")):
                date_input.value, nrs_input.value = date, nrs
                screen.query_one("#diary-hours", Input).value = hours
                await pilot.press("ctrl+d")
                said = f"Diary {parse_day(date, TODAY)}"
                await until(pilot, lambda: said in note(app), f"{date} is stored")  # noqa: B023 - awaited here
            assert [e.nrs for e in store.diary(trial.trial_id)] == [4, 3, 3]
            date_input.value, nrs_input.value = "today", "2"
            screen.query_one("#diary-edit", Checkbox).value = True
            screen.query_one("#diary-reason", Input).value = "patient corrected the card"
            await pilot.press("ctrl+d")
            await until(pilot, lambda: "changed" in note(app), "the edit is stored")
            assert [e.nrs for e in store.diary(trial.trial_id)] == [4, 3, 2]
            assert [h.reason for h in store.diary_history(trial.trial_id)] == ["patient corrected the card"]
            await pilot.pause()
            summary = shown(screen.query_one("#trial-summary", Static))
            # Baseline 7, last days 4, 3, 2: mean 3.0, (7 - 3) / 7 = 57.1 % -> 57 %.
            assert "success: mean NRS of the last 3 diary days (3.0) is at least 50 % below the baseline (7)" in summary
            chart = shown(screen.query_one("#trial-chart", Static))
            assert f"▸day  7 {TODAY.month:02d}-{TODAY.day:02d} ██████" in chart
            assert "│ baseline 7" in chart and "┆ goal 3.5 (-50 %)" in chart

            await pilot.press("escape")
            await until(pilot, lambda: app.screen is not screen, "the trial screen closes")

    try:
        asyncio.run(flow())
    finally:
        store.close()
        emu.close()


# --- what a review found: the event loop never waits for the database; the keys work in text fields ---

GUARD_S = 30.0
"""How long a store waits for a locked database here: a hang guard, never a measurement."""


class WatchedStore(TrialStore):
    """Says when a diary entry started being stored and when that call returned."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.storing = threading.Event()
        self.returned = threading.Event()

    def add_diary(self, *args: Any, **kwargs: Any) -> DiaryEntry:
        self.storing.set()
        try:
            return super().add_diary(*args, **kwargs)
        finally:
            self.returned.set()


def output_ua(emu: EmulatedTransport) -> int:
    with emu.emulator.locked() as fw:
        return int(fw.output_ua)


def trial_app(tmp_path: Path, emu: EmulatedTransport) -> ScsApp:
    return ScsApp(ConnectTarget("emu://", data_dir=tmp_path, operator="tester", transport=emu), show_times=False,
                  port_lister=lambda: PortListing([]), status_interval_s=0.2)  # fmt: skip


def store_with_a_trial(tmp_path: Path, cls: type[TrialStore] = TrialStore) -> tuple[TrialStore, str]:
    store = cls(tmp_path / DB_NAME, operator="tech-a", now=Clock(), timeout_s=GUARD_S)
    trial = store.new_trial(device_serial="EMU5101-00000000", profile="tonic-burst-16", baseline_nrs=7,
                            start_date=day(1))  # fmt: skip
    return store, trial.trial_id


async def trial_screen(pilot: Pilot[None], store: TrialStore) -> TrialScreen:
    app = pilot.app
    assert isinstance(app, ScsApp)
    await until(pilot, lambda: app.connected.is_set() and app.status is not None, "connected")
    screen = TrialScreen(store)
    app.push_screen(screen)
    await until(pilot, lambda: app.screen is screen and screen.trial is not None, "the trial is open")
    await pilot.pause()
    return screen


def test_stop_goes_out_at_once_while_a_diary_entry_waits_for_the_locked_database(tmp_path: Path) -> None:
    emu = EmulatedTransport("emu://", seed=0)
    with scsctl.connect("emu://", transport=emu, data_dir=tmp_path, operator="rig") as device:
        device.write_program(program(0))  # a new electrode configuration is written at 0 mA first
        device.write_program(dataclasses.replace(program(0), amplitude_ua=500))
        device.measure_impedance()
        device.select(0)
        device.start(0)  # untethered: it stimulates on after this session
    store, trial_id = store_with_a_trial(tmp_path, WatchedStore)
    assert isinstance(store, WatchedStore)
    app = trial_app(tmp_path, emu)

    async def flow() -> None:
        async with app.run_test(size=(160, 50)) as pilot:
            screen = await trial_screen(pilot, store)
            assert output_ua(emu) == 500
            screen.query_one("#diary-nrs", Input).value = "4"
            screen.query_one("#diary-hours", Input).value = "10"
            # Another program holds the database (the audit log's and the trial records') locked.
            blocker = sqlite3.connect(tmp_path / DB_NAME, isolation_level=None)
            blocker.execute("BEGIN IMMEDIATE")
            try:
                await pilot.press("ctrl+d")
                await until(pilot, store.storing.is_set, "the diary entry is being stored")
                await pilot.press("f2")
                await until(pilot, lambda: output_ua(emu) == 0, "the STOP reached the device")
                assert not store.returned.is_set()  # all while the store call still waits for the lock
                assert "recorded" not in note(app)  # and nothing says the entry is stored
            finally:
                blocker.execute("ROLLBACK")
                blocker.close()
            await until(pilot, lambda: "Diary" in note(app) or store.diary(trial_id), "the entry is stored")
            assert [e.nrs for e in store.diary(trial_id)] == [4]
            await until(pilot, lambda: app.last_stop is not None, "the STOP is reported")
            assert app.last_stop is not None and app.last_stop.confirmed
            with emu.emulator.locked() as fw:
                assert fw.state not in OUTPUT_STATES

    try:
        asyncio.run(flow())
    finally:
        store.close()
        emu.close()


def test_ctrl_k_and_ctrl_d_act_while_typing_in_a_field(tmp_path: Path) -> None:
    emu = EmulatedTransport("emu://", seed=0)
    with scsctl.connect("emu://", transport=emu, data_dir=tmp_path, operator="rig") as device:
        device.write_program(program(0))
    store, trial_id = store_with_a_trial(tmp_path)
    app = trial_app(tmp_path, emu)

    async def flow() -> None:
        async with app.run_test(size=(160, 50)) as pilot:
            screen = await trial_screen(pilot, store)
            screen.query_one("#cov-slot", Select).value = 0
            screen.query_one("#cov-regions", Input).focus()
            # The cursor at the start: in a bare text field ctrl+k would delete the whole text.
            await pilot.press(*"low-back-left", "home", "ctrl+k")
            await until(pilot, lambda: store.program_tests(trial_id), "the coverage is stored")
            assert [t.regions for t in store.program_tests(trial_id)] == [("low-back-left",)]
            screen.query_one("#diary-nrs", Input).focus()
            await pilot.press("4", "home", "ctrl+d")  # ctrl+d would delete the 4
            await until(pilot, lambda: store.diary(trial_id), "the diary entry is stored")
            assert [e.nrs for e in store.diary(trial_id)] == [4]

    try:
        asyncio.run(flow())
    finally:
        store.close()
        emu.close()


def test_a_second_entry_for_a_day_names_the_box_to_tick_as_it_is_labelled(tmp_path: Path) -> None:
    emu = EmulatedTransport("emu://", seed=0)
    store, trial_id = store_with_a_trial(tmp_path)
    store.add_diary(trial_id, TODAY, 5)
    app = trial_app(tmp_path, emu)

    async def flow() -> None:
        async with app.run_test(size=(160, 50)) as pilot:
            screen = await trial_screen(pilot, store)
            screen.query_one("#diary-nrs", Input).value = "3"
            await pilot.press("ctrl+d")
            await until(pilot, lambda: "has a diary entry for" in note(app), "the second entry is refused")
            quoted = re.search(r"tick '([^']+)'", note(app))
            assert quoted is not None, note(app)
            label = str(screen.query_one("#diary-edit", Checkbox).label)
            assert label.startswith(quoted.group(1)), (quoted.group(1), label)
            assert [e.nrs for e in store.diary(trial_id)] == [5]

    try:
        asyncio.run(flow())
    finally:
        store.close()
        emu.close()


def test_the_trial_screen_shows_entries_made_elsewhere_and_the_live_stimulation_state(tmp_path: Path) -> None:
    emu = EmulatedTransport("emu://", seed=0)
    store, trial_id = store_with_a_trial(tmp_path)
    elsewhere = TrialStore(tmp_path / DB_NAME, operator="tech-b", now=Clock(), timeout_s=GUARD_S)  # another process
    app = trial_app(tmp_path, emu)

    async def flow() -> None:
        async with app.run_test(size=(160, 50)) as pilot:
            screen = await trial_screen(pilot, store)
            assert "stimulation off" in shown(screen.query_one("#trial-live", Static))
            elsewhere.add_diary(trial_id, day(2), 4, notes="from the CLI")
            await until(pilot, lambda: "from the CLI" in str(screen._shown_view), "the entry shows without a key press")
            diary = screen.query_one("#trial-diary")
            assert diary.row_count == 1  # type: ignore[attr-defined]

    try:
        asyncio.run(flow())
    finally:
        elsewhere.close()
        store.close()
        emu.close()

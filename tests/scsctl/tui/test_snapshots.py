"""Snapshots of the main screens at a fixed terminal size (``SIZE``), on the emulator with seed 0.

Clocks, ages and round-trip times are masked (``show_times=False``); each snapshot is taken once
the screen has settled on a state the device confirmed. Update with ``pytest --snapshot-update``
after looking at the new SVGs (``tests/scsctl/tui/__snapshots__/``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from firmware_protocol.constants import State
from scsctl.transports.emulated import EmulatedTransport
from scsctl.tui.app import ScsApp
from scsctl.tui.screens.connect import ConnectScreen
from scsctl.tui.screens.main import MainScreen
from scsctl.tui.screens.start_dialog import StartDialog

from .conftest import bipolar, connected, prepare, until

Snap = Callable[..., bool]

SIZES = pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
"""Every screen and dialog at the smallest terminal it must work in and at a large one."""


def _app(pilot: Pilot[None]) -> ScsApp:
    assert isinstance(pilot.app, ScsApp)
    return pilot.app


async def settle(pilot: Pilot[None]) -> None:
    """Until no controller call runs and the last one's effects are drawn."""
    app = _app(pilot)
    await until(pilot, lambda: not app.busy, "the device calls are done")
    await pilot.pause()
    # Where a short terminal left the program tab scrolled depends on when the focus moved: start
    # every snapshot at its top.
    for screen in app.screen_stack:
        if isinstance(screen, MainScreen):
            screen.query_one("#program-tab").scroll_home(animate=False, immediate=True)
    await pilot.pause()


@SIZES
def test_main_screen_with_a_saved_bipolar_program(
    size: tuple[int, int], snap_compare: Snap, make_app: Callable[..., ScsApp]
) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await connected(pilot)
        await pilot.press("e", "plus", "right", "minus", "s")
        await until(pilot, lambda: 0 in _app(pilot).programs, "slot 0 is saved")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=size, run_before=run_before)


@SIZES
def test_impedance_tab_after_a_check(
    size: tuple[int, int], snap_compare: Snap, make_app: Callable[..., ScsApp]
) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await connected(pilot)
        await pilot.press("m")
        await until(pilot, lambda: _app(pilot).impedance is not None, "the impedance is measured")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=size, run_before=run_before)


@SIZES
def test_start_dialog_asks_first(
    size: tuple[int, int], snap_compare: Snap, make_app: Callable[..., ScsApp], emu: EmulatedTransport, tmp_path: Path
) -> None:
    prepare(emu, tmp_path, bipolar(amplitude_ua=2000, ramp_up_ms=4000))

    async def run_before(pilot: Pilot[None]) -> None:
        await connected(pilot)
        await pilot.press("g")
        await until(pilot, lambda: isinstance(pilot.app.screen, StartDialog), "the dialog is open")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=size, run_before=run_before)


@SIZES
def test_stimulating_with_a_tentative_change_and_a_refusal(
    size: tuple[int, int], snap_compare: Snap, make_app: Callable[..., ScsApp], emu: EmulatedTransport, tmp_path: Path
) -> None:
    prepare(emu, tmp_path, bipolar(amplitude_ua=500, patient_max_ua=700))

    async def run_before(pilot: Pilot[None]) -> None:
        app = _app(pilot)
        await connected(pilot)
        await pilot.press("g", "enter")
        await until(pilot, lambda: app.status is not None and app.status.state == State.STIMULATING, "stimulating")
        await pilot.press("escape", "a", "up", "up")
        await until(pilot, lambda: app.status is not None and app.status.setpoint_ua == 700, "0.7 mA is set")
        await pilot.press("up")
        await until(pilot, lambda: app.note is not None and "refused" in app.note.title, "the refusal is shown")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=size, run_before=run_before)


@SIZES
def test_connect_screen_after_a_failed_connection(
    size: tuple[int, int], snap_compare: Snap, make_app: Callable[..., ScsApp]
) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        screen: Any = pilot.app.screen
        assert isinstance(screen, ConnectScreen)
        await until(pilot, lambda: not screen.connecting, "the connection attempt failed")
        await until(pilot, lambda: screen.query_one("#ports").option_count >= 4, "the ports are listed")
        await pilot.pause()

    assert snap_compare(make_app("/dev/scsctl-no-such-port"), terminal_size=size, run_before=run_before)


@SIZES
def test_help_screen(size: tuple[int, int], snap_compare: Snap, make_app: Callable[..., ScsApp]) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await connected(pilot)
        await pilot.press("question_mark")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=size, run_before=run_before)


@SIZES
def test_value_dialog_for_a_setting(size: tuple[int, int], snap_compare: Snap, make_app: Callable[..., ScsApp]) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await connected(pilot)
        await pilot.press("v", "enter")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=size, run_before=run_before)


@SIZES
def test_stopped_message_waits_for_ok(
    size: tuple[int, int], snap_compare: Snap, make_app: Callable[..., ScsApp]
) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        app = _app(pilot)
        await connected(pilot)
        await pilot.press("f2")
        await until(pilot, lambda: app.note is not None and app.note.title.startswith("STOPPED"), "STOPPED")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=size, run_before=run_before)


@SIZES
def test_device_tab(size: tuple[int, int], snap_compare: Snap, make_app: Callable[..., ScsApp]) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await connected(pilot)
        await pilot.press("4")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=size, run_before=run_before)


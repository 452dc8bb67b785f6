"""Snapshots of the raw-frame console at the smallest terminal it must work in and a large one, on
the emulator with seed 0 (times masked). Update with ``pytest --snapshot-update`` after looking at
the new SVGs (``tests/scsctl/tui/__snapshots__/``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

from scsctl.transports.emulated import EmulatedTransport
from scsctl.trust import OsUser, Policy
from scsctl.tui.app import ScsApp
from scsctl.tui.screens.raw_console import RawConsoleScreen

from .conftest import bipolar, connected, prepare, until

Snap = Callable[..., bool]

SIZES = pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])


def engineer_app(make_app: Callable[..., ScsApp]) -> ScsApp:
    return make_app(role="engineer", policy=Policy.granting(OsUser.current().name, source="test policy"))


async def send(pilot: Pilot[None], typed: str) -> None:
    app = pilot.app
    assert isinstance(app, ScsApp)
    await connected(pilot)
    await pilot.press("f")
    screen = app.screen
    assert isinstance(screen, RawConsoleScreen)
    await pilot.press(*typed, "enter")
    await until(pilot, lambda: not app.busy and not screen.sending, "the frame is answered")
    await pilot.pause()


@SIZES
def test_raw_console_with_a_reply_and_its_audit_records(
    size: tuple[int, int], snap_compare: Snap, make_app: Callable[..., ScsApp], emu: EmulatedTransport, tmp_path: Path
) -> None:
    prepare(emu, tmp_path, bipolar(amplitude_ua=1500, ramp_up_ms=3000))

    async def run_before(pilot: Pilot[None]) -> None:
        await send(pilot, "READ_PROGRAM 00")

    assert snap_compare(engineer_app(make_app), terminal_size=size, run_before=run_before)


@SIZES
def test_raw_console_refusing_text_that_is_not_hex(
    size: tuple[int, int], snap_compare: Snap, make_app: Callable[..., ScsApp]
) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await send(pilot, "22 0G")

    assert snap_compare(engineer_app(make_app), terminal_size=size, run_before=run_before)

"""Snapshots of every screen and dialog (``scenes.SCENES``) at the smallest terminal it must work in
and at a large one, on the emulator with seed 0.

Clocks, ages and round-trip times are masked (``show_times=False``); the trial records are on fixed
dates; each snapshot is taken once the screen has settled on a state the device confirmed. Update
with ``pytest --snapshot-update`` after looking at the new SVGs (``tests/scsctl/tui/__snapshots__/``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from scsctl.transports.emulated import EmulatedTransport

from .scenes import SCENES, scene_app

Snap = Callable[..., bool]

SIZES = [(80, 24), (160, 48)]
"""Every screen and dialog at the smallest terminal it must work in and at a large one."""

SNAPPED = [
    "connect-failed",
    "main-saved-program",
    "impedance-tab",
    "device-tab",
    "help",
    "profile",
    "value-dialog",
    "start-dialog",
    "stimulating",
    "stopped-message",  # the STOP message, waiting for OK (k)
    "acknowledge-dialog",  # a charge-density warning, acknowledged before the program is written
    "quit-dialog",
    "confirm-save-over",
    "confirm-save-over-running",  # saving over the slot that is running: stop, then write
    "confirm-stop-then-select",
    "confirm-longer-ramp",
    "trial-screen",
    "new-trial-dialog",
]


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
@pytest.mark.parametrize("name", SNAPPED)
def test_screen(
    name: str, size: tuple[int, int], snap_compare: Snap, emu: EmulatedTransport, tmp_path: Path
) -> None:
    scene = SCENES[name]
    with scene_app(scene, tmp_path, emu) as app:
        assert snap_compare(app, terminal_size=size, run_before=scene.go)

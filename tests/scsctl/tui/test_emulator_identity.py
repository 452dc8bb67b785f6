"""An emulator says what it is in its identity, the TUI banners it on any port, and each instance
has its own serial (two emulators' trials never mix)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import scsctl
from scsctl.controller.target import ConnectTarget
from scsctl.tui.app import ScsApp

from ..processes import serving_process
from .conftest import SIZE, connected, text_of


@pytest.fixture
def second_pty_emulator() -> Iterator[str]:
    yield from serving_process(sys.executable, "-m", "scsctl.cli.main", "emulator", "--pty")


async def test_an_emulator_on_a_pseudo_terminal_is_bannered_as_an_emulator(pty_emulator: str, tmp_path: Path) -> None:
    app = ScsApp(ConnectTarget(pty_emulator, data_dir=tmp_path, operator="tech"), show_times=False)
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        assert app.device is not None and app.device.identity.is_emulator
        banner = text_of(app, "#banner")
        assert "EMULATOR" in banner and app.device.identity.serial in banner and "not a real device" in banner
        assert app.sub_title.startswith("EMULATOR - not a real device on ")


def test_two_emulator_instances_have_their_own_serials(
    pty_emulator: str, second_pty_emulator: str, tmp_path: Path
) -> None:
    serials = set()
    for port in (pty_emulator, second_pty_emulator):
        with scsctl.connect(port, data_dir=tmp_path, operator="rig") as device:
            assert device.identity.is_emulator
            serials.add(device.identity.serial)
    assert len(serials) == 2

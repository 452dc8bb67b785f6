"""Fixtures for the TUI: the app on an in-process emulator, and waiting without sleeping blindly."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot

import scsctl
from firmware_protocol import messages as m
from firmware_protocol.constants import State
from scsctl.audit import AuditLog
from scsctl.controller.target import ConnectTarget
from scsctl.parsing import electrodes
from scsctl.transports.emulated import EmulatedTransport
from scsctl.transports.ports import PortInfo, PortListing
from scsctl.tui.app import ScsApp


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run ``async def`` tests here with ``asyncio.run`` (no async plugin is a dependency)."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    asyncio.run(pyfuncitem.obj(**{name: pyfuncitem.funcargs[name] for name in names}))
    return True


SIZE = (160, 50)
"""The terminal every TUI test and snapshot runs in."""


def fake_ports() -> PortListing:
    """A machine with one USB serial adapter of a known model (this machine's ports vary)."""
    adapter = PortInfo("/dev/ttyUSB7", "serial", "CP2102 USB to UART", 0x1209, 0x5101, "A1", "tonic-burst-16")
    return PortListing([adapter])


@pytest.fixture
def emu() -> Iterator[EmulatedTransport]:
    transport = EmulatedTransport("emu://", seed=0)
    yield transport
    transport.close()


@pytest.fixture
def make_app(tmp_path: Path, emu: EmulatedTransport) -> Callable[..., ScsApp]:
    def make(url: str = "emu://", **target: object) -> ScsApp:
        options: dict[str, object] = {"data_dir": tmp_path, "operator": "tester"}
        if url == "emu://":
            options["transport"] = emu
        options.update(target)
        return ScsApp(
            ConnectTarget(url, **options),
            show_times=False,
            port_lister=fake_ports,  # type: ignore[arg-type]
            status_interval_s=1.0,
        )

    return make


def bipolar(slot: int = 0, amplitude_ua: int = 0, **kw: int) -> m.Program:
    fields: dict[str, int] = {"ramp_up_ms": 0, "patient_max_ua": 5000, **kw}
    return m.Program(
        slot=slot,
        amplitude_ua=amplitude_ua,
        pulse_width_us=300,
        rate_dhz=500,
        contacts=electrodes("1+ 2-", 16),
        **fields,
    )  # type: ignore[arg-type]


def prepare(emu: EmulatedTransport, data_dir: Path, *programs: m.Program, measure: bool = True) -> None:
    """Put programs into the emulated device (and check impedance) in a session of its own."""
    with scsctl.connect("emu://", transport=emu, data_dir=data_dir, operator="rig") as device:
        device.sleep = lambda s: None
        for program in programs:
            if program.amplitude_ua:  # a new electrode configuration is written at 0 mA first
                device.write_program(dataclasses.replace(program, amplitude_ua=0))
            device.write_program(program)
        if measure:
            device.measure_impedance()


async def until(pilot: Pilot[None], condition: Callable[[], object], what: str, polls: int = 1500) -> None:
    """Wait for ``condition`` in short polls (at most ``polls`` polls of 10 ms or more), else fail naming ``what``."""
    for _ in range(polls):
        if condition():
            return
        await pilot.pause(0.01)
    raise AssertionError(f"timed out waiting until {what}")


async def connected(pilot: Pilot[None]) -> None:
    app = pilot.app
    assert isinstance(app, ScsApp)
    await until(pilot, lambda: app.connected.is_set() and app.status is not None, "the device is connected")
    await pilot.pause()


def text_of(app: ScsApp, selector: str) -> str:
    """The plain text a widget shows now (Static content or a widget's own render)."""
    from rich.console import Console
    from textual.widgets import Static

    widget = app.screen.query_one(selector)
    renderable = widget.content if isinstance(widget, Static) else widget.render()
    console = Console(width=400, record=True, color_system=None, file=open(os.devnull, "w"))  # noqa: SIM115
    console.print(renderable)
    return console.export_text()


def state(app: ScsApp) -> State | None:
    """The device's state as the app last drew it."""
    return app.status.state if app.status is not None else None


def commands_sent(data_dir: Path) -> list[str]:
    """Every command the audit log says went to the device, in order."""
    return [r.name for r in AuditLog.in_dir(data_dir).query() if r.kind == "command"]


async def start_from_the_tui(pilot: Pilot[None]) -> None:
    """Start the selected slot as a technician does (g, then Enter in the dialog) and wait for output."""
    app = pilot.app
    assert isinstance(app, ScsApp)
    await pilot.press("g", "enter")
    await until(pilot, lambda: state(app) == State.STIMULATING, "stimulation is on")

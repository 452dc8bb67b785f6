"""Every screen and dialog of the TUI, each reached as a user reaches it, on the emulator (seed 0).

A ``Scene`` is what the device holds before the app starts (``prepare``) and the keys that lead to
the screen (``go``); the snapshots (``test_snapshots.py``) and the check that nothing is cut at any
terminal size (``test_nothing_cut.py``) both walk them. Clocks are masked (``show_times=False``) and
the trial records run on a fixed date, so a scene looks the same on every run and every day.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Select

from firmware_protocol import messages as m
from firmware_protocol.constants import State
from scsctl.controller.target import ConnectTarget
from scsctl.transports.emulated import EmulatedTransport
from scsctl.trial import ProgramCapture, TrialStore
from scsctl.tui.app import ScsApp
from scsctl.tui.screens.connect import ConnectScreen
from scsctl.tui.screens.dialogs import AcknowledgeDialog, ConfirmDialog, QuitDialog, ValueDialog
from scsctl.tui.screens.help import ProfileScreen
from scsctl.tui.screens.main import MainScreen
from scsctl.tui.screens.start_dialog import StartDialog
from scsctl.tui.trial_screen import NewTrialDialog, TrialScreen

from .conftest import bipolar, connected, fake_ports, prepare, state, until

Go = Callable[[Pilot[None]], Awaitable[None]]

TRIAL_NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
"""The present the trial records of the trial scenes live in (the dates shown never change)."""


def scs(pilot: Pilot[None]) -> ScsApp:
    assert isinstance(pilot.app, ScsApp)
    return pilot.app


async def settle(pilot: Pilot[None]) -> None:
    """Until no controller call runs and the last one's effects are drawn."""
    app = scs(pilot)
    await until(pilot, lambda: not app.busy, "the device calls are done")
    await pilot.pause()
    # Where a short terminal left the program tab scrolled depends on when the focus moved: start
    # every scene at its top.
    for screen in app.screen_stack:
        if isinstance(screen, MainScreen):
            screen.query_one("#program-tab").scroll_home(animate=False, immediate=True)
    await pilot.pause()


async def shown(pilot: Pilot[None], kind: type, what: str) -> None:
    await until(pilot, lambda: isinstance(pilot.app.screen, kind), what)
    await settle(pilot)


@dataclass(frozen=True)
class Scene:
    go: Go
    programs: tuple[m.Program, ...] = ()
    """Written to the device (and its impedance checked) before the app starts."""
    url: str = "emu://"
    """``emu://`` for the tonic-burst-16 emulator of the ``emu`` fixture; ``emu://MODEL`` for another."""
    trial: bool = field(default=False)
    """A trial of the emulated device, with a diary and a program, in the data folder (its dates are
    fixed: what the trial screen shows does not depend on the day it is opened)."""


async def _connect_failed(pilot: Pilot[None]) -> None:
    screen: Any = pilot.app.screen
    assert isinstance(screen, ConnectScreen)
    await until(pilot, lambda: not screen.connecting, "the connection attempt failed")
    await until(pilot, lambda: screen.query_one("#ports").option_count >= 4, "the ports are listed")
    await pilot.pause()


async def _main(pilot: Pilot[None]) -> None:
    await connected(pilot)
    await settle(pilot)


async def _saved_program(pilot: Pilot[None]) -> None:
    await connected(pilot)
    await pilot.press("e", "plus", "right", "minus", "s")
    await until(pilot, lambda: 0 in scs(pilot).programs, "slot 0 is saved")
    await settle(pilot)


def _keys(*keys: str, kind: type | None = None) -> Go:
    async def go(pilot: Pilot[None]) -> None:
        await connected(pilot)
        await pilot.press(*keys)
        if kind is not None:
            await shown(pilot, kind, f"{kind.__name__} is open")
        else:
            await settle(pilot)

    return go


async def _impedance(pilot: Pilot[None]) -> None:
    await connected(pilot)
    await pilot.press("m")
    await until(pilot, lambda: scs(pilot).impedance is not None, "the impedance is measured")
    await settle(pilot)


async def _start(pilot: Pilot[None]) -> None:
    app = scs(pilot)
    await pilot.press("g", "enter")
    await until(pilot, lambda: state(app) == State.STIMULATING, "stimulating")
    await pilot.press("escape")


async def _tentative_and_refused(pilot: Pilot[None]) -> None:
    app = scs(pilot)
    await connected(pilot)
    await _start(pilot)
    await pilot.press("a", "up", "up")
    await until(pilot, lambda: app.status is not None and app.status.setpoint_ua == 700, "0.7 mA is set")
    await pilot.press("up")
    await until(pilot, lambda: app.note is not None and "refused" in app.note.title, "the refusal is shown")
    await settle(pilot)


async def _stopped(pilot: Pilot[None]) -> None:
    app = scs(pilot)
    await connected(pilot)
    await pilot.press("f2")
    await until(pilot, lambda: app.note is not None and app.note.title.startswith("STOPPED"), "STOPPED")
    await settle(pilot)


async def _quit_while_running(pilot: Pilot[None]) -> None:
    await connected(pilot)
    await _start(pilot)
    await pilot.press("ctrl+q")
    await shown(pilot, QuitDialog, "the quit dialog is open")


async def _save_over_a_slot(pilot: Pilot[None]) -> None:
    await connected(pilot)
    await pilot.press("n", "e", "plus", "right", "minus", "s")  # a new draft for slot 0, at 0.0 mA
    await shown(pilot, ConfirmDialog, "the overwrite is asked about")


async def _save_over_the_running_slot(pilot: Pilot[None]) -> None:
    await connected(pilot)
    await _start(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, MainScreen)
    screen.draft = dataclasses.replace(screen.draft, amplitude_ua=300, pulse_width_us=250)  # as if typed
    await pilot.pause()
    await pilot.press("s")
    await shown(pilot, ConfirmDialog, "stop-then-write is asked about")


async def _profile(pilot: Pilot[None]) -> None:
    from rich.text import Text
    from textual.widgets import Static

    await _keys("l", kind=ProfileScreen)(pilot)
    # The profile's file is named by its full path: the same picture from any checkout's folder.
    shown_text = pilot.app.screen.query_one("#profile-text", Static)
    checkout = str(Path(__file__).resolve().parents[3])
    shown_text.update(Text(str(shown_text.render()).replace(checkout, "/checkout")))
    await settle(pilot)


async def _stop_then_select(pilot: Pilot[None]) -> None:
    await connected(pilot)
    await _start(pilot)
    pilot.app.screen.query_one("#programs").focus()
    await pilot.press("down", "x")
    await shown(pilot, ConfirmDialog, "stop-then-select is asked about")


async def _commit_needs_a_longer_ramp(pilot: Pilot[None]) -> None:
    app = scs(pilot)
    await connected(pilot)
    await _start(pilot)
    await pilot.press("a", "enter")
    await until(pilot, lambda: isinstance(app.screen, ValueDialog), "the amplitude dialog is open")
    await pilot.press(*["backspace"] * 8, *"3.5mA", "enter")
    await until(pilot, lambda: app.status is not None and app.status.setpoint_ua == 3500, "3.5 mA is set")
    await until(pilot, lambda: not app.busy, "the calls are done")
    await pilot.press("c")
    await until(pilot, lambda: app.programs[0].amplitude_ua == 3500, "the commit is read back")
    await pilot.press("f2")
    await until(pilot, lambda: state(app) == State.PROGRAMMED, "stopped")
    await until(pilot, lambda: app.note is not None and app.note.title.startswith("STOPPED"), "STOPPED")
    await pilot.press("k", "g")
    await shown(pilot, ConfirmDialog, "the longer ramp-up is offered")


async def _charge_density_warning(pilot: Pilot[None]) -> None:
    from scsctl.tui.widgets.param_list import ParamList

    app = scs(pilot)
    await connected(pilot)
    await pilot.press("e", "plus", "right", "minus", "v")
    screen = app.screen
    rows = [s.key for s in screen.query_one(ParamList).specs]
    await pilot.press(*["down"] * rows.index("patient_max_ua"), "enter", *"4.5mA", "enter")
    await pilot.press("s")
    await shown(pilot, AcknowledgeDialog, "the warning is asked about")


async def _trial_screen(pilot: Pilot[None]) -> None:
    app = scs(pilot)
    await connected(pilot)
    await pilot.press("t")
    await until(pilot, lambda: isinstance(app.screen, TrialScreen), "the trial screen is open")
    screen = app.screen
    assert isinstance(screen, TrialScreen)
    await until(pilot, lambda: screen.trial is not None and screen._shown_view is not None, "the trial is shown")
    slot = screen.query_one("#cov-slot", Select)
    await until(pilot, lambda: any(value == 0 for _prompt, value in slot._options), "slot 0 is offered")
    slot.value = 0  # the longest choice: a slot with its settings
    await settle(pilot)


async def _new_trial_dialog(pilot: Pilot[None]) -> None:
    await _trial_screen(pilot)
    await pilot.press("ctrl+n")
    await shown(pilot, NewTrialDialog, "the new-trial dialog is open")


SCENES: dict[str, Scene] = {
    "connect-failed": Scene(_connect_failed, url="/dev/scsctl-no-such-port"),
    "main": Scene(_main),
    "main-saved-program": Scene(_saved_program),
    "impedance-tab": Scene(_impedance),
    "events-tab": Scene(_keys("3")),
    "device-tab": Scene(_keys("4")),
    "help": Scene(_keys("question_mark")),
    "profile": Scene(_profile),
    "ports": Scene(_keys("p", kind=ConnectScreen)),
    "value-dialog": Scene(_keys("v", "enter", kind=ValueDialog)),
    "start-dialog": Scene(_keys("g", kind=StartDialog), (bipolar(amplitude_ua=2000, ramp_up_ms=4000),)),
    "stimulating": Scene(_tentative_and_refused, (bipolar(amplitude_ua=500, patient_max_ua=700),)),
    "stopped-message": Scene(_stopped),
    "acknowledge-dialog": Scene(_charge_density_warning, url="emu://drg-4x4"),
    "quit-dialog": Scene(_quit_while_running, (bipolar(amplitude_ua=500),)),
    "confirm-save-over": Scene(_save_over_a_slot, (bipolar(amplitude_ua=1500, ramp_up_ms=3000),)),
    "confirm-save-over-running": Scene(_save_over_the_running_slot, (bipolar(amplitude_ua=500),)),
    "confirm-stop-then-select": Scene(_stop_then_select, (bipolar(slot=0), bipolar(slot=1))),
    "confirm-longer-ramp": Scene(_commit_needs_a_longer_ramp, (bipolar(ramp_up_ms=2000),)),
    "trial-screen": Scene(_trial_screen, (bipolar(amplitude_ua=1000, ramp_up_ms=2000),), trial=True),
    "new-trial-dialog": Scene(_new_trial_dialog, (bipolar(amplitude_ua=1000, ramp_up_ms=2000),), trial=True),
}


def _record_trial(data_dir: Path, serial: str, profile: str) -> TrialStore:
    """A trial begun on 2026-11-15: pain in the low back and left foot, four diary days, one program."""
    store = TrialStore.in_dir(data_dir, operator="tech-a", now=lambda: TRIAL_NOW)
    trial = store.new_trial(device_serial=serial, profile=profile, baseline_nrs=7, start_date=date(2026, 11, 15),
                            pain_regions="low-back, foot-left")  # fmt: skip
    program = bipolar(amplitude_ua=1000)
    store.record_program(trial.trial_id, ProgramCapture(serial, program, "2026-11-15T10:00:00+00:00", True, 1000,
                         False), regions="low-back-left, buttock-left", comfort=4, notes="left side only")  # fmt: skip
    for day, nrs, drug in [(15, 6, "same"), (16, 5, "same"), (17, 4, "less"), (18, 3, "less")]:
        store.add_diary(trial.trial_id, date(2026, 11, day), nrs, stimulation_s=20 * 3600, analgesics=drug)
    return store


@contextmanager
def scene_app(scene: Scene, tmp_path: Path, emu: EmulatedTransport) -> Iterator[ScsApp]:
    """The app for ``scene``, its device prepared (``emu`` unless the scene names another model)."""
    own: EmulatedTransport | None = None
    transport = emu
    if scene.url.startswith("emu://") and scene.url != "emu://":
        own = transport = EmulatedTransport(scene.url, seed=0)
    options: dict[str, Any] = {"data_dir": tmp_path, "operator": "tester"}
    if scene.url.startswith("emu://"):
        options["transport"] = transport
    try:
        if scene.programs:
            prepare(transport, tmp_path, *scene.programs)
        if scene.trial:
            _record_trial(tmp_path, "EMU5101-00000000", "tonic-burst-16").close()
        app = ScsApp(
            ConnectTarget(scene.url, **options),
            show_times=False,
            port_lister=fake_ports,  # type: ignore[arg-type]
            status_interval_s=1.0,
        )
        yield app
    finally:
        if own is not None:
            own.close()

"""The raw-frame console: an engineer's, reached by f or the command palette; frames are read by the
controller and sent under the rules of every command (guarded, audited); F2 stops and closes it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from textual.command import CommandPalette

from firmware_protocol.constants import State
from scsctl.audit import AuditLog
from scsctl.transports.emulated import EmulatedTransport
from scsctl.trust import OsUser, Policy
from scsctl.tui.app import ScsApp
from scsctl.tui.screens.help import HelpScreen
from scsctl.tui.screens.main import MainScreen
from scsctl.tui.screens.raw_console import RawConsoleScreen

from .conftest import SIZE, bipolar, commands_sent, connected, prepare, start_from_the_tui, state, text_of, until

MakeApp = Callable[..., ScsApp]


def engineer_app(make_app: MakeApp) -> ScsApp:
    return make_app(role="engineer", policy=Policy.granting(OsUser.current().name, source="test policy"))


def raw_records(data_dir: Path) -> list[tuple[str, str]]:
    return [(r.kind, str(r.detail.get("reply") or r.detail.get("type"))) for r in AuditLog.in_dir(data_dir).query()
            if r.name == "RAW_FRAME"]  # fmt: skip


async def type_and_send(pilot, typed: str) -> None:  # type: ignore[no-untyped-def]
    app = pilot.app
    assert isinstance(app.screen, RawConsoleScreen)
    await pilot.press("ctrl+a", "ctrl+k", *typed, "enter")  # the field emptied first, as a user would
    await until(pilot, lambda: not app.busy and not app.screen.sending, "the frame is answered")
    await pilot.pause()


async def console_over_running_output(pilot) -> RawConsoleScreen:  # type: ignore[no-untyped-def]
    """Connected, the program started from the TUI, and the console opened over it."""
    await connected(pilot)
    await start_from_the_tui(pilot)
    await pilot.press("escape", "f")
    console = pilot.app.screen
    assert isinstance(console, RawConsoleScreen)
    return console


def footer(app: ScsApp) -> str:
    return " ".join(text_of(app, ".keys").split())


async def test_an_engineer_sends_get_status_and_sees_the_reply_decoded_and_the_audit_records(
    make_app: MakeApp, tmp_path: Path
) -> None:
    app = engineer_app(make_app)
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        assert "f Raw frames" in footer(app)
        await pilot.press("f")
        assert isinstance(app.screen, RawConsoleScreen)
        await type_and_send(pilot, "GET_STATUS")
        reply = " ".join(text_of(app, "#raw-reply").split())
        assert "sent GET_STATUS (0x02), payload -" in reply
        assert "reply STATUS (0x82), payload" in reply
        assert "state=IDLE" in reply
        assert "audit command RAW_FRAME: GET_STATUS, guard checked" in reply
        assert "reply RAW_FRAME: STATUS" in reply
        assert text_of(app, "#raw-problem").strip() == ""
    assert raw_records(tmp_path) == [("command", "GET_STATUS"), ("reply", "STATUS")]


async def test_the_console_is_in_the_help_and_the_command_palette_for_an_engineer(make_app: MakeApp) -> None:
    app = engineer_app(make_app)
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Raw frames (f)" in titles
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        assert "Raw frames" in text_of(app, "#help-text")
        await pilot.press("escape")
        await pilot.press("ctrl+p")
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"raw frames")
        await pilot.pause(0.3)  # the palette searches in a worker
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, RawConsoleScreen), "the console opens from the palette")


async def test_a_technician_is_refused_naming_the_role_and_is_not_offered_the_key(
    make_app: MakeApp, tmp_path: Path
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        assert "Raw frames" not in footer(app)
        assert not any("Raw frames" in c.title for c in app.get_system_commands(app.screen))
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        assert "Raw frames" not in text_of(app, "#help-text")
        await pilot.press("escape", "f")
        assert isinstance(app.screen, MainScreen)
        assert app.note is not None and app.note.title == "Raw frames: for the engineer role only"
        assert "this session's role is technician; nothing was sent" in app.note.text
    assert raw_records(tmp_path) == []


async def test_text_that_is_not_hex_is_refused_naming_the_problem_and_sends_nothing(
    make_app: MakeApp, tmp_path: Path
) -> None:
    app = engineer_app(make_app)
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        sent_before = commands_sent(tmp_path)
        await pilot.press("f")
        await type_and_send(pilot, "22 0G")
        problem = " ".join(text_of(app, "#raw-problem").split())
        assert problem.startswith("Not sent: 'G' is not a hex digit (0-9, A-F) in '22 0G'")
        assert "Nothing sent yet." in text_of(app, "#raw-reply")
        await type_and_send(pilot, "02 0")
        assert "Not sent: 3 hex digits in '02 0'" in " ".join(text_of(app, "#raw-problem").split())
        assert app.screen.query_one("#raw-input").value == "02 0"  # kept, to be corrected
    assert raw_records(tmp_path) == []
    assert commands_sent(tmp_path) == sent_before


async def test_a_stimulation_frame_outside_the_limits_is_refused_by_the_guard(
    make_app: MakeApp, emu: EmulatedTransport, tmp_path: Path
) -> None:
    prepare(emu, tmp_path, bipolar(amplitude_ua=500))
    app = engineer_app(make_app)
    async with app.run_test(size=SIZE) as pilot:
        await console_over_running_output(pilot)
        await type_and_send(pilot, "22 60 EA 01")  # SET_AMPLITUDE 60.0 mA, commit
        problem = " ".join(text_of(app, "#raw-problem").split())
        assert "raw frame: refused by scsctl's safety check - nothing was sent" in problem
        assert "amplitude" in problem.lower() and "60.0 mA" in problem
        assert app.status is not None and app.status.setpoint_ua == 500
        device = app.device
        assert device is not None and device.status().setpoint_ua == 500
    assert [r.name for r in AuditLog.in_dir(tmp_path).query() if r.kind == "refusal"] == ["RAW_FRAME"]
    assert ("command", "SET_AMPLITUDE") not in raw_records(tmp_path)


async def test_f2_while_the_console_is_open_stops_and_closes_it(
    make_app: MakeApp, emu: EmulatedTransport, tmp_path: Path
) -> None:
    prepare(emu, tmp_path, bipolar(amplitude_ua=500))
    app = engineer_app(make_app)
    async with app.run_test(size=SIZE) as pilot:
        await console_over_running_output(pilot)
        await pilot.press(*"GET_ST", "f2")  # F2 works inside the text field too
        await until(pilot, lambda: state(app) == State.PROGRAMMED, "stopped")
        assert isinstance(app.screen, MainScreen)
        assert app.last_stop is not None and app.last_stop.confirmed
    assert commands_sent(tmp_path)[-1] == "STOP"
    assert raw_records(tmp_path) == []  # what was being typed was not sent


@pytest.mark.parametrize("earlier_frame_waiting", [False, True], ids=["console-idle", "a-frame-still-waiting"])
async def test_a_stop_typed_in_the_console_is_the_stop_key(
    make_app: MakeApp, emu: EmulatedTransport, tmp_path: Path, earlier_frame_waiting: bool
) -> None:
    prepare(emu, tmp_path, bipolar(amplitude_ua=500))
    app = engineer_app(make_app)
    async with app.run_test(size=SIZE) as pilot:
        console = await console_over_running_output(pilot)
        # An earlier frame (a slow measurement, say) still waiting for its reply holds back other
        # frames typed here, never a STOP.
        console.sending = earlier_frame_waiting
        await pilot.press(*"STOP", "enter")
        await until(pilot, lambda: app.last_stop is not None, "the STOP is confirmed")
        await until(pilot, lambda: state(app) == State.PROGRAMMED, "stopped")
        assert isinstance(app.screen, MainScreen)  # closed, as F2 closes it
        assert app.last_stop is not None and app.last_stop.confirmed
        assert app.note is not None and app.note.title == "STOPPED: the device confirmed all outputs are off"
    assert commands_sent(tmp_path)[-1] == "STOP"
    assert raw_records(tmp_path) == []  # recorded as the STOP it is

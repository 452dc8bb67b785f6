"""Each flow of the TUI, driven by keys and clicks against the in-process emulator."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from textual.widgets import Button, Input, OptionList

from firmware_protocol.constants import ImpedanceStatus, Polarity, State, StatusFlags
from scsctl.audit import AuditLog
from scsctl.emulator.faults import LeadOpen
from scsctl.transports.emulated import EmulatedTransport
from scsctl.tui.app import ScsApp
from scsctl.tui.screens.connect import ConnectScreen
from scsctl.tui.screens.dialogs import ValueDialog
from scsctl.tui.screens.main import MainScreen
from scsctl.tui.screens.start_dialog import StartDialog
from scsctl.tui.widgets.audit_view import AuditView
from scsctl.tui.widgets.lead_view import LeadView
from scsctl.tui.widgets.param_list import LEFT_ARROW_AT, RIGHT_ARROW_AT, ParamList

from .conftest import SIZE, bipolar, commands_sent, connected, prepare, start_from_the_tui, state, text_of, until

MakeApp = Callable[..., ScsApp]


def main_screen(app: ScsApp) -> MainScreen:
    assert isinstance(app.screen, MainScreen)
    return app.screen




# --- connecting ------------------------------------------------------------------------------------


async def test_opens_on_the_emulator_says_so_and_shows_the_sessions_audit_trail(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        assert "EMULATOR EMU5101-00000000 (emu://) - not a real device" in text_of(app, "#banner")
        assert "EMULATOR - not a real device" in app.sub_title
        device_text = text_of(app, "#device")
        assert "tonic-burst-16" in device_text
        assert app.device is not None and app.device.identity.serial in device_text
        assert "Battery" in device_text and "100 %" in device_text
        assert "Heartbeat ok" in " ".join(device_text.split())
        await pilot.press("m", "3")
        view = app.screen.query_one(AuditView)
        await until(pilot, lambda: any(r.name == "MEASURE_IMPEDANCE" for r in view.records), "the trail shows it")
        ids = [r.id for r in view.records]
        assert ids == sorted(ids, reverse=True)  # newest first
        assert {r.session for r in view.records} == {app.device.audit.session}
        assert view.records[-1].name == "connect"


async def test_connect_screen_lists_ports_and_the_emulator_and_connects_to_a_choice(
    make_app: MakeApp, tmp_path: Path
) -> None:
    app = make_app("/dev/scsctl-no-such-port")
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert isinstance(screen, ConnectScreen)
        await until(pilot, lambda: not screen.connecting, "the connection attempt failed")
        assert "/dev/scsctl-no-such-port" in text_of(app, "#connect-status")
        options = screen.query_one("#ports", OptionList)
        await until(pilot, lambda: options.option_count >= 4, "the ports are listed")
        ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
        assert ids[:3] == ["emu://", "emu://drg-4x4", "emu://hf10k-16"]
        assert "/dev/ttyUSB7" in ids
        options.focus()
        options.highlighted = ids.index("emu://drg-4x4")
        await pilot.press("enter")
        await connected(pilot)
        assert app.device is not None
        assert app.device.identity.profile == "drg-4x4"  # the profile follows the device's model
        assert main_screen(app).query_one(LeadView).layout_.leads == 4


# --- electrodes and settings -------------------------------------------------------------------------


async def test_electrodes_by_keyboard_and_mouse_an_invalid_configuration_is_marked(
    make_app: MakeApp, tmp_path: Path
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        screen = main_screen(app)
        leads = screen.query_one(LeadView)
        await pilot.press("e", "plus")
        assert screen.draft.contacts[0].polarity == Polarity.ANODE
        assert not screen.verdict.ok
        assert "no cathode" in (screen.verdict.problem or "")
        assert leads.has_class("-invalid")
        assert "NOT VALID" in text_of(app, "#draft-check")
        await pilot.press("right", "minus")
        assert screen.verdict.ok, screen.verdict.problem
        assert not leads.has_class("-invalid")
        # A click on contact 3 makes it a second anode: the anodes share the current equally.
        await pilot.click(LeadView, offset=(2 + 8 + 2 * 6 + 2, 2))
        assert [(c.polarity, c.share_pct) for c in screen.draft.contacts[:3]] == [
            (Polarity.ANODE, 50),
            (Polarity.CATHODE, 100),
            (Polarity.ANODE, 50),
        ]
        await pilot.press("right_square_bracket")  # contact 3 alone: 55 %, the anodes now add up to 105 %
        assert "105 %" in (screen.verdict.problem or "")
        await pilot.press("equals_sign")
        assert screen.verdict.ok
        assert "SET_PROGRAM" not in commands_sent(tmp_path)  # nothing was sent while editing


async def test_settings_step_by_the_profiles_increments_and_refuse_to_leave_the_range(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        screen = main_screen(app)
        await pilot.press("v", "right")  # amplitude, fine step of tonic-burst-16: 0.1 mA
        assert screen.draft.amplitude_ua == 100
        await pilot.press("shift+right")  # coarse: 0.5 mA
        assert screen.draft.amplitude_ua == 600
        await pilot.press("down", "right", "right")  # pulse width: steps of 10 us
        assert screen.draft.pulse_width_us == 320
        await pilot.press("enter")
        assert isinstance(app.screen, ValueDialog)
        await pilot.press(*"500us", "enter")
        assert screen.draft.pulse_width_us == 500
        await pilot.press("right")
        assert screen.draft.pulse_width_us == 500  # not changed, and the limit is named
        assert app.note is not None and "maximum of 500 us" in app.note.text
        params_text = text_of(app, "#params")
        assert "50 us - 500 us" in params_text  # where the value sits within the tier's range
        # A typed value that is not exact is refused in the dialog, and nothing changes.
        await pilot.press("up", "enter", *"3.5555mA", "enter")
        assert isinstance(app.screen, ValueDialog)
        assert "not a whole number" in text_of(app, "#value-error")
        await pilot.press("escape")
        assert screen.draft.amplitude_ua == 600
        # The mouse: ◀ / ▶ beside a value step it (inside the panel's border: +1, +1).
        await pilot.click(ParamList, offset=(1 + RIGHT_ARROW_AT, 1 + 0))
        assert screen.draft.amplitude_ua == 700
        await pilot.click(ParamList, offset=(1 + LEFT_ARROW_AT, 1 + 1))
        assert screen.draft.pulse_width_us == 490


async def test_a_typed_value_out_of_range_is_marked_and_saving_it_sends_nothing(
    make_app: MakeApp, tmp_path: Path
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        screen = main_screen(app)
        await pilot.press("e", "plus", "right", "minus", "v", "enter", *"9mA", "enter")
        assert screen.draft.amplitude_ua == 9000
        assert screen.verdict.parameter == "amplitude_ua"
        assert "above the clinical tier's maximum of 8.5 mA" in (screen.verdict.problem or "")
        assert screen.query_one(ParamList).invalid_key == "amplitude_ua"
        await pilot.press("s")
        await until(pilot, lambda: app.note is not None and "refused" in app.note.title, "the refusal is shown")
        assert app.note is not None and "nothing was sent" in app.note.title
        assert app.note.limit.startswith("limit: amplitude 8.5 mA")
        assert "SET_PROGRAM" not in commands_sent(tmp_path)
        assert app.programs == {}  # the slot list still shows what the device holds


# --- programs ----------------------------------------------------------------------------------------


async def test_save_writes_and_reads_back_and_a_stored_slot_is_loaded_and_selected(
    make_app: MakeApp, emu: EmulatedTransport, tmp_path: Path
) -> None:
    prepare(emu, tmp_path, bipolar(slot=2, patient_max_ua=3000), measure=False)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        screen = main_screen(app)
        assert screen.draft.slot == 2  # the first stored program is the draft at start
        screen.query_one("#programs").focus()
        await pilot.press("down", "down", "down", "enter")
        assert screen.draft.slot == 3 and screen.draft.amplitude_ua == 0  # slot 3 is empty: a new draft
        assert isinstance(app.focused, LeadView)  # loading a slot leads on to its electrodes
        await pilot.press("plus", "right", "minus", "s")
        await until(pilot, lambda: 3 in app.programs, "slot 3 is read back")
        assert app.programs[3].contacts == screen.draft.contacts
        assert app.note is not None and "written and read back: 1+ 2-" in app.note.title
        assert "(saved: the slot holds it)" in text_of(app, "#draft-check")
        with emu.emulator.locked() as fw:
            assert fw.storage.programs[3].contacts == app.programs[3].contacts  # type: ignore[attr-defined]
        screen.query_one("#programs").focus()
        await pilot.press("up", "x")
        await until(pilot, lambda: app.status is not None and app.status.active_slot == 2, "slot 2 is selected")


# --- start, adjust, commit, stop -----------------------------------------------------------------------


async def test_start_after_an_impedance_check_with_confirmation_then_adjust_and_commit(
    make_app: MakeApp, emu: EmulatedTransport, tmp_path: Path
) -> None:
    prepare(emu, tmp_path, bipolar(), measure=False)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        start = app.screen.query_one("#start", Button)
        assert start.disabled
        assert "measure impedance first (m)" in text_of(app, "#start-why")
        await pilot.press("g")
        assert not isinstance(app.screen, StartDialog)
        await pilot.press("m")
        await until(pilot, lambda: app.impedance is not None, "the impedance is measured")
        await until(pilot, lambda: not start.disabled, "START is possible")
        await pilot.press("g")
        assert isinstance(app.screen, StartDialog)
        assert "START" not in commands_sent(tmp_path)  # nothing before the confirmation
        await pilot.press("enter")
        await until(pilot, lambda: state(app) == State.STIMULATING, "stimulation is on")
        assert "Stimulating" in text_of(app, "#ramp-progress")
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)
        # Raise the amplitude live: tentative until committed, and the screen says so.
        await pilot.press("a", "up", "up", "up")
        await until(pilot, lambda: app.status is not None and app.status.amplitude_ua == 300, "0.3 mA is delivered")
        assert app.status is not None and app.status.status_flags & StatusFlags.TENTATIVE
        assert "TENTATIVE: 0.3 mA reverts to 0.0 mA" in text_of(app, "#stim-amplitude")
        assert app.programs[0].amplitude_ua == 0  # the stored program is unchanged
        await pilot.press("c")
        await until(pilot, lambda: app.programs[0].amplitude_ua == 300, "the commit is read back")
        assert app.status is not None and not app.status.status_flags & StatusFlags.TENTATIVE
        assert "TENTATIVE" not in text_of(app, "#stim-amplitude")
        with emu.emulator.locked() as fw:
            assert fw.monitor.segments[-1].amplitude_ua == 300  # type: ignore[attr-defined]


async def test_start_shows_the_ramp_and_stop_works_from_inside_the_dialog(
    make_app: MakeApp, emu: EmulatedTransport, tmp_path: Path
) -> None:
    prepare(emu, tmp_path, bipolar(amplitude_ua=1000, ramp_up_ms=3000))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await pilot.press("g", "enter")
        dialog = app.screen
        assert isinstance(dialog, StartDialog)
        await until(pilot, lambda: "Ramping up" in text_of(app, "#ramp-progress"), "the ramp is shown")
        await pilot.press("f2")  # STOP, inside the dialog
        await until(pilot, lambda: state(app) == State.PROGRAMMED, "the device has stopped")
        assert isinstance(app.screen, MainScreen)  # STOP closed the dialog
        with emu.emulator.locked() as fw:
            assert fw.monitor.amplitude_at(fw.monitor.segments[-1].start_s) == 0  # type: ignore[attr-defined]
        assert app.note is not None and app.note.title.startswith("STOPPED")
        assert commands_sent(tmp_path)[-1] == "STOP"
        # And from a text field, where every other key is typed into the field:
        await pilot.press("k", "v", "enter")
        assert isinstance(app.screen, ValueDialog)
        assert isinstance(app.focused, Input)
        await pilot.press("f2")
        await until(pilot, lambda: commands_sent(tmp_path).count("STOP") == 2, "the second STOP went out")
        assert isinstance(app.screen, MainScreen)  # the half-typed value is gone with its dialog


async def test_a_refused_live_change_names_the_limit_is_not_half_applied_and_quitting_asks_first(
    make_app: MakeApp, emu: EmulatedTransport, tmp_path: Path
) -> None:
    prepare(emu, tmp_path, bipolar(patient_max_ua=200))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await start_from_the_tui(pilot)
        await pilot.press("escape", "a", "up", "up")
        await until(pilot, lambda: app.status is not None and app.status.setpoint_ua == 200, "0.2 mA is set")
        await pilot.press("up")
        await until(pilot, lambda: app.note is not None and "refused" in app.note.title, "the refusal is shown")
        assert app.note is not None
        assert "patient maximum of 0.2 mA" in app.note.text
        assert app.note.limit.startswith("limit: patient maximum 0.2 mA (clinical tier")
        await pilot.pause()
        assert "0.2 mA" in text_of(app, "#live").split("▶")[0]  # back at what the device holds
        assert app.status is not None and app.status.setpoint_ua == 200
        refusals = [r for r in AuditLog.in_dir(tmp_path).query() if r.kind == "refusal"]
        assert [r.name for r in refusals] == ["SET_AMPLITUDE"]
        # Leaving while stimulating asks first: the program would keep running (untethered).
        await pilot.press("ctrl+q")
        assert "keeps running" in text_of(app, ".dialog-body")
        await pilot.click("#stop-quit")
        await until(pilot, lambda: not app.is_running, "the app has closed")
    assert commands_sent(tmp_path)[-1] == "STOP"


# --- impedance and link --------------------------------------------------------------------------------


async def test_impedance_table_flags_an_open_contact(make_app: MakeApp, emu: EmulatedTransport) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        assert "No impedance check on record" in text_of(app, "#impedance-when")
        emu.emulator.inject(LeadOpen(2))
        await pilot.press("m")
        await until(pilot, lambda: app.impedance is not None, "the impedance is measured")
        assert app.impedance is not None
        assert app.impedance.readings[2].status == ImpedanceStatus.OPEN
        from textual.widgets import DataTable

        table = app.screen.query_one("#impedance-table", DataTable)
        assert table.row_count == 16
        assert "OPEN" in str(table.get_row_at(2)[3])
        assert "measured at --:--:--" in text_of(app, "#impedance-when")  # times masked in tests
        # The message bar says so too: the check's result, or the device's fault event it caused.
        assert app.note is not None
        assert "flagged: 3 open" in app.note.text or "lead open on contact 3" in app.note.title


async def test_link_loss_is_shown_and_a_reconnect_finds_the_device_again(
    make_app: MakeApp, emu: EmulatedTransport
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        first = app.device
        await pilot.press("e", "plus", "right", "minus")  # an unsaved draft
        draft = main_screen(app).draft
        emu.emulator.disconnect()
        await until(pilot, lambda: app.link_lost, "the link loss is shown")
        assert "LINK LOST" in text_of(app, "#banner")
        assert "LOST" in text_of(app, "#device")
        assert "Heartbeat ok" not in " ".join(text_of(app, "#device").split())
        assert "no answer (link lost)" in text_of(app, "#device")
        assert app.note is not None and app.note.severity == "error"
        assert "r Reconnect" in text_of(app, ".keys")
        await pilot.press("r")
        await until(
            pilot, lambda: app.device is not None and app.device is not first and app.connected.is_set(), "reconnected"
        )
        await connected(pilot)
        assert not app.link_lost
        assert "LINK LOST" not in text_of(app, "#banner")
        assert "r Reconnect" not in text_of(app, ".keys")
        assert app.note is None or "LINK LOST" not in app.note.title  # the message went with the state
        assert main_screen(app).draft == draft  # the unsaved edits survived the reconnect


async def test_a_charge_density_warning_is_acknowledged_in_a_dialog_before_saving(tmp_path: Path) -> None:
    from scsctl.controller.target import ConnectTarget
    from scsctl.tui.screens.dialogs import AcknowledgeDialog

    from .conftest import fake_ports

    emu = EmulatedTransport("emu://drg-4x4")  # 4 mm2 contacts: the warning level comes before Shannon
    app = ScsApp(
        ConnectTarget("emu://drg-4x4", data_dir=tmp_path, transport=emu),
        show_times=False,
        port_lister=fake_ports,
        status_interval_s=1.0,
    )
    try:
        async with app.run_test(size=SIZE) as pilot:
            await connected(pilot)
            screen = main_screen(app)
            await pilot.press("e", "plus", "right", "minus", "v")
            rows = [s.key for s in screen.query_one(ParamList).specs]
            await pilot.press(*["down"] * rows.index("patient_max_ua"), "enter", *"4.5mA", "enter")
            assert screen.draft.patient_max_ua == 4500
            assert screen.verdict.ok and screen.verdict.warnings  # allowed, with a warning shown
            assert "charge density above the warning level" in text_of(app, "#draft-check")
            await pilot.press("s")
            await until(pilot, lambda: isinstance(app.screen, AcknowledgeDialog), "the warning is asked about")
            assert "SET_PROGRAM" not in commands_sent(tmp_path)
            await pilot.click("#yes")
            await until(pilot, lambda: 0 in app.programs, "the program is written")
            assert app.programs[0].patient_max_ua == 4500
    finally:
        emu.close()


async def test_t_opens_the_trial_screen_and_escape_comes_back(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from scsctl.controller.target import ConnectTarget
    from scsctl.tui.app import ScsApp
    from scsctl.tui.trial_screen import TrialScreen

    app = ScsApp(ConnectTarget("emu://", data_dir=str(tmp_path)), show_times=False)
    async with app.run_test(size=(160, 50)) as pilot:
        for _ in range(200):
            if app.connected.is_set():
                break
            await pilot.pause(0.02)
        await pilot.press("t")
        await pilot.pause()
        assert isinstance(app.screen, TrialScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, TrialScreen)


async def test_the_engineer_role_the_site_policy_does_not_grant_is_refused_on_screen(
    make_app: MakeApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from scsctl import trust

    policy = tmp_path / "policy.toml"
    policy.write_text("engineer_users = []\nengineer_groups = []\n", encoding="utf-8")
    policy.chmod(0o644)
    monkeypatch.setattr(trust, "POLICY_PATH", policy)
    monkeypatch.setattr(trust, "ADMIN_UID", os.getuid())
    app = make_app(role="engineer")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: "Choose another port" in text_of(app, "#connect-status"), "the refusal is shown")
        shown = " ".join(text_of(app, "#connect-status").split())
        assert "nothing was sent" in shown
        assert "the engineer role is not granted to the OS user" in shown
        assert app.device is None
    assert commands_sent(tmp_path) == []
    assert [r.detail["role_requested"] for r in AuditLog.in_dir(tmp_path).query()] == ["engineer"]

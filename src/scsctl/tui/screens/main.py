"""The main screen: the device, stimulation, and tabs for the program, impedance and events.

The screen owns the *draft*, the program being edited (a ``Program`` for one slot), and pushes it
down to the widgets that show it; they post their edits back up, each as what to do, which the
screen does to the draft as the edits before it left it (so quick keys each count). Every edit is
checked at once by the device's guard against what the device was last read to hold
(``check_draft``), so an invalid program is marked before anything is sent. Saving writes the
draft through the controller, which checks it again, writes it and reads it back.
"""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.reactive import var
from textual.screen import Screen
from textual.widgets import Header, Static, TabbedContent, TabPane

from firmware_protocol import messages as m
from firmware_protocol.constants import OUTPUT_STATES, StatusFlags

from ...controller import DeviceContext, profile_table
from ...parsing import amplitude_ua, format_electrodes
from ...units import format_ua
from ..draft import DraftVerdict, check_draft, new_program, program_changes, ramp_fix
from ..params import EXAMPLES, PARAM_LABELS, StepRefused, format_param, parse_param, with_value
from ..widgets import scs, show
from ..widgets.audit_view import AuditView
from ..widgets.banners import Banner, MessageBar
from ..widgets.charge_panel import ChargePanel
from ..widgets.device_panel import DevicePanel
from ..widgets.footer import StopFooter
from ..widgets.impedance_panel import ImpedancePanel
from ..widgets.lead_view import LeadView
from ..widgets.param_list import ParamList
from ..widgets.programs_table import ProgramsTable
from ..widgets.pulse_preview import PulsePreview
from ..widgets.stim_panel import LiveAmplitude, StimPanel
from .dialogs import ConfirmDialog, ValueDialog
from .start_dialog import StartDialog

if TYPE_CHECKING:
    from ...controller import Device, ImpedanceRecord, Outcome

__all__ = ["MainScreen"]

NARROW_BELOW = 150
"""Terminal width (columns) below which the program tab is one scrolling column."""
COMPACT_BELOW = (120, 40)
"""Terminal width or height below which the screen is compact: no header, the device panel in tab 4,
buttons one line high; STOP, the stimulation panel and the message bar stay on screen."""


class MainScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        # The footer shows what matters now (check_action): r while the link is lost, Start while
        # stopped, Amplitude while a program runs, Commit while its amplitude is tentative.
        Binding("r", "reconnect", "Reconnect"),
        Binding("g", "start", "Start"),
        Binding("a", "go('live')", "Amplitude"),
        Binding("c", "commit", "Commit"),
        Binding("s", "save", "Save"),
        Binding("e", "go('leads')", "Electrodes"),
        Binding("v", "go('params')", "Settings"),
        Binding("m", "measure", "Impedance"),
        Binding("n", "new_draft", "New draft", show=False),
        Binding("1", "tab('tab-program')", "Program tab", show=False),
        Binding("2", "tab('tab-impedance')", "Impedance tab", show=False),
        Binding("3", "tab('tab-events')", "Events tab", show=False),
        Binding("4", "tab('tab-device')", "Device tab", show=False),
        Binding("t", "trial", "Trial"),
        Binding("p", "ports", "Ports"),
        Binding("l", "profile", "Profile limits", show=False),
        Binding("f", "raw_console", "Raw frames"),
    ]
    ENGINEER_ONLY: ClassVar[frozenset[str]] = frozenset({"raw_console"})
    """Actions offered (footer, help, command palette) in an engineer's session only; in another the
    key still answers, saying which role it needs."""

    draft: var[m.Program] = var(m.Program(0, 0, 0, 0, ()), always_update=True)
    verdict: var[DraftVerdict] = var(DraftVerdict(), always_update=True)

    def __init__(self, device: Device, programs: dict[int, m.Program], kept: m.Program | None = None) -> None:
        """``programs``: what the device holds, read at connect time (the draft starts from the first);
        ``kept``: the draft left on screen for this device before a reconnect (unsaved edits survive)."""
        super().__init__()
        self.device = device
        self.draft_is_running = False
        first = min(programs) if programs else 0
        draft = programs.get(first) or new_program(device.profile, first)
        if kept is not None and len(kept.contacts) == device.identity.contacts:
            draft = kept  # the same device again (a reconnect): its unsaved edits are still here
        self.set_reactive(MainScreen.draft, draft)

    def compose(self) -> ComposeResult:
        device = self.device
        yield Header(show_clock=False)
        yield Banner(id="banner")
        with Horizontal(id="top"):
            yield DevicePanel(device, id="device")
            yield StimPanel(device, id="stim")
        with TabbedContent(id="tabs", initial="tab-program"):
            with TabPane("Program (1)", id="tab-program"), Horizontal(id="program-tab"):
                with Vertical(id="program-left"):
                    yield ProgramsTable(device.identity.program_slots, id="programs")
                    yield LeadView(device.profile.contacts, id="leads")
                    yield Static(id="draft-check")
                with VerticalScroll(id="program-right"):
                    yield ParamList(device.profile, device.guard.tier, id="params")
                    yield ChargePanel(device.profile, id="charge")
                    yield PulsePreview(id="pulse")
            with TabPane("Impedance (2)", id="tab-impedance"):
                yield ImpedancePanel(device.profile, id="impedance")
            with TabPane("Events and audit trail (3)", id="tab-events"):
                yield AuditView(id="audit")
            with TabPane("Device (4)", id="tab-device"), VerticalScroll(id="device-tab"):
                yield DevicePanel(device, id="device-full")
        yield MessageBar(id="messages")
        yield StopFooter()

    def in_footer(self, action: str) -> bool:
        """Whether the footer shows the key of ``action`` now (every key still works, and says why
        when it cannot do anything: the footer keeps to what matters in the present state)."""
        app = scs(self)
        if not self.role_allows(action):
            return False
        if action == "reconnect":
            return bool(app.link_lost)
        if action == "start":
            return not app.stimulating
        if action == "commit":
            return app.status is not None and bool(app.status.status_flags & StatusFlags.TENTATIVE)
        if action == "go('live')":
            return app.stimulating
        return True

    def role_allows(self, action: str) -> bool:
        """Whether ``action`` is offered to this session's role (the footer, help and palette ask)."""
        return action not in self.ENGINEER_ONLY or self.device.role == "engineer"

    def on_mount(self) -> None:
        app = scs(self)
        self.title = "scsctl"
        self.sub_title = app.sub_title
        for name in ("programs", "status", "impedance"):
            self.watch(app, name, lambda _v: self._check(), init=False)
        for name in ("status", "link_lost"):
            self.watch(app, name, lambda _v: self.refresh_bindings(), init=False)
        self._show_draft(self.draft)
        self.query_one(LeadView).focus()

    def on_resize(self) -> None:
        # Below 150 columns the program tab's two columns are stacked and scroll (see scsctl.tcss).
        width, height = self.size
        self.set_class(width < NARROW_BELOW, "-narrow")
        self.set_class(width < COMPACT_BELOW[0] or height < COMPACT_BELOW[1], "-compact")

    # --- the draft ---------------------------------------------------------------------------------

    def watch_draft(self, program: m.Program) -> None:
        scs(self).drafts[self.device.identity.serial] = program
        if self.is_mounted:
            self._show_draft(program)

    def _show_draft(self, program: m.Program) -> None:
        self.query_one(LeadView).contacts = program.contacts
        self.query_one(ParamList).program = program
        self.query_one(ChargePanel).show(program)
        self.query_one(PulsePreview).show(program)
        self.query_one(StimPanel).draft_slot = program.slot
        self._check()

    def _check(self) -> None:
        app = scs(self)
        context = DeviceContext.from_status(app.status, app.programs, impedance=app.impedance, now_s=time.monotonic())
        self.draft_is_running = context.stimulating and context.running_slot == self.draft.slot
        if self.draft_is_running:
            # The guard refuses any write to the running slot; check the draft's content anyway.
            context = dataclasses.replace(context, stimulating=False, running_slot=None)
        self.verdict = check_draft(self.device.guard, self.draft, context)

    def watch_verdict(self, verdict: DraftVerdict) -> None:
        if not self.is_mounted:
            return
        app = scs(self)
        stored = app.programs.get(self.draft.slot)
        saved = stored == self.draft
        lead_problem = verdict.parameter in ("contacts", "share_pct", "polarity")
        self.query_one(LeadView).invalid = lead_problem
        self.query_one(ParamList).invalid_key = "" if lead_problem else (verdict.parameter or "")
        text = Text(f"Draft for slot {self.draft.slot}: ", style="bold")
        if verdict.problem is not None:
            text.append("✗ NOT VALID - nothing is sent until this is fixed\n", style="bold red")
            text.append(verdict.problem, style="red")
        else:
            text.append("✓ valid ", style="bold green")
            text.append(
                "(saved: the slot holds it)" if saved else "- not saved yet: s saves it to the device",
                style="green" if saved else "bold yellow",
            )
            if self.draft_is_running and not saved:
                text.append(
                    f"\nslot {self.draft.slot} is running: s offers to stop it, then write the draft (or change "
                    "the amplitude live)",
                    style="yellow",
                )
            for line in (*verdict.warnings, *verdict.notices):
                text.append("\n" + line, style="yellow")
        show(self.query_one("#draft-check", Static), text)

    # An edit or a step arrives as what to do, and is done to the draft as it is now (the edits
    # before it included), not to what the widget showed when the key was pressed: keys faster
    # than the screen draws each count.

    def on_lead_view_edited(self, message: LeadView.Edited) -> None:
        contacts = message.edit(self.draft.contacts)
        if contacts != self.draft.contacts:
            self.draft = dataclasses.replace(self.draft, contacts=contacts)

    def on_param_list_stepped(self, message: ParamList.Stepped) -> None:
        result = message.step(self.draft)
        if isinstance(result, StepRefused):
            scs(self).show_note("Not changed", result.message, "warning")
            return
        program, note = result
        self.draft = program
        if note:
            scs(self).show_note(note, "", "info")

    def on_param_list_type_value(self, message: ParamList.TypeValue) -> None:
        spec = message.spec
        key = spec.key

        def typed(value: int | None) -> None:
            if value is not None:
                self.draft = with_value(self.draft, key, value)

        current = spec.fmt(int(getattr(self.draft, key))).replace(" ", "")
        self.app.push_screen(
            ValueDialog(
                f"{PARAM_LABELS[key]} for slot {self.draft.slot}",
                lambda text: parse_param(key, text),
                EXAMPLES.get(key, ""),
                current,
            ),
            typed,
        )

    def on_programs_table_load(self, message: ProgramsTable.Load) -> None:
        stored = scs(self).programs.get(message.slot)
        self.draft = stored if stored is not None else new_program(self.device.profile, message.slot)
        what = "loaded for editing" if stored is not None else "is empty: a new draft"
        scs(self).show_note(f"Slot {message.slot} {what}", "", "info")
        self.query_one(LeadView).focus()

    def on_programs_table_select_slot(self, message: ProgramsTable.SelectSlot) -> None:
        slot = message.slot
        app = scs(self)
        status = app.status
        if app.stimulating and status is not None and status.active_slot != slot:
            running = status.active_slot

            def answered(yes: bool | None) -> None:
                if yes:
                    app.after_confirmed_stop(lambda: self._select(slot))
                    app.action_stop()

            app.push_screen(
                ConfirmDialog(
                    f"Slot {running} is running",
                    [
                        f"The device selects another program only while stopped. Stop slot {running}, "
                        f"then select slot {slot}?",
                        "Start it afterwards with g (you confirm first).",
                    ],
                    f"Stop, then select slot {slot}",
                ),
                answered,
            )
            return
        self._select(slot)

    def _select(self, slot: int) -> None:
        scs(self).call_device(
            f"select slot {slot}",
            lambda device, _ack: device.select(slot),
            lambda _r: scs(self).show_note(f"Slot {slot} is the selected program", "", "info"),
        )

    def action_new_draft(self) -> None:
        self.draft = new_program(self.device.profile, self.draft.slot)

    # --- device actions ----------------------------------------------------------------------------

    def action_save(self) -> None:
        """Write the draft; over a slot that holds another program, ask first and show what changes."""
        app = scs(self)
        program = self.draft
        stored = app.programs.get(program.slot)
        self._check()  # whether the draft's slot runs, from the status drawn now
        if self.draft_is_running:
            # What the running slot holds is read back first: a commit may have changed it just now.
            def read_back(held: m.Program) -> None:
                app.programs = {**app.programs, program.slot: held}
                self._offer_stop_then_save(program, held)

            app.call_device(
                f"read slot {program.slot}", lambda device, _ack: device.read_program(program.slot), read_back
            )
            return
        if stored is None or stored == program:
            self._save(program)
            return
        changes = program_changes(stored, program)
        warning = ""
        if program.amplitude_ua < stored.amplitude_ua:
            warning = (
                f"The slot holds {format_ua(stored.amplitude_ua)} (committed); this draft would write "
                f"{format_ua(program.amplitude_ua)}."
            )

        def answered(yes: bool | None) -> None:
            if yes:
                self._save(program)
            else:
                app.show_note(f"Slot {program.slot} not written", "it still holds what it held", "info")

        app.push_screen(
            ConfirmDialog(
                f"Overwrite slot {program.slot}?",
                ["What changes (slot now -> draft):", *changes],
                f"Overwrite slot {program.slot}",
                warning=warning,
            ),
            answered,
        )

    def _offer_stop_then_save(self, program: m.Program, stored: m.Program) -> None:
        """The draft's slot is running: the device (and the guard) take a new program for it only
        while stopped, and what is stored there now is what runs, at its committed amplitude. Say what
        would change, and offer STOP then the write; nothing is sent unless the user agrees."""
        app = scs(self)
        slot = program.slot
        if stored == program:
            app.show_note(f"Slot {slot} holds this draft already", "nothing to write; it keeps running", "info")
            return
        status = app.status
        running_ua = status.setpoint_ua if status is not None else stored.amplitude_ua
        now = f"{format_ua(running_ua)}" + (
            f" (tentative; {format_ua(stored.amplitude_ua)} committed)" if running_ua != stored.amplitude_ua else ""
        )
        warning = ""
        if program.amplitude_ua != stored.amplitude_ua:
            warning = (
                f"Slot {slot} holds {format_ua(stored.amplitude_ua)} (committed); this draft would store "
                f"{format_ua(program.amplitude_ua)}, and its next START would ramp to that."
            )

        def answered(yes: bool | None) -> None:
            if yes:
                app.after_confirmed_stop(lambda: self._save(program))
                app.action_stop()
            else:
                app.show_note(f"Slot {slot} not written", "it still holds what it held, and keeps running", "info")

        app.push_screen(
            ConfirmDialog(
                f"Slot {slot} is running at {now}",
                [
                    f"The device takes a new program for slot {slot} only while stopped. Stop it, then write "
                    "the draft (read back)?",
                    "Start it again afterwards with g (you confirm first).",
                    "What changes (slot now -> draft):",
                    *program_changes(stored, program),
                ],
                f"Stop, then write slot {slot}",
                warning=warning,
            ),
            answered,
        )

    def _save(self, program: m.Program, *, then_start: bool = False) -> None:
        slot = program.slot

        def save(device: Device, acknowledge: frozenset[str]) -> tuple[Outcome, m.Program]:
            outcome = device.write_program(program, acknowledge=acknowledge)
            return outcome, device.read_program(slot)

        def saved(result: tuple[Outcome, m.Program]) -> None:
            outcome, readback = result
            app = scs(self)
            app.programs = {**app.programs, slot: readback}
            if self.draft.slot == slot and self.draft != readback and self.draft == program:
                self.draft = readback
            summary = (
                f"{format_electrodes(readback.contacts)}, {format_ua(readback.amplitude_ua)}, "
                f"{readback.pulse_width_us} us, patient max {format_ua(readback.patient_max_ua)}"
            )
            app.show_note(f"Slot {slot} written and read back: {summary}", "; ".join(outcome.notices), "info")
            self._check()
            if then_start:
                self.action_start()

        scs(self).call_device(f"save slot {slot}", save, saved)

    def action_start(self) -> None:
        stim = self.query_one(StimPanel)
        blocker = stim.start_blocker()
        if blocker is not None and self._offer_ramp_fix():
            return
        if blocker is not None:
            scs(self).show_note("Cannot start now", blocker, "warning")
            return
        slot = self.draft.slot
        stored = scs(self).programs[slot]
        self.app.push_screen(StartDialog(slot, stored, draft_differs=stored != self.draft))

    def _offer_ramp_fix(self) -> bool:
        """If the stored program cannot start only because its ramp-up is too short for its amplitude
        (after a commit raised it), offer to write the ramp-up the guard asks for. True if offered."""
        app = scs(self)
        stored = app.programs.get(self.draft.slot)
        if stored is None or app.stimulating or app.link_lost:
            return False
        context = DeviceContext.from_status(app.status, app.programs, impedance=app.impedance, now_s=time.monotonic())
        needed_ms = ramp_fix(self.device.guard, stored, context)
        if needed_ms is None:
            return False
        fixed = dataclasses.replace(stored, ramp_up_ms=needed_ms)

        def answered(yes: bool | None) -> None:
            if not yes:
                app.show_note(f"Slot {stored.slot} not changed", "it cannot start as it is", "warning")
                return
            if self.draft == stored:
                self.draft = fixed  # the draft on screen was the stored program: it takes the fix too
            self._save(fixed, then_start=True)

        app.push_screen(
            ConfirmDialog(
                f"Slot {stored.slot} cannot start at {format_ua(stored.amplitude_ua)} as it is",
                [
                    f"Its ramp-up of {format_param('ramp_up_ms', stored.ramp_up_ms)} is too short to start at "
                    f"{format_ua(stored.amplitude_ua)}.",
                    f"Write ramp-up {format_param('ramp_up_ms', needed_ms)} to slot {stored.slot} "
                    "(read back), then confirm the start?",
                    *program_changes(stored, fixed),
                ],
                f"Write ramp-up {format_param('ramp_up_ms', needed_ms)}",
            ),
            answered,
        )
        return True

    def action_commit(self) -> None:
        app = scs(self)
        if not app.stimulating:
            app.show_note("Nothing to commit", "stimulation is off", "warning")
            return
        before = app.programs.get(app.status.active_slot) if app.status is not None else None
        draft_was_stored = before is not None and self.draft == before

        def committed(outcome: Outcome) -> None:
            # The call's status is drawn already, unless a newer one was (app.call_device).
            status = outcome.status
            if status is not None:
                text = "it is now part of the stored program"
                program = app.programs.get(status.active_slot)
                if program is not None:
                    program = dataclasses.replace(program, amplitude_ua=status.setpoint_ua)
                    if draft_was_stored and self.draft.slot == program.slot:
                        self.draft = program  # the draft follows: s must not write the old amplitude back
                    context = DeviceContext.from_status(
                        app.status, app.programs, impedance=app.impedance, now_s=time.monotonic()
                    )
                    needed_ms = ramp_fix(self.device.guard, program, context)
                    if needed_ms is not None:
                        text = (
                            f"but slot {program.slot} cannot START again at {format_ua(program.amplitude_ua)} with "
                            f"its ramp-up of {format_param('ramp_up_ms', program.ramp_up_ms)}: after STOP, g offers "
                            f"to write ramp-up {format_param('ramp_up_ms', needed_ms)}"
                        )
                app.show_note(
                    f"Committed {format_ua(status.setpoint_ua)} to slot {status.active_slot}",
                    text,
                    "warning" if text.startswith("but") else "info",
                )
            app.refresh_programs()

        app.call_device("commit", lambda device, _ack: device.commit(), committed)

    def action_measure(self) -> None:
        def measured(record: ImpedanceRecord) -> None:
            app = scs(self)
            app.impedance = record
            flagged = [
                f"{i + 1} {r.status.name.lower()}" for i, r in enumerate(record.readings) if r.status.name != "OK"
            ]
            app.show_note(
                "Impedance measured",
                ("flagged: " + ", ".join(flagged)) if flagged else "all contacts ok",
                "warning" if flagged else "info",
            )

        scs(self).call_device("impedance check", lambda device, _ack: device.measure_impedance(), measured)
        self.action_tab("tab-impedance")

    def action_go(self, which: str) -> None:
        if which == "live":
            self.query_one(LiveAmplitude).focus()
            return
        self.query_one(TabbedContent).active = "tab-program"
        panel = self.query_one(LeadView if which == "leads" else ParamList)
        panel.focus(scroll_visible=False)
        # At once, not animated: on a short terminal the panel is scrolled to its top edge.
        self.call_after_refresh(panel.scroll_visible, animate=False, top=True)

    def action_tab(self, tab: str) -> None:
        # Focus moves into the tab shown; otherwise focus left behind in a hidden tab would go to the
        # next focusable widget, and the tabs follow focus back.
        self.query_one(TabbedContent).active = tab
        target = {
            "tab-program": "#leads",
            "tab-impedance": "#impedance-table",
            "tab-events": "#audit",
            "tab-device": "#device-tab",
        }[tab]
        self.query_one(target).focus()

    def action_profile(self) -> None:
        """Every limit of the device's profile with units (read only; the guard enforces them)."""
        from .help import ProfileScreen

        guard = self.device.guard
        scs(self).push_screen(
            ProfileScreen(profile_table(self.device.profile), guard.tier.name.value, guard.role.value)
        )

    def action_raw_console(self) -> None:
        """Type frames for the device (engineer only): guarded and audited like every command."""
        app = scs(self)
        if not self.role_allows("raw_console"):
            app.show_note(
                "Raw frames: for the engineer role only",
                f"this session's role is {self.device.role}; nothing was sent. Raw frames need a session opened "
                "with --role engineer by a user the site policy names.",
                "warning",
            )
            return
        from .raw_console import RawConsoleScreen

        app.push_screen(RawConsoleScreen())

    def action_reconnect(self) -> None:
        scs(self).reconnect()

    def action_ports(self) -> None:
        from .connect import ConnectScreen

        self.app.push_screen(ConnectScreen(scs(self).target))

    def action_trial(self) -> None:
        """The trial record (coverage, diary, pain chart) of this device; Esc comes back."""
        from ..trial_screen import TrialScreen

        scs(self).open_screen(TrialScreen())

    def on_live_amplitude_type_value(self, _message: LiveAmplitude.TypeValue) -> None:
        stim = self.query_one(StimPanel)
        app = scs(self)
        status = app.status
        if status is None or status.state not in OUTPUT_STATES:
            app.show_note("Live amplitude: stimulation is off", "start a program first (g)", "warning")
            return

        def typed(value: int | None) -> None:
            if value is not None:
                stim.request_amplitude(value)

        self.app.push_screen(
            ValueDialog(
                "Live amplitude (tentative until committed)",
                amplitude_ua,
                "3.5mA",
                format_ua(status.setpoint_ua).replace(" ", ""),
            ),
            typed,
        )

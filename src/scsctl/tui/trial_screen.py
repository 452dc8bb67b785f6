"""The trial screen: open or create a trial for the connected device, record the paresthesia coverage
of the program being adjusted (its settings read back from the device), add diary entries, and see
daily pain against the baseline and the goal with the hours of stimulation.

All trial data goes through ``scsctl.trial.TrialStore`` (the audit log's database); every device
read goes through ``app.call_device``, so the screen never talks to the device itself and STOP (F2)
works here as everywhere. Every store call, reads included, runs in a thread (``app.call_blocking``):
the database waits up to its lock timeout for another program, and F2 is handled on the event
loop, which must never wait with it. What a call stored is reported once it returns, i.e. once it
is committed; one write runs at a time. Input is checked before anything is read or stored; a
refusal is shown in the message bar and changes nothing.

To open it (from the main screen): ``scs(self).open_screen(TrialScreen())``; Esc leaves it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Checkbox, DataTable, Header, Input, Label, Select, Static

from firmware_protocol.constants import OUTPUT_STATES, StatusFlags

from ..errors import ScsError, UsageError
from ..trial import (
    COMFORT_LABELS,
    Assessment,
    CoverageReading,
    DeviceUsage,
    DiaryDayTaken,
    DiaryEntry,
    ProgramTest,
    Trial,
    TrialDevice,
    TrialPlan,
    TrialStore,
    add_diary,
    assess,
    check_coverage,
    check_diary_day,
    check_new_trial,
    create_trial,
    edit_diary,
    format_regions,
    hours_to_s,
    pain_chart_text,
    parse_day,
    parse_nrs,
    program_summary,
    read_coverage,
    read_trial_device,
    read_trial_usage,
    record_coverage,
)
from ..units import format_ua
from .screens.dialogs import Dialog
from .widgets import scs, show
from .widgets.banners import MessageBar
from .widgets.footer import StopFooter
from .widgets.stop_button import StopButton
from .wording import state_words

if TYPE_CHECKING:
    from ..controller import Device

__all__ = ["NewTrialDialog", "TrialScreen", "pain_chart"]

T = TypeVar("T")


NARROW_BELOW = 150
"""Terminal width (columns) below which the forms are stacked above the chart (as on the main screen)."""
COMPACT_BELOW = (120, 40)
"""Terminal width or height below which the screen is compact (as the main screen)."""

RECORD_POLL_S = 2.0
"""How often the open trial is read again (entries made in another process show within this)."""


@dataclass(frozen=True, slots=True)
class TrialView:
    """Everything the screen shows of one trial, read from the store in one go (off the event loop)."""

    trial: Trial
    diary: list[DiaryEntry]
    edited_dates: frozenset[date]
    tests: list[ProgramTest]

    @classmethod
    def read(cls, store: TrialStore, trial_id: str) -> TrialView:
        """Blocking: call it from a thread."""
        return cls(
            store.trial(trial_id),
            store.diary(trial_id),
            frozenset(h.entry.entry_date for h in store.diary_history(trial_id)),
            store.program_tests(trial_id),
        )


def pain_chart(trial: Trial, diary: list[DiaryEntry], assessment: Assessment | None) -> Text:
    """The trial's text chart (``scsctl.trial.pain_chart_text``) as Rich text."""
    return Text.assemble(*pain_chart_text(trial, diary, assessment))


class NewTrialDialog(Dialog[TrialPlan]):
    """The trial's baseline and plan; checked (``check_new_trial``) before the dialog closes (nothing stored yet).

    Each field is named in its border, so a field that holds a value ("today", "7") still says what it is."""

    DEFAULT_CSS = """
    NewTrialDialog .trial-row { height: auto; }
    NewTrialDialog .trial-row Input { width: 1fr; }
    """

    def __init__(self, store: TrialStore, device_serial: str) -> None:
        super().__init__(f"New trial for device {device_serial}")
        self.store = store
        self._checking = False

    def body(self) -> ComposeResult:
        yield Static("No names or other identifying data: the trial id is opaque (leave it empty for one).",
                     classes="dialog-body")  # fmt: skip
        yield Input(placeholder="baseline pain before the trial, NRS 1-10", id="new-baseline")
        yield Input(placeholder="pain area: low-back, foot-left (optional)", id="new-pain-area")
        with Horizontal(classes="trial-row"):
            yield Input(value="today", placeholder="start: 2026-11-19, today, today-3", id="new-start")
            yield Input(value="7", placeholder="planned days", id="new-days")
            yield Input(value="50", placeholder="goal, % reduction", id="new-goal")
        yield Input(placeholder="trial id (optional; default T-YEAR-NNNN)", id="new-id")
        yield Static("", id="new-error", classes="dialog-body")

    def buttons(self) -> ComposeResult:
        yield Button("Create (Enter)", id="create", variant="primary")
        yield Button("Cancel (Esc)", id="cancel")

    def on_mount(self) -> None:
        names = {"new-baseline": "baseline pain", "new-pain-area": "pain area", "new-start": "start",
                 "new-days": "planned days", "new-goal": "goal, % reduction", "new-id": "trial id"}  # fmt: skip
        for widget_id, name in names.items():
            self.query_one(f"#{widget_id}", Input).border_title = name
        self.query_one("#new-baseline", Input).focus()

    def _value(self, widget_id: str) -> str:
        return self.query_one(f"#{widget_id}", Input).value.strip()

    def _submit(self) -> None:
        from datetime import timedelta

        try:
            start = parse_day(self._value("new-start"), self.store.today(), what="start")
            days_text, goal_text = self._value("new-days"), self._value("new-goal")
            if not (days_text.isascii() and days_text.isdigit()) or int(days_text) < 1:
                raise UsageError(f"planned days {days_text!r}: give the trial's length in days, 1 or more")
            if not (goal_text.isascii() and goal_text.isdigit()):
                raise UsageError(f"goal {goal_text!r}: give the reduction that counts as success, 1 to 100 %")
            fields: dict[str, Any] = {
                "baseline_nrs": parse_nrs(self._value("new-baseline"), what="baseline pain (NRS)"),
                "start_date": start,
                "planned_end_date": start + timedelta(days=int(days_text) - 1),
                "pain_regions": self._value("new-pain-area") or (),
                "goal_reduction_pct": int(goal_text),
                "trial_id": self._value("new-id") or None,
            }
        except ScsError as err:
            self._refused(err)
            return
        if self._checking:
            return
        self._checking = True
        store = self.store

        def checked(plan: TrialPlan) -> None:
            self._checking = False
            if self.is_attached:
                self.dismiss(plan)

        def refused(err: BaseException) -> None:
            self._checking = False
            if self.is_attached:
                self._refused(err)

        # It reads the database (is the id taken?): in a thread, like every store call.
        scs(self).call_blocking(
            "check the new trial", lambda: check_new_trial(store, **fields), checked, on_error=refused
        )

    def _refused(self, err: BaseException) -> None:
        error = self.query_one("#new-error", Static)
        error.update(str(err))
        error.add_class("-error")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "create":
            self._submit()
        elif event.button.id == "cancel":
            self.dismiss(None)


class TrialScreen(Screen[None]):
    """The trial of the connected device: coverage while adjusting, the diary, the chart."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        # priority: the form is mostly text fields, and a focused Input binds ctrl+k (delete to the end)
        # and ctrl+d (delete right) itself: without it these keys would wipe the field and do nothing.
        Binding("ctrl+n", "new_trial", "New trial", priority=True),
        Binding("ctrl+k", "record_coverage", "Record coverage", priority=True),
        Binding("ctrl+d", "add_diary", "Add diary entry", priority=True),
    ]

    DEFAULT_CSS = """
    TrialScreen #trial-top { height: auto; padding: 0 1; }
    TrialScreen #trial-pick { width: 1fr; max-width: 48; margin-right: 1; }
    TrialScreen #trial-top Button { margin-right: 1; }
    TrialScreen #trial-summary { height: auto; padding: 0 1; }
    TrialScreen #trial-live { height: auto; padding: 0 1; }
    TrialScreen #trial-body { height: 1fr; }
    TrialScreen #trial-forms { width: 68; height: 1fr; border: round $primary; padding: 0 1; }
    TrialScreen #trial-view { width: 1fr; height: 1fr; }
    TrialScreen #trial-chart { height: auto; border: round $primary; padding: 0 1; }
    TrialScreen #trial-programs { height: auto; max-height: 10; border: round $primary; }
    TrialScreen #trial-diary { height: auto; max-height: 12; border: round $primary; }
    TrialScreen .trial-heading { text-style: bold; margin-top: 1; }
    TrialScreen .trial-row { height: auto; margin-bottom: 1; }
    TrialScreen #trial-forms Input, TrialScreen #trial-forms Select, TrialScreen #trial-forms Checkbox {
        margin-bottom: 1;
    }
    TrialScreen .trial-row Input, TrialScreen .trial-row Select { margin: 0 1 0 0; }
    TrialScreen #trial-forms Button { margin-bottom: 1; }
    TrialScreen .trial-row Input, TrialScreen .trial-row Select { width: 1fr; }
    /* Narrow (below NARROW_BELOW): the forms above the chart and the tables, in one scrolling
       column, so the chart and the form fields keep their width. */
    TrialScreen.-narrow #trial-body { layout: vertical; overflow-y: auto; }
    TrialScreen.-narrow #trial-forms { width: 1fr; height: auto; }
    TrialScreen.-narrow #trial-view { height: auto; overflow-y: hidden; }
    /* Compact (below COMPACT_BELOW): no header, buttons one line high without borders, no blank
       lines between fields; STOP, the message bar and the footer stay on screen. */
    TrialScreen.-compact Header { display: none; }
    TrialScreen.-compact #trial-top Button { min-width: 10; }
    TrialScreen.-compact #trial-forms { border: none; border-top: solid $primary; }
    TrialScreen.-compact #trial-forms Input, TrialScreen.-compact #trial-forms Select,
    TrialScreen.-compact #trial-forms Checkbox, TrialScreen.-compact #trial-forms Button { margin-bottom: 0; }
    TrialScreen.-compact #trial-forms Button { border: none; height: 1; }
    TrialScreen.-compact .trial-heading { margin-top: 0; }
    TrialScreen.-compact .trial-row { margin-bottom: 0; }
    """

    def __init__(self, store: TrialStore | None = None) -> None:
        """``store``: the trial records to use (default: those in the connected target's data folder)."""
        super().__init__()
        self._given_store = store
        self.store: TrialStore | None = store
        self.trial: Trial | None = None
        self.writing: str | None = None
        """What is being stored now (one write at a time), None when nothing is."""
        self._view_requests = 0  # only the newest read of the trial is shown
        self._shown_view: TrialView | None = None
        self._polling = False

    # --- layout --------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        with Horizontal(id="trial-top"):
            yield Select[str]((), prompt="Choose a trial", id="trial-pick")
            yield Button("New trial (ctrl+n)", id="trial-new")
            yield StopButton()
        yield Static(id="trial-summary")
        yield Static(id="trial-live")
        with Horizontal(id="trial-body"):
            with VerticalScroll(id="trial-forms"):
                yield Label("Coverage (settings read back from the device)", classes="trial-heading")
                yield Select[int]((), prompt="slot", id="cov-slot", compact=True)
                yield Select[int](
                    [(f"comfort: {k} {v}", k) for k, v in COMFORT_LABELS.items()],
                    prompt="comfort",
                    id="cov-comfort",
                    compact=True,
                )
                yield Input(
                    placeholder="felt in: low-back-left, buttock-left (or none)",
                    id="cov-regions",
                    compact=True,
                )
                yield Input(placeholder="notes (no identifying data)", id="cov-notes", compact=True)
                yield Checkbox("left active at the end of the session", id="cov-left-active", compact=True)
                yield Button("Record coverage (ctrl+k)", id="cov-record", variant="primary")
                yield Label("Diary", classes="trial-heading")
                with Horizontal(classes="trial-row"):
                    yield Input(value="today", placeholder="date", id="diary-date", compact=True)
                    yield Input(placeholder="pain NRS 0-10", id="diary-nrs", compact=True)
                    yield Input(placeholder="hours stimulated", id="diary-hours", compact=True)
                yield Select[str](
                    [("analgesics: less than before", "less"), ("analgesics: the same", "same"),
                     ("analgesics: more than before", "more")],
                    prompt="analgesics",
                    id="diary-analgesics",
                    compact=True,
                )  # fmt: skip
                yield Input(placeholder="notes (no identifying data)", id="diary-notes", compact=True)
                yield Checkbox("hours from the device's counter if not typed", id="diary-device", compact=True)
                yield Checkbox("edit that day's entry (old values kept)", id="diary-edit", compact=True)
                yield Input(placeholder="reason for the change", id="diary-reason", compact=True)
                yield Button("Add diary entry (ctrl+d)", id="diary-add", variant="primary")
            with VerticalScroll(id="trial-view"):
                yield Static(id="trial-chart")
                yield DataTable(id="trial-programs", cursor_type="row", zebra_stripes=True)
                yield DataTable(id="trial-diary", cursor_type="row", zebra_stripes=True)
        yield MessageBar(id="messages")
        yield StopFooter()

    def on_resize(self) -> None:
        width, height = self.size
        compact = width < COMPACT_BELOW[0] or height < COMPACT_BELOW[1]
        self.set_class(width < NARROW_BELOW, "-narrow")
        self.set_class(compact, "-compact")
        self.query_one("#trial-pick", Select).compact = compact
        for button in self.query(Button).results(Button):
            button.compact = compact

    def on_mount(self) -> None:
        app = scs(self)
        self.title = "Trial"
        self.sub_title = app.sub_title
        self.query_one("#trial-programs", DataTable).add_columns(
            "program", "date", "slot", "settings (read back)", "felt in", "over the pain area", "comfort", "left active"
        )
        self.query_one("#trial-diary", DataTable).add_columns(
            "day", "date", "NRS", "stimulation", "analgesics", "notes", "revision"
        )
        self.watch(app, "programs", self._show_slots, init=True)
        self.watch(app, "status", self._show_live, init=True)
        self.watch(app, "link_lost", lambda _r: self._show_live(app.status), init=False)
        self.set_interval(RECORD_POLL_S, self._poll_record)
        show(self.query_one("#trial-summary", Static), Text("Reading the trial records...", style="dim"))
        if self.store is not None:
            self._load_trials()
            return
        data_dir, operator = app.target.data_dir, app.target.operator

        def opened(store: TrialStore) -> None:
            if not self.is_attached:  # left before the records were open
                _close_in_background(store)
                return
            self.store = store
            self._load_trials()

        def failed(err: BaseException) -> None:
            app.show_note("Trial records cannot be opened", str(err), "error")
            if self.is_attached:
                show(self.query_one("#trial-summary", Static), Text("Trial records cannot be opened.", style="red"))

        app.call_blocking(
            "open the trial records", lambda: TrialStore.in_dir(data_dir, operator=operator), opened, on_error=failed
        )

    def on_unmount(self) -> None:
        if self.store is not None and self._given_store is None:
            # Closing waits for a write still in progress (the store's lock): not on the event loop.
            _close_in_background(self.store)

    # --- showing -------------------------------------------------------------------------------------

    @property
    def device(self) -> Device | None:
        return scs(self).device

    def _show_slots(self, programs: dict[int, Any]) -> None:
        select = self.query_one("#cov-slot", Select)
        chosen = select.value
        # One space between settings: the choice fits the form's width whole.
        choices = sorted(programs.items())
        select.set_options((f"slot {n}: {' '.join(program_summary(p).split())}", n) for n, p in choices)
        if isinstance(chosen, int) and chosen in programs:
            select.value = chosen

    def _in_background(
        self, label: str, fn: Callable[[], T], done: Callable[[T], None], failed: Callable[[BaseException], None]
    ) -> None:
        """``fn()`` in a thread (``app.call_blocking``); ``done``/``failed`` only while this screen is shown."""

        def on_done(result: T) -> None:
            if self.is_attached:
                done(result)

        def on_error(err: BaseException) -> None:
            if self.is_attached:
                failed(err)

        scs(self).call_blocking(label, fn, on_done, on_error=on_error)

    def _store_write(self, label: str, what: str, fn: Callable[[], T], done: Callable[[T], None]) -> bool:
        """Store in a thread, one write at a time; ``done`` runs once it is committed. False if refused."""
        if self.writing is not None:
            scs(self).show_note(f"{what}: not done", f"still storing: {self.writing}; wait for it", "warning")
            return False
        self.writing = label

        def stored(result: T) -> None:
            self.writing = None
            done(result)

        def failed(err: BaseException) -> None:
            self.writing = None
            self._refused(what, err)

        self._in_background(label, fn, stored, failed)
        return True

    def _load_trials(self, choose: str | None = None) -> None:
        """Read this device's trials and open ``choose`` (default: the one open, else the newest)."""
        device, store = self.device, self.store
        if store is None or device is None:
            self._show_view(None)
            return
        serial = device.identity.serial
        opened = self.trial.trial_id if self.trial else None
        self._view_requests += 1
        request = self._view_requests

        def read() -> tuple[list[Trial], TrialView | None]:
            trials = [t for t in store.trials() if t.device_serial == serial]
            known = {t.trial_id for t in trials}
            wanted = choose or opened or (trials[-1].trial_id if trials else None)
            return trials, TrialView.read(store, wanted) if wanted in known else None

        def show_them(result: tuple[list[Trial], TrialView | None]) -> None:
            trials, view = result
            if request == self._view_requests:  # else a newer read of a trial was asked for: it shows that
                self.trial = view.trial if view is not None else None
                self._show_view(view)
            pick = self.query_one("#trial-pick", Select)
            pick.set_options((f"{t.trial_id}  from {t.start_date}", t.trial_id) for t in reversed(trials))
            if self.trial is not None and any(t.trial_id == self.trial.trial_id for t in trials):
                pick.value = self.trial.trial_id  # self.trial is set first: choosing it again reads nothing

        self._in_background(
            "read the trial records",
            read,
            show_them,
            lambda err: scs(self).show_note("Trial records cannot be read", str(err), "error"),
        )

    def _show_live(self, status: Any) -> None:
        """The stimulation now, as on the main screen (adjusting while recording coverage)."""
        app = scs(self)
        if status is None:
            text = Text("stimulation: reading the device...", style="dim")
        elif app.link_lost:
            text = Text(f"LINK LOST - last known: {state_words(status.state)}", style="bold red")
        elif status.state in OUTPUT_STATES:
            text = Text(f"{state_words(status.state).upper()}  slot {status.active_slot}  ", style="bold green")
            text.append(f"delivered {format_ua(status.amplitude_ua)}, set-point {format_ua(status.setpoint_ua)}")
            if status.status_flags & StatusFlags.TENTATIVE:
                text.append("  TENTATIVE (commit on the main screen: Esc, c)", style="bold black on yellow")
        else:
            text = Text(f"stimulation off: {state_words(status.state)}", style="bold")
        show(self.query_one("#trial-live", Static), text)

    def _poll_record(self) -> None:
        """Read the open trial again, quietly, so entries made elsewhere (``scsctl trial diary`` in
        another terminal) show here; redrawn only if it changed, never while this screen writes."""
        store, trial = self.store, self.trial
        if store is None or trial is None or self.writing is not None or self._polling:
            return
        self._polling = True
        request = self._view_requests

        def work() -> None:
            try:
                view: TrialView | None = TrialView.read(store, trial.trial_id)
            except ScsError:
                view = None  # shown when the user next acts; a poll does not speak up
            with contextlib.suppress(RuntimeError):
                self.app.call_from_thread(self._polled, view, request)

        self.run_worker(work, thread=True, group="trial-poll", exit_on_error=False)

    def _polled(self, view: TrialView | None, request: int) -> None:
        self._polling = False
        if view is None or request != self._view_requests or not self.is_attached:
            return
        if view != self._shown_view:
            self.trial = view.trial
            self._show_view(view)

    def _open(self, trial_id: str) -> None:
        self._read_view(trial_id, "Trial not opened")

    def _refresh(self) -> None:
        """Read the open trial again and show it (after something was stored)."""
        if self.trial is not None:
            self._read_view(self.trial.trial_id, "Trial records cannot be read")

    def _read_view(self, trial_id: str, failure: str) -> None:
        store = self.store
        if store is None:
            return
        self._view_requests += 1
        request = self._view_requests

        def show_it(view: TrialView) -> None:
            if request == self._view_requests:
                self.trial = view.trial
                self._show_view(view)

        self._in_background(
            f"read trial {trial_id}",
            lambda: TrialView.read(store, trial_id),
            show_it,
            lambda err: scs(self).show_note(failure, str(err), "error"),
        )

    def _show_view(self, view: TrialView | None) -> None:
        self._shown_view = view
        summary = self.query_one("#trial-summary", Static)
        chart = self.query_one("#trial-chart", Static)
        programs = self.query_one("#trial-programs", DataTable)
        diary_table = self.query_one("#trial-diary", DataTable)
        programs.clear()
        diary_table.clear()
        if view is None:
            serial = self.device.identity.serial if self.device else "?"
            show(summary, Text(f"No trial for device {serial} yet: ctrl+n creates one.", style="yellow"))
            show(chart, Text(""))
            return
        trial, diary = view.trial, view.diary
        assessment = assess(trial, diary) if diary else None
        text = Text(f"{trial.trial_id}", style="bold")
        text.append(
            f"  {trial.start_date} to {trial.planned_end_date}  baseline NRS {trial.baseline_nrs}  "
            f"pain: {format_regions(trial.pain_regions) if trial.pain_regions else 'not recorded'}\n"
        )
        if assessment is None:
            text.append("no diary entry yet", style="dim")
        else:
            style = {"success": "bold green", "not met": "bold red", "not yet": "yellow"}[assessment.verdict]
            text.append(assessment.statement, style=style)
        show(summary, text)
        show(chart, pain_chart(trial, diary, assessment))
        for test in view.tests:
            programs.add_row(
                test.label, str(test.session_date), str(test.slot), program_summary(test.capture.program),
                format_regions(test.regions), test.overlap.describe(),
                "-" if test.comfort is None else f"{test.comfort} {COMFORT_LABELS[test.comfort]}",
                "yes" if test.left_active else "",
            )  # fmt: skip
        for entry in diary:
            hours = (
                "-"
                if entry.stimulation_s is None
                else f"{entry.stimulation_s / 3600:.1f} h ({entry.stimulation_source})"
            )
            diary_table.add_row(
                str(trial.day_number(entry.entry_date)), str(entry.entry_date), str(entry.nrs), hours,
                entry.analgesics.value if entry.analgesics else "-", entry.notes,
                f"{entry.revision} (edited)" if entry.entry_date in view.edited_dates else str(entry.revision),
            )  # fmt: skip

    def _refused(self, what: str, err: BaseException) -> None:
        scs(self).show_note(f"{what}: not done", str(err), "error" if not isinstance(err, UsageError) else "warning")

    # --- events --------------------------------------------------------------------------------------

    def on_select_changed(self, event: Select.Changed) -> None:
        opened = self.trial.trial_id if self.trial is not None else None
        if event.select.id == "trial-pick" and isinstance(event.value, str) and event.value != opened:
            self._open(event.value)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        actions = {"trial-new": self.action_new_trial, "cov-record": self.action_record_coverage,
                   "diary-add": self.action_add_diary}  # fmt: skip
        if event.button.id in actions:
            event.stop()
            actions[event.button.id]()

    def action_back(self) -> None:
        self.app.pop_screen()

    # --- new trial -----------------------------------------------------------------------------------

    def action_new_trial(self) -> None:
        app, store, device = scs(self), self.store, self.device
        if store is None or device is None:
            app.show_note("New trial: no device or no trial records", "connect first", "warning")
            return

        def create(plan: TrialPlan | None) -> None:
            if plan is None or not self.is_attached:
                return

            def read(trial_device: TrialDevice) -> None:
                if not self.is_attached:
                    return

                def stored(trial: Trial) -> None:
                    app.show_note(f"Trial {trial.trial_id} recorded", "the usage counter was read as its start", "info")
                    self._load_trials(choose=trial.trial_id)

                self._store_write("the new trial", "New trial", lambda: create_trial(store, trial_device, plan), stored)

            app.call_device("read the device", lambda dev, _ack: read_trial_device(dev), read, background=True)

        app.push_screen(NewTrialDialog(store, device.identity.serial), create)

    # --- coverage ------------------------------------------------------------------------------------

    def action_record_coverage(self) -> None:
        app, store, trial = scs(self), self.store, self.trial
        if store is None or trial is None:
            app.show_note("Record coverage: no trial open", "choose a trial or create one (ctrl+n)", "warning")
            return
        slot = self.query_one("#cov-slot", Select).value
        comfort_value = self.query_one("#cov-comfort", Select).value
        comfort = comfort_value if isinstance(comfort_value, int) else None
        regions_text = self.query_one("#cov-regions", Input).value
        notes = self.query_one("#cov-notes", Input).value
        left_active = self.query_one("#cov-left-active", Checkbox).value
        try:
            if not isinstance(slot, int):
                raise UsageError("choose the slot whose program the patient is feeling")
            regions = check_coverage(regions_text, comfort, what="paresthesia felt in")
        except ScsError as err:
            self._refused("Record coverage", err)
            return
        chosen_slot = slot

        def recorded(test: ProgramTest) -> None:
            app.show_note(
                f"{test.label} recorded: slot {test.slot}, {program_summary(test.capture.program)}",
                f"felt in {format_regions(test.regions)}; over the pain area: {test.overlap.describe()}",
                "info",
            )
            self.query_one("#cov-regions", Input).value = ""
            self.query_one("#cov-notes", Input).value = ""
            self._refresh()

        def read_back(reading: CoverageReading) -> None:
            if not self.is_attached:
                return
            self._store_write(
                f"coverage of slot {chosen_slot}",
                "Record coverage",
                lambda: record_coverage(
                    store, trial, reading, regions=regions, comfort=comfort, notes=notes, left_active=left_active
                ),
                recorded,
            )

        app.call_device(
            f"read back slot {chosen_slot}",
            lambda device, _ack: read_coverage(trial, device, chosen_slot, left_active=left_active),
            read_back,
            background=True,
        )

    # --- diary ---------------------------------------------------------------------------------------

    def action_add_diary(self) -> None:
        app, store, trial = scs(self), self.store, self.trial
        if store is None or trial is None:
            app.show_note("Diary: no trial open", "choose a trial or create one (ctrl+n)", "warning")
            return
        analgesics = self.query_one("#diary-analgesics", Select).value
        drug = analgesics if isinstance(analgesics, str) else None
        notes = self.query_one("#diary-notes", Input).value
        from_device = self.query_one("#diary-device", Checkbox).value
        edit = self.query_one("#diary-edit", Checkbox).value
        reason = self.query_one("#diary-reason", Input).value
        try:
            day = parse_day(self.query_one("#diary-date", Input).value, store.today(), what="date")
            nrs_text = self.query_one("#diary-nrs", Input).value.strip()
            hours_text = self.query_one("#diary-hours", Input).value.strip()
            nrs = parse_nrs(nrs_text) if nrs_text or not edit else None
            seconds = hours_to_s(hours_text) if hours_text else None
        except ScsError as err:
            self._refused("Diary", err)
            return
        if edit:
            self._store_write(
                f"the diary entry of {day}",
                "Diary",
                lambda: edit_diary(
                    store,
                    trial,
                    day,
                    nrs=nrs,
                    stimulation_s=seconds,
                    analgesics=drug,
                    notes=notes or None,
                    reason=reason,
                ),
                lambda entry: self._diary_done(trial, entry, "changed; the old values are kept in the history"),
            )
            return
        assert nrs is not None
        new_nrs = nrs

        def add(usage: DeviceUsage | None) -> DiaryEntry:
            try:
                return add_diary(
                    store, trial, day, new_nrs, stimulation_s=seconds, usage=usage, analgesics=drug, notes=notes
                )
            except DiaryDayTaken as err:
                raise _with_edit_hint(err) from err

        def store_it(usage: DeviceUsage | None) -> None:
            if self.is_attached:
                label = f"the diary entry of {day}"
                self._store_write(label, "Diary", lambda: add(usage), lambda e: self._diary_done(trial, e, "recorded"))

        if not from_device:
            store_it(None)
            return

        def check() -> None:
            try:
                check_diary_day(store, trial, day)
            except DiaryDayTaken as err:
                raise _with_edit_hint(err) from err

        def checked(_result: None) -> None:
            # The day is checked before the device is read, so a refusal asks nothing of the device.
            app.call_device(
                "read the usage counter",
                lambda dev, _ack: read_trial_usage(trial, dev),
                store_it,
                background=True,
            )

        self._in_background(f"check the diary day {day}", check, checked, lambda e: self._refused("Diary", e))

    def _diary_done(self, trial: Trial, entry: DiaryEntry, what: str) -> None:
        hours = (
            "" if entry.stimulation_s is None else f", {entry.stimulation_s / 3600:.1f} h ({entry.stimulation_source})"
        )
        scs(self).show_note(
            f"Diary {entry.entry_date} (day {trial.day_number(entry.entry_date)}) {what}",
            f"NRS {entry.nrs}{hours}",
            "info",
        )
        for widget_id in ("#diary-nrs", "#diary-hours", "#diary-notes", "#diary-reason"):
            self.query_one(widget_id, Input).value = ""
        self.query_one("#diary-edit", Checkbox).value = False
        self._refresh()


def _close_in_background(store: TrialStore) -> None:
    """Close ``store`` once a write still in progress is done, without the event loop waiting for it."""

    def close() -> None:
        with contextlib.suppress(ScsError):
            store.close()

    threading.Thread(target=close, name="scsctl-trial-close", daemon=True).start()


def _with_edit_hint(err: DiaryDayTaken) -> UsageError:
    """The day's entry exists: say which box edits it, as it is labelled on this screen."""
    return UsageError(f"{err}: tick 'edit that day's entry' to change it")

"""The application: connection, device state as reactives, controller calls in threads, and STOP.

Everything the screens show of the device lives here as reactive attributes (``status``,
``programs``, ``impedance``, ``link_lost``, ``audit_version``, ``note``); widgets watch them
(``self.watch(self.app, "status", ...)``) and never talk to the device themselves. Every controller
call goes through :meth:`ScsApp.call_device`, which runs it in a Textual thread worker so the UI
never blocks, reports failures in words a technician understands, and asks for an acknowledgement
when the guard wants one; anything else that may wait (the trial records' database) goes through
:meth:`ScsApp.call_blocking`. Nothing that can block runs on the event loop, which is where F2 is
handled. STOP itself goes to a thread of its own (``StopLine``), which also reaches a device while
the app is between connections.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.reactive import var

from firmware_protocol import messages as m
from firmware_protocol.constants import OUTPUT_STATES, State

from ..controller import (
    ConnectTarget,
    DeviceWatch,
    ImpedanceRecord,
    LinkStateChange,
    LinkStatus,
    Outcome,
    ReadOrder,
    Session,
    StatusFreshness,
    StatusReading,
    StopResult,
)
from ..errors import AcknowledgementRequired, ScsError
from .messages import CommandFailed, DeviceEventArrived, StatusFailed, StatusReady, StopFinished
from .wording import Explanation, explain

if TYPE_CHECKING:
    from textual.screen import Screen

    from ..controller import Device, PortListing

__all__ = ["STOP_KEY", "ScsApp"]

T = TypeVar("T")

STOP_KEY = "f2"
"""The one STOP key (see ``ScsApp`` for why F2)."""

DeviceCall = Callable[["Device", frozenset[str]], T]
"""A controller call: gets the device and the warnings acknowledged so far."""


class ScsApp(App[None]):
    """scsctl's terminal UI.

    STOP is F2, an app-level binding with ``priority=True``: it works on every screen, inside every
    dialog and inside text fields, is shown in every footer and beside a STOP button on each screen.
    F2 because: a function key is never typed while entering a value, so it is not pressed by
    accident, and no other function key is bound (a neighbour key pressed by mistake does nothing);
    it sits at the top left beside Esc where a hand finds it without looking; terminals send it
    at once, unlike Esc, which terminals and tmux hold back (up to 500 ms) to tell it from escape
    sequences, and which people press by habit to close dialogs (here Esc closes dialogs); F1, F10
    and F11 are taken by common terminal emulators, F12 by drop-down ones. Space was rejected as
    too easy to hit and needed for buttons and contacts.

    Screens: ``ConnectScreen`` (ports, the emulator; connects on start), ``MainScreen`` (the device),
    dialogs (``StartDialog``, ``AcknowledgeDialog``, ``ValueDialog``, ``QuitDialog``). To add a screen
    such as the trial workflow's ``TrialScreen``: make it a ``Screen`` that composes ``StopButton``
    and ``StopFooter`` (STOP then shows and works there too), reads the device through ``app.device``
    and the reactives above, and runs every controller call through ``app.call_device(label, fn,
    on_done)`` and anything else that may wait (a database, a file) through ``app.call_blocking``:
    nothing that can block runs on the event loop, where F2 is handled; open it from the main screen
    with ``app.open_screen(TrialScreen(...))`` from a binding on ``MainScreen``
    (``MainScreen.BINDINGS``), and leave it with ``app.pop_screen()``.

    Headless use (the benchmark): ``app = ScsApp(ConnectTarget(...))``; ``async with
    app.run_test() as pilot`` (or ``app.run(headless=True)`` in a thread); ``app.connected`` is a
    ``threading.Event`` set once the main screen shows a connected device, ``app.started_at_s`` and
    ``app.connected_at_s`` are ``time.monotonic()`` stamps, ``app.device`` is the ``Device``;
    ``app.last_stop`` holds the last STOP's ``StopResult`` (asked-for and confirmed times).
    """

    CSS_PATH = "scsctl.tcss"
    TITLE = "scsctl"
    ENABLE_COMMAND_PALETTE = True
    COMMAND_PALETTE_DISPLAY = "ctrl+p"
    BINDINGS: ClassVar[list[BindingType]] = [
        # show=False: the footer of every screen shows F2 STOP in a place of its own (StopFooter).
        Binding(STOP_KEY, "stop", "STOP", key_display="F2", priority=True, show=False),
        Binding("k", "acknowledge", "OK: clear the STOP message"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("f1", "help", "Help", key_display="F1", show=False, priority=True),
        Binding("ctrl+p", "command_palette", "Find an action by name", show=False),
        Binding("ctrl+q", "quit_app", "Quit", priority=True, show=False),
    ]

    status: var[m.Status | None] = var(None, always_update=True)
    """The device's last status (coalesced: the newest replaces one not yet drawn)."""
    programs: var[dict[int, m.Program]] = var(dict, always_update=True)
    """Every slot that holds a program, as last read back from the device."""
    impedance: var[ImpedanceRecord | None] = var(None, always_update=True)
    link_lost: var[str] = var("")
    """Why the link is lost ("" while it is up)."""
    audit_version: var[int] = var(0)
    """Bumped whenever the audit trail of this session grew (the events view reloads)."""
    note: var[Explanation | None] = var(None, always_update=True)
    """What the message bar shows: the last refusal, STOP result, fault or done action.

    Priority: a STOP message (``about == "stop"``) stays until acknowledged (``k`` or a click on the
    message bar); what comes meanwhile is held (``held_note``, the newest) and shown after. A message
    about a state (the link lost, a fault, a refusal) is cleared when that state is gone."""
    busy: var[tuple[str, ...]] = var(())
    """Labels of the controller calls running now."""

    def __init__(
        self,
        target: ConnectTarget | None = None,
        *,
        show_times: bool = True,
        port_lister: Callable[[], PortListing] | None = None,
        status_interval_s: float = 0.5,
    ) -> None:
        """``show_times``: False masks what changes with time or machine load rather than with what the
        user does: clocks, ages, round-trip times, battery voltage, missed heartbeats (for snapshots).
        ``port_lister``: what the connect screen lists (default ``scsctl.controller.list_ports``).
        """
        super().__init__()
        self.target = target or ConnectTarget()
        self.show_times = show_times
        self.port_lister = port_lister
        self.status_interval_s = status_interval_s
        self.device: Device | None = None
        self.device_watch: DeviceWatch | None = None
        self.connected = threading.Event()
        self.started_at_s = time.monotonic()
        self.connected_at_s: float | None = None
        self.drafts: dict[str, m.Program] = {}
        """The draft on screen per device serial, so a reconnect does not lose unsaved edits."""
        self.session = Session(lambda result: self.post_message(StopFinished(result)))
        """The port held, the STOP line, and STOPs asked for from other terminals (``scsctl stop``)."""
        self.stop_line = self.session.stop_line
        self._stop_target: ConnectTarget | None = None
        """The target STOP goes to (by ``stop_now``) while no open device is attached to the STOP line."""
        self.status_order = ReadOrder()
        """Numbers every status read, by the watch or in a controller call (which one is newer)."""
        self._freshness = StatusFreshness()
        self._exit_after_stop = False
        self._after_stop: Callable[[], None] | None = None
        self.last_stop: StopResult | None = None
        """The last STOP's result, with when it was asked for and when the device confirmed it."""
        self.held_note: Explanation | None = None
        """The newest message that came while a STOP message waited to be acknowledged."""
        self._note_serial = 0
        """Counts messages shown (a call that showed none leaves an older refusal stale)."""
        self._note_state: m.Status | None = None
        """The status drawn when the message shown came (a refusal is stale once the state moved on)."""

    # --- screens -----------------------------------------------------------------------------------

    def on_mount(self) -> None:
        from .screens.connect import ConnectScreen

        self.push_screen(ConnectScreen(self.target, auto_connect=True))

    def action_help(self) -> None:
        from .screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The command palette (ctrl+p): STOP first, then every action of this screen and the app."""
        yield SystemCommand("STOP all stimulation (F2)", "sends STOP at once", self.action_stop)
        actions: list[tuple[str, str, Any]] = []
        for node in (screen, self):
            for binding in node._bindings.key_to_bindings.values():
                for b in binding:
                    if b.description and b.action not in ("stop", "command_palette"):
                        actions.append((b.description, b.key, (node, b.action)))
        seen: set[str] = set()
        for description, key, (node, action) in actions:
            if action in seen:
                continue
            seen.add(action)
            allowed = node.check_action(action.split("(")[0], ())
            role_allows = getattr(node, "role_allows", None)  # not offered to this role (its key says why)
            if allowed is False or (role_allows is not None and not role_allows(action)):
                continue
            yield SystemCommand(
                f"{description} ({self.get_key_display(Binding(key, ''))})",
                "",
                lambda node=node, action=action: self.call_later(node.run_action, action),
            )

    def open_screen(self, screen: Any) -> None:
        """Show ``screen`` on top of the present one (dialogs, the connect screen, a trial screen)."""
        self.push_screen(screen)

    def show_note(self, title: str, text: str = "", severity: str = "info", limit: str = "", about: str = "") -> None:
        self.note = Explanation(title, text, severity, limit, about)

    # --- the message bar's priorities --------------------------------------------------------------

    @property
    def stop_message_pending(self) -> bool:
        """A STOP message is shown and not yet acknowledged."""
        note: Explanation | None = getattr(self, "_reactive_note", None)  # the value now, without side effects
        return note is not None and note.about == "stop"

    def validate_note(self, note: Explanation | None) -> Explanation | None:
        if self.stop_message_pending and (note is None or note.about != "stop"):
            if note is not None:
                self.held_note = note
            return self.note  # the STOP message stays until acknowledged
        if note is not None and note.about == "stop":
            self.held_note = None
        self._note_serial += 1
        self._note_state = self.status
        return note

    def watch_note(self, _note: Explanation | None) -> None:
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "acknowledge":
            return self.stop_message_pending
        return True

    def action_acknowledge(self) -> None:
        """The STOP message was read: show what came meanwhile (if it still holds), else nothing."""
        if not self.stop_message_pending:
            return
        held, self.held_note = self.held_note, None
        self.set_reactive(ScsApp.note, None)
        self.note = held if held is not None and not self._stale(held) else None

    def _stale(self, note: Explanation) -> bool:
        """Whether the state ``note`` describes is gone."""
        status = self.status
        if note.about == "link":
            return not self.link_lost
        if note.about == "fault":
            return status is not None and not status.fault_flags and status.state != State.FAULT
        if note.about == "refusal":
            old = self._note_state
            return (
                status is not None
                and old is not None
                and (status.state, status.active_slot)
                != (
                    old.state,
                    old.active_slot,
                )
            )
        return False

    def _clear_stale_note(self) -> None:
        note = self.note
        if self.held_note is not None and self._stale(self.held_note):
            self.held_note = None
        if note is not None and note.about != "stop" and self._stale(note):
            self.note = None

    # --- connecting --------------------------------------------------------------------------------

    def connect_to(self, target: ConnectTarget, on_failed: Callable[[BaseException], None]) -> None:
        """Close any device, open ``target`` in a worker, and show the main screen once connected.

        F2 keeps working all along (see ``stop_line``): the old device stays on the STOP line while
        it closes, then STOP goes to the target last connected (or to ``target`` if there was none)
        by ``stop_now``, and to the new device as soon as it is open.
        """
        old, self.device = self.device, None
        self._detach_watch()
        if self._stop_target is None:
            self._stop_target = target
            self.stop_line.set_fallback(target.stop_now)
        same_port = self._stop_target.may_share_port(target)

        def work() -> None:
            if old is not None:
                with contextlib.suppress(ScsError):
                    old.close()
            device: Device | None = None
            try:
                with self.stop_line.opening() if same_port else contextlib.nullcontext():
                    self.session.hold(target)  # PortBusy names the process that has it
                    device = target.open()
                    self.stop_line.attach(device, fallback=target.stop_now)
                    self._stop_target = target
                programs = device.programs()
            except Exception as err:  # noqa: BLE001 - any failure is shown on the connect screen
                if device is not None:  # opened but not usable: STOP goes by the fallback again
                    with contextlib.suppress(ScsError):
                        device.close()
                self._from_thread(on_failed, err)
                return
            self._from_thread(self._attach_device, target, device, programs)

        self.run_worker(work, name=f"connect {target.url}", group="connect", thread=True, exit_on_error=False)

    def _attach_device(self, target: ConnectTarget, device: Device, programs: dict[int, m.Program]) -> None:
        from .screens.main import MainScreen

        self.target = target
        self.device = device
        self.programs = programs
        self.impedance = device.impedance
        self.link_lost = ""
        self.status = None
        self._freshness.reset()
        self.note = None
        self.sub_title = _sub_title(target, device)
        self.device_watch = DeviceWatch(
            device,
            on_status=lambda: self.post_message(StatusReady()),
            on_event=lambda event: self.post_message(DeviceEventArrived(event)),
            on_error=lambda err: self.post_message(StatusFailed(err)),
            interval_s=self.status_interval_s,
            order=self.status_order,
        )
        while len(self.screen_stack) > 2:
            self.pop_screen()
        self.switch_screen(MainScreen(device, programs, self.drafts.get(device.identity.serial)))
        self.connected_at_s = time.monotonic()
        self.connected.set()

    def _detach_watch(self) -> None:
        self.connected.clear()
        if self.device_watch is not None:
            self.device_watch.close()
            self.device_watch = None

    def reconnect(self, target: ConnectTarget | None = None) -> None:
        """Show the connect screen connecting to ``target`` (default: the present one) again."""
        from .screens.connect import ConnectScreen

        self.push_screen(ConnectScreen(target or self.target, auto_connect=True))

    # --- controller calls --------------------------------------------------------------------------

    def call_device(
        self,
        label: str,
        fn: DeviceCall[T],
        on_done: Callable[[T], None] | None = None,
        *,
        on_error: Callable[[BaseException], None] | None = None,
        acknowledge: frozenset[str] = frozenset(),
        background: bool = False,
    ) -> None:
        """Run ``fn(device, acknowledge)`` in a thread; ``on_done(result)`` then runs on the UI thread.

        ``background``: a read that changes nothing (not shown as busy, no status refresh after it).

        A failure shows in the message bar (``note``) in a technician's words, after ``on_error``;
        a warning the guard wants acknowledged opens a dialog and, if the user agrees, the call is
        made again with it acknowledged. Nothing the screen shows changes unless the call succeeded.

        A result that is an ``Outcome`` with a status: that status is drawn (``app.status``) before
        ``on_done`` runs, unless a STOP was asked for while the call ran, or a status read after the
        call ended is drawn already; callers never assign ``app.status`` themselves.
        """
        device = self.device
        if device is None:
            self.show_note(f"{label}: no device is connected", "connect first (p)", "error")
            return
        stops_before = self.stop_line.requests
        notes_before = self._note_serial
        if not background:
            self.busy = (*self.busy, label)

        def work() -> None:
            begun = self.status_order.next()
            try:
                result = fn(device, acknowledge)
            except Exception as err:  # noqa: BLE001 - every failure is shown; a bug must not kill the UI
                after_stop = self.stop_line.requests != stops_before
                self._from_thread(
                    self._failed,
                    label,
                    err,
                    after_stop,
                    on_error,
                    lambda ack: self.call_device(
                        label, fn, on_done, on_error=on_error, acknowledge=acknowledge | ack, background=background
                    ),
                )
            else:
                if isinstance(result, Outcome) and result.status is not None:
                    reading = StatusReading(result.status, begun, self.status_order.next())
                    self._from_thread(self._offer_call_status, reading, stops_before)
                if not background:
                    self._from_thread(self._succeeded, notes_before)
                if on_done is not None:
                    self._from_thread(on_done, result)
            finally:
                if not background:
                    self._from_thread(self._finished, label)

        self.run_worker(work, name=label, group="device", thread=True, exit_on_error=False)

    def call_blocking(
        self,
        label: str,
        fn: Callable[[], T],
        on_done: Callable[[T], None] | None = None,
        *,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        """Run ``fn()``, something that may wait (the shared database: up to its lock timeout), in a
        thread, never on the event loop where F2 is handled; ``on_done(result)`` then runs on the UI
        thread, so nothing is reported done before it is. Shown as busy (``label``) meanwhile.

        A failure goes to ``on_error``, or else is explained in the message bar.
        """
        self.busy = (*self.busy, label)

        def work() -> None:
            try:
                result = fn()
            except Exception as err:  # noqa: BLE001 - every failure is shown; a bug must not kill the UI
                self._from_thread(on_error or (lambda e: self._explain(e, label)), err)
            else:
                if on_done is not None:
                    self._from_thread(on_done, result)
            finally:
                self._from_thread(self._not_busy, label)

        self.run_worker(work, name=label, group="blocking", thread=True, exit_on_error=False)

    def _from_thread(self, callback: Callable[..., Any], *args: Any) -> None:
        """Run ``callback`` on the UI thread and wait for it; nothing if the app has gone."""
        with contextlib.suppress(RuntimeError):
            self.call_from_thread(callback, *args)

    def _explain(self, err: BaseException, label: str) -> None:
        self.note = explain(err, label)

    def _succeeded(self, notes_before: int) -> None:
        """A refusal shown before this call (and nothing since) is stale: the user has moved on."""
        if self.note is not None and self.note.about == "refusal" and self._note_serial == notes_before:
            self.note = None

    def _not_busy(self, label: str) -> None:
        busy = list(self.busy)
        if label in busy:
            busy.remove(label)
        self.busy = tuple(busy)

    def _finished(self, label: str) -> None:
        self._not_busy(label)
        self.audit_version += 1
        if self.device_watch is not None:
            self.device_watch.poke()

    def _failed(
        self,
        label: str,
        err: BaseException,
        after_stop: bool,
        on_error: Callable[[BaseException], None] | None,
        retry: Callable[[frozenset[str]], None],
    ) -> None:
        if on_error is not None:
            on_error(err)
        self.post_message(CommandFailed(label, err, after_stop=after_stop))
        if isinstance(err, AcknowledgementRequired) and not after_stop:
            from .screens.dialogs import AcknowledgeDialog

            warnings = frozenset(str(w) for w in err.value) if isinstance(err.value, tuple) else frozenset()

            def answered(agreed: bool | None) -> None:
                if agreed:
                    retry(warnings)
                else:
                    self.show_note(
                        f"{label}: not done", "the warning was not acknowledged; nothing was sent", "warning"
                    )

            self.push_screen(AcknowledgeDialog(label, str(err)), answered)

    def on_command_failed(self, message: CommandFailed) -> None:
        if isinstance(message.error, AcknowledgementRequired) and not message.after_stop:
            return  # the dialog asks
        explanation = explain(message.error, message.label)
        if message.after_stop:
            explanation = Explanation(f"{message.label}: cut short by STOP", explanation.text, "warning")
        self.note = explanation
        self.refresh_programs()

    def refresh_programs(self) -> None:
        """Read every slot back (after a failure or a commit: the screen shows what the device holds)."""
        if self.device is None or self.link_lost:
            return

        def done(programs: dict[int, m.Program]) -> None:
            self.programs = programs

        self.call_device("read programs", lambda device, _ack: device.programs(), done, background=True)

    # --- device side -------------------------------------------------------------------------------

    def on_status_ready(self, _message: StatusReady) -> None:
        watch = self.device_watch
        reading = watch.statuses.take() if watch is not None else None
        if reading is not None:
            self._offer_status(reading)

    def _offer_call_status(self, reading: StatusReading, stops_before: int) -> None:
        """A controller call's status, unless STOP was asked for since the call began: the status may
        be from before the STOP (the watch reads it again once the STOP is confirmed)."""
        if self.stop_line.requests == stops_before:
            self._offer_status(reading)

    def _offer_status(self, reading: StatusReading) -> None:
        """Draw ``reading`` unless the status drawn was surely read after it (``StatusFreshness``)."""
        if self._freshness.take(reading) and not _same_status(reading.status, self.status):
            self.status = reading.status
            self._clear_stale_note()

    def on_status_failed(self, message: StatusFailed) -> None:
        if not self.link_lost:
            self.note = explain(message.error, "reading the device's status")

    def on_device_event_arrived(self, message: DeviceEventArrived) -> None:
        event = message.event
        self.audit_version += 1
        if isinstance(event, LinkStateChange):
            if event.status is LinkStatus.LOST:
                self.link_lost = event.reason or "no answer"
                self.show_note(
                    "LINK LOST: the device does not answer",
                    f"{self.link_lost}. " + _after_loss(self.target.tethered) + " Press r to reconnect.",
                    "error",
                    about="link",
                )
            elif event.status is LinkStatus.UP:
                self.link_lost = ""
                self._clear_stale_note()
            return
        if isinstance(event, m.EventFault):
            contact = f" on contact {event.contact + 1}" if event.contact != 0xFF else ""
            self.show_note(
                f"Device fault: {event.fault.name.lower().replace('_', ' ')}{contact}",
                "the device reports it in its status; see Events",
                "error",
                about="fault",
            )
        elif isinstance(event, m.EventImpedanceWarning):
            self.show_note(
                f"Impedance warning: contact {event.contact + 1} reads {event.impedance_ohm} ohm "
                f"({event.status.name.lower()})",
                "see the Impedance tab",
                "warning",
            )

    # --- STOP --------------------------------------------------------------------------------------

    def action_stop(self) -> None:
        """Hand STOP to its own thread at once; the result comes back as ``StopFinished``."""
        self.stop_line.request()
        time.sleep(0)  # let the STOP thread take the interpreter now, before this thread goes on to redraw
        self.show_note("STOP sent", "waiting for the device to confirm all outputs are off", "stop", about="stop")
        self._close_dialogs()

    def _close_dialogs(self) -> None:
        """STOP closes every dialog (a value typed before it must not be sent after it)."""
        from textual.screen import ModalScreen

        while len(self.screen_stack) > 1 and isinstance(self.screen, ModalScreen):
            self.pop_screen()

    def on_stop_finished(self, message: StopFinished) -> None:
        result = message.result
        self.last_stop = result
        asked = f"asked from another terminal by {result.asked_by()}" if result.requested_by else ""
        if result.confirmed and result.unrecorded:
            self.show_note("STOPPED: the device confirmed all outputs are off", f"{asked} {result.unrecorded}".strip(),
                           "stop", about="stop")  # fmt: skip
        elif result.confirmed:
            self.show_note("STOPPED: the device confirmed all outputs are off", asked, "stop", about="stop")
        else:
            self.show_note("STOP NOT CONFIRMED", f"{result.error}", "error", about="stop")
        self.audit_version += 1
        if self.device_watch is not None:
            self.device_watch.poke()
        then, self._after_stop = self._after_stop, None
        if then is not None and result.confirmed:
            then()
        if self._exit_after_stop and result.confirmed:
            self.exit()
        self._exit_after_stop = False

    def after_confirmed_stop(self, then: Callable[[], None]) -> None:
        """Run ``then`` once the next STOP is confirmed (not at all if it is not)."""
        self._after_stop = then

    # --- leaving -----------------------------------------------------------------------------------

    @property
    def stimulating(self) -> bool:
        return self.status is not None and self.status.state in OUTPUT_STATES

    def action_quit_app(self) -> None:
        if self.stimulating and not self.target.tethered and not self.link_lost:
            from .screens.dialogs import QuitDialog

            def answered(choice: str | None) -> None:
                if choice == "stop":
                    self._exit_after_stop = True  # leave once the device confirmed (or STOP failed)
                    self.action_stop()
                elif choice == "leave":
                    self.exit()

            self.push_screen(QuitDialog(), answered)
            return
        self.exit()

    def on_unmount(self) -> None:
        device, self.device = self.device, None
        self._detach_watch()
        if device is not None:
            with contextlib.suppress(ScsError):
                device.close()
        self.session.close()


def _same_status(new: m.Status, old: m.Status | None) -> bool:
    """Equal but for the uptime, which ticks every second and is not shown: nothing to redraw."""
    return old is not None and dataclasses.replace(new, uptime_s=old.uptime_s) == old


def _after_loss(tethered: bool) -> str:
    if tethered:
        return "This session is tethered: the device stops stimulation by itself when its watchdog expires."
    return (
        "A running program keeps running on the device (untethered); tentative amplitude changes revert. "
        "STOP (F2) is still tried."
    )


def _sub_title(target: ConnectTarget, device: Device) -> str:
    ident = device.identity
    emulator = target.is_emulator or ident.is_emulator
    where = target.url
    if emulator:
        where = "EMULATOR - not a real device" + ("" if target.is_emulator else f" on {target.url}")
    guard = device.guard
    return f"{where} | {ident.profile} {ident.serial} | {guard.role.value}: {guard.tier.name.value} limits"

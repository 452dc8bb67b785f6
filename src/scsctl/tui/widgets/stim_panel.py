"""Stimulation: state, delivered and tentative amplitude, ramp progress, live changes, START/STOP.

Live amplitude changes go to the device as they are asked for, one at a time: presses made while
one is on its way are gathered into the newest target (sent next), so quick presses never queue
stale commands. A change is tentative on the device until committed (``c``), and the panel says
so; a refused change leaves the display at what the device reports (nothing half-applied).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Button, Static

from firmware_protocol import messages as m
from firmware_protocol.constants import OUTPUT_STATES, FaultFlags, State, StatusFlags

from ...controller import DeviceContext
from ...units import format_ua
from ..draft import start_refusal
from ..wording import state_words
from . import scs, show
from .bars import range_bar
from .charge_panel import charge_line
from .stop_button import StopButton

if TYPE_CHECKING:
    from ...controller import Device, Outcome

__all__ = ["LiveAmplitude", "StimPanel", "fault_way_out"]


def fault_way_out(faults: FaultFlags) -> str:
    """Why START cannot be pressed in FAULT, and the way out (PROTOCOL.md: FaultCode, cleared by)."""
    if faults & FaultFlags.END_OF_SERVICE:
        return "FAULT: the device is at its end of service and cannot stimulate again"
    if faults & FaultFlags.HARDWARE:
        return "FAULT: hardware fault: switch the device off and on again (power cycle)"
    if faults & (FaultFlags.LEAD_OPEN | FaultFlags.LEAD_SHORT):
        return "FAULT: a lead is open or shorted: check the connection, then measure impedance (m) to clear it"
    if faults & FaultFlags.OVER_COMPLIANCE:
        return "FAULT: over compliance: STOP (F2) clears it; then lower the amplitude or check the leads"
    return "FAULT (output off): STOP (F2) clears a fault whose cause has gone"


ARROWS_AT = 17


class LiveAmplitude(Widget, can_focus=True):
    """The live amplitude control; the panel draws it (``text``) and acts on its messages."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,right", "step(1, False)", "+fine"),
        Binding("down,left", "step(-1, False)", "-fine"),
        Binding("pageup,shift+up,shift+right", "step(1, True)", "+coarse"),
        Binding("pagedown,shift+down,shift+left", "step(-1, True)", "-coarse"),
        Binding("enter", "type_value", "Type"),
    ]

    text: reactive[Text] = reactive(Text(""))  # two lines always (CSS height 2): no layout pass

    class Step(Message):
        def __init__(self, direction: int, coarse: bool) -> None:
            super().__init__()
            self.direction = direction
            self.coarse = coarse

    class TypeValue(Message):
        pass

    def render(self) -> Text:
        return self.text

    def action_step(self, direction: int, coarse: bool) -> None:
        self.post_message(self.Step(direction, coarse))

    def action_type_value(self) -> None:
        self.post_message(self.TypeValue())

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y != 0:
            return
        if ARROWS_AT <= offset.x < ARROWS_AT + 2:
            self.action_step(-1, False)
        elif ARROWS_AT + 13 <= offset.x < ARROWS_AT + 15:
            self.action_step(1, False)


class StimPanel(Vertical):
    draft_slot: reactive[int] = reactive(0)

    def __init__(self, device: Device, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.device = device
        self.border_title = "Stimulation"
        self.wanted_ua: int | None = None
        """A live amplitude asked for and not yet confirmed by the device."""
        self._sending = False

    def compose(self) -> ComposeResult:
        yield Static(id="stim-state")
        yield Static(id="stim-amplitude")
        yield LiveAmplitude(id="live")
        yield Static(id="live-charge")
        with Horizontal(id="stim-buttons"):
            yield Button("Start... (g)", id="start", variant="success")
            yield StopButton(id="stop-main")
            yield Button("Commit (c)", id="commit", variant="warning")
        yield Static(id="start-why")

    def on_mount(self) -> None:
        app = scs(self)
        for name in ("status", "programs", "impedance", "link_lost"):
            self.watch(app, name, lambda _v: self._show(), init=False)
        self._show()

    def watch_draft_slot(self, _slot: int) -> None:
        if self.is_mounted:
            self._show()

    # --- what the device says ----------------------------------------------------------------------

    @property
    def running_program(self) -> m.Program | None:
        status = scs(self).status
        if status is None or status.state not in OUTPUT_STATES:
            return None
        return scs(self).programs.get(status.active_slot)

    def start_blocker(self) -> str | None:
        """Why START cannot be pressed now, in words, or None."""
        app = scs(self)
        status = app.status
        if app.link_lost:
            return "the link is lost: reconnect first (r)"
        if status is None:
            return "reading the device..."
        if status.state in OUTPUT_STATES:
            return "stimulation is on: F2 stops it"
        if status.state == State.FAULT:
            return fault_way_out(status.fault_flags)
        slot = self.draft_slot
        if slot not in app.programs:
            return f"slot {slot} holds no program: save the draft first (s)"
        context = DeviceContext.from_status(status, app.programs, impedance=app.impedance, now_s=time.monotonic())
        refusal = start_refusal(self.device.guard, slot, context)
        if refusal is None:
            return None
        reason = str(refusal)
        if refusal.parameter == "ramp_up_ms":
            return f"slot {slot}'s ramp-up is too short for its amplitude: g offers to lengthen it"
        if "impedance" in reason:
            reason = "measure impedance first (m): " + reason
        return reason

    def _show(self) -> None:
        app = scs(self)
        status = app.status
        running = self.running_program
        show(self.query_one("#stim-state", Static), self._state_text(status))
        show(self.query_one("#stim-amplitude", Static), self._amplitude_text(status, running))
        live = self.query_one(LiveAmplitude)
        text = self._live_text(status, running)
        if text != live.text:
            live.text = text
        show(
            self.query_one("#live-charge", Static),
            charge_line(running, status.setpoint_ua, self.device.profile, "live charge")
            if running is not None and status is not None
            else Text("live charge: shown while a program runs", style="dim"),
        )
        blocker = self.start_blocker()
        start = self.query_one("#start", Button)
        start.display = running is None  # while a program runs there is nothing to start: F2 stops it
        fixable = blocker is not None and "g offers" in blocker
        start.disabled = blocker is not None and not fixable
        start.label = f"Start slot {self.draft_slot}... (g)"
        tentative = status is not None and bool(status.status_flags & StatusFlags.TENTATIVE)
        self.query_one("#commit", Button).disabled = not tentative
        show(
            self.query_one("#start-why", Static),
            Text(blocker, style="yellow")
            if blocker
            else Text(f"ready: g starts slot {self.draft_slot} (you confirm first)", style="green"),
        )

    def _state_text(self, status: m.Status | None) -> Text:
        if status is None:
            return Text("reading the device...", style="dim")
        if scs(self).link_lost:
            return Text(f"LINK LOST - last known: {state_words(status.state)}", style="bold red")
        style = {State.STIMULATING: "bold green", State.FAULT: "bold red"}.get(status.state, "bold yellow")
        if status.state in (State.IDLE, State.PROGRAMMED):
            style = "bold"
        text = Text(
            state_words(status.state).upper() if status.state in OUTPUT_STATES else state_words(status.state),
            style=style,
        )
        if status.active_slot != 0xFF:
            text.append(f"   slot {status.active_slot}", style="bold")
            program = scs(self).programs.get(status.active_slot)
            if program is not None:
                from ...parsing import format_electrodes

                text.append(f" ({format_electrodes(program.contacts)})", style="dim")
        return text

    def _amplitude_text(self, status: m.Status | None, running: m.Program | None) -> Text:
        if status is None:
            return Text("")
        text = Text("delivered ", style="dim")
        text.append(format_ua(status.amplitude_ua), style="bold green" if status.amplitude_ua else "bold")
        text.append("   set-point ", style="dim")
        text.append(format_ua(status.setpoint_ua), style="bold")
        if running is not None:
            text.append("   committed ", style="dim")
            text.append(format_ua(running.amplitude_ua), style="bold")
        if status.state == State.RAMPING_UP and status.setpoint_ua:
            text.append("\nramping up ", style="bold yellow")
            text.append_text(range_bar(status.amplitude_ua, 0, status.setpoint_ua, 22, style="yellow"))
            text.append(f" {format_ua(status.amplitude_ua)} of {format_ua(status.setpoint_ua)}", style="yellow")
        elif status.status_flags & StatusFlags.TENTATIVE:
            committed = format_ua(running.amplitude_ua) if running is not None else "the program's amplitude"
            text.append(
                f"\nTENTATIVE: {format_ua(status.setpoint_ua)} reverts to {committed} at the session's end "
                "unless committed (c)",
                style="bold black on yellow",
            )
        elif running is not None:
            text.append("\ncommitted: the running amplitude is part of the program", style="green")
        return text

    def _live_text(self, status: m.Status | None, running: m.Program | None) -> Text:
        text = Text("Live amplitude".ljust(ARROWS_AT), style="bold")
        if status is None or running is None:
            return text.append("- (a program must be running)", style="dim")
        shown = self.wanted_ua if self.wanted_ua is not None else status.setpoint_ua
        text.append("◀ ", style="bold")
        text.append(f"{format_ua(shown):>10}", style="bold yellow" if self.wanted_ua is not None else "bold")
        text.append(" ▶ ", style="bold")
        limits = self.device.guard.tier.for_waveform(running.waveform)
        tier_max = limits.amplitude_ua.max if limits is not None else self.device.profile.hardware.amplitude_ua.max
        bar = 18 if self.size.width >= 100 else 8  # the line fits in 80 columns
        text.append_text(range_bar(shown, 0, tier_max, bar, mark=running.patient_max_ua))
        text.append(f" patient max ┃{format_ua(running.patient_max_ua)}, tier {format_ua(tier_max)}", style="dim")
        inc = self.device.profile.increment_at(shown)
        text.append(
            f"\n{'':{ARROWS_AT}}↑/↓ {format_ua(inc.fine_ua)}  PgUp/PgDn {format_ua(inc.coarse_ua)}  Enter type a value",
            style="dim",
        )
        if self.wanted_ua is not None:
            text.append("   sending...", style="yellow")
        return text

    # --- live changes ------------------------------------------------------------------------------

    def on_live_amplitude_step(self, message: LiveAmplitude.Step) -> None:
        status = scs(self).status
        if status is None or self.running_program is None:
            scs(self).show_note("Live amplitude: stimulation is off", "start a program first (g)", "warning")
            return
        base = self.wanted_ua if self.wanted_ua is not None else status.setpoint_ua
        profile = self.device.profile
        inc = profile.increment_at(base) if message.direction > 0 else profile.increment_at(max(base - 1, 0))
        size = inc.coarse_ua if message.coarse else inc.fine_ua
        target = base + message.direction * size
        if target < 0:
            scs(self).show_note(f"Live amplitude is at {format_ua(0)}", "", "warning")
            return
        self.request_amplitude(target)

    def request_amplitude(self, target_ua: int) -> None:
        """Ask the device for ``target_ua`` (tentative); replaces a target not yet sent."""
        self.wanted_ua = target_ua
        self._pump()
        self._show()

    def _pump(self) -> None:
        status = scs(self).status
        if self._sending or self.wanted_ua is None:
            return
        target = self.wanted_ua
        if status is not None and target == status.setpoint_ua:
            self.wanted_ua = None
            return
        self._sending = True

        def send(device: Device, acknowledge: frozenset[str]) -> Outcome:
            return device.set_amplitude(target, acknowledge=acknowledge)

        scs(self).call_device(
            f"live amplitude {format_ua(target)}",
            send,
            lambda outcome: self._sent(target, outcome),
            on_error=self._send_failed,
        )

    def _sent(self, target: int, outcome: Outcome) -> None:
        self._sending = False
        app = scs(self)  # the call's status is drawn already, unless a newer one was (app.call_device)
        if self.wanted_ua == target:
            self.wanted_ua = None
        if outcome.notices:
            app.show_note(f"Live amplitude {format_ua(target)} (tentative)", "; ".join(outcome.notices), "info")
        self._pump()
        self._show()

    def _send_failed(self, _err: BaseException) -> None:
        self._sending = False
        self.wanted_ua = None  # the screen goes back to what the device reports
        self._show()

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "start":
            event.stop()
            await self.run_action("screen.start")
        elif event.button.id == "commit":
            event.stop()
            await self.run_action("screen.commit")

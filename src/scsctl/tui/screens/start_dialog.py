"""START needs a confirmation; once confirmed the dialog shows the ramp until stimulation is on."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Button, Static

from firmware_protocol import messages as m
from firmware_protocol.constants import OUTPUT_STATES, State

from ...parsing import format_electrodes
from ...units import format_ua
from ..params import format_param
from ..widgets import scs, show
from ..widgets.bars import range_bar
from .dialogs import Dialog

if TYPE_CHECKING:
    from ...controller import Device, Outcome

__all__ = ["StartDialog"]


class StartDialog(Dialog[None]):
    def __init__(self, slot: int, program: m.Program, *, draft_differs: bool) -> None:
        super().__init__(f"Start stimulation with slot {slot}?")
        self.slot = slot
        self.program = program
        self.draft_differs = draft_differs
        self.phase = "asking"  # asking -> starting -> started | failed

    def body(self) -> ComposeResult:
        p = self.program
        summary = (
            f"{format_electrodes(p.contacts)}   {format_ua(p.amplitude_ua)}   "
            f"{format_param('pulse_width_us', p.pulse_width_us)}   {format_param('rate_dhz', p.rate_dhz)}   "
            f"{format_param('waveform', p.waveform)}   patient max {format_ua(p.patient_max_ua)}"
        )
        yield Static(Text(summary, style="bold"), classes="dialog-body")
        if p.amplitude_ua:
            ramp = (
                f"The device ramps from 0 to {format_ua(p.amplitude_ua)} over "
                f"{format_param('ramp_up_ms', p.ramp_up_ms)}."
            )
        else:
            ramp = "The program starts at 0.0 mA: raise the amplitude live once it runs (Live amplitude, ↑)."
        yield Static(ramp, classes="dialog-body")
        if self.draft_differs:
            yield Static(
                f"The draft on screen has changes not saved to slot {self.slot}: the program as stored "
                "(above) is what starts.",
                classes="dialog-body -warning",
            )
        yield Static("", id="ramp-progress", classes="dialog-body")

    def buttons(self) -> ComposeResult:
        yield Button("Start (Enter)", id="confirm", variant="success")
        yield Button("Cancel (Esc)", id="close")

    def on_mount(self) -> None:
        self.query_one("#confirm", Button).focus()
        self.watch(scs(self), "status", self._progress, init=False)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "confirm":
            self._start()
        elif event.button.id == "close":
            self.dismiss(None)

    def _start(self) -> None:
        slot = self.slot
        self.phase = "starting"
        confirm = self.query_one("#confirm", Button)
        confirm.disabled = True
        show(self.query_one("#ramp-progress", Static), Text("starting...", style="yellow"))

        def start(device: Device, acknowledge: frozenset[str]) -> Outcome:
            if device.status().active_slot != slot:
                device.select(slot)
            return device.start(slot, acknowledge=acknowledge)

        scs(self).call_device(f"start slot {slot}", start, self._started, on_error=self._failed)

    def _started(self, outcome: Outcome) -> None:
        self.phase = "started"
        app = scs(self)  # the call's status is drawn already, unless a newer one was (app.call_device)
        if outcome.notices:
            app.show_note(f"Started slot {self.slot}", "; ".join(outcome.notices), "info")
        else:
            app.show_note(f"Started slot {self.slot}", "raise the amplitude live; F2 stops", "info")

    def _failed(self, err: BaseException) -> None:
        self.phase = "failed"
        from ..wording import explain

        explanation = explain(err, "start")
        show(
            self.query_one("#ramp-progress", Static), Text(f"{explanation.title}\n{explanation.text}", style="bold red")
        )
        self.query_one("#close", Button).label = "Close (Esc)"

    def _progress(self, status: m.Status | None) -> None:
        if status is None or self.phase not in ("starting", "started"):
            return
        progress = self.query_one("#ramp-progress", Static)
        close = self.query_one("#close", Button)
        if status.state == State.RAMPING_UP and status.setpoint_ua == 0:
            show(progress, Text("Ramping up (the program starts at 0.0 mA)...", style="bold yellow"))
        elif status.state == State.RAMPING_UP:
            target = max(status.setpoint_ua, 1)
            text = Text("Ramping up ", style="bold yellow")
            text.append_text(range_bar(status.amplitude_ua, 0, target, 30, style="yellow"))
            text.append(f" {format_ua(status.amplitude_ua)} of {format_ua(status.setpoint_ua)}", style="yellow")
            show(progress, text)
        elif status.state in OUTPUT_STATES:
            show(
                progress,
                Text(
                    f"Stimulating at {format_ua(status.amplitude_ua)}: ramp complete. F2 stops at any time.",
                    style="bold green",
                ),
            )
            close.label = "Close (Esc)"
            close.focus()
        elif self.phase == "started":
            show(progress, Text(f"Not stimulating now: {status.state.name.lower()} (stopped?)", style="bold red"))
            close.label = "Close (Esc)"

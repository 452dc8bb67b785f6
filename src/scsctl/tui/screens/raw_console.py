"""The raw-frame console: an engineer types a frame, it goes to the device, the reply comes back decoded.

Opened from the main screen (``f``, or "Raw frames" in the command palette) in an engineer's
session only. What is typed is read by the controller (``read_raw_frame``: a type by name or code
with its payload in hex, or a whole frame) and sent by it (``Device.send_raw``) under the rules
every command follows: a stimulation command only as the safety guard approves it unchanged, and
every frame and its reply recorded in the audit log as ``RAW_FRAME``. The console shows the reply
decoded and in hex, and the audit records the exchange left. Text that is not a frame is refused
here, naming what is wrong, and nothing is sent; a refusal of the guard's or the device's is shown
with its reason. It is a dialog: F2 stops and closes it, as every dialog; a STOP typed here does
the same (it is recorded as the STOP it is, not as a raw frame).
"""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Input, Label, Static

from firmware_protocol import messages as m

from ...controller import RAW_FRAME_EXAMPLES, AuditRecord, RawExchange, payload_hex, read_raw_frame
from ...errors import ScsError
from ...parsing import format_electrodes
from ...text import printable
from ..widgets import scs, show
from ..widgets.footer import StopFooter
from ..widgets.stop_button import StopButton
from ..wording import describe_record, explain
from .dialogs import Dialog
from .main import COMPACT_BELOW

__all__ = ["RawConsole", "RawConsoleScreen"]

TIME_FIELDS = frozenset({"uptime_s", "battery_mv"})
"""Reply fields that change with time, masked when the app masks times (``ScsApp.show_times``)."""
READS = (m.GetStatus, m.ReadProgram, m.GetUsage, m.GetCounters)
"""Frames that change nothing on the device (nothing to read again after them)."""
NOTHING_SENT = "Nothing sent yet. Enter sends what is typed; Tab moves to this reply (arrows scroll it)."


class RawConsole(Vertical):
    """What is typed, and what the last frame sent got back."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+l", "clear", "Clear the reply shown"),
    ]

    def compose(self) -> ComposeResult:
        yield Static(
            f"Type a message type and its payload in hex, or a whole frame: {RAW_FRAME_EXAMPLES}. "
            "Checked by the safety guard; every frame and its reply are audited (RAW_FRAME).",
            id="raw-help",
        )
        yield Input(placeholder="GET_STATUS", id="raw-input")
        yield Static("", id="raw-problem")
        with VerticalScroll(id="raw-reply-scroll"):
            yield Static(NOTHING_SENT, id="raw-reply")

    def action_clear(self) -> None:
        problem = self.query_one("#raw-problem", Static)
        problem.update("")
        problem.remove_class("-error")
        self.query_one("#raw-reply", Static).update(NOTHING_SENT)


class RawConsoleScreen(Dialog[None]):
    """The console as a dialog over the main screen (Esc closes it, F2 stops and closes it)."""

    DEFAULT_CSS = """
    RawConsoleScreen #raw-dialog {
        width: 120; max-width: 100%; height: 80%; min-height: 16;
        border: thick $primary; background: $surface; padding: 1 2;
    }
    RawConsoleScreen #raw-title { text-style: bold; width: 1fr; margin-bottom: 1; }
    RawConsoleScreen RawConsole { height: 1fr; }
    RawConsoleScreen #raw-help { color: $text-muted; height: auto; }
    RawConsoleScreen #raw-problem { height: auto; display: none; }
    RawConsoleScreen #raw-problem.-error { display: block; color: $error; text-style: bold; }
    RawConsoleScreen #raw-reply-scroll { height: 1fr; border: round $primary 50%; }
    RawConsoleScreen #raw-reply-scroll:focus { border: round $accent; }
    RawConsoleScreen #raw-buttons { height: auto; }
    RawConsoleScreen #raw-buttons Button { margin-right: 2; }

    RawConsoleScreen.-compact #raw-dialog { width: 100%; height: 100%; padding: 0 1; border: none; }
    RawConsoleScreen.-compact #raw-title { margin-bottom: 0; background: $primary 30%; }
    RawConsoleScreen.-compact #raw-input { height: 1; border: none; padding: 0 1; }
    RawConsoleScreen.-compact #raw-reply-scroll { border: none; border-top: solid $primary 50%; }
    RawConsoleScreen.-compact #raw-buttons { height: 1; }
    RawConsoleScreen.-compact #raw-buttons Button { height: 1; border: none; min-width: 12; }
    """

    def __init__(self) -> None:
        super().__init__("Raw frames (engineer only)")
        self.sending = False

    def compose(self) -> ComposeResult:
        with Vertical(id="raw-dialog"):
            yield Label(self.title_text, id="raw-title")
            yield RawConsole(id="raw-console")
            with Horizontal(id="raw-buttons"):
                yield Button("Send (Enter)", id="send", variant="primary")
                yield Button("Close (Esc)", id="close")
                yield StopButton()
        yield StopFooter()

    def on_mount(self) -> None:
        self.query_one("#raw-input", Input).focus()

    def on_resize(self) -> None:
        width, height = self.size
        self.set_class(width < COMPACT_BELOW[0] or height < COMPACT_BELOW[1], "-compact")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.send()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "send":
            self.send()
        elif event.button.id == "close":
            self.dismiss(None)

    def send(self) -> None:
        """Read what is typed; a frame goes to the device through the controller, anything else is
        refused here naming what is wrong (nothing sent, the text stays to be corrected)."""
        typed = self.query_one("#raw-input", Input).value
        try:
            message = read_raw_frame(typed)
        except ScsError as err:
            self._problem(f"Not sent: {err}")
            return
        if isinstance(message, m.Stop):
            # A STOP typed here is the STOP key's: on its own line at once, never behind another
            # call to the device (a frame still waiting for its reply included), with or without a
            # session, confirmed (or not) in the message bar; every dialog closes.
            scs(self).action_stop()
            return
        if self.sending:
            self._problem("Not sent: the frame before it is still waiting for its reply")
            return
        if scs(self).device is None:
            self._problem("Not sent: no device is connected (r reconnects, p lists the ports)")
            return
        self._problem("")
        self.sending = True
        show(self.query_one("#raw-reply", Static), Text(f"sending {_sent_line(message)} ...", style="dim"))
        scs(self).call_device(
            f"raw frame {message.TYPE.name}",
            lambda device, acknowledge: device.send_raw(message, acknowledge=acknowledge),
            self._answered,
            on_error=self._refused,
        )

    def _problem(self, text: str) -> None:
        problem = self.query_one("#raw-problem", Static)
        problem.update(text)
        problem.set_class(bool(text), "-error")

    def _answered(self, exchange: RawExchange) -> None:
        self.sending = False
        app = scs(self)
        if not isinstance(exchange.sent, READS):
            app.refresh_programs()  # a frame that changed the device: the screens show what it holds now
        if isinstance(exchange.reply, m.Impedance):
            app.impedance = app.device.impedance if app.device is not None else app.impedance
        if self.is_attached:
            self.query_one("#raw-reply", Static).update(_exchange_table(exchange, scs(self).show_times))

    def _refused(self, err: BaseException) -> None:
        self.sending = False
        if not self.is_attached:
            return
        explanation = explain(err, "raw frame")
        self._problem(f"{explanation.title}: {explanation.text}".strip())
        self.query_one("#raw-reply", Static).update(
            Text("No reply: the frame was not answered (see above).", style="dim")
        )


def _sent_line(message: m.Message) -> str:
    return f"{message.TYPE.name} (0x{int(message.TYPE):02X}), payload {payload_hex(message)}"


def _fields(message: m.Message, show_times: bool) -> str:
    fields = m.to_readable(message)
    program = getattr(message, "program", None)
    if isinstance(program, m.Program):  # sixteen contacts as people write them, not sixteen dicts
        fields["contacts"] = format_electrodes(program.contacts) or "none"
    if not show_times:
        fields = {k: ("--" if k in TIME_FIELDS else v) for k, v in fields.items()}
    return ", ".join(f"{k}={v}" for k, v in fields.items()) or "(no fields)"


def _exchange_table(exchange: RawExchange, show_times: bool) -> Table:
    """The exchange as rows ``sent``, ``reply``, ``audit``, each wrapped beside its label."""
    reply = exchange.reply
    hidden = not show_times and any(k in TIME_FIELDS for k in m.to_readable(reply))
    payload = "-- (masked: it holds the time)" if hidden else payload_hex(reply)
    table = Table.grid(padding=(0, 1))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(ratio=1)
    sent = Text(_sent_line(exchange.sent))
    if m.to_readable(exchange.sent):
        sent.append("\n" + printable(_fields(exchange.sent, show_times)), style="dim")
    table.add_row("sent", sent)
    answer = Text(
        f"{reply.TYPE.name} (0x{int(reply.TYPE):02X})", style="bold red" if isinstance(reply, m.Nak) else "bold green"
    )
    answer.append(f", payload {payload}\n")
    answer.append(printable(_fields(reply, show_times)))
    if exchange.refused:
        answer.append("\nthe device refused it: " + printable(exchange.refused), style="red")
    table.add_row("reply", answer)
    lines = [_record_line(r) for r in exchange.records] or ["(no record returned)"]
    table.add_row("audit", Text("\n".join(lines)))
    return table


def _record_line(record: AuditRecord) -> str:
    detail = record.detail
    if record.name == "RAW_FRAME":
        what = str(detail.get("reply") or detail.get("type", ""))
        if record.kind == "command":
            what += f", guard {detail.get('guard', '')}"
    else:
        what = describe_record(record)
    return printable(f"{record.kind} {record.name}: {what}")

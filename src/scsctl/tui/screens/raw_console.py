"""The raw-frame console: an engineer types a frame, it goes to the device, the reply comes back decoded.

Opened from the main screen (``f``, or "Raw frames" in the command palette) in an engineer's
session only. What is typed is read by the controller (``read_raw_frame``: a type by name or code
with its payload in hex, or a whole frame) and sent by it (``Device.send_raw``) under the rules
every command follows: a stimulation command only as the safety guard approves it unchanged, and
every frame and its reply recorded in the audit log as ``RAW_FRAME``. The console shows the reply
decoded and in hex, and the audit records the exchange left. Text that is not a frame is refused
here, naming what is wrong, and nothing is sent; a refusal of the guard's or the device's is shown
with its reason. It is a dialog: F2 stops and closes it, as every dialog.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Button, Input, Static

from firmware_protocol import messages as m

from ...controller import RAW_FRAME_EXAMPLES, AuditRecord, RawExchange, payload_hex, read_raw_frame
from ...errors import ScsError
from ...text import printable
from ..widgets import scs, show
from ..wording import describe_record, explain
from .dialogs import Dialog

__all__ = ["RawConsole", "RawConsoleScreen"]

TIME_FIELDS = frozenset({"uptime_s", "battery_mv"})
"""Reply fields that change with time, masked when the app masks times (``ScsApp.show_times``)."""


class RawConsole(Vertical):
    """What is typed, and what the last frame sent got back."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+l", "clear", "Clear the reply shown"),
    ]

    def compose(self) -> ComposeResult:
        yield Static(
            f"A message type and its payload in hex, or a whole frame: {RAW_FRAME_EXAMPLES}. "
            "Checked by the safety guard like every command; each frame and its reply go to the audit log "
            "(RAW_FRAME).",
            id="raw-help",
        )
        yield Input(placeholder="GET_STATUS", id="raw-input")
        yield Static("", id="raw-problem")
        with VerticalScroll(id="raw-reply-scroll"):
            yield Static("Nothing sent yet.", id="raw-reply")

    def action_clear(self) -> None:
        self.query_one("#raw-problem", Static).update("")
        self.query_one("#raw-reply", Static).update("Nothing sent yet.")


class RawConsoleScreen(Dialog[None]):
    """The console as a dialog over the main screen (Esc closes it, F2 stops and closes it)."""

    DEFAULT_CSS = """
    RawConsoleScreen > .dialog {
        width: 96%;
        max-width: 150;
        height: 90%;
    }
    RawConsole {
        height: 1fr;
    }
    RawConsole #raw-help {
        color: $text-muted;
    }
    RawConsole #raw-problem {
        height: auto;
    }
    RawConsole #raw-problem.-error {
        color: $error;
        text-style: bold;
    }
    RawConsole #raw-reply-scroll {
        height: 1fr;
        border: round $primary 50%;
    }
    """

    def __init__(self) -> None:
        super().__init__("Raw frames (engineer): guarded and audited")
        self.sending = False

    def body(self) -> ComposeResult:
        yield RawConsole(id="raw-console")

    def buttons(self) -> ComposeResult:
        yield Button("Send (Enter)", id="send", variant="primary")
        yield Button("Close (Esc)", id="close")

    def on_mount(self) -> None:
        self.query_one("#raw-input", Input).focus()

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
        if self.sending:
            self._problem("Not sent: the frame before it is still waiting for its reply")
            return
        typed = self.query_one("#raw-input", Input).value
        try:
            message = read_raw_frame(typed)
        except ScsError as err:
            self._problem(f"Not sent: {err}")
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
        if self.is_attached:
            show(self.query_one("#raw-reply", Static), _exchange_text(exchange, scs(self).show_times))

    def _refused(self, err: BaseException) -> None:
        self.sending = False
        if not self.is_attached:
            return
        explanation = explain(err, "raw frame")
        self._problem(f"{explanation.title}. {explanation.text}".strip())
        show(self.query_one("#raw-reply", Static), Text("No reply: see above.", style="dim"))


def _sent_line(message: m.Message) -> str:
    return f"{message.TYPE.name} (0x{int(message.TYPE):02X}), payload {payload_hex(message)}"


def _fields(message: m.Message, show_times: bool) -> str:
    fields = m.to_readable(message)
    if not show_times:
        fields = {k: ("--" if k in TIME_FIELDS else v) for k, v in fields.items()}
    return ", ".join(f"{k}={v}" for k, v in fields.items()) or "(no fields)"


def _exchange_text(exchange: RawExchange, show_times: bool) -> Text:
    reply = exchange.reply
    text = Text()
    text.append("sent   ", style="bold")
    text.append(f"{_sent_line(exchange.sent)}\n")
    text.append("       " + printable(_fields(exchange.sent, show_times)) + "\n", style="dim")
    text.append("reply  ", style="bold")
    hidden = not show_times and any(k in TIME_FIELDS for k in m.to_readable(reply))
    payload = "-- (masked: it holds the time)" if hidden else payload_hex(reply)
    style = "bold red" if isinstance(reply, m.Nak) else "bold green"
    text.append(f"{reply.TYPE.name} (0x{int(reply.TYPE):02X})", style=style)
    text.append(f", payload {payload}\n")
    text.append("       " + printable(_fields(reply, show_times)) + "\n")
    if exchange.refused:
        text.append("       the device refused: " + printable(exchange.refused) + "\n", style="red")
    text.append("audit  ", style="bold")
    lines = [_record_line(r) for r in exchange.records] or ["(no record returned)"]
    text.append("\n       ".join(lines))
    return text


def _record_line(record: AuditRecord) -> str:
    detail = record.detail
    if record.name == "RAW_FRAME":
        what = str(detail.get("reply") or detail.get("type", ""))
        if record.kind == "command":
            what += f", guard {detail.get('guard', '')}"
    else:
        what = describe_record(record)
    return printable(f"{record.kind} {record.name}: {what}")

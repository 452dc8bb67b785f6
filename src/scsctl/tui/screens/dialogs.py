"""Small dialogs: acknowledge a warning, type a value, leave while stimulating.

Every dialog shows the STOP button, beside its title, and the footer (F2 works in all of them: it is
an app-level priority binding). Esc closes a dialog without doing anything. STOP has a row of its
own with the title, so a dialog's own buttons keep their full words at 80 columns.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import ClassVar, TypeVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from ...errors import ScsError
from ..widgets.footer import StopFooter
from ..widgets.stop_button import StopButton

__all__ = ["AcknowledgeDialog", "ConfirmDialog", "Dialog", "QuitDialog", "ValueDialog"]

R = TypeVar("R")


class Dialog(ModalScreen[R]):
    """A modal dialog with a title and the STOP button, a body, buttons, and the footer."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Close")]

    def __init__(self, title: str) -> None:
        super().__init__()
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            with Horizontal(classes="dialog-top"):
                yield Label(self.title_text, classes="dialog-title")
                yield StopButton()
            yield from self.body()
            with Horizontal(classes="dialog-buttons"):
                yield from self.buttons()
        yield StopFooter()

    def body(self) -> ComposeResult:
        yield from ()

    def buttons(self) -> ComposeResult:
        yield from ()

    def action_cancel(self) -> None:
        self.dismiss(None)


class AcknowledgeDialog(Dialog[bool]):
    """The guard holds a command back until a warning is acknowledged."""

    def __init__(self, what: str, warning: str) -> None:
        super().__init__(f"{what}: acknowledge a warning?")
        self.warning = warning

    def body(self) -> ComposeResult:
        yield Static(self.warning, classes="dialog-body -warning")
        yield Static(
            "Within the hard limits, past the warning level. Go on only if you mean to.", classes="dialog-body"
        )

    def buttons(self) -> ComposeResult:
        yield Button("Acknowledge and go on", id="yes", variant="warning")
        yield Button("Cancel (Esc)", id="no")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id in ("yes", "no"):
            self.dismiss(event.button.id == "yes")


class ConfirmDialog(Dialog[bool]):
    """Ask before doing something that changes what the device holds; shows what changes."""

    def __init__(self, title: str, lines: list[str], yes: str, *, warning: str = "") -> None:
        super().__init__(title)
        self.lines = lines
        self.yes = yes
        self.warning = warning

    def body(self) -> ComposeResult:
        if self.warning:
            yield Static(self.warning, classes="dialog-body -warning")
        yield Static("\n".join(self.lines), id="confirm-lines", classes="dialog-body")

    def buttons(self) -> ComposeResult:
        yield Button(self.yes, id="yes", variant="warning")
        yield Button("Cancel (Esc)", id="no")

    def on_mount(self) -> None:
        self.query_one("#yes", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id in ("yes", "no"):
            self.dismiss(event.button.id == "yes")


def unit_of(shown: str) -> str:
    """The unit a value is shown in (``3.5mA`` -> ``mA``; ``5`` -> no unit)."""
    match = re.fullmatch(r"\s*[0-9.]+\s*([A-Za-z%]+)\s*", shown)
    return match.group(1) if match else ""


def with_unit(text: str, unit: str) -> str:
    """``text`` with ``unit`` added when it is a bare number (the field is labelled with the unit)."""
    bare = text.strip()
    return bare + unit if unit and re.fullmatch(r"[0-9]+(\.[0-9]+)?|\.[0-9]+", bare) else text


class ValueDialog(Dialog[int]):
    """Type a value as people write it (``3.5mA``, or ``3.5`` in a field labelled mA); ``parse`` raises
    ``ScsError`` naming what is wrong."""

    def __init__(self, title: str, parse: Callable[[str], int], example: str, current: str = "") -> None:
        self.unit = unit_of(current) or unit_of(example)
        super().__init__(f"{title} ({self.unit})" if self.unit else title)
        self.parse = parse
        self.example = example
        self.current = current

    def body(self) -> ComposeResult:
        yield Input(value=self.current, placeholder=f"for example {self.example}", id="value")
        unit = f" or a bare number in {self.unit}" if self.unit else ""
        yield Static(
            f"Units as written: {self.example}{unit}. Values are never rounded.",
            id="value-error",
            classes="dialog-body",
        )

    def buttons(self) -> ComposeResult:
        yield Button("OK (Enter)", id="ok", variant="primary")
        yield Button("Cancel (Esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#value", Input).focus()

    def _submit(self) -> None:
        text = self.query_one("#value", Input).value
        try:
            value = self.parse(with_unit(text, self.unit))
        except ScsError as err:
            error = self.query_one("#value-error", Static)
            error.update(str(err))
            error.add_class("-error")
            return
        self.dismiss(value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self._submit()
        elif event.button.id == "cancel":
            self.dismiss(None)


class QuitDialog(Dialog[str]):
    """Leaving while a program runs: it keeps running on the device (untethered)."""

    def __init__(self) -> None:
        super().__init__("Stimulation is running")

    def body(self) -> ComposeResult:
        yield Static(
            "This session is untethered: the program keeps running on the device after scsctl closes "
            "(tentative amplitude changes revert). Stop it first, or leave it running?",
            classes="dialog-body",
        )

    def buttons(self) -> ComposeResult:
        yield Button("Stop, then quit", id="stop-quit", variant="error")
        yield Button("Quit, leave it running", id="leave", variant="warning")
        yield Button("Cancel (Esc)", id="cancel")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        choices = {"stop-quit": "stop", "leave": "leave", "cancel": None}
        if event.button.id in choices:
            self.dismiss(choices[event.button.id])

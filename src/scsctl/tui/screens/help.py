"""Every key of the screen underneath, grouped by where it works (``?`` or F1 opens it).

Built from the bindings themselves (the screen's, its panels', the app's), so it cannot fall behind
what the keys do. The command palette (ctrl+p) lists the same actions by name.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Button, Static

from .dialogs import Dialog

if TYPE_CHECKING:
    from textual.app import App
    from textual.dom import DOMNode
    from textual.screen import Screen

__all__ = ["HelpScreen", "ProfileScreen", "key_rows"]

PANEL_NAMES: dict[str, str] = {
    "LeadView": "Electrodes panel (e)",
    "ParamList": "Settings panel (v)",
    "LiveAmplitude": "Live amplitude (a)",
    "ProgramsTable": "Program slots table",
    "AuditView": "Events and audit trail (3)",
    "ImpedanceTable": "Impedance table (2)",
    "RawConsole": "Raw-frame console",
}


def _bindings(node: type[DOMNode] | DOMNode) -> list[Binding]:
    found: list[Binding] = []
    for item in getattr(node, "BINDINGS", []):
        if isinstance(item, Binding):
            found.append(item)
        elif isinstance(item, tuple):
            found.append(Binding(*item))
    return found


def _key_words(app: App[object], binding: Binding) -> str:
    if binding.key_display:
        return binding.key_display
    return ", ".join(app.get_key_display(Binding(key.strip(), "")) for key in binding.key.split(","))


def key_rows(app: App[object], screen: Screen[object]) -> list[tuple[str, list[tuple[str, str]]]]:
    """``(where, [(keys, what)])`` for the app, the screen and each kind of panel on it."""
    groups: list[tuple[str, list[tuple[str, str]]]] = []

    def add(where: str, bindings: Iterable[Binding]) -> None:
        rows = [(_key_words(app, b), b.description or b.action) for b in bindings if b.description]
        if rows:
            groups.append((where, rows))

    add("Everywhere", [b for b in _bindings(app) if b.action != "acknowledge"] + _acknowledge(app))
    role_allows = getattr(screen, "role_allows", None)  # keys a role is not offered are not listed
    offered = [b for b in _bindings(screen) if role_allows is None or role_allows(b.action)]
    add(screen.__class__.__name__.removesuffix("Screen") + " screen", offered)
    seen: set[type[object]] = set()
    for widget in screen.query("*"):
        kind = type(widget)
        name = PANEL_NAMES.get(kind.__name__)
        if name is None or kind in seen:
            continue
        seen.add(kind)
        add(name, _bindings(widget))
    return groups


def _acknowledge(app: App[object]) -> list[Binding]:
    return [b for b in _bindings(app) if b.action == "acknowledge"]


class HelpScreen(Dialog[None]):
    """The keys of the screen it was opened over."""

    def __init__(self, over: Screen[object]) -> None:
        super().__init__("Keys (Esc closes; ctrl+p finds an action by name)")
        self.over = over

    def body(self) -> ComposeResult:
        text = Text()
        for where, rows in key_rows(self.app, self.over):
            text.append(f"{where}\n", style="bold underline")
            for keys, what in rows:
                text.append(f"  {keys:<24}", style="bold")
                text.append(f"{what}\n")
        text.append(
            "Mouse: buttons, contacts, the arrows of the live amplitude and the message bar (OK) can be clicked.",
            style="dim",
        )
        with VerticalScroll(id="help-keys"):
            yield Static(text, id="help-text")

    def buttons(self) -> ComposeResult:
        yield Button("Close (Esc)", id="close")

    def on_mount(self) -> None:
        self.query_one("#help-keys").focus()  # the arrows and PgUp/PgDn scroll the list

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "close":
            self.dismiss(None)


class ProfileScreen(Dialog[None]):
    """Every limit of the connected device's profile, with units, and the tier in force (read only)."""

    def __init__(self, table: str, tier: str, role: str) -> None:
        super().__init__(f"Profile limits ({role}: {tier} limits in force; Esc closes)")
        self.table = table

    def body(self) -> ComposeResult:
        with VerticalScroll(id="help-keys"):
            yield Static(Text(self.table), id="profile-text")

    def buttons(self) -> ComposeResult:
        yield Button("Close (Esc)", id="close")

    def on_mount(self) -> None:
        self.query_one("#help-keys").focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "close":
            self.dismiss(None)

"""The footer every screen and dialog shows: the STOP key first, always, then the keys that work now.

Textual's ``Footer`` lists the focused widget's keys first and the app's last, so on a narrow
terminal STOP could fall off the end; and it rebuilds a widget per key at every focus change,
which costs a render pass a STOP key press may have to wait behind. This footer is one line of
text, redrawn when the screen's bindings change, with STOP in a place of its own.
"""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Static

from . import show

__all__ = ["KeysLine", "StopFooter"]


class StopKey(Static):
    """``F2 STOP`` at the left of the footer; a click stops too."""

    async def on_click(self, event: events.Click) -> None:
        event.stop()
        await self.run_action("app.stop")


class KeysLine(Static):
    """The keys of the focused widget, the screen and the app that are shown (``Binding.show``);
    only whole keys that fit the line (never a key without its word): the rest are in the help (?)."""

    def __init__(self, *, classes: str | None = None) -> None:
        super().__init__(classes=classes)
        self._entries: list[Text] = []

    def on_resize(self) -> None:
        self._fit()

    def _fit(self) -> None:
        width = self.content_size.width or self.app.size.width
        text = Text()
        for entry in self._entries:
            if text.cell_len + entry.cell_len > width:
                break
            text.append_text(entry)
        show(self, text)

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._bindings_changed(self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        # The app's keys (the STOP message's OK, help) first, then the screen's, then the focused
        # panel's: a narrow terminal leaves out the end of the line, where the panel shows its keys itself.
        entries: list[Text] = []
        seen: set[str] = set()
        in_footer = getattr(screen, "in_footer", None)
        shown = [
            a
            for a in screen.active_bindings.values()
            if a.binding.show and (in_footer is None or a.node is not screen or in_footer(a.binding.action))
        ]
        rank = {id(self.app): 0, id(screen): 1}
        shown.sort(key=lambda a: rank.get(id(a.node), 2))
        for active in shown:
            binding = active.binding
            if binding.action in seen:
                continue
            seen.add(binding.action)
            entry = Text(f" {self.app.get_key_display(binding)} ", style="bold" if active.enabled else "dim")
            entry.append(f"{binding.description} ", style="" if active.enabled else "dim")
            entries.append(entry)
        self._entries = entries
        self._fit()


class StopFooter(Horizontal):
    def compose(self) -> ComposeResult:
        yield StopKey(" F2 ■ STOP ", classes="stop-key")
        yield KeysLine(classes="keys")

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
    """The keys of the focused widget, the screen and the app that are shown (``Binding.show``)."""

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._bindings_changed(self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        text = Text()
        seen: set[str] = set()
        for active in screen.active_bindings.values():
            binding = active.binding
            if not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            text.append(f" {self.app.get_key_display(binding)} ", style="bold" if active.enabled else "dim")
            text.append(f"{binding.description} ", style="" if active.enabled else "dim")
        show(self, text)


class StopFooter(Horizontal):
    def compose(self) -> ComposeResult:
        yield StopKey(" F2 ■ STOP ", classes="stop-key")
        yield KeysLine(classes="keys")

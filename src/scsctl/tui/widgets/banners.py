"""The banner (emulator / link lost) and the message bar (refusals, STOP, faults, results)."""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.widgets import Static

from ..wording import Explanation
from . import scs, show

__all__ = ["Banner", "MessageBar"]


class Banner(Static):
    """Says plainly when this is the emulator, and loudly when the link is lost."""

    def on_mount(self) -> None:
        self.watch(scs(self), "link_lost", self._show, init=True)

    def _show(self, reason: str) -> None:  # the reason is in the message bar
        app = scs(self)
        device = app.device
        emulator = app.target.is_emulator or (device is not None and device.identity.is_emulator)
        self.set_class(bool(reason), "-lost")
        self.set_class(not reason and emulator, "-emulator")
        if reason:
            show(
                self, Text(" LINK LOST - the device does not answer - r reconnects; F2 still tries STOP ", style="bold")
            )
        elif emulator:
            serial = f" {device.identity.serial}" if device is not None else ""
            show(
                self,
                Text(
                    f" EMULATOR{serial} ({app.target.url}) - not a real device, no patient connected ",
                    style="bold",
                ),
            )
        else:
            show(self, Text(f" connected to {app.target.url} "))


class MessageBar(Static):
    """The last thing the user must read: stays until the next one (no toasts that vanish)."""

    def on_mount(self) -> None:
        self.watch(scs(self), "note", self._show, init=True)
        self.watch(scs(self), "busy", self._show_busy, init=False)

    def _show(self, note: Explanation | None) -> None:
        for severity in ("info", "warning", "error", "stop"):
            self.set_class(note is not None and note.severity == severity, f"-{severity}")
        if note is None:
            show(
                self,
                Text("Ready. ? lists every key, ctrl+p finds an action; Tab moves between panels.", style="dim"),
            )
            return
        text = Text(note.title, style="bold")
        if note.text:
            text.append("\n" + note.text)
        if note.limit:
            text.append("\n" + note.limit, style="bold")
        if note.about == "stop":
            later = " (a newer message waits)" if scs(self).held_note is not None else ""
            text.append(f"\nk or a click here: OK, read{later}", style="dim")
        show(self, text)

    async def on_click(self, event: events.Click) -> None:
        event.stop()
        await self.run_action("app.acknowledge")

    def _show_busy(self, busy: tuple[str, ...]) -> None:
        self.border_subtitle = ("working: " + ", ".join(busy)) if busy else ""

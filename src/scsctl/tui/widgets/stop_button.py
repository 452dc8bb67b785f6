"""The STOP button every screen and dialog shows (the F2 key does the same everywhere)."""

from __future__ import annotations

from textual.widgets import Button

__all__ = ["StopButton"]


class StopButton(Button):
    """Sends STOP through the app's dedicated STOP thread."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("■ STOP  (F2)", variant="error", id=id, classes="stop-button")

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        await self.run_action("app.stop")

"""The pulse shape of the draft, redrawn to the panel's width."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from firmware_protocol.messages import Program

from ..pulse import draw_pulses
from . import show

__all__ = ["PulsePreview"]


class PulsePreview(Static):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.program: Program | None = None
        self.border_title = "Pulse preview"

    def show(self, program: Program) -> None:
        self.program = program
        self._draw()

    def on_resize(self) -> None:
        self._draw()

    def _draw(self) -> None:
        if self.program is None:
            return
        width = max(self.content_size.width, 20)
        drawing = draw_pulses(self.program, width)
        text = Text()
        for style, line in zip(("red", "dim", "bright_blue"), drawing.lines, strict=True):
            text.append(line + "\n", style=style)
        text.append(drawing.caption, style="dim")
        show(self, text)

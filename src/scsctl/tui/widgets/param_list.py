"""The draft's settings, one per row, each with its value, a bar of where it sits in the tier's
range, and its fine and coarse steps; below them, what the chosen setting is (wrapped, never cut).
A row too wide for the panel writes its steps shorter (``steps 0.1/0.5 mA``), then leaves them out
(←/→ still step by them), before anything is cut.

Keyboard: up/down choose a row; left/right a fine step; shift+left/right a coarse step; Enter
types a value. Mouse: click a row to choose it, ◀ / ▶ to step it. A step the range does not allow
is refused (``StepRefused``, shown in the message bar) and nothing changes.

A step is posted as ``ParamList.Stepped``, carrying the step itself (of the row the cursor was on)
rather than its result: the screen owns the draft and applies each step to the draft as the steps
before it left it, then sets ``program`` back. So keys that come faster than the screen draws
(auto-repeat, fast typing) each count, as slow ones do.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from typing import ClassVar, Literal

from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from firmware_protocol.messages import Program

from ...profiles import DeviceProfile, Tier
from ..params import ParamSpec, StepRefused, program_params, step_param
from .bars import range_bar

__all__ = ["ParamList", "ProgramStep"]

LABEL_WIDTH = 17
VALUE_WIDTH = 10
BAR_WIDTH = 16
ProgramStep = Callable[[Program], "tuple[Program, str | None] | StepRefused"]
"""A step of one setting: the program it is given one step on (and a note of what else changed
with it), or why it cannot be stepped (``StepRefused``)."""
Steps = Literal["long", "short", "none"]
"""How a row writes its steps: ``steps 0.1 mA / 0.5 mA``, ``steps 0.1/0.5 mA``, or not at all."""
LEFT_ARROW_AT = LABEL_WIDTH
RIGHT_ARROW_AT = LABEL_WIDTH + 2 + VALUE_WIDTH + 1


class ParamList(Widget, can_focus=True):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "move(-1)", "Setting", show=False),
        Binding("down", "move(1)", "Setting", show=False),
        Binding("right", "step(1, False)", "Fine +"),
        Binding("left", "step(-1, False)", "Fine -"),
        Binding("shift+right", "step(1, True)", "Coarse +"),
        Binding("shift+left", "step(-1, True)", "Coarse -"),
        Binding("enter", "type_value", "Type a value"),
    ]

    program: reactive[Program | None] = reactive(None, always_update=True)
    cursor: reactive[int] = reactive(0)
    invalid_key: reactive[str] = reactive("")

    class Stepped(Message):
        """A step asked for; ``step`` is applied to the draft when the screen takes it."""

        def __init__(self, step: ProgramStep) -> None:
            super().__init__()
            self.step = step

    class TypeValue(Message):
        def __init__(self, spec: ParamSpec) -> None:
            super().__init__()
            self.spec = spec

    def __init__(self, profile: DeviceProfile, tier: Tier, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.profile = profile
        self.tier = tier
        self._rows = 0
        self.border_title = "Program settings"
        self.border_subtitle = "←/→ fine  shift+←/→ coarse  Enter type"

    @property
    def specs(self) -> list[ParamSpec]:
        if self.program is None:
            return []
        return program_params(self.profile, self.tier, self.program)

    def get_content_height(self, container: object, viewport: object, width: int) -> int:
        return len(self.specs) + len(self._about_lines(width))

    def _about_lines(self, width: int) -> list[str]:
        """What the chosen setting is, wrapped to ``width`` (indented two columns)."""
        specs = self.specs
        if not specs:
            return []
        spec = specs[min(self.cursor, len(specs) - 1)]
        about = f"{spec.label}: {spec.hint}" if spec.hint else spec.label
        if spec.grid is not None:
            about += f" (the {self.tier.name.value} tier's range)"
        elif spec.range is not None:
            about += " (the hardware's range)"
        return textwrap.wrap(about, max(width, 12), initial_indent="  ", subsequent_indent="  ") or [""]

    def watch_cursor(self, old: int, new: int) -> None:
        self.refresh(layout=True)  # the chosen setting's explanation may take another line

    def watch_program(self, program: Program | None) -> None:
        rows = len(self.specs)
        self.cursor = min(self.cursor, max(rows - 1, 0))
        if rows != self._rows:  # burst adds rows: the widget grows (a layout pass only then)
            self._rows = rows
            self.refresh(layout=True)

    def render(self) -> Text:
        program = self.program
        if program is None:
            return Text("")
        text = Text()
        width = max(self.content_size.width, 1)
        for i, spec in enumerate(self.specs):
            steps: Steps
            for steps in ("long", "short", "none"):
                row = self._row(spec, program, i == self.cursor, steps=steps)
                if row.cell_len <= width:
                    break
            row.truncate(width, overflow="ellipsis")  # narrower than a label, a value and a bar: cut
            text.append_text(row)
            text.append("\n")
        text.append("\n".join(self._about_lines(width)), style="dim italic")
        return text

    def _row(self, spec: ParamSpec, program: Program, at_cursor: bool, *, steps: Steps = "long") -> Text:
        value = int(getattr(program, spec.key))
        bad = spec.key == self.invalid_key
        label_style = "reverse" if at_cursor and self.has_focus else ("underline" if at_cursor else "")
        row = Text((("✗ " if bad else "  ") + spec.label).ljust(LABEL_WIDTH), style=label_style)
        if bad:
            row.stylize("bold red", 0, 2)
        row.append("◀ ", style="bold")
        row.append(f"{spec.fmt(value):>{VALUE_WIDTH}}", style="bold red" if bad else "bold")
        row.append(" ▶ ", style="bold")
        if spec.choices:
            names = [("[" + spec.fmt(c) + "]") if c == value else spec.fmt(c) for c in spec.choices]
            row.append("  ".join(names), style="dim")
            return row
        bounds = spec.bounds
        if bounds is not None:
            low, high = bounds
            row.append_text(range_bar(value, low, high, BAR_WIDTH))
            row.append(f" {spec.fmt(low)} - {spec.fmt(high)}", style="dim")
            if steps != "none":
                row.append(_steps_text(spec, value, short=steps == "short"), style="dim")
        return row

    def action_move(self, delta: int) -> None:
        self.cursor = min(max(self.cursor + delta, 0), len(self.specs) - 1)

    def action_step(self, direction: int, coarse: bool) -> None:
        if self.program is None or not self.specs:
            return
        # Not stepped from ``self.program``: that is what the screen last drew, and keys may come
        # faster than it draws. The row is the one the cursor is on now; its value, range and step
        # are taken from the draft the step is applied to, after the steps before it.
        row, profile, tier = self.cursor, self.profile, self.tier

        def step(program: Program) -> tuple[Program, str | None] | StepRefused:
            specs = program_params(profile, tier, program)
            spec = specs[min(row, len(specs) - 1)]
            return step_param(spec, program, direction, coarse=coarse, profile=profile, tier=tier)

        self.post_message(self.Stepped(step))

    def action_type_value(self) -> None:
        specs = self.specs
        if specs and not specs[self.cursor].choices:
            self.post_message(self.TypeValue(specs[self.cursor]))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or not 0 <= offset.y < len(self.specs):
            return
        self.cursor = offset.y
        self.focus()
        if LEFT_ARROW_AT <= offset.x < LEFT_ARROW_AT + 2:
            self.action_step(-1, False)
        elif RIGHT_ARROW_AT <= offset.x < RIGHT_ARROW_AT + 2:
            self.action_step(1, False)


def _steps_text(spec: ParamSpec, value: int, *, short: bool) -> str:
    """``  steps 0.1 mA / 0.5 mA``; short: ``  steps 0.1/0.5 mA`` (one unit written once)."""
    fine, coarse = spec.fmt(spec.fine(value)), spec.fmt(spec.coarse(value))
    if fine == coarse:
        return f"  step {fine}"
    if short:
        fine_number, _, fine_unit = fine.partition(" ")
        coarse_number, _, coarse_unit = coarse.partition(" ")
        if fine_unit == coarse_unit:
            return f"  steps {fine_number}/{coarse_number} {fine_unit}".rstrip()
        return f"  steps {fine}/{coarse}"
    return f"  steps {fine} / {coarse}"

"""The device's program slots as read back: which is selected or running, each program's settings.

Enter on a slot loads it into the draft for editing; ``x`` makes it the device's selected program.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable

from firmware_protocol import messages as m
from firmware_protocol.constants import NO_SLOT, OUTPUT_STATES

from ...parsing import format_electrodes
from ..params import format_param
from . import scs

__all__ = ["ProgramsTable"]


class ProgramsTable(DataTable[Text]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "load", "Edit slot"),
        Binding("x", "select_slot", "Select slot"),
    ]

    class Load(Message):
        def __init__(self, slot: int) -> None:
            super().__init__()
            self.slot = slot

    class SelectSlot(Message):
        def __init__(self, slot: int) -> None:
            super().__init__()
            self.slot = slot

    def __init__(self, slots: int, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.slots = slots
        self._shown: object = None
        self.border_title = "Programs on the device (read back)"
        self.border_subtitle = "Enter edit  x select"

    def on_mount(self) -> None:
        # Fixed widths: a column sized by what it happened to show first ("selected", "running")
        # would make the same table look different depending on the order of past statuses.
        for label, width in (
            ("Slot", 4),
            ("", 8),
            ("Electrodes", 14),
            ("Amplitude", 9),
            ("Width", 7),
            ("Rate", 7),
            ("Wave", 6),
            ("Pt max", 7),
        ):
            self.add_column(label, width=width)
        app = scs(self)
        self.watch(app, "programs", lambda _p: self._show(), init=False)
        self.watch(app, "status", lambda _s: self._show(), init=True)

    @property
    def slot_at_cursor(self) -> int:
        return min(max(self.cursor_row, 0), self.slots - 1)

    def _show(self) -> None:
        app = scs(self)
        programs = app.programs
        status: m.Status | None = app.status
        active = status.active_slot if status is not None and status.active_slot != NO_SLOT else None
        running = status is not None and status.state in OUTPUT_STATES
        shown = (tuple(sorted(programs.items())), active, running)
        if shown == self._shown:
            return  # statuses come often; the table changes rarely
        self._shown = shown
        row = self.cursor_row
        self.clear()
        for slot in range(self.slots):
            program = programs.get(slot)
            mark = Text("")
            if slot == active:
                mark = Text("running" if running else "selected", style="bold green" if running else "bold")
            if program is None:
                self.add_row(Text(str(slot)), mark, Text("(empty)", style="dim"), key=str(slot))
                continue
            self.add_row(
                Text(str(slot)),
                mark,
                Text(format_electrodes(program.contacts) or "(none)"),
                Text(format_param("amplitude_ua", program.amplitude_ua)),
                Text(format_param("pulse_width_us", program.pulse_width_us)),
                Text(format_param("rate_dhz", program.rate_dhz)),
                Text(format_param("waveform", program.waveform)),
                Text(format_param("patient_max_ua", program.patient_max_ua)),
                key=str(slot),
            )
        if row >= 0:
            self.move_cursor(row=min(row, self.slots - 1), animate=False)

    def action_load(self) -> None:
        self.post_message(self.Load(self.slot_at_cursor))

    def action_select_slot(self) -> None:
        self.post_message(self.SelectSlot(self.slot_at_cursor))

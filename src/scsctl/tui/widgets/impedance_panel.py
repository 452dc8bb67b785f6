"""The last impedance check, one row per contact, with open, short, high and low flagged."""

from __future__ import annotations

import time

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from firmware_protocol.constants import IMPEDANCE_OVER_RANGE_OHM, ImpedanceStatus

from ...controller import ImpedanceRecord
from ...profiles import DeviceProfile
from ...units import format_ohm, format_s
from . import scs

__all__ = ["ImpedancePanel"]

_FLAGS = {
    ImpedanceStatus.OK: ("ok", "green"),
    ImpedanceStatus.OPEN: ("OPEN - cannot carry current; check the lead", "bold red"),
    ImpedanceStatus.SHORT: ("SHORT - this lead must not be used", "bold red"),
    ImpedanceStatus.HIGH: ("high", "yellow"),
    ImpedanceStatus.LOW: ("low", "yellow"),
    ImpedanceStatus.NOT_MEASURED: ("not measured", "dim"),
}


class ImpedancePanel(Vertical):
    def __init__(self, profile: DeviceProfile, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.profile = profile

    def compose(self) -> ComposeResult:
        yield Static(id="impedance-when")
        yield DataTable[Text](id="impedance-table", cursor_type="row")

    def on_mount(self) -> None:
        table = self.query_one("#impedance-table", DataTable)
        for label, width in (("Contact", 7), ("Lead", 4), ("Impedance", 10), ("Status", 44)):
            table.add_column(label, width=width)
        app = scs(self)
        self.watch(app, "impedance", self._show, init=True)
        if app.show_times:
            self.set_interval(5.0, lambda: self._show_when(app.impedance))

    def _show_when(self, record: ImpedanceRecord | None) -> None:
        limits = self.profile.impedance
        when = self.query_one("#impedance-when", Static)
        bounds = (
            f"short below {format_ohm(limits.short_below_ohm)}, low below {format_ohm(limits.low_warning_below_ohm)}"
            f", high above {format_ohm(limits.high_warning_above_ohm)}, open above "
            f"{format_ohm(limits.open_above_ohm)}"
        )
        need = (
            f"This model needs a check within {format_s(limits.max_age_s)} before START. "
            if limits.required_before_start
            else ""
        )
        if record is None:
            when.update(
                Text.assemble(
                    ("No impedance check on record. ", "bold yellow"), need, "Press m to measure.\n", (bounds, "dim")
                )
            )
            return
        if scs(self).show_times:
            age_s = int(time.monotonic() - record.measured_at_s)
            stamp = time.strftime("%H:%M:%S", time.localtime(time.time() - age_s))
            age = f"measured at {stamp} ({format_s(age_s)} ago)"
        else:
            age = "measured at --:--:-- (-- ago)"
        stale = limits.required_before_start and time.monotonic() - record.measured_at_s > limits.max_age_s
        when.update(
            Text.assemble(
                ("Last check: ", "bold"),
                (age, "bold red" if stale else ""),
                (" - too old to START: measure again (m)" if stale else "", "bold red"),
                ". ",
                need,
                "\n",
                (bounds, "dim"),
            )
        )

    def _show(self, record: ImpedanceRecord | None) -> None:
        self._show_when(record)
        table = self.query_one("#impedance-table", DataTable)
        table.clear()
        if record is None:
            return
        layout = self.profile.contacts
        for index, reading in enumerate(record.readings):
            flag, style = _FLAGS.get(reading.status, (reading.status.name.lower(), ""))
            ohm = (
                "over range" if reading.impedance_ohm == IMPEDANCE_OVER_RANGE_OHM else format_ohm(reading.impedance_ohm)
            )
            table.add_row(
                Text(str(index + 1)),
                Text(str(layout.lead_of(index))),
                Text(ohm, style=style),
                Text(flag, style=style),
                key=str(index),
            )

"""Who the device is and how it is doing: model, serial, firmware, battery, state, link, heartbeat."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import Static

from firmware_protocol import messages as m
from firmware_protocol.constants import FaultFlags, State, StatusFlags

from ...controller import LinkStatus
from ...diagnostics import link_text
from ...units import format_mv
from ..wording import state_words
from . import scs, show

if TYPE_CHECKING:
    from ...controller import Device

__all__ = ["DevicePanel"]

_STATE_STYLE = {
    State.STIMULATING: "bold green",
    State.RAMPING_UP: "bold yellow",
    State.RAMPING_DOWN: "bold yellow",
    State.FAULT: "bold red",
    State.CYCLING_OFF: "yellow",
}


class DevicePanel(Static):
    def __init__(self, device: Device, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.device = device
        self.border_title = "Device"

    def on_mount(self) -> None:
        app = scs(self)
        self.watch(app, "status", lambda _s: self._show(), init=True)
        self.watch(app, "link_lost", lambda _r: self._show(), init=False)
        if app.show_times:
            self.set_interval(1.0, self._show)  # the round-trip time and heartbeat change by themselves

    def _show(self) -> None:
        app = scs(self)
        dev = self.device
        ident = dev.identity
        status: m.Status | None = app.status
        stats = dev.link.stats
        rows: list[tuple[str, Text | str]] = [
            ("Model", f"{ident.profile} (0x{ident.model_id:04X})"),
            ("Serial", ident.serial),
            ("Firmware", f"{ident.firmware} (hw {ident.hardware_revision}, protocol {ident.protocol_version})"),
        ]
        if status is None:
            rows += [("Battery", "..."), ("State", "...")]
        else:
            low = status.fault_flags & (FaultFlags.BATTERY_LOW | FaultFlags.END_OF_SERVICE)
            volts = format_mv(status.battery_mv) if app.show_times else "-.--- V"
            battery = f"{status.battery_pct} % ({volts})"
            faults = [(f.name or "").lower().replace("_", " ") for f in FaultFlags if f and f in status.fault_flags]
            fresh = "checked since power-on" if status.status_flags & StatusFlags.IMPEDANCE_FRESH else "not checked"
            rows += [
                ("Battery", Text(battery, style="bold red" if low else "")),
                (
                    "State",
                    Text(
                        ("last known: " if app.link_lost else "") + state_words(status.state),
                        style=_STATE_STYLE.get(status.state, ""),
                    ),
                ),
                (
                    "Faults",
                    Text(
                        ("last known: " if app.link_lost else "") + (", ".join(faults) or "none"),
                        style="bold red" if faults else "",
                    ),
                ),
                ("Impedance", fresh),
            ]
        if app.link_lost or dev.link.status is not LinkStatus.UP:
            rows.append(("Link", Text("LOST (see the message below)", style="bold red")))
        else:
            rtt = stats.last_rtt_s
            rows.append(
                ("Link", f"up, round trip {'--' if not app.show_times or rtt is None else f'{rtt * 1000:.1f} ms'}")
            )
        missed = stats.heartbeats_missed if app.show_times else 0
        if app.link_lost:  # the panels agree with the banner: no answer, so no heartbeat either
            heartbeat = Text("no answer (link lost)", style="bold red")
        else:
            heartbeat = Text(
                "ok" if not missed else f"{missed} missed in this session", style="" if not missed else "yellow"
            )
        rows.append(("Heartbeat", heartbeat))
        rows.append(("Watchdog", "tethered: stops on link loss" if app.target.tethered else "untethered"))
        rows.append(("Line", link_text(stats) if app.show_times else "--"))
        text = Text()
        for i, (label, value) in enumerate(rows):
            if i:
                text.append("\n")
            text.append(f"{label:<10}", style="dim")
            text.append_text(value if isinstance(value, Text) else Text(value))
        show(self, text)

"""Events and the audit trail of this session, newest first (read from the audit log in a worker)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from ...audit import AuditRecord
from ...text import printable
from ..wording import describe_record, record_time
from . import scs

__all__ = ["AuditView"]

LIMIT = 500
_KIND_STYLE = {
    "refusal": "bold red",
    "error": "bold red",
    "event": "yellow",
    "action": "cyan",
    "command": "bold",
    "reply": "dim",
}


class AuditView(DataTable[Text]):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self._pending = False
        self._stale = True
        self.records: list[AuditRecord] = []

    def on_mount(self) -> None:
        for label, width in (("Time", 8), ("Kind", 8), ("What", 24), ("Detail", None)):
            self.add_column(label, width=width)
        self.watch(scs(self), "audit_version", lambda _v: self._schedule(), init=True)

    def _schedule(self) -> None:
        if not self.is_on_screen:
            self._stale = True  # read when shown: no audit queries for a tab nobody looks at
            return
        if not self._pending:  # a burst of events reloads once
            self._pending = True
            self.set_timer(0.1, self._reload)

    def on_show(self) -> None:
        if self._stale:
            self._stale = False
            self._schedule()

    def _reload(self) -> None:
        self._pending = False
        app = scs(self)
        if app.device is None:
            return
        audit = app.device.audit
        app.call_device(
            "read the audit trail",
            lambda _d, _a: audit.query(session=audit.session, limit=LIMIT),
            self._show,
            background=True,
        )

    def _show(self, records: list[AuditRecord]) -> None:
        self.records = list(reversed(records))
        show_times = scs(self).show_times
        self.clear()
        for record in self.records:
            style = _KIND_STYLE.get(record.kind, "")
            alarm = "bold red" if record.kind in ("refusal", "error") else ""
            self.add_row(
                Text(record_time(record) if show_times else "--:--:--", style="dim"),
                Text(record.kind, style=style),
                Text(printable(record.name.replace("_", " ").lower())),
                # One line per record whatever a name, serial or error text holds.
                Text(printable(describe_record(record)), style=alarm),
                key=str(record.id),
            )

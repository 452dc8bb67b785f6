"""The leads drawn as rows of contacts: each off, + (anode) or - (cathode), with its share.

Keyboard: arrows move; space or Enter steps a contact off -> + -> - -> off; ``+`` / ``-`` / ``o``
set it; ``[`` / ``]`` change its share by 5 %; ``=`` splits each polarity equally. Mouse: a click
on a contact steps it like space. Every change is posted as ``LeadView.Edited``, carrying the edit
itself (for the contact the cursor was on) rather than its result: the screen owns the draft,
applies each edit to the contacts as the edits before it left them, and sets ``contacts`` back. So
keys that come faster than the screen draws (auto-repeat, fast typing) each count, as slow ones do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from firmware_protocol.constants import Polarity
from firmware_protocol.messages import ContactSetting

from ...profiles import ContactLayout
from ..draft import adjust_share, balance, cycle_polarity, set_polarity, share_sums

__all__ = ["ContactsEdit", "LeadView"]

LABEL_WIDTH = 8
CELL_WIDTH = 6
ContactsEdit = Callable[[tuple[ContactSetting, ...]], tuple[ContactSetting, ...]]
"""An edit of the electrodes: the contacts it is given, changed."""
ANODE_STYLE = "bold red"
CATHODE_STYLE = "bold bright_blue"


class LeadView(Widget, can_focus=True):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left", "move(0, -1)", "Contact", show=False),
        Binding("right", "move(0, 1)", "Contact", show=False),
        Binding("up", "move(-1, 0)", "Lead", show=False),
        Binding("down", "move(1, 0)", "Lead", show=False),
        Binding("space,enter", "cycle", "off/+/-"),
        Binding("plus", "set_polarity('anode')", "anode"),
        Binding("minus", "set_polarity('cathode')", "cathode"),
        Binding("o,delete,backspace", "set_polarity('off')", "off", show=False),
        Binding("left_square_bracket", "share(-5)", "share -5%", show=False),
        Binding("right_square_bracket", "share(5)", "share +5%", show=False),
        Binding("equals_sign", "balance", "split equally", show=False),
    ]

    contacts: reactive[tuple[ContactSetting, ...]] = reactive((), always_update=True)
    cursor: reactive[int] = reactive(0)
    invalid: reactive[bool] = reactive(False)

    class Edited(Message):
        """An edit asked for; ``edit`` is applied to the draft's contacts when the screen takes it."""

        def __init__(self, edit: ContactsEdit) -> None:
            super().__init__()
            self.edit = edit

    def __init__(self, layout: ContactLayout, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.layout_ = layout
        self.border_title = "Electrodes"
        self.border_subtitle = "space/click: off -> + -> -   [ ] share   = split"

    def get_content_height(self, container: object, viewport: object, width: int) -> int:
        return self.layout_.leads * 2 + 1

    # --- drawing -----------------------------------------------------------------------------------

    def render(self) -> Text:
        per = self.layout_.contacts_per_lead
        text = Text()
        for lead in range(self.layout_.leads):
            numbers = Text(f"Lead {lead + 1}".ljust(LABEL_WIDTH), style="bold")
            values = Text(" " * LABEL_WIDTH)
            for k in range(per):
                index = lead * per + k
                at_cursor = index == self.cursor and self.has_focus
                numbers.append(f"{index + 1:^{CELL_WIDTH}}", style="reverse" if at_cursor else "dim")
                values.append_text(self._cell(index, at_cursor or index == self.cursor))
            text.append_text(numbers)
            text.append("\n")
            text.append_text(values)
            text.append("\n")
        text.append_text(self._sums())
        return text

    def _cell(self, index: int, at_cursor: bool) -> Text:
        if index >= len(self.contacts):
            return Text(" " * CELL_WIDTH)
        contact = self.contacts[index]
        if contact.polarity == Polarity.ANODE:
            label, style = f"+{contact.share_pct}", ANODE_STYLE
        elif contact.polarity == Polarity.CATHODE:
            label, style = f"-{contact.share_pct}", CATHODE_STYLE
        else:
            label, style = "·", "dim"
        if at_cursor:
            style += " reverse" if self.has_focus else " underline"
        return Text(f"{label:^{CELL_WIDTH}}", style=style)

    def _sums(self) -> Text:
        anode, cathode = share_sums(self.contacts)
        text = Text()
        for name, total in (("anodes +", anode), ("cathodes -", cathode)):
            ok = total == 100
            text.append(f"{name} {total} % " + ("✓   " if ok else "✗   "), style="green" if ok else "bold red")
        if anode != 100 or cathode != 100:
            text.append("each must total 100 %", style="bold red")
        return text

    def watch_invalid(self, invalid: bool) -> None:
        self.set_class(invalid, "-invalid")

    # --- editing -----------------------------------------------------------------------------------

    def _edit(self, edit: ContactsEdit) -> None:
        # Not applied to ``self.contacts``: that is what the screen last drew, and keys may come
        # faster than it draws. The screen applies the edit to its draft, after the edits before it.
        self.post_message(self.Edited(edit))

    def action_move(self, leads: int, contacts: int) -> None:
        per = self.layout_.contacts_per_lead
        lead, k = divmod(self.cursor, per)
        lead = min(max(lead + leads, 0), self.layout_.leads - 1)
        k = min(max(k + contacts, 0), per - 1)
        self.cursor = lead * per + k

    def action_cycle(self) -> None:
        index = self.cursor  # the contact the cursor is on now, whenever the edit is applied
        self._edit(lambda contacts: cycle_polarity(contacts, index))

    def action_set_polarity(self, name: str) -> None:
        index, polarity = self.cursor, Polarity[name.upper()]
        self._edit(lambda contacts: set_polarity(contacts, index, polarity))

    def action_share(self, delta: int) -> None:
        index = self.cursor
        self._edit(lambda contacts: adjust_share(contacts, index, delta))

    def action_balance(self) -> None:
        self._edit(balance)

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        lead = offset.y // 2
        cell = (offset.x - LABEL_WIDTH) // CELL_WIDTH if offset.x >= LABEL_WIDTH else -1
        if not (0 <= lead < self.layout_.leads and 0 <= cell < self.layout_.contacts_per_lead):
            return
        self.cursor = lead * self.layout_.contacts_per_lead + cell
        self.focus()
        self.action_cycle()

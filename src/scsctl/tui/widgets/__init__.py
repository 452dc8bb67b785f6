"""The widgets of the TUI. Each shows one thing and watches the app's reactives for it; none
talks to the device (they ask the app: ``scs(self).call_device(...)``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.dom import DOMNode
from textual.widgets import Static

if TYPE_CHECKING:
    from ..app import ScsApp

__all__ = ["scs", "show"]


def scs(node: DOMNode) -> ScsApp:
    """The running ``ScsApp`` (typed)."""
    from ..app import ScsApp

    app = node.app
    assert isinstance(app, ScsApp)
    return app


def show(static: Static, text: Text) -> None:
    """``static.update(text)``, but nothing when it already shows exactly that, and without a layout
    pass when the new text takes the same lines as the old. Statuses arrive often and mostly change
    nothing on screen; a layout pass re-renders every widget, and a STOP key press waits behind it."""
    old = static.content
    if isinstance(old, Text) and old == text:
        return
    static.update(text, layout=not (isinstance(old, Text) and _same_lines(old, text, static.content_size.width)))


def _same_lines(old: Text, new: Text, width: int) -> bool:
    """Both take the same number of lines and neither wraps, so the widget keeps its size."""
    old_lines, new_lines = old.plain.split("\n"), new.plain.split("\n")
    if len(old_lines) != len(new_lines) or width <= 0:
        return False
    return max(map(len, old_lines + new_lines)) <= width

"""Nothing is cut: every screen and dialog (``scenes.SCENES``) at 80x24, 120x40, 160x48 and 200x60.

Three ways text gets cut, each looked for on the screen as drawn:
- an ellipsis: a label, a button or a title too long for its place ends in "…";
- a clipped widget: part of a label, a button or a field lies outside its container, and no
  container on the way can scroll to it;
- text taller than its box: a label needs more lines than it is given (a wrapped line is lost), or a
  field's placeholder is wider than the field.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from textual.app import App
from textual.css.query import NoMatches
from textual.errors import NoWidget
from textual.geometry import Size
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Static
from textual.widgets._toggle_button import ToggleButton

from scsctl.transports.emulated import EmulatedTransport

from .scenes import SCENES, scene_app

SIZES = [(80, 24), (120, 40), (160, 48), (200, 60)]

# The names the rest of the check reports widgets by.
_TEXT_WIDGETS = (Static, Label, Button, Input, ToggleButton)


def screen_lines(app: App[object]) -> list[str]:
    """The screen on top, as the terminal shows it, one string per line."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


def _name(widget: Widget) -> str:
    kind = type(widget).__name__
    return f"{kind}#{widget.id}" if widget.id else f"{kind}.{'.'.join(widget.classes)}"


def _can_scroll_to(widget: Widget, *, across: bool = False, down: bool = False) -> bool:
    """Whether a container between ``widget`` and the screen scrolls that way (what it clips is reachable)."""
    node = widget.parent
    while isinstance(node, Widget):
        if (not across or node.allow_horizontal_scroll) and (not down or node.allow_vertical_scroll) and (
            node.allow_horizontal_scroll or node.allow_vertical_scroll
        ):
            return True
        node = node.parent
    return False


def cut_widgets(app: App[object]) -> list[str]:
    """What is cut on the screen on top: one line per widget, naming it and how."""
    screen = app.screen
    found: list[str] = []
    for widget in screen.query("*").results(Widget):
        if not isinstance(widget, _TEXT_WIDGETS) or not widget.display:
            continue
        try:
            geometry = screen.find_widget(widget)
        except (NoWidget, NoMatches):
            continue  # not drawn (in a hidden tab, scrolled out of a scrolling container's reach)
        region = geometry.region
        if region.width == 0 or region.height == 0:
            continue
        visible = region.intersection(geometry.clip)
        if visible.area == 0 and _can_scroll_to(widget):
            continue  # scrolled away, reachable by scrolling
        across, down = visible.width < region.width, visible.height < region.height
        if visible != region and not _can_scroll_to(widget, across=across, down=down):
            found.append(f"{_name(widget)} clipped to {visible} of {region}")
            continue
        content = widget.content_region
        if isinstance(widget, Input):
            if not widget.value and widget.placeholder and len(widget.placeholder) > content.width - 1:
                found.append(f"{_name(widget)} placeholder {widget.placeholder!r} wider than {content.width - 1}")
            continue
        if isinstance(widget, Static) and not isinstance(widget, Button) and not widget.allow_vertical_scroll:
            size = Size(content.width, content.height)
            needed = widget.get_content_height(size, size, content.width)
            if needed > content.height:
                found.append(f"{_name(widget)} needs {needed} lines, has {content.height}")
    return found


def cut_text(app: App[object]) -> list[str]:
    return [f"line {i}: {line.rstrip()}" for i, line in enumerate(screen_lines(app)) if "…" in line]


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
@pytest.mark.parametrize("name", list(SCENES))
async def test_nothing_is_cut(name: str, size: tuple[int, int], tmp_path: Path) -> None:
    scene = SCENES[name]
    emu = EmulatedTransport("emu://", seed=0)
    try:
        with scene_app(scene, tmp_path, emu) as app:
            async with app.run_test(size=size) as pilot:
                await scene.go(pilot)
                problems = cut_text(app) + cut_widgets(app)
                if problems and os.environ.get("SCSCTL_SHOW_SCREEN"):
                    print("\n".join(screen_lines(app)))
                assert not problems, f"{name} at {size[0]}x{size[1]}:\n" + "\n".join(problems)
    finally:
        emu.close()

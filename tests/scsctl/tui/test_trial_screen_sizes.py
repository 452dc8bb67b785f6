"""The trial screen at 80x24, 120x40 and 200x60: STOP, the message bar and the footer stay on screen,
and every field and button of the forms is reached with Tab and scrolled into view."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widget import Widget

from scsctl.transports.emulated import EmulatedTransport
from scsctl.tui.trial_screen import TrialScreen
from scsctl.tui.widgets.footer import StopFooter
from scsctl.tui.widgets.stop_button import StopButton

from .scenes import SCENES, scene_app

FORM = ["trial-pick", "trial-new", "cov-slot", "cov-comfort", "cov-regions", "cov-notes", "cov-left-active",
        "cov-record", "diary-date", "diary-nrs", "diary-hours", "diary-analgesics", "diary-notes", "diary-device",
        "diary-edit", "diary-reason", "diary-add"]  # fmt: skip


def whole_on_screen(screen: TrialScreen, widget: Widget) -> bool:
    geometry = screen.find_widget(widget)
    return geometry.region.area > 0 and geometry.region.intersection(geometry.clip) == geometry.region


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (200, 60)], ids=["80x24", "120x40", "200x60"])
async def test_every_field_is_reached_and_stop_stays_on_screen(
    size: tuple[int, int], tmp_path: Path, emu: EmulatedTransport
) -> None:
    scene = SCENES["trial-screen"]
    with scene_app(scene, tmp_path, emu) as app:
        async with app.run_test(size=size) as pilot:
            await scene.go(pilot)
            screen = app.screen
            assert isinstance(screen, TrialScreen)
            fixed = [screen.query_one(StopButton), screen.query_one("#messages"), screen.query_one(StopFooter)]
            reached: list[str] = []
            for _ in range(3 * len(FORM)):
                await pilot.press("tab")
                await pilot.pause()
                focused = app.focused
                assert focused is not None
                # The field with the focus is in view (scrolled to), and STOP and the messages still are.
                wanted = next((n for n in focused.ancestors_with_self if n.id in FORM), None)
                if isinstance(wanted, Widget) and wanted.id not in reached:
                    assert whole_on_screen(screen, wanted), f"{wanted.id} is not in view at {size}"
                    reached.append(str(wanted.id))
                assert all(whole_on_screen(screen, w) for w in fixed), f"STOP or the messages left the screen at {size}"
            assert sorted(reached) == sorted(FORM)

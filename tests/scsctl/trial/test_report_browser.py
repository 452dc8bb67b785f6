"""The HTML report laid out by a real browser (headless chromium) at phone and desk widths: nothing
runs off the right edge of the page, the body maps included, and each map is drawn large enough to read."""

from __future__ import annotations

import json
import re
import subprocess
from html import escape
from pathlib import Path

import pytest

from scsctl.trial import TrialReport, render_html

from ...system_tools import require_program
from .test_report import report  # noqa: F401 - the fixture: a week's trial with programs and a diary

MEASURE = """
<script>
(function () {
  var view = document.documentElement.clientWidth;
  var widest = 0, culprit = "";
  document.querySelectorAll(".figures div, .verdict, table, svg.chart, h1, h2, p, .emulated, " +
                            "figure.map, svg.bodymap, figcaption").forEach(function (el) {
    var right = el.getBoundingClientRect().right;
    if (right > widest) { widest = right; culprit = el.tagName + "." + el.className; }
  });
  parent.document.body.setAttribute("data-layout", JSON.stringify({
    view: view, scroll: document.documentElement.scrollWidth, widest: Math.ceil(widest), culprit: culprit,
    cards: document.querySelectorAll(".figures div").length,
    maps: Array.prototype.map.call(document.querySelectorAll("svg.bodymap"), function (el) {
      var box = el.getBoundingClientRect();
      return [Math.floor(box.width), Math.floor(box.height)];
    })
  }));
})();
</script>
"""


def lay_out(chromium: str, page: str, width: int, tmp_path: Path) -> dict[str, object]:
    """The report in a frame ``width`` CSS pixels wide (headless windows have a minimum width, a frame
    does not; the report's media queries see the frame's width, as on a phone)."""
    framed = escape(page.replace("</body>", MEASURE + "</body>"), quote=True)
    html = tmp_path / f"report-{width}.html"
    html.write_text(
        '<!DOCTYPE html><html><body style="margin:0">'
        f'<iframe srcdoc="{framed}" style="width:{width}px;height:900px;border:0;display:block"></iframe>'
        "</body></html>",
        encoding="utf-8",
    )
    profile = tmp_path / f"chromium-profile-{width}"
    profile.mkdir()
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", f"--window-size={max(width, 1300)},1000", "--dump-dom"]  # fmt: skip
    done = subprocess.run([chromium, *flags, html.as_uri()], capture_output=True, text=True, timeout=120)
    found = re.search(r'data-layout="([^"]*)"', done.stdout)
    assert found, f"no layout measured: {done.stderr[-2000:]}"
    measured: dict[str, object] = json.loads(found.group(1).replace("&quot;", '"'))
    return measured


@pytest.mark.parametrize("width", [390, 1280])
def test_nothing_runs_off_the_right_edge(report: TrialReport, width: int, tmp_path: Path) -> None:  # noqa: F811
    chromium = require_program("chromium")
    layout = lay_out(chromium, render_html(report), width, tmp_path)
    assert layout["cards"], layout  # the figures are there to be measured
    view = layout["view"]
    assert isinstance(view, int) and view <= width
    assert layout["scroll"] == view, layout  # the page never scrolls sideways
    widest = layout["widest"]
    assert isinstance(widest, int) and widest <= view, layout
    maps = layout["maps"]
    assert isinstance(maps, list) and len(maps) == 1 + len(report.programs), layout  # pain area + each program
    for map_width, map_height in maps:
        # Two figures side by side: below about 150 px wide a hand or a knee is a few pixels across.
        assert 150 <= map_width <= view and map_height > map_width, layout

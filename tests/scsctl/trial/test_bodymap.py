"""The body map: every region has a shape, the SVG is well-formed, and a map marks exactly the
regions it was given (the pain area in the report, each program's paresthesia over it)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from itertools import combinations

import pytest

from scsctl.trial import BODY_REGIONS, TrialReport, bodymap, parse_regions, render_html
from scsctl.trial.bodymap import BACK_DX, BODY_SHAPES, FIGURE_W, body_map_svg, unshaped

from .test_report import report  # noqa: F401 - the fixture: a week's trial with programs and a diary

SVG = "{http://www.w3.org/2000/svg}"


def marked(svg: str, mark: str) -> set[str]:
    """The regions whose shapes carry class ``mark``; fails unless ``svg`` is well-formed XML."""
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return {
        el.attrib["data-region"]
        for el in root.iter(f"{SVG}rect")
        if "data-region" in el.attrib and mark in el.attrib["class"].split()
    }


def test_every_region_has_a_shape_on_the_front_or_the_back() -> None:
    assert set(BODY_SHAPES) == set(BODY_REGIONS)
    assert unshaped(BODY_REGIONS) == ()
    for name, (front, back) in BODY_SHAPES.items():
        assert front or back, name


def test_every_shape_is_drawn_and_named_and_none_hides_another() -> None:
    root = ET.fromstring(body_map_svg(()))
    rects = [el for el in root.iter(f"{SVG}rect") if "data-region" in el.attrib]
    assert {el.attrib["data-region"] for el in rects} == set(BODY_REGIONS)
    for el in rects:  # a browser names the region on hover
        title = el.find(f"{SVG}title")
        assert title is not None and title.text == el.attrib["data-region"]
    boxes = [(el.attrib["data-region"], *(float(el.attrib[k]) for k in ("x", "y", "width", "height"))) for el in rects]
    for (a, ax, ay, aw, ah), (b, bx, by, bw, bh) in combinations(boxes, 2):
        apart = ax + aw <= bx or bx + bw <= ax or ay + ah <= by or by + bh <= ay
        assert apart, f"{a} and {b} overlap"
    width, height = (float(v) for v in root.attrib["viewBox"].split()[2:])
    assert all(x >= 0 and x + w <= width and y >= 0 and y + h <= height for _n, x, y, w, h in boxes)


def test_front_shows_the_patients_right_on_the_readers_left_and_the_back_the_left() -> None:
    (front_right,), (back_right,) = BODY_SHAPES["foot-right"]
    (front_left,), (back_left,) = BODY_SHAPES["foot-left"]
    assert front_right[0] < FIGURE_W / 2 < front_left[0]
    assert back_left[0] < FIGURE_W / 2 < back_right[0]
    assert BODY_SHAPES["low-back-left"][0] == () and BODY_SHAPES["chest"][1] == ()  # one side of the body
    assert BACK_DX >= FIGURE_W


@pytest.mark.parametrize("given", ["none", "low-back, foot-left", "perineum, neck, hand-right", ",".join(BODY_REGIONS)])
def test_a_map_shades_exactly_the_regions_given_and_outlines_the_others_given(given: str) -> None:
    regions = parse_regions(given)
    pain = parse_regions("low-back-left, thigh")
    svg = body_map_svg(regions, outlined=pain, label="P1 <felt> & more")
    assert marked(svg, "shaded") == set(regions)
    assert marked(svg, "outlined") == set(pain)
    assert "<script" not in svg and "href" not in svg  # self-contained


def test_the_report_maps_the_pain_area_and_each_programs_paresthesia(report: TrialReport) -> None:  # noqa: F811
    page = render_html(report)
    maps = re.findall(r'<svg class="bodymap".*?</svg>', page, flags=re.S)
    assert len(maps) == 1 + len(report.programs)
    pain = set(report.trial.pain_regions)
    assert pain == {"low-back-left", "low-back-right", "foot-left"}
    assert marked(maps[0], "shaded") == pain and marked(maps[0], "outlined") == set()
    for svg, test in zip(maps[1:], report.programs, strict=True):
        assert marked(svg, "shaded") == set(test.regions)
        assert marked(svg, "outlined") == pain
    assert "<b>Pain area</b>: low-back (both sides), foot-left" in page
    assert "<b>P1</b> (slot 0): felt in low-back-left, buttock-left" in page
    assert "not drawn on the map" not in page


def test_a_region_the_map_cannot_draw_is_named_beside_it(report: TrialReport, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.delitem(bodymap.BODY_SHAPES, "foot-left")
    page = render_html(report)
    assert page.count("not drawn on the map: foot-left") == 2  # the pain area and P2, which reaches it
    maps = re.findall(r'<svg class="bodymap".*?</svg>', page, flags=re.S)
    assert marked(maps[0], "shaded") == {"low-back-left", "low-back-right"}

"""The body map: every region of ``regions.BODY_REGIONS`` drawn on a human outline, front and back,
as inline SVG for the report (no scripts, no external files or fonts; a fixed ``viewBox`` scaled by
the page).

One map shades one set of regions (the pain area, or where a program's paresthesia was felt) and
may outline a second (the pain area, dashed, under a program's paresthesia), so a reader sees at a
glance what a program reaches and misses. Shading differs in lightness and the outline in dash
pattern, so a black-and-white print still tells them apart. Regions seen from both sides (a thigh,
a shoulder) are drawn on both figures. Every shape carries its region's name (``data-region``, and a
``<title>`` a browser shows on hover); a region without a shape is never dropped silently:
``unshaped`` names it and the report writes it beside the map.

The front figure faces the reader (the patient's right on the reader's left); the back figure is
seen from behind (the patient's left on the reader's left). Each figure is labelled R and L.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape

from .regions import BODY_REGIONS

__all__ = ["BODY_SHAPES", "FELT_COLOUR", "PAIN_COLOUR", "body_map_svg", "unshaped"]

PAIN_COLOUR = "#c0504d"
FELT_COLOUR = "#3f78b5"
_EMPTY_FILL = "#f4f4f4"
_EDGE = "#8a8a8a"

FIGURE_W = 100
"""Width of one figure in the viewBox; the back figure is drawn ``BACK_DX`` to the right."""
BACK_DX = 118
WIDTH = BACK_DX + FIGURE_W
HEIGHT = 236

Rect = tuple[float, float, float, float, float]
"""x, y, width, height, corner radius: a shape on a figure whose middle is x = 50."""


def _mirror(rect: Rect) -> Rect:
    x, y, w, h, r = rect
    return (FIGURE_W - x - w, y, w, h, r)


# Shapes on the reader's left; ``_sides`` puts the other side's in mirror image.
_ON_READERS_LEFT: dict[str, Rect] = {
    "shoulder": (22, 34, 14, 14, 6),
    "arm": (19, 50, 12, 58, 5),
    "hand": (16, 110, 13, 17, 5),
    "hip": (32, 94, 8, 20, 3),
    "groin": (41, 94, 8, 13, 2),
    "low-back": (36, 74, 13.5, 20, 2),
    "buttock": (32, 96, 17.5, 22, 8),
    "thigh": (31, 120, 17.5, 44, 6),
    "knee": (32, 166, 15.5, 12, 5),
    "lower-leg": (33, 180, 14, 38, 5),
    "foot": (29, 220, 18, 9, 4),
}
_FRONT_MIDLINE: dict[str, Rect] = {
    "neck": (44, 25, 12, 8, 2),
    "chest": (37, 35, 26, 28, 3),
    "abdomen": (37, 65, 26, 27, 3),
    "perineum": (45, 109, 10, 9, 3),
}
_BACK_MIDLINE: dict[str, Rect] = {
    "neck": (44, 25, 12, 8, 2),
    "upper-back": (37, 35, 26, 37, 3),
}
_FRONT_SIDED = ("shoulder", "arm", "hand", "hip", "groin", "thigh", "knee", "lower-leg", "foot")
_BACK_SIDED = ("shoulder", "arm", "hand", "low-back", "buttock", "thigh", "knee", "lower-leg", "foot")


def _sides(names: Iterable[str], readers_left: str) -> dict[str, Rect]:
    """Both sides of each region: the side ``readers_left`` on the reader's left, the other mirrored."""
    other = "right" if readers_left == "left" else "left"
    out: dict[str, Rect] = {}
    for name in names:
        out[f"{name}-{readers_left}"] = _ON_READERS_LEFT[name]
        out[f"{name}-{other}"] = _mirror(_ON_READERS_LEFT[name])
    return out


BODY_SHAPES: dict[str, tuple[tuple[Rect, ...], tuple[Rect, ...]]] = {}
"""Region name -> (its shapes on the front figure, its shapes on the back figure)."""


def _build() -> None:
    front = {**_FRONT_MIDLINE, **_sides(_FRONT_SIDED, "right")}
    back = {**_BACK_MIDLINE, **_sides(_BACK_SIDED, "left")}
    for name in BODY_REGIONS:
        on_front = (front[name],) if name in front else ()
        on_back = (back[name],) if name in back else ()
        if on_front or on_back:
            BODY_SHAPES[name] = (on_front, on_back)


_build()


def unshaped(regions: Iterable[str]) -> tuple[str, ...]:
    """The regions of ``regions`` the map has no shape for (to be named in words beside it)."""
    return tuple(r for r in regions if r not in BODY_SHAPES)


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def body_map_svg(shaded: Iterable[str], *, outlined: Iterable[str] = (), colour: str = PAIN_COLOUR,
                 label: str = "") -> str:  # fmt: skip
    """The map with ``shaded`` regions filled in ``colour`` and ``outlined`` ones drawn with a thick
    dashed edge; ``label`` is the SVG's accessible name. Unknown names are ignored here (``unshaped``
    names them for the text beside the map)."""
    fill, edge = set(shaded), set(outlined)
    parts = [
        f'<svg class="bodymap" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-label="{escape(label or "body map")}">',
        f'<text x="{FIGURE_W / 2:g}" y="8" text-anchor="middle" font-size="8" fill="#555">front</text>',
        f'<text x="{BACK_DX + FIGURE_W / 2:g}" y="8" text-anchor="middle" font-size="8" fill="#555">back</text>',
    ]
    for dx, right_side_at_left in ((0, True), (BACK_DX, False)):
        parts.append(f'<circle cx="{dx + 50}" cy="15" r="9" fill="{_EMPTY_FILL}" stroke="{_EDGE}" stroke-width="0.8"/>')
        left_word, right_word = ("R", "L") if right_side_at_left else ("L", "R")
        parts.append(f'<text x="{dx + 6}" y="20" font-size="7" fill="#555">{left_word}</text>')
        parts.append(
            f'<text x="{dx + FIGURE_W - 6}" y="20" font-size="7" fill="#555" text-anchor="end">{right_word}</text>'
        )
    # Unmarked shapes first, so a marked shape's thick edge is never drawn over by a neighbour's.
    drawn: list[tuple[int, str]] = []
    for name, (on_front, on_back) in BODY_SHAPES.items():
        for dx, rects in ((0, on_front), (BACK_DX, on_back)):
            for x, y, w, h, r in rects:
                classes = ["region"]
                style = f'fill="{_EMPTY_FILL}" stroke="{_EDGE}" stroke-width="0.7"'
                if name in fill:
                    classes.append("shaded")
                    style = f'fill="{colour}" stroke="{_EDGE}" stroke-width="0.7"'
                if name in edge:
                    classes.append("outlined")
                    shade = colour if name in fill else _EMPTY_FILL
                    style = f'fill="{shade}" stroke="{PAIN_COLOUR}" stroke-width="2" stroke-dasharray="3 1.5"'
                rank = 2 if name in edge else 1 if name in fill else 0
                drawn.append((
                    rank,
                    f'<rect class="{" ".join(classes)}" data-region="{name}" x="{_n(dx + x)}" y="{_n(y)}" '
                    f'width="{_n(w)}" height="{_n(h)}" rx="{_n(r)}" {style}><title>{name}</title></rect>',
                ))  # fmt: skip
    parts += [svg for _rank, svg in sorted(drawn, key=lambda d: d[0])]
    parts.append("</svg>")
    return "".join(parts)

"""Text bars showing where a value sits within a range."""

from __future__ import annotations

from rich.text import Text

__all__ = ["range_bar"]


def range_bar(
    value: float, low: float, high: float, width: int = 20, *, mark: float | None = None, style: str = "cyan"
) -> Text:
    """``▕████░░░░▏``: the filled part is ``value`` within ``low..high``; ``mark`` (e.g. a warning) as ``┃``.

    A value outside the range shows as a full bar ending in ``▶`` (above) or an empty one starting
    with ``◀`` (below), so it is never drawn as if it were inside.
    """
    inner = max(width - 2, 1)
    text = Text("▕", style="dim")
    if high <= low:
        text.append("━" * inner, style=style)
    else:
        frac = (value - low) / (high - low)
        filled = round(min(max(frac, 0.0), 1.0) * inner)
        mark_at = None if mark is None or not low <= mark <= high else round((mark - low) / (high - low) * (inner - 1))
        cells = []
        for i in range(inner):
            if i == mark_at:
                cells.append(("┃", "bold yellow"))
            elif i < filled:
                cells.append(("█", style))
            else:
                cells.append(("░", "dim"))
        if frac > 1:
            cells[-1] = ("▶", "bold red")
        elif frac < 0:
            cells[0] = ("◀", "bold red")
        for ch, st in cells:
            text.append(ch, style=st)
    text.append("▏", style="dim")
    return text

"""Requirement tables: ``REQUIREMENTS.md`` files that map requirement ids to the hazards they control.

A table is any Markdown table whose first column holds requirement ids (``SAF-003``: capitals, a
dash, digits). Other columns are found by their header: ``requirement``, ``hazard...`` and
``tests`` (test names in backticks, or separated by commas or ``<br>``)::

    | id | requirement | hazard it controls | tests |
    |---|---|---|---|
    | SAF-003 | STOP works from every state | output that cannot be stopped | `test_stop.py::test_stop` |

A test's table is the nearest ``REQUIREMENTS.md`` in its folder or a parent folder (up to the
rootdir), unless one is named with ``--scs-requirements``. Nothing here knows pytest.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError

__all__ = ["REQUIREMENT_ID", "TABLE_NAME", "Requirement", "find_table", "parse_table", "read_table"]

TABLE_NAME = "REQUIREMENTS.md"
REQUIREMENT_ID = re.compile(r"^[A-Z][A-Z0-9]*-\d+$")


@dataclass(frozen=True, slots=True)
class Requirement:
    id: str
    text: str
    hazard: str
    tests: tuple[str, ...]
    source: str
    line: int

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "requirement": self.text,
            "hazard": self.hazard,
            "listed_tests": list(self.tests),
            "source": self.source,
            "line": self.line,
        }


def _cells(line: str) -> list[str]:
    text = line.strip()
    if text.startswith("|"):
        text = text[1:]
    if text.endswith("|"):
        text = text[:-1]
    return [cell.strip() for cell in text.split("|")]


def _tests(cell: str) -> tuple[str, ...]:
    if "`" in cell:  # names in backticks; notes around them, e.g. "(emulator)", are not names
        return tuple(name.strip() for name in re.findall(r"`([^`]+)`", cell) if name.strip())
    parts = re.split(r",|<br\s*/?>", cell)
    return tuple(p.strip() for p in parts if p.strip())


def parse_table(text: str, source: str = TABLE_NAME) -> dict[str, Requirement]:
    """Every requirement row of every table in ``text``. Raises ``UsageError`` on a duplicate id."""
    out: dict[str, Requirement] = {}
    header: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.lstrip().startswith("|"):
            header = []
            continue
        cells = _cells(line)
        if all(re.fullmatch(r":?-{3,}:?", c) for c in cells if c):
            continue  # the separator row under a header
        if not REQUIREMENT_ID.match(cells[0]):
            header = [c.lower() for c in cells]
            continue
        named = dict(zip(header, cells, strict=False))
        req_id = cells[0]
        if req_id in out:
            first = out[req_id]
            raise UsageError(f"{source}:{number}: requirement {req_id} is listed twice (first at line {first.line})")
        out[req_id] = Requirement(
            id=req_id,
            text=_column(named, "requirement"),
            hazard=_column(named, "hazard"),
            tests=_tests(_column(named, "test")),
            source=source,
            line=number,
        )
    return out


def _column(named: Mapping[str, str], prefix: str) -> str:
    for key, value in named.items():
        if key.startswith(prefix):
            return value
    return ""


def read_table(path: str | Path) -> dict[str, Requirement]:
    """Parse the table file at ``path``; ``UsageError`` names a file that cannot be read."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as err:
        raise UsageError(f"cannot read the requirements table {p}: {err.strerror or err}") from None
    return parse_table(text, str(p))


def find_table(start: Path, stop_at: Path, names: Iterable[str] = (TABLE_NAME,)) -> Path | None:
    """The nearest table in ``start`` or a parent folder, not looking above ``stop_at``."""
    folder = start if start.is_dir() else start.parent
    folder = folder.resolve()
    stop = stop_at.resolve()
    while True:
        for name in names:
            candidate = folder / name
            if candidate.is_file():
                return candidate
        if folder == stop or folder.parent == folder or stop not in folder.parents:
            return None
        folder = folder.parent

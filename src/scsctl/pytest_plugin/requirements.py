"""Requirement tables: ``REQUIREMENTS.md`` files that map requirement ids to the hazards they control.

A table is any Markdown table whose first column holds requirement ids (``SAF-003``: capitals, a
dash, digits). Other columns are found by their header: ``requirement``, ``hazard...`` and
``tests`` (test names in backticks, or separated by commas or ``<br>``)::

    | id | requirement | hazard it controls | tests |
    |---|---|---|---|
    | SAF-003 | STOP works from every state | output that cannot be stopped | `test_stop.py::test_stop` |

A test's table is the nearest ``REQUIREMENTS.md`` in its folder or a parent folder (up to the
rootdir), unless one is named with ``--scs-requirements``. A table may extend another (``Extends:
scsctl.hil_tests``, see ``read_table``). Nothing here knows pytest.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError

__all__ = [
    "CATALOGUE",
    "REQUIREMENT_ID",
    "TABLE_NAME",
    "Requirement",
    "catalogue_table",
    "find_table",
    "parse_table",
    "read_table",
]

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


def read_table(path: str | Path, *, _within: tuple[Path, ...] = ()) -> dict[str, Requirement]:
    """Parse the table file at ``path``; ``UsageError`` names a file that cannot be read.

    A line ``Extends: scsctl.hil_tests`` (the conformance catalogue's table) or ``Extends: PATH``
    (relative to this file) takes that table's rows too: a rig's own table adds its requirements to
    the catalogue's, and its tests may name either. An id defined twice is an error.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as err:
        raise UsageError(f"cannot read the requirements table {p}: {err.strerror or err}") from None
    table: dict[str, Requirement] = {}
    for match in _EXTENDS.finditer(text):
        base = _extended(match.group(1), p)
        if base.resolve() in _within or base.resolve() == p.resolve():
            raise UsageError(f"{p}: 'Extends: {match.group(1)}' leads back to itself")
        table.update(read_table(base, _within=(*_within, p.resolve())))
    own = parse_table(text, str(p))
    for req_id, req in own.items():
        if req_id in table:
            raise UsageError(f"{p}:{req.line}: requirement {req_id} is already defined in {table[req_id].source}")
    table.update(own)
    return table


CATALOGUE = "scsctl.hil_tests"
"""How a rig's table names the conformance catalogue's table in an ``Extends:`` line."""

_EXTENDS = re.compile(r"^extends:\s*(\S+)\s*$", re.IGNORECASE | re.MULTILINE)


def catalogue_table() -> Path:
    """The conformance catalogue's ``REQUIREMENTS.md``: inside the installed package, or the checkout's."""
    package = Path(__file__).resolve().parents[1]  # .../scsctl
    for candidate in (package / "hil_tests" / TABLE_NAME, package.parents[1] / "hil_tests" / TABLE_NAME):
        if candidate.is_file():
            return candidate
    raise UsageError(f"the conformance catalogue's {TABLE_NAME} is not installed with scsctl ({package})")


def _extended(name: str, table: Path) -> Path:
    if name == CATALOGUE:
        return catalogue_table()
    path = Path(name)
    return path if path.is_absolute() else table.parent / path


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

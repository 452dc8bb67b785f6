"""Write (or check) every generated file of the firmware kit.

``python -m firmware_protocol.kit`` rewrites them from the wire definition; ``--check`` writes
nothing and exits 1 naming each file that differs (``tests/firmware_protocol/test_c_kit.py`` runs
the same comparison, so a change to ``wire.py`` without regenerating fails the tests).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from .model import WireModel, model
from .render_c import render_header, render_probe, render_source
from .render_lua import render_lua
from .render_vectors import render_vectors

__all__ = ["ROOT", "generated", "main", "stale"]

ROOT = Path(__file__).resolve().parent.parent
"""The ``firmware_protocol`` folder; generated paths are relative to it."""

_OUTPUTS: dict[str, Callable[[WireModel], str]] = {
    "c/scs_wire.h": render_header,
    "c/scs_wire.c": render_source,
    "c/test/vectors.h": render_vectors,
    "c/test/probe.c": render_probe,
    "wireshark/scsctl.lua": render_lua,
}


def generated() -> dict[Path, str]:
    """Each generated file's path and the text the definition gives for it now."""
    m = model()
    return {ROOT / name: render(m) for name, render in _OUTPUTS.items()}


def stale() -> list[Path]:
    """Generated files that are missing or differ from what the definition gives."""
    out = []
    for path, text in generated().items():
        try:
            current = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            current = None
        if current != text:
            out.append(path)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m firmware_protocol.kit", description=__doc__)
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a generated file is stale")
    args = parser.parse_args(argv)
    if args.check:
        old = stale()
        for path in old:
            print(f"stale: {path.relative_to(ROOT.parent)} (run python -m firmware_protocol.kit)", file=sys.stderr)
        return 1 if old else 0
    for path, text in generated().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT.parent)}")
    return 0

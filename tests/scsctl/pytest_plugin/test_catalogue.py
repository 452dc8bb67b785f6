"""hil_tests/REQUIREMENTS.md tells the truth: its tests column is exactly what carries each id."""

from __future__ import annotations

from pathlib import Path

import pytest

from scsctl.pytest_plugin.requirements import read_table

pytest_plugins = ["pytester"]

HIL = Path(__file__).resolve().parents[3] / "hil_tests"


def test_every_requirement_lists_exactly_the_tests_that_name_it(pytester: pytest.Pytester) -> None:
    items, _ = pytester.inline_genitems(
        str(HIL), "-p", "no:textual-snapshot", "-p", "no:hypothesispytest", "-p", "no:cacheprovider"
    )
    assert items, "no conformance tests collected"
    named: dict[str, set[str]] = {}
    untraced: list[str] = []
    for item in items:
        assert isinstance(item, pytest.Function)
        key = f"{item.path.name}::{item.originalname}"
        ids = {arg for marker in item.iter_markers("scs_requirement") for arg in marker.args}
        if not ids:
            untraced.append(item.nodeid)
        for req_id in ids:
            named.setdefault(req_id, set()).add(key)
    assert untraced == [], "every conformance test names the requirement it verifies"
    table = read_table(HIL / "REQUIREMENTS.md")
    listed = {req_id: set(req.tests) for req_id, req in table.items()}
    assert {k: v for k, v in listed.items() if not v} == {}, "a requirement no test verifies"
    assert named == listed
    assert all(req.hazard for req in table.values()), "a requirement without the hazard it controls"

"""Requirement tables, the test record and its traceability table (no pytest run needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scsctl.cli.main import main as scsctl_main
from scsctl.errors import UsageError
from scsctl.pytest_plugin.measure import Measurement, check_measurement
from scsctl.pytest_plugin.record import PROP_MEASUREMENT, PROP_REQUIREMENTS, PROP_TABLE, PROP_TARGET, RecordBuilder
from scsctl.pytest_plugin.report import load_record, render_traceability
from scsctl.pytest_plugin.requirements import find_table, parse_table

TABLE = """\
# Requirements

Some text | with a bar that is not a table.

| id | requirement | hazard it controls | tests |
|---|---|---|---|
| SAF-003 | STOP works | output that cannot be stopped | `test_stop.py::test_a`, `test_stop.py::test_b` (emulator) |
| OUT-001 | ramps | a jolt | test_ramps.py::test_up<br>test_ramps.py::test_down |
| WDG-001 | reverts | left applied | |
"""


def test_a_table_gives_each_requirement_its_hazard_and_listed_tests() -> None:
    table = parse_table(TABLE, "REQ.md")
    assert list(table) == ["SAF-003", "OUT-001", "WDG-001"]
    saf = table["SAF-003"]
    assert (saf.text, saf.hazard, saf.line) == ("STOP works", "output that cannot be stopped", 7)
    assert saf.tests == ("test_stop.py::test_a", "test_stop.py::test_b")
    assert table["OUT-001"].tests == ("test_ramps.py::test_up", "test_ramps.py::test_down")
    assert table["WDG-001"].tests == ()


def test_a_requirement_listed_twice_is_refused() -> None:
    with pytest.raises(UsageError, match=r"REQ\.md:8: requirement SAF-003 is listed twice"):
        parse_table(TABLE.replace("| OUT-001 |", "| SAF-003 |"), "REQ.md")


def test_the_nearest_table_up_to_the_root_is_found(tmp_path: Path) -> None:
    (tmp_path / "suite" / "deep").mkdir(parents=True)
    (tmp_path / "REQUIREMENTS.md").write_text(TABLE)
    assert find_table(tmp_path / "suite" / "deep", tmp_path) == tmp_path / "REQUIREMENTS.md"
    (tmp_path / "suite" / "REQUIREMENTS.md").write_text(TABLE)
    assert find_table(tmp_path / "suite" / "deep", tmp_path) == tmp_path / "suite" / "REQUIREMENTS.md"
    assert find_table(tmp_path / "suite" / "deep", tmp_path / "suite" / "deep") is None  # not above the root


def test_measurements_state_their_limit_and_verdict() -> None:
    assert str(check_measurement("stop_ms", 3.25, "ms", (None, 50))) == "stop_ms = 3.25 ms (limit <= 50 ms: pass)"
    assert str(check_measurement("n", 7, "", (8, None))) == "n = 7 (limit >= 8: FAIL)"
    assert check_measurement("x_ua", 500, "uA", (500, 500)).limit_text() == "== 500 uA"
    assert Measurement.from_dict(check_measurement("t", 1.5, "s", (1, 2)).as_dict()).limit_text() == "1..2 s"
    for args, wrong in [
        (("bad name", 1, "ms", (None, None)), "measurement name"),
        (("t", True, "ms", (None, None)), "not a finite number"),
        (("t", float("nan"), "ms", (None, None)), "not a finite number"),
        (("t", 1, None, (None, None)), "units"),
        (("t", 1, "ms", (1,)), "must be a pair"),
        (("t", 1, "ms", (2, 1)), "low end above its high end"),
    ]:
        with pytest.raises(UsageError, match=wrong):
            check_measurement(*args)  # type: ignore[arg-type]


def _record(tmp_path: Path) -> Path:
    table = tmp_path / "REQUIREMENTS.md"
    table.write_text(TABLE)
    target = {"port": "/dev/pts/3", "worker": None, "in_process_emulator": False}
    identity = {**target, "model": "drg-4x4", "serial": "SN42", "firmware": "1.2.3"}
    builder = RecordBuilder(["hil_tests"])
    stop = check_measurement("stop_ms", 4, "ms", (None, 50)).as_dict()
    props: list[tuple[str, object]] = [
        (PROP_REQUIREMENTS, ["SAF-003"]), (PROP_TABLE, str(table)), (PROP_TARGET, target),
    ]  # fmt: skip
    builder.add("t.py::test_a", "setup", "passed", user_properties=props)
    builder.add("t.py::test_a", "call", "passed", user_properties=[*props, (PROP_MEASUREMENT, stop)], duration_s=0.2)
    builder.add("t.py::test_a", "teardown", "passed",
                user_properties=[*props, (PROP_MEASUREMENT, stop), (PROP_TARGET, identity)])  # fmt: skip
    ramp = [(PROP_REQUIREMENTS, ["OUT-001"]), (PROP_TABLE, str(table)), (PROP_TARGET, target)]
    builder.add("t.py::test_up", "setup", "skipped", user_properties=ramp, message="needs the in-process emulator")
    builder.add("t.py::test_b", "setup", "passed", user_properties=props)
    builder.add("t.py::test_b", "call", "failed", user_properties=props, message="assert 1 == 2")
    builder.add("t.py::test_untraced", "call", "passed", user_properties=[(PROP_REQUIREMENTS, [])])
    path = tmp_path / "record.json"
    path.write_text(json.dumps(builder.build()))
    return path


def test_the_record_judges_each_requirement_by_its_tests(tmp_path: Path) -> None:
    record = load_record(_record(tmp_path))
    verdicts = {r["id"]: r["verdict"] for r in record["requirements"]}
    assert verdicts == {"SAF-003": "failed", "OUT-001": "skipped", "WDG-001": "untested"}
    assert record["targets"] == [
        {"port": "/dev/pts/3", "worker": None, "in_process_emulator": False, "model": "drg-4x4", "serial": "SN42",
         "firmware": "1.2.3"}
    ]  # fmt: skip
    assert record["untraced_tests"] == ["t.py::test_untraced"]
    assert record["summary"] == {"passed": 2, "failed": 1, "skipped": 1}


def test_the_traceability_table_lists_requirements_tests_outcomes_and_measurements(tmp_path: Path) -> None:
    text = render_traceability(load_record(_record(tmp_path)))
    lines = [line.rstrip() for line in text.splitlines()]
    assert "  drg-4x4, serial SN42, firmware 1.2.3 (/dev/pts/3)" in lines
    saf = lines.index(next(line for line in lines if line.startswith("SAF-003")))
    assert lines[saf].split()[:2] == ["SAF-003", "FAILED"]
    assert lines[saf + 1].strip() == "hazard: output that cannot be stopped"
    assert lines[saf + 2].split() == ["PASS", "t.py::test_a"]
    assert lines[saf + 3].strip() == "stop_ms = 4 ms (limit <= 50 ms: pass)"
    assert lines[saf + 4].split() == ["FAIL", "t.py::test_b"]
    assert any(line.startswith("WDG-001") and "UNTESTED" in line for line in lines)
    assert "(no test in this run names it)" in text
    assert lines[-1].strip() == "t.py::test_untraced"


def test_scsctl_hil_report_prints_the_table_or_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _record(tmp_path)
    assert scsctl_main(["hil-report", str(path)]) == 0
    assert "SAF-003  FAILED" in capsys.readouterr().out
    assert scsctl_main(["hil-report", str(path), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["id"], r["verdict"]) for r in rows] == [("SAF-003", "failed"), ("OUT-001", "skipped"),
                                                        ("WDG-001", "untested")]  # fmt: skip


def test_a_file_that_is_not_a_record_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "other.json"
    other.write_text('{"tests": []}')
    assert scsctl_main(["hil-report", str(other)]) == 2
    assert "is not a test record written by pytest --scs-record" in capsys.readouterr().err
    assert scsctl_main(["hil-report", str(tmp_path / "missing.json")]) == 2
    assert "cannot read the test record" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe", "not UTF-8 text"),
        (b'{"format":"scsctl-hil-record","format_version":1,"targets":5}', "'targets' must be a list, not int"),
        (
            b'{"format":"scsctl-hil-record","format_version":1,"requirements":[{"id":"SAF-1","verdict":"passed",'
            b'"tests":"x","measurements":[]}]}',
            "'requirements[0].tests' is missing or not a list",
        ),
    ],
)
def test_a_damaged_record_is_named_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, message: str
) -> None:
    path = tmp_path / "record.json"
    path.write_bytes(content)
    assert scsctl_main(["hil-report", str(path)]) == 2
    assert message in capsys.readouterr().err

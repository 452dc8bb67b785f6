"""The JSON test record ``--scs-record FILE`` writes: who was tested, what ran, what was measured.

Built from the test reports the controlling process receives (with pytest-xdist, from every
worker), so nothing here runs on a worker. Layout (``format_version`` 1)::

    {
      "format": "scsctl-hil-record", "format_version": 1, "scsctl_version": "0.1.0",
      "started_utc": "...", "finished_utc": "...", "duration_s": 12.5, "command": [...],
      "targets": [{"port": "emu://", "worker": "gw0", "in_process_emulator": true,
                   "model": "tonic-burst-16", "model_id": 20737, "serial": "...", "firmware": "1.0.0", ...}],
      "requirement_tables": ["/path/hil_tests/REQUIREMENTS.md"],
      "requirements": [{"id": "SAF-003", "requirement": "...", "hazard": "...", "verdict": "passed",
                        "tests": [{"nodeid": "...", "outcome": "passed", "port": "emu://", "worker": "gw0"}],
                        "measurements": [...], ...}],
      "tests": [{"nodeid": "...", "outcome": "passed", "duration_s": 0.4, "requirements": ["SAF-003"],
                 "target": {...}, "message": "", "measurements": [{"name": "stop_confirmed_ms",
                 "value": 3.1, "units": "ms", "low": null, "high": 100, "outcome": "pass"}]}],
      "untraced_tests": [...], "summary": {"passed": 40, "skipped": 5, ...}
    }

Outcomes: passed, failed, error (setup or teardown failed), skipped, xfailed, xpassed. A
requirement's verdict: ``failed`` if any of its tests failed or errored, else ``passed`` if one
passed, else ``skipped`` if all were skipped, else ``untested`` (no test names it).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import UsageError
from .requirements import Requirement, read_table

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "PROP_MEASUREMENT",
    "PROP_REQUIREMENTS",
    "PROP_TABLE",
    "PROP_TARGET",
    "PROP_WORKER",
    "RecordBuilder",
    "as_json",
    "from_json",
    "write_record",
]

FORMAT = "scsctl-hil-record"
FORMAT_VERSION = 1

def as_json(value: object) -> str:
    """A user property's value as JSON: junitxml writes properties as text, and a rig's tools read it."""
    return json.dumps(value, sort_keys=True, default=str)


def from_json(value: object) -> object:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


# Keys of the (name, value) pairs a test's report carries in ``user_properties``.
PROP_REQUIREMENTS = "scs_requirements"
PROP_TABLE = "scs_requirement_table"
PROP_MEASUREMENT = "scs_measurement"
PROP_TARGET = "scs_target"
PROP_WORKER = "scs_worker"
_JSON_PROPS = frozenset({PROP_REQUIREMENTS, PROP_MEASUREMENT, PROP_TARGET})
"""Properties whose values are JSON text (see ``as_json``)."""

_FAILING = ("failed", "error", "xpassed")


@dataclass
class _Phase:
    outcome: str
    message: str
    duration_s: float
    wasxfail: bool


@dataclass
class _Test:
    nodeid: str
    worker: str | None
    requirements: list[str] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
    target: dict[str, Any] = field(default_factory=dict)
    measurements: list[dict[str, Any]] = field(default_factory=list)
    phases: dict[str, _Phase] = field(default_factory=dict)

    def outcome(self) -> tuple[str, str]:
        setup, call, teardown = (self.phases.get(w) for w in ("setup", "call", "teardown"))
        outcome, message = "unknown", ""
        if setup is not None and setup.outcome == "failed":
            outcome, message = "error", setup.message
        elif setup is not None and setup.outcome == "skipped":
            outcome, message = ("xfailed" if setup.wasxfail else "skipped"), setup.message
        elif call is not None:
            message = call.message
            if call.outcome == "failed":
                outcome = "failed"
            elif call.outcome == "skipped":
                outcome = "xfailed" if call.wasxfail else "skipped"
            else:
                outcome = "xpassed" if call.wasxfail else "passed"
        if teardown is not None and teardown.outcome == "failed":
            if outcome not in ("failed", "error"):
                outcome, message = "error", teardown.message
            else:
                message = f"{message}; teardown: {teardown.message}" if message else teardown.message
        return outcome, message

    def as_dict(self) -> dict[str, Any]:
        outcome, message = self.outcome()
        return {
            "nodeid": self.nodeid,
            "outcome": outcome,
            "duration_s": round(sum(p.duration_s for p in self.phases.values()), 6),
            "requirements": list(self.requirements),
            "target": dict(self.target),
            "message": message,
            "measurements": list(self.measurements),
        }


class RecordBuilder:
    """Collects report phases as they arrive and builds the record at the end of the run."""

    def __init__(self, command: Sequence[str] = (), *, extra_tables: Iterable[Path] = ()) -> None:
        self.started = datetime.now(UTC)
        self.command = list(command)
        self.extra_tables = [str(p) for p in extra_tables]
        self._tests: dict[tuple[str, str | None], _Test] = {}

    def add(
        self,
        nodeid: str,
        when: str,
        outcome: str,
        *,
        user_properties: Iterable[tuple[str, object]],
        duration_s: float = 0.0,
        message: str = "",
        wasxfail: bool = False,
    ) -> None:
        """One phase (setup, call, teardown) of one test, with its report's user properties."""
        props = list(user_properties)
        worker = next((str(v) for k, v in props if k == PROP_WORKER), None)
        test = self._tests.setdefault((nodeid, worker), _Test(nodeid, worker))
        test.phases[when] = _Phase(outcome, message, duration_s, wasxfail)
        measurements: list[dict[str, Any]] = []
        for key, raw in props:
            value = from_json(raw) if key in _JSON_PROPS else raw
            if key == PROP_REQUIREMENTS and isinstance(value, list | tuple):
                test.requirements = [str(v) for v in value]
            elif key == PROP_TABLE and isinstance(value, str) and value not in test.tables:
                test.tables.append(value)
            elif key == PROP_TARGET and isinstance(value, dict):
                test.target.update(value)
            elif key == PROP_MEASUREMENT and isinstance(value, dict):
                measurements.append(dict(value))
        if measurements:
            # Each report carries every measurement made so far: the latest one has them all.
            test.measurements = measurements

    def build(self) -> dict[str, Any]:
        finished = datetime.now(UTC)
        tests = [t.as_dict() for t in self._tests.values()]
        tables = sorted({*self.extra_tables, *(p for t in self._tests.values() for p in t.tables)})
        catalogue: dict[str, Requirement] = {}
        problems: list[str] = []
        for path in tables:
            try:
                for req_id, req in read_table(path).items():
                    catalogue.setdefault(req_id, req)
            except UsageError as err:
                problems.append(str(err))
        summary: dict[str, int] = {}
        for t in tests:
            summary[t["outcome"]] = summary.get(t["outcome"], 0) + 1
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "scsctl_version": __version__,
            "started_utc": self.started.isoformat(),
            "finished_utc": finished.isoformat(),
            "duration_s": round((finished - self.started).total_seconds(), 3),
            "command": self.command,
            "targets": _targets(self._tests.values()),
            "requirement_tables": tables,
            "requirement_table_problems": problems,
            "requirements": _requirements(catalogue, tests),
            "tests": tests,
            "untraced_tests": [t["nodeid"] for t in tests if not t["requirements"]],
            "summary": summary,
        }


def _targets(tests: Iterable[_Test]) -> list[dict[str, Any]]:
    seen: dict[tuple[object, object], dict[str, Any]] = {}
    for t in tests:
        if t.target:
            key = (t.target.get("worker"), t.target.get("port"))
            seen.setdefault(key, {}).update(t.target)
    return [seen[k] for k in sorted(seen, key=lambda k: (str(k[0]), str(k[1])))]


def _verdict(outcomes: list[str]) -> str:
    if not outcomes:
        return "untested"
    if any(o in _FAILING for o in outcomes):
        return "failed"
    if "passed" in outcomes:
        return "passed"
    return "skipped"


def _requirements(catalogue: dict[str, Requirement], tests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ids = list(catalogue)
    ids += sorted({r for t in tests for r in t["requirements"]} - set(catalogue))
    out: list[dict[str, Any]] = []
    for req_id in ids:
        req = catalogue.get(req_id)
        runs = [t for t in tests if req_id in t["requirements"]]
        entry: dict[str, Any] = (
            req.as_dict() if req else {"id": req_id, "requirement": "", "hazard": "", "not_in_table": True}
        )
        entry["verdict"] = _verdict([t["outcome"] for t in runs])
        entry["tests"] = [
            {
                "nodeid": t["nodeid"],
                "outcome": t["outcome"],
                "port": t["target"].get("port"),
                "worker": t["target"].get("worker"),
                "serial": t["target"].get("serial"),
            }
            for t in runs
        ]
        entry["measurements"] = [{"nodeid": t["nodeid"], **meas} for t in runs for meas in t["measurements"]]
        out.append(entry)
    return out


def write_record(path: str | Path, record: dict[str, Any]) -> Path:
    """Write ``record`` as JSON, atomically (a reader never sees half a file)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=target.name + ".", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(record, f, indent=2, default=str)
            f.write("\n")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target

"""Print the traceability table of a test record: requirement -> tests -> outcomes, with measurements.

::

    python -m scsctl.pytest_plugin.report hil-record.json
    scsctl hil-report hil-record.json [--json] [--no-measurements]

Reads the JSON written by ``pytest --scs-record FILE``; needs neither pytest nor a device.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import ScsError, UsageError
from .measure import Measurement
from .record import FORMAT, FORMAT_VERSION

__all__ = ["load_record", "main", "render_traceability", "traceability"]

_WRAP = 110
_MARK = {
    "passed": "PASS", "failed": "FAIL", "error": "ERROR", "skipped": "skip", "xfailed": "xfail", "xpassed": "XPASS",
}  # fmt: skip


def load_record(path: str | Path) -> dict[str, Any]:
    """The record in ``path``; ``UsageError`` says why a file is not one."""
    p = Path(path)
    try:
        data = json.loads(sys.stdin.read() if str(path) == "-" else p.read_text(encoding="utf-8"))
    except OSError as err:
        raise UsageError(f"cannot read the test record {p}: {err.strerror or err}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{p} is not a test record: not UTF-8 text") from None
    except json.JSONDecodeError as err:
        raise UsageError(f"{p} is not a test record: not JSON ({err.msg} at line {err.lineno})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise UsageError(f"{p} is not a test record written by pytest --scs-record (no format {FORMAT!r})")
    if data.get("format_version") != FORMAT_VERSION:
        raise UsageError(
            f"{p} is a test record of format version {data.get('format_version')}; "
            f"this scsctl reads version {FORMAT_VERSION}"
        )
    _check_shape(p, data)
    return data


# Each list the report reads, with the keys every entry must have (and their types).
_SHAPE: dict[str, dict[str, type | tuple[type, ...]]] = {
    "targets": {},
    "requirements": {"id": str, "verdict": str, "tests": list, "measurements": list},
    "untraced_tests": {},
}


def _check_shape(p: Path, data: dict[str, Any]) -> None:
    """A damaged record is named as such, field by field, instead of failing half-way through."""
    for field, keys in _SHAPE.items():
        entries = data.get(field, [])
        if not isinstance(entries, list):
            raise UsageError(f"{p}: '{field}' must be a list, not {type(entries).__name__}")
        for i, entry in enumerate(entries):
            if field == "untraced_tests":
                if not isinstance(entry, str):
                    raise UsageError(f"{p}: '{field}[{i}]' must be a test name")
                continue
            if not isinstance(entry, dict):
                raise UsageError(f"{p}: '{field}[{i}]' must be an object, not {type(entry).__name__}")
            for key, kind in keys.items():
                if not isinstance(entry.get(key), kind):
                    raise UsageError(f"{p}: '{field}[{i}].{key}' is missing or not a {getattr(kind, '__name__', kind)}")
            for j, test in enumerate(entry.get("tests", [])):
                if not (isinstance(test, dict) and isinstance(test.get("nodeid"), str)):
                    raise UsageError(f"{p}: '{field}[{i}].tests[{j}]' must be an object with a nodeid")
            for j, meas in enumerate(entry.get("measurements", [])):
                if not (isinstance(meas, dict) and isinstance(meas.get("nodeid"), str)):
                    raise UsageError(f"{p}: '{field}[{i}].measurements[{j}]' must be an object with a nodeid")
    if not isinstance(data.get("summary", {}), dict):
        raise UsageError(f"{p}: 'summary' must be an object")


def traceability(record: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per requirement: id, verdict, hazard and its tests with their outcomes."""
    return [
        {
            "id": r["id"],
            "verdict": r["verdict"],
            "requirement": r.get("requirement", ""),
            "hazard": r.get("hazard", ""),
            "tests": r.get("tests", []),
            "measurements": r.get("measurements", []),
        }
        for r in record.get("requirements", [])
    ]


def _target_line(t: dict[str, Any]) -> str:
    who = t.get("model") or (f"model 0x{t['model_id']:04X}" if "model_id" in t else "unknown model")
    parts = [str(who)]
    if t.get("serial"):
        parts.append(f"serial {t['serial']}")
    if t.get("firmware"):
        parts.append(f"firmware {t['firmware']}")
    where = t.get("port", "?")
    if t.get("in_process_emulator"):
        where += ", in-process emulator"
    if t.get("worker"):
        where += f", worker {t['worker']}"
    return f"  {', '.join(parts)} ({where})"


def render_traceability(record: dict[str, Any], *, measurements: bool = True) -> str:
    """The table as text, for a terminal or a report appendix."""
    lines = [
        f"HIL test record, scsctl {record.get('scsctl_version', '?')}, "
        f"{record.get('started_utc', '?')} ({record.get('duration_s', '?')} s)",
        "targets:",
    ]
    lines += [_target_line(t) for t in record.get("targets", [])] or ["  (none connected)"]
    summary = record.get("summary", {})
    lines.append("tests: " + (", ".join(f"{n} {k}" for k, n in sorted(summary.items())) or "none"))
    lines.append("")
    rows = traceability(record)
    width = max((len(r["id"]) for r in rows), default=2)
    indent = " " * (width + 12)
    for row in rows:
        verdict = row["verdict"].upper() if row["verdict"] in ("failed", "untested") else row["verdict"]
        head = f"{row['id']:<{width}}  {verdict:<8}  "
        lines += textwrap.wrap(row["requirement"] or "-", _WRAP, initial_indent=head, subsequent_indent=indent)
        if row["hazard"]:
            lines += textwrap.wrap(f"hazard: {row['hazard']}", _WRAP, initial_indent=indent, subsequent_indent=indent)
        by_test: dict[str, list[Measurement]] = {}
        for meas in row["measurements"]:
            by_test.setdefault(meas["nodeid"], []).append(Measurement.from_dict(meas))
        for test in row["tests"]:
            where = f" [{test['worker'] or test['port']}]" if test.get("worker") else ""
            lines.append(f"{'':<{width}}    {_MARK.get(test['outcome'], test['outcome']):<5} {test['nodeid']}{where}")
            if measurements:
                lines += [f"{'':<{width}}          {m}" for m in by_test.pop(test["nodeid"], [])]
        if not row["tests"]:
            lines.append(f"{'':<{width}}    (no test in this run names it)")
    untraced = record.get("untraced_tests", [])
    if untraced:
        lines += ["", "tests that name no requirement:"] + [f"  {n}" for n in untraced]
    problems = record.get("requirement_table_problems", [])
    if problems:
        lines += ["", "requirement table problems:"] + [f"  {p}" for p in problems]
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "record", metavar="FILE", help="a record written by pytest --scs-record FILE (- for standard input)"
    )
    parser.add_argument("--json", action="store_true", help="print the table as JSON")
    parser.add_argument("--no-measurements", action="store_true", help="leave the measurements out")


def run(args: argparse.Namespace) -> int:
    record = load_record(args.record)
    if args.json:
        json.dump(traceability(record), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(render_traceability(record, measurements=not args.no_measurements))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scsctl.pytest_plugin.report",
        description="Print the traceability table (requirement -> tests -> outcomes) of a HIL test record.",
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except ScsError as err:
        print(f"scsctl: error: {err}", file=sys.stderr)
        return err.exit_code


if __name__ == "__main__":
    sys.exit(main())

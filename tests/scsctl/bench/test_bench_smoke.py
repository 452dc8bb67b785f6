"""``scsctl bench --quick --peers --json`` runs end to end and reports every figure with its baseline.

The one slow test of this folder (40 s or more: it starts emulators in other processes, one serving
sixty-four devices for the scaling figure, and pymodbus's server for the peer figures), so it is
one test: under pytest-xdist a module fixture would run once per worker. It asserts what the
report contains, never how fast anything was: times belong to the
benchmark's output, not to a test.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from scsctl.bench.suite import FIGURE_NAMES

TARGETED = {
    "rtt_ratio",
    "stop_latency_us",
    "stop_at_line_rate_us",
    "peer_rtt_ratio",
    "plugin_load_ms",
    "rfc2217_ratio",
    "watchdog_error_ms",
    "codec_us",
    "audit_ms",
    "scaling",
    "soak",
    "cli_info_s",
    "tui_ready_s",
    "tui_key_to_wire_ms",
}


def problems_of(name: str, figure: dict[str, Any]) -> list[str]:
    """What is wrong with one figure of the report (nothing about its numbers)."""
    if figure["error"] is not None:
        return [f"{name}: the measurement broke: {figure['error']}"]
    if figure["not_measured"] is not None:  # the TUI may be missing: said so, never a made-up number
        return [] if figure["value"] is None and figure["met"] is None else [f"{name}: unmeasured with a value"]
    out = []
    if figure["value"] is None:
        out.append(f"{name}: no value")
    if name == "raw_echo_rtt_us":
        if figure["baseline"] is not None or "rtt_us" not in figure["detail"]["baseline_for"]:
            out.append(f"{name}: the floor should name what it is the baseline for")
    elif not figure["baseline"]:
        out.append(f"{name}: no baseline")
    if name in TARGETED:
        if not figure["target"]:
            out.append(f"{name}: no target")
        if not isinstance(figure["met"], bool):
            out.append(f"{name}: met is {figure['met']!r}, not true or false")
        elif (figure["met"] is False) != bool(figure["misses"]):
            out.append(f"{name}: met={figure['met']} but misses={figure['misses']}")
    return out


def test_the_quick_run_reports_every_figure_with_its_baseline_and_a_verdict() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "scsctl.cli.main", "bench", "--quick", "--peers", "--json"],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:] + result.stdout[-3000:]
    report: dict[str, Any] = json.loads(result.stdout)
    assert report["mode"] == "quick"
    assert list(report["figures"]) == list(FIGURE_NAMES)
    problems = [p for name in FIGURE_NAMES for p in problems_of(name, report["figures"][name])]
    assert problems == []
    assert report["summary"]["errors"] == []
    # The line-rate STOP figure states the frame time it is judged against.
    line_rate = report["figures"]["stop_at_line_rate_us"]["baseline"]
    assert line_rate["baud"] == 115_200 and line_rate["longest_frame_bytes"] > 0
    # Sixty-four devices, from one emulator process.
    assert list(report["figures"]["scaling"]["value"]) == ["1", "16", "64"]
    # The CLI must not import the TUI (the import profile of `scsctl info` says what it imported).
    profile = report["figures"]["cli_info_s"]["detail"]["import_profile"]
    assert profile["modules"] > 0
    assert profile["tui_imported"] == []

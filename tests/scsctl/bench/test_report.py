"""The benchmark's bookkeeping: summaries, targets met or missed, the JSON and the table."""

from __future__ import annotations

import json
import queue

import pytest

from scsctl.bench.monitored_emulator import OutputWatch, ReportingMonitor
from scsctl.bench.report import Figure, Limit, Report
from scsctl.bench.stats import Summary, percentile
from scsctl.bench.suite import FAMILIES, FIGURE_NAMES, select_families
from scsctl.emulator.output_monitor import Output, off_output
from scsctl.errors import ScsError, UsageError


def test_percentiles_are_values_that_were_measured() -> None:
    samples = [float(n) for n in range(1, 101)]
    assert percentile(samples, 99) == 99.0
    assert percentile([5.0], 99) == 5.0
    summary = Summary.of([3.0, 1.0, 2.0, 100.0])
    assert summary.median == 2.5
    assert summary.p99 == 100.0
    assert summary.scaled(1000).as_dict() == {"median": 2500.0, "p99": 100000.0, "n": 4}


def figure(value: object, *limits: Limit) -> Figure:
    return Figure("stop_latency_us", value, "text", {"idle_link": {"median": 1}}, "base", limits=limits)


def test_a_figure_within_every_target_is_met() -> None:
    f = figure({"median": 400, "p99": 1500}, Limit("median", 500, "us"), Limit("p99", 2000, "us"))
    assert f.met is True
    assert f.result == "met"
    assert f.misses == []


def test_a_missed_target_says_which_by_how_much() -> None:
    f = figure({"median": 600, "p99": 1500}, Limit("median", 500, "us"), Limit("p99", 2000, "us"))
    assert f.met is False
    assert f.result == "MISSED"
    assert f.misses == ["median <= 500 us: measured 600 (20 % over)"]


def test_nested_targets_and_bare_values() -> None:
    scaling = Figure("scaling", {"16": {"p99_ms": 6.0}}, "", {}, "", limits=(Limit("16.p99_ms", 5, "ms"),))
    ratio = Figure("rtt_ratio", 2.5, "", {}, "", limits=(Limit("", 3.0, ""),))
    assert scaling.met is False
    assert ratio.met is True
    assert ratio.as_dict()["target"] == ["rtt_ratio <= 3"]


def test_unmeasured_and_broken_figures_carry_no_number_and_no_verdict() -> None:
    gone = Figure.unmeasured("tui_ready_s", "not measured: TUI not available", (Limit("median", 1.5, "s"),))
    broken = Figure.failed("codec_us", "ValueError: boom")
    assert gone.met is None and gone.value is None and gone.result == "not measured"
    assert broken.met is None and broken.result == "ERROR"
    report = Report("quick", "2026-01-01T00:00:00+00:00", {"cpus": 2}, [gone, broken])
    data = json.loads(report.to_json())
    assert data["summary"] == {"met": [], "missed": [], "not_measured": ["tui_ready_s"], "errors": ["codec_us"]}
    assert data["figures"]["tui_ready_s"]["not_measured"] == "not measured: TUI not available"
    assert "not measured: TUI not available" in report.table()


def test_the_table_names_each_figure_with_its_baseline_and_result() -> None:
    f = figure({"median": 600, "p99": 1500}, Limit("median", 500, "us"))
    table = Report("default", "t", {"cpus": 2}, [f]).table()
    header, _rule, row, *rest = table.splitlines()
    assert header.split()[:2] == ["figure", "measured"]
    assert row.startswith("stop_latency_us") and row.endswith("MISSED")
    assert "stop_latency_us: median <= 500 us: measured 600 (20 % over)" in rest


def test_figures_can_be_chosen_by_family_or_by_figure_name() -> None:
    assert select_families([]) == list(FAMILIES)
    assert select_families(["rtt_ratio", "codec"]) == ["codec", "rtt"]
    with pytest.raises(UsageError, match="no such figure"):
        select_families(["speed"])
    assert len(set(FIGURE_NAMES)) == len(FIGURE_NAMES) == 20


def test_the_monitor_reports_only_changes_between_off_and_on() -> None:
    changes: queue.SimpleQueue[tuple[bool, float, float]] = queue.SimpleQueue()
    monitor = ReportingMonitor(2, 0.0, changes)
    on = Output(500, (-500, 500), 300, 500)
    monitor.record(1.0, on)
    monitor.record(2.0, Output(400, (-400, 400), 300, 500))  # still on: not a change
    monitor.record(3.0, off_output(2))
    reported = [changes.get_nowait() for _ in range(changes.qsize())]
    assert [(is_on, device_s) for is_on, _, device_s in reported] == [(True, 1.0), (False, 3.0)]
    assert monitor.amplitude_at(2.5) == 400  # still an ordinary output monitor


def test_the_host_reads_the_change_it_waits_for() -> None:
    lines: queue.Queue[str] = queue.Queue()
    for line in ("on 10.5 10.4\n", "off 11.25 11.2\n"):
        lines.put(line)
    watch = OutputWatch(lines)
    off = watch.next(False, 1.0)
    assert (off.on, off.at_s, off.device_s) == (False, 11.25, 11.2)
    lines.put("")  # the emulator exited
    with pytest.raises(ScsError, match="exited"):
        watch.next(True, 1.0)


def test_the_smoke_checks_catch_a_broken_or_incomplete_figure() -> None:
    from .test_bench_smoke import problems_of

    good = {"value": 1.0, "baseline": {"x": 1}, "target": ["x"], "met": True, "misses": [], "detail": {},
            "error": None, "not_measured": None}  # fmt: skip
    assert problems_of("rtt_ratio", good) == []
    assert problems_of("rtt_ratio", {**good, "error": "boom"}) == ["rtt_ratio: the measurement broke: boom"]
    assert problems_of("rtt_ratio", {**good, "baseline": None}) == ["rtt_ratio: no baseline"]
    assert problems_of("rtt_ratio", {**good, "met": None}) == ["rtt_ratio: met is None, not true or false"]
    unmeasured = {**good, "value": None, "met": None, "not_measured": "not measured: TUI not available"}
    assert problems_of("tui_ready_s", unmeasured) == []

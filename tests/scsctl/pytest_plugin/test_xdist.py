"""Several targets at once: with pytest-xdist each worker tests the device it was given."""

from __future__ import annotations

import json

import pytest

from scsctl.errors import UsageError
from scsctl.pytest_plugin.options import Settings, check_workers, port_for_worker

pytest_plugins = ["pytester"]

# Plugins the runs below do without: they only slow down starting three processes.
LEAN = ("-p", "no:cacheprovider", "-p", "no:textual-snapshot", "-p", "no:hypothesispytest", "-p", "no:syrupy")


def _settings(*ports: str) -> Settings:
    return Settings(ports=ports, ports_from="--scs-port", profile=None, record=None, requirements=None, data_dir=None)


def test_each_worker_takes_its_own_port() -> None:
    settings = _settings("/dev/pts/3", "/dev/pts/4")
    assert [port_for_worker(settings, w, 2) for w in ("gw0", "gw1")] == ["/dev/pts/3", "/dev/pts/4"]
    assert port_for_worker(settings, None, 1) == "/dev/pts/3"  # without xdist: the first


def test_emulator_urls_are_shared_by_more_workers_than_urls() -> None:
    settings = _settings("emu://", "emu://drg-4x4")
    assert [port_for_worker(settings, f"gw{i}", 4) for i in range(4)] == ["emu://", "emu://drg-4x4"] * 2


def test_a_real_port_never_serves_two_workers() -> None:
    settings = _settings("/dev/pts/3")
    with pytest.raises(UsageError, match=r"2 test workers but 1 target.*A real port serves one worker: give -n 1"):
        check_workers(settings, 2)
    check_workers(settings, 1)


def test_two_emulators_in_parallel_each_worker_records_its_own_target(pytester: pytest.Pytester) -> None:
    (pytester.path / "REQUIREMENTS.md").write_text("| id | requirement | hazard | tests |\n|---|---|---|---|\n"
                                                   "| SAF-001 | stop | no stop | |\n")  # fmt: skip
    pytester.makepyfile(
        test_x="""
        import pytest

        @pytest.mark.scs_requirement("SAF-001")
        @pytest.mark.parametrize("n", range(3))
        def test_stop(scs_device, scs_measure, n):
            scs_device.stop()
            scs_measure("contacts", scs_device.identity.contacts, units="contacts", limit=(16, 16))
        """
    )
    record = pytester.path / "record.json"
    result = pytester.runpytest_subprocess(
        *LEAN, "-n", "2", "--dist", "each",
        "--scs-port", "emu://", "--scs-port", "emu://drg-4x4", "--scs-record", str(record),
    )  # fmt: skip
    result.assert_outcomes(passed=6)
    data = json.loads(record.read_text())
    assert {(t["worker"], t["model"]) for t in data["targets"]} == {("gw0", "tonic-burst-16"), ("gw1", "drg-4x4")}
    runs = [(t["target"]["worker"], t["outcome"]) for t in data["tests"]]
    assert sorted(runs) == [("gw0", "passed")] * 3 + [("gw1", "passed")] * 3
    (saf,) = data["requirements"]
    assert saf["verdict"] == "passed" and len(saf["tests"]) == 6 and len(saf["measurements"]) == 6


def test_more_workers_than_real_ports_stops_before_any_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x(scs_device):\n    pass\n")
    result = pytester.runpytest_subprocess(*LEAN, "-n", "2", "--scs-port", "/dev/pts/999")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*2 test workers but 1 target(s) from --scs-port (/dev/pts/999)*"])

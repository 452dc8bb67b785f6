"""The plugin as a rig's test project sees it: options, fixtures, markers, skips and errors.

Each test writes a small test project with ``pytester`` and runs pytest on it in this process; the
plugin is loaded the way a rig gets it, through the ``pytest11`` entry point.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

TABLE = """\
| id | requirement | hazard it controls | tests |
|---|---|---|---|
| SAF-001 | stop works | stimulation that cannot be stopped | `test_x.py::test_stop` |
| OUT-001 | ramps | a jolt | |
"""


# Plugins the inner runs do without: pytest-textual-snapshot keeps a process-wide folder that an
# inner session would delete; hypothesis's would import (and assert-rewrite) hypothesis each time.
QUIET = ("-p", "no:textual-snapshot", "-p", "no:hypothesispytest", "-p", "no:cacheprovider")


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest(*QUIET, *args)


def policy_conftest(pytester: pytest.Pytester, *, grant: bool) -> None:
    """A rig's conftest.py passing its own policy through the API: granting the OS user running
    the tests the engineer role, or granting it to nobody (whatever the machine's site policy says)."""
    users = "OsUser.current().name, " if grant else ""
    pytester.makeconftest(
        f"""
        import pytest
        from scsctl.trust import OsUser, Policy

        @pytest.fixture(scope="session")
        def scs_policy():
            return Policy.granting({users}source="the rig's conftest.py")
        """
    )


@pytest.fixture(autouse=True)
def _no_outer_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The outer environment must not choose the inner runs' target."""
    for name in ("SCSCTL_HIL_PORT", "SCSCTL_HIL_PROFILE", "SCSCTL_HIL_RECORD", "SCSCTL_PORT", "SCSCTL_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)


def test_options_and_markers_are_offered(pytester: pytest.Pytester) -> None:
    helptext = run(pytester, "--help").stdout.str()
    for option in ("--scs-port=URL", "--scs-profile=NAME", "--scs-record=FILE", "--scs-requirements=FILE"):
        assert option in helptext
    markers = run(pytester, "--markers").stdout.str()
    for marker in ("scs_requirement(*ids)", "scs_emulator_only", "scs_hardware_only", "scs_slow"):
        assert f"@pytest.mark.{marker}" in markers


def test_the_default_target_is_the_in_process_emulator(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from firmware_protocol.constants import State

        def test_device(scs_device, scs_target):
            assert scs_target.url == "emu://" and scs_target.in_process
            assert scs_device.identity.profile == "tonic-burst-16"
            assert scs_device.guard.role.value == "technician"
            assert scs_device.status().state in (State.IDLE, State.PROGRAMMED)

        def test_engineer_session(scs_connect):
            assert scs_connect(role="engineer").guard.role.value == "engineer"
        """
    )
    policy_conftest(pytester, grant=True)
    result = run(pytester)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["scsctl target: emu:// (the in-process emulator, from default)"])


def test_the_engineer_role_is_the_policys_to_grant(pytester: pytest.Pytester, tmp_path: Path) -> None:
    pytester.makepyfile(
        """
        import pytest
        from scsctl.errors import RoleNotGranted

        def test_engineer_session_refused(scs_connect, scs_target):
            assert scs_target.role == "technician"
            with pytest.raises(RoleNotGranted, match="not granted to the OS user"):
                scs_connect(role="engineer")

        def test_raw(scs_raw):
            raise AssertionError("a run the policy does not grant the engineer role gets no raw frames")
        """
    )
    policy_conftest(pytester, grant=False)
    result = run(pytester, "--scs-data-dir", str(tmp_path), "--scs-role", "engineer", "-rs")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*need the engineer role; --scs-role asks for the engineer role, but the engineer "
                                 "role is not granted to the OS user*the rig's conftest.py*"])
    from scsctl.audit import AuditLog

    refusals = [r for r in AuditLog.in_dir(tmp_path).query() if r.kind == "refusal"]
    assert [(r.name, r.detail["role_requested"], r.role) for r in refusals] == [("connect", "engineer", "technician")]


def test_the_port_comes_from_the_option_then_the_environment_then_the_ini(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeini("[pytest]\nscs_port = emu://hf10k-16\n")
    pytester.makepyfile("def test_port(scs_target):\n    print('PORT', scs_target.url)\n")
    assert "PORT emu://hf10k-16" in run(pytester, "-s").stdout.str()
    monkeypatch.setenv("SCSCTL_PORT", "emu://drg-4x4")  # the CLI's variable: not the test target
    assert "PORT emu://hf10k-16" in run(pytester, "-s").stdout.str()
    monkeypatch.setenv("SCSCTL_HIL_PORT", "emu://drg-4x4")
    assert "PORT emu://drg-4x4" in run(pytester, "-s").stdout.str()
    out = run(pytester, "-s", "--scs-port", "emu://tonic-burst-16").stdout.str()
    assert "PORT emu://tonic-burst-16" in out
    assert "from --scs-port" in out


def test_emulator_needs_skip_on_a_port_naming_the_option(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.scs_emulator_only
        def test_marked(scs_device):
            raise AssertionError("never runs on a port")

        def test_handle(scs_emulator):
            raise AssertionError("never runs on a port")
        """
    )
    result = run(pytester, "--scs-port", "/dev/pts/999", "-rs")
    result.assert_outcomes(skipped=2)
    result.stdout.fnmatch_lines(
        ["*needs the in-process emulator (--scs-port emu://...); the target is /dev/pts/999*"] * 2
    )


def test_hardware_only_skips_on_the_emulator(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("import pytest\n\n@pytest.mark.scs_hardware_only\ndef test_real(scs_device):\n    pass\n")
    result = run(pytester, "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*needs a device on a port (--scs-port PORT)*emu://*"])


def test_the_emulator_handle_is_a_new_device_for_each_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from scsctl.emulator import BatteryLevel

        def test_breaks_it(scs_emulator, scs_device):
            scs_emulator.inject(BatteryLevel(1.0))  # end of service: never clears

        def test_shared_device_is_intact(scs_device):
            assert not scs_device.status().fault_flags

        def test_new_device_is_intact(scs_emulator, scs_device):
            assert not scs_device.status().fault_flags
        """
    )
    run(pytester).assert_outcomes(passed=3)


def test_unknown_requirement_ids_are_errors_naming_the_table(pytester: pytest.Pytester) -> None:
    (pytester.path / "REQUIREMENTS.md").write_text(TABLE)
    pytester.makepyfile(
        test_x="""
        import pytest

        @pytest.mark.scs_requirement("SAF-001")
        def test_stop():
            pass

        @pytest.mark.scs_requirement("SAF-999")
        def test_unknown():
            pass

        @pytest.mark.scs_requirement("stop")
        def test_malformed():
            pass
        """
    )
    result = run(pytester)
    result.assert_outcomes(passed=1, errors=2)
    out = result.stdout.str()
    assert "requirement(s) SAF-999 are not in" in out and "REQUIREMENTS.md (it lists SAF-001, OUT-001)" in out
    assert "requirement id 'stop' is not of the form ABC-123" in out


def test_requirement_ids_without_a_table_are_errors(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("import pytest\n\n@pytest.mark.scs_requirement('SAF-001')\ndef test_x():\n    pass\n")
    result = run(pytester)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*cannot be traced: no REQUIREMENTS.md*--scs-requirements*"])


def test_measure_records_the_value_then_asserts_its_limit(pytester: pytest.Pytester) -> None:
    (pytester.path / "REQUIREMENTS.md").write_text(TABLE)
    pytester.makepyfile(
        test_x="""
        import pytest

        @pytest.mark.scs_requirement("SAF-001")
        def test_stop(scs_measure):
            assert scs_measure("stop_ms", 3.5, units="ms", limit=(None, 50)) == 3.5

        @pytest.mark.scs_requirement("SAF-001")
        def test_slow_stop(scs_measure):
            scs_measure("stop_ms", 75, units="ms", limit=(None, 50))
            raise AssertionError("not reached: the limit failed the test")

        def test_bad_limit(scs_measure):
            scs_measure("stop_ms", 1, units="ms", limit=(50, 10))
        """
    )
    record = pytester.path / "out" / "record.json"
    result = run(pytester, "--scs-record", str(record))
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*measurement out of limits: stop_ms = 75 ms (limit <= 50 ms: FAIL)*",
            "*limit (50, 10) has its low end above its high end*",
            f"scsctl: test record written to {record}*",
        ]
    )
    data = json.loads(record.read_text())
    tests = {t["nodeid"].split("::")[1]: t for t in data["tests"]}
    assert tests["test_stop"]["measurements"] == [
        {"name": "stop_ms", "value": 3.5, "units": "ms", "low": None, "high": 50, "outcome": "pass", "description": ""}
    ]
    assert tests["test_slow_stop"]["outcome"] == "failed"
    assert tests["test_slow_stop"]["measurements"][0]["outcome"] == "fail"
    (saf,) = [r for r in data["requirements"] if r["id"] == "SAF-001"]
    assert saf["verdict"] == "failed"
    assert [m["value"] for m in saf["measurements"]] == [3.5, 75]
    (out,) = [r for r in data["requirements"] if r["id"] == "OUT-001"]
    assert (out["verdict"], out["tests"]) == ("untested", [])
    assert data["untraced_tests"] == ["test_x.py::test_bad_limit"]


def test_the_record_names_the_target_and_each_outcome(pytester: pytest.Pytester) -> None:
    (pytester.path / "REQUIREMENTS.md").write_text(TABLE)
    pytester.makepyfile(
        test_x="""
        import pytest

        @pytest.mark.scs_requirement("SAF-001")
        def test_stop(scs_device):
            scs_device.stop()

        @pytest.mark.scs_requirement("OUT-001")
        @pytest.mark.scs_hardware_only
        def test_ramp(scs_device):
            pass
        """
    )
    record = pytester.path / "record.json"
    run(pytester, "--scs-record", str(record), "--scs-port", "emu://drg-4x4").assert_outcomes(passed=1, skipped=1)
    data = json.loads(record.read_text())
    assert data["format"] == "scsctl-hil-record" and data["format_version"] == 1
    (target,) = data["targets"]
    assert target["port"] == "emu://drg-4x4" and target["in_process_emulator"] is True
    assert target["model"] == "drg-4x4" and target["serial"].startswith("EMU5102") and target["firmware"] == "1.0.0"
    verdicts = {r["id"]: r["verdict"] for r in data["requirements"]}
    assert verdicts == {"SAF-001": "passed", "OUT-001": "skipped"}
    (ramp,) = [t for t in data["tests"] if t["nodeid"].endswith("test_ramp")]
    assert ramp["outcome"] == "skipped" and "needs a device on a port" in ramp["message"]
    assert data["summary"] == {"passed": 1, "skipped": 1}


def test_a_test_that_leaves_stimulation_on_is_stopped_afterwards(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import dataclasses
        from firmware_protocol import messages as m
        from firmware_protocol.constants import State
        from scsctl.parsing import electrodes

        def test_leaves_it_on(scs_device):
            p = m.Program(slot=0, amplitude_ua=0, pulse_width_us=200, rate_dhz=500, contacts=electrodes("1+ 2-", 16),
                          patient_max_ua=1000)
            scs_device.write_program(p)
            scs_device.write_program(dataclasses.replace(p, amplitude_ua=500))
            scs_device.measure_impedance()
            scs_device.start(0)
            assert scs_device.status().state in (State.RAMPING_UP, State.STIMULATING)

        def test_next_test_finds_it_off(scs_device):
            status = scs_device.status()
            assert (status.state, status.amplitude_ua) == (State.PROGRAMMED, 0)
        """
    )
    run(pytester, "-p", "no:randomly").assert_outcomes(passed=2)


def test_the_raw_sender_is_audited_as_bypassing_the_guard(pytester: pytest.Pytester, tmp_path: Path) -> None:
    pytester.makepyfile(
        """
        from firmware_protocol import messages as m

        def test_raw(scs_raw):
            assert scs_raw.audit.role == "engineer"
            assert isinstance(scs_raw.request(m.GetStatus()), m.Status)
        """
    )
    policy_conftest(pytester, grant=True)
    run(pytester, "--scs-data-dir", str(tmp_path), "--scs-role", "engineer").assert_outcomes(passed=1)
    from scsctl.audit import AuditLog

    records = [r for r in AuditLog.in_dir(tmp_path).query() if r.name == "RAW_FRAME"]
    commands = [r.detail for r in records if r.kind == "command"]
    replies = [r.detail for r in records if r.kind == "reply"]
    # HELLO from the fixture and the test's GET_STATUS went raw; the STOP every test ends with goes
    # the controller's stop-first way, which needs no raw sender.
    assert [c["type"] for c in commands] == ["HELLO", "GET_STATUS"]
    assert all(c["guard"] == "bypassed" for c in commands)
    assert [r["reply"] for r in replies] == ["IDENTIFY", "STATUS"]
    assert all(r.role == "engineer" for r in records)
    assert [r.name for r in AuditLog.in_dir(tmp_path).query() if r.kind == "command"][-1] == "STOP"


def test_a_bad_port_list_is_a_usage_error(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCSCTL_HIL_PORT", " ")
    pytester.makepyfile("def test_x(): pass\n")
    result = run(pytester, "--scs-port", "")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--scs-port: an empty port was given*"])


def test_raw_frames_skip_unless_the_operator_is_an_engineer(pytester: pytest.Pytester, tmp_path: Path) -> None:
    pytester.makepyfile(
        """
        def test_raw(scs_raw):
            raise AssertionError("a technician's run must not get a raw frame sender")

        def test_stop_still_works(scs_device):
            scs_device.stop()
        """
    )
    result = run(pytester, "--scs-data-dir", str(tmp_path), "-rs")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*raw frames bypass the host's safety guard*--scs-role engineer*technician*"])


def test_junitxml_properties_are_json(pytester: pytest.Pytester) -> None:
    import xml.etree.ElementTree as ET

    (pytester.path / "REQUIREMENTS.md").write_text(TABLE)
    pytester.makepyfile(
        test_x="""
        import pytest

        @pytest.mark.scs_requirement("SAF-001")
        def test_stop(scs_measure):
            scs_measure("stop_ms", 3.5, units="ms", limit=(None, 50))
        """
    )
    xml = pytester.path / "junit.xml"
    result = run(pytester, f"--junitxml={xml}")
    result.assert_outcomes(passed=1)
    properties = {p.get("name"): p.get("value") for p in ET.parse(xml).iter("property")}
    assert json.loads(properties["scs_requirements"]) == ["SAF-001"]
    measurement = json.loads(properties["scs_measurement"])
    assert measurement["name"] == "stop_ms" and measurement["value"] == 3.5 and measurement["units"] == "ms"


def test_a_rigs_own_table_extends_the_catalogue(pytester: pytest.Pytester) -> None:
    (pytester.path / "REQUIREMENTS.md").write_text(
        "Extends: scsctl.hil_tests\n\n| id | requirement | hazard it controls | tests |\n|---|---|---|---|\n"
        "| RIG-001 | the rig's lead adapter is wired | current through the wrong contact | `test_x.py::test_rig` |\n"
    )
    pytester.makepyfile(
        test_x="""
        import pytest

        @pytest.mark.scs_requirement("SAF-003", "RIG-001")  # one from the catalogue, one of the rig's
        def test_rig():
            pass

        @pytest.mark.scs_requirement("NOPE-001")
        def test_unknown():
            pass
        """
    )
    result = run(pytester)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*requirement(s) NOPE-001 are not in*SAF-003*RIG-001*"])

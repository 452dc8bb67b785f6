"""The pytest hooks and fixtures (loaded through the ``pytest11`` entry point ``scsctl``).

Fixtures: ``scs_target`` (session), ``scs_port`` (session), ``scs_policy`` (session),
``scs_bench``, ``scs_connect``, ``scs_device``, ``scs_raw``, ``scs_emulator``, ``measure``.
Markers: ``scs_requirement(*ids)``, ``scs_emulator_only``, ``scs_hardware_only``, ``scs_slow``. Options: see
``options``. Disable with ``-p no:scsctl``.

The role a run asks for (``--scs-role``) is the rig operator's, and it is granted like any
session's: by the site policy (``scsctl.trust``) for the OS user running pytest. ``scs_policy`` is
that policy; a rig's ``conftest.py`` may override it with a ``Policy`` object of its own (this
repository's ``hil_tests/conftest.py`` grants its own runs on the in-process emulator). An engineer
role the policy does not grant leaves the run a technician's: ``scs_raw`` skips saying why, and
``scs_connect(role="engineer")`` raises ``RoleNotGranted``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ..errors import RoleNotGranted, ScsError, UsageError
from . import options
from .measure import Limit, Measure, check_measurement
from .record import (
    PROP_MEASUREMENT,
    PROP_REQUIREMENTS,
    PROP_TABLE,
    PROP_TARGET,
    PROP_WORKER,
    RecordBuilder,
    as_json,
    write_record,
)
from .requirements import REQUIREMENT_ID, TABLE_NAME, Requirement, find_table, read_table

if TYPE_CHECKING:
    from ..controller import Device, Policy
    from ..emulator import EmulatorRunner
    from .raw import RawSender
    from .target import Bench, Target

MARKERS = (
    "scs_requirement(*ids): the requirement ids (rows of REQUIREMENTS.md) this test verifies",
    "scs_emulator_only: needs the in-process emulator (fault injection, output monitor); skipped on other targets",
    "scs_hardware_only: needs a device on a port; skipped on the in-process emulator",
    "scs_slow: takes seconds of real time (deselect with -m 'not slow')",
)


@dataclass
class _State:
    settings: options.Settings | None
    error: str | None
    worker: str | None
    port: str | None
    tables: dict[Path, Path | None] = field(default_factory=dict)
    parsed: dict[Path, dict[str, Requirement]] = field(default_factory=dict)


_STATE = pytest.StashKey[_State]()
_PROBLEMS = pytest.StashKey[list[str]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    options.add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    for line in MARKERS:
        config.addinivalue_line("markers", line)
    worker = options.worker_id(config)
    try:
        settings = options.resolve(config)
    except UsageError as err:
        raise pytest.UsageError(str(err)) from None
    workers = options.worker_count(config)
    port: str | None = None
    error: str | None = None
    if worker is None:
        try:
            options.check_workers(settings, workers)
        except UsageError as err:
            raise pytest.UsageError(str(err)) from None
    try:
        port = options.port_for_worker(settings, worker, workers)
    except UsageError as err:
        error = str(err)
    config.stash[_STATE] = _State(settings, error, worker, port)
    if settings.record is not None and worker is None and not config.option.collectonly:
        extra = [settings.requirements] if settings.requirements else []
        builder = RecordBuilder(list(config.invocation_params.args), extra_tables=extra)
        config.pluginmanager.register(RecordPlugin(settings.record, builder), "scsctl-record")


def _state(config: pytest.Config) -> _State:
    return config.stash[_STATE]


def pytest_report_header(config: pytest.Config) -> list[str]:
    state = _state(config)
    settings = state.settings
    if settings is None:
        return []
    ports = settings.ports
    if len(ports) == 1:
        kind = "the in-process emulator" if options.is_in_process(ports[0]) else "a device on a port"
        text = f"scsctl target: {ports[0]} ({kind}, from {settings.ports_from})"
    else:
        text = "scsctl targets: " + ", ".join(f"gw{i} {p}" for i, p in enumerate(ports))
        text += f" (from {settings.ports_from})"
    lines = [text, f"scsctl profile: {settings.profile or 'matched from the device model'}"]
    if settings.record:
        lines.append(f"scsctl record: {settings.record}")
    return lines


# --- requirements -------------------------------------------------------------------------------


def _table_for(config: pytest.Config, path: Path) -> Path | None:
    state = _state(config)
    assert state.settings is not None
    if state.settings.requirements is not None:
        return state.settings.requirements
    folder = path.parent
    if folder not in state.tables:
        state.tables[folder] = find_table(folder, config.rootpath)
    return state.tables[folder]


def _read(config: pytest.Config, table: Path) -> dict[str, Requirement]:
    state = _state(config)
    if table not in state.parsed:
        state.parsed[table] = read_table(table)
    return state.parsed[table]


def requirement_ids(item: pytest.Item) -> tuple[list[str], list[str]]:
    """The ids the item's ``scs_requirement`` markers name, and what is wrong with them."""
    ids: list[str] = []
    problems: list[str] = []
    for marker in item.iter_markers("scs_requirement"):
        if not marker.args or marker.kwargs:
            problems.append("@pytest.mark.scs_requirement needs one or more ids, e.g. scs_requirement('SAF-003')")
        for arg in marker.args:
            if not isinstance(arg, str) or not REQUIREMENT_ID.match(arg):
                problems.append(f"requirement id {arg!r} is not of the form ABC-123")
            elif arg not in ids:
                ids.append(arg)
    return sorted(ids), problems


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    state = _state(config)
    # Reports carry what the record needs; without a record only what concerns a test (JUnit XML
    # shows user properties: an unrelated test should not grow any).
    recording = state.settings is not None and state.settings.record is not None
    for item in items:
        ids, problems = requirement_ids(item)
        if recording and state.worker is not None:
            item.user_properties.append((PROP_WORKER, state.worker))
        if recording or ids:
            item.user_properties.append((PROP_REQUIREMENTS, as_json(ids)))
        if ids:
            table = _table_for(config, item.path)
            if table is None:
                problems.append(
                    f"requirement(s) {', '.join(ids)} cannot be traced: no {TABLE_NAME} in {item.path.parent} or "
                    f"above it up to {config.rootpath} (or name one with --scs-requirements)"
                )
            else:
                item.user_properties.append((PROP_TABLE, str(table)))
                try:
                    known = _read(config, table)
                except ScsError as err:
                    problems.append(str(err))
                else:
                    unknown = [i for i in ids if i not in known]
                    if unknown:
                        problems.append(
                            f"requirement(s) {', '.join(unknown)} are not in {table} "
                            f"(it lists {', '.join(known) or 'none'})"
                        )
        item.stash[_PROBLEMS] = problems
        if state.port is None:
            continue
        if "scs_target" in getattr(item, "fixturenames", ()):
            target = {
                "port": state.port,
                "worker": state.worker,
                "in_process_emulator": options.is_in_process(state.port),
            }
            item.user_properties.append((PROP_TARGET, as_json(target)))
        reason = _skip_reason(item, state.port)
        if reason is not None:
            item.add_marker(pytest.mark.skip(reason=reason))  # reported at the test, not in this plugin


def _needs_emulator(port: str) -> str:
    return f"needs the in-process emulator (--scs-port emu://...); the target is {port}"


def _needs_hardware(port: str) -> str:
    return f"needs a device on a port (--scs-port PORT); the target is the in-process emulator {port}"


def _skip_reason(item: pytest.Item, port: str) -> str | None:
    """Why ``item`` cannot run on ``port``, or None."""
    in_process = options.is_in_process(port)
    needs_emulator = item.get_closest_marker("scs_emulator_only") or "scs_emulator" in getattr(item, "fixturenames", ())
    if needs_emulator and not in_process:
        return _needs_emulator(port)
    if item.get_closest_marker("scs_hardware_only") and in_process:
        return _needs_hardware(port)
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    problems = item.stash.get(_PROBLEMS, [])
    if problems:
        pytest.fail("; ".join(problems), pytrace=False)


# --- the record --------------------------------------------------------------------------------


def _message(report: pytest.TestReport) -> str:
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    if report.failed:
        crash = getattr(report.longrepr, "reprcrash", None)
        text = getattr(crash, "message", None) or report.longreprtext
        return str(text).strip()[:2000]
    return ""


class RecordPlugin:
    """Registered on the controlling process when ``--scs-record`` is given: builds and writes it."""

    def __init__(self, path: Path, builder: RecordBuilder) -> None:
        self.path = path
        self.builder = builder
        self.written: Path | None = None
        self.error: str | None = None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.builder.add(
            report.nodeid,
            report.when,
            report.outcome,
            user_properties=report.user_properties,
            duration_s=report.duration,
            message=_message(report),
            wasxfail=hasattr(report, "wasxfail"),
        )

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        try:
            self.written = write_record(self.path, self.builder.build())
        except OSError as err:
            self.error = f"cannot write the test record {self.path}: {err.strerror or err}"
            if session.exitstatus == pytest.ExitCode.OK:
                session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.written is not None:
            terminalreporter.write_line(
                f"scsctl: test record written to {self.written} "
                f"(its traceability table: scsctl hil-report {self.written})"
            )
        if self.error is not None:
            terminalreporter.write_line(f"scsctl: error: {self.error}", red=True)


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def scs_port(request: pytest.FixtureRequest) -> str:
    """The URL of the device this worker tests (``--scs-port``)."""
    state = _state(request.config)
    if state.port is None:
        raise UsageError(state.error or "no scsctl target")
    return state.port


@pytest.fixture(scope="session")
def scs_policy() -> Policy:
    """The site policy that grants (or not) the run's role: ``scsctl.trust.system_policy()``.

    Override it in a ``conftest.py`` to pass a ``Policy`` of the rig's own through the API.
    """
    from ..controller import system_policy

    return system_policy()


@pytest.fixture(scope="session")
def scs_target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, scs_port: str, scs_policy: Policy
) -> Iterator[Target]:
    """The device this worker tests, for the whole session (``--scs-port``)."""
    from ..controller import OsUser

    state = _state(request.config)
    assert state.settings is not None
    data_dir = state.settings.data_dir
    if data_dir is None and options.is_in_process(scs_port):
        data_dir = tmp_path_factory.mktemp("scsctl-audit")
    role, refused = state.settings.role, ""
    try:
        scs_policy.resolve_role(role, OsUser.current())
    except RoleNotGranted as err:
        role, refused = "technician", f"{state.settings.role_from} asks for the engineer role, but {err}"
    # A device on a port: None is scsctl's usual audit log, as for any session with a device.
    from .target import Target

    target = Target(
        scs_port, profile=state.settings.profile, data_dir=data_dir, worker=state.worker,
        role=role, role_from=state.settings.role_from, policy=scs_policy, role_refused=refused,
    )  # fmt: skip
    target.hold_port()  # a second run (or a TUI) on this device is refused, naming this one
    yield target
    target.close()


@pytest.fixture
def scs_bench(request: pytest.FixtureRequest, scs_target: Target) -> Iterator[Bench]:
    """This test's access to the target; stops output and closes every session afterwards."""
    node = request.node
    fresh = "scs_emulator" in request.fixturenames or node.get_closest_marker("scs_emulator_only") is not None
    from .target import Bench

    bench = Bench(scs_target, fresh_emulator=fresh)
    try:
        yield bench
    finally:
        try:
            bench.close()
        finally:
            node.user_properties.append((PROP_TARGET, as_json(scs_target.describe())))


@pytest.fixture
def scs_connect(scs_bench: Bench) -> Callable[..., Device]:
    """``scs_connect(role="technician", *, tethered=False, watchdog_timeout_ms=None, data_dir=None,
    profile=None, capture=None)``: a new controller session (the one open before is closed)."""
    return scs_bench.connect


@pytest.fixture
def scs_device(scs_bench: Bench) -> Device:
    """A controller session in the technician role (the clinical tier), untethered."""
    return scs_bench.connect()


@pytest.fixture
def scs_raw(scs_bench: Bench) -> RawSender:
    """The raw frame sender (engineer role, every frame audited), after a HELLO.

    Skips unless the rig operator's role is engineer: raw frames bypass the host's safety guard.
    """
    target = scs_bench.target
    if target.role_refused:
        pytest.skip(f"raw frames bypass the host's safety guard: they need the engineer role; {target.role_refused}")
    if target.role != "engineer":
        pytest.skip(
            "raw frames bypass the host's safety guard: they need the engineer role "
            f"(--scs-role engineer, scs_role = engineer or ${options.ROLE_ENV}); this run's role is {target.role} "
            f"(from {target.role_from})"
        )
    return scs_bench.raw_hello()


@pytest.fixture
def scs_emulator(scs_bench: Bench) -> EmulatorRunner[Any]:
    """The in-process emulator's runner: ``inject``, ``add_fault``, ``disconnect``, ``power_cycle``,
    ``locked()`` for the output monitor. Factory-new for each test. Skips on any other target."""
    runner = scs_bench.emulator
    if runner is None:
        pytest.skip(_needs_emulator(scs_bench.target.url))
    return runner


@pytest.fixture
def scs_measure(request: pytest.FixtureRequest) -> Measure:
    """``measure(name, value, *, units, limit=(low, high), description="")``: recorded, then asserted."""
    node = request.node

    def record(name: str, value: float, *, units: str, limit: Limit = (None, None), description: str = "") -> float:
        meas = check_measurement(name, value, units, limit, description)
        node.user_properties.append((PROP_MEASUREMENT, as_json(meas.as_dict())))
        if not meas.passed:
            pytest.fail(f"measurement out of limits: {meas}")
        return value

    return record

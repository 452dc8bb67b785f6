"""The plugin's settings: command line first, then the environment, then the ini file, then defaults.

| command line | environment | ini (pytest.ini / pyproject.toml) | default |
|---|---|---|---|
| ``--scs-port URL`` (repeatable) | ``SCSCTL_HIL_PORT`` (URLs separated by spaces) | ``scs_port`` | ``emu://`` |
| ``--scs-profile NAME`` | ``SCSCTL_HIL_PROFILE`` | ``scs_profile`` | matched from the device's model |
| ``--scs-record FILE`` | ``SCSCTL_HIL_RECORD`` | ``scs_record`` | no record |
| ``--scs-requirements FILE`` | | ``scs_requirements`` | nearest ``REQUIREMENTS.md`` |
| ``--scs-data-dir DIR`` | | ``scs_data_dir`` | see below |
| ``--scs-role ROLE`` | ``SCSCTL_HIL_ROLE`` | ``scs_role`` | ``technician`` |

The role is the rig operator's, granted (or not) by the site policy for the OS user running pytest
(the ``scs_policy`` fixture): the raw frame sender (``scs_raw``), which bypasses the host's guard
on purpose, is only for the engineer role, and skips otherwise, saying why.

The variables are not the CLI's ``SCSCTL_PORT``: a port exported for everyday ``scsctl`` commands
must not turn a plain test run into one that rewrites and stimulates that device.

Several ports are for pytest-xdist: worker ``gwN`` takes port N. A real port serves one worker;
``emu://`` URLs may be shared, since each worker then runs its own emulator.

The audit log of the test sessions: ``--scs-data-dir`` if given; else, for a device on a port,
scsctl's usual audit log (``SCSCTL_DATA_DIR`` or the user data folder), as for any session with a
device; for the in-process emulator, a folder of the test run.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest

from ..errors import UsageError

__all__ = [
    "DEFAULT_PORT",
    "Settings",
    "add_options",
    "is_in_process",
    "port_for_worker",
    "resolve",
    "worker_count",
    "worker_id",
]

DEFAULT_PORT = "emu://"
PORT_ENV = "SCSCTL_HIL_PORT"
PROFILE_ENV = "SCSCTL_HIL_PROFILE"
RECORD_ENV = "SCSCTL_HIL_RECORD"
ROLE_ENV = "SCSCTL_HIL_ROLE"
ROLES = ("technician", "engineer")


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("scsctl", "scsctl hardware-in-the-loop targets")
    group.addoption(
        "--scs-port",
        action="append",
        default=None,
        metavar="URL",
        help=f"device to test: serial path, socket://, usb://VID:PID or emu://[MODEL] (default {DEFAULT_PORT}, the "
        f"in-process emulator); repeat with pytest-xdist to give each worker its own target (${PORT_ENV})",
    )
    group.addoption(
        "--scs-profile", default=None, metavar="NAME", help=f"device profile (default: from the model; ${PROFILE_ENV})"
    )
    group.addoption(
        "--scs-record",
        default=None,
        metavar="FILE",
        help=f"write a JSON test record (target, outcomes, requirements, measurements) to FILE (${RECORD_ENV})",
    )
    group.addoption(
        "--scs-requirements",
        default=None,
        metavar="FILE",
        help="requirements table to check requirement ids against (default: the nearest REQUIREMENTS.md)",
    )
    group.addoption(
        "--scs-data-dir",
        default=None,
        metavar="DIR",
        help="folder of the audit log the test sessions write (default: scsctl's usual one for a device on a "
        "port, a folder of this run for the in-process emulator)",
    )
    group.addoption(
        "--scs-role",
        default=None,
        choices=ROLES,
        help=f"the rig operator's role (default technician); raw frames (scs_raw) need engineer (${ROLE_ENV})",
    )
    parser.addini("scs_role", "the rig operator's role, as --scs-role", default="")
    parser.addini("scs_port", "device(s) to test, as --scs-port", type="args", default=[])
    parser.addini("scs_profile", "device profile, as --scs-profile", default="")
    parser.addini("scs_record", "JSON test record file, as --scs-record", default="")
    parser.addini("scs_requirements", "requirements table, as --scs-requirements", default="")
    parser.addini("scs_data_dir", "audit log folder, as --scs-data-dir", default="")


@dataclass(frozen=True, slots=True)
class Settings:
    ports: tuple[str, ...]
    ports_from: str
    """Where the ports came from, for messages: ``--scs-port``, ``$SCSCTL_PORT``, ``scs_port`` or ``default``."""
    profile: str | None
    record: Path | None
    requirements: Path | None
    data_dir: Path | None
    role: str = "technician"
    role_from: str = "default"


def _first(config: pytest.Config, option: str, env: str | None, ini: str) -> tuple[str | None, str]:
    value = config.getoption(option)
    if value:
        return str(value), "--" + option.replace("_", "-")
    if env and os.environ.get(env):
        return os.environ[env], f"${env}"
    ini_value = config.getini(ini)
    if ini_value:
        return str(ini_value), ini
    return None, "default"


def _path(config: pytest.Config, text: str | None, origin: str) -> Path | None:
    if not text:
        return None
    path = Path(text).expanduser()
    if path.is_absolute():
        return path
    # Relative to where pytest was started for options and variables, to the ini file for the ini.
    if origin.startswith("scs_"):
        base = config.inipath.parent if config.inipath is not None else config.rootpath
    else:
        base = config.invocation_params.dir
    return base / path


def resolve(config: pytest.Config) -> Settings:
    cli_ports: list[str] | None = config.getoption("scs_port")
    env_ports = os.environ.get(PORT_ENV, "")
    ini_ports: list[str] = config.getini("scs_port")
    lg_env = config.getoption("lg_env", default=None)  # labgrid's own pytest plugin adds --lg-env
    if cli_ports:
        ports, origin = list(cli_ports), "--scs-port"
    elif lg_env:
        ports, origin = [labgrid_port(str(lg_env))], "--lg-env"
    elif env_ports.strip():
        ports, origin = shlex.split(env_ports), f"${PORT_ENV}"
    elif ini_ports:
        ports, origin = list(ini_ports), "scs_port"
    else:
        ports, origin = [DEFAULT_PORT], "default"
    blank = [p for p in ports if not p.strip()]
    if blank:
        raise UsageError(f"{origin}: an empty port was given; write a URL such as emu:// or /dev/ttyUSB0")
    profile, _ = _first(config, "scs_profile", PROFILE_ENV, "scs_profile")
    record, record_from = _first(config, "scs_record", RECORD_ENV, "scs_record")
    requirements, requirements_from = _first(config, "scs_requirements", None, "scs_requirements")
    data_dir, data_dir_from = _first(config, "scs_data_dir", None, "scs_data_dir")
    role, role_from = _first(config, "scs_role", ROLE_ENV, "scs_role")
    if role is not None and role not in ROLES:
        raise UsageError(f"{role_from}: role {role!r} is neither technician nor engineer")
    return Settings(
        ports=tuple(ports),
        ports_from=origin,
        profile=profile or None,
        record=_path(config, record, record_from),
        requirements=_path(config, requirements, requirements_from),
        data_dir=_path(config, data_dir, data_dir_from),
        role=role or "technician",
        role_from=role_from,
    )


def labgrid_port(env_file: str) -> str:
    """The port of the ``ScsDeviceDriver`` of the labgrid environment's target ``main``.

    The place must be acquired (``labgrid-client -p PLACE acquire``): labgrid refuses a place that
    another user holds, so two runs never share a device.
    """
    try:
        from labgrid import Environment

        from ..labgrid_driver import ScsDeviceDriver
    except ImportError as err:
        raise UsageError(f"--lg-env {env_file}: labgrid is not installed (pip install 'scsctl[labgrid]'): {err}"
                         ) from None  # fmt: skip
    try:
        target = Environment(config_file=env_file).get_target("main")
        if target is None:
            raise UsageError(f"--lg-env {env_file}: the environment has no target 'main'")
        driver = target.get_driver(ScsDeviceDriver)
    except UsageError:
        raise
    except Exception as err:  # labgrid's errors are many and untyped: each is named here
        raise UsageError(f"--lg-env {env_file}: no scsctl device from labgrid: {type(err).__name__}: {err}") from err
    return str(driver.url)


def is_in_process(url: str) -> bool:
    """Whether ``url`` names the in-process emulator (``emu://...``)."""
    scheme, sep, _ = url.partition("://")
    return bool(sep) and scheme.lower() == "emu"


def worker_id(config: pytest.Config) -> str | None:
    """``gw0``, ``gw1``... on a pytest-xdist worker; None otherwise (the controller, or no xdist)."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is None:
        return None
    return str(workerinput["workerid"])


def worker_count(config: pytest.Config) -> int:
    """How many xdist workers this run has (1 without xdist)."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        return int(workerinput.get("workercount", 1))
    tx = getattr(config.option, "tx", None) or []
    dist = getattr(config.option, "dist", "no")
    return len(tx) if tx and dist != "no" else 1


def _worker_index(worker: str | None) -> int:
    if worker is None:
        return 0
    digits = worker.removeprefix("gw")
    return int(digits) if digits.isdigit() else 0


def port_for_worker(settings: Settings, worker: str | None, workers: int) -> str:
    """The one port this worker tests. ``UsageError`` when a real port would serve two workers."""
    ports = settings.ports
    index = _worker_index(worker)
    if index < len(ports):
        return ports[index]
    if all(is_in_process(p) for p in ports):
        return ports[index % len(ports)]  # every worker runs its own emulator: sharing a URL is fine
    raise UsageError(
        f"{workers} test workers but {len(ports)} target(s) from {settings.ports_from} ({' '.join(ports)}): "
        f"worker {worker} has no device of its own. A real port serves one worker: give -n {len(ports)}, "
        "or one --scs-port per worker"
    )


def check_workers(settings: Settings, workers: int) -> None:
    """Fail early, before any worker starts, when real ports are fewer than workers."""
    if workers > len(settings.ports) and not all(is_in_process(p) for p in settings.ports):
        port_for_worker(settings, f"gw{workers - 1}", workers)

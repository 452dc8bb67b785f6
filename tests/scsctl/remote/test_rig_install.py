"""scsctl as a rig installs it, from outside the checkout: the conformance catalogue from a plain
``pip install``, and a rig shared through labgrid (a real coordinator, an exporter serving the
emulator through ser2net, and a client holding the place), all on 127.0.0.1."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ...system_tools import require_program
from .rig_venv import rig_venv


@pytest.fixture(scope="module")
def venv_bin() -> Path:
    return rig_venv()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(
    argv: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True,
                          timeout=timeout)  # fmt: skip


def _summary(done: subprocess.CompletedProcess[str]) -> str:
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-2000:]


def test_the_catalogue_runs_from_a_plain_install_outside_the_checkout(venv_bin: Path, tmp_path: Path) -> None:
    env = {"SCSCTL_DATA_DIR": str(tmp_path / "audit")}
    record_file = tmp_path / "record.json"
    argv = [str(venv_bin / "pytest"), "--pyargs", "scsctl.hil_tests", "-p", "no:cacheprovider", "-q",
            "--scs-port", "emu://", "--scs-record", str(record_file)]  # fmt: skip
    done = _run(argv, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    summary = _summary(done)
    assert " passed" in summary and "failed" not in summary and "error" not in summary, summary
    record = json.loads((tmp_path / "record.json").read_text())
    # Its requirements table came with it: every requirement traced to the tests that ran.
    assert any(r["id"] == "SAF-003" and r["verdict"] == "passed" for r in record["requirements"]), record[
        "requirements"
    ][:3]
    assert all("site-packages" in t for t in record["requirement_tables"]), record["requirement_tables"]


def _which_serial(venv_bin: Path) -> str:
    """Which distribution's ``serial`` package is in effect in the venv (pyserial or pyserial-labgrid)."""
    code = (
        "import hashlib, importlib.metadata as md, pathlib, serial, base64, json\n"
        "f = pathlib.Path(serial.__file__).with_name('rfc2217.py')\n"
        "digest = base64.urlsafe_b64encode(hashlib.sha256(f.read_bytes()).digest()).rstrip(b'=').decode()\n"
        "owners = []\n"
        "for dist in ('pyserial', 'pyserial-labgrid'):\n"
        "    try:\n"
        "        files = md.files(dist) or []\n"
        "    except md.PackageNotFoundError:\n"
        "        continue\n"
        "    if any(str(p).endswith('serial/rfc2217.py') and p.hash and p.hash.value == digest for p in files):\n"
        "        owners.append(dist)\n"
        "print(json.dumps(owners))\n"
    )
    done = subprocess.run([str(venv_bin / "python"), "-c", code], capture_output=True, text=True, check=True)
    owners: list[str] = json.loads(done.stdout)
    assert owners, "the serial package in effect belongs to neither pyserial nor pyserial-labgrid"
    return owners[-1] if len(owners) == 1 else "both (identical files)"


@pytest.fixture
def labgrid_rig(venv_bin: Path, tmp_path: Path) -> Iterator[dict[str, str]]:
    """A coordinator, an exporter serving ``scsctl emulator --pty`` (RawSerialPort: the exporter runs
    ser2net for it) and a place holding its port, acquired by this client."""
    require_program("ser2net")
    procs: list[subprocess.Popen[str]] = []

    def start(*argv: str, log: str) -> subprocess.Popen[str]:
        out = open(tmp_path / log, "w")  # noqa: SIM115 - kept open for the process's life
        proc = subprocess.Popen(list(argv), cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT, text=True)
        procs.append(proc)
        return proc

    try:
        emulator = subprocess.Popen([str(venv_bin / "scsctl"), "emulator", "--pty"], stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)  # fmt: skip
        procs.append(emulator)
        assert emulator.stdout is not None
        pty = emulator.stdout.readline().removeprefix("port: ").strip()
        coordinator = f"127.0.0.1:{_free_port()}"
        start(str(venv_bin / "labgrid-coordinator"), "-l", coordinator, log="coordinator.log")
        (tmp_path / "exporter.yaml").write_text(f"scs-bench:\n  RawSerialPort:\n    port: {pty}\n    speed: 115200\n")
        env = {"LG_COORDINATOR": coordinator}
        client = str(venv_bin / "labgrid-client")
        for _ in range(200):  # until the coordinator listens
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", int(coordinator.rsplit(":", 1)[1]))) == 0:
                    break
            time.sleep(0.05)
        start(str(venv_bin / "labgrid-exporter"), "-c", coordinator, "-n", "scs-exporter", "--hostname", "127.0.0.1",
              "exporter.yaml", log="exporter.log")  # fmt: skip
        for _ in range(200):  # until the exporter's resource is known
            if "scs-bench/NetworkSerialPort" in _run([client, "resources"], tmp_path, env).stdout:
                break
            time.sleep(0.1)
        for argv in (["-p", "scs-rig", "create"], ["-p", "scs-rig", "add-match", "scs-exporter/scs-bench/*"],
                     ["-p", "scs-rig", "acquire"]):  # fmt: skip
            done = _run([client, *argv], tmp_path, env)
            assert done.returncode == 0, (argv, done.stdout, done.stderr, (tmp_path / "exporter.log").read_text())
        (tmp_path / "env.yaml").write_text(
            "targets:\n  main:\n    resources:\n      RemotePlace:\n        name: scs-rig\n"
            "    drivers:\n      ScsDeviceDriver: {}\n"
            f"options:\n  coordinator_address: {coordinator}\nimports:\n  - scsctl.labgrid_driver\n"
        )
        yield {"coordinator": coordinator, "client": client, "env": str(tmp_path / "env.yaml")}
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_a_rig_shared_through_labgrid_runs_the_catalogue_on_its_acquired_place(
    venv_bin: Path, labgrid_rig: dict[str, str], tmp_path: Path, record_property: pytest.RecordProperty
) -> None:
    serial_package = _which_serial(venv_bin)
    record_property("serial_package", serial_package)  # which `serial` this rig runs on
    # labgrid's own fork, as labgrid intends (rig_venv puts it in effect); this suite's own
    # environment runs on pyserial: both are exercised.
    assert serial_package == "pyserial-labgrid"
    env = {"LG_COORDINATOR": labgrid_rig["coordinator"], "SCSCTL_DATA_DIR": str(tmp_path / "audit")}
    done = _run([str(venv_bin / "pytest"), "--pyargs", "scsctl.hil_tests", "-p", "no:cacheprovider",
                 "-k", "round_trips or test_stop", "--lg-env", labgrid_rig["env"]], cwd=tmp_path, env=env)  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "scsctl target: rfc2217://127.0.0.1:" in done.stdout  # the port came from labgrid
    assert "from --lg-env" in done.stdout
    summary = _summary(done)
    assert " passed" in summary and "failed" not in summary and "error" not in summary, summary
    # The place is this client's: another user's run cannot take it, so it never shares the device.
    other = _run([labgrid_rig["client"], "-p", "scs-rig", "acquire"], tmp_path,
                 {"LG_COORDINATOR": labgrid_rig["coordinator"], "LG_USERNAME": "other-rig"})  # fmt: skip
    assert other.returncode != 0
    assert "already acquired" in (other.stdout + other.stderr)
    refused = _run([str(venv_bin / "pytest"), "--pyargs", "scsctl.hil_tests", "-p", "no:cacheprovider", "-q",
                    "-k", "round_trips", "--lg-env", labgrid_rig["env"]], cwd=tmp_path,
                   env={**env, "LG_USERNAME": "other-rig"})  # fmt: skip
    assert refused.returncode != 0
    assert "not acquired by your user" in (refused.stdout + refused.stderr)


def test_the_serial_package_of_this_environment_is_named(record_property: pytest.RecordProperty) -> None:
    """This suite's own environment runs on pyserial; the labgrid rig above on whichever it installed."""
    found = []
    for dist in ("pyserial", "pyserial-labgrid"):
        try:
            found.append(f"{dist} {importlib.metadata.version(dist)}")
        except importlib.metadata.PackageNotFoundError:
            continue
    record_property("serial_packages", ", ".join(found))
    assert found
    import serial

    assert hashlib.sha256(Path(serial.__file__).read_bytes()).hexdigest()

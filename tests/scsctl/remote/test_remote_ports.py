"""Devices behind serial servers, and every pyserial URL wrapper: what a rig author types works.

pyserial's RFC 2217 server and ser2net (raw TCP and telnet with RFC 2217) each stand in front of
``scsctl emulator --pty``; ``scsctl info`` and part of the HIL catalogue run through each of them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import serial.tools.list_ports
from serial.tools.list_ports_common import ListPortInfo

import scsctl
from firmware_protocol.constants import State
from scsctl.errors import PortNotFound
from scsctl.transports import open_transport

ROOT = Path(__file__).resolve().parents[3]


def scsctl_cli(*argv: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "scsctl.cli.main", *argv, "--data-dir", str(data_dir)],
                          capture_output=True, text=True, timeout=60)  # fmt: skip


def catalogue(url: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    """Part of the HIL catalogue against ``url``, as a rig runs it."""
    env = {**os.environ, "SCSCTL_DATA_DIR": str(data_dir)}
    tests = ["hil_tests/test_round_trips.py", "hil_tests/test_stop.py"]
    argv = [sys.executable, "-m", "pytest", *tests, "--scs-port", url, "-p", "no:cacheprovider", "-p", "no:xdist", "-q"]
    return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def assert_catalogue_passes(url: str, data_dir: Path) -> None:
    done = catalogue(url, data_dir)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    summary = done.stdout.strip().splitlines()[-1]
    assert " passed" in summary and " failed" not in summary and " error" not in summary, summary


@pytest.mark.parametrize("kind", ["pyserial", "ser2net-rfc2217", "ser2net-raw"])
def test_info_and_the_catalogue_pass_through_a_serial_server(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    if kind == "pyserial":
        url: str = request.getfixturevalue("rfc2217_server")
    else:
        url = request.getfixturevalue("ser2net")["rfc2217" if kind.endswith("rfc2217") else "raw"]
    done = scsctl_cli("info", "--port", url, data_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "tonic-burst-16" in done.stdout
    assert_catalogue_passes(url, tmp_path)


def test_spy_records_the_traffic_it_carries(pty_emulator: str, tmp_path: Path) -> None:
    log = tmp_path / "spy.txt"
    with scsctl.connect(f"spy://{pty_emulator}?file={log}", data_dir=tmp_path) as dev:
        assert dev.status().state in State
    text = log.read_text(encoding="utf-8", errors="replace")
    assert "TX" in text and "RX" in text  # pyserial's spy saw both directions


def test_alt_opens_the_port_with_another_pyserial_class(pty_emulator: str, tmp_path: Path) -> None:
    with scsctl.connect(f"alt://{pty_emulator}?class=PosixPollSerial", data_dir=tmp_path) as dev:
        assert dev.identity.profile == "tonic-burst-16"


def test_hwgrep_finds_the_port_by_its_description(
    pty_emulator: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = ListPortInfo(pty_emulator)
    info.description = "scsctl emulated trial stimulator"
    info.hwid = "EMU"
    monkeypatch.setattr(serial.tools.list_ports, "comports", lambda include_links=False: [info])
    with scsctl.connect("hwgrep://emulated trial", data_dir=tmp_path) as dev:
        assert dev.identity.serial.startswith("EMU")
    with pytest.raises(PortNotFound, match="hwgrep://no-such-adapter"):
        scsctl.connect("hwgrep://no-such-adapter", data_dir=tmp_path)


def test_loop_echoes_and_honours_read_timeouts() -> None:
    with open_transport("loop://") as t:
        t.write(b"\xa5\xc3hello")
        got = b""
        while len(got) < 7:
            got += t.read(64, 1.0)
        assert got == b"\xa5\xc3hello"
        assert t.read(64, 0.05) == b""  # nothing more: the timeout ends the read
        assert t.read(64, 0) == b""


def test_a_second_client_of_ser2net_is_told_the_port_is_in_use(ser2net: dict[str, str], tmp_path: Path) -> None:
    with scsctl.connect(ser2net["raw"], data_dir=tmp_path) as first:  # the bench's session holds the device
        elsewhere = {**os.environ, "SCSCTL_RUNTIME_DIR": tempfile.mkdtemp(prefix="scs-other-")}  # another host
        for url, said in ((ser2net["raw"], "Port already in use"), (ser2net["rfc2217"], "another client may hold")):
            argv = [sys.executable, "-m", "scsctl.cli.main", "status", "--port", url, "--data-dir", str(tmp_path)]
            done = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=elsewhere)
            assert done.returncode == 5, done.stderr
            assert said in done.stderr
            assert "Traceback" not in done.stderr  # pyserial's own threads stay quiet
        assert first.status().state in State  # the first session went on


def test_a_spy_file_that_cannot_be_written_is_a_usage_error(pty_emulator: str, tmp_path: Path) -> None:
    done = scsctl_cli("status", "--port", f"spy://{pty_emulator}?file={tmp_path}", data_dir=tmp_path)  # a folder
    assert done.returncode == 2
    assert f"spy://{pty_emulator}" in done.stderr and "Is a directory" in done.stderr


def test_an_rfc2217_url_to_a_server_that_never_negotiates_names_both_likely_reasons() -> None:
    import socket
    import threading

    from scsctl.errors import TransportError
    from scsctl.transports import transport_for_url

    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True).start()
    url = f"rfc2217://127.0.0.1:{listener.getsockname()[1]}"
    try:
        with pytest.raises(TransportError) as err:
            transport_for_url(url).open()  # a raw TCP port, or ser2net turning a second client away
    finally:
        for conn in accepted:
            conn.close()
        listener.close()
    assert f"{url}: the serial server did not take up RFC 2217" in str(err.value)
    assert "another client may hold the port" in str(err.value) and "socket://" in str(err.value)

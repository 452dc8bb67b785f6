"""``scsctl emulator --pty --count N``: one process serving N independent devices, each on its own pty."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from firmware_protocol.constants import OUTPUT_STATES
from scsctl.bench.stop import prepare
from scsctl.controller import Device, connect
from scsctl.emulator import EmulatorServer, make_emulator

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")

COUNT = 3


@pytest.fixture(scope="module")
def ports() -> Iterator[list[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "scsctl.cli.main", "emulator", "--pty", "--count", str(COUNT)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    try:
        lines = [proc.stdout.readline() for _ in range(COUNT)]
        assert all(line.startswith("port: ") for line in lines), lines
        yield [line.removeprefix("port: ").strip() for line in lines]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_each_port_is_its_own_device_with_its_own_serial(ports: list[str], tmp_path: Path) -> None:
    assert len(set(ports)) == COUNT
    serials = []
    for i, port in enumerate(ports):
        with connect(port, data_dir=tmp_path / str(i), operator="test") as device:
            serials.append(device.identity.serial)
    assert len(set(serials)) == COUNT
    assert all(serial.startswith("EMU") for serial in serials)


def test_a_stop_on_one_port_leaves_the_others_running(ports: list[str], tmp_path: Path) -> None:
    devices: list[Device] = [connect(port, data_dir=tmp_path / str(i), operator="test") for i, port in enumerate(ports)]
    try:
        for device in devices:
            prepare(device)  # a program in slot 0, selected, stopped
            device.start()
        assert [d.status().state in OUTPUT_STATES for d in devices] == [True] * COUNT
        devices[1].stop()
        assert [d.status().state in OUTPUT_STATES for d in devices] == [True, False, True]
    finally:
        for device in devices:
            device.stop()
            device.close()


def test_the_devices_of_one_server_share_one_io_thread() -> None:
    server = EmulatorServer()
    for seed in range(4):
        server.add_pty(make_emulator(seed=seed))
    try:
        server.start()
        io_threads = [t for t in threading.enumerate() if t.name == "emulator-io"]
        assert len(io_threads) == 1
        assert {endpoint._loop for endpoint in server.endpoints} == {server.loop}
    finally:
        server.stop()
    assert not [t for t in threading.enumerate() if t.name == "emulator-io" and t.is_alive()]

"""Counters a bench engineer reads: the host's link counters, and the device's own after a bad line."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import scsctl
from firmware_protocol import Decoder, Frame, encode
from firmware_protocol import messages as m
from scsctl.cli.main import main
from scsctl.link import read_capture
from scsctl.transports.emulated import EmulatedTransport

NOISE = bytes(1000)


@pytest.fixture
def emulator() -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``scsctl emulator --pty`` in a process of this test's own (its stderr is read at the end)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "scsctl", "emulator", "--pty"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert first.startswith("port: "), first
    yield first.removeprefix("port: ").strip(), proc
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=10)


def _put_on_the_line(path: str, data: bytes) -> None:
    """Bytes on the device's receive line, as a noisy cable or another program would put them."""
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def _damaged_frame() -> bytes:
    frame = encode(m.GetStatus(), 0x40)
    return frame[:-1] + bytes([frame[-1] ^ 0x01])


def test_after_noise_the_device_counters_are_read_from_the_host_and_the_emulator_prints_them(
    emulator: tuple[str, subprocess.Popen[str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port, proc = emulator
    _put_on_the_line(port, NOISE + _damaged_frame())
    code = main(["status", "--json", "--port", port, "--data-dir", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 0, err
    status = json.loads(out)
    link = status["link"]
    assert {"requests", "retries", "timeouts", "invalid_frames", "discarded_bytes", "stray_replies"} <= set(link)
    assert link["requests"] >= 2 and link["timeouts"] == 0  # HELLO and GET_STATUS at least, all answered
    device = status["device_counters"]
    assert device["invalid_frames"] == 1  # the damaged frame
    assert device["bad_crc_naks"] == 1
    assert device["discarded_bytes"] >= len(NOISE)

    assert main(["status", "--port", port, "--data-dir", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "device line  since power-on: received" in text
    assert "1 invalid frame," in text
    assert "link         this session:" in text

    proc.terminate()
    _, emulator_err = proc.communicate(timeout=10)
    assert proc.returncode == 0, emulator_err
    assert f"scsctl emulator: {port}: since power-on received" in emulator_err
    assert "1 invalid frame" in emulator_err
    assert "(1 BAD_CRC: damaged on the way" in emulator_err


def test_a_device_without_counters_is_not_asked(tmp_path: Path) -> None:
    transport = EmulatedTransport("emu://")
    with transport.emulator.locked() as fw:
        fw.model = dataclasses.replace(fw.model, counters=False)
    with scsctl.connect("emu://", data_dir=tmp_path, transport=transport, capture=tmp_path / "wire.jsonl") as dev:
        assert "counters" not in dev.identity.capabilities
        assert dev.counters() is None
        assert dev.link.stats.as_dict()["timeouts"] == 0
    sent = b"".join(r.data for r in read_capture(tmp_path / "wire.jsonl") if r.direction == "tx")
    types = [i.message.TYPE for i in Decoder().feed(sent) if isinstance(i, Frame)]
    assert m.GetCounters.TYPE not in types

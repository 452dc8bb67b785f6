"""Sessions that share a device: STOP from a second terminal, STOP after a link loss once the port
is back, and sessions that never loosen another's tethering."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from firmware_protocol import Decoder, Frame
from firmware_protocol import messages as m
from firmware_protocol.constants import OUTPUT_STATES, HeartbeatFlags, State, StatusFlags
from scsctl import Device
from scsctl.emulator.runner import EmulatorRunner
from scsctl.errors import SafetyRefusal
from scsctl.link import LinkStatus
from scsctl.link.capture import read_capture
from scsctl.pytest_plugin import Bench, RawSender

from .support import install, program, raw_ok, raw_status, ready_to_start, small_amplitude_ua, wait_state

TETHERED = StatusFlags.SESSION_OPEN | StatusFlags.STOP_ON_LINK_LOSS


def _stimulating(dev: Device) -> None:
    install(dev, program(dev, 0, amplitude_ua=small_amplitude_ua(dev)))
    ready_to_start(dev)
    dev.start(0)
    wait_state(dev, State.STIMULATING)


@pytest.mark.scs_requirement("SES-001")
def test_stop_from_a_second_terminal_reaches_a_tethered_session(
    scs_bench: Bench, scs_connect: Callable[..., Device]
) -> None:
    if scs_bench.emulator is not None:
        pytest.skip(
            "a second terminal needs a device behind a port another process can open "
            "(--scs-port /dev/... or socket://...): the in-process emulator is this process's alone"
        )
    dev = scs_connect(tethered=True)
    _stimulating(dev)
    argv = [sys.executable, "-m", "scsctl.cli.main", "stop", "--port", scs_bench.target.url]
    if scs_bench.target.data_dir is not None:
        argv += ["--data-dir", str(scs_bench.target.data_dir)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "through the session that holds the port" in done.stdout
    assert dev.status().state not in OUTPUT_STATES
    assert dev.link.status is LinkStatus.UP  # the holder's session went on undisturbed


@pytest.mark.scs_emulator_only
@pytest.mark.scs_requirement("SES-002")
def test_stop_after_a_link_loss_once_the_port_is_back(
    scs_connect: Callable[..., Device], scs_emulator: EmulatorRunner[Any]
) -> None:
    dev = scs_connect()  # untethered: the device keeps stimulating through the loss
    _stimulating(dev)
    scs_emulator.disconnect(down_s=0.3)
    deadline = time.monotonic() + 3
    while dev.link.status is not LinkStatus.LOST:
        assert time.monotonic() < deadline, "the link loss was not noticed"
        time.sleep(0.01)
    with scs_emulator.locked() as fw:
        assert fw.output_ua > 0
    dev.stop()  # the port comes back within STOP's deadline: it is reopened and STOP goes first
    with scs_emulator.locked() as fw:
        assert fw.output_ua == 0
        assert fw.state not in OUTPUT_STATES


@pytest.mark.scs_requirement("SES-003")
def test_a_session_that_commands_no_stimulation_leaves_the_watchdog_as_it_found_it(
    scs_raw: RawSender, scs_connect: Callable[..., Device], tmp_path: Path
) -> None:
    raw_ok(scs_raw, m.Heartbeat(5000, HeartbeatFlags.STOP_ON_LOSS))  # another host's tethered session
    assert raw_status(scs_raw).status_flags & TETHERED == TETHERED
    capture = tmp_path / "read-only.jsonl"
    dev = scs_connect("technician", capture=capture)  # takes the port from the raw sender
    dev.status()
    dev.programs()
    dev.close()
    sent = _sent(capture)
    assert sent and not [msg for msg in sent if isinstance(msg, m.Heartbeat)], sent
    after = scs_connect("technician")
    assert after.status().status_flags & TETHERED == TETHERED  # still tethered, as it was found
    scs_raw.open()  # takes the port back from that session
    raw_ok(scs_raw, m.Heartbeat(0))  # the "other host" disarms, so no expiry reaches the next test


@pytest.mark.scs_requirement("SES-004")
def test_a_technician_cannot_loosen_a_tethered_session(scs_connect: Callable[..., Device]) -> None:
    dev = scs_connect("technician", tethered=True)
    _stimulating(dev)
    with pytest.raises(SafetyRefusal, match="only the engineer role"):
        dev.request(m.Heartbeat(0))
    with pytest.raises(SafetyRefusal, match="only the engineer role"):
        dev.link.start_heartbeat(1000, stop_on_loss=False)
    assert dev.status().status_flags & TETHERED == TETHERED
    refusals = [r for r in dev.audit.query() if r.kind == "refusal" and r.name == "HEARTBEAT"]
    assert len(refusals) == 2


def _sent(capture: Path) -> list[m.Message]:
    decoder = Decoder()
    frames = [
        item for record in read_capture(capture) if record.direction == "tx" for item in decoder.feed(record.data)
    ]
    return [f.message for f in frames if isinstance(f, Frame)]

"""The device side of the TUI without Textual: coalesced statuses, the STOP thread, the watch."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

import scsctl
from firmware_protocol import messages as m
from firmware_protocol.constants import State
from scsctl.controller.mailbox import Latest
from scsctl.controller.stop_line import StopLine, StopResult
from scsctl.controller.watch import DeviceWatch
from scsctl.errors import LinkLost
from scsctl.link.session import LinkStateChange, LinkStatus
from scsctl.transports.emulated import EmulatedTransport


def test_a_newer_value_replaces_one_not_yet_taken() -> None:
    box: Latest[int] = Latest()
    assert box.put(1) is True  # the consumer is told once
    assert box.put(2) is False
    assert box.put(3) is False
    assert box.take() == 3
    assert box.take() is None
    assert box.replaced == 2
    assert box.put(4) is True


class FakeDevice:
    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.stop_threads: list[str] = []
        self.link = SimpleNamespace(status=LinkStatus.UP)

    def stop(self, *, requested_by: object = None) -> None:
        self.stop_threads.append(threading.current_thread().name)
        if self.error is not None:
            raise self.error


def run_stop(device: FakeDevice | None) -> StopResult:
    results: list[StopResult] = []
    done = threading.Event()

    def collect(result: StopResult) -> None:
        results.append(result)
        done.set()

    line = StopLine(collect)
    line.attach(device)  # type: ignore[arg-type]
    line.request()
    assert done.wait(2.0)
    line.close()
    return results[0]


def test_stop_goes_out_on_its_own_thread() -> None:
    device = FakeDevice()
    result = run_stop(device)
    assert result.confirmed
    assert device.stop_threads == ["scsctl-tui-stop"]
    assert result.finished_at_s >= result.requested_at_s


def test_a_stop_that_fails_is_reported_in_words() -> None:
    result = run_stop(FakeDevice(LinkLost("STOP was not confirmed within 1000 ms")))
    assert not result.confirmed and "not confirmed" in (result.error or "")
    assert "no device" in (run_stop(None).error or "")


@pytest.fixture
def emu() -> Iterator[EmulatedTransport]:
    transport = EmulatedTransport("emu://")
    yield transport
    transport.close()


def test_the_watch_reads_the_status_and_passes_events_on(emu: EmulatedTransport, tmp_path: Path) -> None:
    device = scsctl.connect("emu://", transport=emu, data_dir=tmp_path)
    got_status = threading.Event()
    events: list[object] = []
    watch = DeviceWatch(
        device, on_status=got_status.set, on_event=events.append, on_error=lambda e: None, interval_s=0.05
    )
    try:
        assert got_status.wait(2.0)
        reading = watch.statuses.take()
        assert reading is not None and reading.begun < reading.ended
        status = reading.status
        assert isinstance(status, m.Status) and status.state in (State.IDLE, State.PROGRAMMED)
        emu.emulator.disconnect()
        for _ in range(200):
            if any(isinstance(e, LinkStateChange) for e in events):
                break
            threading.Event().wait(0.01)
        assert any(isinstance(e, LinkStateChange) and e.status is LinkStatus.LOST for e in events)
    finally:
        watch.close()
        device.close()

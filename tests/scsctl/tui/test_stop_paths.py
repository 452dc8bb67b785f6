"""STOP between connections, statuses that arrive out of order, and a UI thread that never waits.

A review found: F2 sent nothing from pressing ``r`` (or choosing a port) until the new device was on
screen, although the old one, untethered, may still stimulate; a controller call's status, read
before a STOP, was drawn after the STOP had been confirmed; and the status watch joined its thread
and took the controller's event lock on the UI thread.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input

import scsctl
from firmware_protocol import messages as m
from firmware_protocol.constants import OUTPUT_STATES, FaultFlags, State, StatusFlags
from scsctl.audit import AuditLog
from scsctl.controller import Device
from scsctl.controller.mailbox import ReadOrder
from scsctl.controller.stop_line import StopLine, StopResult
from scsctl.controller.target import ConnectTarget
from scsctl.controller.watch import DeviceWatch, StatusFreshness, StatusReading
from scsctl.errors import AuditError
from scsctl.link.session import LinkStatus
from scsctl.transports.base import Transport
from scsctl.transports.emulated import EmulatedTransport
from scsctl.tui.app import ScsApp
from scsctl.tui.screens.connect import ConnectScreen

from .conftest import SIZE, bipolar, connected, fake_ports, prepare, text_of, until

MakeApp = Callable[..., ScsApp]
GUARD_S = 30.0
"""How long a gate or lock in these tests waits before giving up: a hang guard, never a measurement."""


class GatedTransport(Transport):
    """A transport whose ``open`` waits while ``gate`` is shut (a slow port, a slow handshake)."""

    def __init__(self, inner: Transport) -> None:
        super().__init__(inner.url)
        self.inner = inner
        self.gate = threading.Event()
        self.gate.set()
        self.waiting = threading.Event()
        """Set while an ``open`` waits at the shut gate."""

    def open(self) -> None:
        if not self.gate.is_set():
            self.waiting.set()
            assert self.gate.wait(GUARD_S), "the test never opened the gate"
            self.waiting.clear()
        self.inner.open()

    def close(self) -> None:
        self.inner.close()

    def write(self, data: bytes) -> None:
        self.inner.write(data)

    def _recv(self, max_bytes: int, timeout_s: float | None) -> bytes:
        return self.inner.read(max_bytes, timeout_s)

    def cancel_read(self) -> None:
        self.inner.cancel_read()

    @property
    def is_open(self) -> bool:
        return self.inner.is_open


def output_ua(emu: EmulatedTransport) -> int:
    with emu.emulator.locked() as fw:
        return int(fw.output_ua)


def stimulating(emu: EmulatedTransport, data_dir: Path) -> None:
    """Leave the emulated device stimulating at 0.5 mA after a session of its own (untethered)."""
    program = bipolar(amplitude_ua=500)
    with scsctl.connect("emu://", transport=emu, data_dir=data_dir, operator="rig") as device:
        device.write_program(dataclasses.replace(program, amplitude_ua=0))
        device.write_program(program)
        device.measure_impedance()
        device.select(0)
        device.start(0)
    assert output_ua(emu) == 500


def stops_recorded(data_dir: Path) -> list[dict[str, Any]]:
    return [r.detail for r in AuditLog.in_dir(data_dir).query() if r.kind == "command" and r.name == "STOP"]


def new_app(target: ConnectTarget) -> ScsApp:
    return ScsApp(target, show_times=False, port_lister=fake_ports, status_interval_s=1.0)


# --- STOP while no device is connected ------------------------------------------------------------------


async def test_after_a_failed_connect_stop_goes_to_the_device_last_connected(
    make_app: MakeApp, emu: EmulatedTransport, tmp_path: Path
) -> None:
    stimulating(emu, tmp_path)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        assert app.status is not None and app.status.state in OUTPUT_STATES
        await pilot.press("p")
        assert isinstance(app.screen, ConnectScreen)
        app.screen.query_one("#url", Input).value = str(tmp_path / "no-such-port")
        app.screen.query_one("#url", Input).focus()
        await pilot.press("enter")
        await until(pilot, lambda: "Choose another port" in text_of(app, "#connect-status"), "the connect failed")
        assert app.device is None
        assert output_ua(emu) == 500  # the old device, untethered, still stimulates

        await pilot.press("f2")
        await until(pilot, lambda: app.last_stop is not None, "STOP is done")
        assert app.last_stop is not None and app.last_stop.confirmed, app.last_stop
        assert output_ua(emu) == 0
        with emu.emulator.locked() as fw:
            assert fw.state not in OUTPUT_STATES
        assert stops_recorded(tmp_path)[-1]["path"] == "stop first"  # scsctl.stop_now, on the same emulator
        assert app.note is not None and app.note.title.startswith("STOPPED")


async def test_while_another_port_is_being_opened_stop_goes_to_the_old_device_at_once(
    make_app: MakeApp, emu: EmulatedTransport, tmp_path: Path
) -> None:
    stimulating(emu, tmp_path)
    other = GatedTransport(EmulatedTransport("emu://drg-4x4"))
    other.gate.clear()
    app = make_app()
    try:
        async with app.run_test(size=SIZE) as pilot:
            await connected(pilot)
            first = app.device
            app.reconnect(ConnectTarget("emu://drg-4x4", data_dir=tmp_path, operator="tester", transport=other))
            await until(pilot, other.waiting.is_set, "the new port is being opened")

            await pilot.press("f2")
            await until(pilot, lambda: app.last_stop is not None, "STOP is done")
            assert app.last_stop is not None and app.last_stop.confirmed, app.last_stop
            assert output_ua(emu) == 0
            assert other.waiting.is_set()  # all while the other port was still being opened

            other.gate.set()
            await until(pilot, lambda: app.connected.is_set() and app.device is not first, "connected to the other")
            await connected(pilot)
            assert app.device is not None and app.device.identity.profile == "drg-4x4"
    finally:
        other.gate.set()
        other.close()


async def test_reconnecting_to_the_same_port_stop_waits_for_the_handshake_then_goes_first(
    emu: EmulatedTransport, tmp_path: Path
) -> None:
    stimulating(emu, tmp_path)
    gated = GatedTransport(emu)
    app = new_app(ConnectTarget("emu://", data_dir=tmp_path, operator="tester", transport=gated))
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        first = app.device
        gated.gate.clear()
        await pilot.press("r")
        await until(pilot, gated.waiting.is_set, "the port is being opened again")
        await pilot.press("f2")
        await pilot.pause()
        # Two connections on one port would read each other's replies: STOP waits for the open ...
        assert app.last_stop is None

        gated.gate.set()
        await until(pilot, lambda: app.last_stop is not None, "STOP is done")
        assert app.last_stop is not None and app.last_stop.confirmed, app.last_stop
        assert output_ua(emu) == 0
        # ... and then goes first, through the new session (not a connection of its own).
        await until(pilot, lambda: app.connected.is_set() and app.device is not first, "reconnected")
        await connected(pilot)
        assert app.device is not None
        sessions = {r.session for r in AuditLog.in_dir(tmp_path).query() if r.kind == "command" and r.name == "STOP"}
        assert sessions == {app.device.audit.session}


class FakeLink:
    def __init__(self) -> None:
        self.status = LinkStatus.UP


class FakeDevice:
    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.link = FakeLink()
        self.stops = 0

    def stop(self, *, requested_by: object = None) -> None:
        self.stops += 1
        if self.error is not None:
            raise self.error


def one_stop(line: StopLine, results: list[StopResult], done: threading.Event) -> StopResult:
    done.clear()
    line.request()
    assert done.wait(GUARD_S)
    return results[-1]


@pytest.fixture
def line() -> Iterator[tuple[StopLine, list[StopResult], threading.Event]]:
    results: list[StopResult] = []
    done = threading.Event()

    def collect(result: StopResult) -> None:
        results.append(result)
        done.set()

    stop_line = StopLine(collect)
    yield stop_line, results, done
    stop_line.close()


def test_a_closed_device_is_stopped_through_the_fallback(
    line: tuple[StopLine, list[StopResult], threading.Event],
) -> None:
    stop_line, results, done = line
    fallbacks: list[str] = []
    device = FakeDevice()
    stop_line.attach(device, fallback=lambda: fallbacks.append("stop_now"))  # type: ignore[arg-type]
    assert one_stop(stop_line, results, done).confirmed
    assert (device.stops, fallbacks) == (1, [])
    device.link.status = LinkStatus.CLOSED  # a reconnect closed it
    assert one_stop(stop_line, results, done).confirmed
    assert (device.stops, fallbacks) == (1, ["stop_now"])


def test_a_stop_confirmed_but_not_recorded_is_confirmed_and_says_so(
    line: tuple[StopLine, list[StopResult], threading.Event],
) -> None:
    stop_line, results, done = line
    stop_line.attach(FakeDevice(AuditError("audit log locked. STOP was carried out, but it is NOT recorded.")))  # type: ignore[arg-type]
    result = one_stop(stop_line, results, done)
    assert result.confirmed
    assert result.unrecorded is not None and "NOT recorded" in result.unrecorded


# --- statuses out of order -----------------------------------------------------------------------------


def test_a_status_read_surely_before_the_one_drawn_is_not_drawn() -> None:
    order, freshness = ReadOrder(), StatusFreshness()
    status = a_status(State.STIMULATING)

    def read() -> StatusReading:
        begun = order.next()
        return StatusReading(status, begun, order.next())

    call = read()  # a controller call's status, read before ...
    watch = read()  # ... the watch's, which the UI drew first
    assert freshness.take(watch)
    assert not freshness.take(call)
    # Reads that overlap cannot be ordered: the one offered later is drawn.
    begun_a = order.next()
    begun_b = order.next()
    overlapping = StatusReading(status, begun_a, order.next())
    assert freshness.take(StatusReading(status, begun_b, order.next()))
    assert freshness.take(overlapping)


def a_status(state: State) -> m.Status:
    return m.Status(state, 0, 0, 0, 100, 4000, FaultFlags(0), StatusFlags(0), 0)


async def test_a_live_change_answered_before_a_stop_is_not_drawn_after_the_stop(
    make_app: MakeApp, emu: EmulatedTransport, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepare(emu, tmp_path, bipolar(amplitude_ua=500))
    app = make_app()
    answered, release = threading.Event(), threading.Event()
    original = Device.set_amplitude

    def held_back(self: Device, *args: Any, **kwargs: Any) -> Any:
        outcome = original(self, *args, **kwargs)  # its status says: stimulating
        answered.set()
        assert release.wait(GUARD_S)
        return outcome

    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await pilot.press("g", "enter")
        await until(pilot, lambda: app.status is not None and app.status.state == State.STIMULATING, "stimulating")
        await pilot.press("escape")
        drawn: list[State] = []
        app.screen.watch(app, "status", lambda s: drawn.append(s.state) if s is not None else None, init=False)
        monkeypatch.setattr(Device, "set_amplitude", held_back)
        await pilot.press("a", "up")
        await until(pilot, answered.is_set, "the device answered the live change")

        await pilot.press("f2")
        await until(pilot, lambda: app.last_stop is not None and app.last_stop.confirmed, "STOP is confirmed")
        await until(pilot, lambda: app.status is not None and app.status.state not in OUTPUT_STATES, "drawn stopped")
        after_stop = len(drawn)

        release.set()
        await until(pilot, lambda: not app.busy, "the live change's answer has arrived")
        await pilot.pause()
        assert [s for s in drawn[after_stop:] if s in OUTPUT_STATES] == []
        assert app.status is not None and app.status.state not in OUTPUT_STATES


# --- the UI thread never waits for the watch -----------------------------------------------------------


class SlowEventsDevice:
    """A device whose event lock is held (by a thread recording events into a locked database)."""

    def __init__(self) -> None:
        self.event_lock = threading.Lock()
        self.link = FakeLink()
        self.unsubscribed = threading.Event()

    def subscribe(self, _callback: object) -> Callable[[], None]:
        with self.event_lock:
            pass

        def unsubscribe() -> None:
            with self.event_lock:
                self.unsubscribed.set()

        return unsubscribe

    def status(self) -> m.Status:
        return a_status(State.IDLE)


def test_creating_and_closing_a_watch_never_wait_for_the_event_lock() -> None:
    device = SlowEventsDevice()
    device.event_lock.acquire()
    done = threading.Event()

    def ui_thread() -> None:
        watch = DeviceWatch(device, on_status=lambda: None, on_event=lambda e: None, on_error=lambda e: None)  # type: ignore[arg-type]
        watch.close()
        done.set()

    threading.Thread(target=ui_thread, daemon=True).start()
    try:
        assert done.wait(GUARD_S), "the UI thread waited for the event lock"
        assert not device.unsubscribed.is_set()
    finally:
        device.event_lock.release()
    assert device.unsubscribed.wait(GUARD_S)  # the watch's own thread unsubscribed once it could


# --- STOP on a lost link ----------------------------------------------------------------------------------


async def test_after_a_link_loss_and_the_port_coming_back_f2_stops_the_device(
    make_app: MakeApp, emu: EmulatedTransport, tmp_path: Path
) -> None:
    stimulating(emu, tmp_path)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        lost_device = app.device
        emu.emulator.disconnect(down_s=0.3)  # a cable blip
        await until(pilot, lambda: app.link_lost, "the link loss is shown")
        await until(pilot, lambda: _port_back(emu), "the port is back")
        assert output_ua(emu) == 500  # untethered: the device kept stimulating through the blip
        await pilot.press("f2")
        await until(pilot, lambda: app.last_stop is not None, "STOP is done")
        assert app.last_stop is not None and app.last_stop.confirmed, app.last_stop
        assert output_ua(emu) == 0
        assert app.device is lost_device  # no reconnect was needed: the lost link reopened the port for STOP
        assert app.note is not None and app.note.title.startswith("STOPPED")
        assert "confirmed_after_ms" in stops_recorded(tmp_path)[-1]


def _port_back(emu: EmulatedTransport) -> bool:
    return emu._port.down_for_s() == 0


# --- another terminal ------------------------------------------------------------------------------------


async def test_the_tui_holds_its_port_and_a_stop_from_another_terminal_goes_through_it(
    pty_emulator: str, tmp_path: Path
) -> None:
    import asyncio
    import os
    import subprocess
    import sys

    def other_terminal(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "scsctl.cli.main", *argv, "--port", pty_emulator,
                               "--data-dir", str(tmp_path)], capture_output=True, text=True, timeout=60)  # fmt: skip

    app = new_app(ConnectTarget(pty_emulator, data_dir=tmp_path, operator="tech"))
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        busy = await asyncio.to_thread(other_terminal, "status")
        assert busy.returncode == 5
        assert f"held by pid {os.getpid()}" in busy.stderr and "operator tech" in busy.stderr
        stopped = await asyncio.to_thread(other_terminal, "stop")
        assert stopped.returncode == 0, stopped.stderr
        assert "through the session that holds the port" in stopped.stdout
        await until(pilot, lambda: app.last_stop is not None, "the TUI reports the STOP")
        assert app.last_stop is not None and app.last_stop.confirmed
        assert app.note is not None and app.note.title.startswith("STOPPED")
        assert "asked from another terminal by pid" in app.note.text
        assert app.device is not None and app.device.link.status is LinkStatus.UP  # undisturbed

"""Emulators served on pseudo-terminals and TCP, opened the way a host opens hardware."""

from __future__ import annotations

import inspect
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import serial

from firmware_protocol import Decoder, Frame, encode
from firmware_protocol import messages as m
from scsctl.emulator.runner import EmulatorRunner, make_emulator
from scsctl.emulator.server import EmulatorServer, PtyEndpoint
from scsctl.errors import PortBusy, PortLost, PortNotFound
from scsctl.transports import Transport, open_transport

from .stand_in import GUARD_S, StandInFirmware, conformance, exchange

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    s = EmulatorServer()
    yield s
    s.stop()


def test_a_pty_endpoint_answers_like_a_device(server: EmulatorServer) -> None:
    server.add_pty(EmulatorRunner(StandInFirmware()))
    (url,) = server.start()
    assert url.startswith("/dev/")
    with open_transport(url) as t:
        conformance(t)


def test_a_tcp_endpoint_answers_like_a_device(server: EmulatorServer) -> None:
    server.add_tcp(EmulatorRunner(StandInFirmware()), "127.0.0.1", 0)
    (url,) = server.start()
    assert url.startswith("socket://127.0.0.1:")
    with open_transport(url) as t:
        conformance(t)


def test_several_emulators_at_once_each_answer_for_themselves(server: EmulatorServer) -> None:
    runners = [make_emulator("tonic-burst-16", seed=1), make_emulator("drg-4x4", seed=2),
               make_emulator("hf10k-16", seed=3)]  # fmt: skip
    server.add_pty(runners[0])
    server.add_pty(runners[1])
    server.add_tcp(runners[2], "127.0.0.1", 0)
    urls = server.start()
    assert len(set(urls)) == 3
    transports = [open_transport(url) for url in urls]
    try:
        identities = []
        for t in transports:
            reply = exchange(t, Decoder(), m.Hello(), 1).message
            assert isinstance(reply, m.Identify)
            identities.append((reply.model_id, reply.serial_number))
        assert [i[0] for i in identities] == [0x5101, 0x5102, 0x5103]
        assert len({i[1] for i in identities}) == 3
    finally:
        for t in transports:
            t.close()


def read_until_it_fails(transport: Transport, timeout_s: float | None) -> None:
    for _ in range(10):
        transport.read(256, timeout_s)


def test_a_second_tcp_connection_is_refused_while_one_is_open(server: EmulatorServer) -> None:
    server.add_tcp(EmulatorRunner(StandInFirmware()), "127.0.0.1", 0)
    (url,) = server.start()
    with open_transport(url) as first:
        second = open_transport(url)
        try:
            with pytest.raises(PortBusy, match=r"held by another host \(127\.0\.0\.1:\d+\) since "):
                read_until_it_fails(second, GUARD_S)  # the server says who holds it, then hangs up
        finally:
            second.close()
        conformance(first)


def test_a_pty_disconnect_is_reported_at_once_and_the_link_path_reopens(server: EmulatorServer, tmp_path: Path) -> None:
    link = str(tmp_path / "scs0")
    announced: queue.Queue[str] = queue.Queue()
    runner = EmulatorRunner(StandInFirmware())
    server.add_pty(runner, link=link, on_port=announced.put)
    (url,) = server.start()
    assert os.readlink(link) == url
    t = open_transport(link)
    try:
        conformance(t)
        runner.disconnect()
        with pytest.raises(PortLost, match="scs0"):
            t.read(256, None)
        new_url = announced.get(timeout=GUARD_S)
        assert os.readlink(link) == new_url
        t.open()
        conformance(t)
    finally:
        t.close()


class _RaisingFirmware(StandInFirmware):
    def receive(self, data: bytes, now_s: float) -> bytes:
        raise RuntimeError("a firmware bug")


def _stops_within(stop: Callable[[], None], timeout_s: float = GUARD_S) -> bool:
    stopper = threading.Thread(target=stop, daemon=True)
    stopper.start()
    stopper.join(timeout_s)
    return not stopper.is_alive()


def test_a_firmware_that_raises_silences_its_own_port_only_and_serving_still_stops() -> None:
    # The I/O loop's thread runs the firmware; when it raises, the port is cut from that thread.
    server = EmulatorServer()
    broken = EmulatorRunner(_RaisingFirmware())
    server.add_pty(broken)
    server.add_pty(EmulatorRunner(StandInFirmware()))
    urls = server.start()
    try:
        with open_transport(urls[0]) as t:
            t.write(encode(m.GetStatus(), 1))
            with pytest.raises(PortLost):
                t.read(256, GUARD_S)
        assert isinstance(broken.error, RuntimeError)
        with open_transport(urls[1]) as t:
            conformance(t)  # the same loop still serves the other device
    finally:
        assert _stops_within(server.stop)


class _PausingRunner(EmulatorRunner[StandInFirmware]):
    """Holds the I/O loop inside its dispatch of a read (past the port's cut check, before the
    runner's locks) until the test lets it go."""

    def __init__(self) -> None:
        super().__init__(StandInFirmware())
        self.reading = threading.Event()
        self.go_on = threading.Event()

    def feed_inline(self, data: bytes) -> None:
        self.reading.set()
        self.go_on.wait(GUARD_S)
        super().feed_inline(data)


def test_a_disconnect_delivered_while_the_loop_reads_a_command_does_not_freeze_the_emulator() -> None:
    # A runner delivers a disconnect holding its deliver lock; the loop, inside its dispatch, then
    # needs that lock to answer the command it read. Neither may wait for the other.
    runner = _PausingRunner()
    endpoint = PtyEndpoint(runner)
    url = endpoint.start()
    try:
        with open_transport(url) as t:
            t.write(encode(m.GetStatus(), 1))
            assert runner.reading.wait(GUARD_S)
            delivered = threading.Event()

            def deliver_a_disconnect() -> None:
                with runner._deliver_lock:  # as the runner thread holds it while delivering
                    endpoint.disconnected(0.05)
                delivered.set()

            threading.Thread(target=deliver_a_disconnect, daemon=True).start()
            assert delivered.wait(2.0), "the disconnect waited for the I/O loop"
            runner.go_on.set()
            with pytest.raises(PortLost):
                t.read(256, GUARD_S)
    finally:
        runner.go_on.set()
        assert _stops_within(endpoint.stop)


def test_a_disconnect_arriving_as_the_port_comes_back_is_not_lost() -> None:
    # The I/O loop is held (by a line trace) just as it takes the time to bring the port back,
    # and a second disconnect is delivered then: the port must come back after it too.
    from scsctl.emulator import server as server_module

    lines = inspect.getsourcelines(server_module.Endpoint._tend)
    clear_at = next(lines[1] + i for i, line in enumerate(lines[0]) if line.strip() == "self._reopen_at_s = None")
    armed, reached, landed = threading.Event(), threading.Event(), threading.Event()

    def trace(frame: types.FrameType, event: str, arg: object) -> object:
        if frame.f_code is not server_module.Endpoint._tend.__code__:
            return None

        def line(frame: types.FrameType, event: str, arg: object) -> object:
            if event == "line" and frame.f_lineno == clear_at and armed.is_set():
                armed.clear()
                reached.set()
                landed.wait(0.5)  # a disconnect may land here; with the port's lock held it waits
            return line

        return line

    announced: queue.Queue[str] = queue.Queue()
    threading.settrace(trace)  # for the I/O loop's thread, started here
    try:
        endpoint = PtyEndpoint(EmulatorRunner(StandInFirmware()), on_port=announced.put)
        endpoint.start()
    finally:
        threading.settrace(None)  # type: ignore[arg-type]
    try:

        def second_disconnect() -> None:
            reached.wait(GUARD_S)
            endpoint.disconnected(0.1)
            landed.set()

        threading.Thread(target=second_disconnect, daemon=True).start()
        armed.set()
        endpoint.disconnected(0.05)
        assert reached.wait(GUARD_S)
        assert landed.wait(GUARD_S)
        announced.get(timeout=GUARD_S)  # back after the first disconnect
        url = announced.get(timeout=GUARD_S)  # and after the second
        with open_transport(url) as t:
            conformance(t)
    finally:
        assert _stops_within(endpoint.stop)


def test_a_tcp_disconnect_is_reported_and_the_port_can_be_reopened(server: EmulatorServer) -> None:
    runner = EmulatorRunner(StandInFirmware())
    server.add_tcp(runner, "127.0.0.1", 0)
    (url,) = server.start()
    with open_transport(url) as t:
        conformance(t)
        runner.disconnect()
        with pytest.raises(PortLost, match=url):
            t.read(256, None)
        t.open()
        conformance(t)


def test_a_tcp_port_that_is_down_is_not_found(server: EmulatorServer) -> None:
    announced: queue.Queue[str] = queue.Queue()
    runner = EmulatorRunner(StandInFirmware())
    server.add_tcp(runner, "127.0.0.1", 0, on_port=announced.put)
    (url,) = server.start()
    with open_transport(url) as t:
        runner.disconnect(down_s=3600)
        with pytest.raises(PortLost):
            read_until_it_fails(t, None)  # a connection not yet taken when it went down is told so first
        with pytest.raises(PortNotFound, match="nothing accepts connections there"):
            t.open()


# --- `scsctl emulator --pty` as a user runs it -----------------------------------------------------


def _read_reply(port: serial.Serial, decoder: Decoder, seq: int) -> Frame:
    give_up_s = time.monotonic() + GUARD_S
    while time.monotonic() < give_up_s:
        for item in decoder.feed(port.read(port.in_waiting or 1)):
            if isinstance(item, Frame) and item.seq == seq and not type(item.message).__name__.startswith("Event"):
                return item
    raise AssertionError("no reply")


@pytest.fixture
def emulator_process() -> Iterator[tuple[subprocess.Popen[str], str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "scsctl.cli.main", "emulator", "--pty", "--model", "drg-4x4", "--baud", "115200"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("port: "), (first, proc.stderr.read() if proc.stderr and proc.poll() else "")
        yield proc, first.removeprefix("port: ").strip()
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        proc.wait(timeout=GUARD_S)


def test_plain_pyserial_talks_to_scsctl_emulator_pty(emulator_process: tuple[subprocess.Popen[str], str]) -> None:
    proc, path = emulator_process
    port = serial.serial_for_url(path, baudrate=115200, timeout=0.5)
    try:
        decoder = Decoder()
        expected = {m.Hello: m.Identify, m.GetStatus: m.Status, m.Stop: m.StopAck}
        for seq, message in enumerate([m.Hello(), m.GetStatus(), m.Stop()], start=1):
            port.write(encode(message, seq))
            reply = _read_reply(port, decoder, seq)
            assert isinstance(reply.message, expected[type(message)])
            if isinstance(reply.message, m.Identify):
                assert reply.message.model_id == 0x5102
        assert decoder.invalid_frames == 0
    finally:
        port.close()
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=GUARD_S) == 0


@pytest.mark.parametrize("ending", [signal.SIGTERM, signal.SIGHUP], ids=["killed", "its terminal closed"])
def test_scsctl_emulator_removes_its_link_however_it_is_ended(tmp_path: Path, ending: signal.Signals) -> None:
    # A link left behind points at a pty number the next terminal window may get: a host following
    # it would send frames into that terminal.
    link = tmp_path / "scs-dev"
    proc = subprocess.Popen(
        [sys.executable, "-m", "scsctl.cli.main", "emulator", "--pty", "--link", str(link)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("port: ")
        assert link.is_symlink()
        proc.send_signal(ending)
        assert proc.wait(timeout=GUARD_S) == 0
        assert not link.is_symlink()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=GUARD_S)


def test_scsctl_emulator_tcp_serves_several_with_firmware_and_line_faults() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "scsctl.cli.main", "emulator", "--tcp", "127.0.0.1:0", "--count", "2",
         "--fault", "nak=BUSY", "--fault", "duplicate-frames:1.0,dir=to-host"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        urls = [proc.stdout.readline().removeprefix("port: ").strip() for _ in range(2)]
        assert all(u.startswith("socket://127.0.0.1:") for u in urls) and urls[0] != urls[1]
        for url in urls:
            with open_transport(url) as t:
                decoder = Decoder()
                first = exchange(t, decoder, m.Hello(), 1).message
                assert isinstance(first, m.Nak) and first.reason.name == "BUSY"  # the firmware fault
                assert isinstance(exchange(t, decoder, m.Hello(), 2).message, m.Identify)
                # Every frame came twice (the line fault): the duplicate NAK came before the IDENTIFY.
                assert decoder.frames >= 3
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=GUARD_S) == 0


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--pty", "--fault", "drop-bytes:2"], "outside 0..1"),
        (["--pty", "--fault", "bogus=1"], "unknown firmware fault 'bogus=1'"),
        (["--pty", "--model", "tonic-burst-99"], "unknown emulator model 'tonic-burst-99'"),
        (["--tcp", "localhost"], "write HOST:PORT"),
        (["--tcp", "127.0.0.1:0", "--link", "/tmp/x"], "--link goes with --pty"),
        (["--pty", "--baud", "0"], "--baud 0"),
        (["--pty", "--fault", "lead-open=99"], "fault 'lead-open=99': contact 99 does not exist on tonic-burst-16"),
        (["--pty", "--model", "drg-4x4", "--fault", "lead-short=17@5"], "contact 17 does not exist on drg-4x4"),
        (["--pty", "--fault", "lead-open=2.5"], "fault 'lead-open=2.5': contact number '2.5' is not a whole number"),
        (["--pty", "--fault", "lead-repair=inf"], "'inf' is not a finite number"),
        (["--pty", "--fault", "battery=150"], "fault 'battery=150': battery level '150' is above 100 %"),
        (["--pty", "--fault", "battery=nan"], "battery level 'nan' is not a finite number"),
        (["--pty", "--fault", "battery=-1"], "must not be negative"),
        (["--pty", "--fault", "hardware=70000"], "fault 'hardware=70000': code 70000 is above 65535"),
        (["--pty", "--fault", "reboot@1e400"], "time '1e400' is not a finite number"),
    ],
)
def test_scsctl_emulator_refuses_bad_arguments_before_serving(
    argv: list[str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from scsctl.cli.main import main

    assert main(["emulator", *argv]) == 2
    out, err = capsys.readouterr()
    assert out == ""  # no port was announced: nothing is served
    assert named in err

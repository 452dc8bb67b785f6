"""A STOP never queues behind traffic: at most one frame is on its way when a STOP wants the line.

The link writes a frame and then waits for the transport's ``drain`` (the frame has left the host)
before the next writer may start; a STOP waiting for the line goes ahead of every other waiting
writer. The transport here records the order of writes and drains and stands for a slow line
(each drain takes a little while, so writers really do queue). Nothing here is timed: the checks
are about order.
"""

from __future__ import annotations

import os
import pty
import threading
import time
import tty
from collections.abc import Callable

import pytest

from firmware_protocol import Decoder, Frame
from firmware_protocol import messages as m
from scsctl.errors import LinkLost, TransportError
from scsctl.link import Link
from scsctl.transports.serial_port import SerialTransport

from .fakes import ScriptedDevice

FAST = {"reply_timeout_s": 0.5, "stop_resend_s": 0.2, "stop_deadline_s": 2.0}


class SlowLine(ScriptedDevice):
    """Records ``("write", type)``, ``("drained",)`` and the test's own marks, in order."""

    def __init__(self, line_time_s: float = 0.002) -> None:
        super().__init__()
        self.line_time_s = line_time_s
        self.log: list[tuple[str, ...]] = []
        self.outstanding = 0
        self.most_outstanding = 0
        self._count_lock = threading.Lock()
        self._frames = Decoder()

    def write(self, data: bytes) -> None:
        with self._count_lock:
            self.outstanding += 1
            self.most_outstanding = max(self.most_outstanding, self.outstanding)
            names = [type(f.message).__name__ for f in self._frames.feed(data) if isinstance(f, Frame)]
            self.log.append(("write", *names))
        super().write(data)

    def drain(self, timeout_s: float | None = None) -> None:
        time.sleep(self.line_time_s)
        with self._count_lock:
            self.outstanding -= 1
            self.log.append(("drained",))


def test_every_frame_is_drained_before_the_next_one_is_written() -> None:
    device = SlowLine(line_time_s=0.001)
    with Link(device, **FAST) as link:
        threads = [threading.Thread(target=lambda: [link.request(m.GetStatus()) for _ in range(10)]) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert device.most_outstanding == 1
    kinds = [entry[0] for entry in device.log]
    assert kinds == ["write", "drained"] * 40


def test_a_stop_goes_ahead_of_waiting_polls_with_at_most_one_frame_before_it() -> None:
    device = SlowLine(line_time_s=0.003)
    running = threading.Event()
    running.set()

    def poll() -> None:
        while running.is_set():
            link.request(m.GetStatus())

    ahead: list[int] = []
    with Link(device, **FAST) as link:
        pollers = [threading.Thread(target=poll) for _ in range(6)]
        for t in pollers:
            t.start()
        try:
            for _ in range(5):
                device.log.clear()
                while sum(entry[0] == "write" for entry in device.log) < 10:  # six pollers now queue for the line
                    time.sleep(0.001)
                device.log.append(("mark",))
                link.stop()
                log = list(device.log)
                after = log[log.index(("mark",)) + 1 :]
                stop_at = after.index(("write", "Stop"))
                # Only the frame that already held the line when STOP was asked for may come first.
                ahead.append(sum(entry[0] == "write" for entry in after[:stop_at]))
        finally:
            running.clear()
            for t in pollers:
                t.join()
    assert max(ahead) <= 1, ahead
    assert device.most_outstanding == 1


def test_a_pty_that_stands_for_a_slow_line_is_paced_and_an_instant_one_is_not() -> None:
    master, slave = pty.openpty()
    tty.setraw(slave)
    path = os.ttyname(slave)
    try:
        paced = SerialTransport(path, baudrate=2400, exclusive=False)
        instant = SerialTransport(path, exclusive=False)
        paced.open()
        instant.open()
        try:
            # Which pty is paced is what the test checks, never how long a drain took.
            assert paced._drains and paced._byte_s == 10 / 2400
            assert not instant._drains
            paced.write(b"\x00" * 4)
            paced.drain()
            instant.write(b"\x00" * 4)
            instant.drain()
            got = b""
            while len(got) < 8:
                got += os.read(master, 64)
            assert got == b"\x00" * 8
        finally:
            paced.close()
            instant.close()
    finally:
        os.close(master)
        os.close(slave)


class StuckLine(ScriptedDevice):
    """A line that stops moving (flow control holding it, a device that stopped taking bytes): a
    frame's drain does not return until the test lets the line go, or until its time is up."""

    def __init__(self) -> None:
        super().__init__()
        self.moving = threading.Event()
        self.moving.set()
        self.draining = threading.Event()

    def write(self, data: bytes) -> None:
        if self.moving.is_set():  # else the bytes never reach the device
            super().write(data)

    def drain(self, timeout_s: float | None = None) -> None:
        self.draining.set()
        if not self.moving.wait(timeout_s):
            raise TransportError("stuck://line: 8 bytes still not sent", port=self.url)


def _returns(call: Callable[[], object], within_s: float = 10.0) -> BaseException | None:
    """Run ``call`` in a thread: what it raised (None if it returned); AssertionError if still waiting."""
    raised: list[BaseException | None] = []

    def run() -> None:
        try:
            call()
        except BaseException as err:  # noqa: BLE001 - handed to the test
            raised.append(err)
        else:
            raised.append(None)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(within_s)
    assert not worker.is_alive(), f"{call} is still waiting"
    return raised[0]


def test_a_stop_behind_a_frame_that_never_leaves_fails_in_time_and_says_why() -> None:
    device = StuckLine()
    with Link(device, **FAST) as link:
        device.moving.clear()
        poll = threading.Thread(target=lambda: _returns(lambda: link.request(m.GetStatus())), daemon=True)
        poll.start()
        assert device.draining.wait(5)
        err = _returns(link.stop)  # the poll holds the line, stuck in its drain
        assert isinstance(err, LinkLost)
        assert "STOP was not confirmed" in str(err) and "has not left the host" in str(err)
        assert "disconnect the leads" in str(err)
        device.moving.set()  # the line moves again: the next STOP goes and is confirmed
        poll.join(10)
        assert _returns(link.stop) is None


def test_a_stop_whose_own_frame_never_leaves_fails_in_time_and_says_why() -> None:
    device = StuckLine()
    with Link(device, **FAST) as link:
        device.moving.clear()
        err = _returns(link.stop)
        assert isinstance(err, LinkLost)
        assert "8 bytes still not sent" in str(err)


def test_a_uart_whose_bytes_stop_leaving_is_reported_not_waited_on(monkeypatch: pytest.MonkeyPatch) -> None:
    master, slave = pty.openpty()
    tty.setraw(slave)
    try:
        uart = SerialTransport(os.ttyname(slave), exclusive=False, write_timeout_s=0.3)
        uart.open()
        try:
            uart._drains, uart._byte_s = True, 0.0  # as a UART's: the driver is asked what it still holds
            left = iter([40, 12, 0])
            driver = type(uart._serial)  # what the driver says it still holds (TIOCOUTQ)
            monkeypatch.setattr(driver, "out_waiting", property(lambda port: next(left)))
            uart.drain()  # the bytes leave: it returns
            monkeypatch.setattr(driver, "out_waiting", property(lambda port: 5))
            with pytest.raises(TransportError, match=r"5 bytes still not sent after 0\.3 s \(hardware flow control"):
                uart.drain()
            with pytest.raises(TransportError, match=r"after 0\.1 s"):
                uart.drain(0.1)  # a STOP's own wait ends by its deadline
        finally:
            uart.close()
    finally:
        os.close(master)
        os.close(slave)

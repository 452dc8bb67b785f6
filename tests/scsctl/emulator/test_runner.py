"""The runtime: the line simulator on a test clock (exact), and the runner thread on the real one."""

from __future__ import annotations

import threading
import time

import pytest

from firmware_protocol import Decoder, Frame, InvalidFrame, encode
from firmware_protocol import messages as m
from firmware_protocol.constants import FaultFlags, State, StatusFlags
from scsctl.emulator.runner import BITS_PER_BYTE, Disconnected, EmulatorRunner, LineSimulator
from scsctl.errors import PortLost, TransportError, UsageError
from scsctl.transports.emulated import EmulatedTransport, MemoryPort

from .stand_in import GUARD_S, StandInFirmware, conformance, exchange, wait_for

STATUS_REQUEST = encode(m.GetStatus(), 1)


def host_bytes(events: list[bytes | Disconnected]) -> bytes:
    return b"".join(e for e in events if isinstance(e, bytes))


# --- LineSimulator: the logic, with time as an argument --------------------------------------------


def test_without_a_baud_rate_replies_come_back_in_the_same_step() -> None:
    fw = StandInFirmware()
    sim = LineSimulator(fw, now_s=0.0)
    sim.from_host(STATUS_REQUEST, 1.0)
    (item,) = Decoder().feed(host_bytes(sim.advance(1.0)))
    assert isinstance(item, Frame) and isinstance(item.message, m.Status)


def test_at_a_baud_rate_the_firmware_hears_a_frame_when_its_last_byte_has_arrived() -> None:
    fw = StandInFirmware()
    sim = LineSimulator(fw, now_s=0.0, baud=9600)
    byte_s = BITS_PER_BYTE / 9600
    sim.from_host(STATUS_REQUEST, 0.0)
    last_byte_s = len(STATUS_REQUEST) * byte_s
    assert host_bytes(sim.advance(last_byte_s - byte_s)) == b""
    assert fw.frames == []  # all but the last byte are in
    assert sim.next_wake_s() == pytest.approx(last_byte_s)
    assert host_bytes(sim.advance(last_byte_s)) == b""  # the reply has only started
    assert len(fw.frames) == 1


def test_at_a_baud_rate_the_reply_arrives_one_byte_time_per_byte() -> None:
    fw = StandInFirmware()
    sim = LineSimulator(fw, now_s=0.0, baud=115_200)
    byte_s = BITS_PER_BYTE / 115_200
    sim.from_host(STATUS_REQUEST, 0.0)
    t = len(STATUS_REQUEST) * byte_s
    sim.advance(t)
    reply = encode(m.Status(State.IDLE, 0xFF, 0, 0, 90, 3900, FaultFlags.NONE, StatusFlags.NONE, 5), 1)
    got = bytearray()
    steps = 0
    while len(got) < len(reply):
        wake = sim.next_wake_s()
        assert wake is not None
        got += host_bytes(sim.advance(wake))
        steps += 1
    assert bytes(got) == reply
    assert steps == len(reply)  # one byte per byte time, none early
    assert sim.next_wake_s() is None


def test_the_firmware_is_polled_at_its_deadline() -> None:
    fw = StandInFirmware(tick_s=0.5)
    sim = LineSimulator(fw, now_s=0.0)
    assert sim.next_wake_s() == 0.5
    assert host_bytes(sim.advance(0.4)) == b""
    assert fw.polls == []
    (event,) = Decoder().feed(host_bytes(sim.advance(0.5)))
    assert isinstance(event, Frame) and isinstance(event.message, m.EventState)
    assert fw.polls == [0.5]
    assert sim.next_wake_s() == 1.0


def test_a_stall_holds_both_directions_then_lets_everything_through() -> None:
    fw = StandInFirmware()
    sim = LineSimulator(fw, now_s=0.0, faults=["stall:2s@1s"])
    sim.advance(1.0)
    sim.from_host(STATUS_REQUEST, 1.5)
    assert host_bytes(sim.advance(2.9)) == b""
    assert fw.frames == []
    assert sim.next_wake_s() == pytest.approx(3.0)
    assert Decoder().feed(host_bytes(sim.advance(3.0)))  # request heard and answered after the stall


def test_a_scheduled_disconnect_cuts_the_line_and_repeats() -> None:
    sim = LineSimulator(StandInFirmware(), now_s=0.0, faults=["disconnect:1s,at=2s,every=10s"])
    assert sim.next_wake_s() == 2.0
    assert sim.advance(2.0) == [Disconnected(1.0)]
    assert sim.next_wake_s() == 12.0


def test_bytes_in_flight_are_lost_when_the_line_is_cut() -> None:
    fw = StandInFirmware()
    sim = LineSimulator(fw, now_s=0.0, baud=9600)
    sim.from_host(STATUS_REQUEST, 0.0)
    sim.disconnect(0.0)
    assert sim.advance(1.0) == [Disconnected(0.0)]
    assert fw.received == b""


def test_a_bad_baud_rate_is_refused() -> None:
    with pytest.raises(UsageError, match="baud rate 0"):
        LineSimulator(StandInFirmware(), now_s=0.0, baud=0)


# --- EmulatorRunner: the thread ---------------------------------------------------------------------


def test_the_runner_answers_through_an_in_memory_port() -> None:
    port = MemoryPort("test")
    port.open()
    runner = EmulatorRunner(StandInFirmware())
    runner.start(port)
    try:
        runner.feed(STATUS_REQUEST)
        decoder = Decoder()
        items: list[Frame | InvalidFrame] = []
        while not items:
            data = port.read(256, GUARD_S)
            assert data
            items = decoder.feed(data)
        assert isinstance(items[0], Frame) and isinstance(items[0].message, m.Status)
    finally:
        runner.stop()


def test_the_runner_wakes_for_firmware_deadlines_with_no_host_traffic() -> None:
    with EmulatedTransport(firmware=StandInFirmware(now_s=time.monotonic(), tick_s=0.01)) as t:
        decoder = Decoder()
        for seq in range(3):
            event = wait_for(t, decoder, lambda f: isinstance(f.message, m.EventState))
            assert event.seq == seq
        with t.emulator.locked() as fw:
            assert fw.early_polls == 0  # polled when a deadline had come, never before


def test_faults_can_be_added_and_cleared_while_running() -> None:
    with EmulatedTransport(firmware=StandInFirmware()) as t:
        t.emulator.add_fault("drop-frames:1.0,dir=to-host")
        t.write(STATUS_REQUEST)
        assert t.read(256, 0.2) == b""  # the reply was dropped; the read still times out honestly
        t.emulator.clear_faults()
        conformance(t)
        assert t.emulator.faults == ()


def test_a_firmware_that_crashes_is_reported_not_hidden() -> None:
    class Broken(StandInFirmware):
        def receive(self, data: bytes, now_s: float) -> bytes:
            raise RuntimeError("bug in the firmware")

    t = EmulatedTransport(firmware=Broken())
    t.open()
    try:
        t.write(STATUS_REQUEST)
        with pytest.raises(TransportError, match="bug in the firmware"):
            t.read(256, GUARD_S)
        assert isinstance(t.emulator.error, RuntimeError)
    finally:
        t.close()


def test_stopping_keeps_the_device_and_a_restart_discards_what_it_said_meanwhile() -> None:
    t = EmulatedTransport(firmware=StandInFirmware())
    t.open()
    decoder = Decoder()
    exchange(t, decoder, m.Hello(), 1)
    t.close()
    with pytest.raises(TransportError, match="not open"):
        t.write(STATUS_REQUEST)
    t.open()
    try:
        exchange(t, decoder, m.GetStatus(), 2)
        with t.emulator.locked() as fw:
            assert fw.monitor == ["Hello", "GetStatus"]  # the same firmware across close/open
    finally:
        t.close()


def test_locked_firmware_access_waits_for_the_runner() -> None:
    with EmulatedTransport(firmware=StandInFirmware()) as t:
        seen = threading.Event()

        def poke(fw: StandInFirmware, now_s: float) -> bytes:
            seen.set()
            return encode(m.StopAck(), 9)  # bytes an injected action returns reach the host

        t.emulator.call(poke)
        assert seen.is_set()
        frame = wait_for(t, Decoder(), lambda f: f.seq == 9)
        assert isinstance(frame.message, m.StopAck)


def test_disconnect_reports_the_port_lost_at_once_and_reopening_works() -> None:
    with EmulatedTransport(firmware=StandInFirmware()) as t:
        t.emulator.disconnect()
        with pytest.raises(PortLost, match="emu://"):
            t.read(256, None)  # a dead port is never mistaken for a quiet one, even with no timeout
        with pytest.raises(PortLost):
            t.write(STATUS_REQUEST)
        assert not t.is_open
        t.open()
        conformance(t)


def test_line_events_missed_while_the_port_was_closed_do_not_pile_up() -> None:
    sim = LineSimulator(StandInFirmware(), now_s=0.0, faults=["stall:1s@5s", "disconnect,at=1s,every=2s"])
    sim.resume(100.5)
    assert [str(f) for f in sim.faults] == ["disconnect,at=1s,every=2s"]
    assert sim.next_wake_s() == 101.0
    assert sim.advance(101.0) == [Disconnected(0.0)]

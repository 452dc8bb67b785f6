"""``emu://``: the real emulated firmware in this process, through the transport interface."""

from __future__ import annotations

from typing import Any

import pytest

from firmware_protocol import Decoder, Frame, encode
from firmware_protocol import messages as m
from firmware_protocol.constants import FaultFlags, State, StatusFlags
from scsctl.emulator.linefaults import FaultKind
from scsctl.errors import PortLost, PortNotFound, TransportError, UsageError
from scsctl.transports import open_transport, transport_for_url
from scsctl.transports.emulated import EmulatedTransport

from ..emulator.stand_in import StandInFirmware, conformance, exchange, wait_for


def emu(url: str = "emu://", **options: Any) -> EmulatedTransport:
    t = EmulatedTransport(url, **options)
    t.open()
    return t


STATUS = m.Status(State.IDLE, 0xFF, 0, 0, 90, 3900, FaultFlags.NONE, StatusFlags.NONE, 5)


@pytest.mark.parametrize("url", ["emu://", "emu://tonic-burst-16", "emu://drg-4x4", "emu://hf10k-16"])
def test_conformance_over_emu(url: str) -> None:
    with open_transport(url) as t:
        conformance(t)


def test_each_model_identifies_as_itself() -> None:
    for url, model_id in [("emu://", 0x5101), ("emu://drg-4x4", 0x5102), ("emu://hf10k-16?seed=4", 0x5103)]:
        with emu(url) as t:
            reply = exchange(t, Decoder(), m.Hello(), 1).message
            assert isinstance(reply, m.Identify) and reply.model_id == model_id


def test_a_wire_speed_line_still_answers() -> None:
    with emu("emu://?baud=9600") as t:
        conformance(t)
        assert t.emulator.baud == 9600


def test_reads_honour_their_timeout() -> None:
    with emu("emu://") as t:
        assert t.read(64, 0.05) == b""
        assert t.read(64, 0) == b""


def test_the_transport_exposes_the_emulator_and_its_monitor() -> None:
    with emu("emu://") as t:
        assert isinstance(t, EmulatedTransport)
        exchange(t, Decoder(), m.Hello(), 1)
        with t.emulator.locked() as fw:
            assert fw.monitor is t.emulator.monitor
            assert fw.model.name == "tonic-burst-16"


def test_an_unknown_model_is_a_usage_error_naming_the_models() -> None:
    with pytest.raises(UsageError, match=r"'tonic-burst-99'.*drg-4x4, hf10k-16, tonic-burst-16"):
        open_transport("emu://tonic-burst-99")


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("emu://?speed=3", "unknown option"),
        ("emu://?seed=x", "seed='x' is not a whole number"),
        ("emu://?seed=1&seed=2", "more than once"),
        ("emu://drg-4x4/extra", "not an emulator URL"),
        ("emu://?fault=drop-bits:0.1", "unknown kind 'drop-bits'"),
        ("emu://?baud=-5", "baud rate -5"),
    ],
)
def test_bad_emu_urls_are_refused_naming_the_problem(url: str, named: str) -> None:
    with pytest.raises(UsageError, match=named):
        transport_for_url(url)


def test_options_and_url_may_not_disagree() -> None:
    with pytest.raises(UsageError, match="seed is 1 in the URL but 2"):
        EmulatedTransport("emu://?seed=1", seed=2)


def test_faults_in_the_url_apply_to_the_line() -> None:
    with emu("emu://?fault=corrupt-frames:1.0,dir%3Dto-host&seed=3") as t:
        decoder = Decoder()
        t.write(encode(m.Hello(), 1))
        while decoder.invalid_frames == 0:
            decoder.feed(t.read(256, 5.0))
        assert decoder.frames == 0
        assert t.emulator.line_faults.applied[FaultKind.CORRUPT_FRAMES] >= 1


def test_dropped_bytes_show_up_as_invalid_frames() -> None:
    with EmulatedTransport(firmware=StandInFirmware(), faults=["drop-bytes:0.05,dir=to-host"], seed=7) as t:
        for seq in range(30):
            t.write(encode(m.GetStatus(), seq))
        sent = 30 * len(encode(STATUS, 0))
        decoder = Decoder()
        received = 0
        # Read until every byte the device sent is accounted for: received or dropped on the line.
        while True:
            with t.emulator.locked():
                dropped = t.emulator.line_faults.applied.get(FaultKind.DROP_BYTES, 0)
            if received + dropped == sent:
                break
            data = t.read(256, 5.0)
            assert data, "the device went quiet"
            received += len(data)
            decoder.feed(data)
        decoder.flush()
        assert dropped > 0
        assert decoder.invalid_frames > 0
        assert decoder.frames < 30


def test_dropped_bytes_towards_the_device_are_caught_by_it() -> None:
    with emu("emu://", faults=["drop-bytes:0.05,dir=to-device"], seed=7) as t:
        for seq in range(30):
            t.write(encode(m.GetStatus(), seq))
        t.emulator.clear_faults()  # deterministic: host bytes meet the faults as they are written
        t.write(encode(m.Hello(), 200))
        decoder = Decoder()
        replies: list[m.Message] = []
        # Replies keep the order of the requests: all are in once the IDENTIFY is.
        while not any(isinstance(r, m.Identify) for r in replies):
            data = t.read(256, 5.0)
            assert data, "the device went quiet"
            replies += [f.message for f in decoder.feed(data) if isinstance(f, Frame)]
        statuses = [r for r in replies if isinstance(r, m.Status)]
        assert len(statuses) < 30
        assert decoder.invalid_frames == 0  # the damage was on the way in; the answers are clean


def test_a_stall_delays_replies_without_losing_them() -> None:
    with emu("emu://") as t:
        t.emulator.stall(0.3)
        t.write(encode(m.GetStatus(), 1))
        assert t.read(256, 0.0) == b""
        reply = wait_for(t, Decoder(), lambda f: f.seq == 1)
        assert isinstance(reply.message, m.Status)


def test_stop_is_answered_during_heavy_corruption_once_the_line_is_clean() -> None:
    with emu("emu://", faults=["corrupt-bytes:0.3"]) as t:
        t.write(encode(m.Start(), 1))
        t.emulator.clear_faults()
        reply = exchange(t, Decoder(), m.Stop(), 2)
        assert isinstance(reply.message, m.StopAck)


def test_a_disconnect_is_port_lost_and_open_reconnects_to_the_same_device() -> None:
    t = emu("emu://")
    try:
        hello = exchange(t, Decoder(), m.Hello(), 1).message
        t.emulator.disconnect()
        with pytest.raises(PortLost, match="emu://"):
            t.read(64, None)
        t.open()
        again = exchange(t, Decoder(), m.Hello(), 2).message
        assert isinstance(again, m.Identify) and isinstance(hello, m.Identify)
        assert again.serial_number == hello.serial_number
    finally:
        t.close()


def test_a_device_that_stays_away_is_not_found_until_it_is_back() -> None:
    t = emu("emu://")
    try:
        t.emulator.disconnect(down_s=3600)
        with pytest.raises(PortLost):
            t.write(encode(m.GetStatus(), 1))
        with pytest.raises(PortNotFound, match="disconnected for another"):
            t.open()
    finally:
        t.close()


def test_writing_to_a_closed_port_names_it() -> None:
    t = transport_for_url("emu://drg-4x4")
    with pytest.raises(TransportError, match="emu://drg-4x4: the port is not open"):
        t.write(b"x")
    with pytest.raises(TransportError, match="not open"):
        t.read(1, 0)

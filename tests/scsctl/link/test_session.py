"""The link's rules, each pinned with a device scripted to misbehave in one way."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from firmware_protocol import Frame, LocalProtocolError, RemoteProtocolError, encode
from firmware_protocol import messages as m
from firmware_protocol.constants import Capability, MessageType, NakReason, Param
from scsctl.errors import DeviceRefused, LinkLost, ProtocolViolation, ReplyTimeout, TransportError, UsageError
from scsctl.link import Link, LinkStatus, WireCapture, read_capture
from scsctl.link.session import LinkStateChange

from .fakes import ScriptedDevice, ack

FAST = {"reply_timeout_s": 0.05, "stop_resend_s": 0.02, "stop_deadline_s": 0.3}


def test_request_returns_the_matching_reply() -> None:
    with Link(ScriptedDevice(), **FAST) as link:
        status = link.request(m.GetStatus())
    assert isinstance(status, m.Status)
    assert status.battery_pct == 90


def test_concurrent_requests_each_get_their_own_reply() -> None:
    def slow_then_fast(frame: Frame) -> list[tuple[m.Message, int]]:
        if isinstance(frame.message, m.SetAmplitude):
            return [(m.SetAmplitudeAck(), frame.seq)]
        return ack(frame)

    device = ScriptedDevice(slow_then_fast)
    results: list[m.Message] = []
    with Link(device, **FAST) as link:
        threads = [
            threading.Thread(target=lambda msg=msg: results.append(link.request(msg)))
            for msg in [m.GetStatus(), m.SetAmplitude(1000), m.Heartbeat(1000)] * 5
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(type(r).__name__ for r in results) == sorted(["Status", "SetAmplitudeAck", "HeartbeatAck"] * 5)


def test_nak_becomes_a_refusal_naming_reason_parameter_contact_and_limit() -> None:
    def refuse(frame: Frame) -> list[tuple[m.Message, int]]:
        nak = m.Nak(frame.message.TYPE, NakReason.OUT_OF_RANGE, Param.CONTACT_CURRENT, 2, 12700)
        return [(nak, frame.seq)]

    with Link(ScriptedDevice(refuse), **FAST) as link, pytest.raises(DeviceRefused) as err:
        link.request(m.SetAmplitude(20000))
    assert str(err.value) == (
        "device refused SET_AMPLITUDE: out of range (contact current, contact 3, device limit 12.7 mA)"
    )
    assert (err.value.reason, err.value.param, err.value.index) == (NakReason.OUT_OF_RANGE, Param.CONTACT_CURRENT, 2)


def test_a_damaged_frame_is_sent_again_even_when_not_idempotent() -> None:
    answered: list[int] = []

    def bad_crc_once(frame: Frame) -> list[tuple[m.Message, int]]:
        answered.append(frame.seq)
        if len(answered) == 1:
            return [(m.Nak(frame.message.TYPE, NakReason.BAD_CRC), frame.seq)]
        return ack(frame)

    device = ScriptedDevice(bad_crc_once)
    with Link(device, **FAST) as link:
        assert isinstance(link.request(m.Start(), idempotent=False), m.StartAck)
    assert answered[0] == answered[1]  # the same seq: it is the same request


def test_idempotent_requests_are_retried_after_silence() -> None:
    def deaf_once(frame: Frame) -> list[tuple[m.Message, int]] | None:
        return ack(frame) if device.count(m.GetStatus) > 1 else None

    device = ScriptedDevice(deaf_once)
    with Link(device, **FAST) as link:
        assert isinstance(link.request(m.GetStatus()), m.Status)
        assert link.stats.retries == 1


def test_non_idempotent_requests_are_not_retried() -> None:
    device = ScriptedDevice(lambda frame: None)
    with Link(device, **FAST) as link, pytest.raises(ReplyTimeout, match="no reply to START"):
        link.request(m.Start(), idempotent=False)
    assert device.count(m.Start) == 1


def test_stop_is_resent_until_the_device_confirms() -> None:
    def lose_two_stops(frame: Frame) -> list[tuple[m.Message, int]] | None:
        return ack(frame) if device.count(m.Stop) >= 3 else None

    device = ScriptedDevice(lose_two_stops)
    with Link(device, **FAST) as link:
        link.stop()
    assert device.count(m.Stop) == 3


def test_unconfirmed_stop_declares_the_link_lost_and_says_what_to_do() -> None:
    with Link(ScriptedDevice(lambda frame: None), **FAST) as link, pytest.raises(LinkLost) as err:
        link.stop()
    assert "disconnect the leads" in str(err.value)


def test_stop_goes_out_while_another_request_waits_for_its_reply() -> None:
    release = threading.Event()

    def slow_program(frame: Frame) -> list[tuple[m.Message, int]] | None:
        if isinstance(frame.message, m.GetUsage):
            return None  # never answered: the request is still waiting when STOP goes out
        return ack(frame)

    device = ScriptedDevice(slow_program)
    with Link(device, reply_timeout_s=1.0, retries=0) as link:
        outcome: list[BaseException] = []

        def wait_for_usage() -> None:
            try:
                link.request(m.GetUsage())
            except ReplyTimeout as err:
                outcome.append(err)

        waiter = threading.Thread(target=wait_for_usage)
        waiter.start()
        while device.count(m.GetUsage) == 0:
            release.wait(0.001)
        link.stop()
        assert [type(f.message) for f in device.received] == [m.GetUsage, m.Stop]
        waiter.join()
    assert len(outcome) == 1


def test_events_reach_subscribers_and_stray_replies_are_counted() -> None:
    device = ScriptedDevice()
    seen: list[object] = []
    got = threading.Event()
    with Link(device, **FAST) as link:
        link.subscribe(lambda e: (seen.append(e), got.set()))
        device.send_unsolicited(m.EventFault(m.FaultCode.LEAD_OPEN, 3), 0)
        device.send_raw(encode(m.StopAck(), 77))  # nobody asked
        got.wait(1)
        link.request(m.GetStatus())  # the reader has handled everything sent before the reply
        assert seen == [m.EventFault(m.FaultCode.LEAD_OPEN, 3)]
        assert link.stats.stray_replies == 1


def test_a_vanished_port_loses_the_link_and_wakes_waiters() -> None:
    device = ScriptedDevice(lambda frame: None)
    changes: list[LinkStateChange] = []
    with Link(device, reply_timeout_s=5.0) as link:
        link.subscribe(lambda e: changes.append(e) if isinstance(e, LinkStateChange) else None)
        threading.Timer(0.05, device.vanish).start()
        with pytest.raises(LinkLost, match="lost"):
            link.request(m.GetStatus())
        assert link.status is LinkStatus.LOST
        with pytest.raises(LinkLost):
            link.request(m.GetStatus())
    assert changes[0].status is LinkStatus.LOST


def test_heartbeats_feed_the_watchdog_and_silence_loses_the_link() -> None:
    lost = threading.Event()

    def answer_three_heartbeats(frame: Frame) -> list[tuple[m.Message, int]] | None:
        return ack(frame) if device.count(m.Heartbeat) <= 3 else None

    device = ScriptedDevice(answer_three_heartbeats)
    with Link(device, **FAST) as link:
        link.subscribe(lambda e: lost.set() if isinstance(e, LinkStateChange) else None)
        link.start_heartbeat(150, stop_on_loss=True)
        assert lost.wait(5)
        assert link.status is LinkStatus.LOST
    first = device.received[0].message
    assert first == m.Heartbeat(150, m.HeartbeatFlags.STOP_ON_LOSS)
    assert device.count(m.Heartbeat) >= 5


def test_capture_records_both_directions_and_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "wire.jsonl"
    with Link(ScriptedDevice(), capture=WireCapture(path, port="scripted://device"), **FAST) as link:
        link.request(m.GetStatus())
    records = list(read_capture(path))
    assert [r.direction for r in records] == ["tx", "rx"]
    assert records[0].data == encode(m.GetStatus(), 0)


def test_a_damaged_capture_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "wire.jsonl"
    path.write_text('{"scsctl_capture": 1}\n{"t": 0.1, "dir": "tx", "hex": "zz"}\n')
    with pytest.raises(UsageError, match="line 2"):
        list(read_capture(path))


def test_stop_keeps_trying_through_write_errors_until_the_device_confirms() -> None:
    class Flaky(ScriptedDevice):
        failures = 2

        def write(self, data: bytes) -> None:
            if self.failures:
                self.failures -= 1
                raise TransportError("write timed out", port=self.url)
            super().write(data)

    device = Flaky()
    with Link(device, **FAST) as link:
        link.stop()
    assert device.count(m.Stop) == 1


def test_stop_is_still_sent_after_heartbeats_declared_the_link_lost() -> None:
    def deaf_to_heartbeats(frame: Frame) -> list[tuple[m.Message, int]] | None:
        return None if isinstance(frame.message, m.Heartbeat) and device.count(m.Heartbeat) > 1 else ack(frame)

    device = ScriptedDevice(deaf_to_heartbeats)
    with Link(device, **FAST) as link:
        link.start_heartbeat(150, stop_on_loss=False)
        while link.status is LinkStatus.UP:
            threading.Event().wait(0.01)
        link.stop()  # the heartbeats went unanswered, but STOP is answered: it must go out
    assert device.count(m.Stop) >= 1


def test_a_refused_heartbeat_is_a_missed_beat_not_the_end_of_the_heartbeat() -> None:
    def busy_once(frame: Frame) -> list[tuple[m.Message, int]]:
        if isinstance(frame.message, m.Heartbeat) and device.count(m.Heartbeat) == 2:
            return [(m.Nak(m.MessageType.HEARTBEAT, NakReason.BUSY), frame.seq)]
        return ack(frame)

    device = ScriptedDevice(busy_once)
    with Link(device, **FAST) as link:
        link.start_heartbeat(90, stop_on_loss=False)
        while device.count(m.Heartbeat) < 6:
            threading.Event().wait(0.01)
        assert link.status is LinkStatus.UP
        assert link.stats.heartbeats_missed == 1


def test_a_message_the_wire_cannot_carry_is_a_usage_error_with_the_codecs_cause() -> None:
    device = ScriptedDevice()
    with Link(device, **FAST) as link, pytest.raises(UsageError, match="SET_AMPLITUDE cannot be sent") as err:
        link.request(m.SetAmplitude(70_000))  # more than the u16 on the wire
    assert isinstance(err.value.__cause__, LocalProtocolError)
    assert device.received == []  # nothing was sent


def test_a_reply_that_breaks_the_protocol_is_a_violation_with_its_cause() -> None:
    def wrong_version(frame: Frame) -> list[tuple[m.Message, int]]:
        identify = m.Identify(0x5101, 1, 1, 0, 0, "EMU", 9, 16, 4, Capability(0))
        return [(identify, frame.seq)]

    device = ScriptedDevice(wrong_version)
    with Link(device, **FAST) as link, pytest.raises(ProtocolViolation, match="version 9") as err:
        link.request(m.Hello(1, 1))
    assert isinstance(err.value.__cause__, RemoteProtocolError)


def test_a_refusal_carries_the_protocols_enums() -> None:
    def refuse(frame: Frame) -> list[tuple[m.Message, int]]:
        return [(m.Nak(frame.message.TYPE, NakReason.EMPTY_SLOT, Param.SLOT, 0xFF, 0), frame.seq)]

    with Link(ScriptedDevice(refuse), **FAST) as link, pytest.raises(DeviceRefused) as err:
        link.request(m.ReadProgram(3))
    assert (err.value.command, err.value.reason, err.value.param) == (
        MessageType.READ_PROGRAM, NakReason.EMPTY_SLOT, Param.SLOT,
    )  # fmt: skip


def test_an_event_ahead_of_a_reply_reaches_subscribers_before_the_request_returns() -> None:
    # Whoever reads the reply (the caller itself when it is the only one waiting, else the
    # reader thread) dispatches what came before it: the event is never left unread.
    event = m.EventState(m.State.PROGRAMMED, m.State.IDLE, m.StateCause.WATCHDOG, 0)

    def event_then_reply(frame: Frame) -> list[tuple[m.Message, int]]:
        return [(event, 0), *ack(frame)]

    seen: list[m.Message | LinkStateChange] = []
    with Link(ScriptedDevice(event_then_reply), **FAST) as link:
        link.subscribe(seen.append)
        for n in range(1, 6):
            link.request(m.GetStatus())
            assert seen.count(event) == n

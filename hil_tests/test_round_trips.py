"""Every command is answered with its own reply type and the request's sequence number."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from firmware_protocol import messages as m
from firmware_protocol.constants import Capability, MessageType
from scsctl.pytest_plugin import RawSender

from .support import raw_ok, raw_program, raw_stimulating


def _slot(raw: RawSender) -> int:
    assert raw.identify is not None
    return raw.identify.program_slots - 1


def _stopped_with_program(raw: RawSender) -> int:
    slot = _slot(raw)
    raw_ok(raw, m.Stop())
    raw_ok(raw, m.SetProgram(raw_program(raw, slot)))
    return slot


def _start(raw: RawSender) -> m.Message:
    slot = _stopped_with_program(raw)
    raw_ok(raw, m.MeasureImpedance())
    return m.Start(slot)


def _measure_impedance(raw: RawSender) -> m.Message:
    raw_ok(raw, m.Stop())
    return m.MeasureImpedance()


def _set_amplitude(raw: RawSender) -> m.Message:
    raw_stimulating(raw, _slot(raw))
    return m.SetAmplitude(0)


PREPARE: dict[MessageType, Callable[[RawSender], m.Message]] = {
    MessageType.HELLO: lambda raw: m.Hello(),
    MessageType.GET_STATUS: lambda raw: m.GetStatus(),
    MessageType.HEARTBEAT: lambda raw: m.Heartbeat(0),
    MessageType.SET_PROGRAM: lambda raw: m.SetProgram(raw_program(raw, _slot(raw))),
    MessageType.READ_PROGRAM: lambda raw: m.ReadProgram(_stopped_with_program(raw)),
    MessageType.SELECT_PROGRAM: lambda raw: m.SelectProgram(_stopped_with_program(raw)),
    MessageType.START: _start,
    MessageType.STOP: lambda raw: m.Stop(),
    MessageType.SET_AMPLITUDE: _set_amplitude,
    MessageType.MEASURE_IMPEDANCE: _measure_impedance,
    MessageType.GET_USAGE: lambda raw: m.GetUsage(0, 1),
    MessageType.GET_COUNTERS: lambda raw: m.GetCounters(),
}
OPTIONAL: dict[MessageType, Capability] = {MessageType.GET_COUNTERS: Capability.COUNTERS}
"""Commands a device need not implement, and the capability that says it does."""


@pytest.mark.scs_requirement("PRO-003")
@pytest.mark.parametrize("command", sorted(m.RESPONSE_TYPES), ids=lambda c: c.name)
def test_every_command_round_trip(scs_raw: RawSender, command: MessageType) -> None:
    needed = OPTIONAL.get(command)
    if needed is not None and scs_raw.identify is not None and needed not in scs_raw.identify.capabilities:
        pytest.skip(f"{command.name} is optional and the device does not advertise {needed.name}")
    message = PREPARE[command](scs_raw)
    assert message.TYPE is command
    seq, frame = scs_raw.frame(message)
    reply = scs_raw.send(frame, seq=seq, timeout_s=1.5)  # only a frame carrying this seq is taken
    assert reply is not None, f"no reply with seq {seq} to {command.name}"
    assert reply.TYPE is m.RESPONSE_TYPES[command], f"{command.name} was answered {reply}"
    assert not scs_raw.stray, f"replies with other sequence numbers came: {scs_raw.stray}"

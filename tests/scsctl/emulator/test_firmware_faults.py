"""Faults injected at the firmware level: NAKs, stalls, reboots, hardware faults, and their CLI form."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from firmware_protocol import encode
from firmware_protocol import messages as m
from firmware_protocol.constants import (
    FaultCode,
    FaultFlags,
    HeartbeatFlags,
    MessageType,
    NakReason,
    Param,
    State,
    StateCause,
)
from scsctl.emulator import (
    MODELS,
    BatteryLevel,
    HardwareFault,
    LeadOpen,
    LeadRepair,
    LeadShort,
    NakNext,
    Reboot,
    Stall,
    parse_firmware_fault,
)

from .host import program, ready


def test_nak_next_answers_one_command_unexecuted() -> None:
    host = ready()
    host.fw.inject(NakNext(NakReason.BUSY))
    assert host.nak(m.SetProgram(program())).reason == NakReason.BUSY
    assert host.nak(m.ReadProgram(0)).reason == NakReason.EMPTY_SLOT  # it was not stored
    host.ok(m.SetProgram(program()))


def test_nak_next_for_a_named_command_with_its_fields() -> None:
    host = ready()
    host.ok(m.SetProgram(program()))
    host.fw.inject(NakNext(NakReason.OUT_OF_RANGE, MessageType.START, Param.COMPLIANCE, 3, 12_000, count=2))
    host.ok(m.GetStatus())
    nak = host.nak(m.Start(0))
    assert (nak.reason, nak.param, nak.index, nak.limit) == (NakReason.OUT_OF_RANGE, Param.COMPLIANCE, 3, 12_000)
    assert host.nak(m.Start(0)).param == Param.COMPLIANCE
    host.ok(m.Start(0))


def test_stop_is_refused_only_when_named() -> None:
    host = ready()
    host.ok(m.SetProgram(program()))
    host.ok(m.Start(0))
    host.fw.inject(NakNext(NakReason.BUSY))
    host.ok(m.Stop())  # the generic fault waits for another command
    assert host.nak(m.GetStatus()).reason == NakReason.BUSY
    host.ok(m.Start(0))
    host.fw.inject(NakNext(NakReason.BUSY, MessageType.STOP))
    assert host.nak(m.Stop()).reason == NakReason.BUSY
    assert host.fw.state == State.STIMULATING
    host.ok(m.Stop())


def test_a_stall_holds_answers_and_then_stop_goes_first() -> None:
    host = ready()
    host.ok(m.SetProgram(program()))
    host.ok(m.Start(0))
    host.fw.inject(Stall(2.0, at_s=1.0))
    host.at(1.5)
    late = [encode(m.SetProgram(program(1)), 50), encode(m.GetStatus(), 51), encode(m.Stop(), 52),
            encode(m.ReadProgram(0), 53)]  # fmt: skip
    assert host.send_raw(b"".join(late)) == []
    assert host.at(2.9) == []
    assert host.fw.output_ua == 3000  # output runs on while the firmware is stuck
    frames = host.at(3.0)
    assert [(f.seq, type(f.message)) for f in frames] == [
        (52, m.StopAck),
        (2, m.EventState),  # STIMULATING -> PROGRAMMED, caused by the STOP
        (50, m.Nak),
        (51, m.Nak),
        (53, m.ProgramData),
    ]
    assert [f.message.reason for f in frames[2:4]] == [NakReason.BUSY] * 2  # type: ignore[attr-defined]
    assert host.fw.monitor.first_off_after(0.0) == pytest.approx(3.0)
    assert host.nak(m.ReadProgram(1)).reason == NakReason.EMPTY_SLOT


def test_a_long_stall_lets_the_watchdog_stop_a_tethered_session() -> None:
    host = ready()
    host.ok(m.SetProgram(program()))
    host.ok(m.Start(0))
    host.ok(m.Heartbeat(500, HeartbeatFlags.STOP_ON_LOSS))
    host.fw.inject(Stall(5.0))
    for i in range(1, 10):
        host.at(0.3 * i)
        host.send_raw(encode(m.Heartbeat(500, HeartbeatFlags.STOP_ON_LOSS), 100 + i))
    assert host.fw.monitor.first_off_after(0.0) == pytest.approx(0.5)


def test_reboot_at_a_time() -> None:
    host = ready()
    host.ok(m.SetProgram(program()))
    host.ok(m.Start(0))
    host.fw.inject(Reboot(at_s=4.0))
    host.clear()
    frames = host.at(6.0)
    assert [(f.seq, f.message) for f in frames] == [
        (0, m.EventState(State.IDLE, State.PROGRAMMED, StateCause.POWER_ON, 0)),
    ]
    assert host.fw.monitor.on_intervals() == [(0.0, 4.0)]
    assert host.nak(m.GetUsage(0, 0)).reason == NakReason.NOT_PERMITTED


def test_a_hardware_fault_holds_until_a_power_cycle() -> None:
    host = ready()
    host.ok(m.SetProgram(program()))
    host.ok(m.Start(0))
    host.fw.inject(HardwareFault(code=42, at_s=1.0))
    host.at(2.0)
    assert host.events(m.EventFault)[-1] == m.EventFault(FaultCode.HARDWARE, 0xFF, 42, FaultFlags.HARDWARE)
    host.ok(m.Stop())
    host.ok(m.SelectProgram(0))
    assert host.fw.state == State.FAULT
    host.power_cycle()
    host.ok(m.Hello())
    assert host.status().state == State.PROGRAMMED


def test_injected_lead_faults_validate_the_contact_at_once() -> None:
    host = ready()
    with pytest.raises(ValueError, match="contact index 16"):
        host.fw.inject(LeadOpen(16))


@pytest.mark.parametrize(
    ("spec", "fault"),
    [
        ("nak=BUSY", NakNext(NakReason.BUSY)),
        ("nak=wrong_state:start", NakNext(NakReason.WRONG_STATE, MessageType.START)),
        ("lead-open=3@5", LeadOpen(2, 15.0)),
        ("lead-short=9", LeadShort(8)),
        ("lead-repair=1@0.5", LeadRepair(0, 10.5)),
        ("battery=1@60", BatteryLevel(1.0, 70.0)),
        ("stall=2.5@10", Stall(2.5, 20.0)),
        ("reboot@30", Reboot(40.0)),
        ("reboot", Reboot()),
        ("hardware=7@1", HardwareFault(7, 11.0)),
        ("hardware", HardwareFault(1)),
    ],
)
def test_parse_firmware_fault(spec: str, fault: object) -> None:
    assert parse_firmware_fault(spec, now_s=10.0) == fault


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("nak=SOMETIMES", "not one of"),
        ("nak=BUSY@3", "no @time"),
        ("lead-open=0", "start at 1"),
        ("lead-open=x", "not a number"),
        ("stall=-1", "must not be negative"),
        ("explode", "unknown firmware fault"),
        ("lead-open=2.5", "'2.5' is not a whole number"),
        ("lead-open=inf", "'inf' is not a finite number"),
        ("lead-open=", "'' is not a number"),
        ("battery=101", "above 100 %"),
        ("battery=nan", "not a finite number"),
        ("stall=inf", "not a finite number"),
        ("hardware=1.5", "not a whole number"),
        ("hardware=65536", "above 65535"),
        ("reboot@nan", "time 'nan' is not a finite number"),
    ],
)
def test_parse_firmware_fault_errors_name_the_problem(spec: str, words: str) -> None:
    with pytest.raises(ValueError, match=words) as caught:
        parse_firmware_fault(spec)
    assert repr(spec) in str(caught.value)


@pytest.mark.parametrize("model", sorted(MODELS))
def test_parse_firmware_fault_refuses_a_contact_the_model_does_not_have(model: str) -> None:
    count = MODELS[model].contact_count
    assert parse_firmware_fault(f"lead-open={count}", model=MODELS[model]) == LeadOpen(count - 1)
    with pytest.raises(ValueError, match=rf"contact {count + 1} does not exist on {model}, .* 1\.\.{count}"):
        parse_firmware_fault(f"lead-open={count + 1}", model=MODELS[model])


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda: BatteryLevel(150.0), "outside 0..100"),
        (lambda: LeadShort(-1), "negative"),
        (lambda: Stall(math.inf), "finite"),
        (lambda: HardwareFault(0x10000), "outside 0..65535"),
        (lambda: Reboot(math.nan), "finite"),
    ],
)
def test_fault_values_are_checked_when_made_not_when_they_fire(make: Callable[[], object], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        make()

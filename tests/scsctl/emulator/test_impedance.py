"""Impedance checks, lead faults and compliance, as the device reports them."""

from __future__ import annotations

import dataclasses

import pytest

from firmware_protocol import encode
from firmware_protocol import messages as m
from firmware_protocol.constants import (
    IMPEDANCE_OVER_RANGE_OHM,
    EventCode,
    FaultCode,
    FaultFlags,
    ImpedanceStatus,
    MessageType,
    NakReason,
    State,
    StateCause,
    StatusFlags,
)
from scsctl.emulator import MODELS, Firmware, LeadOpen, Leads, LeadShort

from .host import Host, program, ready


def _measure(host: Host) -> m.Impedance:
    assert host.request(m.MeasureImpedance()) is None
    replies = [f for f in host.after(0.15) if f.seq == host.seq and isinstance(f.message, m.Impedance)]
    assert len(replies) == 1
    return replies[0].message  # type: ignore[return-value]


def test_normal_leads_read_ok_and_make_the_check_fresh() -> None:
    host = ready(Firmware(leads=Leads(16, seed=3, normal_min_ohm=600, normal_max_ohm=900)))
    reply = _measure(host)
    assert all(r.status == ImpedanceStatus.OK for r in reply.contacts)
    assert all(590 <= r.impedance_ohm <= 910 for r in reply.contacts)  # 1 % measurement noise
    assert host.status().status_flags & StatusFlags.IMPEDANCE_FRESH
    assert host.fw.storage.log.entries()[-1].code == EventCode.IMPEDANCE_MEASURED


def test_same_seed_same_leads() -> None:
    def readings(seed: int) -> tuple[m.ImpedanceReading, ...]:
        return _measure(ready(Firmware(seed=seed))).contacts

    assert readings(5) == readings(5)
    assert readings(5) != readings(6)


def test_high_and_low_readings_send_warnings_after_the_reply() -> None:
    fw = Firmware()
    fw.leads.set_ohm(2, 4000)
    fw.leads.set_ohm(7, 200)
    host = ready(fw)
    host.request(m.MeasureImpedance())
    frames = host.after(0.15)
    assert [type(f.message) for f in frames] == [m.Impedance, m.EventImpedanceWarning, m.EventImpedanceWarning]
    warnings = [f.message for f in frames[1:]]
    assert [(w.contact, w.status) for w in warnings] == [  # type: ignore[attr-defined]
        (2, ImpedanceStatus.HIGH),
        (7, ImpedanceStatus.LOW),
    ]
    assert host.fw.state == State.IDLE  # warnings only


@pytest.mark.parametrize(
    ("fault", "status", "code", "flag"),
    [
        ("open", ImpedanceStatus.OPEN, FaultCode.LEAD_OPEN, FaultFlags.LEAD_OPEN),
        ("short", ImpedanceStatus.SHORT, FaultCode.LEAD_SHORT, FaultFlags.LEAD_SHORT),
    ],
)
def test_a_failed_check_raises_a_lead_fault_until_a_check_passes(
    fault: str, status: ImpedanceStatus, code: FaultCode, flag: FaultFlags
) -> None:
    fw = Firmware()
    getattr(fw.leads, fault)(4)
    host = ready(fw)
    host.ok(m.SetProgram(program()))
    host.ok(m.SelectProgram(0))
    reply = _measure(host)
    assert reply.contacts[4].status == status
    if status == ImpedanceStatus.OPEN:
        assert reply.contacts[4].impedance_ohm == IMPEDANCE_OVER_RANGE_OHM
    fault_event, state_event = host.events()[-2:]
    assert isinstance(fault_event, m.EventFault)
    assert (fault_event.fault, fault_event.contact, fault_event.fault_flags) == (code, 4, flag)
    assert state_event == m.EventState(State.PROGRAMMED, State.FAULT, StateCause.FAULT, 0)
    assert not host.status().status_flags & StatusFlags.IMPEDANCE_FRESH
    assert host.nak(m.Start(0)).reason == NakReason.WRONG_STATE
    host.ok(m.Stop())
    assert host.fw.state == State.FAULT  # a lead fault holds until a check passes
    fw.leads.repair(4)
    _measure(host)
    status_now = host.status()
    assert status_now.state == State.FAULT  # until STOP or SELECT_PROGRAM
    assert status_now.fault_flags == FaultFlags.NONE
    assert status_now.status_flags & StatusFlags.IMPEDANCE_FRESH
    host.ok(m.Stop())
    assert host.status().state == State.PROGRAMMED
    host.ok(m.Start(0))


def test_a_lead_opening_mid_stimulation_stops_output_at_once() -> None:
    host = ready()
    host.ok(m.SetProgram(program()))
    host.ok(m.Start(0))
    host.fw.inject(LeadOpen(1, at_s=2.0))  # contact 2, the cathode
    host.fw.inject(LeadShort(9, at_s=1.0))  # an unused contact: no effect on output
    host.at(5.0)
    assert host.fw.monitor.on_intervals() == [(0.0, 2.0)]
    fault_event, state_event = host.events()[-2:]
    assert fault_event == m.EventFault(FaultCode.LEAD_OPEN, 1, IMPEDANCE_OVER_RANGE_OHM, FaultFlags.LEAD_OPEN)
    assert state_event == m.EventState(State.STIMULATING, State.FAULT, StateCause.FAULT, 0)
    log = host.fw.storage.log.entries()
    assert [(e.code, e.detail) for e in log[-2:]] == [
        (EventCode.FAULT, FaultCode.LEAD_OPEN | 1 << 8),
        (EventCode.STIMULATION_STOPPED, StateCause.FAULT),
    ]


def test_a_short_is_found_by_the_first_ramp_step() -> None:
    fw = Firmware()
    fw.leads.short(0)
    host = ready(fw)
    host.ok(m.SetProgram(program(ramp_up_ms=1000)))
    host.ok(m.Start(0))
    host.at(1.0)
    assert host.fw.state == State.FAULT
    assert host.fw.monitor.on_intervals() == []  # the output stage never settled on a current
    assert host.fw.storage.log.entries()[-1].device_time_s == 0
    assert host.events(m.EventFault)[-1].fault == FaultCode.LEAD_SHORT  # type: ignore[attr-defined]


def test_over_compliance_while_stimulating_is_a_fault_cleared_by_stop() -> None:
    fw = Firmware()
    fw.leads.set_ohm(1, 6000)  # high, but not open
    host = ready(fw)
    host.ok(m.SetProgram(program(amplitude_ua=3000)))  # nothing measured: accepted
    host.ok(m.Start(0))
    fault = host.events(m.EventFault)[-1]
    assert fault == m.EventFault(FaultCode.OVER_COMPLIANCE, 1, 18_000, FaultFlags.OVER_COMPLIANCE)
    assert host.fw.state == State.FAULT
    assert host.fw.output_ua == 0
    host.ok(m.Stop())
    status = host.status()
    assert (status.state, status.fault_flags) == (State.PROGRAMMED, FaultFlags.NONE)


def test_a_model_that_requires_a_fresh_check_refuses_start_until_one_passed() -> None:
    fw = Firmware(model=MODELS["drg-4x4"])
    host = ready(fw)
    host.ok(m.SetProgram(program(amplitude_ua=1000, patient_max_ua=2000)))
    assert host.nak(m.Start(0)).reason == NakReason.NOT_PERMITTED
    _measure(host)
    host.ok(m.Start(0))
    host.fw.inject(LeadOpen(0, at_s=1.0))
    host.at(1.0)
    host.ok(m.Stop())  # still FAULT: the lead fault holds
    fw.leads.repair(0)
    _measure(host)
    host.ok(m.Stop())
    host.ok(m.Start(0))  # the passing check made it fresh again


def test_measuring_is_busy_for_output_commands_and_stop_aborts_it() -> None:
    host = ready()
    host.ok(m.SetProgram(program()))
    host.ok(m.SelectProgram(0))
    host.request(m.MeasureImpedance())
    measure_seq = host.seq
    assert host.nak(m.Start(0)).reason == NakReason.BUSY
    assert host.nak(m.SetProgram(program(1))).reason == NakReason.BUSY
    assert isinstance(host.ok(m.GetStatus()), m.Status)
    host.seq += 1
    frames = host.send_raw(encode(m.Stop(), host.seq))
    assert [(f.seq, f.message) for f in frames] == [
        (host.seq, m.StopAck()),
        (measure_seq, m.Nak(MessageType.MEASURE_IMPEDANCE, NakReason.BUSY)),
    ]
    assert host.after(1.0) == []  # the aborted measurement never answers


def test_a_model_without_impedance_measurement() -> None:
    model = dataclasses.replace(MODELS["tonic-burst-16"], impedance=False)
    host = ready(Firmware(model=model))
    assert host.nak(m.MeasureImpedance()).reason == NakReason.NOT_PERMITTED

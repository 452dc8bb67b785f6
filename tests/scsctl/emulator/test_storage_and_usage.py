"""What survives a power cycle, and the usage counters and event log read through GET_USAGE."""

from __future__ import annotations

import pytest

from firmware_protocol import messages as m
from firmware_protocol.constants import NO_SLOT, EventCode, NakReason, Param, State, StateCause
from scsctl.emulator import EventLog, Firmware, Reboot, Storage

from .host import Host, program, ready


def test_programs_and_selection_survive_a_power_cycle() -> None:
    host = ready()
    host.ok(m.SetProgram(program(0, amplitude_ua=2500)))
    host.ok(m.SetProgram(program(2, amplitude_ua=1500)))
    host.ok(m.SelectProgram(2))
    host.ok(m.Start(NO_SLOT))
    host.at(5.0)
    host.clear()
    host.power_cycle()
    assert host.fw.monitor.on_intervals() == [(0.0, 5.0)]
    assert host.frames[0].seq == 0
    assert host.frames[0].message == m.EventState(State.IDLE, State.PROGRAMMED, StateCause.POWER_ON, 0)
    assert host.nak(m.ReadProgram(0)).reason == NakReason.NOT_PERMITTED  # HELLO again first
    host.ok(m.Hello())
    assert host.ok(m.ReadProgram(0)) == m.ProgramData(program(0, amplitude_ua=2500))
    status = host.status()
    assert (status.state, status.active_slot, status.amplitude_ua, status.uptime_s) == (
        State.PROGRAMMED, 2, 0, 0
    )  # fmt: skip
    host.ok(m.Start(NO_SLOT))
    assert host.fw.output_ua == 1500


def test_a_new_firmware_on_the_same_storage_is_the_same_device_after_a_reboot() -> None:
    storage = Storage()
    host = ready(Firmware(storage=storage))
    host.ok(m.SetProgram(program(1)))
    host.ok(m.SelectProgram(1))
    again = ready(Firmware(storage=storage, now_s=100.0), t=100.0)
    assert again.status().active_slot == 1
    usage = again.ok(m.GetUsage(0, 0))
    assert isinstance(usage, m.Usage)
    assert usage.power_on_count == 2


def test_storage_round_trips_through_json() -> None:
    host = ready()
    host.ok(m.SetProgram(program(3, contacts=program().contacts[::-1])))
    host.ok(m.SelectProgram(3))
    text = host.fw.storage.to_json()
    copy = Storage.from_json(text)
    assert copy.programs == host.fw.storage.programs
    assert copy.selected_slot == 3
    assert copy.log.entries() == host.fw.storage.log.entries()
    assert copy.to_json() == text
    with pytest.raises(ValueError, match="not valid"):
        Storage.from_json('{"programs": {}}')


def _usage(host: Host, first: int, count: int) -> m.Usage:
    reply = host.ok(m.GetUsage(first, count))
    assert isinstance(reply, m.Usage)
    return reply


def test_usage_log_pages() -> None:
    host = ready()
    for i in range(40):
        host.at(float(i))
        host.ok(m.SetProgram(program(i % 4)))
    total = 41  # POWER_ON and 40 PROGRAM_WRITTEN
    first = _usage(host, 0, 32)
    assert first.event_total == total
    assert len(first.events) == 32
    assert first.events[0].code == EventCode.POWER_ON
    rest = _usage(host, 32, 32)
    assert len(rest.events) == 9
    assert [(e.device_time_s, e.detail) for e in rest.events] == [(i - 1, (i - 1) % 4) for i in range(32, 41)]
    assert _usage(host, total, 32).events == ()
    nak = host.nak(m.GetUsage(total + 1, 1))
    assert (nak.param, nak.limit) == (Param.EVENT_INDEX, total)
    nak = host.nak(m.GetUsage(0, 33))
    assert (nak.param, nak.limit) == (Param.EVENT_INDEX, 32)


def test_usage_counters() -> None:
    host = ready()
    host.ok(m.SetProgram(program(cycle_on_s=10, cycle_off_s=10)))
    host.ok(m.Start(0))
    host.at(15.0)
    host.ok(m.SetAmplitude(2500))  # in the off-period
    host.at(30.0)
    host.ok(m.Stop())
    host.at(100.0)
    host.ok(m.Start(0))
    host.at(104.5)
    usage = _usage(host, 0, 0)
    assert (usage.stimulation_s, usage.start_count, usage.amplitude_change_count) == (34, 2, 1)
    assert (usage.power_on_count, usage.fault_count) == (1, 0)


def test_the_log_keeps_the_newest_entries_when_full() -> None:
    storage = Storage(log=EventLog(capacity=5))
    host = ready(Firmware(storage=storage))
    for slot in (0, 1, 2, 3, 0, 1):
        host.ok(m.SetProgram(program(slot)))
    usage = _usage(host, 0, 32)
    assert usage.event_total == 5
    assert [e.code for e in usage.events] == [EventCode.PROGRAM_WRITTEN] * 5
    assert [e.detail for e in usage.events] == [1, 2, 3, 0, 1]


def test_log_times_continue_across_power_cycles() -> None:
    host = ready()
    host.at(50.0)
    host.fw.inject(Reboot())
    host.at(60.0)
    host.ok(m.Hello())
    host.ok(m.SetProgram(program()))
    times = [(e.code, e.device_time_s) for e in host.fw.storage.log.entries()]
    assert times == [(EventCode.POWER_ON, 0), (EventCode.POWER_ON, 50), (EventCode.PROGRAM_WRITTEN, 60)]

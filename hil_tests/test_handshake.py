"""Handshake and version (PROTOCOL.md section 9)."""

from __future__ import annotations

from typing import Any

import pytest

from firmware_protocol import PROTOCOL_VERSION
from firmware_protocol import messages as m
from firmware_protocol.constants import NakReason, Param
from scsctl import Device
from scsctl.emulator.runner import EmulatorRunner
from scsctl.pytest_plugin import RawSender

from .support import raw_ok, raw_program, raw_status


@pytest.mark.scs_requirement("PRO-001")
def test_hello_identifies_a_device_its_profile_describes(scs_device: Device) -> None:
    ident, profile = scs_device.identity, scs_device.profile
    assert ident.model_id == profile.model_id
    assert ident.protocol_version == PROTOCOL_VERSION
    assert ident.contacts == profile.contacts.count
    assert ident.program_slots == profile.program_slots
    assert ident.serial and ident.serial.isprintable() and len(ident.serial) <= 16
    assert all(part.isdigit() for part in ident.firmware.split(".")) and ident.firmware.count(".") == 2
    for waveform in profile.waveforms:
        assert waveform.name.lower() in ident.capabilities, f"the profile offers {waveform.name}, the device not"
    if profile.cycling:
        assert "cycling" in ident.capabilities


@pytest.mark.scs_requirement("PRO-001")
def test_hello_without_a_common_version_is_refused_and_a_good_one_changes_nothing(scs_raw: RawSender) -> None:
    before = raw_status(scs_raw)
    for hello in (m.Hello(200, 250), m.Hello(2, 1), m.Hello(0, 0)):
        nak = scs_raw.request(hello)
        assert isinstance(nak, m.Nak), f"{hello} was answered {nak}"
        assert (nak.reason, nak.param) == (NakReason.UNSUPPORTED_VERSION, Param.PROTOCOL_VERSION)
        assert nak.limit >= PROTOCOL_VERSION  # the device's highest version
    assert isinstance(raw_ok(scs_raw, m.Hello(PROTOCOL_VERSION, PROTOCOL_VERSION + 5)), m.Identify)
    after = raw_status(scs_raw)
    assert (after.state, after.active_slot, after.setpoint_ua) == (before.state, before.active_slot, before.setpoint_ua)


@pytest.mark.scs_emulator_only
@pytest.mark.scs_requirement("PRO-002")
def test_before_hello_only_hello_status_and_stop_are_executed(
    scs_emulator: EmulatorRunner[Any], scs_raw: RawSender
) -> None:
    raw_ok(scs_raw, m.SetProgram(raw_program(scs_raw, 0)))
    scs_emulator.power_cycle()  # forgets the HELLO
    for command in (m.SelectProgram(0), m.Start(0), m.SetProgram(raw_program(scs_raw, 1)), m.GetUsage(0, 1)):
        nak = scs_raw.request(command)
        assert isinstance(nak, m.Nak) and nak.reason is NakReason.NOT_PERMITTED, f"{command} was answered {nak}"
    raw_ok(scs_raw, m.GetStatus())
    raw_ok(scs_raw, m.Stop())
    raw_ok(scs_raw, m.Hello())
    nak = scs_raw.request(m.ReadProgram(1))
    assert isinstance(nak, m.Nak) and nak.reason is NakReason.EMPTY_SLOT  # slot 1 was never written
    raw_ok(scs_raw, m.SelectProgram(0))

"""Limits are enforced twice: by the host's guard before sending, and by the device on its own."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import pytest

from firmware_protocol import Decoder, Frame
from firmware_protocol import messages as m
from firmware_protocol.constants import AmplitudeFlags, HeartbeatFlags, NakReason, Param, Polarity, State
from scsctl import Device
from scsctl.errors import SafetyRefusal
from scsctl.link import read_capture
from scsctl.profiles import profile_for_model
from scsctl.pytest_plugin import Measure, RawSender

from .support import (
    install,
    limits,
    program,
    raw_ok,
    raw_program,
    raw_status,
    raw_stimulating,
    ready_to_start,
    wait_state,
)


def _sent(capture: Path) -> list[m.Message]:
    decoder = Decoder()
    out: list[m.Message] = []
    for record in read_capture(capture):
        if record.direction == "tx":
            out += [item.message for item in decoder.feed(record.data) if isinstance(item, Frame)]
    return out


@pytest.mark.scs_requirement("SAF-001")
def test_the_host_refuses_out_of_range_values_and_sends_nothing(
    scs_connect: Callable[..., Device], tmp_path: Path
) -> None:
    capture = tmp_path / "wire.jsonl"
    dev = scs_connect(capture=capture)
    grids = limits(dev)
    base = install(dev, program(dev, 0))
    refused = {
        "amplitude_ua": dataclasses.replace(base, amplitude_ua=grids.amplitude_ua.max + 1000),
        "pulse_width_us": dataclasses.replace(base, pulse_width_us=grids.pulse_width_us.max + 100),
        "rate_dhz": dataclasses.replace(base, rate_dhz=grids.rate_dhz.max + 1000),
        "patient_max_ua": dataclasses.replace(base, patient_max_ua=grids.amplitude_ua.max + 1000),
    }
    for parameter, prog in refused.items():
        with pytest.raises(SafetyRefusal) as err:
            dev.write_program(prog)
        assert err.value.parameter == parameter
        assert err.value.limit is not None
        assert dev.profile.name in str(err.value)
    assert dev.read_program(0) == base

    ready_to_start(dev)
    dev.start(0)
    wait_state(dev, State.STIMULATING)
    above = limits(dev).amplitude_ua.ceil(base.patient_max_ua + 1)  # the next setting up
    assert above is not None
    with pytest.raises(SafetyRefusal) as err:
        dev.set_amplitude(above)
    assert err.value.parameter == "amplitude_ua"
    assert err.value.limit == base.patient_max_ua
    assert dev.status().setpoint_ua == base.amplitude_ua
    dev.stop()
    dev.close()

    refused_programs = list(refused.values())
    for message in _sent(capture):
        assert not (isinstance(message, m.SetProgram) and message.program in refused_programs), message
        assert not (isinstance(message, m.SetAmplitude) and message.amplitude_ua > base.patient_max_ua), message


# Values no stimulator could take: far beyond any device's range, or inconsistent in themselves.
_RAW_CASES: dict[str, tuple[dict[str, object], Param]] = {
    "amplitude_65_mA": ({"amplitude_ua": 65_000, "patient_max_ua": 65_000}, Param.AMPLITUDE),
    "pulse_width_65_ms": ({"pulse_width_us": 65_000}, Param.PULSE_WIDTH),
    "rate_429_MHz": ({"rate_dhz": 0xFFFF_FFFF}, Param.RATE),
    "rate_0_Hz": ({"rate_dhz": 0}, Param.RATE),
    "undefined_waveform": ({"waveform": 9}, Param.WAVEFORM),
    "burst_fields_on_tonic": ({"burst_pulses": 5, "intra_burst_rate_dhz": 5000}, Param.BURST_PULSES),
    "undefined_recharge": ({"recharge": 7}, Param.RECHARGE),
    "patient_max_65_mA": ({"patient_max_ua": 65_000}, Param.PATIENT_MAX),
    "amplitude_above_patient_max": ({"amplitude_ua": 500, "patient_max_ua": 100}, Param.AMPLITUDE),
}


@pytest.mark.scs_requirement("SAF-002")
@pytest.mark.parametrize("case", [*_RAW_CASES, "too_few_contacts", "no_cathode", "shares_not_100"])
def test_the_device_refuses_out_of_range_programs_sent_raw(scs_raw: RawSender, case: str, scs_measure: Measure) -> None:
    assert scs_raw.identify is not None
    slot = scs_raw.identify.program_slots - 1
    raw_ok(scs_raw, m.Stop())
    before = scs_raw.request(m.ReadProgram(slot))
    good = raw_program(scs_raw, slot)
    if case in _RAW_CASES:
        fields, param = _RAW_CASES[case]
        bad = dataclasses.replace(good, **fields)  # type: ignore[arg-type]
    elif case == "too_few_contacts":
        bad, param = dataclasses.replace(good, contacts=good.contacts[:-1]), Param.CONTACT_COUNT
    elif case == "no_cathode":
        only_anode = (m.ContactSetting(Polarity.ANODE, 100),) + (m.ContactSetting(),) * (len(good.contacts) - 1)
        bad, param = dataclasses.replace(good, contacts=only_anode), Param.CONTACT_POLARITY
    else:
        halves = (m.ContactSetting(Polarity.ANODE, 100), m.ContactSetting(Polarity.CATHODE, 60))
        bad, param = dataclasses.replace(good, contacts=halves + good.contacts[2:]), Param.CONTACT_SHARE
    nak = scs_raw.request(m.SetProgram(bad))
    assert isinstance(nak, m.Nak), f"the device accepted {case}: {bad}"
    assert (nak.reason, nak.param) == (NakReason.OUT_OF_RANGE, param), nak
    if case == "amplitude_65_mA":
        profile = profile_for_model(scs_raw.identify.model_id)
        # The device's own stop must not sit inside what its profile lets the host ask for.
        scs_measure("device_amplitude_limit_ua", nak.limit, units="uA",
                limit=(profile.hardware.amplitude_ua.max, 65_000 - 1))  # fmt: skip
    assert scs_raw.request(m.ReadProgram(slot)) == before, "a refused program changed the slot"


@pytest.mark.scs_requirement("SAF-002")
def test_the_device_refuses_out_of_range_amplitude_changes_sent_raw(scs_raw: RawSender) -> None:
    assert scs_raw.identify is not None
    profile = profile_for_model(scs_raw.identify.model_id)
    patient_max = profile.hardware.amplitude_ua.max
    # Short pulses so that even the patient maximum is within the device's charge limits.
    prog = raw_stimulating(scs_raw, 0, pulse_width_us=50, patient_max_ua=patient_max)
    cases = [
        (m.SetAmplitude(patient_max + 100), Param.AMPLITUDE),
        (m.SetAmplitude(65_000), Param.AMPLITUDE),
        (m.SetAmplitude(patient_max), Param.AMPLITUDE_STEP),  # from 0 in one step
        (m.SetAmplitude(0, AmplitudeFlags(0x80)), Param.FLAGS),  # a reserved flag bit
    ]
    for message, param in cases:
        nak = scs_raw.request(message)
        assert isinstance(nak, m.Nak), f"the device accepted {message}"
        assert (nak.reason, nak.param) == (NakReason.OUT_OF_RANGE, param), nak
        status = raw_status(scs_raw)
        assert (status.state, status.amplitude_ua, status.setpoint_ua) == (State.STIMULATING, 0, 0)
    assert raw_ok(scs_raw, m.ReadProgram(0)) == m.ProgramData(prog)
    raw_ok(scs_raw, m.Stop())


@pytest.mark.scs_requirement("SAF-002")
def test_the_device_refuses_bad_watchdog_settings_sent_raw(scs_raw: RawSender) -> None:
    for message, limit in ((m.Heartbeat(10), 50), (m.Heartbeat(60_001), 60_000), (m.Heartbeat(49), 50)):
        nak = scs_raw.request(message)
        assert isinstance(nak, m.Nak), f"the device accepted {message}"
        assert (nak.reason, nak.param, nak.limit) == (NakReason.OUT_OF_RANGE, Param.WATCHDOG_TIMEOUT, limit)
    nak = scs_raw.request(m.Heartbeat(1000, HeartbeatFlags(0x80)))
    assert isinstance(nak, m.Nak) and (nak.reason, nak.param) == (NakReason.OUT_OF_RANGE, Param.FLAGS), nak

"""Refusals, pulses and charges in a technician's words and pictures (no Textual)."""

from __future__ import annotations

import dataclasses

from firmware_protocol.constants import MessageType, NakReason, Param, Recharge, Waveform
from scsctl.audit import AuditRecord
from scsctl.errors import AcknowledgementRequired, DeviceRefused, LinkLost, SafetyRefusal
from scsctl.guard import DeviceContext, Guard, contact_charges, program_limits, worst_contact
from scsctl.parsing import electrodes
from scsctl.profiles import get_profile
from scsctl.tui.draft import check_draft, new_program
from scsctl.tui.pulse import draw_pulses
from scsctl.tui.wording import describe_record, explain

TONIC = get_profile("tonic-burst-16")
BIPOLAR = dataclasses.replace(new_program(TONIC), contacts=electrodes("1+ 2-", 16))


def test_a_guard_refusal_says_nothing_was_sent_and_names_the_limit() -> None:
    err = SafetyRefusal(
        "amplitude 9.0 mA is above the clinical tier's maximum of 8.5 mA (profile x)",
        parameter="amplitude_ua",
        value=9000,
        limit=8500,
        tier="clinical",
        profile="x",
    )
    words = explain(err, "live amplitude 9.0 mA")
    assert words.title == "live amplitude 9.0 mA: refused by scsctl's safety check - nothing was sent"
    assert words.limit == "limit: amplitude 8.5 mA (clinical tier, profile x)"


def test_a_device_refusal_names_the_devices_own_limit_in_units() -> None:
    err = DeviceRefused(
        "device refused SET_AMPLITUDE: out of range (amplitude, device limit 8500)",
        command=MessageType.SET_AMPLITUDE,
        reason=NakReason.OUT_OF_RANGE,
        param=Param.AMPLITUDE,
        index=None,
        limit=8500,
    )
    words = explain(err)
    assert words.title == "refused by the device"
    assert "outside what the device allows" in words.text
    assert words.limit == "limit: amplitude 8.5 mA (the device's own limit)"


def test_other_errors_have_their_own_titles() -> None:
    assert "link to the device is lost" in explain(LinkLost("x")).title
    assert explain(AcknowledgementRequired("w", parameter="p", value=(), limit=30, tier="t", profile="p")).severity == (
        "warning"
    )
    assert "a bug" in explain(ZeroDivisionError()).title


def test_charge_per_phase_and_density_follow_the_guard() -> None:
    program = dataclasses.replace(BIPOLAR, pulse_width_us=300, ramp_up_ms=20_000)
    held = DeviceContext(programs={0: program})  # the slot already holds this electrode configuration
    worst = worst_contact(contact_charges(program, 3000, TONIC))
    assert worst is not None
    assert worst.charge_nc == 900  # 3 mA x 300 us
    assert round(worst.density_uc_per_cm2, 3) == 7.5  # 0.9 uC / 0.12 cm2
    limits = program_limits(program, TONIC)
    assert limits is not None
    guard = Guard(TONIC, role="engineer")
    # Just below the Shannon amplitude the guard lets it through; just above, it refuses.
    below = int(limits.shannon_ua) // 100 * 100
    ok = dataclasses.replace(program, amplitude_ua=below, patient_max_ua=below)
    assert check_draft(guard, ok, held).ok
    over = dataclasses.replace(program, amplitude_ua=below + 100, patient_max_ua=below + 100)
    assert check_draft(guard, over, held).parameter == "shannon_k"


def test_the_pulse_goes_cathodic_first_then_recharges() -> None:
    top, mid, bottom = draw_pulses(BIPOLAR, 80).lines
    assert len(top) == len(mid) == len(bottom) == 80
    first_down, first_up = bottom.index("└"), top.index("┌")
    assert first_down < first_up  # the cathodic phase (below the line) comes first
    passive = draw_pulses(dataclasses.replace(BIPOLAR, recharge=Recharge.PASSIVE), 80)
    assert "┄" in passive.lines[0] and "passive recharge" in passive.caption


def test_a_burst_shows_its_pulses_and_says_its_structure() -> None:
    burst = dataclasses.replace(
        BIPOLAR,
        waveform=Waveform.BURST,
        burst_pulses=5,
        intra_burst_rate_dhz=5000,
        rate_dhz=400,
        pulse_width_us=1000,
        recharge=Recharge.PASSIVE,
    )
    drawing = draw_pulses(burst, 100)
    assert drawing.lines[2].count("└") >= 5
    assert "5 pulses of 1000 us at 500 Hz" in drawing.caption
    assert "bursts at 40 Hz (every 25 ms)" in drawing.caption


def test_audit_records_read_as_sentences() -> None:
    def record(kind: str, name: str, detail: dict[str, object]) -> AuditRecord:
        return AuditRecord(1, "2026-01-01T00:00:00+00:00", "s", "o", "technician", "X", kind, name, detail)

    amplitude = {"before_ua": 1000, "after_ua": 1100, "commit": False, "step": "1/1"}
    assert describe_record(record("command", "SET_AMPLITUDE", amplitude)) == "1.0 mA -> 1.1 mA (tentative, step 1/1)"
    state = {"old_state": 2, "new_state": 3, "cause": 1, "amplitude_ua": 500}
    assert (
        describe_record(record("event", "EVENT_STATE", state)) == "ramping up -> stimulating (ramp done), output 0.5 mA"
    )
    assert describe_record(record("reply", "SET_PROGRAM", {"reply": "SET_PROGRAM_ACK"})) == "acknowledged"
    assert describe_record(record("refusal", "START", {"message": "no impedance check"})) == "no impedance check"

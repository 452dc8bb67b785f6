"""Wire values in words with their units: NAK limits (PROTOCOL.md 8.2) and event-log details (6)."""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware_protocol import messages as m
from firmware_protocol.constants import MessageType, NakReason, Param
from scsctl.cli.main import main
from scsctl.link.session import nak_text
from scsctl.units import format_event_detail, format_limit

UNITLESS = {Param.NONE, Param.WAVEFORM, Param.RECHARGE, Param.CONTACT_POLARITY, Param.FLAGS}
"""Params whose limit is always 0 (PROTOCOL.md 8.2): nothing to print."""


@pytest.mark.parametrize(
    ("param", "limit", "text"),
    [
        (Param.AMPLITUDE, 25500, "25.5 mA"),
        (Param.PULSE_WIDTH, 1000, "1000 us"),
        (Param.RATE, 12000, "1.2 kHz"),
        (Param.INTRA_BURST_RATE, 5000, "500 Hz"),
        (Param.BURST_PULSES, 16, "16 pulses"),
        (Param.CYCLE_ON, 10800, "10800 s"),
        (Param.RAMP_UP, 60000, "60 s"),
        (Param.WATCHDOG_TIMEOUT, 50, "50 ms"),
        (Param.CONTACT_COUNT, 16, "16 contacts"),
        (Param.CONTACT_SHARE, 100, "100 %"),
        (Param.CHARGE_PER_PHASE, 12700, "12.7 uC"),
        (Param.CHARGE_DENSITY, 30000, "30.0 uC/cm2"),
        (Param.COMPLIANCE, 12000, "12.0 V"),
        (Param.SLOT, 7, "slot 7"),
        (Param.PROTOCOL_VERSION, 1, "version 1"),
        (Param.EVENT_INDEX, 32, "32 entries"),
    ],
    ids=lambda v: v.name if isinstance(v, Param) else None,
)
def test_a_nak_limit_is_written_in_its_params_unit(param: Param, limit: int, text: str) -> None:
    assert format_limit(param.name, limit) == text


def test_every_param_with_a_limit_has_a_unit() -> None:
    for param in Param:
        if param not in UNITLESS:
            assert format_limit(param.name, 2) != "2", param.name


def test_the_nak_message_names_the_limit_with_its_unit() -> None:
    nak = m.Nak(MessageType.SET_PROGRAM, NakReason.OUT_OF_RANGE, Param.AMPLITUDE, 0xFF, 25500)
    assert nak_text(nak) == "device refused SET_PROGRAM: out of range (amplitude, device limit 25.5 mA)"


@pytest.mark.parametrize(
    ("code", "detail", "text"),
    [
        ("POWER_ON", 0, ""),
        ("PROGRAM_WRITTEN", 2, "slot 2"),
        ("AMPLITUDE_COMMITTED", 3600, "3.6 mA"),
        ("WATCHDOG_EXPIRED", 1000, "timeout 1000 ms"),
        ("FAULT", 1 | 4 << 8, "lead open, contact 5"),
        ("FAULT", 7 | 0xFF << 8, "hardware"),
        ("BATTERY_LOW", 3400, "battery 3.4 V"),
        ("STIMULATION_STOPPED", 3, "by watchdog"),
        ("IMPEDANCE_MEASURED", 1, "1 contact open or short"),
    ],
)
def test_an_event_log_detail_is_written_in_its_codes_unit(code: str, detail: int, text: str) -> None:
    assert format_event_detail(code, detail) == text


def test_usage_prints_counts_and_event_details_with_units(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["usage", "--port", "emu://", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "stimulation        0 s" in out
    assert "power_on" in out
    assert main(["usage", "--port", "emu://", "--data-dir", str(tmp_path), "--json"]) == 0
    assert '"detail_text": ""' in capsys.readouterr().out

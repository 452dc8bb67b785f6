"""``scsctl.units``: quantities written exactly, never rounded into a different setting."""

from __future__ import annotations

import pytest

from scsctl.units import (
    format_area_mm2,
    format_charge_density,
    format_dhz,
    format_ms,
    format_mv,
    format_nc,
    format_ohm,
    format_s,
    format_ua,
    format_us,
)


@pytest.mark.parametrize(
    ("value", "text"),
    [(3500, "3.5 mA"), (7000, "7.0 mA"), (0, "0.0 mA"), (25, "0.025 mA"), (2050, "2.05 mA"), (3525, "3.525 mA"),
     (25_500, "25.5 mA"), (-500, "-0.5 mA")],
)  # fmt: skip
def test_format_ua(value: int, text: str) -> None:
    assert format_ua(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [(500, "50 Hz"), (25, "2.5 Hz"), (40, "4 Hz"), (12_000, "1.2 kHz"), (100_000, "10 kHz"), (10_005, "1.0005 kHz")],
)
def test_format_dhz(value: int, text: str) -> None:
    assert format_dhz(value) == text


def test_other_units() -> None:
    assert format_us(300) == "300 us"
    assert format_ms(500) == "500 ms" and format_ms(12_500) == "12.5 s"
    assert format_s(90) == "90 s" and format_s(12.34) == "12.3 s"
    assert format_nc(3000) == "3.0 uC" and format_nc(4320) == "4.32 uC" and format_nc(150) == "0.15 uC"
    assert format_mv(12_000) == "12.0 V"
    assert format_ohm(850) == "850 ohm"
    assert format_charge_density(25.0) == "25.0 uC/cm2"
    assert format_area_mm2(12.0) == "12 mm2" and format_area_mm2(12.25) == "12.25 mm2"

"""Values as people type them: exact conversions, and refusals that say what was wrong."""

from __future__ import annotations

import re

import pytest

from firmware_protocol.constants import Polarity
from firmware_protocol.messages import ContactSetting
from scsctl import parsing
from scsctl.errors import UsageError


@pytest.mark.parametrize(
    ("text", "ua"), [("3.5mA", 3500), ("3500uA", 3500), ("3500µA", 3500), ("0.025 mA", 25), ("4mA", 4000), ("0mA", 0)]
)
def test_amplitudes(text: str, ua: int) -> None:
    assert parsing.amplitude_ua(text) == ua


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("3.5", "needs a unit"),
        ("3.5mV", "unknown unit 'mV'"),
        ("3.5004mA", "is not a whole number of µA, the smallest step the device takes; it is not rounded"),
        ("3.50000000000000000000000000001mA", "is not a whole number of µA"),
        ("3." + "0" * 80 + "1mA", "more digits than can be taken exactly"),
        ("-1mA", "cannot be negative"),
        ("lots", "not a number with a unit"),
    ],
)
def test_bad_amplitudes_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        parsing.amplitude_ua(text)


def test_rates_pulse_widths_and_times() -> None:
    assert parsing.rate_dhz("50Hz") == 500
    assert parsing.rate_dhz("10kHz") == 100_000
    assert parsing.rate_dhz("2.5Hz") == 25
    assert parsing.pulse_width_us("300us") == 300
    assert parsing.pulse_width_us("0.3ms") == 300
    assert parsing.duration_ms("2s") == 2000
    assert parsing.duration_s("90s") == 90
    with pytest.raises(UsageError, match="whole seconds"):
        parsing.duration_s("1500ms")
    with pytest.raises(UsageError, match=re.escape("rate '2.55Hz' is not a whole number of 0.1 Hz")):
        parsing.rate_dhz("2.55Hz")


def test_bipolar_electrodes() -> None:
    contacts = parsing.electrodes("1+ 2-", 16)
    assert contacts[:3] == (
        ContactSetting(Polarity.ANODE, 100),
        ContactSetting(Polarity.CATHODE, 100),
        ContactSetting(),
    )
    assert len(contacts) == 16


def test_shared_cathodes_written_both_ways_agree() -> None:
    assert parsing.electrodes("1+,2-50%,3-50%", 8) == parsing.electrodes("1+ 2- 3-", 8)
    assert parsing.format_electrodes(parsing.electrodes("1+ 2- 3-", 8)) == "1+ 2-50% 3-50%"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "1+ 2- 3- 4-",
            "3 cathodes cannot share 100 % equally in whole percent; give each share, e.g. 2-34% 3-33% 4-33%",
        ),
        ("1+ 17-", "contact 17 does not exist (this device has contacts 1 to 16)"),
        ("1+60% 2+60% 3+ 4-", "the anodes given a share already take 120 %, leaving nothing for contact 3"),
        ("1+100% 2+ 4-", "the anodes given a share already take 100 %, leaving nothing for contact 2"),
        ("1+ 1-", "contact 1 is given twice"),
        ("1* 2-", "'1*' is not a contact"),
        ("", "none given"),
    ],
)
def test_bad_electrodes_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        parsing.electrodes(text, 16)


@pytest.mark.parametrize(
    ("read", "text"),
    [
        (parsing.amplitude_ua, "３mA"),  # full-width 3
        (parsing.amplitude_ua, "٣mA"),  # Arabic-Indic 3
        (parsing.pulse_width_us, "３００us"),
        (parsing.rate_dhz, "５０Hz"),
        (lambda t: parsing.duration_ms(t, "ramp"), "２s"),
        (lambda t: parsing.electrodes(t, 16), "١+ ٢-"),
        (lambda t: parsing.whole_number(t, "--slot"), "２"),
    ],
)
def test_digits_other_than_0_to_9_are_refused_and_named(read: object, text: str) -> None:
    assert callable(read)
    with pytest.raises(UsageError, match=r"digits other than 0-9 \(.*U\+[0-9A-F]{4}\).*write numbers with the digits"):
        read(text)


def test_a_contact_that_does_not_exist_is_named_with_the_devices_contacts() -> None:
    for text in ("0+ 1-", "17+ 1-"):
        with pytest.raises(UsageError, match=r"contact (0|17) does not exist \(this device has contacts 1 to 16\)"):
            parsing.electrodes(text, 16)
    # Before a device is connected only what does not depend on it is checked: the count is not guessed.
    parsing.check_electrodes("0+ 17-")
    with pytest.raises(UsageError, match="given twice"):
        parsing.check_electrodes("1+ 1-")
    with pytest.raises(UsageError, match="not a contact"):
        parsing.check_electrodes("1+ two-")


@pytest.mark.parametrize(
    ("text", "message"),
    [("-5", "--limit -5 cannot be negative"), ("1_000", "is not a whole number"), ("2.0", "is not a whole number"),
     ("", "is not a whole number")],
)  # fmt: skip
def test_whole_numbers_are_ascii_and_not_negative(text: str, message: str) -> None:
    assert parsing.whole_number(" 12 ", "--limit") == 12
    with pytest.raises(UsageError, match=re.escape(message)):
        parsing.whole_number(text, "--limit")
    with pytest.raises(UsageError, match="above the largest allowed, 3"):
        parsing.whole_number("4", "--slot", maximum=3)

"""Values as people write them -> integers in wire units. Nothing is rounded: a value that does not
convert exactly is refused with what was wrong.

``3.5mA``/``3500uA``/``3500µA`` -> amplitude_ua; ``300us``/``0.3ms`` -> pulse_width_us;
``50Hz``/``10kHz``/``2.5Hz`` -> rate_dhz; ``2s``/``500ms`` -> milliseconds or seconds;
electrodes ``1+ 2-`` or ``1+,2-50%,3-50%`` -> one ContactSetting per contact.

Numbers are written with the ASCII digits 0-9 only. Python's ``int()``, ``Decimal()`` and the
pattern ``\\d`` also take full-width (``３``), Arabic-Indic (``٣``) and other Unicode
digits; a value typed in another script, or pasted with one, is refused here, naming the
character, instead of being read as a number the user may not have meant.
"""

from __future__ import annotations

import re
from decimal import Decimal, Inexact, InvalidOperation, localcontext

from firmware_protocol.constants import Polarity
from firmware_protocol.messages import ContactSetting

from .errors import UsageError

_NUMBER = re.compile(r"^\s*([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))\s*([a-zA-Zµμ%]*)\s*$")
_WHOLE = re.compile(r"^\s*(-?[0-9]+)\s*$")

# unit -> (multiplier into the target unit) per quantity
_CURRENT = {"ma": Decimal(1000), "ua": Decimal(1), "µa": Decimal(1), "μa": Decimal(1), "a": Decimal(1_000_000)}
_DURATION_US = {"us": Decimal(1), "µs": Decimal(1), "μs": Decimal(1), "ms": Decimal(1000), "s": Decimal(1_000_000)}
_RATE_DHZ = {"hz": Decimal(10), "khz": Decimal(10_000), "dhz": Decimal(1)}
_TIME_MS = {"ms": Decimal(1), "s": Decimal(1000), "min": Decimal(60_000)}
_RESOLUTION = {id(_CURRENT): "µA", id(_DURATION_US): "µs", id(_RATE_DHZ): "0.1 Hz", id(_TIME_MS): "ms"}


def _foreign_digits(text: str) -> str:
    """The digits in ``text`` that are not ASCII 0-9, escaped for a message ("" when none)."""
    found = sorted({ch for ch in text if ch.isdigit() and not "0" <= ch <= "9"})
    return ", ".join(f"{ch} (U+{ord(ch):04X})" for ch in found)


def _refuse_foreign_digits(text: str, what: str) -> None:
    foreign = _foreign_digits(text)
    if foreign:
        raise UsageError(f"{what} {text!r} uses digits other than 0-9 ({foreign}): write numbers with the digits 0-9")


def whole_number(text: str, what: str, *, minimum: int = 0, maximum: int | None = None) -> int:
    """A whole number as typed (``--slot 2``, ``--limit 20``): digits 0-9, within the bounds given."""
    _refuse_foreign_digits(text, what)
    match = _WHOLE.match(text)
    if not match:
        raise UsageError(f"{what} {text!r} is not a whole number (write it with the digits 0-9)")
    value = int(match.group(1))
    if value < minimum:
        raise UsageError(f"{what} {value} cannot be negative" if minimum == 0 and value < 0 else
                         f"{what} {value} is below the smallest allowed, {minimum}")  # fmt: skip
    if maximum is not None and value > maximum:
        raise UsageError(f"{what} {value} is above the largest allowed, {maximum}")
    return value


def _quantity(text: str, what: str, units: dict[str, Decimal], example: str, default_unit: str | None) -> int:
    _refuse_foreign_digits(text, what)
    match = _NUMBER.match(text)
    if not match:
        raise UsageError(f"{what} {text!r} is not a number with a unit (for example {example})")
    number, unit = match.group(1), match.group(2).lower()
    if not unit:
        if default_unit is None:
            raise UsageError(f"{what} {text!r} needs a unit (for example {example})")
        unit = default_unit
    if unit not in units:
        known = ", ".join(sorted(units))
        raise UsageError(f"{what} {text!r}: unknown unit {match.group(2)!r} (use one of {known})")
    try:
        with localcontext() as exact:
            # Enough digits for anything typed, and an error rather than a rounded result beyond that.
            exact.prec = 60
            exact.traps[Inexact] = True
            value = Decimal(number) * units[unit]
    except (InvalidOperation, Inexact):
        raise UsageError(f"{what} {text!r} has more digits than can be taken exactly") from None
    if value < 0:
        raise UsageError(f"{what} {text!r} cannot be negative")
    if value != value.to_integral_value():
        raise UsageError(
            f"{what} {text!r} is not a whole number of {_RESOLUTION[id(units)]}, the smallest step the device "
            "takes; it is not rounded: give an exact value"
        )
    return int(value)


def amplitude_ua(text: str) -> int:
    return _quantity(text, "amplitude", _CURRENT, "3.5mA or 3500uA", None)


def pulse_width_us(text: str) -> int:
    return _quantity(text, "pulse width", _DURATION_US, "300us", "us")


def rate_dhz(text: str) -> int:
    return _quantity(text, "rate", _RATE_DHZ, "50Hz or 10kHz", "hz")


def duration_ms(text: str, what: str = "time") -> int:
    return _quantity(text, what, _TIME_MS, "2s or 500ms", None)


def duration_s(text: str, what: str = "time") -> int:
    ms = duration_ms(text, what)
    if ms % 1000:
        raise UsageError(f"{what} {text!r} must be whole seconds")
    return ms // 1000


_CONTACT = re.compile(r"^([0-9]+)([+-])(?:([0-9]+)%)?$")


def check_electrodes(text: str) -> None:
    """Everything ``electrodes`` checks that does not depend on the device (read before connecting).

    Whether each contact exists is left to ``electrodes`` with the connected device's count, whose
    message names that device's contacts ("this device has contacts 1 to 16").
    """
    _parse_electrodes(text, None)


def electrodes(text: str, contact_count: int) -> tuple[ContactSetting, ...]:
    """``"1+ 2-"`` or ``"1+,2-50%,3-50%"``: contacts numbered from 1, + anode, - cathode.

    Without percentages the contacts of one polarity share its current equally; a split that is
    not whole percent is refused (give the shares) rather than rounded.
    """
    shares = _parse_electrodes(text, contact_count)
    return tuple(shares.get(n, ContactSetting(Polarity.OFF, 0)) for n in range(1, contact_count + 1))


def _parse_electrodes(text: str, contact_count: int | None) -> dict[int, ContactSetting]:
    tokens = [t for t in re.split(r"[\s,]+", text.strip()) if t]
    if not tokens:
        raise UsageError('electrodes: none given (for example "1+ 2-" or "1+,2-50%,3-50%")')
    _refuse_foreign_digits(text, "electrodes:")
    chosen: dict[int, tuple[Polarity, int | None]] = {}
    for token in tokens:
        match = _CONTACT.match(token)
        if not match:
            raise UsageError(
                f"electrodes: {token!r} is not a contact (write the contact number, + or -, "
                'and optionally its share: "2-" or "2-50%")'
            )
        number = int(match.group(1))
        if contact_count is not None and not 1 <= number <= contact_count:
            raise UsageError(
                f"electrodes: contact {number} does not exist (this device has contacts 1 to {contact_count})"
            )
        if number in chosen:
            raise UsageError(f"electrodes: contact {number} is given twice")
        polarity = Polarity.ANODE if match.group(2) == "+" else Polarity.CATHODE
        chosen[number] = (polarity, int(match.group(3)) if match.group(3) else None)

    shares: dict[int, int] = {}
    for polarity in (Polarity.ANODE, Polarity.CATHODE):
        members = [n for n, (p, _) in chosen.items() if p is polarity]
        given = {n: chosen[n][1] for n in members if chosen[n][1] is not None}
        missing = [n for n in members if n not in given]
        rest = 100 - sum(v for v in given.values() if v is not None)
        if missing and rest <= 0:
            name = polarity.name.lower()
            raise UsageError(
                f"electrodes: the {name}s given a share already take {100 - rest} %, leaving nothing for "
                + ", ".join(f"contact {n}" for n in missing)
                + f"; the shares of the {name}s must add up to 100 %"
            )
        if missing:
            if rest % len(missing):
                sign = "+" if polarity is Polarity.ANODE else "-"
                raise UsageError(
                    f"electrodes: {len(missing)} {polarity.name.lower()}s cannot share {rest} % equally in whole "
                    f"percent; give each share, e.g. "
                    + " ".join(f"{n}{sign}{_even(rest, len(missing), i)}%" for i, n in enumerate(missing))
                )
            for n in missing:
                shares[n] = rest // len(missing)
        for n, v in given.items():
            assert v is not None
            shares[n] = v
    return {n: ContactSetting(chosen[n][0], shares[n]) for n in chosen}


def _even(total: int, parts: int, index: int) -> int:
    return total // parts + (1 if index < total % parts else 0)


def format_electrodes(contacts: tuple[ContactSetting, ...]) -> str:
    """The inverse of ``electrodes``: ``"1+ 2-50% 3-50%"`` (shares shown when not 100 %)."""
    parts = []
    for number, c in enumerate(contacts, start=1):
        if c.polarity is Polarity.OFF:
            continue
        sign = "+" if c.polarity is Polarity.ANODE else "-"
        parts.append(f"{number}{sign}" + ("" if c.share_pct == 100 else f"{c.share_pct}%"))
    return " ".join(parts)

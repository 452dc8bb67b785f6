"""What a trial record holds: plain frozen dataclasses, no storage and no I/O.

Nothing here identifies a patient. A trial is known by an opaque id; free-text notes are the
operator's responsibility (the CLI and the report say so).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, Literal

from firmware_protocol import messages as m
from firmware_protocol.constants import Polarity, Recharge, Waveform

from ..errors import UsageError
from ..parsing import format_electrodes
from ..units import format_dhz, format_ua
from .regions import Overlap, overlap

__all__ = [
    "COMFORT_LABELS",
    "DEFAULT_GOAL_PCT",
    "DEFAULT_TRIAL_DAYS",
    "MAX_TRIAL_DAYS",
    "Analgesics",
    "DeviceUsage",
    "DiaryEntry",
    "DiaryRevision",
    "ProgramCapture",
    "ProgramTest",
    "StimulationSource",
    "Trial",
    "UsageReading",
    "check_comfort",
    "check_nrs",
    "check_trial_id",
    "hours_to_s",
    "parse_nrs",
    "program_fields",
    "program_from_fields",
    "program_summary",
]

DEFAULT_GOAL_PCT = 50
DEFAULT_TRIAL_DAYS = 7
"""Planned length when no end is given: days 1 to 7, the start date being day 1."""
MAX_TRIAL_DAYS = 30
"""A planned trial longer than this (start and end counted) is taken for a typing error (trials last 3 to 8 days)."""

COMFORT_LABELS: dict[int, str] = {
    1: "unpleasant",
    2: "uncomfortable",
    3: "acceptable",
    4: "comfortable",
    5: "very comfortable",
}

StimulationSource = Literal["device", "patient"]


class Analgesics(StrEnum):
    """Pain medication on the diary day, compared with before the trial."""

    LESS = "less"
    SAME = "same"
    MORE = "more"


# --- checks (each names what was wrong; callers store nothing when one fails) -----------------------

_TRIAL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{2,31}$")
_DATE_LIKE = re.compile(r"[0-9]{1,4}[-./][0-9]{1,2}[-./][0-9]{1,4}")


def check_trial_id(trial_id: str) -> str:
    """An opaque id: 3-32 letters, digits, '.', '-', '_', with at least one digit, and no date in it.

    The digit rule refuses a name typed by mistake ("Smith", "J.Doe"); the date rule a birth date.
    """
    text = trial_id.strip()
    rule = (
        "a trial id must be opaque: 3-32 letters, digits, '.', '-' or '_', at least one digit, no date; "
        "leave --id out for a generated one (T-2026-0001) or use your study's own number"
    )
    if not _TRIAL_ID.match(text):
        raise UsageError(f"trial id {trial_id!r} is refused: {rule}")
    if not any(c.isdigit() for c in text):
        raise UsageError(f"trial id {trial_id!r} looks like a name (it has no digit) and is refused: {rule}")
    if _contains_date(text):
        raise UsageError(f"trial id {trial_id!r} contains a date (a birth date identifies a patient): {rule}")
    return text


def _contains_date(text: str) -> bool:
    """Whether a run of digits and separators reads as a real calendar date (Y-M-D, D-M-Y, M-D-Y)."""
    for match in _DATE_LIKE.finditer(text):
        parts = [int(p) for p in re.split(r"[-./]", match.group(0))]
        orders = [(0, 1, 2)] if len(str(parts[0])) == 4 or parts[0] > 31 else [(2, 1, 0), (2, 0, 1)]
        for y, mo, d in orders:
            year = parts[y] + (1900 if parts[y] < 100 else 0)
            try:
                date(year, parts[mo], parts[d])
            except ValueError:
                continue
            return True
    return False


def check_nrs(value: int, *, what: str = "pain (NRS)", lowest: int = 0) -> int:
    """A pain score on the 11-point numeric rating scale: a whole number from ``lowest`` to 10.

    A baseline takes ``lowest=1``: a trial that starts without pain has nothing to reduce.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise UsageError(f"{what} {value!r} must be a whole number from {lowest} to 10")
    if not lowest <= value <= 10:
        why = " (0 leaves no pain to reduce)" if lowest == 1 and value == 0 else ""
        raise UsageError(f"{what} {value} is outside the scale: give a whole number from {lowest} to 10{why}")
    return value


def parse_nrs(text: str, *, what: str = "pain (NRS)", lowest: int = 0) -> int:
    try:
        if not text.strip().isascii():  # int() also reads full-width and other scripts' digits
            raise ValueError(text)
        value = int(text.strip())
    except ValueError:
        raise UsageError(
            f"{what} {text!r} must be a whole number from {lowest} to 10 (the scale has no fractions)"
        ) from None
    return check_nrs(value, what=what, lowest=lowest)


def check_comfort(value: int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value not in COMFORT_LABELS:
        scale = ", ".join(f"{k} {v}" for k, v in COMFORT_LABELS.items())
        raise UsageError(f"comfort {value!r} is not on the scale: {scale}")
    return value


def hours_to_s(text: str) -> int:
    """Hours of stimulation in a day as written (``18``, ``18.5``) -> whole seconds, 0 to 24 h."""
    try:
        if not text.strip().isascii():  # Decimal() also reads full-width and other scripts' digits
            raise InvalidOperation(text)
        hours = Decimal(text.strip())
    except InvalidOperation:
        raise UsageError(f"hours {text!r} is not a number (give hours of stimulation that day, e.g. 18.5)") from None
    if not hours.is_finite() or hours < 0 or hours > 24:
        raise UsageError(f"hours {text!r}: a day has 0 to 24 hours of stimulation")
    seconds = hours * 3600
    if seconds != seconds.to_integral_value():
        raise UsageError(f"hours {text!r} is not a whole number of seconds; it is not rounded: give fewer decimals")
    return int(seconds)


# --- program settings ------------------------------------------------------------------------------


def program_fields(program: m.Program) -> dict[str, Any]:
    """A program as plain JSON-able fields, the wire's names and units (as the audit log has them)."""
    return m.to_fields(m.SetProgram(program))


def program_from_fields(fields: dict[str, Any]) -> m.Program:
    contacts = tuple(m.ContactSetting(Polarity(c["polarity"]), int(c["share_pct"])) for c in fields["contacts"])
    return m.Program(
        slot=int(fields["slot"]),
        amplitude_ua=int(fields["amplitude_ua"]),
        pulse_width_us=int(fields["pulse_width_us"]),
        rate_dhz=int(fields["rate_dhz"]),
        contacts=contacts,
        waveform=Waveform(fields["waveform"]),
        burst_pulses=int(fields["burst_pulses"]),
        intra_burst_rate_dhz=int(fields["intra_burst_rate_dhz"]),
        recharge=Recharge(fields["recharge"]),
        cycle_on_s=int(fields["cycle_on_s"]),
        cycle_off_s=int(fields["cycle_off_s"]),
        ramp_up_ms=int(fields["ramp_up_ms"]),
        ramp_down_ms=int(fields["ramp_down_ms"]),
        patient_max_ua=int(fields["patient_max_ua"]),
    )


def program_summary(program: m.Program) -> str:
    """One line a clinician reads: ``1+ 2-  3.5 mA  300 us  50 Hz  tonic``."""
    waveform = {Waveform.TONIC: "tonic", Waveform.BURST: "burst", Waveform.HIGH_FREQUENCY: "high-frequency"}
    text = (
        f"{format_electrodes(program.contacts) or 'no contacts'}  {format_ua(program.amplitude_ua)}  "
        f"{program.pulse_width_us} us  {format_dhz(program.rate_dhz)}  {waveform[program.waveform]}"
    )
    if program.waveform is Waveform.BURST:
        text += f" ({program.burst_pulses} pulses at {format_dhz(program.intra_burst_rate_dhz)})"
    if program.cycle_on_s:
        text += f"  cycling {program.cycle_on_s} s on / {program.cycle_off_s} s off"
    if program.patient_max_ua:
        text += f"  patient max {format_ua(program.patient_max_ua)}"
    return text


# --- records ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Trial:
    trial_id: str
    device_serial: str
    profile: str
    start_date: date
    planned_end_date: date
    baseline_nrs: int
    pain_regions: tuple[str, ...]
    """Where the pain is felt (body regions); empty when not recorded."""
    goal_reduction_pct: int
    created_utc: str
    created_by: str

    def day_number(self, day: date) -> int:
        """Trial day of a date: the start date is day 1."""
        return (day - self.start_date).days + 1

    @property
    def goal_nrs(self) -> float:
        """The score that meets the goal exactly (the chart's goal line)."""
        return self.baseline_nrs * (100 - self.goal_reduction_pct) / 100

    def as_dict(self) -> dict[str, Any]:
        return {
            "trial_id": self.trial_id,
            "device_serial": self.device_serial,
            "profile": self.profile,
            "start_date": self.start_date.isoformat(),
            "planned_end_date": self.planned_end_date.isoformat(),
            "baseline_nrs": self.baseline_nrs,
            "pain_regions": list(self.pain_regions),
            "goal_reduction_pct": self.goal_reduction_pct,
            "created_utc": self.created_utc,
            "created_by": self.created_by,
        }


@dataclass(frozen=True, slots=True)
class DeviceUsage:
    """A reading of the device's lifetime stimulation counter (``Device.usage().stimulation_s``)."""

    device_serial: str
    stimulation_s: int
    read_utc: str


@dataclass(frozen=True, slots=True)
class UsageReading:
    trial_id: str
    device_serial: str
    stimulation_s: int
    read_utc: str
    context: str
    """What the reading was taken for: 'new', 'coverage' or 'diary'."""


@dataclass(frozen=True, slots=True)
class DiaryEntry:
    trial_id: str
    entry_date: date
    nrs: int
    stimulation_s: int | None
    """Stimulation that day; None when not known."""
    stimulation_source: StimulationSource | None
    """'device': the counter's difference since ``usage_since_utc``; 'patient': as reported."""
    usage_since_utc: str | None
    analgesics: Analgesics | None
    notes: str
    recorded_utc: str
    recorded_by: str
    revision: int = 1
    """1 for an entry as first written; each edit adds one (older revisions are in the history)."""

    @property
    def stimulation_h(self) -> float | None:
        return None if self.stimulation_s is None else self.stimulation_s / 3600

    @property
    def recorded_late(self) -> bool:
        """Written on a later day than the one it describes (in this computer's local time)."""
        return datetime.fromisoformat(self.recorded_utc).astimezone().date() > self.entry_date

    def as_dict(self) -> dict[str, Any]:
        return {
            "date": self.entry_date.isoformat(),
            "nrs": self.nrs,
            "stimulation_s": self.stimulation_s,
            "stimulation_h": None if self.stimulation_s is None else round(self.stimulation_s / 3600, 2),
            "stimulation_source": self.stimulation_source,
            "usage_since_utc": self.usage_since_utc,
            "analgesics": None if self.analgesics is None else self.analgesics.value,
            "notes": self.notes,
            "recorded_utc": self.recorded_utc,
            "recorded_by": self.recorded_by,
            "recorded_late": self.recorded_late,
            "revision": self.revision,
        }


@dataclass(frozen=True, slots=True)
class DiaryRevision:
    """An entry as it was before an edit replaced it."""

    entry: DiaryEntry
    replaced_utc: str
    replaced_by: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {**self.entry.as_dict(), "replaced_utc": self.replaced_utc, "replaced_by": self.replaced_by,
                "reason": self.reason}  # fmt: skip


@dataclass(frozen=True, slots=True)
class ProgramCapture:
    """A program as the device read it back, and what the device was doing at that moment."""

    device_serial: str
    program: m.Program
    read_utc: str
    running: bool
    """This slot was the one stimulating when read."""
    setpoint_ua: int | None
    """The amplitude in force when running (may differ from the program's when tentative)."""
    tentative: bool
    """A live amplitude change was not committed: the program stores another amplitude."""
    source: str = "device read-back"

    @property
    def felt_amplitude_ua(self) -> int:
        """The amplitude the patient felt when reporting coverage (the program's when not running)."""
        return self.setpoint_ua if self.running and self.setpoint_ua is not None else self.program.amplitude_ua

    def as_dict(self) -> dict[str, Any]:
        return {
            "device_serial": self.device_serial,
            "settings": program_fields(self.program),
            "summary": program_summary(self.program),
            "read_utc": self.read_utc,
            "running": self.running,
            "setpoint_ua": self.setpoint_ua,
            "tentative": self.tentative,
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class ProgramTest:
    """One program tried in a programming session, with the coverage the patient reported."""

    test_id: int
    trial_id: str
    number: int
    """P1, P2, ... in the order tried within the trial."""
    session_date: date
    recorded_utc: str
    recorded_by: str
    capture: ProgramCapture
    regions: tuple[str, ...]
    """Where the paresthesia is felt; empty for none (paresthesia-free)."""
    comfort: int | None
    notes: str
    left_active: bool
    """The program left running (or selected) at the end of this session."""
    pain_regions: tuple[str, ...] = field(default=())

    @property
    def label(self) -> str:
        return f"P{self.number}"

    @property
    def slot(self) -> int:
        return self.capture.program.slot

    @property
    def overlap(self) -> Overlap:
        return overlap(self.regions, self.pain_regions)

    def as_dict(self) -> dict[str, Any]:
        ov = self.overlap
        return {
            "label": self.label,
            "test_id": self.test_id,
            "session_date": self.session_date.isoformat(),
            "recorded_utc": self.recorded_utc,
            "recorded_by": self.recorded_by,
            "slot": self.slot,
            "program": self.capture.as_dict(),
            "felt_amplitude_ua": self.capture.felt_amplitude_ua,
            "regions": list(self.regions),
            "overlap": {
                "covered": list(ov.covered),
                "missed": list(ov.missed),
                "outside": list(ov.outside),
                "covered_pct": ov.covered_pct,
            },
            "comfort": self.comfort,
            "comfort_label": None if self.comfort is None else COMFORT_LABELS[self.comfort],
            "notes": self.notes,
            "left_active": self.left_active,
        }

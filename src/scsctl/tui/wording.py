"""Errors, states and audit records in words a technician reads at a glance (no Textual here)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import Any

from firmware_protocol.constants import FaultCode, ImpedanceStatus, NakReason, Param, State, StateCause

from ..audit import AuditRecord
from ..errors import (
    AcknowledgementRequired,
    AuditError,
    DeviceRefused,
    LinkError,
    LinkLost,
    ProtocolViolation,
    SafetyRefusal,
    ScsError,
    UsageError,
)
from ..units import format_dhz, format_mv, format_nc, format_ua, format_us

__all__ = ["Explanation", "describe_record", "explain", "record_time", "state_words"]

STATE_WORDS: dict[State, str] = {
    State.IDLE: "idle (no program selected)",
    State.PROGRAMMED: "ready (not stimulating)",
    State.RAMPING_UP: "ramping up",
    State.STIMULATING: "STIMULATING",
    State.RAMPING_DOWN: "ramping down",
    State.CYCLING_OFF: "cycling: off period (restarts by itself)",
    State.FAULT: "FAULT (output off)",
}


def state_words(state: State) -> str:
    return STATE_WORDS.get(state, state.name.lower())


_NAK_REASONS: dict[NakReason, str] = {
    NakReason.OUT_OF_RANGE: "a value is outside what the device allows",
    NakReason.WRONG_STATE: "not possible in the device's present state",
    NakReason.BUSY: "the device is busy (an impedance check runs for a moment): try again",
    NakReason.NOT_PERMITTED: "the device does not permit it",
    NakReason.EMPTY_SLOT: "that program slot is empty",
    NakReason.BAD_CRC: "the command arrived damaged",
    NakReason.BAD_LENGTH: "the command arrived damaged",
    NakReason.UNKNOWN_COMMAND: "the device does not know this command",
    NakReason.UNSUPPORTED_VERSION: "the device speaks another protocol version",
}

_NAK_PARAMS: dict[Param, tuple[str, Any]] = {
    Param.AMPLITUDE: ("amplitude", format_ua),
    Param.PATIENT_MAX: ("patient maximum", format_ua),
    Param.CONTACT_CURRENT: ("current on one contact", format_ua),
    Param.TOTAL_CURRENT: ("total current", format_ua),
    Param.PULSE_WIDTH: ("pulse width", format_us),
    Param.RATE: ("rate", format_dhz),
    Param.INTRA_BURST_RATE: ("rate inside a burst", format_dhz),
    Param.CHARGE_PER_PHASE: ("charge per phase", format_nc),
    Param.COMPLIANCE: ("compliance voltage", format_mv),
    Param.AMPLITUDE_STEP: ("amplitude step", format_ua),
}


@dataclass(frozen=True, slots=True)
class Explanation:
    """``title``: one line (what happened); ``text``: why, with the limit; ``severity``: for colour.

    ``about``: the state the message describes ("link", "fault", "refusal", "stop" or ""): the app
    clears it once that state is gone (the link is up again, the fault cleared, the device moved on).
    A message ``about`` "stop" (a STOP sent, confirmed or not confirmed) stays until acknowledged.
    """

    title: str
    text: str
    severity: str = "error"
    limit: str = ""
    about: str = ""


_PARAMETER_WORDS = {
    "amplitude_ua": "amplitude",
    "patient_max_ua": "patient maximum",
    "pulse_width_us": "pulse width",
    "rate_dhz": "rate",
    "charge_per_phase_nc": "charge per phase",
    "shannon_k": "Shannon k",
    "compliance_mv": "compliance voltage",
    "contact_current_ua": "current per contact",
    "total_current_ua": "total current",
    "impedance_age_s": "age of the impedance check (s)",
    "impedance_ohm": "impedance",
    "ramp_up_ms": "ramp-up (ms)",
    "amplitude_step_ua": "amplitude step",
    "share_pct": "share (%)",
}


def _limit_words(err: SafetyRefusal) -> str:
    if err.limit is None:
        return ""
    formats = {
        "amplitude_ua": format_ua,
        "patient_max_ua": format_ua,
        "pulse_width_us": format_us,
        "rate_dhz": format_dhz,
        "charge_per_phase_nc": format_nc,
        "compliance_mv": format_mv,
        "contact_current_ua": format_ua,
        "total_current_ua": format_ua,
        "amplitude_step_ua": format_ua,
    }
    fmt = formats.get(err.parameter)
    value = fmt(err.limit) if fmt is not None and isinstance(err.limit, int) else str(err.limit)
    name = _PARAMETER_WORDS.get(err.parameter, err.parameter.replace("_", " "))
    if err.parameter == "amplitude_ua" and "patient maximum" in str(err):
        name = "patient maximum"
    return f"limit: {name} {value} ({err.tier} tier, profile {err.profile})"


def explain(err: BaseException, what: str = "") -> Explanation:
    """``err`` (raised while doing ``what``) for the message bar."""
    doing = f"{what}: " if what else ""
    text = str(err)
    if isinstance(err, AcknowledgementRequired):
        return Explanation(f"{doing}needs your acknowledgement", text, "warning")
    if isinstance(err, SafetyRefusal):
        return Explanation(
            f"{doing}refused by scsctl's safety check - nothing was sent", text, "error", _limit_words(err), "refusal"
        )
    if isinstance(err, DeviceRefused):
        reason = _NAK_REASONS.get(err.reason, err.reason.name.lower().replace("_", " "))
        limit = ""
        if err.param in _NAK_PARAMS:
            name, fmt = _NAK_PARAMS[err.param]
            limit = f"limit: {name}" + (f" {fmt(err.limit)}" if err.limit else "") + " (the device's own limit)"
        where = f" on contact {err.index + 1}" if err.index is not None else ""
        return Explanation(f"{doing}refused by the device", f"{reason}{where}. ({text})", "error", limit, "refusal")
    if isinstance(err, LinkLost):
        return Explanation(f"{doing}the link to the device is lost", text, "error")
    if isinstance(err, ProtocolViolation):
        return Explanation(f"{doing}the device answered something unexpected", text, "error")
    if isinstance(err, LinkError):
        return Explanation(f"{doing}cannot talk to the device", text, "error")
    if isinstance(err, AuditError):
        return Explanation(f"{doing}the audit log cannot be written, so nothing was done", text, "error")
    if isinstance(err, UsageError):
        return Explanation(f"{doing}not understood", text, "error")
    if isinstance(err, ScsError):
        return Explanation(f"{doing}failed", text, "error")
    return Explanation(f"{doing}unexpected error (a bug: please report it with the audit log)", repr(err), "error")


# --- audit records ---------------------------------------------------------------------------------


def record_time(record: AuditRecord) -> str:
    """The record's local time of day, HH:MM:SS."""
    try:
        return datetime.fromisoformat(record.time_utc).astimezone().strftime("%H:%M:%S")
    except ValueError:
        return record.time_utc


def _name(enum: type[IntEnum], value: Any) -> str:
    """An enum field of a record (stored as its number, or as its name) as a lower-case word."""
    if isinstance(value, int):
        try:
            return enum(value).name.lower().replace("_", " ")
        except ValueError:
            return str(value)
    return str(value).lower().replace("_", " ")


def _mA(value: Any) -> str:
    return format_ua(value) if isinstance(value, int) else str(value)


def describe_record(record: AuditRecord) -> str:
    """One line for a record of the session's audit trail."""
    d = record.detail
    name = record.name
    if record.kind == "refusal":
        return str(d.get("message", ""))
    if record.kind == "error":
        return str(d.get("error", d))
    if record.kind == "event":
        if name == "EVENT_STATE":
            return (
                f"{_name(State, d.get('old_state'))} -> {_name(State, d.get('new_state'))} "
                f"({_name(StateCause, d.get('cause'))}), output {_mA(d.get('amplitude_ua'))}"
            )
        if name == "EVENT_FAULT":
            contact = d.get("contact")
            on = f" on contact {contact + 1}" if isinstance(contact, int) and contact != 0xFF else ""
            return f"fault: {_name(FaultCode, d.get('fault'))}{on}"
        if name == "EVENT_IMPEDANCE_WARNING":
            status = _name(ImpedanceStatus, d.get("status"))
            return f"contact {int(d.get('contact', 0)) + 1}: {d.get('impedance_ohm')} ohm, {status}"
        if name.startswith("LINK_"):
            return f"link {name.removeprefix('LINK_').lower()}: {d.get('reason', '')}"
    if record.kind == "reply" and "nak" in d:
        return str(d.get("message", f"NAK {d['nak']}"))
    if record.kind == "command":
        if name == "SET_AMPLITUDE":
            how = "commit" if d.get("commit") else "tentative"
            return f"{_mA(d.get('before_ua'))} -> {_mA(d.get('after_ua'))} ({how}, step {d.get('step', '')})"
        if name == "SET_PROGRAM":
            after = d.get("after", {})
            return (
                f"slot {after.get('slot')}: {_mA(after.get('amplitude_ua'))}, {after.get('pulse_width_us')} us, "
                f"{format_dhz(int(after.get('rate_dhz', 0)))}"
            )
        if name in ("SELECT_PROGRAM",):
            return f"slot {d.get('slot')}"
        if name == "START":
            return f"from {str(d.get('state_before', '')).lower()}"
        if name == "STOP":
            ms = d.get("confirmed_after_ms")
            return f"confirmed after {ms} ms" if ms is not None else ""
    if record.kind == "reply":
        if name == "MEASURE_IMPEDANCE" and "contacts" in d:
            statuses = [_name(ImpedanceStatus, c.get("status")) for c in d["contacts"]]
            flagged = [f"{i + 1} {s}" for i, s in enumerate(statuses) if s != "ok"]
            return "all contacts OK" if not flagged else "flagged: " + ", ".join(flagged)
        if name == "IDENTIFY":
            return f"{d.get('model')} {d.get('serial')} firmware {d.get('firmware')}"
        reply = str(d.get("reply", ""))
        return "acknowledged" if reply.endswith("_ACK") else reply.lower().replace("_", " ")
    if record.kind == "action":
        return ", ".join(f"{k} {v}" for k, v in d.items())
    return ", ".join(f"{k}={v}" for k, v in list(d.items())[:4])

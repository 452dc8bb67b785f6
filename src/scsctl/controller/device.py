"""A connected device: the public API scripts, the CLI, the TUI and test rigs use.

Order of every command that changes the device (rule 3: nothing reported unless recorded):
guard check (a refusal is audited, then raised) -> audit the command -> send -> audit the reply
(a NAK is audited, then raised as DeviceRefused) -> return. If the audit log cannot be written
before sending, the command is not sent. STOP is the exception: it goes to the wire first, whatever
else is happening, and is audited afterwards.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from firmware_protocol import messages as m
from firmware_protocol.constants import NO_SLOT, OUTPUT_STATES, AmplitudeFlags, ImpedanceStatus, State, StatusFlags

from ..audit import AuditLog
from ..errors import AuditError, DeviceRefused, ProtocolViolation, ReplyTimeout, SafetyRefusal, ScsError
from ..guard import Approved, DeviceContext, Guard, ImpedanceRecord
from ..link import Link
from ..profiles import DeviceProfile
from .events import Event, EventPump


@dataclass(frozen=True, slots=True)
class Identity:
    """Who the device says it is (IDENTIFY), with the profile it was matched to."""

    model_id: int
    profile: str
    serial: str
    firmware: str
    hardware_revision: int
    protocol_version: int
    contacts: int
    program_slots: int
    capabilities: tuple[str, ...]

    @classmethod
    def from_message(cls, ident: m.Identify, profile: str) -> Identity:
        caps = tuple(c.name.lower() for c in type(ident.capabilities) if c and c in ident.capabilities and c.name)
        return cls(
            ident.model_id,
            profile,
            ident.serial_number,
            ident.firmware_version,
            ident.hardware_revision,
            ident.protocol_version,
            ident.contact_count,
            ident.program_slots,
            caps,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "model": self.profile,
            "serial": self.serial,
            "firmware": self.firmware,
            "hardware_revision": self.hardware_revision,
            "protocol_version": self.protocol_version,
            "contacts": self.contacts,
            "program_slots": self.program_slots,
            "capabilities": list(self.capabilities),
        }


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a state-changing call did, and what the operator must be shown about it."""

    notices: tuple[str, ...] = ()
    acknowledged: tuple[str, ...] = ()
    status: m.Status | None = None


@dataclass
class _Known:
    """What the host knows of the device, kept from read-backs (the guard's context)."""

    programs: dict[int, m.Program] = field(default_factory=dict)
    impedance: ImpedanceRecord | None = None


class Device:
    """One open session with one device. Thread-safe; use ``scsctl.connect`` to get one."""

    def __init__(self, link: Link, identity: Identity, profile: DeviceProfile, guard: Guard, audit: AuditLog) -> None:
        self.link = link
        self.identity = identity
        self.profile = profile
        self.guard = guard
        self.audit = audit
        self._known = _Known()
        self._lock = threading.RLock()  # one stimulation command at a time; STOP never takes it
        self._events = EventPump(audit)
        self._unsubscribe_link = link.subscribe(self._events.put)
        self._closed = False
        self.sleep: Callable[[float], None] = time.sleep
        """How ramp steps wait between set-points (a test may replace it)."""

    # --- reading ---------------------------------------------------------------------------------

    def status(self) -> m.Status:
        reply = self.link.request(m.GetStatus())
        assert isinstance(reply, m.Status)
        return reply

    def read_program(self, slot: int) -> m.Program:
        reply = self.link.request(m.ReadProgram(slot))
        assert isinstance(reply, m.ProgramData)
        with self._lock:
            self._known.programs[slot] = reply.program
        return reply.program

    def programs(self) -> dict[int, m.Program]:
        """Every slot that holds a program, read back from the device."""
        out: dict[int, m.Program] = {}
        for slot in range(self.identity.program_slots):
            try:
                out[slot] = self.read_program(slot)
            except DeviceRefused as err:
                if err.reason != "EMPTY_SLOT":
                    raise
        return out

    def usage(self) -> m.Usage:
        """Usage counters and the whole event log (paged)."""
        first = self.link.request(m.GetUsage(0, 32))
        assert isinstance(first, m.Usage)
        events = list(first.events)
        while len(events) < first.event_total:
            page = self.link.request(m.GetUsage(len(events), 32))
            assert isinstance(page, m.Usage)
            if not page.events:
                break
            events.extend(page.events)
        return m.Usage(
            first.stimulation_s,
            first.start_count,
            first.amplitude_change_count,
            first.power_on_count,
            first.fault_count,
            first.event_total,
            tuple(events),
        )

    @property
    def impedance(self) -> ImpedanceRecord | None:
        return self._known.impedance

    # --- events ------------------------------------------------------------------------------------

    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]:
        """Call ``callback`` (on the event thread) with each device event once it is audited."""
        return self._events.subscribe(callback)

    # --- stimulation -------------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop all output now. Goes out ahead of everything; audited after the device confirmed."""
        sent_at = time.monotonic()
        try:
            self.link.stop()
        except ScsError as err:
            self._audit_late("error", "STOP", {"error": str(err)})
            raise
        self._audit_late("command", "STOP", {"confirmed_after_ms": round((time.monotonic() - sent_at) * 1000, 3)})

    def write_program(self, program: m.Program, *, acknowledge: frozenset[str] = frozenset()) -> Outcome:
        """Guard, write, and read back; any difference in the read-back fails closed."""
        with self._lock:
            approved = self._check(m.SetProgram(program), acknowledge)
            before = self._known.programs.get(program.slot)
            outcome = Outcome()
            for message in approved.messages:
                assert isinstance(message, m.SetProgram)
                self._send(message, detail={"before": _fields(before), "after": _fields(message.program)})
                readback = self.read_program(message.program.slot)
                if readback != message.program:
                    self._fail_closed(message.program, readback)
                outcome = Outcome(approved.notices, tuple(w.id for w in approved.warnings))
            return outcome

    def select(self, slot: int) -> None:
        with self._lock:
            self._send(m.SelectProgram(slot), detail={"slot": slot})

    def start(self, slot: int | None = None, *, acknowledge: frozenset[str] = frozenset()) -> Outcome:
        """Start the selected program (or ``slot``); the device ramps it up over its ramp time."""
        with self._lock:
            message = m.Start(NO_SLOT if slot is None else slot)
            approved = self._check(message, acknowledge)
            before = self.status()
            for msg in approved.messages:
                try:
                    self._send(msg, idempotent=False, detail={"state_before": before.state.name})
                except ReplyTimeout:
                    # START is not repeated blindly: the state read back says whether it happened.
                    after = self.status()
                    if after.state not in OUTPUT_STATES:
                        raise
                    self._audit("reply", "START", {"confirmed_by": "status read-back", "state": after.state.name})
            return Outcome(approved.notices, tuple(w.id for w in approved.warnings), self.status())

    def set_amplitude(
        self, amplitude_ua: int, *, commit: bool = False, acknowledge: frozenset[str] = frozenset()
    ) -> Outcome:
        """Change the running amplitude: in the profile's steps, tentative unless ``commit``."""
        with self._lock:
            self._wait_while_ramping()
            flags = AmplitudeFlags.COMMIT if commit else AmplitudeFlags.NONE
            approved = self._check(m.SetAmplitude(amplitude_ua, flags), acknowledge)
            before = self.status().setpoint_ua
            steps = approved.messages
            for i, msg in enumerate(steps):
                if i and approved.step_interval_ms:
                    self.sleep(approved.step_interval_s)
                assert isinstance(msg, m.SetAmplitude)
                self._send(
                    msg,
                    detail={
                        "before_ua": before,
                        "after_ua": msg.amplitude_ua,
                        "commit": msg.commit,
                        "step": f"{i + 1}/{len(steps)}",
                    },
                )
                before = msg.amplitude_ua
            return Outcome(approved.notices, tuple(w.id for w in approved.warnings), self.status())

    def commit(self) -> Outcome:
        """Make the present (tentative) amplitude part of the running program."""
        with self._lock:
            return self.set_amplitude(self.status().setpoint_ua, commit=True)

    def measure_impedance(self) -> ImpedanceRecord:
        with self._lock:
            reply = self._send(m.MeasureImpedance(), detail={}, timeout_s=1.0)
            assert isinstance(reply, m.Impedance)
            record = ImpedanceRecord.from_reply(reply, measured_at_s=time.monotonic())
            self._known.impedance = record
            return record

    # --- session ------------------------------------------------------------------------------------

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._audit_late("action", "disconnect", {})
        finally:
            self._unsubscribe_link()
            self.link.close()
            self._events.close()
            self.audit.close()

    def __enter__(self) -> Device:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def restore_impedance(self) -> ImpedanceRecord | None:
        """Take the last impedance check of this device from the audit log, if the device agrees.

        A one-shot ``scsctl impedance`` then ``scsctl start`` are two sessions; the check made in
        the first still counts in the second when the device says its check is still fresh (no
        power cycle or lead fault since). Its age is the audit record's age.
        """
        if not self.status().status_flags & StatusFlags.IMPEDANCE_FRESH:
            return None
        last = self.audit.last("reply", "MEASURE_IMPEDANCE", device=self.identity.serial)
        if last is None or "contacts" not in last.detail:
            return None
        age_s = (datetime.now(UTC) - datetime.fromisoformat(last.time_utc)).total_seconds()
        readings = tuple(
            m.ImpedanceReading(c["impedance_ohm"], ImpedanceStatus[c["status"]] if isinstance(c["status"], str)
                               else ImpedanceStatus(c["status"]))
            for c in last.detail["contacts"]
        )  # fmt: skip
        if len(readings) != self.identity.contacts:
            return None
        with self._lock:
            self._known.impedance = ImpedanceRecord(readings, time.monotonic() - max(age_s, 0.0))
        return self._known.impedance

    # --- internals ----------------------------------------------------------------------------------

    def _wait_while_ramping(self) -> None:
        """The device takes no amplitude change during a ramp: wait for it, no longer than the ramp."""
        status = self.status()
        if status.state not in (State.RAMPING_UP, State.RAMPING_DOWN):
            return
        program = self._known.programs.get(status.active_slot)
        ramp_ms = max(program.ramp_up_ms, program.ramp_down_ms) if program else 0
        deadline = time.monotonic() + ramp_ms / 1000 + 0.5
        while status.state in (State.RAMPING_UP, State.RAMPING_DOWN) and time.monotonic() < deadline:
            time.sleep(0.02)
            status = self.status()

    def context(self) -> DeviceContext:
        status = self.status()
        stimulating = status.state in OUTPUT_STATES
        slot = None if status.active_slot == NO_SLOT else status.active_slot
        return DeviceContext(
            stimulating=stimulating,
            running_slot=slot if stimulating else None,
            selected_slot=slot,
            present_amplitude_ua=status.setpoint_ua,
            programs=dict(self._known.programs),
            impedance=self._known.impedance,
            now_s=time.monotonic(),
        )

    def _check(self, command: m.Message, acknowledge: frozenset[str]) -> Approved:
        try:
            return self.guard.check(command, self.context(), acknowledge=acknowledge)
        except SafetyRefusal as err:
            self._audit(
                "refusal",
                command.TYPE.name,
                {
                    "message": str(err),
                    "parameter": err.parameter,
                    "value": err.value,
                    "limit": err.limit,
                    "tier": err.tier,
                    "profile": err.profile,
                    "command": m.to_readable(command),
                },
            )
            raise

    def _send(
        self, message: m.Message, *, detail: Mapping[str, Any], idempotent: bool = True, timeout_s: float | None = None
    ) -> m.Message:
        name = message.TYPE.name
        self._audit("command", name, {**detail, "sent": m.to_readable(message)})
        try:
            reply = self.link.request(message, idempotent=idempotent, timeout_s=timeout_s)
        except DeviceRefused as err:
            self._audit(
                "reply",
                name,
                {"nak": err.reason, "param": err.param, "index": err.index, "limit": err.limit, "message": str(err)},
            )
            raise
        except ScsError as err:
            self._audit("error", name, {"error": str(err)})
            raise
        self._audit("reply", name, {"reply": reply.TYPE.name, **m.to_readable(reply)})
        return reply

    def _fail_closed(self, sent: m.Program, readback: m.Program) -> None:
        differences = {
            k: {"sent": v, "read_back": getattr(readback, k)}
            for k, v in _fields(sent).items()
            if _fields(readback).get(k) != v
        }
        status = self.status()
        if status.state in OUTPUT_STATES and status.active_slot == sent.slot:
            self.stop()
        self._audit("error", "READ_BACK_MISMATCH", {"slot": sent.slot, "differences": differences})
        raise ProtocolViolation(
            f"slot {sent.slot} reads back differently from what was written ({', '.join(differences)}); "
            "the program must not be used" + (" and stimulation was stopped" if status.state in OUTPUT_STATES else "")
        )

    def _audit(self, kind: Any, name: str, detail: Mapping[str, Any]) -> None:
        self.audit.record(kind, name, detail)

    def _audit_late(self, kind: Any, name: str, detail: Mapping[str, Any]) -> None:
        """For what already happened (STOP): a failing audit is reported, the action stands."""
        try:
            self.audit.record(kind, name, detail)
        except AuditError as err:
            raise AuditError(f"{err} (the device did act: {name} was carried out)") from err


def _fields(program: m.Program | None) -> dict[str, Any]:
    if program is None:
        return {}
    return m.to_readable(m.SetProgram(program))

"""A connected device: the public API scripts, the CLI, the TUI and test rigs use.

Order of every command that changes the device (rule 3: nothing reported unless recorded):
guard check (a refusal is audited, then raised) -> audit the command -> send -> audit the reply
(a NAK is audited, then raised as DeviceRefused) -> return. If the audit log cannot be written
before sending, the command is not sent. STOP is the exception: it goes to the wire first, whatever
else is happening, and is audited afterwards.

The host's picture of the device (programs per slot, the last impedance check) is refreshed from
the device before every guard check that depends on it, never trusted from an earlier call.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from firmware_protocol import messages as m
from firmware_protocol.constants import (
    NO_INDEX,
    NO_SLOT,
    OUTPUT_STATES,
    AmplitudeFlags,
    HeartbeatFlags,
    ImpedanceStatus,
    NakReason,
    State,
    StatusFlags,
)

from ..audit import AuditLog, AuditRecord, Kind
from ..errors import AuditError, DeviceRefused, ProtocolViolation, ReplyTimeout, SafetyRefusal, ScsError, UsageError
from ..guard import Approved, DeviceContext, Guard, ImpedanceRecord, Role, minimum_ramp_up_ms
from ..link import Link, LinkStateChange, LinkStats, LinkStatus
from ..profiles import DeviceProfile
from ..units import format_ms, format_ua
from .control import StopAnswer
from .events import Event, EventPump, Relay
from .ownership import PortClaim
from .raw import RawExchange, payload_hex

EMULATOR_SERIAL_PREFIX = "EMU"
"""The serial-number prefix by which an emulator says what it is (see ``scsctl.emulator.Firmware``)."""
RAW_RECORDS_SHOWN = 20
"""How many of the session's newest records ``send_raw`` looks through for the ones it left."""


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

    @property
    def is_emulator(self) -> bool:
        """The device says it is an emulator: its serial number starts with ``EMU`` (every scsctl
        emulator's does, whether in this process, on a pseudo-terminal or over TCP)."""
        return self.serial.startswith(EMULATOR_SERIAL_PREFIX)

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

    def check_slot(self, slot: int) -> int:
        """``slot`` if this device has it; ``UsageError`` naming the slots it has (the one check of a
        slot number given by a user: the guard and the device refuse one all the same)."""
        if isinstance(slot, bool) or not 0 <= slot < self.program_slots:
            last = self.program_slots - 1
            raise UsageError(f"slot {slot}: this device ({self.serial}) has program slots 0 to {last}")
        return slot

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


class LinkView:
    """A device's link as callers see it: its state, figures and events, and the watchdog's feed.

    It has no way to send a command: everything that reaches the device goes through ``Device``,
    past the guard and into the audit log. Starting or silencing the heartbeat is allowed (rigs
    simulate a lost host with it); it commands no stimulation, and a heartbeat that would loosen a
    tethered device's watchdog goes through the guard like a command.
    """

    __slots__ = ("_arm", "_hooked", "_link", "_relay")

    def __init__(self, link: Link, arm: Callable[[int, bool], None]) -> None:
        self._link = link
        self._arm = arm
        self._relay = Relay(f"scsctl-link-events {link.transport.url}")
        self._hooked = link.subscribe(self._relay.put)

    @property
    def status(self) -> LinkStatus:
        return self._link.status

    @property
    def stats(self) -> LinkStats:
        return self._link.stats

    @property
    def url(self) -> str:
        return self._link.transport.url

    def subscribe(self, callback: Callable[[m.Message | LinkStateChange], None]) -> Callable[[], None]:
        """Call ``callback`` with each device event and link state change as it comes, before it
        is audited (``Device.subscribe``: after), on a thread of its own, in order. It may call
        the device, a STOP included."""
        return self._relay.subscribe(callback)

    def subscribe_timed(self, callback: Callable[[float, m.Message | LinkStateChange], None]) -> Callable[[], None]:
        """As ``subscribe``, with each item's time of arrival (``time.monotonic()``, taken as the
        host read it, before the hand-over): ``callback(arrived_s, item)``."""
        return self._relay.subscribe(callback, timed=True)

    def close(self) -> None:
        """No more events: those already come are handed over first."""
        self._hooked()
        self._relay.close()

    def start_heartbeat(self, watchdog_timeout_ms: int, *, stop_on_loss: bool) -> None:
        """Arm the device's watchdog (through the guard: loosening a tethered one is for engineers)."""
        self._arm(watchdog_timeout_ms, stop_on_loss)

    def stop_heartbeat(self) -> None:
        self._link.stop_heartbeat()


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

    def __init__(
        self, link: Link, identity: Identity, profile: DeviceProfile, guard: Guard, audit: AuditLog,
        *, tethered: bool = False, watchdog_timeout_ms: int = 1000, claim: PortClaim | None = None,
    ) -> None:  # fmt: skip
        self._link = link
        self.identity = identity
        self.profile = profile
        self._guard = guard
        self._audit = audit
        self._link_view = LinkView(link, self._arm_as_asked)
        self._watchdog_timeout_ms = watchdog_timeout_ms
        self._armed = False  # this session armed the device's watchdog (it commanded stimulation)
        self._claim = claim
        self._unserve = claim.serve_stop(self._stop_for_another) if claim is not None else (lambda: None)
        self._known = _Known()
        self._lock = threading.RLock()  # one stimulation command at a time; STOP never takes it
        self._cache_lock = threading.Lock()  # the read-back cache, for readers while a ramp runs
        self._stops = 0  # counts STOPs, so a ramp in progress on another thread ends at once
        self._events = EventPump(audit)
        self._unsubscribe_link = link.subscribe(self._events.put)
        self._closed = False
        self.tethered = tethered
        """Stimulation lives only as long as this session (closing it, or losing the link, stops it)."""
        self.sleep: Callable[[float], None] = time.sleep
        """How ramp steps wait between set-points (a test may replace it)."""

    # --- what callers may see (read-only: a technician's guard cannot be swapped, nor sent around) ---

    @property
    def guard(self) -> Guard:
        """The guard of this session: its tier follows the role it was connected with."""
        return self._guard

    @property
    def role(self) -> str:
        return self._guard.role.value

    @property
    def audit(self) -> AuditLog:
        return self._audit

    @property
    def link(self) -> LinkView:
        """Link state, statistics and events; commands go through this object's methods only."""
        return self._link_view

    # --- reading ---------------------------------------------------------------------------------

    def status(self) -> m.Status:
        reply = self._link.request(m.GetStatus())
        assert isinstance(reply, m.Status)
        return reply

    def read_program(self, slot: int) -> m.Program:
        try:
            reply = self._link.request(m.ReadProgram(slot))
        except DeviceRefused as err:
            if err.reason is NakReason.EMPTY_SLOT:
                with self._cache_lock:
                    self._known.programs.pop(slot, None)
            raise
        assert isinstance(reply, m.ProgramData)
        with self._cache_lock:
            self._known.programs[slot] = reply.program
        return reply.program

    def programs(self) -> dict[int, m.Program]:
        """Every slot that holds a program, read back from the device."""
        out: dict[int, m.Program] = {}
        for slot in range(self.identity.program_slots):
            try:
                out[slot] = self.read_program(slot)
            except DeviceRefused as err:
                if err.reason is not NakReason.EMPTY_SLOT:
                    raise
        return out

    def usage(self) -> m.Usage:
        """Usage counters and the whole event log (paged)."""
        first = self._link.request(m.GetUsage(0, 32))
        assert isinstance(first, m.Usage)
        events = list(first.events)
        while len(events) < first.event_total:
            page = self._link.request(m.GetUsage(len(events), 32))
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

    def counters(self) -> m.Counters | None:
        """The device's receiver and NAK counts since its power-on (GET_COUNTERS), or None for a
        device that does not advertise them (the command is optional): a read, not audited."""
        if "counters" not in self.identity.capabilities:
            return None
        reply = self._link.request(m.GetCounters())
        assert isinstance(reply, m.Counters)
        return reply

    @property
    def impedance(self) -> ImpedanceRecord | None:
        return self._known.impedance

    # --- events ------------------------------------------------------------------------------------

    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]:
        """Call ``callback`` (on the event thread) with each device event once it is audited."""
        return self._events.subscribe(callback)

    # --- stimulation -------------------------------------------------------------------------------

    def stop(self, *, requested_by: Mapping[str, Any] | None = None) -> None:
        """Stop all output now. Goes out ahead of everything; audited after the device confirmed.

        ``requested_by``: another process that asked this session to STOP (recorded with it).
        """
        self._stops += 1
        sent_at = time.monotonic()
        asked = {"requested_by": dict(requested_by)} if requested_by else {}
        try:
            self._link.stop()
        except ScsError as err:
            with contextlib.suppress(AuditError):  # the failure to stop is what the user must see
                self._audit.record("error", "STOP", {"error": str(err), **asked})
            raise
        detail = {"confirmed_after_ms": round((time.monotonic() - sent_at) * 1000, 3), **asked}
        self._audit_after("command", "STOP", detail, done="STOP was carried out")

    def _stop_for_another(self, request: Mapping[str, Any]) -> StopAnswer:
        """A STOP asked for by another process through this port's control endpoint."""
        sent_at = time.monotonic()
        who = {k: request[k] for k in ("pid", "operator", "command") if k in request}
        try:
            self.stop(requested_by=who)
        except AuditError as err:
            return StopAnswer(True, f"confirmed, but not recorded by the holder: {err}", _ms_since(sent_at))
        except ScsError as err:
            return StopAnswer(False, str(err), _ms_since(sent_at))
        return StopAnswer(True, "", _ms_since(sent_at))

    def _arm_as_asked(self, watchdog_timeout_ms: int, stop_on_loss: bool) -> None:
        flags = HeartbeatFlags.STOP_ON_LOSS if stop_on_loss else HeartbeatFlags.NONE
        with self._lock:
            self._check_heartbeat(m.Heartbeat(watchdog_timeout_ms, flags))
            self._link.start_heartbeat(watchdog_timeout_ms, stop_on_loss=stop_on_loss)
            self._armed = True

    def _arm_watchdog(self, status: m.Status) -> None:
        """Before this session's first stimulation command: arm the device's watchdog.

        Tethered sessions arm it to stop output on link loss; a device found tethered (by another
        session) stays tethered. A session that commands no stimulation never touches it.
        """
        if self._armed:
            return
        tethered = bool(status.status_flags & StatusFlags.STOP_ON_LINK_LOSS)
        self._link.start_heartbeat(self._watchdog_timeout_ms, stop_on_loss=self.tethered or tethered)
        self._armed = True

    def _check_heartbeat(self, beat: m.Heartbeat) -> None:
        """The guard decides on a heartbeat; one that loosens a tethered device is an audited command."""
        approved = self._check(beat, frozenset())
        if approved.notices:
            self._audit_before("command", "HEARTBEAT", {"sent": m.to_readable(beat), "notices": list(approved.notices)},
                               what="the heartbeat")  # fmt: skip

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
        self.identity.check_slot(slot)
        with self._lock:
            self._send(m.SelectProgram(slot), detail={"slot": slot})

    def start(self, slot: int | None = None, *, acknowledge: frozenset[str] = frozenset()) -> Outcome:
        """Start the selected program (or ``slot``); the device ramps it up over its ramp time."""
        with self._lock:
            message = m.Start(NO_SLOT if slot is None else slot)
            before = self.status()
            approved = self._check(message, acknowledge, self.context(before))
            self._arm_watchdog(before)
            for msg in approved.messages:
                try:
                    self._send(msg, idempotent=False, detail={"state_before": before.state.name})
                except ReplyTimeout:
                    # START is not repeated blindly: the state read back says whether it happened.
                    after = self.status()
                    if after.state not in OUTPUT_STATES:
                        raise
                    confirmed = {"confirmed_by": "status read-back", "state": after.state.name}
                    self._audit_after("reply", "START", confirmed, done="START was done")
            return Outcome(approved.notices, tuple(w.id for w in approved.warnings), self.status())

    def set_amplitude(
        self, amplitude_ua: int, *, commit: bool = False, acknowledge: frozenset[str] = frozenset()
    ) -> Outcome:
        """Change the running amplitude: in the profile's steps, tentative unless ``commit``.

        A STOP from another thread ends a ramp in progress at once (no further step is sent).
        """
        with self._lock:
            # The status the wait ended on is the guard's view too: no command went out since.
            now = self._wait_while_ramping()
            context = self.context(now)
            stops = self._stops
            flags = AmplitudeFlags.COMMIT if commit else AmplitudeFlags.NONE
            approved = self._check(m.SetAmplitude(amplitude_ua, flags), acknowledge, context)
            self._arm_watchdog(now)
            before = context.present_amplitude_ua
            steps = approved.messages
            notices = list(approved.notices)
            for i, msg in enumerate(steps):
                if i and approved.step_interval_ms:
                    self.sleep(approved.step_interval_s)
                if self._stops != stops:
                    notices.append(f"stopped during the ramp: {i} of {len(steps)} steps were sent")
                    break
                assert isinstance(msg, m.SetAmplitude)
                detail = {"before_ua": before, "after_ua": msg.amplitude_ua, "commit": msg.commit,
                          "step": f"{i + 1}/{len(steps)}"}  # fmt: skip
                try:
                    self._send(msg, detail=detail)
                except DeviceRefused as err:
                    # A STOP from another thread can pass this step on the wire between the check
                    # above and the send: the device, stopped already, refuses it. That is the ramp
                    # ended by STOP, not a failure of the change.
                    if self._stops == stops or err.reason is not NakReason.WRONG_STATE:
                        raise
                    notices.append(f"stopped during the ramp: {i} of {len(steps)} steps were sent")
                    break
                before = msg.amplitude_ua
            status = self.status()
            if commit and self._stops == stops:
                notices += self._restart_notice(amplitude_ua, status)
            return Outcome(tuple(notices), tuple(w.id for w in approved.warnings), status)

    def _restart_notice(self, amplitude_ua: int, status: m.Status) -> list[str]:
        """Say now, not at the next START, when a committed amplitude outgrows the program's ramp-up."""
        program = self._known_program(status.active_slot) if status.active_slot != NO_SLOT else None
        needed_ms = minimum_ramp_up_ms(self.profile, amplitude_ua)  # the guard's own rule for START
        if program is None or program.ramp_up_ms >= needed_ms:
            return []
        return [
            f"slot {program.slot} now starts at {format_ua(amplitude_ua)} with a ramp-up of "
            f"{format_ms(program.ramp_up_ms)}: to START it again it needs a ramp-up of at least {format_ms(needed_ms)} "
            "(rewrite it with --ramp)"
        ]

    def commit(self) -> Outcome:
        """Make the present tentative amplitude part of the running program."""
        with self._lock:
            status = self.status()
            if not status.status_flags & StatusFlags.TENTATIVE:
                raise UsageError(
                    f"nothing to commit: the amplitude ({format_ua(status.setpoint_ua)}) is not a tentative change"
                    " (tentative changes end with the session that made them; use `amplitude VALUE --commit`)"
                )
            return self.set_amplitude(status.setpoint_ua, commit=True)

    def request(self, message: m.Message) -> m.Message:
        """Send one command exactly as given, guarded and audited like every other.

        For tools that replay recorded traffic: a stimulation command is sent only when the guard
        approves it unchanged (a command the guard would split into a ramp is refused); STOP goes
        through ``stop``; HELLO is not repeated in a session.
        """
        if isinstance(message, m.Stop):
            self.stop()
            return m.StopAck()
        if isinstance(message, m.Hello):
            raise UsageError("HELLO is sent once, when connecting")
        with self._lock:
            self._approve_as_is(message, message.TYPE.name)
            return self._deliver(message)

    def send_raw(self, message: m.Message, *, acknowledge: frozenset[str] = frozenset()) -> RawExchange:
        """A message an engineer typed (the TUI's raw-frame console), under the rules of ``request``.

        For the engineer role only (a technician's call is refused, and recorded). Sent as it is or
        not at all: a stimulation command only when the guard approves it unchanged, STOP through
        ``stop``, no second HELLO. Unlike ``request``, every frame is recorded, reads included:
        ``RAW_FRAME`` before it is sent (the guard ``checked``, where the pytest plugin's raw sender
        records ``bypassed``) and ``RAW_FRAME`` with the reply after. A NAK is the reply (as the
        plugin's sender returns it), not an exception; a refusal of the guard's is raised.
        ``acknowledge``: the guard's warnings the engineer acknowledged (``AcknowledgementRequired``).
        """
        name = message.TYPE.name
        sent = {"guard": "checked", "type": name, "payload": payload_hex(message), "fields": m.to_readable(message)}
        if self.role != Role.ENGINEER.value:
            err = SafetyRefusal(
                f"raw frames are for the engineer role only: this session's role is {self.role} "
                f"({name} was not sent)",
                parameter="role", value=self.role, limit=Role.ENGINEER.value, tier=self._guard.tier.name.value,
                profile=self.profile.name,
            )  # fmt: skip
            self._audit_before("refusal", "RAW_FRAME", {**sent, "message": str(err)}, what="the refusal")
            raise err
        if isinstance(message, m.Stop):
            self.stop()  # STOP first, whatever else is happening; recorded after, as every STOP
            first = self._audit_after("reply", "RAW_FRAME", {**sent, "reply": "STOP_ACK"}, done="STOP was carried out")
            return RawExchange(message, m.StopAck(), self._records_since(first))
        with self._lock:
            if isinstance(message, m.Hello):
                refusal = f"HELLO is sent once, when connecting ({name} was not sent)"
                self._audit_before("refusal", "RAW_FRAME", {**sent, "message": refusal}, what="the refusal")
                raise UsageError(refusal)
            self._approve_as_is(message, "RAW_FRAME", acknowledge)
            first = self._audit_before("command", "RAW_FRAME", sent, what="the raw frame")
            refused = ""
            try:
                reply = self._deliver(message)
            except DeviceRefused as err:
                refused = str(err)
                index = NO_INDEX if err.index is None else err.index
                reply = m.Nak(int(err.command), err.reason, err.param, index, err.limit or 0)
            except ScsError as err:
                self._audit_after(
                    "error", "RAW_FRAME", {"type": name, "error": str(err)}, done=f"{name} failed ({err})"
                )
                raise
            if isinstance(message, m.SetProgram) and not refused:
                readback = self.read_program(message.program.slot)
                if readback != message.program:
                    self._fail_closed(message.program, readback)
            answer = {"type": name, "reply": reply.TYPE.name, **m.to_readable(reply)}
            self._audit_after("reply", "RAW_FRAME", answer, done=f"{name} was done")
            return RawExchange(message, reply, self._records_since(first), refused)

    def _approve_as_is(self, message: m.Message, record_as: str, acknowledge: frozenset[str] = frozenset()) -> None:
        """A stimulation command goes out only as the guard approves it unchanged (one step)."""
        if isinstance(message, m.SetProgram | m.Start | m.SetAmplitude):
            approved = self._check(message, acknowledge, record_as=record_as)
            if approved.messages != (message,):
                raise self._refuse_as_is(message, approved, record_as)
        elif isinstance(message, m.Heartbeat):
            self._check_heartbeat(message)

    def _deliver(self, message: m.Message) -> m.Message:
        """Send an approved message; a command is audited, a read is not."""
        if isinstance(message, m.Heartbeat):
            reply = self._link.request(message)
            self._armed = True
            return reply
        if isinstance(message, m.GetStatus | m.ReadProgram | m.GetUsage | m.GetCounters):
            return self._link.request(message)  # reads are not audit records
        if isinstance(message, m.MeasureImpedance):
            return self._measure(message)
        if isinstance(message, m.Start | m.SetAmplitude):
            self._arm_watchdog(self.status())  # as start() and set_amplitude() do: tethered stays tethered
        return self._send(message, detail={}, idempotent=not isinstance(message, m.Start))

    def _records_since(self, first_id: int) -> tuple[AuditRecord, ...]:
        """This session's records from ``first_id`` on (what one raw exchange left in the log)."""
        recent = self._audit.query(session=self._audit.session, limit=RAW_RECORDS_SHOWN)
        # 0: the log was locked and the records wait in its pending journal (id 0 until merged).
        return tuple(r for r in recent if (r.id >= first_id if first_id else r.id == 0) and r.kind != "event")

    def measure_impedance(self) -> ImpedanceRecord:
        with self._lock:
            self._measure(m.MeasureImpedance())
            record = self._known.impedance
            assert record is not None
            return record

    def _measure(self, message: m.MeasureImpedance) -> m.Message:
        """Measure, and keep the readings as the last impedance check (the guard's, before START)."""
        reply = self._send(message, detail={}, timeout_s=1.0)
        assert isinstance(reply, m.Impedance)
        self._known.impedance = ImpedanceRecord.from_reply(reply, measured_at_s=time.monotonic())
        return reply

    # --- session ------------------------------------------------------------------------------------

    def close(self) -> None:
        """End the session cleanly.

        A tentative amplitude goes back to the committed one (ramped by the guard like any change);
        a tethered session stops stimulation; then the device's watchdog is disarmed, so a session
        that ends on purpose is not recorded by the device as a lost link.
        """
        if self._closed:
            return
        self._closed = True
        try:
            if self._link.status is LinkStatus.UP:
                self._end_session()
            self._unsubscribe_link()
            self._events.close()  # every event queued so far has been handled ...
            self._events.flush_unrecorded()  # ... and any the log refused earlier is recorded now
            self._audit_after("action", "disconnect", {}, done="the session ended")
        finally:
            self._unsubscribe_link()
            self._events.close()
            self._link_view.close()
            self._unserve()
            self._link.close()
            if self._claim is not None:
                self._claim.release()
            self._audit.close()

    def _end_session(self) -> None:
        with contextlib.suppress(ScsError):
            if self.tethered:
                self.stop()
            elif self._armed:
                self._revert_tentative()
            self._link.stop_heartbeat()
            if self._armed:
                self._link.request(m.Heartbeat(0))  # disarm what this session armed: leaving is not losing the link

    def _revert_tentative(self) -> None:
        status = self.status()
        if not status.status_flags & StatusFlags.TENTATIVE or status.state not in OUTPUT_STATES:
            return
        committed = self._known_program(status.active_slot)
        if committed is None:
            return
        if committed.amplitude_ua != status.setpoint_ua:
            self.set_amplitude(committed.amplitude_ua)  # tentative steps: a cut-short ramp commits nothing
        # Committing the value the program already holds changes nothing but ends the tentative state.
        self.set_amplitude(committed.amplitude_ua, commit=True)
        self._audit.record("action", "tentative reverted", {"to_ua": committed.amplitude_ua})

    def _abandon(self) -> None:
        """For a connect that failed half-way: release the threads and the port claim, send nothing."""
        self._closed = True
        self._events.close()
        self._unserve()
        if self._claim is not None:
            self._claim.release()
            self._claim = None

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
        last = self._audit.last("reply", "MEASURE_IMPEDANCE", device=self.identity.serial)
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

    def _wait_while_ramping(self) -> m.Status:
        """The device takes no amplitude change during a ramp: wait for it, no longer than the ramp.

        Returns the last status read (the one the wait ended on).
        """
        status = self.status()
        if status.state not in (State.RAMPING_UP, State.RAMPING_DOWN):
            return status
        program = self._known.programs.get(status.active_slot)
        ramp_ms = max(program.ramp_up_ms, program.ramp_down_ms) if program else 0
        deadline = time.monotonic() + ramp_ms / 1000 + 0.5
        while status.state in (State.RAMPING_UP, State.RAMPING_DOWN) and time.monotonic() < deadline:
            time.sleep(0.02)
            status = self.status()
        return status

    def _known_program(self, slot: int) -> m.Program | None:
        """The program in ``slot`` as the device holds it now (read back, not remembered)."""
        try:
            return self.read_program(slot)
        except DeviceRefused as err:
            if err.reason in (NakReason.EMPTY_SLOT, NakReason.OUT_OF_RANGE):
                return None
            raise

    def context(self, status: m.Status | None = None) -> DeviceContext:
        """The guard's view of the device, read from it now: state, and the active slot's program.

        ``status``: one just read, when the caller has it (no command may have gone out since).
        """
        if status is None:
            status = self.status()
        if status.active_slot != NO_SLOT:
            self._known_program(status.active_slot)  # a committed amplitude changes the slot on the device
        return DeviceContext.from_status(
            status, self._programs_snapshot(), impedance=self._known.impedance, now_s=time.monotonic()
        )

    def _programs_snapshot(self) -> dict[int, m.Program]:
        with self._cache_lock:
            return dict(self._known.programs)

    def _refuse_as_is(self, message: m.Message, approved: Approved, record_as: str) -> SafetyRefusal:
        err = SafetyRefusal(
            f"{message.TYPE.name} would have to go out as {len(approved.messages)} steps "
            f"({'; '.join(approved.notices)}): it is not sent as it is",
            parameter="command", value=message.TYPE.name, limit="one approved step",
            tier=self._guard.tier.name.value, profile=self.profile.name,
        )  # fmt: skip
        self._audit_before("refusal", record_as, {"message": str(err)}, what="the refusal")
        return err

    def _check(
        self,
        command: m.Message,
        acknowledge: frozenset[str],
        context: DeviceContext | None = None,
        *,
        record_as: str | None = None,
    ) -> Approved:
        """The guard's judgement; a refusal is recorded (as the command's name, or ``record_as``), then raised."""
        try:
            return self._guard.check(command, context or self.context(), acknowledge=acknowledge)
        except SafetyRefusal as err:
            detail = {
                "message": str(err), "parameter": err.parameter, "value": err.value, "limit": err.limit,
                "tier": err.tier, "profile": err.profile, "command": m.to_readable(command),
            }  # fmt: skip
            self._audit_before("refusal", record_as or command.TYPE.name, detail, what="the refused command")
            raise

    def _send(
        self, message: m.Message, *, detail: Mapping[str, Any], idempotent: bool = True, timeout_s: float | None = None
    ) -> m.Message:
        name = message.TYPE.name
        self._events.flush_unrecorded()
        self._audit_before("command", name, {**detail, "sent": m.to_readable(message)}, what="the command")
        try:
            reply = self._link.request(message, idempotent=idempotent, timeout_s=timeout_s)
        except DeviceRefused as err:
            nak = {"nak": err.reason.name, "param": err.param.name, "index": err.index, "limit": err.limit,
                   "message": str(err)}  # fmt: skip
            self._audit_after("reply", name, nak, done=f"the device refused {name}")
            raise
        except ScsError as err:
            self._audit_after("error", name, {"error": str(err)}, done=f"{name} failed ({err})")
            raise
        self._audit_after("reply", name, {"reply": reply.TYPE.name, **m.to_readable(reply)}, done=f"{name} was done")
        return reply

    def _fail_closed(self, sent: m.Program, readback: m.Program) -> None:
        sent_fields, read_fields = _fields(sent), _fields(readback)
        differences = {k: {"sent": v, "read_back": read_fields.get(k)} for k, v in sent_fields.items()
                       if read_fields.get(k) != v}  # fmt: skip
        status = self.status()
        stopped = status.state in OUTPUT_STATES and status.active_slot == sent.slot
        if stopped:
            self.stop()
        self._audit_after("error", "READ_BACK_MISMATCH", {"slot": sent.slot, "differences": differences,
                                                          "stopped": stopped}, done="the mismatch")  # fmt: skip
        raise ProtocolViolation(
            f"slot {sent.slot} reads back differently from what was written ({', '.join(differences)}); "
            "the program must not be used" + (" and its stimulation was stopped" if stopped else "")
        )

    def _audit_before(self, kind: Kind, name: str, detail: Mapping[str, Any], *, what: str) -> int:
        """Record before acting: when the log cannot be written, nothing is sent. Returns the record's id."""
        try:
            return self._audit.record(kind, name, detail)
        except AuditError as err:
            raise AuditError(f"{err} {what.capitalize()} was not sent.") from err

    def _audit_after(self, kind: Kind, name: str, detail: Mapping[str, Any], *, done: str) -> int:
        """Record what already happened: when the log cannot be written, say that it did happen."""
        try:
            return self._audit.record(kind, name, detail)
        except AuditError as err:
            raise AuditError(f"{err} {done[0].upper() + done[1:]}, but it is NOT recorded.") from err


def _ms_since(start_s: float) -> float:
    return round((time.monotonic() - start_s) * 1000, 3)


def _fields(program: m.Program | None) -> dict[str, Any]:
    if program is None:
        return {}
    return m.to_readable(m.SetProgram(program))

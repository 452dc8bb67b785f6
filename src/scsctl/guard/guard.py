"""The guard: one call that approves or refuses every command before it is encoded.

::

    guard = Guard(profile, role=Role.TECHNICIAN)       # the tier follows the role, fixed for life
    approved = guard.check(command, context, acknowledge=frozenset())
    for message in approved.messages: ...              # send in order, step_interval_ms apart

Per command:

- ``SetProgram``: slot exists and is not the running one; every field on the tier's grid and in
  the hardware ranges; electrode configuration; pulse/burst timing; the patient maximum a tier
  amplitude; currents, charge, Shannon and charge-density warning per contact at the amplitude
  and at the patient maximum (the patient's remote can reach it without the host); ramp-up slow
  enough; compliance (at the amplitude, and at the patient maximum) and open/short contacts
  against the last impedance check. A program whose
  electrode configuration differs from what the slot holds (or that goes into a slot holding no
  known program) must have amplitude 0: it is refused otherwise, never silently zeroed.
- ``SetAmplitude``: only while stimulating; the running program, with the new amplitude, passes
  the same checks (so a technician cannot drive a program beyond the clinical tier); the new
  amplitude is within the program's patient maximum (the device refuses above it as well);
  compliance. A change larger than the profile's step becomes a ramp of on-grid set-points.
  Charge-density warnings need acknowledging when the amplitude goes up, not when it comes down.
- ``Start``: a known program in the slot (read back), not already stimulating; the program passes
  all program checks in this tier (an engineering program cannot be started by a technician);
  ramp-up; a fresh impedance check when the profile requires it; compliance at the amplitude and at
  the patient maximum; open/short contacts.
- ``SelectProgram``: the slot exists. ``Stop`` and the read-only commands pass unchanged: the guard
  never stands between the user and STOP.
- ``Heartbeat``: passes unless the device is tethered (its watchdog stops output when the host goes
  quiet) and it would disarm the watchdog or drop stop-on-loss: engineer role only.
- Anything else (replies, events) is refused.

Refusals raise ``scsctl.errors.SafetyRefusal`` (parameter, value, limit, tier, profile); a warning
not in ``acknowledge`` raises ``AcknowledgementRequired`` whose ``value`` is the tuple of warning
ids to pass back (``WARNING_CHARGE_DENSITY``, ``WARNING_PATIENT_MAX_CHARGE_DENSITY``; its message
names them too) and whose ``limit`` is the warning level in uC/cm2; ``Guard.warnings`` lists them
without raising, for a UI that asks the user first.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection

from firmware_protocol.constants import NO_SLOT, AmplitudeFlags, HeartbeatFlags
from firmware_protocol.messages import (
    GetCounters,
    GetStatus,
    GetUsage,
    Heartbeat,
    Hello,
    MeasureImpedance,
    Message,
    Program,
    ReadProgram,
    SelectProgram,
    SetAmplitude,
    SetProgram,
    Start,
    Stop,
)

from ..errors import AcknowledgementRequired, SafetyRefusal
from ..profiles.models import DeviceProfile, Tier
from ..units import format_ua
from .checks import (
    Scope,
    check_electrical,
    check_fresh_impedance,
    check_leads,
    check_patient_max_compliance,
    check_program_settings,
    check_ramp_up,
    check_slot,
    waveform_limits,
)
from .context import (
    ROLE_TIERS,
    WARNING_PATIENT_MAX_CHARGE_DENSITY,
    Approved,
    DeviceContext,
    GuardWarning,
    Role,
)
from .ramp import plan_ramp, step_interval_ms

__all__ = ["Guard"]


def _heartbeat_text(command: Heartbeat) -> str:
    stop = "stop on loss" if command.flags & HeartbeatFlags.STOP_ON_LOSS else "no stop on loss"
    return f"timeout {command.watchdog_timeout_ms} ms, {stop}"

_PASS_THROUGH = (Stop, GetStatus, Hello, ReadProgram, MeasureImpedance, GetUsage, GetCounters)
"""Commands that do not command stimulation (STOP only ever lowers it): approved unchanged."""


class Guard:
    """Checks commands against one profile in the tier of one role. Immutable once built."""

    __slots__ = ("_role", "_scope")

    def __init__(self, profile: DeviceProfile, *, role: Role = Role.TECHNICIAN) -> None:
        role = Role(role)  # a plain string "engineer" works; anything else raises ValueError
        self._role = role
        self._scope = Scope(profile, profile.tier(ROLE_TIERS[role]))

    def __setattr__(self, name: str, value: object) -> None:
        if hasattr(self, "_scope"):
            raise AttributeError("a Guard cannot be changed: build a new one (the tier follows the role)")
        object.__setattr__(self, name, value)

    def __repr__(self) -> str:
        return f"Guard(profile={self.profile.name!r}, role={self._role.value!r}, tier={self.tier.name.value!r})"

    @property
    def profile(self) -> DeviceProfile:
        return self._scope.profile

    @property
    def role(self) -> Role:
        return self._role

    @property
    def tier(self) -> Tier:
        return self._scope.tier

    # --- public API ----------------------------------------------------------------------------------

    def check(self, command: Message, context: DeviceContext, acknowledge: Collection[str] = frozenset()) -> Approved:
        """Approve ``command`` (possibly as several messages) or raise ``SafetyRefusal``."""
        approved = self._evaluate(command, context)
        pending = [w for w in approved.warnings if w.id not in acknowledge]
        if pending:
            ids = ", ".join(repr(w.id) for w in pending)
            first = pending[0]
            raise AcknowledgementRequired(
                "; ".join(w.message for w in pending) + f" (profile {self.profile.name}). Acknowledge {ids} to go on.",
                parameter=first.parameter,
                value=tuple(w.id for w in pending),
                limit=self.profile.safety.charge_density_warning_uc_per_cm2,
                tier=self.tier.name.value,
                profile=self.profile.name,
            )
        return approved

    def warnings(self, command: Message, context: DeviceContext) -> tuple[GuardWarning, ...]:
        """The warnings ``check`` would ask to acknowledge; raises ``SafetyRefusal`` like ``check``."""
        return self._evaluate(command, context).warnings

    # --- per command ---------------------------------------------------------------------------------

    def _evaluate(self, command: Message, context: DeviceContext) -> Approved:
        if isinstance(command, SetProgram):
            return self._set_program(command, context)
        if isinstance(command, SetAmplitude):
            return self._set_amplitude(command, context)
        if isinstance(command, Start):
            return self._start(command, context)
        if isinstance(command, SelectProgram):
            check_slot(self._scope, command.slot)
            return Approved((command,))
        if isinstance(command, Heartbeat):
            return self._heartbeat(command, context)
        if isinstance(command, _PASS_THROUGH):
            return Approved((command,))
        raise self._scope.refuse(f"{type(command).__name__} is not a command the host sends",
                                 parameter="command", value=type(command).__name__, limit=None)  # fmt: skip

    def _program_checks(self, program: Program) -> list[GuardWarning]:
        """All program checks; warnings at the amplitude and at the patient maximum."""
        scope = self._scope
        limits = check_program_settings(scope, program)
        warnings = check_electrical(scope, program, program.amplitude_ua, limits.amplitude_ua)
        patient = check_electrical(scope, program, program.patient_max_ua, limits.amplitude_ua,
                                   what="patient maximum", warning_id=WARNING_PATIENT_MAX_CHARGE_DENSITY)  # fmt: skip
        if program.patient_max_ua > program.amplitude_ua:
            warnings += patient
        return warnings

    def _set_program(self, command: SetProgram, context: DeviceContext) -> Approved:
        scope, program = self._scope, command.program
        check_slot(scope, program.slot)
        if context.stimulating and context.running_slot == program.slot:
            raise scope.refuse(
                f"slot {program.slot} is running: stop stimulation before rewriting it (change the amplitude "
                "of a running program with an amplitude change)",
                parameter="slot", value=program.slot, limit=None,
            )  # fmt: skip
        warnings = self._program_checks(program)
        held = context.programs.get(program.slot)
        if program.amplitude_ua != 0 and (held is None or tuple(held.contacts) != tuple(program.contacts)):
            why = ("changes the electrode configuration of slot" if held is not None
                   else "puts a new electrode configuration into slot")  # fmt: skip
            raise scope.refuse(
                f"this program {why} {program.slot}, and a new configuration starts at amplitude 0: write it "
                f"with amplitude {format_ua(0)} (asked for {format_ua(program.amplitude_ua)}), start it, then "
                "raise the amplitude step by step",
                parameter="amplitude_ua", value=program.amplitude_ua, limit=0,
            )  # fmt: skip
        check_ramp_up(scope, program)
        notices = check_leads(scope, program, program.amplitude_ua, context.impedance, require_measured=False)
        check_patient_max_compliance(scope, program, waveform_limits(scope, program).amplitude_ua, context.impedance)
        return Approved((command,), tuple(warnings), tuple(notices))

    def _heartbeat(self, command: Heartbeat, context: DeviceContext) -> Approved:
        """A tethered device stops when its host goes quiet: only an engineer may loosen that.

        Loosening: disarming the watchdog (timeout 0) or re-arming it without stop-on-loss.
        """
        weakens = context.tethered and (
            command.watchdog_timeout_ms == 0 or not command.flags & HeartbeatFlags.STOP_ON_LOSS
        )
        if not weakens:
            return Approved((command,))
        what = ("disarm the watchdog" if command.watchdog_timeout_ms == 0
                else "re-arm the watchdog without stop-on-loss")  # fmt: skip
        if self._role is not Role.ENGINEER:
            raise self._scope.refuse(
                f"this HEARTBEAT would {what} of a tethered session, so a lost host would no longer stop "
                "stimulation: only the engineer role may do that (STOP first, or keep the heartbeat as it is)",
                parameter="watchdog", value=_heartbeat_text(command), limit="tethered: stop on link loss",
            )  # fmt: skip
        return Approved((command,), notices=(f"engineer: this HEARTBEAT will {what} of a tethered session",))

    def _start(self, command: Start, context: DeviceContext) -> Approved:
        scope = self._scope
        slot = context.selected_slot if command.slot == NO_SLOT else command.slot
        if slot is None:
            raise scope.refuse("no program is selected: name the slot to start",
                               parameter="slot", value=None, limit=None)  # fmt: skip
        check_slot(scope, slot)
        if context.stimulating:
            running = f" (slot {context.running_slot})" if context.running_slot is not None else ""
            raise scope.refuse(f"stimulation is already on{running}: stop it before starting a program",
                               parameter="slot", value=slot, limit=None)  # fmt: skip
        program = context.programs.get(slot)
        if program is None:
            raise scope.refuse(f"slot {slot} holds no program known to scsctl: read it back or write it first",
                               parameter="slot", value=slot, limit=None)  # fmt: skip
        program = dataclasses.replace(program, slot=slot)
        try:
            warnings = self._program_checks(program)
        except SafetyRefusal as err:
            raise scope.refuse(f"the program in slot {slot} cannot be started: {_bare(err)}",
                               parameter=err.parameter, value=err.value, limit=err.limit) from err  # fmt: skip
        check_ramp_up(scope, program)
        check_fresh_impedance(scope, context.impedance, context.now_s)
        notices = check_leads(scope, program, program.amplitude_ua, context.impedance,
                              require_measured=self.profile.impedance.required_before_start)  # fmt: skip
        try:
            check_patient_max_compliance(scope, program, waveform_limits(scope, program).amplitude_ua,
                                         context.impedance)  # fmt: skip
        except SafetyRefusal as err:
            raise scope.refuse(f"the program in slot {slot} cannot be started: {_bare(err)}; rewrite it with a "
                               "lower patient maximum", parameter=err.parameter, value=err.value,
                               limit=err.limit) from err  # fmt: skip
        return Approved((command,), tuple(warnings), tuple(notices))

    def _set_amplitude(self, command: SetAmplitude, context: DeviceContext) -> Approved:
        scope, safety = self._scope, self.profile.safety
        target = command.amplitude_ua
        if int(command.flags) & ~int(AmplitudeFlags.COMMIT):
            flags = int(command.flags)
            raise scope.refuse(f"amplitude flags 0x{flags:02X} hold reserved bits",
                               parameter="flags", value=flags, limit=int(AmplitudeFlags.COMMIT))  # fmt: skip
        if not context.stimulating or context.running_slot is None:
            raise scope.refuse(
                f"stimulation is off: an amplitude change ({format_ua(target)}) applies to a running program",
                parameter="amplitude_ua", value=target, limit=None,
            )  # fmt: skip
        running = context.programs.get(context.running_slot)
        if running is None:
            raise scope.refuse(
                f"the running program (slot {context.running_slot}) is not known to scsctl: read it back first",
                parameter="slot", value=context.running_slot, limit=None,
            )  # fmt: skip
        running = dataclasses.replace(running, slot=context.running_slot)
        program = dataclasses.replace(running, amplitude_ua=target)
        try:
            limits = check_program_settings(scope, program)
        except SafetyRefusal as err:
            if err.parameter == "amplitude_ua":
                raise
            raise scope.refuse(
                f"the running program (slot {context.running_slot}) cannot be adjusted in the {scope.tier_name} "
                f"tier: {_bare(err)}",
                parameter=err.parameter,
                value=err.value,
                limit=err.limit,
            ) from err
        warnings = check_electrical(scope, program, target, limits.amplitude_ua)
        check_electrical(scope, program, program.patient_max_ua, limits.amplitude_ua, what="patient maximum",
                         warning_id=WARNING_PATIENT_MAX_CHARGE_DENSITY)  # fmt: skip
        notices = check_leads(scope, program, target, context.impedance, require_measured=False)
        present = context.present_amplitude_ua
        points = plan_ramp(present, target, limits.amplitude_ua, safety.max_amplitude_step_ua)
        if points is None:
            raise scope.refuse(
                f"cannot ramp from {format_ua(present)} to {format_ua(target)} in steps of at most "
                f"{format_ua(safety.max_amplitude_step_ua)} on the {scope.tier_name} tier's settings: the present "
                "amplitude is outside them; stop stimulation instead",
                parameter="amplitude_step_ua", value=abs(target - present), limit=safety.max_amplitude_step_ua,
            )  # fmt: skip
        # Each intermediate set-point is checked like the target (on the way down from a present
        # amplitude that no longer passes, e.g. above a lowered patient maximum, one could fail).
        for point in points[:-1]:
            try:
                step_program = dataclasses.replace(program, amplitude_ua=point)
                check_program_settings(scope, step_program)
                check_electrical(scope, step_program, point, limits.amplitude_ua)
                check_leads(scope, step_program, point, context.impedance, require_measured=False)
            except SafetyRefusal as err:
                raise scope.refuse(
                    f"the ramp from {format_ua(present)} to {format_ua(target)} passes through {format_ua(point)}, "
                    f"which is refused: {_bare(err)}; stop stimulation instead",
                    parameter=err.parameter,
                    value=err.value,
                    limit=err.limit,
                ) from err
        if target < present:
            # Going down is never held back by a warning: the user is shown it instead.
            notices += [w.message for w in warnings]
            warnings = []
        if len(points) > 1:
            notices.append(
                f"the change from {format_ua(present)} to {format_ua(target)} is larger than "
                f"{format_ua(safety.max_amplitude_step_ua)}: ramping in {len(points)} steps at "
                f"{format_ua(safety.ramp_rate_ua_per_s)}/s"
            )
        messages = tuple(SetAmplitude(p, command.flags) for p in points) or (command,)
        return Approved(messages, tuple(warnings), tuple(notices),
                        step_interval_ms(present, points, safety.ramp_rate_ua_per_s))  # fmt: skip


def _bare(err: SafetyRefusal) -> str:
    """A refusal's message without its "(profile ...)" ending, to be wrapped in another message."""
    text = str(err)
    for suffix in (f" (profile {err.profile})", f" ({err.tier} tier, profile {err.profile})"):
        if text.endswith(suffix):
            return text[: -len(suffix)]
    return text

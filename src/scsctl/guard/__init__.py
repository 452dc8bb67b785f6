"""The safety guard: every command that affects stimulation passes one call before it is encoded.

::

    from scsctl.guard import Guard, Role, DeviceContext, ImpedanceRecord

    guard = Guard(profile)                          # technician: clinical tier (the default)
    guard = Guard(profile, role=Role.ENGINEER)      # engineering tier, asked for explicitly
    context = DeviceContext(stimulating=True, running_slot=0, present_amplitude_ua=2000,
                            programs={0: program}, impedance=record, now_s=time.monotonic())
    approved = guard.check(SetAmplitude(3500), context, acknowledge=frozenset())
    # approved.messages: SetAmplitude(2500), SetAmplitude(3000), SetAmplitude(3500)
    # sent in order, approved.step_interval_ms apart; approved.notices shown to the user

``check`` returns ``Approved`` or raises ``scsctl.errors.SafetyRefusal`` (nothing may be sent),
whose message names parameter, value, limit, tier and profile, e.g. "amplitude 7.0 mA is above
the clinical tier's maximum of 6.0 mA (profile drg-4x4)"; or ``AcknowledgementRequired`` (a
``SafetyRefusal``) for a charge-density warning not listed in ``acknowledge``: once the user agrees,
call again with the warning ids it holds in ``err.value`` (a tuple of ``WARNING_CHARGE_DENSITY``,
``WARNING_PATIENT_MAX_CHARGE_DENSITY``; ``Guard.warnings`` lists them beforehand).

Decisions (see ``guard.py`` for the full list of checks):

- The tier follows the role and is fixed when the guard is built; a ``Guard`` cannot be changed.
  A technician's guard re-checks stored programs against the clinical tier at START and at every
  amplitude change, so a program written by an engineer cannot be run by a technician through it.
- Changing a slot's electrode configuration "sets the amplitude to zero" by *refusing* a program
  with a new configuration and a non-zero amplitude (the message says to write it with 0 mA): a
  number the user typed is never replaced by another behind their back. A slot that holds no
  program known from read-back counts as a new configuration.
- The patient maximum limits amplitude changes from the host too (the device refuses above it
  anyway): to go higher the clinician rewrites the program with a higher patient maximum, which is
  then itself checked against the tier and against Shannon, since the patient's remote can reach it.
- Amplitude changes larger than the profile's maximum step become a ramp of on-grid set-points,
  each at most one step apart and each carrying the caller's flags; a change that cannot be ramped
  on the grid is refused. START needs a ramp-up no faster than the profile's ramp rate.
- The safety arithmetic (per-contact current, charge, density, Shannon, and the amplitudes at
  which a program reaches each limit) lives in ``electrical``; displays call it too
  (``contact_charges``, ``program_limits``), so they cannot disagree with the guard.
- Compliance is checked per active contact with its own share of the current against its last
  measured impedance (as the device does), at the amplitude and, when a program is written or
  started, at its patient maximum (the patient's remote reaches it without the host); open or
  shorted active contacts are refused.
"""

from __future__ import annotations

from .checks import minimum_ramp_up_ms
from .context import (
    ROLE_TIERS,
    WARNING_CHARGE_DENSITY,
    WARNING_PATIENT_MAX_CHARGE_DENSITY,
    Approved,
    DeviceContext,
    GuardWarning,
    ImpedanceRecord,
    Role,
)
from .electrical import (
    ChargeLevel,
    ContactCharge,
    ProgramLimits,
    charge_level,
    contact_charges,
    program_limits,
    worst_contact,
)
from .guard import Guard
from .ramp import plan_ramp
from .settings import setting_refusal

__all__ = [
    "ROLE_TIERS",
    "WARNING_CHARGE_DENSITY",
    "WARNING_PATIENT_MAX_CHARGE_DENSITY",
    "Approved",
    "ChargeLevel",
    "ContactCharge",
    "DeviceContext",
    "Guard",
    "GuardWarning",
    "ImpedanceRecord",
    "ProgramLimits",
    "Role",
    "charge_level",
    "contact_charges",
    "minimum_ramp_up_ms",
    "plan_ramp",
    "program_limits",
    "setting_refusal",
    "worst_contact",
]

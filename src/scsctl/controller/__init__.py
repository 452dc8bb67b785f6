"""The public Python API: ``connect`` to a device and drive it through the safety guard.

Example::

    import scsctl
    from scsctl.parsing import electrodes
    from firmware_protocol.messages import Program

    with scsctl.connect("emu://", role="technician") as dev:
        print(dev.identity.serial, dev.status().state.name)
        dev.measure_impedance()
        dev.write_program(Program(slot=0, amplitude_ua=0, pulse_width_us=300, rate_dhz=500,
                                  contacts=electrodes("1+ 2-", dev.identity.contacts), ramp_up_ms=2000))
        dev.select(0)
        dev.start()
        dev.set_amplitude(2000)          # tentative, in the profile's steps
        dev.commit()
        dev.stop()
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from pathlib import Path

from firmware_protocol import PROTOCOL_VERSION
from firmware_protocol import messages as m

from ..audit import AuditLog
from ..errors import AuditError, ProfileMismatch, ProfileProblem, ScsError
from ..guard import Guard, Role
from ..link import Link, WireCapture
from ..profiles import DeviceProfile, ensure_model_matches, get_profile, profile_for_model
from ..transports import Transport, transport_for_url
from ..trust import Policy, recorded_role
from .admission import admit
from .device import Device, Identity, LinkView, Outcome

__all__ = ["Device", "Identity", "LinkView", "Outcome", "connect", "stop_now"]

DEFAULT_WATCHDOG_MS = 1000


def connect(
    url: str,
    profile: str | None = None,
    role: Role | str = Role.TECHNICIAN,
    *,
    data_dir: str | Path | None = None,
    operator: str | None = None,
    capture: str | Path | None = None,
    tethered: bool = False,
    watchdog_timeout_ms: int = DEFAULT_WATCHDOG_MS,
    profile_paths: Sequence[str | Path] = (),
    transport_options: dict[str, object] | None = None,
    transport: Transport | None = None,
    policy: Policy | None = None,
) -> Device:
    """Open ``url``, say HELLO, match the device's model to a profile, and return the device.

    ``role`` is what the caller asks for; the session gets it only if ``policy`` (None: the site
    policy, ``scsctl.trust.system_policy()``) grants it to the OS user running this process, and a
    technician only gets a trusted profile's clinical tier. Refusals (``RoleNotGranted``,
    ``UntrustedProfile``) are recorded and raised before anything is sent.

    ``tethered``: link loss stops stimulation (the watchdog is armed with STOP_ON_LOSS); otherwise a
    committed program keeps running when this session ends, as a trial stimulator does on the belt,
    and only tentative amplitude changes revert. ``transport``: an unopened or already used
    transport to talk over instead of one made from ``url`` (e.g. the same ``emu://`` device again).
    """
    admission = admit(role, operator=operator, policy=policy, data_dir=data_dir, port=url, profile=profile,
                      profile_paths=profile_paths)  # fmt: skip
    role = admission.role
    audit = AuditLog.in_dir(data_dir, operator=admission.operator, role=role.value)
    if transport is None:
        transport = transport_for_url(url, **(transport_options or {}))
    link = Link(transport, capture=WireCapture(capture, port=url) if capture else None)
    device: Device | None = None
    try:
        try:
            audit.record("action", "connect", {"port": url, "tethered": tethered, **admission.detail()})
        except AuditError as err:
            raise AuditError(f"{err} Not connected.") from err
        link.open()
        ident = link.request(m.Hello(PROTOCOL_VERSION, PROTOCOL_VERSION))
        assert isinstance(ident, m.Identify)
        chosen = _match_profile(ident, profile, profile_paths)
        admission.admit_profile(chosen, audit)  # a technician only on a trusted profile; stamps every record
        audit.device_serial = ident.serial_number
        identity = Identity.from_message(ident, chosen.name)
        audit.record("reply", "IDENTIFY", identity.as_dict())
        device = Device(link, identity, chosen, Guard(chosen, role=role), audit, tethered=tethered)
        device.programs()  # the guard compares new programs with what each slot holds
        device.restore_impedance()
        link.start_heartbeat(watchdog_timeout_ms, stop_on_loss=tethered)
        return device
    except BaseException:
        if device is not None:
            device._closed = True  # nothing of the session to end: just release its threads
            device._events.close()
        link.close()
        audit.close()
        raise


def stop_now(
    url: str,
    *,
    data_dir: str | Path | None = None,
    operator: str | None = None,
    role: Role | str = Role.TECHNICIAN,
    transport: Transport | None = None,
    capture: str | Path | None = None,
) -> None:
    """Stop all output on the device at ``url`` first, and only then do anything else.

    Nothing may stand between a STOP and the wire: not the audit log, not profiles, not the
    handshake (the device takes STOP before HELLO). After the device has confirmed, the device is
    identified and the STOP is recorded; if that fails, AuditError says STOP was carried out.
    """
    role = Role(role)
    if transport is None:
        transport = transport_for_url(url)
    link = Link(transport, capture=WireCapture(capture, port=url) if capture else None)
    sent_at = time.monotonic()
    serial = ""
    try:
        link.open()
        link.stop()
        confirmed_ms = round((time.monotonic() - sent_at) * 1000, 3)
        with contextlib.suppress(ScsError):
            ident = link.request(m.Hello(PROTOCOL_VERSION, PROTOCOL_VERSION))
            serial = ident.serial_number if isinstance(ident, m.Identify) else ""
    except ScsError as err:
        with contextlib.suppress(ScsError), AuditLog.in_dir(data_dir, operator=operator,
                                                            role=recorded_role(role).value) as audit:  # fmt: skip
            audit.record("error", "STOP", {"port": url, "error": str(err)})
        raise
    finally:
        link.close()
    try:
        with AuditLog.in_dir(data_dir, operator=operator, role=recorded_role(role).value) as audit:
            audit.device_serial = serial
            audit.record("command", "STOP", {"port": url, "confirmed_after_ms": confirmed_ms, "path": "stop first"})
    except AuditError as err:
        raise AuditError(f"{err} STOP was carried out and confirmed by the device, but it is NOT recorded.") from err


def _match_profile(ident: m.Identify, name: str | None, paths: Sequence[str | Path]) -> DeviceProfile:
    """The named profile (which must be for this model), else the one profile for the model.

    The device's own description must agree with the profile's: a profile for 16 contacts on a
    device that reports 8 would put current where there is no contact.
    """
    chosen = profile_for_model(ident.model_id, paths) if name is None else get_profile(name, paths)
    ensure_model_matches(chosen, ident.model_id)
    for what, device_says, profile_says in (
        ("contacts", ident.contact_count, chosen.contacts.count),
        ("program slots", ident.program_slots, chosen.program_slots),
    ):
        if device_says != profile_says:
            raise ProfileMismatch(ProfileProblem(chosen.source, what.replace(" ", "_"),
                f"the device reports {device_says} {what} but profile {chosen.name!r} has {profile_says}"))  # fmt: skip
    return chosen

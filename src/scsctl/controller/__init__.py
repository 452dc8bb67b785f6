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

What front ends (the CLI, the TUI, the pytest plugin, the benchmark) use is exported here, and they
import nothing from ``scsctl.link``, ``scsctl.transports`` or ``scsctl.guard``
(``tests/scsctl/test_layers.py`` enforces it), so the layers below can change behind this list:

- the session layer: ``Session``, ``ConnectTarget`` (``EMULATOR_URL``, ``DEFAULT_WATCHDOG_MS``),
  ``StopLine``/``StopResult``, ``DeviceWatch``/``StatusReading``/``StatusFreshness``,
  ``Latest``/``ReadOrder``, ``Event``, ``PortClaim``/``Holder``;
- discovery: ``list_ports``, ``PortInfo``, ``PortListing``, ``emulator_targets``, ``EmulatorTarget``;
- the guard, as a display needs it: ``Guard``, ``Role``, ``DeviceContext`` (``from_status``),
  ``ImpedanceRecord``, ``GuardWarning``, the warning ids, the safety arithmetic
  (``contact_charges``, ``worst_contact``, ``program_limits``, ``charge_level``) and
  ``setting_refusal``;
- the link, as a display sees it: ``LinkStatus``, ``LinkStateChange``, ``LinkStats``, and
  ``read_capture`` for recorded traffic;
- transports, as ``connect(transport=...)`` takes them: ``Transport``, ``transport_for_url``
  (``EmulatedTransport``, the in-process emulator's, is loaded on first use);
- raw frames typed by an engineer: ``read_raw_frame`` (``RAW_FRAME_EXAMPLES``), ``Device.send_raw``
  and its ``RawExchange`` (with the audit records it left, ``AuditRecord``), ``payload_hex``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from firmware_protocol import PROTOCOL_VERSION
from firmware_protocol import messages as m

from ..audit import AuditLog, AuditRecord, default_operator
from ..errors import AuditError, LinkError, PortBusy, ProfileMismatch, ProfileProblem, ScsError, UsageError
from ..guard import (
    WARNING_CHARGE_DENSITY,
    WARNING_PATIENT_MAX_CHARGE_DENSITY,
    ChargeLevel,
    ContactCharge,
    DeviceContext,
    Guard,
    GuardWarning,
    ImpedanceRecord,
    ProgramLimits,
    Role,
    charge_level,
    contact_charges,
    program_limits,
    setting_refusal,
    worst_contact,
)
from ..link import (
    STDIO,
    CaptureFile,
    DamagedLine,
    Link,
    LinkStateChange,
    LinkStats,
    LinkStatus,
    WireCapture,
    capture_started,
    frame_packets,
    load_capture,
    read_capture,
    reply_line_time_s,
    write_pcap,
)
from ..profiles import DeviceProfile, ensure_model_matches, get_profile, profile_for_model, profile_table
from ..transports import (
    Transport,
    has_line_speed,
    no_line_speed_text,
    speed_options,
    take_over_options,
    transport_for_url,
)
from ..trust import OsUser, Policy, recorded_role, system_policy
from .admission import admit
from .control import ACCEPT_TIMEOUT_S, ask_to_stop
from .device import EMULATOR_SERIAL_PREFIX, Device, Identity, LinkView, Outcome
from .discovery import EmulatorTarget, PortInfo, PortListing, emulator_targets, list_ports
from .events import Event
from .mailbox import Latest, ReadOrder
from .ownership import Holder, PortClaim, claim_port, command_line
from .raw import RAW_FRAME_EXAMPLES, RawExchange, payload_hex, read_raw_frame
from .session import Session
from .stop_line import StopLine, StopResult
from .target import DEFAULT_WATCHDOG_MS, EMULATOR_URL, ConnectTarget
from .watch import DeviceWatch, StatusFreshness, StatusReading

if TYPE_CHECKING:
    from ..transports import EmulatedTransport

__all__ = [
    "DEFAULT_WATCHDOG_MS",
    "EMULATOR_SERIAL_PREFIX",
    "EMULATOR_URL",
    "RAW_FRAME_EXAMPLES",
    "STDIO",
    "WARNING_CHARGE_DENSITY",
    "WARNING_PATIENT_MAX_CHARGE_DENSITY",
    "AuditRecord",
    "CaptureFile",
    "ChargeLevel",
    "ConnectTarget",
    "ContactCharge",
    "DamagedLine",
    "Device",
    "DeviceContext",
    "DeviceWatch",
    "EmulatedTransport",
    "EmulatorTarget",
    "Event",
    "Guard",
    "GuardWarning",
    "Holder",
    "Identity",
    "ImpedanceRecord",
    "Latest",
    "LinkStateChange",
    "LinkStats",
    "LinkStatus",
    "LinkView",
    "OsUser",
    "Outcome",
    "Policy",
    "PortClaim",
    "PortInfo",
    "PortListing",
    "ProgramLimits",
    "RawExchange",
    "ReadOrder",
    "Role",
    "Session",
    "StatusFreshness",
    "StatusReading",
    "StopLine",
    "StopReport",
    "StopResult",
    "Transport",
    "capture_started",
    "charge_level",
    "connect",
    "contact_charges",
    "emulator_targets",
    "frame_packets",
    "has_line_speed",
    "list_ports",
    "load_capture",
    "no_line_speed_text",
    "payload_hex",
    "profile_table",
    "program_limits",
    "read_capture",
    "read_raw_frame",
    "reply_line_time_s",
    "setting_refusal",
    "speed_options",
    "stop_now",
    "system_policy",
    "transport_for_url",
    "worst_contact",
    "write_pcap",
]


def __getattr__(name: str) -> object:
    # The in-process emulator's transport loads the emulator: only when it is asked for.
    if name == "EmulatedTransport":
        from ..transports import EmulatedTransport

        return EmulatedTransport
    raise AttributeError(name)

_log = logging.getLogger(__name__)



def connect(
    url: str,
    profile: str | None = None,
    role: Role | str = Role.TECHNICIAN,
    *,
    data_dir: str | Path | None = None,
    operator: str | None = None,
    capture: str | Path | TextIO | None = None,
    tethered: bool = False,
    watchdog_timeout_ms: int = DEFAULT_WATCHDOG_MS,
    profile_paths: Sequence[str | Path] = (),
    baud: int | None = None,
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
    ``baud``: the line's speed (a serial port is set to it; reply timeouts follow it; a ``usb://``
    device has none, and is refused one); a capture may be a file name or an open text stream
    (``-``: standard output).
    """
    if baud is not None and transport is None and not has_line_speed(url):
        raise UsageError(f"baud={baud}: {no_line_speed_text(url)}; leave baud out")
    admission = admit(role, operator=operator, policy=policy, data_dir=data_dir, port=url, profile=profile,
                      profile_paths=profile_paths)  # fmt: skip
    role = admission.role
    audit = AuditLog.in_dir(data_dir, operator=admission.operator, role=role.value)
    if transport is None:
        transport = transport_for_url(url, **speed_options(url, baud), **(transport_options or {}))
    link = Link(transport, capture=WireCapture(capture, port=url) if capture else None)
    _log.info("connecting to %s as %s (operator %s)", url, role.value, admission.operator)
    device: Device | None = None
    claim: PortClaim | None = None
    try:
        try:
            audit.record("action", "connect", {"port": url, "tethered": tethered, **admission.detail()})
        except AuditError as err:
            raise AuditError(f"{err} Not connected.") from err
        try:
            claim = claim_port(transport.url, operator=audit.operator)  # before the port is touched
        except PortBusy as err:
            with contextlib.suppress(AuditError):
                audit.record("error", "connect", {"port": url, "error": str(err)})
            raise
        link.open()
        _log.info("opened %s (%s)", url, f"{transport.baud} baud" if transport.baud else "line speed not known")
        ident = link.request(m.Hello(PROTOCOL_VERSION, PROTOCOL_VERSION))
        assert isinstance(ident, m.Identify)
        chosen = _match_profile(ident, profile, profile_paths)
        admission.admit_profile(chosen, audit)  # a technician only on a trusted profile; stamps every record
        audit.device_serial = ident.serial_number
        identity = Identity.from_message(ident, chosen.name)
        audit.record("reply", "IDENTIFY", identity.as_dict())
        _log.info("connected to %s: %s serial %s, firmware %s, protocol %d, profile %s", url, chosen.name,
                  identity.serial, identity.firmware, identity.protocol_version, chosen.name)  # fmt: skip
        device = Device(link, identity, chosen, Guard(chosen, role=role), audit, tethered=tethered,
                        watchdog_timeout_ms=watchdog_timeout_ms, claim=claim)  # fmt: skip
        claim = None  # the device releases it when it closes
        device.programs()  # the guard compares new programs with what each slot holds
        device.restore_impedance()
        # The device's watchdog is armed by the first stimulation command (Device.start/set_amplitude);
        # until then the link is watched without touching it, so a read-only session never loosens
        # another session's tethering.
        link.start_keepalive(watchdog_timeout_ms / 3000)
        return device
    except BaseException:
        link.close()
        if device is not None:
            device._abandon()  # nothing of the session to end: just release its threads and the port
        if claim is not None:
            claim.release()
        audit.close()
        raise


@dataclass(frozen=True, slots=True)
class StopReport:
    """How a ``stop_now`` reached the device: ``path`` in words, and when the device confirmed."""

    path: str
    confirmed_after_ms: float


def stop_now(
    url: str,
    *,
    data_dir: str | Path | None = None,
    operator: str | None = None,
    role: Role | str = Role.TECHNICIAN,
    transport: Transport | None = None,
    capture: str | Path | TextIO | None = None,
    baud: int | None = None,
) -> StopReport:
    """Stop all output on the device at ``url`` first, and only then do anything else.

    Nothing may stand between a STOP and the wire: not the audit log, not profiles, not the
    handshake (the device takes STOP before HELLO). When another process holds the port, it is
    asked to STOP through its control endpoint (it sends STOP ahead of all its traffic); a holder
    that does not accept within 200 ms, or whose STOP failed, is passed by: the port is opened
    beside it and STOP sent from here. After the device has confirmed, the STOP is recorded with
    the path it took; if that fails, AuditError says STOP was carried out.
    """
    role = Role(role)
    claim: PortClaim | None = None
    passed_by = ""
    ours = transport is None  # a transport the caller gave is used as it is
    if ours:
        try:
            claim = claim_port(url, operator=operator or default_operator())
        except PortBusy as busy:
            report, passed_by = _stop_through_holder(url, busy, data_dir=data_dir, operator=operator, role=role)
            if report is not None:
                _log.info("STOP on %s: confirmed after %.1f ms, %s", url, report.confirmed_after_ms, report.path)
                return report
            transport = transport_for_url(url, **take_over_options(url), **speed_options(url, baud))
    try:
        try:
            report = _stop_on_port(url, transport, data_dir=data_dir, operator=operator, role=role, capture=capture,
                                   passed_by=passed_by, baud=baud)  # fmt: skip
        except PortBusy as busy:
            if not ours or passed_by:
                raise
            # Held exclusively by a program or user whose session this user cannot ask (another
            # user's scsctl, a terminal program): STOP goes out beside it all the same.
            beside = transport_for_url(url, **take_over_options(url), **speed_options(url, baud))
            why = f"the port was held where this user cannot ask ({busy})"
            report = _stop_on_port(url, beside, data_dir=data_dir, operator=operator, role=role, capture=capture,
                                   passed_by=why, baud=baud)  # fmt: skip
        _log.info("STOP on %s: confirmed after %.1f ms, %s", url, report.confirmed_after_ms, report.path)
        return report
    finally:
        if claim is not None:
            claim.release()


def _stop_through_holder(
    url: str, busy: PortBusy, *, data_dir: str | Path | None, operator: str | None, role: Role
) -> tuple[StopReport | None, str]:
    """Ask the port's holder to STOP: the report when it confirmed, else why it was passed by."""
    holder = busy.holder if isinstance(busy.holder, Holder) else None
    if holder is None:
        return None, "the holder could not be identified"
    me = {"pid": os.getpid(), "operator": operator or default_operator(), "command": command_line()}
    answer = ask_to_stop(holder.control, me)
    # Nothing is logged here: the STOP from this process would wait for it. The path it took,
    # passing the holder by included, is logged once the device has confirmed.
    if answer is None:
        return None, f"{holder.describe()} did not answer within {ACCEPT_TIMEOUT_S * 1000:.0f} ms"
    if not answer.confirmed:
        return None, f"the STOP of {holder.describe()} failed ({answer.error})"
    path = f"through the session that holds the port: {holder.describe()}"
    detail = {"port": url, "confirmed_after_ms": answer.after_ms, "path": "through the holder",
              "holder_pid": holder.pid, "holder": holder.describe()}  # fmt: skip
    if answer.error:
        detail["holder_note"] = answer.error
    _record_stop(detail, serial="", data_dir=data_dir, operator=operator, role=role)
    return StopReport(path, answer.after_ms), ""


def _stop_on_port(
    url: str, transport: Transport | None, *, data_dir: str | Path | None, operator: str | None, role: Role,
    capture: str | Path | TextIO | None, passed_by: str, baud: int | None,
) -> StopReport:  # fmt: skip
    if transport is None:
        transport = transport_for_url(url, **speed_options(url, baud))
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
        failure = {"port": url, "error": str(err), **({"passed_by": passed_by} if passed_by else {})}
        with contextlib.suppress(ScsError), AuditLog.in_dir(data_dir, operator=operator,
                                                            role=recorded_role(role).value) as audit:  # fmt: skip
            audit.record("error", "STOP", failure)
        if passed_by:
            raise LinkError(f"{err} (tried from here because {passed_by})") from err
        raise
    finally:
        link.close()
    detail = {"port": url, "confirmed_after_ms": confirmed_ms, "path": "stop first"}
    if passed_by:
        detail.update(path="past the holder", passed_by=passed_by)
    _record_stop(detail, serial=serial, data_dir=data_dir, operator=operator, role=role)
    path = "on the port directly" + (f" ({passed_by})" if passed_by else "")
    return StopReport(path, confirmed_ms)


def _record_stop(
    detail: dict[str, object], *, serial: str, data_dir: str | Path | None, operator: str | None, role: Role
) -> None:
    try:
        with AuditLog.in_dir(data_dir, operator=operator, role=recorded_role(role).value) as audit:
            audit.device_serial = serial
            audit.record("command", "STOP", detail)
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

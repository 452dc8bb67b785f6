"""Trust: who may use which limits, which profiles give a technician limits, and a record of it all.

These use only the public API and what the device reports, so they run on a device as on the
emulator. The role of the run is granted by the site policy (``scs_policy``; see conftest.py).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest

from firmware_protocol import Decoder, Frame
from firmware_protocol import messages as m
from firmware_protocol.constants import ImpedanceStatus
from scsctl import Device
from scsctl.audit import AuditLog
from scsctl.errors import RoleNotGranted, SafetyRefusal, UntrustedProfile
from scsctl.link import read_capture
from scsctl.pytest_plugin import Target
from scsctl.trust import OsUser, Policy
from scsctl.units import format_ua

from .support import install, limits, program


def _sent(capture: Path) -> list[m.Message]:
    if not capture.exists():
        return []
    decoder = Decoder()
    out: list[m.Message] = []
    for record in read_capture(capture):
        if record.direction == "tx":
            out += [item.message for item in decoder.feed(record.data) if isinstance(item, Frame)]
    return out


def _users_copy(device: Device, folder: Path) -> Path:
    """The device's own profile, copied into a user's folder under another name: not one byte of
    its limits changed, and still not a trusted profile."""
    source = Path(device.profile.source)
    name = f"{device.profile.name}-copy"
    text = source.read_text(encoding="utf-8").replace(f'name = "{device.profile.name}"', f'name = "{name}"', 1)
    copy = folder / f"{name}.toml"
    copy.write_text(text, encoding="utf-8")
    return copy


def _programs(device: Device) -> dict[int, m.Program]:
    return device.programs()


@pytest.mark.scs_requirement("SEC-001")
def test_a_technician_gets_no_limits_from_a_users_own_profile_and_nothing_is_sent(
    scs_connect: Callable[..., Device], tmp_path: Path
) -> None:
    dev = scs_connect()
    copy = _users_copy(dev, tmp_path)
    before = _programs(dev)
    dev.close()
    capture = tmp_path / "wire.jsonl"
    with pytest.raises(UntrustedProfile) as err:
        scs_connect(profile=str(copy), capture=capture)
    assert f"comes from {copy.resolve()} (a user's own file" in str(err.value)
    assert "for the engineer role only" in str(err.value)
    assert err.value.value == f"user:{copy.resolve()}"
    assert _sent(capture) == []  # refused before the port was opened
    assert _programs(scs_connect()) == before


@pytest.mark.scs_requirement("SEC-002")
def test_the_engineer_role_is_refused_to_a_user_the_policy_does_not_name_and_nothing_is_sent(
    scs_connect: Callable[..., Device], tmp_path: Path
) -> None:
    before = _programs(scs_connect())
    capture = tmp_path / "wire.jsonl"
    nobody = Policy.granting(source="a policy naming no engineer")
    with pytest.raises(RoleNotGranted) as err:
        scs_connect(role="engineer", capture=capture, policy=nobody)
    assert f"not granted to the OS user '{OsUser.current().name}'" in str(err.value)
    assert "(a policy naming no engineer)" in str(err.value)
    assert _sent(capture) == []
    assert _programs(scs_connect()) == before


@pytest.mark.scs_requirement("SEC-002")
def test_an_engineer_the_policy_names_may_use_a_users_own_profile(
    scs_connect: Callable[..., Device], scs_target: Target, tmp_path: Path
) -> None:
    if scs_target.role != "engineer":
        pytest.skip(f"this run is not granted the engineer role: {scs_target.role_refused or 'it did not ask for it'}")
    copy = _users_copy(scs_connect(), tmp_path)
    dev = scs_connect(role="engineer", profile=str(copy))
    assert dev.guard.role.value == "engineer" and dev.profile.name == copy.stem
    install(dev, program(dev, dev.identity.program_slots - 1))
    digest = hashlib.sha256(copy.read_bytes()).hexdigest()
    written = [r for r in dev.audit.query(session=dev.audit.session) if r.name == "SET_PROGRAM"]
    stamp = ("engineer", copy.stem, digest, f"user:{copy.resolve()}")
    assert written and all((r.role, r.profile, r.profile_sha256, r.profile_origin) == stamp for r in written)


@pytest.mark.scs_requirement("SEC-003")
def test_a_patient_maximum_the_leads_cannot_carry_is_refused_naming_the_compliance_limit(
    scs_device: Device, tmp_path: Path
) -> None:
    dev = scs_device
    record = dev.measure_impedance()
    usable = [(r.impedance_ohm, i + 1) for i, r in enumerate(record.readings) if r.status is ImpedanceStatus.OK]
    assert len(usable) >= 2, f"fewer than two contacts measure OK: {record.readings}"
    (high_ohm, first), (_, second) = sorted(usable, reverse=True)[:2]  # the two highest impedances
    compliance_mv = dev.profile.hardware.compliance_mv
    grids = limits(dev)
    # The smallest patient maximum on the tier's grid that needs more than the compliance voltage.
    too_high = grids.amplitude_ua.ceil(compliance_mv * 1000 // high_ohm + 1)
    ceiling = min(grids.amplitude_ua.max, dev.profile.hardware.contact_current_max_ua)
    if too_high is None or too_high > ceiling:
        pytest.skip(f"at {high_ohm} ohm the {dev.guard.tier.name.value} tier cannot reach {compliance_mv} mV")
    slot = dev.identity.program_slots - 1
    base = install(dev, program(dev, slot, config=f"{first}+ {second}-", pulse_width_us=grids.pulse_width_us.min))
    with pytest.raises(SafetyRefusal) as err:
        dev.write_program(dataclasses.replace(base, patient_max_ua=too_high))
    assert (err.value.parameter, err.value.limit) == ("compliance_mv", compliance_mv)
    through = f"patient maximum {format_ua(too_high)} puts {format_ua(too_high)} through contact"
    assert any(f"{through} {contact} at" in str(err.value) for contact in (first, second)), str(err.value)
    assert dev.read_program(slot) == base
    highest = grids.amplitude_ua.floor(too_high - 1)
    assert highest is not None and f"the patient maximum can be at most {format_ua(highest)}" in str(err.value)
    allowed = dataclasses.replace(base, patient_max_ua=highest)
    dev.write_program(allowed)
    assert dev.read_program(slot) == allowed


@pytest.mark.scs_requirement("SEC-004")
def test_every_record_of_a_session_names_who_and_which_profile_and_the_log_verifies(
    scs_connect: Callable[..., Device],
) -> None:
    dev = scs_connect()
    install(dev, program(dev, 0))
    dev.stop()
    session = dev.audit.query(session=dev.audit.session)
    identified = session[[r.name for r in session].index("IDENTIFY") :]
    assert len(identified) > 2
    origin = f"shipped:{Path(dev.profile.source).resolve()}"
    for record in identified:
        assert (record.os_user, record.role) == (OsUser.current().name, dev.guard.role.value)
        assert (record.profile, record.profile_sha256) == (dev.profile.name, dev.profile.sha256)
        assert record.profile_origin in (origin, f"site:{Path(dev.profile.source).resolve()}")
    with AuditLog(dev.audit.path, read_only=True) as log:
        report = log.verify()
    assert report.last_id >= identified[-1].id

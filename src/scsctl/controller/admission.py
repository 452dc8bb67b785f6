"""Before a session may begin: whose it is, the role the site policy grants, and the profile's trust.

``connect`` asks ``admit`` first, before the audit log or the port is opened: the operator's name
is checked, the role is resolved against the site policy (``scsctl.trust``) for the OS user
running this process, and a profile named by the caller is checked for trust in that role. A
refusal is recorded in the audit log (who asked for what, under which policy) and raised; nothing
reaches the device. Once the device has been identified and its profile chosen,
``Admission.admit_profile`` checks that profile in the same way and stamps every later audit
record of the session with its name, content hash and origin.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..audit import AuditLog, ProfileStamp, default_operator
from ..errors import AuditError, NotPermitted, ProfileError, RoleNotGranted, UntrustedProfile
from ..guard import Role
from ..profiles import DeviceProfile, get_profile
from ..text import check_name
from ..trust import OsUser, Policy, ProfileOrigin, system_policy

__all__ = ["Admission", "admit"]


@dataclass(frozen=True, slots=True)
class Admission:
    """Who a session is for and what it may use; ``role`` is the role granted, not the one asked for."""

    requested: Role
    role: Role
    operator: str
    os_user: OsUser
    policy: Policy

    def detail(self) -> dict[str, Any]:
        """For the session's ``connect`` record."""
        return {
            "role": self.role.value,
            "role_requested": self.requested.value,
            "os_user": self.os_user.name,
            "policy": self.policy.source,
        }

    def admit_profile(self, profile: DeviceProfile, audit: AuditLog) -> ProfileOrigin:
        """Check ``profile`` for this role; stamp ``audit`` with it (a refusal is recorded, then raised)."""
        try:
            origin = self.policy.admit_profile(profile, self.role)
        except UntrustedProfile as err:
            audit.profile = ProfileStamp(profile.name, profile.sha256, str(err.value))
            _record_refusal(audit, err, {})
            raise
        audit.profile = ProfileStamp(profile.name, profile.sha256, origin.label)
        return origin


def admit(
    requested: Role | str,
    *,
    operator: str | None,
    policy: Policy | None,
    data_dir: str | Path | None,
    port: str,
    profile: str | None = None,
    profile_paths: Sequence[str | Path] = (),
) -> Admission:
    """Resolve the session's role and operator; refuse (recorded, nothing sent) what the policy does not allow.

    ``policy``: None is the site policy (``system_policy()``); the API and test rigs may pass one.
    ``profile``: a profile named by the caller is checked now, before the port is opened.
    """
    wanted = Role(requested)
    name = default_operator() if operator is None else check_name(operator)
    chosen = system_policy() if policy is None else policy
    user = OsUser.current()
    detail = {"port": port, "role_requested": wanted.value, "os_user": user.name, "policy": chosen.source}
    try:
        role = chosen.resolve_role(wanted, user, profile=profile or "")
    except RoleNotGranted as err:
        _record_elsewhere(data_dir, name, Role.TECHNICIAN, err, detail)
        raise
    admission = Admission(wanted, role, name, user, chosen)
    if profile is not None and role is Role.TECHNICIAN:  # an engineer may use any profile
        try:
            named = get_profile(profile, profile_paths)
        except ProfileError:
            named = None  # the same error is raised in its place, when the profile is matched to the device
        if named is not None:
            try:
                chosen.admit_profile(named, role)
            except UntrustedProfile as err:
                _record_elsewhere(data_dir, name, role, err, {**detail, "profile_sha256": named.sha256})
                raise
    return admission


def _record_elsewhere(
    data_dir: str | Path | None, operator: str, role: Role, err: NotPermitted, detail: dict[str, Any]
) -> None:
    # The refusal stands whether or not it can be recorded: suppress only the audit log's failure.
    with contextlib.suppress(AuditError), AuditLog.in_dir(data_dir, operator=operator, role=role.value) as audit:
        _record_refusal(audit, err, detail)


def _record_refusal(audit: AuditLog, err: NotPermitted, detail: dict[str, Any]) -> None:
    with contextlib.suppress(AuditError):
        audit.record("refusal", "connect", {
            **detail, "message": str(err), "parameter": err.parameter, "value": err.value, "limit": err.limit,
        })  # fmt: skip

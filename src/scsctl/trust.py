"""Who may use which limits: the site policy, the role it grants, and which profiles are trusted.

::

    from scsctl.trust import OsUser, system_policy

    policy = system_policy()                      # /etc/scsctl/policy.toml, or the built-in default
    user = OsUser.current()                       # from the operating system, never the environment
    role = policy.resolve_role("engineer", user)  # RoleNotGranted unless the policy names the user
    origin = policy.admit_profile(profile, role)  # UntrustedProfile: a technician on a user's file

The rules:

- The engineer role goes only to OS users the site policy names: by login name, or as members of
  a group (by default the group ``scsctl-engineers``). Asking for it otherwise is refused before
  anything is sent, and the refusal says what the policy is and where it lives. The technician
  role needs no grant.
- The policy lives at a fixed path, ``POLICY_PATH``; no option or environment variable moves it. It
  counts only when the file and every folder above it belong to root and are not writable by group
  or others (a root-owned sticky folder such as ``/tmp`` aside), so that only an administrator can
  have written it. No file means the built-in default. A file that is there but cannot be trusted
  or read grants the engineer role to nobody, and says why.
- A profile's clinical tier is trusted only when its file is one of the profiles shipped with
  scsctl, or lies in the site folder ``SITE_PROFILE_DIR`` (checked like the policy), and the bytes
  there still hash to what was parsed. Any other file (``--profile FILE``, ``--profile-path``,
  ``SCSCTL_PROFILE_PATH``) is a user's own: for the engineer role only. The shipped profiles are
  part of the installation: whoever can change them can change scsctl itself.
- The Python API and test rigs may pass a ``Policy`` object of their own (``Policy.granting``):
  whoever runs Python with scsctl could as well write bytes to the port. The command line, the
  terminal UI and ``scsctl stop`` always use ``system_policy()``, and the audit log records which
  policy decided (``Policy.source``).
"""

from __future__ import annotations

import grp
import hashlib
import os
import pwd
import stat
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from .errors import RoleNotGranted, UntrustedProfile
from .guard import Role
from .profiles import SITE_PROFILE_DIR, DeviceProfile, shipped_profile_dir
from .text import printable

__all__ = [
    "DEFAULT_ENGINEER_GROUP",
    "POLICY_PATH",
    "SITE_PROFILE_DIR",
    "OsUser",
    "Policy",
    "ProfileOrigin",
    "admin_only_problem",
    "load_policy",
    "recorded_role",
    "system_policy",
]

POLICY_PATH = Path("/etc/scsctl/policy.toml")
"""The site policy. Fixed on purpose: a user who could point scsctl at another file could grant
themselves the engineer role."""

DEFAULT_ENGINEER_GROUP = "scsctl-engineers"
"""Without a policy file, the engineer role is for the members of this OS group."""

ROOT_UID = 0
ADMIN_UID = ROOT_UID
"""The owner the policy and the site folders must have (besides root). Root; tests may name their own user."""

_POLICY_KEYS = ("engineer_groups", "engineer_users")


@dataclass(frozen=True, slots=True)
class OsUser:
    """The operating-system user running scsctl: a login name and the names of its groups."""

    name: str
    uid: int
    groups: frozenset[str] = frozenset()

    @classmethod
    def current(cls) -> OsUser:
        """The real user of this process, from the user database (``$USER`` and ``$LOGNAME`` are
        not asked: anyone can set them)."""
        uid = os.getuid()
        try:
            entry = pwd.getpwuid(uid)
        except KeyError:
            return cls(f"uid-{uid}", uid, frozenset(_group_names(os.getgroups())))
        try:
            gids: Iterable[int] = os.getgrouplist(entry.pw_name, entry.pw_gid)
        except OSError:
            gids = [entry.pw_gid, *os.getgroups()]
        return cls(entry.pw_name, uid, frozenset(_group_names(gids)))


def _group_names(gids: Iterable[int]) -> list[str]:
    names = []
    for gid in set(gids):
        try:
            names.append(grp.getgrgid(gid).gr_name)
        except KeyError:
            continue
    return names


@dataclass(frozen=True, slots=True)
class ProfileOrigin:
    """Where a profile's file really is, and whether its clinical tier may be used."""

    kind: Literal["shipped", "site", "user"]
    path: str
    """The file's real path (symbolic links resolved)."""
    trusted: bool
    why: str
    """In words, for messages: "shipped with scsctl", "a user's own file", ..."""

    @property
    def label(self) -> str:
        """``kind:path``, as the audit log records it."""
        return f"{self.kind}:{self.path}"


@dataclass(frozen=True, slots=True)
class Policy:
    """Who gets the engineer role, and which folders hold trusted profiles.

    ``problem``: the policy file is there but could not be trusted or read; nobody is an engineer.
    ``admin_uid``: the owner the policy and site folders must have (root; a test may use its own).
    """

    engineer_users: frozenset[str] = frozenset()
    engineer_groups: frozenset[str] = frozenset({DEFAULT_ENGINEER_GROUP})
    source: str = f"built-in default policy, as there is no {POLICY_PATH}"
    problem: str = ""
    site_profile_dirs: tuple[Path, ...] = (SITE_PROFILE_DIR,)
    admin_uid: int = ADMIN_UID
    shipped_profile_dir: Path | None = field(default_factory=shipped_profile_dir)

    @classmethod
    def granting(
        cls,
        *users: str,
        groups: Iterable[str] = (),
        source: str,
        site_profile_dirs: tuple[Path, ...] = (SITE_PROFILE_DIR,),
        admin_uid: int = ADMIN_UID,
    ) -> Policy:
        """A policy that names these users (and groups) and no one else, for the API and test rigs.

        ``source`` says who decided, for the audit log ("hil_tests/conftest.py: ...").
        """
        return cls(frozenset(users), frozenset(groups), source, "", site_profile_dirs, admin_uid)

    # --- the engineer role ---------------------------------------------------------------------

    def describe(self) -> str:
        """The engineer rule and where it comes from, in one sentence part."""
        if self.problem:
            return f"the engineer role is granted to nobody: {self.problem}"
        who = []
        if self.engineer_groups:
            who.append("members of the group" + ("s " if len(self.engineer_groups) > 1 else " ")
                       + ", ".join(sorted(self.engineer_groups)))  # fmt: skip
        if self.engineer_users:
            who.append("the user" + ("s " if len(self.engineer_users) > 1 else " ")
                       + ", ".join(sorted(self.engineer_users)))  # fmt: skip
        return f"the engineer role is for {' and '.join(who) or 'nobody'} ({self.source})"

    def grants_engineer(self, user: OsUser) -> bool:
        if self.problem:
            return False
        return user.name in self.engineer_users or bool(user.groups & self.engineer_groups)

    def resolve_role(self, requested: Role | str, user: OsUser, *, profile: str = "") -> Role:
        """The role a session gets. ``RoleNotGranted`` when the engineer role is asked for by a user
        the policy does not name; ``ValueError`` for a role that does not exist."""
        role = Role(requested)
        if role is Role.ENGINEER and not self.grants_engineer(user):
            raise RoleNotGranted(
                f"the engineer role is not granted to the OS user '{printable(user.name)}': {self.describe()}. "
                "Ask an administrator to add you, or work as a technician (the clinical limits). Nothing was sent.",
                parameter="role",
                value=role.value,
                limit=self.describe(),
                tier="engineering",
                profile=profile,
            )
        return role

    # --- profiles --------------------------------------------------------------------------------

    def profile_origin(self, profile: DeviceProfile) -> ProfileOrigin:
        """Where ``profile``'s file is, and whether that makes its clinical tier trusted."""
        source = Path(profile.source)
        real = source.resolve()
        if not source.is_file():
            return ProfileOrigin("user", str(real), False, "not read from a file of scsctl's or the site's")
        shipped = self.shipped_profile_dir
        if shipped is not None and real.is_relative_to(shipped.resolve()):
            return self._same_content(ProfileOrigin("shipped", str(real), True, "shipped with scsctl"), profile)
        for folder in self.site_profile_dirs:
            if real.is_relative_to(folder.resolve()):
                problem = admin_only_problem(real, admin_uid=self.admin_uid)
                if problem:
                    return ProfileOrigin("site", str(real), False, f"in the site folder {folder}, but {problem}")
                return self._same_content(ProfileOrigin("site", str(real), True, f"the site folder {folder}"), profile)
        return ProfileOrigin("user", str(real), False, "a user's own file")

    @staticmethod
    def _same_content(origin: ProfileOrigin, profile: DeviceProfile) -> ProfileOrigin:
        # The file may have been swapped between parsing and this check: trust only the bytes parsed.
        try:
            digest = hashlib.sha256(Path(origin.path).read_bytes()).hexdigest()
        except OSError as err:
            return ProfileOrigin(origin.kind, origin.path, False, f"{origin.why}, but it cannot be read again ({err})")
        if digest != profile.sha256:
            return ProfileOrigin(origin.kind, origin.path, False, f"{origin.why}, but it changed after it was read")
        return origin

    def trusted_folders(self) -> str:
        shipped = self.shipped_profile_dir
        parts = [f"the profiles shipped with scsctl ({shipped})" if shipped else "the profiles shipped with scsctl"]
        parts += [f"the site folder {folder}" for folder in self.site_profile_dirs]
        return " and ".join(parts)

    def admit_profile(self, profile: DeviceProfile, role: Role | str) -> ProfileOrigin:
        """The profile's origin; ``UntrustedProfile`` when a technician would get its clinical tier
        from a file that is not trusted."""
        origin = self.profile_origin(profile)
        if Role(role) is Role.TECHNICIAN and not origin.trusted:
            raise UntrustedProfile(
                f"profile {profile.name} comes from {printable(origin.path)} ({origin.why}, sha256 "
                f"{profile.sha256[:16]}...): its clinical tier is not trusted, so it is for the engineer role only; "
                f"{self.describe()}. Technicians get their limits from {self.trusted_folders()}, which only an "
                "administrator can change. Nothing was sent.",
                parameter="profile",
                value=origin.label,
                limit=self.trusted_folders(),
                tier="clinical",
                profile=profile.name,
            )
        return origin


# --- the policy file -------------------------------------------------------------------------------


def admin_only_problem(path: Path, *, admin_uid: int = ADMIN_UID) -> str:
    """"" when ``path`` and every folder above it can be changed by the administrator only; else what
    is wrong, in words ("/etc/scsctl is writable by its group").

    Each must belong to root or to ``admin_uid`` (root, unless a test names another owner) and be
    writable by its owner only; a folder above may be writable by all if it is sticky (``/tmp``):
    then nobody else can rename or remove what is in it.
    """
    try:
        real = path.resolve(strict=True)
    except OSError as err:
        return f"{path} cannot be read ({err.strerror or err})"
    candidates = [real, *real.parents]
    if path.is_absolute() and path != real:
        candidates += [path.parent, *path.parent.parents]  # a link's own folders matter too
    for item in dict.fromkeys(candidates):
        try:
            info = item.stat()
        except OSError as err:
            return f"{item} cannot be read ({err.strerror or err})"
        if info.st_uid not in (ROOT_UID, admin_uid):
            return f"{item} belongs to {_owner(info.st_uid)}, not to {_owner(admin_uid)}"
        writable = info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
        if writable and not (stat.S_ISDIR(info.st_mode) and info.st_mode & stat.S_ISVTX and item != real):
            who = "its group and others" if writable == stat.S_IWGRP | stat.S_IWOTH else (
                "its group" if writable & stat.S_IWGRP else "others")  # fmt: skip
            return f"{item} is writable by {who} (mode {stat.S_IMODE(info.st_mode):o})"
    return ""


def _owner(uid: int) -> str:
    try:
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"


def load_policy(path: Path = POLICY_PATH, *, admin_uid: int = ADMIN_UID) -> Policy:
    """The policy in ``path`` (a missing file: the built-in default). Never raises: a file that
    cannot be trusted or read gives a policy granting the engineer role to nobody, saying why.

    The file (TOML)::

        engineer_groups = ["scsctl-engineers"]   # members of these OS groups may be engineers
        engineer_users = ["ana"]                 # and these OS users
    """
    try:
        path.lstat()
    except FileNotFoundError:
        return Policy(source=f"built-in default policy, as there is no {path}", admin_uid=admin_uid)
    except OSError as err:
        return Policy(source=f"site policy {path}", problem=f"{path} cannot be read ({err.strerror or err})",
                      admin_uid=admin_uid)  # fmt: skip
    problem = admin_only_problem(path, admin_uid=admin_uid)
    if problem:
        return Policy(source=f"site policy {path}", problem=f"{problem}, so it cannot be trusted as the site policy; "
                      f"an administrator must make it {_owner(admin_uid)}'s and not writable by others "
                      f"(chown root:root {path}; chmod 644 {path})", admin_uid=admin_uid)  # fmt: skip
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        return Policy(source=f"site policy {path}", problem=f"{path} cannot be read as TOML ({err})",
                      admin_uid=admin_uid)  # fmt: skip
    unknown = sorted(set(data) - set(_POLICY_KEYS))
    names: dict[str, frozenset[str]] = {}
    problems = [f"unknown key {key!r} (known: {', '.join(_POLICY_KEYS)})" for key in unknown]
    for key in _POLICY_KEYS:
        value = data.get(key, [DEFAULT_ENGINEER_GROUP] if key == "engineer_groups" else [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.isprintable() and v for v in value):
            problems.append(f"{key} must be a list of names")
            continue
        names[key] = frozenset(value)
    if problems:
        return Policy(source=f"site policy {path}", problem=f"{path}: " + "; ".join(problems), admin_uid=admin_uid)
    return Policy(names["engineer_users"], names["engineer_groups"], f"site policy {path}", admin_uid=admin_uid)


def system_policy() -> Policy:
    """The site policy at its fixed place: what the command line, the TUI and ``stop`` use."""
    return load_policy(POLICY_PATH, admin_uid=ADMIN_UID)


def recorded_role(requested: Role | str, policy: Policy | None = None) -> Role:
    """The role to record for a STOP, which is never refused: the one asked for if the policy grants
    it to this user, else technician. Never raises."""
    try:
        role = Role(requested)
        if role is Role.TECHNICIAN:
            return role
        chosen = system_policy() if policy is None else policy
        return role if chosen.grants_engineer(OsUser.current()) else Role.TECHNICIAN
    except Exception:  # noqa: BLE001 - a STOP's record must not fail on the policy
        return Role.TECHNICIAN

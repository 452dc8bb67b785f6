"""The site policy: who gets the engineer role, which profiles give technicians their limits.

These go through the policy interface (``Policy``, ``load_policy``, ``OsUser``) so they run as any
user. The policy file's owner checks are tried against the test's own user as the administrator
(``admin_uid``); ``tests/scsctl/cli/test_os_users.py`` runs the real thing with OS users and groups
when the tests run as root.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from scsctl.errors import RoleNotGranted, UntrustedProfile
from scsctl.guard import Role
from scsctl.profiles import get_profile, load_profile, shipped_profile_dir
from scsctl.trust import DEFAULT_ENGINEER_GROUP, OsUser, Policy, load_policy, recorded_role

ANA = OsUser("ana", 1001, frozenset({"users"}))
BEA = OsUser("bea", 1002, frozenset({"users", DEFAULT_ENGINEER_GROUP}))
ME = os.getuid()


def write_policy(folder: Path, text: str, mode: int = 0o644) -> Path:
    path = folder / "policy.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    folder.chmod(0o755)
    return path


# --- the engineer role -----------------------------------------------------------------------------


def test_the_engineer_role_only_for_users_the_policy_names() -> None:
    policy = Policy.granting("ana", source="test policy")
    assert policy.resolve_role("engineer", ANA) is Role.ENGINEER
    assert policy.resolve_role("technician", BEA) is Role.TECHNICIAN  # needs no grant
    with pytest.raises(RoleNotGranted) as err:
        policy.resolve_role("engineer", BEA)
    text = str(err.value)
    assert "not granted to the OS user 'bea'" in text
    assert "the engineer role is for the user ana (test policy)" in text
    assert "Nothing was sent" in text
    assert (err.value.parameter, err.value.value, err.value.exit_code) == ("role", "engineer", 3)
    with pytest.raises(ValueError, match="'root'"):
        policy.resolve_role("root", ANA)


def test_by_default_the_engineers_are_the_members_of_a_group() -> None:
    policy = Policy()
    assert policy.resolve_role("engineer", BEA) is Role.ENGINEER
    with pytest.raises(RoleNotGranted, match=f"members of the group {DEFAULT_ENGINEER_GROUP} .*/etc/scsctl/policy"):
        policy.resolve_role("engineer", ANA)


def test_the_os_user_comes_from_the_user_database_not_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import pwd

    monkeypatch.setenv("USER", "root-by-environment")
    monkeypatch.setenv("LOGNAME", "root-by-environment")
    user = OsUser.current()
    assert user.name == pwd.getpwuid(os.getuid()).pw_name
    assert user.uid == os.getuid()
    import grp

    assert grp.getgrgid(pwd.getpwuid(os.getuid()).pw_gid).gr_name in user.groups


# --- the policy file ---------------------------------------------------------------------------------


def test_no_policy_file_means_the_built_in_default(tmp_path: Path) -> None:
    policy = load_policy(tmp_path / "policy.toml", admin_uid=ME)
    assert policy.engineer_groups == {DEFAULT_ENGINEER_GROUP} and not policy.problem
    assert f"there is no {tmp_path / 'policy.toml'}" in policy.describe()


def test_a_policy_file_only_the_administrator_can_write_is_used(tmp_path: Path) -> None:
    path = write_policy(tmp_path, 'engineer_users = ["ana"]\nengineer_groups = ["lab"]\n')
    policy = load_policy(path, admin_uid=ME)
    assert not policy.problem
    assert policy.engineer_users == {"ana"} and policy.engineer_groups == {"lab"}
    assert policy.grants_engineer(ANA) and not policy.grants_engineer(BEA)
    assert policy.grants_engineer(OsUser("cid", 7, frozenset({"lab"})))
    assert policy.source == f"site policy {path}"


@pytest.mark.parametrize(
    ("mode", "folder_mode", "reason"),
    [
        (0o664, 0o755, "policy.toml is writable by its group (mode 664)"),
        (0o646, 0o755, "policy.toml is writable by others (mode 646)"),
        (0o644, 0o777, "is writable by its group and others (mode 777)"),
    ],
)
def test_a_policy_others_could_have_written_grants_nobody(
    tmp_path: Path, mode: int, folder_mode: int, reason: str
) -> None:
    folder = tmp_path / "etc"
    folder.mkdir()
    path = write_policy(folder, 'engineer_users = ["ana"]\n', mode)
    folder.chmod(folder_mode)
    policy = load_policy(path, admin_uid=ME)
    assert reason in policy.problem
    assert "cannot be trusted as the site policy" in policy.problem
    assert not policy.grants_engineer(ANA)
    with pytest.raises(RoleNotGranted, match="granted to nobody: .*" + reason.replace("(", r"\(").replace(")", r"\)")):
        policy.resolve_role("engineer", ANA)


def test_a_sticky_folder_above_the_policy_is_allowed(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)  # like /tmp: nobody can rename or remove what another user owns in it
    inner = shared / "etc"
    inner.mkdir()
    policy = load_policy(write_policy(inner, 'engineer_users = ["ana"]\n'), admin_uid=ME)
    assert not policy.problem and policy.grants_engineer(ANA)


def test_a_policy_owned_by_someone_else_grants_nobody(tmp_path: Path) -> None:
    path = write_policy(tmp_path, 'engineer_users = ["ana"]\n')
    other = ME + 12345
    policy = load_policy(path, admin_uid=other)
    if ME == 0:  # root's files are always an administrator's
        assert not policy.problem and policy.grants_engineer(ANA)
    else:
        assert "belongs to" in policy.problem and f"not to uid {other}" in policy.problem
        assert not policy.grants_engineer(ANA)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('engineer_users = "ana"\n', "engineer_users must be a list of names"),
        ('engineers = ["ana"]\n', "unknown key 'engineers'"),
        ("engineer_users = [\n", "cannot be read as TOML"),
        ('engineer_users = ["ana\\nroot"]\n', "engineer_users must be a list of names"),
    ],
)
def test_a_broken_policy_grants_nobody_and_says_why(tmp_path: Path, text: str, problem: str) -> None:
    policy = load_policy(write_policy(tmp_path, text), admin_uid=ME)
    assert problem in policy.problem
    assert not policy.grants_engineer(ANA)


def test_the_role_recorded_for_a_stop_is_never_refused_only_not_granted() -> None:
    nobody = Policy.granting(source="test")
    me = Policy.granting(OsUser.current().name, source="test")
    assert recorded_role("engineer", nobody) is Role.TECHNICIAN
    assert recorded_role("engineer", me) is Role.ENGINEER
    assert recorded_role("technician", me) is Role.TECHNICIAN
    assert recorded_role("superuser", me) is Role.TECHNICIAN


# --- profiles ------------------------------------------------------------------------------------------


def widened_copy(folder: Path) -> Path:
    """The issue's case: tonic-burst-16 renamed, its clinical amplitude widened to 25.5 mA."""
    shipped = shipped_profile_dir()
    assert shipped is not None
    text = (shipped / "tonic-burst-16.toml").read_text(encoding="utf-8")
    text = text.replace('name = "tonic-burst-16"', 'name = "tonic-wide"').replace(
        "amplitude_ua = { min = 0, max = 8500, step = 100 }", "amplitude_ua = { min = 0, max = 25_500, step = 100 }"
    )
    path = folder / "tonic-wide.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_profiles_are_trusted_and_identified_by_their_hash() -> None:
    import hashlib

    profile = get_profile("tonic-burst-16")
    origin = Policy().profile_origin(profile)
    assert (origin.kind, origin.trusted, origin.why) == ("shipped", True, "shipped with scsctl")
    assert profile.sha256 == hashlib.sha256(Path(profile.source).read_bytes()).hexdigest()
    assert origin.label == f"shipped:{Path(profile.source).resolve()}"


def test_a_users_own_profile_is_for_the_engineer_role_only(tmp_path: Path) -> None:
    widened_copy(tmp_path)
    profile = get_profile("tonic-wide", [tmp_path])
    assert profile.clinical.waveforms[0].amplitude_ua.max == 25_500
    policy = Policy.granting("ana", source="test policy")
    with pytest.raises(UntrustedProfile) as err:
        policy.admit_profile(profile, Role.TECHNICIAN)
    text = str(err.value)
    assert f"comes from {tmp_path / 'tonic-wide.toml'} (a user's own file, sha256 {profile.sha256[:16]}" in text
    assert "for the engineer role only" in text and "the engineer role is for the user ana (test policy)" in text
    assert "shipped with scsctl" in text and "/etc/scsctl/profiles" in text
    assert (err.value.exit_code, err.value.value) == (3, f"user:{tmp_path / 'tonic-wide.toml'}")
    origin = policy.admit_profile(profile, Role.ENGINEER)
    assert (origin.kind, origin.trusted) == ("user", False)


def test_the_site_folder_is_trusted_while_only_the_administrator_can_write_it(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    site.chmod(0o755)
    shutil.copy(widened_copy(tmp_path), site / "tonic-wide.toml")
    (site / "tonic-wide.toml").chmod(0o644)
    policy = Policy.granting(source="test policy", site_profile_dirs=(site,), admin_uid=ME)
    profile = load_profile(site / "tonic-wide.toml")
    origin = policy.admit_profile(profile, Role.TECHNICIAN)
    assert (origin.kind, origin.trusted, origin.why) == ("site", True, f"the site folder {site}")

    site.chmod(0o775)
    origin = policy.profile_origin(profile)
    assert (origin.kind, origin.trusted) == ("site", False)
    assert f"in the site folder {site}, but {site} is writable by its group" in origin.why
    with pytest.raises(UntrustedProfile, match="writable by its group"):
        policy.admit_profile(profile, Role.TECHNICIAN)


def test_a_site_profile_changed_after_it_was_read_is_not_trusted(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    site.chmod(0o755)
    path = shutil.copy(widened_copy(tmp_path), site / "tonic-wide.toml")
    policy = Policy.granting(source="test policy", site_profile_dirs=(site,), admin_uid=ME)
    profile = load_profile(path)
    Path(path).write_text(Path(path).read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
    origin = policy.profile_origin(profile)
    assert not origin.trusted and "changed after it was read" in origin.why


def test_a_link_in_the_site_folder_to_a_users_file_is_the_users_file(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    site.chmod(0o755)
    own = widened_copy(tmp_path)
    (site / "tonic-wide.toml").symlink_to(own)
    policy = Policy.granting(source="test policy", site_profile_dirs=(site,), admin_uid=ME)
    origin = policy.profile_origin(load_profile(site / "tonic-wide.toml"))
    assert (origin.kind, origin.path, origin.trusted) == ("user", str(own), False)

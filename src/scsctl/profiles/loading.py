"""Where profiles are found, and finding one by name or by the model id a device reports.

Folders are searched in this order (duplicates of the same folder count once):

1. folders the caller passes (the CLI's ``--profile-path DIR``, repeatable);
2. the ``SCSCTL_PROFILE_PATH`` environment variable (folders joined by ``os.pathsep``);
3. the site folder ``/etc/scsctl/profiles``, when it exists (an administrator's profiles);
4. the profiles shipped with scsctl: ``scsctl/device_profiles`` inside an installed wheel, or the
   repository's ``device_profiles/`` in a source checkout or editable install.

Where a profile was found decides nothing here: whether its clinical tier may be used is decided
by ``scsctl.trust`` from where the file really is (shipped, or a site folder only an administrator
can write) and its content hash.

A profile file is ``<name>.toml``. Two files with the same name in different folders are an error,
not an override: a profile that silently replaced a shipped one could widen its limits unseen. A
folder that does not exist is an error too (a mistyped path must not mean "no extra profiles").
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..errors import ProfileError, ProfileMismatch, ProfileProblem
from .models import DeviceProfile
from .schema import load_profile

__all__ = [
    "PROFILE_PATH_ENV",
    "SITE_PROFILE_DIR",
    "ensure_model_matches",
    "get_profile",
    "list_profiles",
    "profile_dirs",
    "profile_files",
    "profile_for_model",
    "shipped_profile_dir",
]

PROFILE_PATH_ENV = "SCSCTL_PROFILE_PATH"
SITE_PROFILE_DIR = Path("/etc/scsctl/profiles")
"""The site's own profiles, written by an administrator (fixed: no option or variable moves it)."""

_PACKAGE_DIR = Path(__file__).resolve().parent.parent


def shipped_profile_dir() -> Path | None:
    """The folder of the profiles shipped with scsctl, wherever scsctl runs from."""
    for candidate in (
        _PACKAGE_DIR / "device_profiles",  # wheel: force-included next to the package
        _PACKAGE_DIR.parent.parent / "device_profiles",  # checkout: src/scsctl -> repository root
    ):
        if candidate.is_dir():
            return candidate
    return None


def profile_dirs(extra_dirs: Sequence[str | Path] = (), *, env: Mapping[str, str] | None = None) -> list[Path]:
    """Every folder searched, in order. Raises ``ProfileError`` naming a folder that does not exist."""
    environ = os.environ if env is None else env
    wanted: list[tuple[Path, str]] = [(Path(d), "--profile-path") for d in extra_dirs]
    wanted += [(Path(d), PROFILE_PATH_ENV) for d in environ.get(PROFILE_PATH_ENV, "").split(os.pathsep) if d]
    problems = [
        ProfileProblem(str(path), "", f"no such folder (given by {origin})")
        for path, origin in wanted
        if not path.is_dir()
    ]
    if problems:
        raise ProfileError(problems)
    shipped = shipped_profile_dir()
    folders = [path for path, _ in wanted]
    folders += [SITE_PROFILE_DIR] if SITE_PROFILE_DIR.is_dir() else []
    folders += [shipped] if shipped is not None else []
    seen: set[Path] = set()
    result: list[Path] = []
    for folder in folders:
        resolved = folder.resolve()
        if resolved not in seen:
            seen.add(resolved)
            result.append(folder)
    return result


def profile_files(extra_dirs: Sequence[str | Path] = (), *, env: Mapping[str, str] | None = None) -> list[Path]:
    """Every ``*.toml`` in the searched folders, folder by folder, sorted by name within each."""
    return [f for d in profile_dirs(extra_dirs, env=env) for f in sorted(d.glob("*.toml")) if f.is_file()]


def _duplicates(files: Sequence[Path]) -> list[ProfileProblem]:
    """One problem per name found twice, on the file searched first (the user's own folders come
    before the site's and the shipped ones): that is the one to rename."""
    by_name: dict[str, list[Path]] = {}
    for f in files:
        by_name.setdefault(f.stem, []).append(f)
    return [
        ProfileProblem(
            str(paths[0]),
            "name",
            f"profile {name!r} is also the name of {', '.join(_whose(p) for p in paths[1:])}; give this file "
            "another name (a profile is chosen by its name, so each needs its own)",
        )
        for name, paths in by_name.items()
        if len(paths) > 1
    ]


def _whose(path: Path) -> str:
    shipped = shipped_profile_dir()
    if shipped is not None and path.parent.resolve() == shipped.resolve():
        return f"the profile shipped with scsctl ({path})"
    if path.parent.resolve() == SITE_PROFILE_DIR.resolve():
        return f"the site's profile ({path})"
    return str(path)


def get_profile(
    name: str, extra_dirs: Sequence[str | Path] = (), *, env: Mapping[str, str] | None = None
) -> DeviceProfile:
    """The profile called ``name``, or the file ``name`` when it is a path to a ``.toml`` file."""
    as_path = Path(name)
    if name.endswith(".toml") or os.sep in name or (os.altsep and os.altsep in name):
        if not as_path.is_file():
            raise ProfileError(ProfileProblem(name, "", "no such profile file"))
        return load_profile(as_path)
    files = profile_files(extra_dirs, env=env)
    matches = [f for f in files if f.stem == name]
    if not matches:
        known = ", ".join(sorted({f.stem for f in files})) or "none"
        raise ProfileError(ProfileProblem(name, "", f"no profile with this name (known: {known})"))
    if len(matches) > 1:
        raise ProfileError(_duplicates(matches))
    return load_profile(matches[0])


def list_profiles(
    extra_dirs: Sequence[str | Path] = (), *, env: Mapping[str, str] | None = None
) -> list[DeviceProfile]:
    """Every profile found, validated; raises ``ProfileError`` with the problems of all files."""
    files = profile_files(extra_dirs, env=env)
    problems = _duplicates(files)
    profiles: list[DeviceProfile] = []
    for f in files:
        try:
            profiles.append(load_profile(f))
        except ProfileError as err:
            problems.extend(err.problems)
    if problems:
        raise ProfileError(problems)
    return profiles


def profile_for_model(
    model_id: int, extra_dirs: Sequence[str | Path] = (), *, env: Mapping[str, str] | None = None
) -> DeviceProfile:
    """The one profile for the model a device's IDENTIFY reports; an error when none or several."""
    candidates = [p for p in list_profiles(extra_dirs, env=env) if p.model_id == model_id]
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        reason = f"no profile for device model 0x{model_id:04X}"
    else:
        names = ", ".join(p.name for p in candidates)
        reason = f"several profiles for device model 0x{model_id:04X} ({names}): name one"
    raise ProfileError(ProfileProblem("device profiles", "model_id", reason))


def ensure_model_matches(profile: DeviceProfile, model_id: int) -> None:
    """Raise ``ProfileMismatch`` unless ``profile`` is for the device model ``model_id``."""
    if profile.model_id != model_id:
        raise ProfileMismatch(ProfileProblem(
            profile.source, "model_id",
            f"the device reports model 0x{model_id:04X} but profile {profile.name!r} is for model "
            f"0x{profile.model_id:04X}: use a profile for model 0x{model_id:04X}",
        ))  # fmt: skip

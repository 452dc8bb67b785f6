"""``scsctl profiles list|show NAME|check FILE...``: the device profiles and their limits.

``list`` and ``show`` accept ``--json``; every sub-command accepts ``--profile-path DIR``
(repeatable) besides the ``SCSCTL_PROFILE_PATH`` environment variable. ``check`` validates files
without installing them: it lists every problem of every file and exits 2 if any file is invalid.

``show`` and ``check`` give each profile's content hash and origin: whether its clinical tier is
trusted (shipped with scsctl, or the site folder) or the file is a user's own, for the engineer
role only (``scsctl.trust``). ``check`` also names where a valid file lets a technician go further
than the trusted profile of the same model.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "profiles",
        help="list, show and check device profiles (limits per device model and tier)",
        description="Device profiles: what each model of trial stimulator can do and what each tier of "
        "user may ask of it. Profiles are searched in --profile-path folders, then in the folders of "
        "the SCSCTL_PROFILE_PATH environment variable, then in the site folder /etc/scsctl/profiles, then "
        "among those shipped with scsctl. Only the shipped and the site's profiles give technicians their "
        "clinical limits; any other file is for the engineer role only.",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--profile-path",
        metavar="DIR",
        action="append",
        default=[],
        help="also search this folder for profiles (repeatable)",
    )
    sub = parser.add_subparsers(dest="profiles_command", metavar="SUBCOMMAND", required=True)

    p_list = sub.add_parser("list", parents=[common], help="list the profiles found (name, model id, description)")
    p_list.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p_list.set_defaults(handler=run_list)

    p_show = sub.add_parser(
        "show", parents=[common], help="show every limit of one profile, with units, its hash and origin"
    )
    p_show.add_argument("name", metavar="NAME", help="profile name (e.g. drg-4x4) or path to a .toml file")
    p_show.add_argument("--json", action="store_true", help="print JSON (keys as in the profile file)")
    p_show.set_defaults(handler=run_show)

    p_check = sub.add_parser(
        "check", help="validate profile files; lists every problem, and says whether technicians may use each"
    )
    p_check.add_argument("files", metavar="FILE", nargs="+", help="profile files to check (- for standard input)")
    p_check.set_defaults(handler=run_check)


def run_list(args: argparse.Namespace) -> int:
    from ..profiles import list_profiles, profile_summary

    profiles = list_profiles(args.profile_path)
    if args.json:
        print(json.dumps([profile_summary(p) for p in profiles], indent=2))
        return 0
    if not profiles:
        print("no device profiles found")
        return 0
    rows = [("NAME", "MODEL ID", "DESCRIPTION")] + [(p.name, f"0x{p.model_id:04X}", p.description) for p in profiles]
    name_w = max(len(r[0]) for r in rows)
    id_w = max(len(r[1]) for r in rows)
    for name, model_id, description in rows:
        print(f"{name.ljust(name_w)}  {model_id.ljust(id_w)}  {description}")
    return 0


def _origin_text(origin: Any, policy: Any) -> str:
    from ..text import printable

    if origin.trusted:
        return f"{origin.why} ({printable(origin.path)}): its clinical tier is trusted"
    return (
        f"{origin.why} ({printable(origin.path)}): for the engineer role only, its clinical tier is not trusted "
        f"({policy.describe()})"
    )


def run_show(args: argparse.Namespace) -> int:
    from ..controller import system_policy
    from ..profiles import get_profile, profile_table, profile_to_dict

    profile = get_profile(args.name, args.profile_path)
    policy = system_policy()
    origin = policy.profile_origin(profile)
    if args.json:
        data = profile_to_dict(profile)
        data["provenance"] = {"sha256": profile.sha256, "origin": origin.kind, "path": origin.path,
                              "trusted": origin.trusted, "why": origin.why}  # fmt: skip
        print(json.dumps(data, indent=2))
        return 0
    print(profile_table(profile))
    print()
    print("Provenance")
    print(f"  sha256  {profile.sha256}")
    print(f"  origin  {_origin_text(origin, policy)}")
    return 0


def _trusted_of_model(model_id: int, policy: Any) -> list[Any]:
    from ..errors import ProfileError
    from ..profiles import list_profiles

    try:
        found = list_profiles(env={})
    except ProfileError:
        return []
    return [p for p in found if p.model_id == model_id and policy.profile_origin(p).trusted]


def _read_stdin_profile() -> Any:
    """``profiles check -``: a profile piped in (``git show HEAD:my.toml | scsctl profiles check -``)."""
    import tomllib

    from ..errors import ProfileError, ProfileProblem
    from ..profiles import content_sha256, parse_profile

    content = sys.stdin.buffer.read()
    try:
        data = tomllib.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise ProfileError(ProfileProblem("standard input", "", f"not valid TOML: {err}")) from None
    return parse_profile(data, "standard input", sha256=content_sha256(content))


def run_check(args: argparse.Namespace) -> int:
    from ..controller import system_policy
    from ..errors import ProfileError
    from ..profiles import clinical_widenings, load_profile

    policy = system_policy()
    failed = 0
    for file in args.files:
        try:
            profile = _read_stdin_profile() if file == "-" else load_profile(file)
        except ProfileError as err:
            failed += 1
            for problem in err.problems:
                print(problem, file=sys.stderr)
            continue
        origin = policy.profile_origin(profile)
        print(f"{file}: ok ({profile.name}, model 0x{profile.model_id:04X}, sha256 {profile.sha256}); "
              f"{_origin_text(origin, policy)}")  # fmt: skip
        if not origin.trusted:
            for reference in _trusted_of_model(profile.model_id, policy):
                if reference.sha256 == profile.sha256:
                    continue
                for wider in clinical_widenings(profile, reference):
                    print(f"{file}: wider than the trusted profile {reference.name}: {wider}")
    if failed:
        print(f"scsctl: {failed} of {len(args.files)} profile file(s) invalid", file=sys.stderr)
        return 2
    return 0

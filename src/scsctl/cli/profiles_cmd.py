"""``scsctl profiles list|show NAME|check FILE...``: the device profiles and their limits.

``list`` and ``show`` accept ``--json``; every sub-command accepts ``--profile-path DIR``
(repeatable) besides the ``SCSCTL_PROFILE_PATH`` environment variable. ``check`` validates files
without installing them: it lists every problem of every file and exits 2 if any file is invalid.
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
        "the SCSCTL_PROFILE_PATH environment variable, then among those shipped with scsctl.",
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

    p_show = sub.add_parser("show", parents=[common], help="show every limit of one profile, with units")
    p_show.add_argument("name", metavar="NAME", help="profile name (e.g. drg-4x4) or path to a .toml file")
    p_show.add_argument("--json", action="store_true", help="print JSON (keys as in the profile file)")
    p_show.set_defaults(handler=run_show)

    p_check = sub.add_parser("check", help="validate profile files; lists every problem")
    p_check.add_argument("files", metavar="FILE", nargs="+", help="profile files to check")
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


def run_show(args: argparse.Namespace) -> int:
    from ..profiles import get_profile, profile_table, profile_to_dict

    profile = get_profile(args.name, args.profile_path)
    print(json.dumps(profile_to_dict(profile), indent=2) if args.json else profile_table(profile))
    return 0


def run_check(args: argparse.Namespace) -> int:
    from ..errors import ProfileError
    from ..profiles import load_profile

    failed = 0
    for file in args.files:
        try:
            profile = load_profile(file)
        except ProfileError as err:
            failed += 1
            for problem in err.problems:
                print(problem, file=sys.stderr)
            continue
        print(f"{file}: ok ({profile.name}, model 0x{profile.model_id:04X})")
    if failed:
        print(f"scsctl: {failed} of {len(args.files)} profile file(s) invalid", file=sys.stderr)
        return 2
    return 0

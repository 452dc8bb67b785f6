"""``cli_info_s``: wall time of ``scsctl info --json`` against a pty emulator, as a new process.

Everything a user waits for is in it: the interpreter starting, imports, opening the audit log,
HELLO and the read-back of the device's programs, and closing. Baselines, in alternating runs:
the bare interpreter (``python -c pass``) and the import of the CLI alone. One more run under
``python -X importtime`` gives the import profile, and says whether the TUI (Textual or
``scsctl.tui``) was imported: the CLI must not import it.

Bytecode: an installed scsctl runs from compiled ``.pyc`` files, but a checkout run with
``PYTHONDONTWRITEBYTECODE`` set (as some shells and CI set it) compiles every module on every start,
which alone costs about as much again as everything else. The timed runs therefore use a bytecode
cache in the scratch folder (``PYTHONPYCACHEPREFIX``, written by a first, untimed run, the source
tree untouched); that first run's time is reported too (``first_run_s``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Mapping
from typing import Any

from .context import Bench
from .procs import child_env, emulator_process, scsctl_command
from .report import Figure, Limit
from .stats import median

TARGET_S = 0.25
TUI_MODULES = ("textual", "scsctl.tui")
TEST_MODULES = ("pytest", "_pytest", "hypothesis", "pluggy")
"""Test tools a command line has no use for: importing them is start-up time thrown away."""


def _wall_s(argv: list[str], env: Mapping[str, str]) -> float:
    t0 = time.monotonic()
    result = subprocess.run(argv, capture_output=True, text=True, check=False, env=env)
    elapsed = time.monotonic() - t0
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {result.returncode}: {result.stderr.strip()[-500:]}")
    return elapsed


def import_profile(argv: list[str], env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Run ``argv`` (a python command) under ``-X importtime``: the heaviest modules, TUI or not."""
    result = subprocess.run(
        [argv[0], "-X", "importtime", *argv[1:]], capture_output=True, text=True, check=False, env=env
    )
    rows: list[tuple[str, int, int]] = []
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line or "self [us]" in line:
            continue
        self_us, cumulative_us, name = line.removeprefix("import time:").split("|")
        rows.append((name.strip(), int(self_us), int(cumulative_us)))
    by_self = sorted(rows, key=lambda row: row[1], reverse=True)
    tops = [(name, cumulative) for name, _, cumulative in rows if "." not in name]
    return {
        "modules": len(rows),
        "total_ms": round(sum(s for _, s, _ in rows) / 1000, 1),
        "heaviest_self_ms": {name: round(s / 1000, 1) for name, s, _ in by_self[:10]},
        "packages_cumulative_ms": {
            name: round(c / 1000, 1) for name, c in sorted(tops, key=lambda t: t[1], reverse=True)[:8]
        },
        "tui_imported": sorted({name for name, _, _ in rows if name.startswith(TUI_MODULES)}),
        "test_tools_imported": sorted({name.split(".")[0] for name, _, _ in rows if name.startswith(TEST_MODULES)}),
        "test_tools_ms": round(sum(s for name, s, _ in rows if name.startswith(TEST_MODULES)) / 1000, 1),
        "all_cumulative": [(name, cumulative) for name, _, cumulative in rows],
    }


def measure(bench: Bench) -> list[Figure]:
    runs = bench.pick(3, 7)
    data_dir = str(bench.data_dir("cli"))
    env = child_env(bench.data_dir("pycache-cli"))  # a cache of its own: the first run compiles
    bare = [sys.executable, "-c", "pass"]
    imports = [sys.executable, "-c", "import scsctl.cli.main"]
    with emulator_process(bench.child_env) as emulator:
        args = ["info", "--json", "--port", emulator.port, "--data-dir", data_dir]
        info = scsctl_command(*args)
        first_s = _wall_s(info, env)  # compiles and caches the bytecode, creates the audit log
        info_s, bare_s, import_s = [], [], []
        for _ in range(runs):
            info_s.append(_wall_s(info, env))
            bare_s.append(_wall_s(bare, env))
            import_s.append(_wall_s(imports, env))
        profile = import_profile([sys.executable, "-m", "scsctl.cli.main", *args], env)
    value = median(info_s)
    return [
        Figure(
            "cli_info_s",
            {"median": round(value, 3), "min": round(min(info_s), 3), "n": runs},
            f"median {value:.2f} s (imports alone {median(import_s):.2f} s)",
            {"python_startup_s": round(median(bare_s), 3), "cli_import_s": round(median(import_s), 3)},
            f"python -c pass {median(bare_s):.3f} s",
            limits=(Limit("median", TARGET_S, "s"),),
            detail={
                "command": "scsctl info --json --port PTY",
                "first_run_s": round(first_s, 3),
                "bytecode_cache": "PYTHONPYCACHEPREFIX in the scratch folder, written by the first run",
                "dont_write_bytecode_in_environment": "PYTHONDONTWRITEBYTECODE" in os.environ,
                "import_profile": {k: v for k, v in profile.items() if k != "all_cumulative"},
            },
            note=_import_note(profile),
        )
    ]


def _import_note(profile: dict[str, Any]) -> str:
    notes = []
    if profile["tui_imported"]:
        notes.append("the CLI imported the TUI: " + ", ".join(profile["tui_imported"]))
    if profile["test_tools_imported"]:
        notes.append(
            f"the CLI imported test tools ({', '.join(profile['test_tools_imported'])}: "
            f"{profile['test_tools_ms']:.0f} ms of imports)"
        )
    return "; ".join(notes)

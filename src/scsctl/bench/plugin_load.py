"""``plugin_load_ms``: what loading scsctl's pytest plugin adds to every pytest run in the environment.

pytest loads every ``pytest11`` plugin installed, whether the project tests a stimulator or not;
the plugin's registration (options, markers, fixtures) must cost little, and the controller, the
wire definition and the emulator load only when a test asks for a device. Measured with
``python -X importtime`` in fresh processes (bytecode cached by a first run): the cumulative import
time of ``scsctl.pytest_plugin.plugin`` after pytest itself, whose own import time is the baseline.
"""

from __future__ import annotations

import sys

from .cli_info import import_profile
from .context import Bench
from .report import Figure, Limit
from .stats import median

TARGET_MS = 50.0
PLUGIN = "scsctl.pytest_plugin.plugin"


def _cumulative_ms(profile_rows: list[tuple[str, int]], name: str) -> float:
    return next((cumulative / 1000 for module, cumulative in profile_rows if module == name), 0.0)


def measure(bench: Bench) -> list[Figure]:
    runs = bench.pick(3, 7)
    argv = [sys.executable, "-c", f"import pytest; import {PLUGIN}"]
    import_profile(argv, bench.child_env)  # writes the bytecode cache
    plugin_ms: list[float] = []
    pytest_ms: list[float] = []
    heavy: set[str] = set()
    for _ in range(runs):
        profile = import_profile(argv, bench.child_env)
        rows = [(str(name), int(cumulative)) for name, cumulative in profile["all_cumulative"]]
        plugin_ms.append(_cumulative_ms(rows, PLUGIN))
        pytest_ms.append(_cumulative_ms(rows, "pytest"))
        heavy |= {name for name, _ in rows if name.split(".")[0] in ("firmware_protocol", "construct", "textual")}
        heavy |= {name for name, _ in rows if name in ("scsctl.controller", "scsctl.emulator")}
    value = round(median(plugin_ms), 1)
    return [
        Figure(
            "plugin_load_ms",
            value,
            f"{value:.1f} ms",
            {"pytest_import_ms": round(median(pytest_ms), 1)},
            f"pytest itself {median(pytest_ms):.0f} ms",
            limits=(Limit("", TARGET_MS, "ms"),),
            detail={"runs": runs, "heavy_modules_loaded": sorted(heavy)},
            note="" if not heavy else "the plugin loads modules a registration does not need",
        )
    ]

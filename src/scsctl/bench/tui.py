"""``tui_ready_s`` and ``tui_key_to_wire_ms``: the terminal UI, run headless against a pty emulator.

``ScsApp`` runs under Textual's ``App.run_test()`` (no terminal), connected to an emulator in
another process through a :class:`~scsctl.bench.spy.TimedTransport`, which notes when each frame
went out.

- ``tui_ready_s``: from constructing the app to ``app.connected`` (the main screen shows the
  connected device: HELLO, programs read back, status). The app's module is imported before the
  clock starts; what importing Textual and the UI costs a new process is given beside it
  (``import_s``, a separate process with a bytecode cache), so start-up as a user sees it is
  ``import_s`` plus this.
- ``tui_key_to_wire_ms``: from ``pilot.press("f2")`` (the STOP key) to the STOP frame written to the
  port: Textual's key handling, the binding, the STOP thread, ``Device.stop()`` and the write.
  The terminal's own input parsing is not in it.

If the TUI is not installed or does not expose what is measured (``app.connected``), both figures
say "not measured" and why.
"""

from __future__ import annotations

import asyncio
import importlib
import subprocess
import sys
import time
from typing import Any

from firmware_protocol.constants import MessageType

from ..controller import transport_for_url
from .context import OPERATOR, Bench
from .procs import child_env, emulator_process
from .report import Figure, Limit
from .spy import TimedTransport
from .stats import Summary, median

READY_TARGET_S = 1.5
KEY_TARGET_MS = 20.0
STOP_KEY = "f2"
TIMEOUT_S = 15.0


class _NotAvailable(Exception):
    pass


def _app_class() -> tuple[Any, Any]:
    try:
        app_module = importlib.import_module("scsctl.tui.app")
        target_module = importlib.import_module("scsctl.controller.target")
    except ImportError as err:
        raise _NotAvailable(f"not measured: TUI not available ({err})") from None
    app_cls = getattr(app_module, "ScsApp", None)
    target_cls = getattr(target_module, "ConnectTarget", None)
    if app_cls is None or target_cls is None:
        raise _NotAvailable("not measured: TUI not available (no ScsApp or ConnectTarget)")
    return app_cls, target_cls


async def _session(app_cls: Any, target: Any, spy: TimedTransport, presses: int) -> tuple[float, list[float]]:
    """One app run: seconds to connected, and key-to-wire milliseconds for each STOP press."""
    t0 = time.monotonic()
    app = app_cls(target)
    if not hasattr(app, "connected"):
        raise _NotAvailable("not measured: the TUI exposes no `connected` event to wait for")
    key_ms: list[float] = []
    async with app.run_test(headless=True, size=(140, 45)) as pilot:
        deadline = t0 + TIMEOUT_S
        while not app.connected.is_set():
            if time.monotonic() > deadline:
                raise TimeoutError(f"the TUI did not connect within {TIMEOUT_S:g} s")
            await asyncio.sleep(0.002)
        ready_s = (getattr(app, "connected_at_s", None) or time.monotonic()) - t0
        await pilot.pause(0.3)  # let the first status and the screen settle
        for _ in range(presses):
            sent = len(spy.writes)
            pressed_s = time.monotonic()
            await pilot.press(STOP_KEY)
            deadline = pressed_s + TIMEOUT_S
            while not (stop_s := _first_stop_after(spy, sent)):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no STOP frame went out within {TIMEOUT_S:g} s of pressing {STOP_KEY}")
                await asyncio.sleep(0.0005)
            key_ms.append((stop_s - pressed_s) * 1000)
            await pilot.pause(0.1)  # the STOP is confirmed before the next press
        await pilot.press("ctrl+q")
    return ready_s, key_ms


def _first_stop_after(spy: TimedTransport, index: int) -> float | None:
    for t, data in spy.writes[index:]:
        if len(data) > 4 and data[4] == MessageType.STOP:
            return t
    return None


def _import_s(bench: Bench) -> float:
    """A new process importing the TUI (Textual included), with a bytecode cache (second run)."""
    env = child_env(bench.data_dir("pycache-tui"))
    argv = [sys.executable, "-c", "import scsctl.tui.app"]
    subprocess.run(argv, env=env, check=True, capture_output=True)
    times = []
    for _ in range(bench.pick(1, 3)):
        t0 = time.monotonic()
        subprocess.run(argv, env=env, check=True, capture_output=True)
        times.append(time.monotonic() - t0)
    return median(times)


def measure(bench: Bench) -> list[Figure]:
    ready_limit = (Limit("median", READY_TARGET_S, "s"),)
    key_limit = (Limit("median", KEY_TARGET_MS, "ms"),)
    try:
        app_cls, target_cls = _app_class()
    except _NotAvailable as why:
        return [
            Figure.unmeasured("tui_ready_s", str(why), ready_limit),
            Figure.unmeasured("tui_key_to_wire_ms", str(why), key_limit),
        ]
    runs, presses = bench.pick((1, 6), (3, 16))
    ready: list[float] = []
    keys: list[float] = []
    with emulator_process(bench.child_env) as emulator:
        for run in range(runs):
            # Keys are pressed in the last run only: each press takes Textual's pilot about half a
            # second to settle, which is the pilot's waiting, not part of the figure.
            last = run == runs - 1
            spy = TimedTransport(transport_for_url(emulator.port))
            target = target_cls(emulator.port, data_dir=str(bench.data_dir("tui")), operator=OPERATOR, transport=spy)
            try:
                ready_s, key_ms = asyncio.run(_session(app_cls, target, spy, presses if last else 0))
            except _NotAvailable as why:
                return [
                    Figure.unmeasured("tui_ready_s", str(why), ready_limit),
                    Figure.unmeasured("tui_key_to_wire_ms", str(why), key_limit),
                ]
            finally:
                spy.close()
            ready.append(ready_s)
            keys += key_ms[1:]  # the first press pays for first-use work (imports, a first render)
    import_s = _import_s(bench)
    ready_summary = Summary.of(ready)
    key_summary = Summary.of(keys)
    return [
        Figure(
            "tui_ready_s",
            {"median": round(ready_summary.median, 3), "max": round(max(ready), 3), "n": len(ready)},
            f"median {ready_summary.median:.2f} s (+ {import_s:.2f} s importing in a new process)",
            {"import_s": round(import_s, 3)},
            f"import of the TUI {import_s:.2f} s",
            limits=ready_limit,
            detail={
                "from": "ScsApp() constructed, module already imported",
                "to": "app.connected (main screen, device connected)",
                "with_process_start_s": round(import_s + ready_summary.median, 3),
                "emulator": "scsctl emulator --pty in another process",
            },
        ),
        Figure(
            "tui_key_to_wire_ms",
            key_summary.as_dict(3),
            f"median {key_summary.median:.2f} ms, p99 {key_summary.p99:.2f} ms (F2 STOP)",
            {"stop_latency_path": "Device.stop() alone: see stop_latency_us"},
            "see stop_latency_us",
            limits=key_limit,
            detail={"key": STOP_KEY, "from": "pilot.press", "to": "STOP frame written to the port"},
        ),
    ]

"""scsctl's pytest plugin: run the same hardware-in-the-loop tests on a device or on the emulator.

Loaded by pytest through the ``pytest11`` entry point ``scsctl`` wherever scsctl is installed, so a
rig's own test project uses it too (``-p no:scsctl`` turns it off). Only the target changes::

    pytest hil_tests                                  # the in-process emulator (emu://)
    pytest hil_tests --scs-port /dev/ttyUSB0          # a device; emulator-only tests are skipped
    pytest hil_tests -n 2 --scs-port emu:// --scs-port emu://drg-4x4   # one target per xdist worker
    pytest hil_tests --scs-record run.json && scsctl hil-report run.json

A test asks for what it needs::

    @pytest.mark.scs_requirement("SAF-003")
    def test_stop(scs_device, scs_measure):
        ...
        scs_measure("stop_confirmed_ms", ms, units="ms", limit=(None, 100))

Fixtures (``plugin``): ``scs_device`` (technician session), ``scs_connect(role=..., tethered=...)``,
``scs_raw`` (raw frames for negative tests: engineer role, audited), ``scs_emulator`` (fault
injection and output monitor; skips unless the target is ``emu://``), ``measure``, ``scs_target``,
``scs_bench``. Markers: ``scs_requirement(*ids)``, ``scs_emulator_only``, ``scs_hardware_only``, ``scs_slow``.
Options and where else they may come from (ini ``scs_port``..., environment ``SCSCTL_HIL_PORT``...):
``options``. The record and its traceability table:
``record``, ``report``.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .measure import Measure, Measurement
    from .raw import RawSender
    from .target import Bench, Target

_LAZY = {"Measure": "measure", "Measurement": "measure", "RawSender": "raw", "Bench": "target", "Target": "target"}


def __getattr__(name: str) -> Any:
    # Loaded on first use: the CLI imports this package's ``report`` and must not pay for pytest.
    if name in _LAZY:
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Bench", "Measure", "Measurement", "RawSender", "Target"]

"""The emulated trial stimulator: a firmware stand-in that shares only the wire protocol.

The firmware core (this package's ``firmware`` module and the modules it uses) imports
``firmware_protocol`` and nothing else of scsctl: it has its own limit tables (``models``) and
enforces them on its own, so the host's limits are checked twice and a host bug shows up as a device
refusal. The runtime around it (threads, ``emu://``, pseudo-terminals, TCP, line faults) lives in
``runner``, ``server`` and ``linefaults``.

::

    from scsctl.emulator import Firmware, MODELS

    fw = Firmware(model=MODELS["tonic-burst-16"], now_s=0.0, seed=0)
    out = fw.receive(encode(m.Hello(), seq=1), now_s=0.0)   # bytes to send back
    out = fw.poll(now_s=0.5)                                # timers: ramps, cycling, watchdog
    fw.monitor.amplitude_at(0.25)                           # what was delivered
"""

from __future__ import annotations

from .battery import Battery, BatteryConfig
from .faults import (
    BatteryLevel,
    FirmwareFault,
    HardwareFault,
    LeadOpen,
    LeadRepair,
    LeadShort,
    NakNext,
    Reboot,
    Stall,
    parse_firmware_fault,
)
from .firmware import Firmware
from .impedance import Leads
from .models import DEFAULT_MODEL, MODELS, BurstLimits, FirmwareModel, ImpedanceBands, WaveformLimits
from .output_monitor import Output, OutputMonitor, Segment
from .storage import EventLog, Storage, UsageCounters

__all__ = [
    "DEFAULT_MODEL",
    "MODELS",
    "Battery",
    "BatteryConfig",
    "BatteryLevel",
    "BurstLimits",
    "EventLog",
    "Firmware",
    "FirmwareFault",
    "FirmwareModel",
    "HardwareFault",
    "ImpedanceBands",
    "LeadOpen",
    "LeadRepair",
    "LeadShort",
    "Leads",
    "NakNext",
    "Output",
    "OutputMonitor",
    "Reboot",
    "Segment",
    "Stall",
    "Storage",
    "UsageCounters",
    "WaveformLimits",
    "parse_firmware_fault",
]

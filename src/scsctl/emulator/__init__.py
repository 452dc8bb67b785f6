"""The emulated trial stimulator: a firmware stand-in that shares only the wire protocol.

The firmware core (this package's ``firmware`` module and the modules it uses) imports
``firmware_protocol`` and nothing else of scsctl: it has its own limit tables (``models``) and
enforces them on its own, so the host's limits are checked twice and a host bug shows up as a device
refusal. The runtime around it (threads, ``emu://``, pseudo-terminals, TCP, line faults) lives in
``runner``, ``server`` and ``linefaults``; what the front ends use of them is exported here.

::

    from scsctl.emulator import DEFAULT_MODEL_NAME, Firmware, MODELS

    fw = Firmware(model=MODELS[DEFAULT_MODEL_NAME], now_s=0.0, seed=0)
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
    is_firmware_fault,
    parse_firmware_fault,
)
from .firmware import Firmware
from .impedance import Leads
from .linefaults import FaultSpec, is_line_fault, parse_fault
from .models import (
    DEFAULT_MODEL,
    DEFAULT_MODEL_NAME,
    MODELS,
    BurstLimits,
    FirmwareModel,
    ImpedanceBands,
    WaveformLimits,
)
from .output_monitor import Output, OutputMonitor, Segment
from .runner import EmulatorRunner, find_model, make_emulator
from .server import EmulatorServer, PtyEndpoint
from .storage import EventLog, Storage, UsageCounters

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_MODEL_NAME",
    "MODELS",
    "Battery",
    "BatteryConfig",
    "BatteryLevel",
    "BurstLimits",
    "EmulatorRunner",
    "EmulatorServer",
    "EventLog",
    "FaultSpec",
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
    "PtyEndpoint",
    "Reboot",
    "Segment",
    "Stall",
    "Storage",
    "UsageCounters",
    "WaveformLimits",
    "find_model",
    "is_firmware_fault",
    "is_line_fault",
    "make_emulator",
    "parse_fault",
    "parse_firmware_fault",
]

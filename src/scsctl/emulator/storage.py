"""The emulated device's non-volatile memory: what survives a power cycle.

Programs, the selected slot, the usage counters, the event log and the operating-hours clock
(PROTOCOL.md 10.1 and open point 2: log times come from a counter that survives power cycles).
A ``Storage`` handed to a new ``Firmware`` (or kept across ``Firmware.power_cycle``) is the device
after a reboot; ``to_json``/``from_json`` let a runtime keep it in a file between runs.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from firmware_protocol.constants import EventCode, Polarity, Recharge, Waveform
from firmware_protocol.messages import ContactSetting, Program, UsageEvent

_U16 = 0xFFFF
_U32 = 0xFFFFFFFF

DEFAULT_LOG_CAPACITY = 1024
"""Entries the event log holds; older ones are overwritten (index 0 is the oldest held)."""


@dataclass
class UsageCounters:
    """Totals reported by USAGE. Counters saturate at their wire width instead of wrapping."""

    stimulation_s: float = 0.0
    """Time spent in output states (cycling off included), across power cycles."""
    start_count: int = 0
    amplitude_change_count: int = 0
    power_on_count: int = 0
    fault_count: int = 0


class EventLog:
    """A ring buffer of log entries; ``entries(first, count)`` reads from the oldest held."""

    def __init__(self, capacity: int = DEFAULT_LOG_CAPACITY) -> None:
        if not 1 <= capacity <= _U16:
            raise ValueError(f"log capacity {capacity} is outside 1..{_U16}")
        self.capacity = capacity
        self._entries: deque[UsageEvent] = deque(maxlen=capacity)

    def append(self, device_time_s: int, code: EventCode, detail: int = 0) -> None:
        self._entries.append(UsageEvent(min(device_time_s, _U32), code, min(detail, _U16)))

    def __len__(self) -> int:
        return len(self._entries)

    def entries(self, first: int = 0, count: int | None = None) -> list[UsageEvent]:
        items = list(self._entries)
        end = len(items) if count is None else first + count
        return items[first:end]


@dataclass
class Storage:
    """Non-volatile memory of one emulated device."""

    programs: dict[int, Program] = field(default_factory=dict)
    selected_slot: int | None = None
    counters: UsageCounters = field(default_factory=UsageCounters)
    log: EventLog = field(default_factory=EventLog)
    operating_s: float = 0.0
    """Operating time before the present power-on (the log's clock adds the present uptime)."""

    def to_json(self) -> str:
        data: dict[str, Any] = {
            "programs": {str(slot): _program_to_dict(p) for slot, p in sorted(self.programs.items())},
            "selected_slot": self.selected_slot,
            "counters": vars(self.counters),
            "log_capacity": self.log.capacity,
            "log": [[e.device_time_s, int(e.code), e.detail] for e in self.log.entries()],
            "operating_s": self.operating_s,
        }
        return json.dumps(data, indent=1)

    @classmethod
    def from_json(cls, text: str) -> Storage:
        """Read what ``to_json`` wrote; raises ValueError naming what is wrong."""
        try:
            data = json.loads(text)
            log = EventLog(int(data["log_capacity"]))
            for t, code, detail in data["log"]:
                log.append(int(t), EventCode(code), int(detail))
            return cls(
                programs={int(k): _program_from_dict(v) for k, v in data["programs"].items()},
                selected_slot=data["selected_slot"],
                counters=UsageCounters(**data["counters"]),
                log=log,
                operating_s=float(data["operating_s"]),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"emulator storage file is not valid: {err!r}") from err


def _program_to_dict(p: Program) -> dict[str, Any]:
    return {
        "slot": p.slot, "amplitude_ua": p.amplitude_ua, "pulse_width_us": p.pulse_width_us,
        "rate_dhz": p.rate_dhz, "waveform": int(p.waveform), "burst_pulses": p.burst_pulses,
        "intra_burst_rate_dhz": p.intra_burst_rate_dhz, "recharge": int(p.recharge), "cycle_on_s": p.cycle_on_s,
        "cycle_off_s": p.cycle_off_s, "ramp_up_ms": p.ramp_up_ms, "ramp_down_ms": p.ramp_down_ms,
        "patient_max_ua": p.patient_max_ua,
        "contacts": [[int(c.polarity), c.share_pct] for c in p.contacts],
    }  # fmt: skip


def _program_from_dict(d: dict[str, Any]) -> Program:
    fields = dict(d)
    contacts = tuple(ContactSetting(Polarity(pol), int(share)) for pol, share in fields.pop("contacts"))
    fields["waveform"] = Waveform(fields["waveform"])
    fields["recharge"] = Recharge(fields["recharge"])
    return Program(contacts=contacts, **fields)

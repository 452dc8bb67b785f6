"""A tethered session in a process of its own, driven line by line on stdin (tests of port ownership).

Commands: ``start`` (start slot 0 and wait until it stimulates), ``status``, ``quit``. Every answer
is one JSON line on stdout. The session counts every time its link was lost.
"""

from __future__ import annotations

import json
import sys
import time

import scsctl
from firmware_protocol.constants import OUTPUT_STATES, State
from firmware_protocol.messages import Program
from scsctl.controller.device import Device
from scsctl.link.session import LinkStateChange, LinkStatus
from scsctl.parsing import electrodes


def say(**data: object) -> None:
    print(json.dumps(data), flush=True)


def status(dev: Device) -> dict[str, object]:
    s = dev.status()
    return {"state": s.state.name, "amplitude_ua": s.amplitude_ua, "tethered_flags": int(s.status_flags)}


def main() -> None:
    port, data_dir = sys.argv[1], sys.argv[2]
    losses: list[str] = []
    with scsctl.connect(port, tethered=True, operator="holder", data_dir=data_dir) as dev:
        dev.link.subscribe(lambda e: losses.append(e.reason) if isinstance(e, LinkStateChange)
                           and e.status is LinkStatus.LOST else None)  # fmt: skip
        dev.stop()
        dev.measure_impedance()
        contacts = electrodes("1+ 2-", dev.identity.contacts)
        dev.write_program(Program(slot=0, amplitude_ua=0, pulse_width_us=300, rate_dhz=500, contacts=contacts,
                                  patient_max_ua=6000))  # fmt: skip
        dev.select(0)
        dev.start()
        dev.set_amplitude(500, commit=True)  # one step: START needs no ramp-up at this amplitude
        dev.stop()  # each `start` below starts it again
        say(ready=True, **status(dev))
        for line in sys.stdin:
            command = line.strip()
            if command == "start":
                dev.start()
                deadline = time.monotonic() + 5
                while dev.status().state is not State.STIMULATING and time.monotonic() < deadline:
                    time.sleep(0.01)
                say(**status(dev))
            elif command == "status":
                now = status(dev)
                say(stimulating=State[str(now["state"])] in OUTPUT_STATES, **now)
            elif command == "quit":
                break
        say(losses=losses, link=dev.link.status.value)


if __name__ == "__main__":
    main()

"""A device that answers a status read with as little work as a device could: the host's own share.

``python -m scsctl.bench.minimal_device`` serves one pseudo-terminal as ``scsctl emulator --pty``
does (it prints ``port: PATH``, the slave a host opens) and answers:

- a GET_STATUS frame read whole (8 bytes, CRC right) with the STATUS frame the emulated firmware
  gave the first time, only its sequence number and CRC made anew: one read, two bytes, a C CRC
  and one write, about what the echo (:mod:`scsctl.bench.echo`) does;
- anything else (HELLO and the reads ``scsctl.connect`` makes) through the emulated firmware
  itself, so that a host connects to it as to the emulator.

``rtt_minimal_device_us`` against it is ``Device.status()`` with the device's part all but taken
away: what is left over the echo is the host's (encode, the link, the transport, decode). Set
beside ``rtt_us`` it says how much of that round trip is the emulator's Python rather than the
host's. It is a measuring aid, not a device: its STATUS never changes.
"""

from __future__ import annotations

import os
import sys
import time

from firmware_protocol import encode
from firmware_protocol import messages as m
from firmware_protocol.constants import PROTOCOL_VERSION
from firmware_protocol.crc import crc16

from .echo import serve_pty

_CRC_SIZE = 2
_SEQ_AT = 5
"""Where a frame holds its sequence number: after the two sync bytes, the length, its check and the type."""


def serve() -> int:
    from ..emulator import make_emulator

    firmware = make_emulator(seed=0).firmware
    get_status = encode(m.GetStatus(), 0)
    firmware.receive(encode(m.Hello(PROTOCOL_VERSION, PROTOCOL_VERSION), 0), time.monotonic())
    status = bytearray(firmware.receive(get_status, time.monotonic()))
    status_type = get_status[_SEQ_AT - 1]

    master = serve_pty()
    size = len(get_status)
    while True:
        data = os.read(master, 4096)
        if len(data) == size and data[_SEQ_AT - 1] == status_type and _crc_ok(data):
            status[_SEQ_AT] = data[_SEQ_AT]
            crc = crc16(memoryview(status)[2:-_CRC_SIZE])
            status[-2], status[-1] = crc & 0xFF, crc >> 8
            os.write(master, status)
        else:
            reply = firmware.receive(data, time.monotonic())
            if reply:
                os.write(master, reply)


def _crc_ok(frame: bytes) -> bool:
    return crc16(memoryview(frame)[2:-_CRC_SIZE]) == frame[-2] | (frame[-1] << 8)


if __name__ == "__main__":
    sys.exit(serve())

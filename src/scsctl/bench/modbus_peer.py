"""A peer to compare with: pymodbus's RTU server and client over a pseudo-terminal pair.

``python -m scsctl.bench.modbus_peer PATH`` serves pymodbus's own ``ModbusSerialServer`` (RTU
framing, ten holding registers, device 1) on the pty slave ``PATH``, prints ``port: PATH`` and
serves until its stdin closes. The host's side, :class:`ModbusPeerClient`, is pymodbus's own
``ModbusSerialClient``: only where it opens its port differs, since the host holds the pty's
master (as the emulator holds the master of the pty the host opens). A read of ten registers is an
8-byte request and a 25-byte reply, against GET_STATUS's 8 and STATUS's 24.

pymodbus is optional (``pip install scsctl[bench]``): nothing here is imported unless the
benchmark is run with ``--peers``.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from typing import Any

REGISTERS = 10
"""Read per request: 2 x 10 data bytes + 5 = a 25-byte reply."""
DEVICE_ID = 1
BAUD = 115_200
"""Told to both sides, as our host is told nothing: on a pty it changes nothing but pymodbus's
own polling interval (which it derives from the speed; 1 ms at the least)."""


def serve(path: str) -> int:
    from pymodbus.datastore import ModbusDeviceContext, ModbusSequentialDataBlock, ModbusServerContext
    from pymodbus.server import StartAsyncSerialServer

    # pymodbus's blocks count from 1 for a request's address 0.
    block = ModbusSequentialDataBlock(1, list(range(1, REGISTERS + 2)))  # type: ignore[no-untyped-call]
    context = ModbusServerContext(devices={DEVICE_ID: ModbusDeviceContext(hr=block)}, single=False)

    def watch_stdin() -> None:
        sys.stdin.read()
        os._exit(0)  # the benchmark has gone: so does the peer, at once

    threading.Thread(target=watch_stdin, daemon=True).start()
    print(f"port: {path}", flush=True)
    asyncio.run(StartAsyncSerialServer(context, port=path, baudrate=BAUD))
    return 0


class _MasterPort:
    """Just enough of a pyserial port over a pty master's descriptor for pymodbus's client."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.is_open = True
        self.inter_byte_timeout: float | None = 0

    @property
    def in_waiting(self) -> int:
        import fcntl
        import struct
        import termios

        return int(struct.unpack("I", fcntl.ioctl(self.fd, termios.TIOCINQ, b"\0\0\0\0"))[0])

    def read(self, size: int = 1) -> bytes:
        out = b""
        while len(out) < size:  # pymodbus asks for what in_waiting said is there
            out += os.read(self.fd, size - len(out))
        return out

    def write(self, data: bytes) -> int:
        return os.write(self.fd, data)

    def close(self) -> None:
        self.is_open = False


def peer_client(master_fd: int) -> Any:
    """pymodbus's RTU client (its framer, transaction handling and polling) on a pty master."""
    from pymodbus.client import ModbusSerialClient

    class ModbusPeerClient(ModbusSerialClient):
        def connect(self) -> bool:
            if self.socket is None:
                self.socket = _MasterPort(master_fd)
            return True

    client = ModbusPeerClient("pty-master", baudrate=BAUD, timeout=1, retries=3)
    client.connect()
    return client


def read_registers(client: Any) -> None:
    reply = client.read_holding_registers(0, count=REGISTERS, device_id=DEVICE_ID)
    if reply.isError() or len(reply.registers) != REGISTERS:
        raise RuntimeError(f"pymodbus peer answered {reply}")


if __name__ == "__main__":
    sys.exit(serve(sys.argv[1]))

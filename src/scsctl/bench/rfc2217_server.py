"""pyserial's RFC 2217 server (``serial.rfc2217.PortManager``) in front of a serial port, one
client at a time, as pyserial's own example server runs it: a stand-in for a serial server on
another machine, for the benchmark and the tests. A process of its own::

    python -m scsctl.bench.rfc2217_server /dev/pts/4   # "port: rfc2217://127.0.0.1:PORT"; until killed
"""

from __future__ import annotations

import socket
import sys
import threading

import serial
import serial.rfc2217


class LinesFreeSerial(serial.Serial):  # type: ignore[misc]  # pyserial has no type information
    """A pseudo-terminal has no modem lines (their ioctls fail): setting RTS, DTR or break does nothing,
    and CTS, DSR, RI and CD read as off, as on a three-wire UART."""

    cts = dsr = ri = cd = False

    def _update_rts_state(self) -> None:
        pass

    def _update_dtr_state(self) -> None:
        pass

    def _update_break_state(self) -> None:
        pass


class Redirector:
    """Bytes between one TCP client and the serial port, through the RFC 2217 port manager."""

    def __init__(self, port: serial.Serial, client: socket.socket) -> None:
        self.serial = port
        self.socket = client
        self._write_lock = threading.Lock()
        self.alive = True
        self.rfc2217 = serial.rfc2217.PortManager(self.serial, self)

    def write(self, data: bytes) -> None:  # the port manager answers the client through this
        with self._write_lock:
            self.socket.sendall(data)

    def reader(self) -> None:
        while self.alive:
            try:
                data = self.serial.read(self.serial.in_waiting or 1)
                if data:
                    self.write(b"".join(self.rfc2217.escape(data)))
            except (OSError, serial.SerialException):
                break
        self.alive = False

    def run(self) -> None:
        thread = threading.Thread(target=self.reader, daemon=True)
        thread.start()
        try:
            while self.alive:
                data = self.socket.recv(1024)
                if not data:
                    break
                self.serial.write(b"".join(self.rfc2217.filter(data)))
        except OSError as err:
            print(f"connection ended: {err!r}", file=sys.stderr, flush=True)
        self.alive = False
        thread.join(timeout=2)


def main() -> None:
    device = sys.argv[1]
    server = socket.create_server(("127.0.0.1", 0))
    print(f"port: rfc2217://127.0.0.1:{server.getsockname()[1]}", flush=True)
    while True:
        client, _ = server.accept()
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        port = LinesFreeSerial(device, timeout=0.2)
        try:
            Redirector(port, client).run()
        finally:
            port.close()
            client.close()


if __name__ == "__main__":
    main()

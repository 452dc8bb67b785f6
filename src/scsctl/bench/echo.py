"""The floor for any request/reply here: a plain byte echo over a pseudo-terminal pair.

``python -m scsctl.bench.echo`` opens a pty in raw mode, prints ``port: PATH`` (the slave, which a
host opens as it opens an emulator's) and sends back every byte it reads, with nothing between the
read and the write. :class:`EchoClient` is the host's side: a raw file descriptor, one write of
the message and reads until all of it came back, so the round trip is the operating system's and
the interpreter's cost only: two processes, two context switches, two pty hops.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import tty

MESSAGE_SIZE = 33
"""Bytes per message, as issue 8 fixes them: more than a GET_STATUS request (8) or its STATUS reply (24)."""


def serve_pty() -> int:
    """Open a pty in raw mode, print ``port: PATH`` (its slave) and return its master; the process
    exits at once when its stdin closes (the benchmark has gone). For the bench's own peers."""
    import pty

    master, slave = pty.openpty()
    tty.setraw(slave)
    # Keep the slave open: once a host closes it the master would otherwise read EIO without end.
    print(f"port: {os.ttyname(slave)}", flush=True)

    def watch_stdin() -> None:
        sys.stdin.read()
        os._exit(0)

    threading.Thread(target=watch_stdin, daemon=True).start()
    return master


def serve() -> int:
    master = serve_pty()
    while True:
        data = os.read(master, 4096)
        os.write(master, data)


class EchoClient:
    """The host's end of the echo: ``round_trip_ns()`` sends one message and waits for all of it."""

    def __init__(self, path: str, size: int = MESSAGE_SIZE) -> None:
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(self.fd)
        self.message = bytes(range(size))

    def round_trip_ns(self) -> int:
        fd, message = self.fd, self.message
        t0 = time.perf_counter_ns()
        os.write(fd, message)
        got = 0
        while got < len(message):
            got += len(os.read(fd, 4096))
        return time.perf_counter_ns() - t0

    def close(self) -> None:
        os.close(self.fd)


if __name__ == "__main__":
    sys.exit(serve())

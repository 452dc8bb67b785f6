"""Serve emulators as real ports: a pseudo-terminal each, or a TCP port each.

- :class:`PtyEndpoint`: ``pty.openpty()`` in raw mode; the host opens the slave path
  (``/dev/pts/N``) with pyserial, the CLI, the TUI or any serial tool, as it would hardware.
- :class:`TcpEndpoint`: a listening socket; the host opens ``socket://HOST:PORT`` with pyserial.
  One connection at a time, as a serial port has one user: a second is told which host holds
  the device and since when, then closed.
- :class:`EmulatorServer`: several endpoints at once, each with its own emulator and I/O thread.

Each endpoint is the runner's :class:`~scsctl.emulator.runner.HostPort`: its I/O thread waits in a
selector (on the port and a wake-up pipe, no polling) and feeds what the host wrote to the runner;
the runner thread writes the device's bytes back (a pty's I/O thread, on an instant line, runs the
firmware and writes the answer itself: ``EmulatorRunner.feed_inline``). A line ``disconnect`` fault closes the pty (the
host's reads fail: the port vanished) or the connection, and brings a new one up after the down
time; a pty's path may change then, so each new one is announced (``on_port``) and, with
``link=PATH``, a symlink always points at the current one.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import selectors
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from .runner import EmulatorRunner

__all__ = ["EmulatorServer", "Endpoint", "PtyEndpoint", "TcpEndpoint"]

_log = logging.getLogger(__name__)

_READ_SIZE = 4096


class Endpoint:
    """A port serving one emulator runner. Subclasses open/close the port and move the bytes."""

    kind = "endpoint"

    def __init__(self, runner: EmulatorRunner[Any], *, on_port: Callable[[str], None] | None = None) -> None:
        self.runner = runner
        self.on_port = on_port
        self._lock = threading.Lock()
        self._sel = selectors.DefaultSelector()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._sel.register(self._wake_r, selectors.EVENT_READ)
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._cut = False
        self._reopen_at_s: float | None = None
        self._down_s = 0.0
        self.url = ""
        """What a host opens: a pty path or ``socket://HOST:PORT``."""

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> str:
        """Open the port, start the I/O thread and the runner; returns the URL to open."""
        self._open_port()
        self._thread = threading.Thread(target=self._serve, name=f"{self.kind}-{self.url}", daemon=True)
        self._thread.start()
        self.runner.start(self)
        return self.url

    def stop(self) -> None:
        self.runner.stop()
        self._stopping = True
        self._wake()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        self._thread = None
        with self._lock:
            self._close_port()
        self._sel.close()
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    def _announce(self) -> None:
        if self.on_port is not None:
            self.on_port(self.url)

    # --- HostPort (called from the runner thread) ----------------------------------------------

    def deliver(self, data: bytes) -> None:
        with self._lock:
            if not self._cut:
                self._send(data)

    def disconnected(self, down_s: float) -> None:
        with self._lock:
            self._cut = True
            self._down_s = down_s
            self._reopen_at_s = time.monotonic() + down_s
        self._wake()

    # --- the I/O thread ------------------------------------------------------------------------

    def _wake(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self._wake_w, b"\0")

    def _serve(self) -> None:
        try:
            while not self._stopping:
                timeout_s = None
                if self._reopen_at_s is not None and not self._cut:
                    timeout_s = max(0.0, self._reopen_at_s - time.monotonic())
                for key, _ in self._sel.select(timeout_s):
                    if key.fd == self._wake_r:
                        with contextlib.suppress(BlockingIOError):
                            os.read(self._wake_r, _READ_SIZE)
                    else:
                        self._readable(key)
                if self._stopping:
                    break
                if self._cut:
                    with self._lock:
                        self._close_port()
                        self._cut = False
                if self._reopen_at_s is not None and time.monotonic() >= self._reopen_at_s:
                    self._reopen_at_s = None
                    self._open_port()
                    self._announce()
        except Exception:  # noqa: BLE001 - logged; the port then goes quiet as a dead device would
            _log.exception("%s %s: the I/O thread stopped", self.kind, self.url)

    # --- for subclasses ------------------------------------------------------------------------

    def _open_port(self) -> None:
        raise NotImplementedError

    def _close_port(self) -> None:
        """Close the port (the lock is held)."""
        raise NotImplementedError

    def _send(self, data: bytes) -> None:
        """Write device bytes to the host (the lock is held)."""
        raise NotImplementedError

    def _readable(self, key: selectors.SelectorKey) -> None:
        raise NotImplementedError

    def _register(self, fileobj: Any) -> None:
        self._sel.register(fileobj, selectors.EVENT_READ)

    def _unregister(self, fileobj: Any) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self._sel.unregister(fileobj)


class PtyEndpoint(Endpoint):
    """One emulator on a pseudo-terminal; ``url`` is the slave path (``/dev/pts/N``).

    The server keeps the slave open itself: otherwise, once a host closes it, the master reads
    EIO without end. Bytes the device sends while no host has the port open wait in the tty and
    are dropped when its buffer is full, like a UART with nobody listening; a host discards them
    on open (``SerialTransport`` does).
    """

    kind = "pty"

    def __init__(self, runner: EmulatorRunner[Any], *, link: str | None = None,
                 on_port: Callable[[str], None] | None = None) -> None:  # fmt: skip
        super().__init__(runner, on_port=on_port)
        self.link = link
        self._master: int | None = None
        self._slave: int | None = None
        self.dropped_bytes = 0
        """Device bytes lost because nobody read the pty and its buffer was full."""

    def _open_port(self) -> None:
        import pty  # POSIX only: imported here so TCP serving works everywhere
        import tty

        master, slave = pty.openpty()
        tty.setraw(slave)
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        self.url = os.ttyname(slave)
        self._register(master)
        if self.link:
            tmp = f"{self.link}.{os.getpid()}.tmp"
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            os.symlink(self.url, tmp)
            os.replace(tmp, self.link)

    def _close_port(self) -> None:
        if self._master is not None:
            self._unregister(self._master)
        for fd in (self._master, self._slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = None

    def stop(self) -> None:
        super().stop()
        if self.link and os.path.islink(self.link):
            with contextlib.suppress(OSError):
                os.unlink(self.link)

    def _send(self, data: bytes) -> None:
        if self._master is None:
            return
        view = memoryview(data)
        while view:
            try:
                n = os.write(self._master, view)
            except BlockingIOError:
                self.dropped_bytes += len(view)
                return
            except OSError as err:
                _log.warning("pty %s: write failed: %s", self.url, err)
                return
            view = view[n:]

    def _readable(self, key: selectors.SelectorKey) -> None:
        master = self._master
        if master is None or key.fd != master:
            return
        try:
            data = os.read(master, _READ_SIZE)
        except BlockingIOError:
            return
        except OSError as err:
            if err.errno != errno.EIO:
                raise
            return  # no slave open: cannot happen while we hold one, harmless if it does
        if data and not self._cut:
            # The pty's writes never block (a full tty drops bytes): on an instant line this
            # thread can run the firmware and answer itself, without waking the runner thread.
            self.runner.feed_inline(data)


class TcpEndpoint(Endpoint):
    """One emulator on a TCP port; ``url`` is ``socket://HOST:PORT`` (port 0 picks a free one)."""

    kind = "tcp"

    def __init__(self, runner: EmulatorRunner[Any], host: str, port: int, *,
                 on_port: Callable[[str], None] | None = None) -> None:  # fmt: skip
        super().__init__(runner, on_port=on_port)
        self.host = host
        self.port = port
        self._listener: socket.socket | None = None
        self._client: socket.socket | None = None
        self._client_since: tuple[Any, float] | None = None

    def _open_port(self) -> None:
        if self._listener is None:
            listener = socket.create_server((self.host, self.port))
            listener.setblocking(False)
            self.port = listener.getsockname()[1]  # keep the port across a disconnect fault
            self._listener = listener
            self._register(listener)
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.url = f"socket://{host}:{self.port}"

    def _close_port(self) -> None:
        self._drop_client()
        if self._listener is not None and self._cut and self._down_s > 0:
            # Down for a while: refuse connections until it is back (pyserial sees no such port).
            self._unregister(self._listener)
            self._listener.close()
            self._listener = None

    def _turn_away(self, conn: socket.socket) -> None:
        """Tell a second host who holds the device (as a serial server's banner would), then close."""
        if self._cut or self._client_since is None:
            text = "scsctl emulator: the device is disconnected; try again later"
        else:
            peer, since_s = self._client_since
            since = time.strftime("%Y-%m-%d %H:%M:%S %z", time.localtime(since_s))
            text = f"scsctl emulator: held by another host ({_peer_text(peer)}) since {since}"
        with contextlib.suppress(OSError):
            conn.setblocking(True)
            conn.settimeout(0.5)
            conn.sendall(text.encode("ascii") + b"\r\n")
            conn.shutdown(socket.SHUT_RDWR)
        conn.close()

    def _drop_client(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            self._unregister(client)
            with contextlib.suppress(OSError):
                client.shutdown(socket.SHUT_RDWR)
            client.close()

    def _send(self, data: bytes) -> None:
        client = self._client
        if client is None:
            return
        try:
            client.sendall(data)
        except OSError as err:
            _log.info("tcp %s: the host's connection failed: %s", self.url, err)
            self._drop_client()

    def _readable(self, key: selectors.SelectorKey) -> None:
        if key.fileobj is self._listener and self._listener is not None:
            try:
                conn, _ = self._listener.accept()
            except BlockingIOError:
                return
            with self._lock:
                if self._client is not None or self._cut:
                    self._turn_away(conn)  # one user at a time, as on a serial port
                    return
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                # Writes come from the runner thread: a bounded wait, then the host is dropped.
                conn.settimeout(2.0)
                self._client = conn
                self._client_since = (conn.getpeername(), time.time())
                self._register(conn)
            return
        client = self._client
        if client is None or key.fileobj is not client:
            return
        try:
            data = client.recv(_READ_SIZE)
        except (BlockingIOError, TimeoutError):
            return
        except OSError:
            data = b""
        if not data:
            with self._lock:
                if self._client is client:
                    self._drop_client()
            return
        if not self._cut:
            self.runner.feed(data)

    def stop(self) -> None:
        super().stop()
        if self._listener is not None:
            self._listener.close()
            self._listener = None


def _peer_text(peer: Any) -> str:
    if isinstance(peer, tuple) and len(peer) >= 2:
        host = f"[{peer[0]}]" if ":" in str(peer[0]) else str(peer[0])
        return f"{host}:{peer[1]}"
    return str(peer)


class EmulatorServer:
    """Several emulators served at once; ``start()`` returns their URLs in order."""

    def __init__(self) -> None:
        self.endpoints: list[Endpoint] = []

    def add_pty(self, runner: EmulatorRunner[Any], *, link: str | None = None,
                on_port: Callable[[str], None] | None = None) -> PtyEndpoint:  # fmt: skip
        endpoint = PtyEndpoint(runner, link=link, on_port=on_port)
        self.endpoints.append(endpoint)
        return endpoint

    def add_tcp(self, runner: EmulatorRunner[Any], host: str, port: int, *,
                on_port: Callable[[str], None] | None = None) -> TcpEndpoint:  # fmt: skip
        endpoint = TcpEndpoint(runner, host, port, on_port=on_port)
        self.endpoints.append(endpoint)
        return endpoint

    def start(self) -> list[str]:
        urls: list[str] = []
        try:
            for endpoint in self.endpoints:
                urls.append(endpoint.start())
        except BaseException:
            self.stop()
            raise
        return urls

    def stop(self) -> None:
        for endpoint in self.endpoints:
            endpoint.stop()

    def __enter__(self) -> EmulatorServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

"""Serve emulators as real ports: a pseudo-terminal each, or a TCP port each.

- :class:`PtyEndpoint`: ``pty.openpty()`` in raw mode; the host opens the slave path
  (``/dev/pts/N``) with pyserial, the CLI, the TUI or any serial tool, as it would hardware.
- :class:`TcpEndpoint`: a listening socket; the host opens ``socket://HOST:PORT`` with pyserial.
  One connection at a time, as a serial port has one user: a second is told which host holds
  the device and since when, then closed.
- :class:`EmulatorServer`: several endpoints at once, each with its own emulator (its own serial
  number), all on one :class:`IoLoop` (one selector, one thread for every port's I/O).

Each endpoint is the runner's :class:`~scsctl.emulator.runner.HostPort`: its I/O loop waits in a
selector (on the ports and a wake-up pipe, no polling) and feeds what the host wrote to the runner;
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
import math
import os
import selectors
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from .runner import EmulatorRunner

__all__ = ["EmulatorServer", "Endpoint", "IoLoop", "PtyEndpoint", "TcpEndpoint"]

_log = logging.getLogger(__name__)

_READ_SIZE = 4096


class IoLoop:
    """One selector and one thread moving the bytes of any number of endpoints.

    An endpoint registers its port's descriptors here with itself as the key's data; the thread
    waits in ``select`` on all of them and a wake-up pipe (no polling), hands a readable port to
    its endpoint, and then lets every endpoint tend its port (a cut to close, a port to bring back
    after a disconnect). The thread starts with the first endpoint and ends with the last.
    Dispatching holds ``_dispatch``: an endpoint removed under it is never called again.

    ``tend`` never waits for ``_dispatch``: it is called by a runner delivering a disconnect (holding
    its deliver lock, which this thread may be waiting for inside a dispatch) and by this thread
    itself inside a dispatch (a firmware that raised). The set of endpoints to tend has a lock of
    its own, ``_tend_lock``, under which nothing else is ever waited for.
    """

    def __init__(self, name: str = "emulator-io") -> None:
        self.name = name
        self._sel = selectors.DefaultSelector()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._sel.register(self._wake_r, selectors.EVENT_READ, None)
        self._endpoints: set[Endpoint] = set()
        self._tending: set[Endpoint] = set()
        """Endpoints with a cut to close or a port to bring back: the only ones tended."""
        self._tend_lock = threading.Lock()
        """Guards ``_tending``; taken last, and nothing is waited for while it is held."""
        self._dispatch = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._released = False

    def add(self, endpoint: Endpoint) -> None:
        with self._dispatch:
            self._endpoints.add(endpoint)
            if self._thread is None:
                self._closed = False
                self._thread = threading.Thread(target=self._serve, name=self.name, daemon=True)
                self._thread.start()
        self.wake()

    def remove(self, endpoint: Endpoint) -> None:
        """Stop serving ``endpoint``; the last one out ends the thread (``add`` starts it again)."""
        with self._dispatch:
            self._endpoints.discard(endpoint)
            with self._tend_lock:
                self._tending.discard(endpoint)
            thread = self._thread if not self._endpoints else None
            if thread is not None:
                self._closed = True
                self._thread = None
        self.wake()
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def close(self) -> None:
        """End the thread and release the selector and the wake-up pipe (after the last ``remove``)."""
        with self._dispatch:
            self._endpoints.clear()
            with self._tend_lock:
                self._tending.clear()
            thread, self._thread = self._thread, None
            self._closed = True
        self.wake()
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        if self._released:
            return
        self._released = True  # never written to again: its number may soon be another file's
        self._sel.close()
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    def register(self, fileobj: Any, endpoint: Endpoint) -> None:
        self._sel.register(fileobj, selectors.EVENT_READ, endpoint)
        self.wake()

    def unregister(self, fileobj: Any) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self._sel.unregister(fileobj)

    def tend(self, endpoint: Endpoint) -> None:
        """``endpoint`` has a cut to close or a port to bring back: tend it until it says it is done
        (from any thread, this loop's own included; one no longer served is dropped unseen)."""
        with self._tend_lock:
            self._tending.add(endpoint)
        self.wake()

    def wake(self) -> None:
        if self._released:
            return
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self._wake_w, b"\0")

    def _serve(self) -> None:
        select = self._sel.select
        endpoints = self._endpoints
        while True:
            timeout_s = None
            if self._tending:  # read bare first: changed under the lock, as read below
                with self._tend_lock:
                    tending = list(self._tending)
                timeout_s = self._tend_timeout_s(tending) if tending else None
            if self._closed:  # set under the lock; seen here or, at the latest, below
                return
            try:
                ready = select(timeout_s)
            except (OSError, ValueError):  # closed under us: the loop is ending
                if self._closed:
                    return
                raise
            with self._dispatch:
                if self._closed:
                    return
                for key, _ in ready:
                    endpoint = key.data
                    if endpoint is None:
                        with contextlib.suppress(BlockingIOError):
                            os.read(self._wake_r, _READ_SIZE)
                    elif endpoint in endpoints:
                        try:
                            endpoint._readable(key)
                        except Exception:  # noqa: BLE001 - as _guarded: that port goes quiet
                            self._stopped(endpoint)
                if self._tending:
                    with self._tend_lock:
                        tending = list(self._tending)
                    for endpoint in tending:
                        if endpoint in endpoints:
                            self._guarded(endpoint, endpoint._tend)
                        with self._tend_lock:
                            # Asked again under the lock: a disconnect that came during _tend
                            # set its state before its tend(), so it is seen or added after.
                            if endpoint not in endpoints or endpoint._next_tend_s() is None:
                                self._tending.discard(endpoint)

    @staticmethod
    def _tend_timeout_s(tending: list[Endpoint]) -> float | None:
        """How long ``select`` may wait before an endpoint must be tended (None: until a port speaks)."""
        due = [t for t in (e._next_tend_s() for e in tending) if t is not None and t != math.inf]
        return max(0.0, min(due) - time.monotonic()) if due else None

    def _guarded(self, endpoint: Endpoint, action: Callable[..., None], *args: Any) -> None:
        try:
            action(*args)
        except Exception:  # noqa: BLE001 - logged; that port then goes quiet as a dead device would
            self._stopped(endpoint)

    def _stopped(self, endpoint: Endpoint) -> None:
        """``endpoint``'s I/O raised (called in the ``except``): logged; the port goes quiet as a
        dead device would."""
        _log.exception("%s %s: its I/O stopped", endpoint.kind, endpoint.url)
        self._endpoints.discard(endpoint)
        with self._tend_lock:
            self._tending.discard(endpoint)
        with endpoint._lock:
            endpoint._close_port()


class Endpoint:
    """A port serving one emulator runner. Subclasses open/close the port and move the bytes.

    Its I/O runs on an :class:`IoLoop`: its own unless one is given (``EmulatorServer`` gives all
    its endpoints one).
    """

    kind = "endpoint"

    def __init__(self, runner: EmulatorRunner[Any], *, on_port: Callable[[str], None] | None = None,
                 loop: IoLoop | None = None) -> None:  # fmt: skip
        self.runner = runner
        self.on_port = on_port
        self._lock = threading.Lock()
        self._owns_loop = loop is None
        self._loop = loop or IoLoop(f"{self.kind}-io")
        self._started = False
        self._stopping = False
        self._cut = False
        self._reopen_at_s: float | None = None
        self._down_s = 0.0
        self.url = ""
        """What a host opens: a pty path or ``socket://HOST:PORT``."""

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> str:
        """Open the port, serve it on the I/O loop and start the runner; returns the URL to open."""
        self._open_port()
        self._loop.add(self)
        self._started = True
        self.runner.start(self)
        return self.url

    def stop(self) -> None:
        self.runner.stop()
        self._stopping = True
        if self._started:
            self._loop.remove(self)
            self._started = False
        with self._lock:
            self._close_port()
        if self._owns_loop:
            self._loop.close()

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
        self._loop.tend(self)

    # --- on the I/O loop's thread ----------------------------------------------------------------

    def _next_tend_s(self) -> float | None:
        """When the loop must call ``_tend`` at the latest (a port to bring back), else None."""
        if self._cut:
            return -math.inf
        return self._reopen_at_s

    def _tend(self) -> None:
        """Close a cut port; bring it back once its down time has passed. Under the lock that
        ``disconnected`` sets the cut and the time to come back under: a disconnect arriving
        meanwhile is seen now or tended after, never lost with the port left closed."""
        if self._stopping:
            return
        with self._lock:
            if self._cut:
                self._close_port()
                self._cut = False
            reopen = self._reopen_at_s is not None and time.monotonic() >= self._reopen_at_s
            if reopen:
                self._reopen_at_s = None
                self._open_port()
        if reopen:
            self._announce()

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
        self._loop.register(fileobj, self)

    def _unregister(self, fileobj: Any) -> None:
        self._loop.unregister(fileobj)


class PtyEndpoint(Endpoint):
    """One emulator on a pseudo-terminal; ``url`` is the slave path (``/dev/pts/N``).

    The server keeps the slave open itself: otherwise, once a host closes it, the master reads
    EIO without end. Bytes the device sends while no host has the port open wait in the tty and
    are dropped when its buffer is full, like a UART with nobody listening; a host discards them
    on open (``SerialTransport`` does).
    """

    kind = "pty"

    def __init__(self, runner: EmulatorRunner[Any], *, link: str | None = None,
                 on_port: Callable[[str], None] | None = None, loop: IoLoop | None = None) -> None:  # fmt: skip
        super().__init__(runner, on_port=on_port, loop=loop)
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
        master = self._master
        if master is None:
            return
        view = memoryview(data)
        while view:
            try:
                n = os.write(master, view)
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
                 on_port: Callable[[str], None] | None = None, loop: IoLoop | None = None) -> None:  # fmt: skip
        super().__init__(runner, on_port=on_port, loop=loop)
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
    """Several emulators served at once, all on one I/O loop; ``start()`` returns their URLs in order.

    Each endpoint's runner keeps a thread of its own for timed work (ramps, the watchdog), asleep
    until a deadline; on an instant line the loop's thread answers commands itself
    (``EmulatorRunner.feed_inline``), so sixty-four idle devices cost one thread that waits.
    """

    def __init__(self) -> None:
        self.endpoints: list[Endpoint] = []
        self.loop = IoLoop("emulator-io")

    def add_pty(self, runner: EmulatorRunner[Any], *, link: str | None = None,
                on_port: Callable[[str], None] | None = None) -> PtyEndpoint:  # fmt: skip
        endpoint = PtyEndpoint(runner, link=link, on_port=on_port, loop=self.loop)
        self.endpoints.append(endpoint)
        return endpoint

    def add_tcp(self, runner: EmulatorRunner[Any], host: str, port: int, *,
                on_port: Callable[[str], None] | None = None) -> TcpEndpoint:  # fmt: skip
        endpoint = TcpEndpoint(runner, host, port, on_port=on_port, loop=self.loop)
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
        self.loop.close()

    def __enter__(self) -> EmulatorServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

"""Who owns a port: one process at a time, named to anyone who asks, and reachable for STOP.

A process that opens a port *claims* it first:

- a lock file per port in the user's runtime folder (``$XDG_RUNTIME_DIR/scsctl``, owner-only),
  keyed by the port as given and by the device it resolves to (``/dev/serial/by-id/...`` and the
  ``/dev/ttyUSB0`` it points at are one port), held with ``flock`` so the kernel lets go when the
  process dies, even by kill -9. The file holds the *holder record*: pid, command, operator,
  since when, and the path of the holder's control endpoint;
- the UUCP lock files other programs take (ser2net, minicom, picocom, cu: ``/var/lock/LCK..NAME``,
  ``uucp_lock.py``) are read for the port as given and the device it resolves to: one naming a live
  process refuses the claim as another scsctl holder does, before the port is opened;
- the serial port itself is opened exclusively where the OS allows it (``SerialTransport``): an
  ``flock`` on the device, which keeps out other scsctl users and the programs that check it, but
  not programs that only take UUCP locks (ser2net does not lock the device itself);
- the claim serves the control endpoint (``control.py``): a second process asks the holder to
  STOP instead of opening the port under it.

Claims are counted per process: the TUI holds its port across reconnects, and a session inside it
takes the same claim again. The in-process emulator (``emu://``) is reached by nobody else and
needs no claim.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import socket
import stat
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..errors import PortBusy, UsageError
from ..units import format_local_time
from .control import ControlServer, StopAnswer
from .uucp_lock import UucpHolder, uucp_holder

__all__ = ["Holder", "PortClaim", "claim_port", "command_line", "port_keys", "runtime_dir", "who_holds"]

_log = logging.getLogger(__name__)

RUNTIME_ENV = "SCSCTL_RUNTIME_DIR"
"""Overrides the runtime folder (tests give each run its own)."""

_IN_PROCESS = ("emu", "loop")
_NETWORK = ("socket", "rfc2217")
_WRAPPERS = ("spy", "alt")

StopHandler = Callable[[Mapping[str, Any]], StopAnswer]
"""Called on the control endpoint's thread with the requester's details; STOPs and answers."""


@dataclass(frozen=True, slots=True)
class Holder:
    """The process that holds a port, as its lock file says."""

    pid: int
    command: str
    operator: str
    since_utc: str
    host: str
    port: str
    control: str

    def describe(self) -> str:
        where = "" if self.host == socket.gethostname() else f" on {self.host}"
        since = format_local_time(self.since_utc)
        return f"pid {self.pid}{where} ({self.command}), operator {self.operator or 'unknown'}, since {since}"

    @classmethod
    def from_json(cls, text: str) -> Holder | None:
        try:
            data = json.loads(text)
            return cls(**{k: data[k] for k in cls.__slots__})
        except (ValueError, TypeError, KeyError):
            return None


def runtime_dir() -> Path:
    """The user's runtime folder for scsctl (owner-only), created when missing.

    ``$SCSCTL_RUNTIME_DIR``, else ``$XDG_RUNTIME_DIR/scsctl``, else ``scsctl-UID`` in the temporary
    folder. A missing one is made, owner-only; an existing one is used only if it is a real folder
    of this user's that nobody else can enter, and is never changed.
    """
    env = os.environ.get(RUNTIME_ENV)
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    candidates = [Path(env)] if env else []
    if not env:
        candidates += [Path(xdg) / "scsctl"] if xdg else []
        candidates += [Path(tempfile.gettempdir()) / f"scsctl-{os.getuid()}"]
    problem = ""
    for folder in candidates:
        try:
            if not folder.exists():
                folder.parent.mkdir(parents=True, exist_ok=True)
                folder.mkdir(mode=0o700)  # ours, made private; an existing folder is never changed
            info = folder.lstat()
        except OSError as err:
            problem = f"{folder}: {err}"
            continue
        if not stat.S_ISDIR(info.st_mode):
            problem = f"{folder} is not a folder"
        elif info.st_uid != os.getuid():
            problem = f"{folder} belongs to another user"
        elif info.st_mode & 0o077:
            problem = f"{folder} is open to other users (mode {info.st_mode & 0o777:o}; make it 700)"
        else:
            return folder
    raise UsageError(f"no private runtime folder for port ownership ({problem}); set ${RUNTIME_ENV} to one")


def port_keys(url: str) -> tuple[str, ...]:
    """The names one port goes by (empty for a port only this process can reach)."""
    text = url.strip()
    scheme, sep, rest = text.partition("://")
    if not sep:
        return _path_keys(text)
    scheme = scheme.lower()
    if scheme in _IN_PROCESS:
        return ()
    if scheme in _WRAPPERS:  # spy:///dev/ttyUSB0?file=... wraps a device path
        return _path_keys(urlsplit(text).path or rest.split("?", 1)[0])
    if scheme in _NETWORK:
        parts = urlsplit(text)
        host = (parts.hostname or "").lower()
        with contextlib.suppress(OSError, UnicodeError):
            host = str(socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)[0][4][0])
        return (f"{scheme}://{host}:{parts.port}",)
    return (text.lower(),)


def _path_keys(path: str) -> tuple[str, ...]:
    given = os.path.abspath(path)
    resolved = os.path.realpath(path)
    return (given,) if given == resolved else (given, resolved)


def _lock_path(folder: Path, key: str, suffix: str) -> Path:
    return folder / f"port-{hashlib.sha256(key.encode()).hexdigest()[:20]}{suffix}"


def _read_holder(fd: int) -> Holder | None:
    for _ in range(20):  # the holder writes its record just after locking: give it a moment
        os.lseek(fd, 0, os.SEEK_SET)
        holder = Holder.from_json(os.read(fd, 65536).decode("utf-8", "replace"))
        if holder is not None:
            return holder
        time.sleep(0.005)
    return None


def _busy(url: str, holder: Holder | None) -> PortBusy:
    who = holder.describe() if holder else "another scsctl process (its record could not be read)"
    return PortBusy(
        f"{url}: the port is held by {who}. Nothing was sent. `scsctl stop --port {url}` stops stimulation "
        "through that session; close it to use the port here",
        port=url,
        holder=holder,
    )


def _in_use(url: str, other: UucpHolder) -> PortBusy:
    return PortBusy(
        f"{url}: the port is in use by {other.describe()}; nothing was sent. Close that program (for a "
        "serial server such as ser2net, its client) to use the port here",
        port=url,
        holder=other,
    )


def who_holds(url: str) -> Holder | None:
    """The process holding ``url`` now, or None when nobody does."""
    keys = port_keys(url)
    if not keys:
        return None
    folder = runtime_dir()
    for key in keys:
        path = _lock_path(folder, key, ".lock")
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return _read_holder(fd) or Holder(0, "unknown", "", "", "", url, "")
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
    return None


class PortClaim:
    """This process's hold on one port. Get one with ``claim_port``; ``release`` it when done."""

    def __init__(self, url: str, keys: tuple[str, ...]) -> None:
        self.url = url
        self.keys = keys
        self.holder: Holder | None = None
        self._fds: list[int] = []
        self._server: ControlServer | None = None
        self._handlers: list[StopHandler] = []
        self._count = 0

    @property
    def control_path(self) -> str:
        return "" if self._server is None else str(self._server.path)

    def serve_stop(self, handler: StopHandler) -> Callable[[], None]:
        """STOPs asked for by other processes go to ``handler``; returns an undo.

        The oldest handler still registered answers: a front end's session (the TUI's STOP line,
        which also shows the STOP) outranks the device sessions it opens inside it.
        """
        with _registry_lock:
            self._handlers.append(handler)

        def undo() -> None:
            with _registry_lock:
                if handler in self._handlers:
                    self._handlers.remove(handler)

        return undo

    def release(self) -> None:
        with _registry_lock:
            self._count -= 1
            if self._count > 0:
                return
            for key in self.keys:
                _claims.pop(key, None)
            server, self._server = self._server, None
            fds, self._fds = self._fds, []
        if server is not None:
            server.close()
        for fd in fds:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)  # the lock file stays (unlinking it races another claimant)
                os.close(fd)

    def _acquire(self, operator: str) -> None:
        folder = runtime_dir()
        try:
            for key in self.keys:
                fd = os.open(_lock_path(folder, key, ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    holder = _read_holder(fd)
                    os.close(fd)
                    raise _busy(self.url, holder) from None
                self._fds.append(fd)
            other = uucp_holder(key for key in self.keys if key.startswith("/"))
            if other is not None:  # a program that is not scsctl (ser2net, minicom, ...) has the port
                raise _in_use(self.url, other)
            server = ControlServer(_lock_path(folder, self.keys[0], ".sock"), self._on_stop)
            try:
                server.start()
                self._server = server
            except OSError as err:  # e.g. a runtime folder path too long for a socket: the lock still holds
                _log.warning("%s: no control endpoint (%s): `scsctl stop` will send STOP itself", self.url, err)
            self.holder = Holder(
                pid=os.getpid(),
                command=command_line(),
                operator=operator,
                since_utc=datetime.now(UTC).isoformat(timespec="seconds"),
                host=socket.gethostname(),
                port=self.url,
                control=self.control_path,
            )
            record = json.dumps(asdict(self.holder)).encode()
            for fd in self._fds:
                os.ftruncate(fd, 0)
                os.pwrite(fd, record, 0)
        except BaseException:
            self._count = 1
            self.release()
            raise

    def _on_stop(self, request: Mapping[str, Any]) -> StopAnswer:
        with _registry_lock:
            handler = self._handlers[0] if self._handlers else None
        if handler is None:
            return StopAnswer(False, "the holder has no session open on the port right now")
        return handler(request)


_registry_lock = threading.RLock()
_claims: dict[str, PortClaim] = {}


def claim_port(url: str, *, operator: str = "") -> PortClaim:
    """Claim ``url`` for this process (again, if it holds it already). Raises ``PortBusy`` naming the holder."""
    keys = port_keys(url)
    with _registry_lock:
        held = next((_claims[k] for k in keys if k in _claims), None)
        if held is not None or not keys:
            claim = held or PortClaim(url, ())
            claim._count += 1
            return claim
        claim = PortClaim(url, keys)
        claim._acquire(operator)
        claim._count = 1
        for key in keys:
            _claims[key] = claim
        return claim


def command_line() -> str:
    """This process's command line, short, for other processes to read (holder records, STOP requests)."""
    words = [os.path.basename(sys.argv[0]) if sys.argv else "python", *sys.argv[1:]]
    text = " ".join(words)
    return text if len(text) <= 120 else text[:117] + "..."

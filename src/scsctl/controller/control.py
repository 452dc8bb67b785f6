"""The port holder's control endpoint: how STOP reaches a device from any terminal.

A Unix socket beside the holder's lock file, in the user's runtime folder (the folder is
owner-only, the socket too, and the peer's user id is checked: only the same user or root is
served). One request per connection, one JSON object per line::

    -> {"op": "stop", "pid": 4242, "operator": "ana", "command": "scsctl stop --port ..."}
    <- {"accepted": true, "pid": 1234}                      at once, before anything is sent
    <- {"confirmed": true, "after_ms": 3.2}                 once the device confirmed (or the error)

The holder sends STOP ahead of all its traffic (``Link.stop``) and records it with who asked.
``ask_to_stop`` is the other side: it gives the holder ``accept_timeout_s`` (200 ms) to accept;
a holder that does not accept in time is treated as gone, and the caller sends STOP itself.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import struct
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["ACCEPT_TIMEOUT_S", "ControlServer", "OwnerAnswer", "StopAnswer", "ask_to_stop"]

ACCEPT_TIMEOUT_S = 0.2
"""How long a holder has to accept a STOP request before the asker sends STOP itself."""

_ANSWER_TIMEOUT_S = 5.0
_MAX_LINE = 4096


@dataclass(frozen=True, slots=True)
class StopAnswer:
    """What the holder's STOP did: ``confirmed`` by the device, or ``error`` in words."""

    confirmed: bool
    error: str = ""
    after_ms: float = 0.0


@dataclass(frozen=True, slots=True)
class OwnerAnswer:
    """The holder's answer as the asker sees it."""

    pid: int
    confirmed: bool
    error: str
    after_ms: float


class ControlServer:
    """Serves STOP requests for one claimed port on a thread of its own."""

    def __init__(self, path: Path, on_stop: Callable[[Mapping[str, Any]], StopAnswer]) -> None:
        self.path = path
        self._on_stop = on_stop
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._closing = False

    def start(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()  # a socket left by a holder that died (its lock is free, or we'd not be here)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(str(self.path))
            os.chmod(self.path, 0o600)
            sock.listen(16)
        except OSError:
            sock.close()
            raise
        self._sock = sock
        self._thread = threading.Thread(target=self._serve, name=f"scsctl-control {self.path.name}", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._closing = True
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        with contextlib.suppress(OSError):
            self.path.unlink()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=1.0)

    def _serve(self) -> None:
        while not self._closing:
            sock = self._sock
            if sock is None:
                return
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), name="scsctl-control-request", daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.settimeout(1.0)
                if not _same_user(conn):
                    _send(conn, {"accepted": False, "error": "refused: another user"})
                    return
                request = _read_line(conn)
                if request.get("op") != "stop":
                    _send(conn, {"accepted": False, "error": f"unknown request {request.get('op')!r}"})
                    return
                _send(conn, {"accepted": True, "pid": os.getpid()})
                answer = self._on_stop(request)
                _send(conn, {"confirmed": answer.confirmed, "error": answer.error, "after_ms": answer.after_ms})
            except (OSError, ValueError):
                return  # the asker went away or sent nonsense: it sends STOP itself


def _same_user(conn: socket.socket) -> bool:
    """The peer runs as this user or as root (SO_PEERCRED; elsewhere the folder's mode decides)."""
    if not hasattr(socket, "SO_PEERCRED"):
        return True
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return uid in (os.getuid(), 0)


def _send(conn: socket.socket, data: Mapping[str, Any]) -> None:
    conn.sendall(json.dumps(data).encode() + b"\n")


def _read_line(conn: socket.socket) -> dict[str, Any]:
    buf = bytearray()
    while b"\n" not in buf:
        chunk = conn.recv(_MAX_LINE)
        if not chunk:
            break
        buf += chunk
        if len(buf) > _MAX_LINE:
            raise ValueError("request too long")
    data = json.loads(bytes(buf).split(b"\n", 1)[0] or b"{}")
    if not isinstance(data, dict):
        raise ValueError("a request is a JSON object")
    return data


def ask_to_stop(
    path: str, requester: Mapping[str, Any], *, accept_timeout_s: float = ACCEPT_TIMEOUT_S
) -> OwnerAnswer | None:
    """Ask the holder at ``path`` to STOP; None when it did not accept within ``accept_timeout_s``."""
    if not path:
        return None
    deadline = time.monotonic() + accept_timeout_s
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(accept_timeout_s)
            conn.connect(path)
            conn.sendall(json.dumps({"op": "stop", **requester}).encode() + b"\n")
            reader = conn.makefile("rb")
            conn.settimeout(max(0.001, deadline - time.monotonic()))
            accepted = json.loads(reader.readline() or b"{}")
            if not accepted.get("accepted"):
                return None
            conn.settimeout(_ANSWER_TIMEOUT_S)
            answer = json.loads(reader.readline() or b"{}")
    except (OSError, ValueError):
        return None
    if "confirmed" not in answer:
        return OwnerAnswer(int(accepted.get("pid", 0)), False, "the holder went away before answering", 0.0)
    return OwnerAnswer(
        int(accepted.get("pid", 0)), bool(answer["confirmed"]), str(answer.get("error", "")),
        float(answer.get("after_ms", 0.0)),
    )  # fmt: skip

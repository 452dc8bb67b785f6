"""UUCP lock files: how programs other than scsctl (ser2net, minicom, picocom, cu) say they hold a port.

Those programs do not take scsctl's lock (``ownership.py``) and mostly do not lock the device itself
either: before opening a serial device they create ``LCK..NAME`` in ``/var/lock`` (or ``/run/lock``)
holding their pid, as ASCII (usually padded to 10 characters and ending in a newline) or, in old
programs, as a 4-byte binary int. The NAME depends on the program:

- ser2net 4 (through gensio): the device path without a leading ``/dev/``, every further ``/`` made
  ``_``: ``/dev/ttyUSB0`` -> ``LCK..ttyUSB0``, ``/tmp/walk-dev`` -> ``LCK.._tmp_walk-dev``,
  ``/dev/serial/by-id/x`` -> ``LCK..serial_by-id_x``; newer gensio also links ``LCK.MMM.mmm``
  (the device's major and minor numbers, SVR4 style);
- minicom, picocom, cu and lockdev: the last part of the path, ``LCK..ttyUSB0``.

scsctl only *reads* them: a lock naming a live process other than this one means the port is in
use. A stale lock (its process gone, or contents that name no process) is no reason to refuse.
scsctl does not write UUCP locks itself (that needs write access to the lock folder, often root or
the ``lock``/``uucp`` group); its own holder record and ``flock`` keep other scsctl processes out.
"""

from __future__ import annotations

import logging
import os
import stat
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["LOCK_DIRS", "UucpHolder", "lock_names", "uucp_holder"]

_log = logging.getLogger(__name__)

LOCK_DIRS: tuple[str, ...] = ("/var/lock", "/run/lock")
"""The folders UUCP locks are looked for in (those that exist; one is often a link to the other)."""

_DEV = "/dev/"


@dataclass(frozen=True, slots=True)
class UucpHolder:
    """A live process named by a UUCP lock file."""

    pid: int
    program: str
    lock: str

    def describe(self) -> str:
        return f"{self.program or 'another program'} (pid {self.pid}, lock {self.lock})"


def lock_names(path: str) -> tuple[str, ...]:
    """The UUCP lock file names the programs that lock ``path`` would use for it."""
    names: list[str] = []
    inside = path[len(_DEV) :] if path.startswith(_DEV) else path
    for name in (inside.replace("/", "_"), os.path.basename(path)):  # ser2net/gensio; minicom, picocom, cu
        if name and f"LCK..{name}" not in names:
            names.append(f"LCK..{name}")
    try:
        info = os.stat(path)
    except OSError:
        return tuple(names)
    if stat.S_ISCHR(info.st_mode):  # SVR4 style, which newer gensio links too
        names.append(f"LCK.{os.major(info.st_rdev):03d}.{os.minor(info.st_rdev):03d}")
    return tuple(names)


def _lock_folders(dirs: Iterable[str]) -> list[str]:
    folders: list[str] = []
    seen: set[str] = set()
    for folder in dirs:
        real = os.path.realpath(folder)
        if real not in seen and os.path.isdir(real):
            seen.add(real)
            folders.append(folder)
    return folders


def _pid_in(path: str) -> int | None:
    """The pid a lock file names, or None when it names none (missing, unreadable, garbage)."""
    try:
        with open(path, "rb") as f:
            data = f.read(64)
    except OSError:
        return None
    if len(data) == 4 and not data.strip(b"0123456789 \n"):
        pass  # four ASCII digits ("1234"), not a binary pid
    elif len(data) == 4:
        return int(struct.unpack("=i", data)[0])
    try:
        return int(data.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    except OSError:
        return False
    return True


def _program(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm", encoding="utf-8", errors="replace") as f:
            return f.read().strip()
    except OSError:
        return ""


def uucp_holder(paths: Iterable[str], dirs: Sequence[str] | None = None) -> UucpHolder | None:
    """The live process (not this one) a UUCP lock names for any of ``paths``, or None."""
    folders = _lock_folders(LOCK_DIRS if dirs is None else dirs)
    names: list[str] = []
    for path in paths:
        names += [n for n in lock_names(path) if n not in names]
    for folder in folders:
        for name in names:
            lock = os.path.join(folder, name)
            if not os.path.lexists(lock):
                continue
            pid = _pid_in(lock)
            if pid is None or pid <= 0:
                _log.debug("%s names no process: a stale lock, not in the way", lock)
                continue
            if pid == os.getpid():
                continue
            if not _alive(pid):
                _log.debug("%s names pid %d, which is gone: a stale lock, not in the way", lock, pid)
                continue
            return UucpHolder(pid, _program(pid), lock)
    return None

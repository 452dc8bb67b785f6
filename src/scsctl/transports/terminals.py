"""Whether a terminal device is some process's controlling terminal (a shell's, a login's).

Such a port is not a device, whatever path led to it: a pseudo-terminal an emulator served and
whose ``--link`` symlink outlived it may now be the terminal window someone opened next (it got
the freed number), and a UART with a getty on it is a login prompt. Frames written there would
appear on that screen or reach that shell. Linux only (``/proc``); elsewhere nothing is found.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = ["terminal_user"]

_PROC = Path("/proc")


def terminal_user(path: str) -> tuple[int, str] | None:
    """(pid, program) of a process whose controlling terminal is the device ``path`` leads to;
    None when there is none, or it cannot be told (not a character device, no ``/proc``)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISCHR(st.st_mode) or not _PROC.is_dir():
        return None
    wanted = (os.major(st.st_rdev), os.minor(st.st_rdev))
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            line = (entry / "stat").read_text(encoding="ascii", errors="replace")
        except OSError:  # gone meanwhile, or not ours to read
            continue
        name_end = line.rfind(")")
        fields = line[name_end + 2 :].split()
        if name_end < 0 or len(fields) < 5:
            continue
        tty_nr = int(fields[4])  # state, ppid, pgrp, session, tty_nr (proc(5))
        if tty_nr and ((tty_nr >> 8) & 0xFFF, (tty_nr & 0xFF) | ((tty_nr >> 12) & 0xFFF00)) == wanted:
            return int(entry.name), line[line.find("(") + 1 : name_end]
    return None

"""A port that is someone's terminal (a shell's, a login's) is refused before anything is sent."""

from __future__ import annotations

import os
import pty
import signal
import sys
from pathlib import Path

import pytest

from scsctl.errors import NotADevice
from scsctl.transports.serial_port import SerialTransport

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc (Linux)")


def test_a_link_left_pointing_at_a_shells_terminal_is_refused_and_nothing_is_sent(tmp_path: Path) -> None:
    pid, master = pty.fork()  # the child's controlling terminal is the new pty, as a terminal window's shell
    if pid == 0:
        os.execvp("sh", ["sh", "-c", "tty; exec sleep 60"])
    try:
        said = b""
        while not said.endswith(b"\n"):
            said += os.read(master, 256)
        terminal = said.decode().strip()
        assert terminal.startswith("/dev/pts/")
        link = tmp_path / "scs-dev"
        link.symlink_to(terminal)  # what an emulator's --link left behind would now lead to
        with pytest.raises(NotADevice) as refused:
            SerialTransport(str(link)).open()
        message = str(refused.value)
        assert f"{terminal} is the terminal of " in message and f"(pid {pid}), not a device" in message
        assert "nothing was sent" in message
        os.set_blocking(master, False)
        with pytest.raises(BlockingIOError):
            os.read(master, 256)  # the shell's screen got nothing
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(master)


def test_a_pty_nobody_has_as_a_terminal_opens() -> None:
    master, slave = pty.openpty()  # as an emulator serves one
    try:
        port = SerialTransport(os.ttyname(slave), exclusive=False)
        port.open()
        port.close()
    finally:
        os.close(master)
        os.close(slave)

"""A technician's session in a real terminal: ``scsctl tui`` on the built-in emulator in a tmux
window of 80x24, driven only by keys (``tmux send-keys``) and read only from the screen
(``tmux capture-pane``), then checked against the audit log (``scsctl log show --json``).

Set up a program (electrodes 1+ 2-), save it, check impedance, start it, raise the amplitude live,
commit it, stop, start again, stop. The data, runtime and configuration folders are the test's own,
and so is the tmux server (its socket in a folder of its own), so nothing of the user's is read or
touched. Each step waits for what the screen must show, polling with a deadline; no sleep is an
assertion.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ...system_tools import require_program

SIZE = (80, 24)
WAIT_S = 30.0
"""The longest one step may take to show (the TUI starts a Python interpreter and Textual)."""


class Terminal:
    """One tmux window running one command, on a tmux server of its own."""

    def __init__(self, tmux: str, socket: Path, command: list[str], env: dict[str, str]) -> None:
        self.tmux, self.socket, self.target = tmux, socket, "walk"
        width, height = SIZE
        setting = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        shell = f"env {setting} {shlex.join(command)}; echo '[exited' $?']'; sleep 600"
        self._run("new-session", "-d", "-s", self.target, "-x", str(width), "-y", str(height), shell)

    def _run(self, *args: str) -> str:
        done = subprocess.run([self.tmux, "-S", str(self.socket), "-f", os.devnull, *args],
                              capture_output=True, text=True, timeout=30, check=True)  # fmt: skip
        return done.stdout

    def keys(self, *keys: str) -> None:
        """Press ``keys`` (tmux key names: ``Enter``, ``Up``, ``F2``, ``C-q``; others typed as they are)."""
        for key in keys:
            if len(key) == 1:
                self._run("send-keys", "-t", self.target, "-l", key)
            else:
                self._run("send-keys", "-t", self.target, key)

    def screen(self) -> str:
        return self._run("capture-pane", "-p", "-t", self.target)

    def wait_for(self, *texts: str, gone: str = "") -> str:
        """The screen once it shows every one of ``texts`` (and no longer ``gone``); fails after ``WAIT_S``."""
        deadline = time.monotonic() + WAIT_S
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            flat = " ".join(screen.split())  # a phrase may wrap at the edge of a panel
            if all(" ".join(t.split()) in flat for t in texts) and not (gone and gone in screen):
                return screen
            time.sleep(0.1)
        raise AssertionError(f"the screen never showed {texts!r}" + (f" without {gone!r}" if gone else "")
                             + f"; it shows:\n{screen}")  # fmt: skip

    def close(self) -> None:
        subprocess.run([self.tmux, "-S", str(self.socket), "kill-server"], capture_output=True, timeout=30)


@pytest.fixture
def folders(tmp_path: Path) -> dict[str, Path]:
    made = {name: tmp_path / name for name in ("data", "runtime", "config", "cache", "home")}
    for path in made.values():
        path.mkdir(mode=0o700)
    return made


@pytest.fixture
def env(folders: dict[str, Path]) -> dict[str, str]:
    """What scsctl reads of its environment, every folder the test's own."""
    return {
        "SCSCTL_DATA_DIR": str(folders["data"]),
        "SCSCTL_RUNTIME_DIR": str(folders["runtime"]),
        "SCSCTL_CACHE_DIR": str(folders["cache"]),
        "XDG_CONFIG_HOME": str(folders["config"]),
        "XDG_DATA_HOME": str(folders["data"]),
        "HOME": str(folders["home"]),
        "TERM": "xterm-256color",
        "SCSCTL_OPERATOR": "tech-walk",
    }


@pytest.fixture
def terminal(env: dict[str, str]) -> Iterator[Terminal]:
    tmux = require_program("tmux")
    # A socket path must be short (about 100 bytes): not in pytest's long tmp_path.
    folder = Path(tempfile.mkdtemp(prefix="scs-tmux-"))
    term = Terminal(tmux, folder / "sock", [sys.executable, "-m", "scsctl", "tui"], env)
    try:
        yield term
    finally:
        term.close()
        shutil.rmtree(folder, ignore_errors=True)


def audit_names(env: dict[str, str]) -> list[tuple[str, str, dict[str, object]]]:
    """(kind, name, detail) of every audit record, oldest first, as ``scsctl log show --json`` lists them."""
    done = subprocess.run([sys.executable, "-m", "scsctl", "log", "show", "--json"], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=60, check=True)  # fmt: skip
    return [(r["kind"], r["name"], r["detail"]) for r in json.loads(done.stdout)]


def test_a_technician_sets_up_starts_raises_commits_restarts_and_stops(terminal: Terminal, env: dict[str, str]) -> None:
    t = terminal
    t.wait_for("EMULATOR", "slot 0 holds no program", "F2 ■ STOP")

    # Electrodes: contact 1 anode, contact 2 cathode; the draft becomes valid; save it.
    t.keys("e", "+")
    t.wait_for("+100")
    t.keys("Right", "-")
    t.wait_for("-100", "✓ valid")
    t.keys("s")
    t.wait_for("Slot 0 written and read back: 1+ 2-, 0.0 mA")

    # This model starts only after a fresh impedance check.
    t.keys("m")
    t.wait_for("Impedance measured")
    t.keys("1")

    # Start: the dialog asks first; Enter confirms.
    t.keys("g")
    t.wait_for("Start stimulation with slot 0?", "Start (Enter)")
    t.keys("Enter")
    t.wait_for("Stimulating at 0.0 mA: ramp complete")  # the dialog follows the start, then closes
    t.keys("Escape")
    t.wait_for("STIMULATING", "slot 0")

    # Raise the amplitude live, five steps of 0.1 mA: tentative until committed.
    t.keys("a")
    for tenth in range(1, 6):
        t.keys("Up")
        t.wait_for(f"set-point 0.{tenth} mA")
    t.wait_for("TENTATIVE")
    t.keys("c")
    t.wait_for("Committed 0.5 mA to slot 0")

    # Stop, acknowledge the STOP message, start again at the committed amplitude.
    t.keys("F2")
    t.wait_for("STOPPED")
    t.keys("k")
    t.wait_for("Start slot 0", gone="STOPPED")
    t.keys("g")
    t.wait_for("Start stimulation with slot 0?", "0.5 mA")
    t.keys("Enter")
    t.wait_for("Stimulating at 0.5 mA: ramp complete")
    t.keys("Escape")
    t.wait_for("STIMULATING", "set-point 0.5 mA")

    # Stop for good, and leave.
    t.keys("F2")
    t.wait_for("STOPPED")
    t.keys("k", "C-q")
    t.wait_for("[exited 0]")

    records = audit_names(env)
    # A commit is SET_AMPLITUDE with its commit flag (the running program takes the amplitude).
    commands = [
        "COMMIT" if name == "SET_AMPLITUDE" and detail.get("commit") else name
        for kind, name, detail in records
        if kind == "command"
    ]
    # In order: the program written, started, raised, committed, stopped, started again, stopped.
    wanted = ["SET_PROGRAM", "START", "SET_AMPLITUDE", "COMMIT", "STOP", "START", "STOP"]
    seen = iter(commands)
    assert all(name in seen for name in wanted), commands
    assert (commands.count("START"), commands.count("COMMIT"), commands.count("STOP")) == (2, 1, 2), commands
    raised = [d.get("after_ua") for kind, name, d in records if kind == "command" and name == "SET_AMPLITUDE"]
    assert raised == [100, 200, 300, 400, 500, 500], raised  # five steps up, then 0.5 mA committed

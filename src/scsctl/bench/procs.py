"""Child processes the benchmark talks to: emulators and the echo peer, each on its own pty.

Every child prints ``port: PATH`` as its first line (as ``scsctl emulator --pty`` does); further
lines (the monitored emulator's output events) are queued for the caller. A child whose stdin
closes exits, so a benchmark killed outright leaves none behind; ``close()`` ends it by its own
process id (SIGTERM, then SIGKILL after a grace period), never by name.
"""

from __future__ import annotations

import contextlib
import os
import queue
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Self

from ..errors import ScsError

START_TIMEOUT_S = 30.0
"""Generous: sixteen Python processes starting at once on two cores take several seconds."""


def child_env(bytecode_dir: Path) -> dict[str, str]:
    """This environment, with bytecode cached in ``bytecode_dir`` (never in the source tree).

    A checkout run with ``PYTHONDONTWRITEBYTECODE`` set compiles every module in every new process:
    sixteen emulators starting at once would spend seconds compiling, which an installed scsctl
    (compiled at install) never does.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(bytecode_dir)
    return env


def python_module(module: str, *args: str) -> list[str]:
    """The command line that runs ``module`` with this interpreter."""
    return [sys.executable, "-m", module, *args]


def scsctl_command(*args: str) -> list[str]:
    """``scsctl ARGS`` as a user runs it: the installed script beside this interpreter if present."""
    script = Path(sys.executable).parent / "scsctl"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script), *args]
    return python_module("scsctl.cli.main", *args)


class ChildProcess:
    """One child process serving a pty; ``port`` is its path once ``start()`` returned."""

    def __init__(self, argv: list[str], *, name: str, env: Mapping[str, str] | None = None) -> None:
        self.argv = argv
        self.name = name
        self.env = env
        self.port = ""
        self.lines: queue.Queue[str] = queue.Queue()
        self._proc: subprocess.Popen[str] | None = None
        self._stderr: IO[str] | None = None
        self._reader: threading.Thread | None = None

    @property
    def pid(self) -> int:
        return self._proc.pid if self._proc is not None else 0

    def start(self) -> str:
        """Start the child and wait for its port."""
        self.spawn()
        return self.wait_port()

    def spawn(self) -> None:
        """Start the child without waiting for it (several start in parallel this way)."""
        # Kept open for the child's life (closed in close()), read only when it fails to start.
        self._stderr = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115
        self._proc = subprocess.Popen(
            self.argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            bufsize=1,
            env=self.env,
        )
        self._reader = threading.Thread(target=self._read, name=f"bench-{self.name}-stdout", daemon=True)
        self._reader.start()

    def wait_port(self) -> str:
        try:
            first = self.lines.get(timeout=START_TIMEOUT_S)
        except queue.Empty:
            first = ""
        if not first.startswith("port: "):
            raise ScsError(f"{self.name} did not start ({' '.join(self.argv)}): {first.strip()} {self._errors()}")
        self.port = first.removeprefix("port: ").strip()
        return self.port

    def wait_ports(self, count: int) -> list[str]:
        """Start the child, then its ``count`` ports, one ``port: PATH`` line each, in order."""
        self.spawn()
        ports = [self.wait_port()]
        while len(ports) < count:
            ports.append(self.wait_port())
        return ports

    def _read(self) -> None:
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        for line in proc.stdout:
            self.lines.put(line)
        self.lines.put("")  # end of output: the child has gone

    def _errors(self) -> str:
        if self._stderr is None:
            return ""
        with contextlib.suppress(OSError, ValueError):
            self._stderr.seek(0)
            return self._stderr.read()[-2000:].strip()
        return ""

    def rss_kb(self) -> int:
        """The child's resident memory now (Linux /proc), 0 where that cannot be read."""
        return rss_kb(self.pid)

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            with contextlib.suppress(OSError):
                if proc.stdin is not None:
                    proc.stdin.close()
            if proc.poll() is None:
                proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
            if proc.stdout is not None:
                with contextlib.suppress(OSError):
                    proc.stdout.close()
        if self._reader is not None:
            self._reader.join(timeout=2)
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def emulator_process(env: Mapping[str, str] | None = None, model: str | None = None) -> ChildProcess:
    """``scsctl emulator --pty``: the emulator exactly as a user serves it (``model``: its default)."""
    argv = python_module("scsctl.cli.main", "emulator", "--pty", *(("--model", model) if model else ()))
    return ChildProcess(argv, name="emulator", env=env)


def monitored_emulator_process(env: Mapping[str, str] | None = None, model: str | None = None,
                               baud: int | None = None) -> ChildProcess:  # fmt: skip
    """The same emulator, also reporting each on/off change of its output on stdout (``baud``: a
    simulated line of that speed, else an instant one)."""
    args = [*(("--model", model) if model else ()), *(("--baud", str(baud)) if baud else ())]
    return ChildProcess(python_module("scsctl.bench.monitored_emulator", *args), name="monitored emulator", env=env)


def emulators_process(count: int, env: Mapping[str, str] | None = None) -> ChildProcess:
    """``scsctl emulator --pty --count N``: N devices in one process; ``wait_ports(N)`` gives their paths."""
    return ChildProcess(python_module("scsctl.cli.main", "emulator", "--pty", "--count", str(count)),
                        name=f"{count} emulators", env=env)  # fmt: skip


def echo_process(env: Mapping[str, str] | None = None) -> ChildProcess:
    """The raw echo peer (:mod:`scsctl.bench.echo`)."""
    return ChildProcess(python_module("scsctl.bench.echo"), name="echo peer", env=env)


def minimal_device_process(env: Mapping[str, str] | None = None) -> ChildProcess:
    """The device that answers a status read with next to no work (:mod:`scsctl.bench.minimal_device`)."""
    return ChildProcess(python_module("scsctl.bench.minimal_device"), name="minimal device", env=env)


WARM_MODULES = ("scsctl.cli.main", "scsctl.emulator.server", "scsctl.emulator.firmware",
                "scsctl.bench.monitored_emulator", "scsctl.bench.echo", "scsctl.bench.minimal_device")  # fmt: skip


def warm_bytecode(env: Mapping[str, str]) -> None:
    """Compile what the child processes import, once, into ``env``'s bytecode cache."""
    code = "import " + ", ".join(WARM_MODULES)
    subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True)


def start_all(children: list[ChildProcess]) -> list[str]:
    """Start every child at once (they start in parallel), then wait for each port."""
    started: list[ChildProcess] = []
    try:
        for child in children:
            child.spawn()
            started.append(child)
        return [child.wait_port() for child in children]
    except BaseException:
        for child in started:
            child.close()
        raise


def rss_kb(pid: int | None = None) -> int:
    """Resident set size in KiB of ``pid`` (default: this process), from /proc; 0 if unreadable."""
    path = f"/proc/{pid or 'self'}/status"
    try:
        with open(path, encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return 0
    return 0

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest


def _emulator_process(*serve: str) -> Iterator[str]:
    """``scsctl emulator ...`` in another process, as a user runs it in a second terminal; yields its port."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "scsctl.cli.main", "emulator", *serve],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert first.startswith("port: "), first + (proc.stderr.read() if proc.stderr else "")
    yield first.removeprefix("port: ").strip()
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="module")
def pty_emulator() -> Iterator[str]:
    """``scsctl emulator --pty`` in another process: a pseudo-terminal path."""
    yield from _emulator_process("--pty")


@pytest.fixture(scope="module")
def tcp_emulator() -> Iterator[str]:
    """``scsctl emulator --tcp 127.0.0.1:0`` in another process: ``socket://127.0.0.1:PORT``."""
    yield from _emulator_process("--tcp", "127.0.0.1:0")

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="module")
def pty_emulator() -> Iterator[str]:
    """``scsctl emulator --pty`` in another process, as a user runs it in a second terminal."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "scsctl.cli.main", "emulator", "--pty"],
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

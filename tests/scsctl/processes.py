"""Processes the tests start as a user would start them in another terminal."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator


def serving_process(*argv: str) -> Iterator[str]:
    """A process that prints ``port: URL`` first and serves until terminated; yields the URL."""
    proc = subprocess.Popen(
        list(argv),
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

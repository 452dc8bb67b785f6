"""Processes the tests start as a user would start them in another terminal."""

from __future__ import annotations

import socket
import subprocess
import time
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


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_listening(port: int, proc: subprocess.Popen[str]) -> None:
    """Until ``proc`` (a server just started) accepts connections on 127.0.0.1:``port``."""
    for _ in range(500):
        assert proc.poll() is None, proc.communicate()
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.01)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port}")

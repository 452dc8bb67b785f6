from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from .processes import serving_process


def _emulator_process(*serve: str) -> Iterator[str]:
    """``scsctl emulator ...`` in another process, as a user runs it in a second terminal; yields its port."""
    yield from serving_process(sys.executable, "-m", "scsctl.cli.main", "emulator", *serve)


@pytest.fixture(scope="module")
def pty_emulator() -> Iterator[str]:
    """``scsctl emulator --pty`` in another process: a pseudo-terminal path."""
    yield from _emulator_process("--pty")


@pytest.fixture(scope="module")
def tcp_emulator() -> Iterator[str]:
    """``scsctl emulator --tcp 127.0.0.1:0`` in another process: ``socket://127.0.0.1:PORT``."""
    yield from _emulator_process("--tcp", "127.0.0.1:0")

"""Serial servers in front of the emulator, each a real process on 127.0.0.1: pyserial's RFC 2217
server and ser2net (Debian's package)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from ...system_tools import require_program
from ..processes import free_port, serving_process, wait_listening


@pytest.fixture(scope="module")
def rfc2217_server(pty_emulator: str) -> Iterator[str]:
    """pyserial's RFC 2217 server in front of the pty emulator: ``rfc2217://127.0.0.1:PORT``."""
    yield from serving_process(sys.executable, "-m", "scsctl.bench.rfc2217_server", pty_emulator)


@pytest.fixture(scope="module")
def ser2net(pty_emulator: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """ser2net in front of the pty emulator: {"raw": "socket://...", "rfc2217": "rfc2217://..."}."""
    binary = require_program("ser2net")
    raw, telnet = free_port(), free_port()
    config = tmp_path_factory.mktemp("ser2net") / "ser2net.yaml"
    config.write_text(
        "%YAML 1.1\n---\n"
        f"connection: &scs-raw\n    accepter: tcp,127.0.0.1,{raw}\n"
        f"    connector: serialdev,{pty_emulator},115200n81,local\n"
        "    options:\n      kickolduser: false\n"
        f"connection: &scs-rfc2217\n    accepter: telnet(rfc2217),tcp,127.0.0.1,{telnet}\n"
        f"    connector: serialdev,{pty_emulator},115200n81,local\n",
        encoding="ascii",
    )
    proc = subprocess.Popen([binary, "-n", "-d", "-c", str(config)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        wait_listening(raw, proc)
        wait_listening(telnet, proc)
        yield {"raw": f"socket://127.0.0.1:{raw}", "rfc2217": f"rfc2217://127.0.0.1:{telnet}"}
    finally:
        proc.terminate()
        proc.wait(timeout=10)

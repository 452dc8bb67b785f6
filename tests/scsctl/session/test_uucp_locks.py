"""A port another program holds by a UUCP lock (ser2net, minicom, picocom, cu) is refused as a port
another scsctl holds, before it is opened: nothing reaches the line that program shares.

The first test runs it all for real: ``scsctl emulator --pty --link``, ser2net serving that link on
127.0.0.1 (telnet with RFC 2217), a remote session through ser2net and ``scsctl status`` on the
link as a second terminal runs it. The others point the lock folders at a temporary one.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import scsctl
from scsctl.controller import ownership, uucp_lock
from scsctl.controller.ownership import claim_port
from scsctl.errors import PortBusy
from scsctl.link.session import LinkStateChange, LinkStatus

from ...system_tools import require_program
from ..processes import free_port, serving_process, wait_listening


@pytest.fixture
def linked_emulator(tmp_path: Path) -> Iterator[str]:
    """``scsctl emulator --pty --link PATH`` in another process; yields the link's path."""
    link = tmp_path / "walk-dev"
    for _ in serving_process(sys.executable, "-m", "scsctl.cli.main", "emulator", "--pty", "--link", str(link)):
        yield str(link)


@pytest.fixture
def ser2net_on_link(linked_emulator: str, tmp_path: Path) -> Iterator[str]:
    """ser2net serving the emulator's link as telnet with RFC 2217: ``rfc2217://127.0.0.1:PORT``."""
    binary = require_program("ser2net")
    if not any(os.path.isdir(d) and os.access(d, os.W_OK) for d in uucp_lock.LOCK_DIRS):
        pytest.skip(f"ser2net can take its UUCP lock only in a writable lock folder ({', '.join(uucp_lock.LOCK_DIRS)})")
    port = free_port()
    config = tmp_path / "ser2net.yaml"
    config.write_text(
        "%YAML 1.1\n---\n"
        f"connection: &walk\n    accepter: telnet(rfc2217),tcp,127.0.0.1,{port}\n"
        f"    connector: serialdev,{linked_emulator},115200n81,local\n",
        encoding="ascii",
    )
    proc = subprocess.Popen([binary, "-n", "-d", "-c", str(config)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        wait_listening(port, proc)
        yield f"rfc2217://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_pty_ser2net_serves_is_refused_naming_ser2net_and_nothing_reaches_the_line(
    linked_emulator: str, ser2net_on_link: str, tmp_path: Path
) -> None:
    remote_log, local_log = tmp_path / "remote", tmp_path / "local"
    losses: list[str] = []
    with scsctl.connect(ser2net_on_link, data_dir=remote_log) as remote:  # ser2net opens the port: its lock
        remote.link.subscribe(lambda e: losses.append(e.reason) if isinstance(e, LinkStateChange)
                              and e.status is LinkStatus.LOST else None)  # fmt: skip
        locks = [os.path.join(d, "LCK.." + linked_emulator.replace("/", "_")) for d in uucp_lock.LOCK_DIRS]
        assert any(os.path.exists(lock) for lock in locks), "ser2net took no UUCP lock"
        stray_before = remote.link.stats.stray_replies
        argv = ["status", "--port", linked_emulator, "--data-dir", str(local_log)]
        done = subprocess.run([sys.executable, "-m", "scsctl.cli.main", *argv], capture_output=True, text=True,
                              timeout=60)  # fmt: skip
        assert done.returncode == 5, done.stderr
        assert "in use by ser2net (pid " in done.stderr
        assert "LCK.." + linked_emulator.replace("/", "_") in done.stderr
        assert "nothing was sent" in done.stderr
        assert "vanished" not in done.stderr
        # A round trip from the remote side: any reply the local command had caused would have been
        # read by ser2net before this one, and counted as stray.
        remote.status()
        assert remote.link.stats.stray_replies == stray_before
        assert losses == []


@pytest.fixture
def lock_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "lock"
    folder.mkdir()
    monkeypatch.setattr(uucp_lock, "LOCK_DIRS", (str(folder), str(tmp_path / "no-such-lock-folder")))
    return folder


@pytest.fixture
def sleeper() -> Iterator[int]:
    """A live process that is not this one: its pid."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        yield proc.pid
    finally:
        proc.kill()
        proc.wait(timeout=10)


def _gone_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait(timeout=30)
    return proc.pid


def test_a_uucp_lock_naming_a_live_process_refuses_the_claim(lock_dir: Path, tmp_path: Path, sleeper: int) -> None:
    device = tmp_path / "dev-link"
    device.touch()
    lock = lock_dir / ("LCK.." + str(device).replace("/", "_"))  # as ser2net names it
    lock.write_text(f"{sleeper:10d}\n", encoding="ascii")
    with pytest.raises(PortBusy) as refused:
        claim_port(str(device))
    assert f"(pid {sleeper}, lock {lock})" in str(refused.value)
    assert "is in use by python" in str(refused.value)  # the program, from /proc/PID/comm
    assert "nothing was sent" in str(refused.value)
    assert ownership.who_holds(str(device)) is None  # the refused claim left nothing behind
    again = claim_port(str(device) + "-other")  # an unrelated port is not in the way
    again.release()


@pytest.mark.parametrize("contents", ["{pid:10d}\n", "{pid}", "binary"])
def test_a_uucp_lock_by_the_last_part_of_the_path_and_any_format_refuses(
    lock_dir: Path, tmp_path: Path, sleeper: int, contents: str
) -> None:
    device = tmp_path / "ttyFAKE0"
    device.touch()
    lock = lock_dir / "LCK..ttyFAKE0"  # as minicom, picocom and cu name it
    if contents == "binary":
        lock.write_bytes(sleeper.to_bytes(4, sys.byteorder))  # old programs (Kermit)
    else:
        lock.write_text(contents.format(pid=sleeper), encoding="ascii")
    with pytest.raises(PortBusy, match=f"pid {sleeper}, lock {lock}"):
        claim_port(str(device))


@pytest.mark.parametrize("contents", ["dead", "garbage", "empty", "mine"])
def test_a_stale_uucp_lock_is_no_reason_to_refuse(lock_dir: Path, tmp_path: Path, contents: str) -> None:
    device = tmp_path / "dev-link"
    device.touch()
    lock = lock_dir / ("LCK.." + str(device).replace("/", "_"))
    text = {"dead": f"{_gone_pid():10d}\n", "garbage": "not a pid\n", "empty": "", "mine": f"{os.getpid():10d}\n"}
    lock.write_text(text[contents], encoding="ascii")
    claim = claim_port(str(device))
    try:
        assert claim.holder is not None and claim.holder.pid == os.getpid()
    finally:
        claim.release()
    assert lock.exists()  # another program's lock file, stale or not, is not scsctl's to remove


def test_lock_names_follow_ser2net_and_the_terminal_programs() -> None:
    assert uucp_lock.lock_names("/dev/ttyUSB0")[:1] == ("LCK..ttyUSB0",)
    assert uucp_lock.lock_names("/tmp/walk-dev")[:2] == ("LCK.._tmp_walk-dev", "LCK..walk-dev")
    assert uucp_lock.lock_names("/dev/serial/by-id/usb-x")[:2] == ("LCK..serial_by-id_usb-x", "LCK..usb-x")

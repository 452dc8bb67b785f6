"""Two processes, one device: the port's holder keeps it, STOP from another terminal goes through
the holder (or past it, when it does not answer), and a read-only session never loosens tethering.

Every process here is real: ``scsctl emulator`` (a pty or a TCP port), a tethered session in a
process of its own (``holder_process.py``) and ``scsctl`` commands as a second terminal runs them.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from scsctl.audit import DB_NAME

HOLDER = Path(__file__).with_name("holder_process.py")


def scsctl(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "scsctl.cli.main", *argv], capture_output=True, text=True,
                          timeout=60, env=env)  # fmt: skip


@pytest.fixture(params=["pty", "tcp"])
def port(request: pytest.FixtureRequest) -> str:
    name = "pty_emulator" if request.param == "pty" else "tcp_emulator"
    url: str = request.getfixturevalue(name)
    return url


class Holder:
    """The tethered session in its own process."""

    def __init__(self, port: str, data_dir: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, str(HOLDER), port, str(data_dir)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
        self.ready = self._answer()
        assert self.ready.get("ready"), self.ready

    def _answer(self) -> dict[str, object]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            err = self.proc.stderr.read() if self.proc.stderr else ""
            raise AssertionError(f"the holder process ended: {err}")
        answer: dict[str, object] = json.loads(line)
        return answer

    def ask(self, command: str) -> dict[str, object]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self._answer()

    def end(self) -> dict[str, object]:
        answer = self.ask("quit")
        self.proc.wait(timeout=10)
        return answer

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def holder(port: str, tmp_path: Path) -> Iterator[Holder]:
    h = Holder(port, tmp_path)
    yield h
    h.kill()
    scsctl("stop", "--port", port, "--data-dir", str(tmp_path))  # leave the emulator quiet for the next test


def stops_recorded(data_dir: Path, path: str) -> list[dict[str, object]]:
    db = sqlite3.connect(data_dir / DB_NAME)
    try:
        rows = db.execute("SELECT detail FROM audit WHERE kind = 'command' AND name = 'STOP'").fetchall()
    finally:
        db.close()
    details = [json.loads(r[0]) for r in rows]
    return [d for d in details if d.get("path") == path or (path == "asked" and "requested_by" in d)]


def test_stop_from_another_terminal_reaches_a_tethered_session_50_times_out_of_50(
    port: str, holder: Holder, tmp_path: Path
) -> None:
    for attempt in range(50):
        assert holder.ask("start")["state"] == "STIMULATING", f"attempt {attempt}"
        done = scsctl("stop", "--port", port, "--data-dir", str(tmp_path))
        assert done.returncode == 0, f"attempt {attempt}: {done.stderr}"
        assert "confirmed by the device" in done.stdout
        assert "through the session that holds the port" in done.stdout
        assert f"pid {holder.proc.pid}" in done.stdout
        now = holder.ask("status")
        assert now["amplitude_ua"] == 0 and now["stimulating"] is False, f"attempt {attempt}: {now}"
    end = holder.end()
    assert end == {"losses": [], "link": "up"}  # the holder's link was never lost
    # Both sides recorded every STOP: the holder with who asked, the asker with the path it took.
    assert len(stops_recorded(tmp_path, "asked")) == 50
    assert len(stops_recorded(tmp_path, "through the holder")) == 50


def test_a_second_session_on_a_held_port_is_refused_naming_the_holder(
    port: str, holder: Holder, tmp_path: Path
) -> None:
    holder.ask("start")
    done = scsctl("status", "--port", port, "--data-dir", str(tmp_path))
    assert done.returncode == 5
    assert f"held by pid {holder.proc.pid}" in done.stderr
    assert "operator holder" in done.stderr
    assert "since " in done.stderr
    assert "vanished" not in done.stderr
    now = holder.ask("status")
    assert now["stimulating"] is True  # the holder's session went on undisturbed
    assert holder.end() == {"losses": [], "link": "up"}


def test_a_tcp_device_held_by_another_host_says_so(tcp_emulator: str, tmp_path: Path) -> None:
    h = Holder(tcp_emulator, tmp_path)
    try:
        # Another host: nothing of this machine's port records is visible to it.
        env = {**os.environ, "SCSCTL_RUNTIME_DIR": tempfile.mkdtemp(prefix="scs-elsewhere-")}
        done = scsctl("status", "--port", tcp_emulator, "--data-dir", str(tmp_path), env=env)
        assert done.returncode == 5
        assert "held by another host (127.0.0.1:" in done.stderr
        assert h.end() == {"losses": [], "link": "up"}
    finally:
        h.kill()


def test_a_holder_that_does_not_answer_is_passed_by_and_stop_still_goes_out(pty_emulator: str, tmp_path: Path) -> None:
    h = Holder(pty_emulator, tmp_path)
    try:
        assert h.ask("start")["state"] == "STIMULATING"
        os.kill(h.proc.pid, signal.SIGSTOP)  # frozen: it holds the port but answers nothing
        # (Frozen in the middle of an audit write, it would hold the shared log's lock too: STOP then
        # still goes out and its record waits in the log's pending journal, as
        # tests/scsctl/test_audit_pending.py shows. Here the asker keeps a log of its own.)
        asker_log = tmp_path / "asker"
        try:
            done = scsctl("stop", "--port", pty_emulator, "--data-dir", str(asker_log))
        finally:
            os.kill(h.proc.pid, signal.SIGCONT)
        assert done.returncode == 0, done.stderr
        assert "did not answer within 200 ms" in done.stdout
        assert h.ask("status")["stimulating"] is False
        assert len(stops_recorded(asker_log, "past the holder")) == 1
    finally:
        h.kill()


def test_a_read_only_session_after_a_tethered_one_died_leaves_the_watchdog_to_stop_it(
    pty_emulator: str, tmp_path: Path
) -> None:
    h = Holder(pty_emulator, tmp_path)
    assert h.ask("start")["state"] == "STIMULATING"
    h.kill()  # kill -9: no goodbye, the device's watchdog (stop on loss) is still armed
    capture = tmp_path / "status.jsonl"
    done = scsctl("status", "--json", "--port", pty_emulator, "--data-dir", str(tmp_path), "--capture", str(capture))
    assert done.returncode == 0, done.stderr
    decoded = scsctl("capture", "decode", str(capture))
    sent = [line for line in decoded.stdout.splitlines() if " -> " in line]  # what the host sent
    assert sent and not [line for line in sent if "HEARTBEAT" in line], decoded.stdout
    # Any command restarts the device's watchdog (PROTOCOL.md section 11): stay quiet past its 1 s.
    time.sleep(2.0)
    after = json.loads(scsctl("status", "--json", "--port", pty_emulator, "--data-dir", str(tmp_path)).stdout)
    assert after["amplitude_ua"] == 0
    assert after["state"] == "programmed"
    assert "watchdog_expiry" in after["faults"]


def test_stop_from_another_terminal_during_a_cli_ramp_ends_the_ramp(pty_emulator: str, tmp_path: Path) -> None:
    def cli(*argv: str) -> subprocess.CompletedProcess[str]:
        return scsctl(*argv, "--port", pty_emulator, "--data-dir", str(tmp_path))

    for argv in (("stop",), ("impedance",),
                 ("program", "--slot", "1", "--electrodes", "3+ 4-", "--pulse-width", "200us", "--rate", "40Hz"),
                 ("start", "--slot", "1"), ("amplitude", "0.5mA", "--commit"), ("stop",)):  # fmt: skip
        done = cli(*argv)
        assert done.returncode == 0, (argv, done.stderr)
    for attempt in range(10):
        assert cli("start", "--slot", "1").returncode == 0
        steps_before = _amplitude_steps(tmp_path)
        argv = [sys.executable, "-m", "scsctl.cli.main", "amplitude", "4mA", "--port", pty_emulator,
                "--data-dir", str(tmp_path)]  # fmt: skip
        ramp = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        while _amplitude_steps(tmp_path) == steps_before:  # wait until the ramp is under way
            assert ramp.poll() is None, ramp.communicate()
            time.sleep(0.01)
        holder = _holder_pid(pty_emulator)
        assert holder == ramp.pid  # the ramp's process holds the port
        done = cli("stop")
        out, err = ramp.communicate(timeout=60)
        assert done.returncode == 0, f"attempt {attempt}: {done.stderr}"
        assert f"pid {holder}" in done.stdout
        assert ramp.returncode == 0, err
        assert "stopped during the ramp" in out
        status = json.loads(cli("status", "--json").stdout)
        assert status["amplitude_ua"] == 0 and status["state"] == "programmed"


def _holder_pid(port: str) -> int | None:
    from scsctl.controller.ownership import who_holds

    holder = who_holds(port)
    return None if holder is None else holder.pid


def _amplitude_steps(data_dir: Path) -> int:
    db = sqlite3.connect(data_dir / DB_NAME, timeout=10)
    try:
        query = "SELECT count(*) FROM audit WHERE kind = 'command' AND name = 'SET_AMPLITUDE'"
        return int(db.execute(query).fetchone()[0])
    finally:
        db.close()


def test_stop_goes_out_beside_a_hold_this_user_cannot_ask(pty_emulator: str, tmp_path: Path) -> None:
    import serial

    def cli(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return scsctl(*argv, "--port", pty_emulator, "--data-dir", str(tmp_path), env=env)

    for argv in (("stop",), ("impedance",),
                 ("program", "--slot", "2", "--electrodes", "3+ 4-", "--pulse-width", "200us", "--rate", "40Hz"),
                 ("start", "--slot", "2"), ("amplitude", "0.5mA", "--commit")):  # fmt: skip
        done = cli(*argv)
        assert done.returncode == 0, (argv, done.stderr)
    # Another program (or another user's session, whose runtime folder this user cannot see) holds
    # the port exclusively: its lock is all there is to see.
    other = serial.Serial(pty_emulator, exclusive=True)
    try:
        elsewhere = {**os.environ, "SCSCTL_RUNTIME_DIR": tempfile.mkdtemp(prefix="scs-other-user-")}
        refused = cli("status", env=elsewhere)
        assert refused.returncode == 5
        assert f"held by another program (pid {os.getpid()}" in refused.stderr
        stopped = cli("stop", env=elsewhere)
        assert stopped.returncode == 0, stopped.stderr
        assert "on the port directly (the port was held where this user cannot ask" in stopped.stdout
    finally:
        other.close()
    assert json.loads(cli("status", "--json").stdout)["amplitude_ua"] == 0


def test_a_runtime_folder_open_to_others_is_refused_and_left_as_it_is(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    done = scsctl("status", "--port", "/dev/null", "--data-dir", str(tmp_path),
                  env={**os.environ, "SCSCTL_RUNTIME_DIR": str(shared)})  # fmt: skip
    assert done.returncode == 2
    assert "is open to other users (mode 755; make it 700)" in done.stderr
    assert shared.stat().st_mode & 0o777 == 0o755  # never changed behind the user's back

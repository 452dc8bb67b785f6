"""The HIL catalogue's session requirements, run as a rig runs them: against a device behind a port
(``scsctl emulator --pty`` in another process), where a second terminal can reach it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_the_session_and_stop_requirements_pass_on_a_device_behind_a_port(pty_emulator: str, tmp_path: Path) -> None:
    env = {**os.environ, "SCSCTL_DATA_DIR": str(tmp_path)}
    argv = [sys.executable, "-m", "pytest", "hil_tests/test_sessions.py", "hil_tests/test_stop.py",
            "--scs-port", pty_emulator, "-p", "no:cacheprovider", "-p", "no:xdist", "-q", "-rs"]  # fmt: skip
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    summary = done.stdout.strip().splitlines()[-1]
    assert " failed" not in summary and " error" not in summary, summary
    # STOP from a second terminal ran here (it is skipped only on the in-process emulator).
    assert "a second terminal needs a device behind a port" not in done.stdout, done.stdout[-3000:]

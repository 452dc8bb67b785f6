"""A virtual environment with scsctl installed as a rig installs it: ``pip install '.[labgrid]'``
from this checkout (a wheel, not editable), so its tests run the installed package from outside the
checkout. Built once per source state (``build/rig-venv``, reused while nothing changed)."""

from __future__ import annotations

import fcntl
import hashlib
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
VENV = ROOT / "build" / "rig-venv"
_SOURCES = ("pyproject.toml", "src", "firmware_protocol", "hil_tests", "device_profiles")


def _source_hash() -> str:
    digest = hashlib.sha256()
    for name in _SOURCES:
        path = ROOT / name
        skip = ("__pycache__", "build")
        files = [path] if path.is_file() else sorted(
            p for p in path.rglob("*") if p.is_file() and not any(part in skip for part in p.parts)
        )
        for file in files:
            digest.update(str(file.relative_to(ROOT)).encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


def rig_venv() -> Path:
    """The venv's bin folder, with scsctl[labgrid] installed from the checkout as it is now."""
    VENV.parent.mkdir(parents=True, exist_ok=True)
    with open(VENV.parent / "rig-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # xdist workers: one builds, the others wait for it
        stamp = VENV / "scsctl-source.sha256"
        wanted = _source_hash()
        if stamp.is_file() and stamp.read_text() == wanted:
            return VENV / "bin"
        if not (VENV / "bin" / "python").exists():
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        pip = [str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, f"{ROOT}[labgrid]"], check=True, capture_output=True)
        # The checkout as it is now, even when its version number did not change.
        subprocess.run([*pip, "--no-deps", "--force-reinstall", str(ROOT)], check=True, capture_output=True)
        # pyserial and labgrid's pyserial-labgrid both install the package `serial`; whichever pip
        # wrote last is in effect. Put labgrid's in effect here, as labgrid intends: this suite's
        # own environment runs on pyserial, so both are tested.
        subprocess.run([*pip, "--no-deps", "--force-reinstall", "pyserial-labgrid"], check=True, capture_output=True)
        stamp.write_text(wanted)
        return VENV / "bin"

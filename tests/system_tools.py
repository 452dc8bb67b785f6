"""Programs some tests need from the system (gcc, make, tshark, ser2net, zsh, chromium, tmux), found or
reported the same way.

Locally a missing program skips its tests with a reason naming the Debian package to install; on CI
(``CI=true``) it fails them instead, since ``.ci/run`` installs every one of them and a test that
quietly skipped there would prove nothing.
"""

from __future__ import annotations

import os
import shutil

import pytest

PACKAGES = {
    "gcc": "gcc", "cc": "gcc", "make": "make", "tshark": "tshark", "ser2net": "ser2net", "zsh": "zsh",
    "chromium": "chromium", "tmux": "tmux",
}  # fmt: skip


def on_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def require_program(name: str) -> str:
    """The path of ``name``; skips the test (fails it on CI) when it is not installed."""
    path = shutil.which(name)
    if path is not None:
        return path
    package = PACKAGES.get(name, name)
    reason = f"{name} is not installed: install the Debian package {package} (apt-get install {package})"
    if on_ci():
        pytest.fail(f"{reason}; CI must have it, .ci/run installs it", pytrace=False)
    pytest.skip(reason)

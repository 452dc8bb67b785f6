"""A missing system program skips its tests locally, naming the package, and fails them on CI."""

from __future__ import annotations

import pytest
from _pytest.outcomes import Failed, Skipped

from . import system_tools


def test_a_missing_program_skips_locally_with_the_package_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(system_tools.shutil, "which", lambda name: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(Skipped, match="install the Debian package tshark"):
        system_tools.require_program("tshark")


def test_a_missing_program_fails_on_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(system_tools.shutil, "which", lambda name: None)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(Failed, match=r"gcc is not installed.*CI must have it"):
        system_tools.require_program("gcc")


def test_a_present_program_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(system_tools.shutil, "which", lambda name: f"/usr/bin/{name}")
    assert system_tools.require_program("make") == "/usr/bin/make"

"""``scsctl tui`` and ``scsctl`` with no command; other commands start without Textual."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from scsctl.cli import main as cli_main
from scsctl.cli import tui_cmd
from scsctl.controller.target import ConnectTarget
from scsctl.tui.app import ScsApp


def opened(monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> ConnectTarget:
    targets: list[ConnectTarget] = []
    monkeypatch.setattr(ScsApp, "run", lambda self, *a, **k: targets.append(self.target))
    monkeypatch.delenv("SCSCTL_PORT", raising=False)
    assert cli_main.main(argv) == 0
    (target,) = targets
    return target


def test_tui_without_a_port_opens_the_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    target = opened(monkeypatch, ["tui"])
    assert target.url == "emu://" and target.is_emulator
    assert "not a real device" in target.describe()


def test_tui_takes_the_device_options_of_the_cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    target = opened(
        monkeypatch,
        [
            "tui",
            "--port",
            "/dev/ttyUSB0",
            "--profile",
            "drg-4x4",
            "--role",
            "engineer",
            "--data-dir",
            str(tmp_path),
            "--tethered",
        ],
    )
    assert (target.url, target.profile, target.role, target.tethered) == ("/dev/ttyUSB0", "drg-4x4", "engineer", True)
    assert target.data_dir == str(tmp_path)


def test_no_command_at_a_terminal_opens_the_tui(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    monkeypatch.setattr(tui_cmd, "run", lambda args: calls.append(args) or 0)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert cli_main.main([]) == 0
    assert len(calls) == 1 and calls[0].command == "tui"


def test_no_command_without_a_terminal_prints_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main.main([]) == 0
    assert "COMMAND" in capsys.readouterr().out


def test_the_help_names_the_stop_key(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli_main.main(["tui", "--help"])
    assert exit_info.value.code == 0
    assert "F2" in capsys.readouterr().out


def test_other_commands_do_not_import_textual(tmp_path: Path) -> None:
    code = (
        "import sys; from scsctl.cli.main import main; "
        f"rc = main(['info', '--port', 'emu://', '--data-dir', {str(tmp_path)!r}]); "
        "print('TEXTUAL' if any(m.split('.')[0] == 'textual' for m in sys.modules) else 'NO-TEXTUAL', rc)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True).stdout
    assert out.strip().splitlines()[-1] == "NO-TEXTUAL 0"

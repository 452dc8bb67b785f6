"""``scsctl completion bash|zsh``: the scripts complete what a user types, in the shells themselves."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from scsctl.cli.main import main

from ...system_tools import require_program

CASES = [
    (["scsctl", "lo"], {"log"}),
    (["scsctl", "log", ""], {"show", "export", "verify"}),
    (["scsctl", "--port", "/dev/ttyUSB0", "sta"], {"status", "start"}),  # an option before the command
    (["scsctl", "status", "--ro"], {"--role"}),
    (["scsctl", "status", "--role", ""], {"technician", "engineer"}),
    (["scsctl", "capture", "export", "wire.jsonl", "--format", ""], {"pcap"}),
    (["scsctl", "log", "export", "--format", ""], {"csv", "json"}),
    (["scsctl", "completion", ""], {"bash", "zsh"}),
    (["scsctl", "status", "--port", "emu://d"], {"emu://drg-4x4"}),
]


def _script(shell: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    assert main(["completion", shell]) == 0
    path = tmp_path / f"scsctl.{shell}"
    path.write_text(capsys.readouterr().out)
    return path


def _bash(script: Path, words: list[str]) -> set[str]:
    quoted = " ".join(f"'{w}'" for w in words)
    program = f"""source {script}
COMP_WORDS=({quoted}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); _scsctl
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    bash = require_program("bash")
    done = subprocess.run([bash, "--norc", "-c", program], capture_output=True, text=True, check=True)
    return set(done.stdout.split())


@pytest.mark.parametrize(("words", "wanted"), CASES, ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_bash_completes_commands_options_and_their_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], words: list[str], wanted: set[str]
) -> None:
    assert _bash(_script("bash", tmp_path, capsys), words) == wanted


def test_bash_completes_files_where_a_file_is_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = _script("bash", tmp_path, capsys)
    (tmp_path / "wire.jsonl").write_text("")
    assert _bash(script, ["scsctl", "capture", "decode", str(tmp_path / "wi")]) == {str(tmp_path / "wire.jsonl")}
    assert _bash(script, ["scsctl", "status", "--capture", str(tmp_path / "wi")]) == {str(tmp_path / "wire.jsonl")}


def _zsh(script: Path, words: list[str]) -> set[str]:
    """The script run by zsh, with compsys's functions replaced by ones that print what was offered
    (completion widgets need a terminal); filtered by the word typed, as compsys would."""
    zsh = require_program("zsh")
    quoted = " ".join(f"'{w}'" for w in words)
    program = f"""compdef() {{ :; }}
compadd() {{ [[ $1 == -- ]] && shift; print -rl -- "$@"; }}
_describe() {{ local entry; for entry in "${{(@P)4}}"; do print -r -- "${{entry%%:*}}"; done; }}
_files() {{ print -r -- FILES; }}
source {script}
words=({quoted}); CURRENT=$#words; _scsctl
"""
    done = subprocess.run([zsh, "-f", "-c", program], capture_output=True, text=True, check=True)
    typed = words[-1]
    return {w for w in done.stdout.split() if w.startswith(typed) or w == "FILES"}


@pytest.mark.parametrize(("words", "wanted"), CASES, ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_zsh_completes_commands_options_and_their_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], words: list[str], wanted: set[str]
) -> None:
    assert _zsh(_script("zsh", tmp_path, capsys), words) == wanted


def test_zsh_completes_files_where_a_file_is_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = _script("zsh", tmp_path, capsys)
    assert _zsh(script, ["scsctl", "capture", "decode", ""]) == {"FILES"}
    zsh = require_program("zsh")
    subprocess.run([zsh, "-n", str(script)], check=True)  # and the script parses as a whole

"""The command line follows the conventions a user brings from other tools: options before or after
the command, ``-`` for standard input and output, ``-v`` and ``--log-file``, ``python -m scsctl``,
local times with their offset."""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

import scsctl
from firmware_protocol import Decoder, Frame
from scsctl.cli.main import COMMAND_MODULES, COMMANDS, build_parser, main, resolve_common
from scsctl.errors import ReplyTimeout
from scsctl.link import read_capture
from scsctl.transports.emulated import EmulatedTransport

LOCAL_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} [+-]\d\d:\d\d  ", re.MULTILINE)


def _status(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 0, err
    status: dict[str, object] = json.loads(out)
    return status


def test_device_options_work_before_or_after_the_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = ["--data-dir", str(tmp_path)]
    before = _status(["--port", "emu://drg-4x4", *data, "--operator", "ana", "status", "--json"], capsys)
    after = _status(["status", "--json", "--port", "emu://drg-4x4", *data, "--operator", "ana"], capsys)
    mixed = _status(["--port", "emu://drg-4x4", "status", "--json", *data], capsys)
    assert before["state"] == after["state"] == mixed["state"] == "idle"
    assert main(["--data-dir", str(tmp_path), "log", "show"]) == 0
    log = capsys.readouterr().out
    assert log.count("ana/technician") >= 4  # connect, IDENTIFY, disconnect of each of the two sessions
    assert "drg-4x4" in log


def test_a_device_option_before_a_command_that_takes_none_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--port", "/dev/ttyUSB0", "ports"])
    assert exited.value.code == 2
    assert "--port does not apply to `scsctl ports`" in capsys.readouterr().err


def test_each_copy_keeps_its_default_and_repeatable_options_add_up() -> None:
    parser = build_parser()
    args = parser.parse_args(["--profile-path", "a", "-v", "status", "--profile-path", "b", "-v", "--role", "engineer"])
    resolve_common(args)
    assert (args.profile_path, args.verbose, args.role, args.port is None or isinstance(args.port, str)) == (
        ["a", "b"], 2, "engineer", True,
    )  # fmt: skip
    args = parser.parse_args(["--role", "engineer", "status"])
    resolve_common(args)
    assert args.role == "engineer"  # the command's default (technician) does not clobber it
    args = parser.parse_args(["--role", "engineer", "status", "--role", "technician"])
    resolve_common(args)
    assert args.role == "technician"  # after the command wins
    args = parser.parse_args(["log", "show"])
    resolve_common(args)
    assert (args.data_dir, args.utc, args.verbose, args.log_file) == (None, False, 0, None)


def test_python_dash_m_scsctl_is_the_scsctl_command() -> None:
    done = subprocess.run([sys.executable, "-m", "scsctl", "--version"], capture_output=True, text=True, check=True)
    assert done.stdout.startswith("scsctl ")


def test_dash_is_standard_output_for_log_export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["stop", "--port", "emu://", "--data-dir", str(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["log", "export", "--format", "json", "-o", "-", "--data-dir", str(tmp_path)]) == 0
    assert json.loads(capsys.readouterr().out)[0]["name"] == "STOP"
    assert not (tmp_path / "-").exists()


def test_capture_dash_writes_the_capture_to_standard_output_and_the_output_to_standard_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status", "--port", "emu://", "--data-dir", str(tmp_path), "--capture", "-"]) == 0
    out, err = capsys.readouterr()
    assert "state" in err and "idle" in err
    capture = tmp_path / "from-stdout.jsonl"
    capture.write_text(out)
    sent = [i.message.TYPE.name for r in read_capture(capture) if r.direction == "tx"
            for i in Decoder().feed(r.data) if isinstance(i, Frame)]  # fmt: skip
    assert sent[:1] == ["HELLO"] and "GET_STATUS" in sent
    assert not (tmp_path / "-").exists()


@pytest.fixture
def tokyo(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A local zone nine hours from UTC, with no daylight saving: a time read in the wrong zone shows."""
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("tokyo")
def test_log_show_prints_local_time_with_its_offset_and_utc_on_request(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["stop", "--port", "emu://", "--data-dir", str(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["log", "show", "--data-dir", str(tmp_path)]) == 0
    local = capsys.readouterr().out
    assert LOCAL_TIME.search(local) and " +09:00  " in local
    assert main(["log", "show", "--utc", "--data-dir", str(tmp_path)]) == 0
    utc = capsys.readouterr().out
    assert " +00:00  " in utc and " +09:00  " not in utc


@pytest.mark.usefixtures("tokyo")
def test_a_since_without_a_zone_is_local_time(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stop", "--port", "emu://", "--data-dir", str(tmp_path)]) == 0
    capsys.readouterr()
    a_minute_ago = (datetime.now() - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M")  # local, no zone
    assert main(["log", "show", "--since", a_minute_ago, "--data-dir", str(tmp_path)]) == 0
    assert "STOP" in capsys.readouterr().out  # read as UTC it would be nine hours ahead: no records
    assert main(["--utc", "log", "show", "--since", a_minute_ago, "--data-dir", str(tmp_path)]) == 0
    assert "no records" in capsys.readouterr().out  # with --utc the same text is nine hours ahead


def test_verbose_says_what_the_controller_and_link_do(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-v", "status", "--port", "emu://", "--data-dir", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert "scsctl: INFO scsctl.controller: connecting to emu:// as technician" in err
    assert "connected to emu://: tonic-burst-16 serial EMU5101-00000000" in err
    assert "DEBUG" not in err
    assert main(["status", "--port", "emu://", "--data-dir", str(tmp_path), "-vv"]) == 0
    assert "DEBUG scsctl.link.session: HELLO (seq 0): waiting 250 ms for the reply" in capsys.readouterr().err
    assert main(["status", "--port", "emu://", "--data-dir", str(tmp_path)]) == 0
    assert "INFO" not in capsys.readouterr().err  # quiet without -v


def test_log_file_gets_every_detail_whatever_the_terminal_shows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log_file = tmp_path / "scsctl.log"
    assert main(["--log-file", str(log_file), "status", "--port", "emu://", "--data-dir", str(tmp_path)]) == 0
    assert "INFO" not in capsys.readouterr().err
    text = log_file.read_text()
    assert "INFO    MainThread scsctl.controller: connected to emu://" in text
    assert "DEBUG   MainThread scsctl.link.session: HELLO (seq 0): waiting 250 ms" in text
    assert main(["tui", "-v"]) == 2  # the TUI owns the terminal: -v needs --log-file (refused before it opens)
    assert "give --log-file FILE" in capsys.readouterr().err


def test_the_link_logs_its_retries_and_the_timeout(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    transport = EmulatedTransport("emu://")
    with scsctl.connect("emu://", data_dir=tmp_path, transport=transport) as dev:
        transport.emulator.add_fault("drop-frames:1.0,dir=to-host")
        with caplog.at_level(logging.INFO, logger="scsctl"), pytest.raises(ReplyTimeout):
            dev.status()
        transport.emulator.clear_faults()
    retries = [r.getMessage() for r in caplog.records if "sending it again" in r.getMessage()]
    assert retries and retries[0].startswith("no reply to GET_STATUS")
    assert any("after 3 attempt(s)" in r.getMessage() for r in caplog.records)


def test_dash_is_standard_input_for_profiles_check(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    shipped = Path(__file__).resolve().parents[3] / "device_profiles" / "drg-4x4.toml"
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(shipped.read_bytes())))
    assert main(["profiles", "check", "-"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("-: ok (drg-4x4, model 0x5102")
    assert "a user's own" in out or "not read from a file" in out  # piped in: not a trusted file


def test_the_command_table_is_what_the_command_modules_add() -> None:
    registered: dict[str, str] = {}
    for name in COMMAND_MODULES:
        sub = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(f"scsctl.cli.{name}").register(sub)
        registered |= dict.fromkeys(sub.choices, name)
    assert registered == COMMANDS


@pytest.mark.parametrize(
    "argv",
    [
        ["status", "--json", "--port", "emu://drg-4x4"],
        ["--port", "emu://drg-4x4", "-vv", "status", "-v"],
        ["--port", "status", "info"],  # an option's value that is also a command's name
        ["--port=stop", "--profile-path", "a", "stop", "--profile-path", "b"],
        ["--data-dir", "d", "--utc", "log", "show"],
        ["--log-file", "-", "ports"],
        ["hil-report", "record.json", "--json"],
    ],
)
def test_a_parser_built_for_the_command_parses_as_the_whole_one(argv: list[str]) -> None:
    # Only the named command's module is built (start-up time); what it parses must not differ.
    assert len(_commands(build_parser(argv))) < len(COMMANDS)
    parsed = [build_parser(given).parse_args(argv) for given in (argv, None)]
    for args in parsed:
        resolve_common(args)
    assert vars(parsed[0]) == vars(parsed[1])


@pytest.mark.parametrize(
    "argv", [["-h"], ["--help", "status"], ["--po", "x", "status"], ["bogus"], [], ["--port", "x"], ["-vx", "info"]]
)
def test_help_and_anything_unclear_build_every_command(argv: list[str]) -> None:
    assert _commands(build_parser(argv)) == COMMANDS.keys()


def _commands(parser: argparse.ArgumentParser) -> set[str]:
    return {name for a in parser._actions if isinstance(a, argparse._SubParsersAction) for name in a.choices}


def test_help_lists_every_command_and_a_wrong_name_is_told_the_choices(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--port", "emu://drg-4x4", "-h"])
    out = capsys.readouterr().out
    assert all(command in out for command in COMMANDS)
    with pytest.raises(SystemExit) as exited:
        main(["--port", "emu://drg-4x4", "staus"])
    assert exited.value.code == 2
    assert "invalid choice: 'staus'" in capsys.readouterr().err

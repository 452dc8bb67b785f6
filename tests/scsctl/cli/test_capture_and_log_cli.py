"""Wire captures and the audit log from the command line."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from firmware_protocol import encode
from firmware_protocol import messages as m
from scsctl.cli.main import main


def test_capture_decode_names_frames_and_points_at_damage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = encode(m.GetStatus(), 3)
    bad = bytearray(encode(m.Stop(), 4))
    bad[-1] ^= 0x01
    path = tmp_path / "wire.jsonl"
    path.write_text(
        '{"scsctl_capture": 1, "started_utc": "2026-11-21T10:00:00+00:00", "port": "test"}\n'
        f'{{"t": 0.001, "dir": "tx", "hex": "{good.hex()}"}}\n'
        f'{{"t": 0.002, "dir": "tx", "hex": "{bytes(bad).hex()}"}}\n'
    )
    assert main(["capture", "decode", str(path)]) == 9  # EXIT_CODES: part of the capture did not decode
    out = capsys.readouterr().out
    assert "-> seq   3  GET_STATUS" in out
    assert f"!! bad_crc at tx byte offset {len(good)}" in out
    assert "1 frame(s) did not decode" in out


def test_replay_reports_differences_and_exits_7(
    pty_emulator: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capture = tmp_path / "session.jsonl"
    common = ["--data-dir", str(tmp_path)]
    assert main(["impedance", "--port", pty_emulator, *common]) == 0
    argv = ["program", "--slot", "2", "--electrodes", "3+ 4-", "--pulse-width", "200us", "--rate", "40Hz"]
    assert main([*argv, "--port", pty_emulator, *common]) == 0
    assert main(["programs", "--port", pty_emulator, *common, "--capture", str(capture)]) == 0
    capsys.readouterr()
    assert main(["capture", "replay", str(capture), "--port", pty_emulator]) == 0
    assert "0 difference(s)" in capsys.readouterr().out
    # A factory-fresh device answers the same frames differently: its slot 2 is empty.
    assert main(["capture", "replay", str(capture), "--port", "emu://"]) == 7
    out = capsys.readouterr().out
    assert "READ_PROGRAM: recorded PROGRAM slot=2" in out
    assert "now NAK reason=EMPTY_SLOT param=SLOT" in out


def test_replay_sends_no_stimulation_the_guard_refuses(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A hand-edited capture asking for 12 mA: a technician's replay must not send it.
    too_much = m.SetProgram(
        m.Program(slot=0, amplitude_ua=12000, pulse_width_us=300, rate_dhz=500,
                  contacts=(m.ContactSetting(m.Polarity.ANODE, 100), m.ContactSetting(m.Polarity.CATHODE, 100))
                  + (m.ContactSetting(),) * 14)
    )  # fmt: skip
    path = tmp_path / "edited.jsonl"
    path.write_text(
        '{"scsctl_capture": 1, "started_utc": "2026-11-21T10:00:00+00:00", "port": "test"}\n'
        f'{{"t": 0.001, "dir": "tx", "hex": "{encode(too_much, 5).hex()}"}}\n'
    )
    # Without a recorded IDENTIFY the replay cannot tell which device it came from: refused unless asked.
    assert main(["capture", "replay", str(path), "--port", "emu://", "--data-dir", str(tmp_path)]) == 7
    assert "holds no IDENTIFY" in capsys.readouterr().err
    argv = ["capture", "replay", str(path), "--port", "emu://", "--data-dir", str(tmp_path), "--allow-other-model"]
    assert main(argv) == 7
    out = capsys.readouterr().out
    assert "seq 5 SET_PROGRAM: not sent, refused by the guard" in out
    assert main(["log", "show", "--data-dir", str(tmp_path)]) == 0
    log = capsys.readouterr().out
    assert "refusal SET_PROGRAM" in log
    assert "command SET_PROGRAM" not in log


def test_log_export_csv_and_json_and_show_filters(
    pty_emulator: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["stop", "--port", pty_emulator, "--data-dir", str(tmp_path), "--operator", "ana"]) == 0
    capsys.readouterr()
    assert main(["log", "export", "--format", "csv", "--data-dir", str(tmp_path)]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["name"] for r in rows if r["kind"] == "command"] == ["STOP"]
    assert {r["operator"] for r in rows} == {"ana"}
    out_file = tmp_path / "log.json"
    assert main(["log", "export", "--format", "json", "-o", str(out_file), "--data-dir", str(tmp_path)]) == 0
    assert json.loads(out_file.read_text())[0]["name"] == "STOP"  # STOP first: no connect before it
    assert main(["log", "show", "--device", "NO-SUCH-SERIAL", "--data-dir", str(tmp_path)]) == 0
    assert "no records" in capsys.readouterr().out


def test_log_show_without_a_log_says_where_it_looked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["log", "show", "--data-dir", str(tmp_path / "empty")]) == 2
    assert "no audit log at" in capsys.readouterr().err

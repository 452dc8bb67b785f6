"""Captures as a bench engineer finds them after a bad day: cut by a crash, hand-edited, from another device."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from firmware_protocol import Decoder, Frame, encode
from firmware_protocol import messages as m
from scsctl.audit import AuditLog
from scsctl.cli.main import main
from scsctl.errors import CaptureDamaged
from scsctl.link import read_capture
from scsctl.link.capture import CaptureProblem, load_capture

HEADER = '{"scsctl_capture": 1, "started_utc": "2026-11-21T10:00:00+00:00", "port": "test"}\n'


def _line(t: float, direction: str, data: bytes) -> str:
    return f'{{"t": {t:.6f}, "dir": "{direction}", "hex": "{data.hex()}"}}\n'


def _session_capture(tmp_path: Path, url: str = "emu://") -> Path:
    """A real capture: a program written and read back on the in-process emulator."""
    capture = tmp_path / "session.jsonl"
    argv = ["program", "--slot", "0", "--electrodes", "1+ 2-", "--pulse-width", "300us", "--rate", "50Hz"]
    assert main([*argv, "--port", url, "--data-dir", str(tmp_path), "--capture", str(capture)]) == 0
    return capture


def _frames_in(records: list[tuple[str, bytes]]) -> list[tuple[str, int, str]]:
    decoders = {"tx": Decoder(), "rx": Decoder()}
    out = []
    for direction, data in records:
        out += [(direction, i.seq, i.message.TYPE.name) for i in decoders[direction].feed(data) if isinstance(i, Frame)]
    return out


def _decoded_frames(out: str) -> list[tuple[str, int, str]]:
    """(direction, seq, type) of each frame line `capture decode` printed."""
    found = []
    for line in out.splitlines():
        words = line.split()
        if len(words) >= 5 and words[1] in ("->", "<-") and words[2] == "seq":
            found.append(("tx" if words[1] == "->" else "rx", int(words[3]), words[4]))
    return found


def test_a_frame_that_does_not_decode_exits_9_naming_its_offset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = encode(m.GetStatus(), 3)
    cut = encode(m.GetStatus(), 4)[:5]  # the capture ends inside a frame
    path = tmp_path / "wire.jsonl"
    path.write_text(HEADER + _line(0.001, "rx", good) + _line(0.002, "rx", cut))
    assert main(["capture", "decode", str(path)]) == 9
    out = capsys.readouterr().out
    assert "<- seq   3  GET_STATUS" in out
    assert f"<- !! truncated at rx byte offset {len(good)}" in out
    assert "1 frame(s) did not decode" in out


def test_a_capture_cut_by_a_crash_decodes_every_complete_frame(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capture = _session_capture(tmp_path)
    text = capture.read_text()
    whole = [(r.direction, r.data) for r in read_capture(capture)]
    # kill -9 while the last record was being written: the file ends half-way through its hex.
    last_start = text.rstrip("\n").rfind("\n") + 1
    cut_at = text.index('"hex": "', last_start) + len('"hex": "') + 7  # 3 bytes and half a byte of it
    capture.write_text(text[:cut_at])
    capsys.readouterr()
    assert main(["capture", "decode", str(capture)]) == 9
    out = capsys.readouterr().out
    line_number = text[:last_start].count("\n") + 1
    assert f"!! line {line_number} (file byte {last_start}): cut short: the file ends inside this line" in out
    assert "its first 3 byte(s)" in out
    assert "are not records (the rest was decoded)" in out
    complete = _frames_in(whole[:-1])
    assert len(complete) > 10
    assert _decoded_frames(out) == complete  # every frame of the complete lines, in order, and nothing else


@pytest.mark.parametrize(
    ("line", "problem", "reason"),
    [
        ('{"t": 0.5, "hex": "00"}', CaptureProblem.MISSING_FIELD, 'the record has no "dir" field'),
        ('{"t": 0.5, "dir": "up", "hex": "00"}', CaptureProblem.BAD_DIRECTION, '"dir" is "up", not "tx" or "rx"'),
        ('{"t": "soon", "dir": "tx", "hex": "00"}', CaptureProblem.BAD_TIME, '"t" is "soon", not a number'),
        ('{"t": 0.5, "dir": "tx", "hex": "a5c"}', CaptureProblem.BAD_HEX, '"hex" is not an even number'),
        ("[1, 2]", CaptureProblem.NOT_AN_OBJECT, "a JSON list, not a record object"),
        ("hello there", CaptureProblem.NOT_JSON, "not a JSON line"),
    ],
    ids=lambda v: v.value if isinstance(v, CaptureProblem) else None,
)
def test_every_malformed_record_is_a_named_problem_and_the_rest_decodes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], line: str, problem: CaptureProblem, reason: str
) -> None:
    first, after = encode(m.GetStatus(), 1), encode(m.Stop(), 2)
    path = tmp_path / "wire.jsonl"
    path.write_text(HEADER + _line(0.1, "tx", first) + line + "\n" + _line(0.9, "tx", after))
    offset = len(HEADER) + len(_line(0.1, "tx", first))
    assert main(["capture", "decode", str(path)]) == 9
    out = capsys.readouterr().out
    assert f"!! line 3 (file byte {offset}): {reason}" in out
    assert _decoded_frames(out) == [("tx", 1, "GET_STATUS"), ("tx", 2, "STOP")]
    assert main(["capture", "decode", str(path), "--json"]) == 9
    items = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert {"line": 3, "file_offset": offset, "damaged": problem.value} == {
        k: items[1][k] for k in ("line", "file_offset", "damaged")
    }
    # Code that needs every record gets a named error, not a KeyError.
    with pytest.raises(CaptureDamaged, match=f"line 3 \\(file byte {offset}\\)") as caught:
        list(read_capture(path))
    assert caught.value.problem == problem.value


def test_a_file_that_is_not_a_capture_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("shopping list\n")
    assert main(["capture", "decode", str(path)]) == 2
    assert "line 1: not a scsctl capture file" in capsys.readouterr().err


def test_decode_reads_standard_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = (HEADER + _line(0.1, "tx", encode(m.GetStatus(), 7))).encode("ascii")
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert main(["capture", "decode", "-"]) == 0
    assert "-> seq   7  GET_STATUS" in capsys.readouterr().out


def test_a_replay_on_another_model_is_refused_before_anything_recorded_is_sent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recorded = _session_capture(tmp_path)  # tonic-burst-16
    replay_wire = tmp_path / "replay.jsonl"
    capsys.readouterr()
    code = main(["capture", "replay", str(recorded), "--port", "emu://drg-4x4", "--data-dir", str(tmp_path),
                 "--capture", str(replay_wire)])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 7, err
    assert "replay refused: " in err
    assert "was recorded on tonic-burst-16 (0x5101); this device is drg-4x4" in err
    assert "nothing was sent" in err
    # What went out is the connection's own reads: no recorded command.
    sent = _frames_in([(r.direction, r.data) for r in read_capture(replay_wire) if r.direction == "tx"])
    assert {name for _, _, name in sent} <= {"HELLO", "READ_PROGRAM", "GET_STATUS", "GET_COUNTERS", "HEARTBEAT"}
    refusals = [r for r in AuditLog.in_dir(tmp_path).query() if r.name == "REPLAY"]
    assert [r.kind for r in refusals] == ["refusal"]


def test_a_replay_on_another_model_when_asked_lists_every_difference_and_is_audited(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recorded = _session_capture(tmp_path)
    capsys.readouterr()
    code = main(["capture", "replay", str(recorded), "--port", "emu://drg-4x4", "--data-dir", str(tmp_path),
                 "--allow-other-model"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 7
    assert "replaying on another model, as asked (--allow-other-model)" in out
    assert "IDENTIFY model: recorded 0x5101, now 0x5102" in out
    assert "IDENTIFY capabilities: recorded tonic, burst," in out  # this model has no burst
    assert "SET_PROGRAM: not sent, refused by the guard" in out  # the recorded program is past drg-4x4's limits
    assert "READ_PROGRAM: recorded PROGRAM slot=0" in out  # so its slot reads back empty: listed too
    assert [r.name for r in AuditLog.in_dir(tmp_path).query() if r.kind == "action" and "REPLAY" in r.name] == [
        "REPLAY_OTHER_MODEL"
    ]


def test_a_replay_on_the_same_model_compares_identity_and_replies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recorded = _session_capture(tmp_path)
    capsys.readouterr()
    assert main(["capture", "replay", str(recorded), "--port", "emu://", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "IDENTIFY" not in out
    assert "0 difference(s)" in out


def test_replay_refuses_a_capture_damaged_in_the_middle_but_takes_one_cut_at_the_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recorded = _session_capture(tmp_path)
    lines = recorded.read_text().splitlines(keepends=True)
    middle = tmp_path / "middle.jsonl"
    middle.write_text("".join([*lines[:3], "garbage\n", *lines[3:]]))
    capsys.readouterr()
    assert main(["capture", "replay", str(middle), "--port", "emu://", "--data-dir", str(tmp_path)]) == 2
    assert "line 4 (file byte" in capsys.readouterr().err
    cut = tmp_path / "cut.jsonl"
    cut.write_text("".join(lines)[:-20])
    assert main(["capture", "replay", str(cut), "--port", "emu://", "--data-dir", str(tmp_path)]) in (0, 7)
    assert f"note: {cut}, line {len(lines)}" in capsys.readouterr().out


def test_load_capture_keeps_what_a_cut_line_holds(tmp_path: Path) -> None:
    path = tmp_path / "wire.jsonl"
    frame = encode(m.GetStatus(), 9)
    path.write_text(HEADER + _line(0.25, "rx", frame)[:-12])
    capture = load_capture(path)
    (damaged,) = capture.damaged
    assert damaged.problem is CaptureProblem.CUT_SHORT and capture.cut_at_end_only
    assert damaged.kept is not None and frame.startswith(damaged.kept.data) and damaged.kept.t_s == 0.25


def test_export_writes_what_decodes_and_names_the_damaged_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "wire.jsonl"
    frame = encode(m.GetStatus(), 1)
    path.write_text(HEADER + _line(0.1, "tx", frame) + '{"t": 0.2, "hex": "00"}\n')
    pcap = tmp_path / "wire.pcap"
    assert main(["capture", "export", str(path), "--format", "pcap", "-o", str(pcap)]) == 9
    out, err = capsys.readouterr()
    assert "wrote 1 packets (1 frames, 0 not frames)" in out
    assert "line 3 (file byte" in err and 'the record has no "dir" field: not exported' in err
    assert pcap.stat().st_size == 24 + 16 + 8 + len(frame)  # pcap header, one record header, pseudo-header, frame

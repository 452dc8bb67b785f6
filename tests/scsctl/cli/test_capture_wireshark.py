"""``scsctl capture export --format pcap``, and Wireshark (tshark) reading it with the generated dissector.

A pcap a firmware engineer opens must cut the stream where the decoder does (one packet per frame,
the damage between frames in packets of its own), carry every byte once, and show in Wireshark the
very frames and fields ``scsctl capture decode`` shows.
"""

from __future__ import annotations

import json
import struct
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import scsctl
from firmware_protocol import encode, frame_bytes
from firmware_protocol import messages as m
from firmware_protocol.constants import MessageType, Polarity
from firmware_protocol.kit.model import model, snake
from firmware_protocol.messages import ENUM_FIELDS, ContactSetting, Program
from scsctl.cli.main import main
from scsctl.link.capture import LINKTYPE_USER0, PSEUDO_HEADER, CaptureRecord, frame_packets
from scsctl.transports.emulated import EmulatedTransport

from ...system_tools import require_program

DISSECTOR = Path(__file__).resolve().parents[3] / "firmware_protocol" / "wireshark" / "scsctl.lua"
HEADER = '{"scsctl_capture": 1, "started_utc": "2026-11-21T10:00:00+00:00", "port": "test"}\n'


def _write_capture(path: Path, records: list[tuple[float, str, bytes]]) -> None:
    lines = [HEADER] + [f'{{"t": {t:.6f}, "dir": "{d}", "hex": "{data.hex()}"}}\n' for t, d, data in records]
    path.write_text("".join(lines), encoding="ascii")


def _read_pcap(path: Path) -> tuple[int, list[tuple[float, bytes]]]:
    raw = path.read_bytes()
    magic, major, minor, _, _, _, linktype = struct.unpack_from("<IHHiIII", raw)
    assert (magic, major, minor) == (0xA1B2C3D4, 2, 4)
    out = []
    at = 24
    while at < len(raw):
        sec, usec, incl, orig = struct.unpack_from("<IIII", raw, at)
        assert incl == orig
        out.append((sec + usec / 1e6, raw[at + 16 : at + 16 + incl]))
        at += 16 + incl
    return linktype, out


STATUS = encode(m.Status(m.State.IDLE, 0xFF, 0, 0, 100, 4100, m.FaultFlags.NONE, m.StatusFlags.NONE, 5), 3)
BAD_CRC = bytearray(encode(m.SetAmplitude(3500), 4))
BAD_CRC[6] ^= 1
BAD_VALUE = frame_bytes(MessageType.EVENT_STATE, 9, bytes.fromhex("02 03 07 ac 0d"))  # cause 7 is undefined


def test_a_capture_exports_to_pcap_cut_where_the_decoder_cuts(tmp_path: Path) -> None:
    rx = b"\x00\xff" + STATUS[:5] + STATUS[5:] + bytes(BAD_CRC) + BAD_VALUE + STATUS[:4]  # ends cut short
    capture = tmp_path / "wire.jsonl"
    _write_capture(tmp_path / "wire.jsonl", [
        (0.001, "tx", encode(m.GetStatus(), 3)),
        (0.002, "rx", rx[:5]),
        (0.003, "rx", rx[5:]),
    ])  # fmt: skip
    assert main(["capture", "export", str(capture), "--format", "pcap", "-o", str(tmp_path / "wire.pcap")]) == 0
    linktype, packets = _read_pcap(tmp_path / "wire.pcap")
    assert linktype == LINKTYPE_USER0
    bodies = [(PSEUDO_HEADER.unpack_from(p)[0], PSEUDO_HEADER.unpack_from(p)[1], p[8:]) for _, p in packets]
    assert bodies == [
        (0, 0, encode(m.GetStatus(), 3)),
        (1, 0, b"\x00\xff"),  # noise
        (1, 2, STATUS),  # split across two reads, one packet
        (1, 2 + len(STATUS), bytes(BAD_CRC)),  # damaged: not a frame
        (1, 2 + len(STATUS) + len(BAD_CRC), BAD_VALUE),  # good CRC, consumed whole
        (1, 2 + len(STATUS) + len(BAD_CRC) + len(BAD_VALUE), STATUS[:4]),
    ]
    # The start time of the capture plus each packet's time (that of its last byte).
    started = datetime(2026, 11, 21, 10, tzinfo=UTC).timestamp()
    assert [t - started for t, _ in packets] == pytest.approx([0.001, 0.002, 0.003, 0.003, 0.003, 0.003], abs=1e-6)


def test_every_byte_is_in_exactly_one_packet() -> None:
    data = bytes(range(256)) * 3 + STATUS + b"\xa5\xc3\x40\x00" + STATUS + bytes(BAD_CRC) + b"\xa5"
    records = [CaptureRecord(i * 0.001, "rx", data[i * 37 : (i + 1) * 37]) for i in range(len(data) // 37 + 1)]
    packets = frame_packets(records)
    assert b"".join(p.data for p in packets) == data
    assert [p.offset for p in packets] == [sum(len(q.data) for q in packets[:i]) for i in range(len(packets))]
    assert [p.data for p in packets if p.frame] == [STATUS, STATUS]


# --- Wireshark ----------------------------------------------------------------------------------


def _real_capture(path: Path) -> None:
    """A session with the emulator over a line that corrupts some bytes on their way to the host."""
    url = "emu://?seed=1&fault=corrupt-bytes:0.004,dir=to-host"
    with scsctl.connect(url, role="technician", operator="ana", data_dir=tempfile.mkdtemp(),
                        transport=EmulatedTransport(url), capture=path) as dev:  # fmt: skip
        dev.status()
        dev.measure_impedance()
        contacts = (ContactSetting(Polarity.ANODE, 100), ContactSetting(Polarity.CATHODE, 100))
        contacts += (ContactSetting(),) * (dev.identity.contacts - 2)
        dev.write_program(Program(slot=1, amplitude_ua=0, pulse_width_us=300, rate_dhz=500, contacts=contacts,
                                  ramp_up_ms=0, patient_max_ua=6000))  # fmt: skip
        dev.select(1)
        dev.start()
        dev.set_amplitude(1200)
        dev.commit()
        dev.stop()


def _tshark_packets(pcap: Path) -> list[dict[str, Any]]:
    done = subprocess.run(
        ["tshark", "-X", f"lua_script:{DISSECTOR}", "-r", str(pcap), "-T", "pdml"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "Lua" not in done.stderr and "error" not in done.stderr.lower(), done.stderr
    packets = []
    for packet in ET.fromstring(done.stdout).iter("packet"):
        proto = next(p for p in packet.iter("proto") if p.get("name") == "scsctl")
        fields = [(f.get("name", ""), f.get("show", ""), f.get("showname", "")) for f in proto.iter("field")]
        first = {name: show for name, show, _ in reversed(fields)}
        packets.append({
            "dir": "tx" if first["scsctl.direction"] == "0" else "rx",
            "offset": int(first["scsctl.stream_offset"]),
            "frame": first["scsctl.frame"],
            "seq": int(first["scsctl.seq"], 0) if "scsctl.seq" in first else None,
            "type": int(first["scsctl.type"], 0) if "scsctl.type" in first else None,
            "size": int(proto.get("size", "0")) - 8,
            # Message fields: scsctl.<payload>.<field>; not flag bits or counts (scsctl.program.contacts.count).
            "fields": [(n, s, sn) for n, s, sn in fields if n.count(".") == 2],
        })  # fmt: skip
    return packets


def _expected_fields(type_name: str, fields: dict[str, Any]) -> list[tuple[str, str]]:
    """``capture decode --json``'s fields as the dissector's field names and shown values."""
    payload = model().message(MessageType[type_name]).payload
    out = []
    for f in payload.fields:
        out.append((f"scsctl.{snake(payload.name)}.{f.name}", str(fields[f.name])))
    if payload.array is not None:
        entry = snake(payload.array.entry)
        for item in fields[payload.array.name]:
            out += [(f"scsctl.{entry}.{f.name}", str(item[f.name])) for f in payload.array.fields]
    return out


def _shown(name: str, show: str) -> str:
    """tshark shows flags in hex; the decoder's JSON has integers."""
    return str(int(show, 16)) if show.startswith("0x") else show


def _compare_with_tshark(capture: Path, capsys: pytest.CaptureFixture[str]) -> tuple[list[Any], list[Any]]:
    """Decode ``capture`` with ``scsctl capture decode --json`` and with tshark on its pcap; assert they
    agree. Returns (decoded items, tshark packets)."""
    pcap = capture.with_suffix(".pcap")
    capsys.readouterr()
    code = main(["capture", "decode", str(capture), "--json"])
    decoded = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == (9 if any("invalid" in d for d in decoded) else 0)  # 9: something did not decode
    assert main(["capture", "export", str(capture), "--format", "pcap", "-o", str(pcap)]) == 0
    shark = _tshark_packets(pcap)
    frames = [d for d in decoded if "invalid" not in d]
    valid_packets = [p for p in shark if p["frame"] == "valid"]
    # The same frames, in the same order in each direction, with the same seq, type and fields.
    for direction in ("tx", "rx"):
        ours = [d for d in frames if d["dir"] == direction]
        theirs = [p for p in valid_packets if p["dir"] == direction]
        assert [(d["seq"], d["type"]) for d in ours] == [(p["seq"], MessageType(p["type"]).name) for p in theirs]
        for d, p in zip(ours, theirs, strict=True):
            shown = [(name, _shown(name, show)) for name, show, _ in p["fields"]]
            assert shown == _expected_fields(d["type"], d["fields"]), d
            # Enums by the same names: "state: STIMULATING (3)".
            for name, show, showname in p["fields"]:
                field = name.rsplit(".", 1)[1]
                if field in ENUM_FIELDS:
                    assert showname == f"{field}: {ENUM_FIELDS[field][0](int(show)).name} ({show})"
    # Every invalid frame the decoder reports: with a good CRC, a packet of its own with the same reason
    # (and field); otherwise inside a packet tshark shows as not a frame.
    for d in decoded:
        if "invalid" not in d:
            continue
        if d["invalid"] in ("unknown_type", "bad_length", "bad_value"):
            match = [p for p in shark if p["dir"] == d["dir"] and p["offset"] == d["offset"]]
            reason = d["invalid"] + (f" ({d['field']})" if d["field"] else "")
            assert [p["frame"] for p in match] == [reason], d
        else:
            around = [p for p in shark if p["dir"] == d["dir"] and p["offset"] <= d["offset"] < p["offset"] + p["size"]]
            assert [p["frame"] for p in around] == ["not a frame"], d
    capsys.readouterr()
    return decoded, shark


def test_tshark_shows_what_capture_decode_shows_for_a_real_session(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    require_program("tshark")
    capture = tmp_path / "session.jsonl"
    _real_capture(capture)
    decoded, shark = _compare_with_tshark(capture, capsys)
    assert len([d for d in decoded if "invalid" not in d]) > 40, "a session of some length"
    assert any(p["frame"] == "not a frame" for p in shark), "and some damage on the line"


def test_tshark_shows_what_capture_decode_shows_for_every_golden_vector(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    require_program("tshark")
    vectors = json.loads((DISSECTOR.parents[1] / "vectors" / "vectors.json").read_text(encoding="utf-8"))["vectors"]
    # One stream; the vector that ends cut short goes last, so that it swallows nothing after it.
    ordered = sorted(vectors, key=lambda v: v["name"] == "truncated_at_end")
    capture = tmp_path / "vectors.jsonl"
    _write_capture(capture, [(i * 0.001, "rx", bytes.fromhex(v["hex"])) for i, v in enumerate(ordered)])
    decoded, shark = _compare_with_tshark(capture, capsys)
    assert {d["type"] for d in decoded if "invalid" not in d} == {t.name for t in MessageType}
    shown = {p["frame"] for p in shark}
    assert {"valid", "unknown_type", "bad_length", "not a frame"} <= shown
    assert {"bad_value (serial_number)", "bad_value (polarity)", "bad_value (code)"} <= shown

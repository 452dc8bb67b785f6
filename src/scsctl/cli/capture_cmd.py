"""``scsctl capture decode|export|replay``: read, convert and re-run a wire capture (``--capture FILE``)."""

from __future__ import annotations

import argparse
from typing import Any

from .common import add_device_options

REPLAY_DIFFERS = 7
"""Exit status of ``capture replay`` when the device answered differently (see EXIT_CODES)."""


def register(sub: Any) -> None:
    cap = sub.add_parser("capture", help="decode, export or replay a wire capture", description="Wire captures.")
    cap_sub = cap.add_subparsers(dest="capture_command", metavar="ACTION", required=True)
    p = cap_sub.add_parser("decode", help="print the frames of a capture, and where anything does not decode")
    p.add_argument("file")
    p.add_argument("--json", action="store_true", help="one JSON object a line: fields as integers, as on the wire")
    p.set_defaults(handler=_decode)
    p = cap_sub.add_parser(
        "export",
        help="write a capture as a pcap file for Wireshark (with firmware_protocol/wireshark/scsctl.lua)",
        description="Write the capture as a pcap file: link type LINKTYPE_USER0 (147), one packet per frame "
        "and one per run of bytes that is not a frame, each after an 8-byte pseudo-header (direction, 3 "
        "reserved bytes, stream offset). Open it with: wireshark -X "
        "lua_script:firmware_protocol/wireshark/scsctl.lua FILE.pcap",
    )
    p.add_argument("file")
    p.add_argument("--format", choices=("pcap",), default="pcap", help="pcap (the only format so far)")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="the file to write (- for stdout)")
    p.set_defaults(handler=_export)
    p = cap_sub.add_parser("replay", help="send the host side again and report differences in the replies")
    p.add_argument("file")
    add_device_options(p, json_output=False)
    p.set_defaults(handler=_replay)


def _frames(file: str) -> list[tuple[float, str, Any, int]]:
    """(time, direction, Frame | InvalidFrame, stream offset) for every item, in order."""
    from firmware_protocol import Decoder

    from ..controller import read_capture

    decoders = {"tx": Decoder(), "rx": Decoder()}
    out: list[tuple[float, str, Any, int]] = []
    for record in read_capture(file):
        for item in decoders[record.direction].feed(record.data):
            out.append((record.t_s, record.direction, item, getattr(item, "offset", -1)))
    for direction, decoder in decoders.items():
        for item in decoder.flush():
            out.append((float("nan"), direction, item, getattr(item, "offset", -1)))
    return out


def _decode(args: argparse.Namespace) -> int:
    from firmware_protocol import Frame

    if args.json:
        return _decode_json(args.file)
    bad = 0
    for t, direction, item, offset in _frames(args.file):
        arrow = "->" if direction == "tx" else "<-"
        if isinstance(item, Frame):
            print(f"{t:10.6f} {arrow} seq {item.seq:3}  {describe(item.message)}")
        else:
            bad += 1
            print(f"{t:10.6f} {arrow} !! {item.reason.value} at {direction} byte offset {offset}")
    if bad:
        print(f"{bad} frame(s) did not decode")
    return 0


def _decode_json(file: str) -> int:
    """``{"t", "dir", "seq", "type", "fields"}`` for a frame (fields as vectors.json gives them), or
    ``{"t", "dir", "invalid": reason, "offset", "seq", "type", "field"}`` for an invalid one."""
    import json
    import math

    from firmware_protocol import Frame
    from firmware_protocol import messages as m

    for t, direction, item, offset in _frames(file):
        time_s = None if math.isnan(t) else round(t, 6)
        if isinstance(item, Frame):
            line: dict[str, Any] = {"t": time_s, "dir": direction, "seq": item.seq, "type": item.message.TYPE.name,
                                    "fields": m.to_fields(item.message)}  # fmt: skip
        else:
            line = {"t": time_s, "dir": direction, "invalid": item.reason.value, "offset": offset,
                    "seq": item.seq, "type": item.msg_type, "field": item.field}  # fmt: skip
        print(json.dumps(line))
    return 0


def _export(args: argparse.Namespace) -> int:
    import contextlib
    import sys

    from ..controller import capture_started, frame_packets, read_capture, write_pcap
    from ..errors import UsageError

    packets = frame_packets(read_capture(args.file))
    started = capture_started(args.file)
    try:
        with contextlib.ExitStack() as stack:
            out = sys.stdout.buffer if args.output == "-" else stack.enter_context(open(args.output, "wb"))
            count = write_pcap(out, packets, started)
    except OSError as err:
        raise UsageError(f"cannot write {args.output}: {err.strerror or err}") from err
    if args.output != "-":
        frames = sum(p.frame for p in packets)
        print(f"wrote {count} packets ({frames} frames, {count - frames} not frames) to {args.output}")
    return 0


def describe(message: Any) -> str:
    """One message on one line: its type, then its fields with enums by name and electrodes as 1+ 2-."""
    from firmware_protocol import messages as m

    from ..parsing import format_electrodes

    fields = m.to_readable(message)
    if isinstance(message, m.SetProgram | m.ProgramData):
        fields["contacts"] = format_electrodes(message.program.contacts) or "none"
    text = " ".join(f"{k}={'|'.join(v) if isinstance(v, list) and all(isinstance(x, str) for x in v) else v}"
                    for k, v in fields.items())  # fmt: skip
    return f"{message.TYPE.name} {text}".rstrip()


def _replay(args: argparse.Namespace) -> int:
    """Send the recorded host commands again, through the guard and the audit log like any other.

    Each is sent exactly as recorded or not at all: a stimulation command the active profile would
    refuse (or split into a ramp) is reported as a difference, never sent.
    """
    from firmware_protocol import Decoder, Frame
    from firmware_protocol import messages as m
    from firmware_protocol.constants import is_event

    from ..controller import read_capture
    from ..errors import DeviceRefused, SafetyRefusal, UsageError
    from .common import open_device, require_port

    require_port(args)
    recorded: dict[int, list[Any]] = {}
    sent: list[Frame] = []
    tx, rx = Decoder(), Decoder()
    for record in read_capture(args.file):
        for item in (tx if record.direction == "tx" else rx).feed(record.data):
            if not isinstance(item, Frame):
                continue
            if record.direction == "tx":
                sent.append(item)
            elif not is_event(item.message.TYPE):
                recorded.setdefault(item.seq, []).append(item.message)
    if not sent:
        raise UsageError(f"{args.file} holds no host frames to replay")
    differences = 0
    replayed = 0
    with open_device(args) as dev:
        for frame in sent:
            expected = recorded[frame.seq].pop(0) if recorded.get(frame.seq) else None
            if isinstance(frame.message, m.Hello):
                continue  # connecting said HELLO already
            replayed += 1
            try:
                now: Any = dev.request(frame.message)
            except DeviceRefused as err:
                now = ("NAK", err.reason.name, err.param.name)
            except SafetyRefusal as err:
                differences += 1
                print(f"seq {frame.seq} {frame.message.TYPE.name}: not sent, refused by the guard: {err}")
                continue
            if _comparable(now) != _comparable(expected):
                differences += 1
                was = describe(expected) if expected is not None else "no reply"
                print(f"seq {frame.seq} {frame.message.TYPE.name}: recorded {was}, now {_describe_any(now)}")
    print(f"replayed {replayed} frame(s): {differences} difference(s)")
    return REPLAY_DIFFERS if differences else 0


def _describe_any(reply: Any) -> str:
    if isinstance(reply, tuple):
        return f"NAK reason={reply[1]} param={reply[2]}"
    return describe(reply)


def _comparable(message: Any) -> Any:
    """Replies that change by themselves (uptime, battery, measured values) compare by type only."""
    from firmware_protocol import messages as m

    if isinstance(message, m.Status | m.Impedance | m.Usage | m.Identify):
        return type(message)
    if isinstance(message, m.Nak):
        return ("NAK", message.reason.name, message.param.name)
    return message

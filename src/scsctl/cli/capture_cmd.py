"""``scsctl capture decode|export|replay``: read, convert and re-run a wire capture (``--capture FILE``)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from .common import add_device_options

if TYPE_CHECKING:
    from ..controller import CaptureFile, DamagedLine, Identity

REPLAY_DIFFERS = 7
"""Exit status of ``capture replay`` when the device differs from the recording (see EXIT_CODES)."""
CAPTURE_DAMAGED = 9
"""Exit status of ``capture decode`` and ``export`` when part of the capture did not decode (EXIT_CODES)."""


def register(sub: Any) -> None:
    cap = sub.add_parser("capture", help="decode, export or replay a wire capture", description="Wire captures.")
    cap_sub = cap.add_subparsers(dest="capture_command", metavar="ACTION", required=True)
    p = cap_sub.add_parser(
        "decode",
        help="print the frames of a capture, and where anything does not decode",
        description="Print every frame of a capture (--capture FILE), and where anything does not decode: an "
        "invalid frame with its stream offset, a line of the file that is not a record (cut short by a crash, "
        f"say) with its line and file byte; everything else is still decoded. Exit {CAPTURE_DAMAGED} when "
        "anything did not decode.",
    )
    p.add_argument("file", help="the capture file (- for standard input)")
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
    p.add_argument("file", help="the capture file (- for standard input)")
    p.add_argument("--format", choices=("pcap",), default="pcap", help="pcap (the only format so far)")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="the file to write (- for stdout)")
    p.set_defaults(handler=_export)
    p = cap_sub.add_parser(
        "replay",
        help="send the host side again and report differences in the replies",
        description="Send the recorded host commands to a device again and list every difference in its replies. "
        "The device's model, protocol version and firmware are compared with the recorded IDENTIFY first; "
        f"another model is refused before anything recorded is sent (exit {REPLAY_DIFFERS}) unless "
        "--allow-other-model is given. Every command passes the safety guard of this session.",
    )
    p.add_argument("file", help="the capture file (- for standard input)")
    p.add_argument(
        "--allow-other-model",
        action="store_true",
        help="replay on a device of another model than the recorded one (recorded in the audit log); every "
        "difference is listed",
    )
    add_device_options(p, json_output=False)
    p.set_defaults(handler=_replay)


Entry = tuple[float, str, Any, int]
"""(time, direction, Frame | InvalidFrame, stream offset) of one decoded item."""


def _entries(capture: CaptureFile) -> list[Entry | DamagedLine]:
    """Every decoded item and every line that is not a record, in file order (then what the
    decoders still held at the end: frames cut short)."""
    from firmware_protocol import Decoder

    from ..controller import DamagedLine

    decoders = {"tx": Decoder(), "rx": Decoder()}
    out: list[Entry | DamagedLine] = []
    for line in capture.lines:
        if isinstance(line, DamagedLine):
            out.append(line)
            if line.kept is None:
                continue
            record = line.kept
        else:
            record = line
        for item in decoders[record.direction].feed(record.data):
            out.append((record.t_s, record.direction, item, getattr(item, "offset", -1)))
    for direction, decoder in decoders.items():
        for item in decoder.flush():
            out.append((float("nan"), direction, item, getattr(item, "offset", -1)))
    return out


def _decode(args: argparse.Namespace) -> int:
    from firmware_protocol import Frame

    from ..controller import DamagedLine, load_capture

    capture = load_capture(args.file)
    entries = _entries(capture)
    if args.json:
        _decode_json(entries)
    bad = damaged = 0
    for entry in entries:
        if isinstance(entry, DamagedLine):
            damaged += 1
            if not args.json:
                print(f"{'':10} !! {entry}")
            continue
        t, direction, item, offset = entry
        if isinstance(item, Frame):
            if not args.json:
                print(f"{t:10.6f} {'->' if direction == 'tx' else '<-'} seq {item.seq:3}  {describe(item.message)}")
            continue
        bad += 1
        if not args.json:
            when = f"{t:10.6f}" if t == t else f"{'end':>10}"  # NaN: a frame the capture ends inside
            arrow = "->" if direction == "tx" else "<-"
            print(f"{when} {arrow} !! {item.reason.value} at {direction} byte offset {offset}")
    if not bad and not damaged:
        return 0
    summary = []
    if bad:
        summary.append(f"{bad} frame(s) did not decode")
    if damaged:
        summary.append(f"{damaged} line(s) of {capture.name} are not records (the rest was decoded)")
    print("; ".join(summary), file=sys.stderr if args.json else sys.stdout)
    return CAPTURE_DAMAGED


def _decode_json(entries: list[Entry | DamagedLine]) -> None:
    """One JSON object a line: ``{"t", "dir", "seq", "type", "fields"}`` for a frame (fields as
    vectors.json gives them), ``{"t", "dir", "invalid": reason, "offset", "seq", "type", "field"}``
    for an invalid one, ``{"line", "file_offset", "damaged": problem, "reason"}`` for a line of the
    file that is not a record."""
    import json
    import math

    from firmware_protocol import Frame
    from firmware_protocol import messages as m

    from ..controller import DamagedLine

    for entry in entries:
        if isinstance(entry, DamagedLine):
            line: dict[str, Any] = {"line": entry.line, "file_offset": entry.offset, "damaged": entry.problem.value,
                                    "reason": entry.reason}  # fmt: skip
        else:
            t, direction, item, offset = entry
            time_s = None if math.isnan(t) else round(t, 6)
            if isinstance(item, Frame):
                line = {"t": time_s, "dir": direction, "seq": item.seq, "type": item.message.TYPE.name,
                        "fields": m.to_fields(item.message)}  # fmt: skip
            else:
                line = {"t": time_s, "dir": direction, "invalid": item.reason.value, "offset": offset,
                        "seq": item.seq, "type": item.msg_type, "field": item.field}  # fmt: skip
        print(json.dumps(line))


def _export(args: argparse.Namespace) -> int:
    import contextlib

    from ..controller import STDIO, frame_packets, load_capture, write_pcap
    from ..errors import UsageError

    capture = load_capture(args.file)
    packets = frame_packets(capture.records)
    try:
        with contextlib.ExitStack() as stack:
            out = sys.stdout.buffer if args.output == STDIO else stack.enter_context(open(args.output, "wb"))
            count = write_pcap(out, packets, capture.started)
    except OSError as err:
        raise UsageError(f"cannot write {args.output}: {err.strerror or err}") from err
    for line in capture.damaged:
        print(f"scsctl: {capture.name}, {line}: not exported", file=sys.stderr)
    if args.output != STDIO:
        frames = sum(p.frame for p in packets)
        print(f"wrote {count} packets ({frames} frames, {count - frames} not frames) to {args.output}")
    return CAPTURE_DAMAGED if capture.damaged else 0


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

    First the device must be the kind recorded: its model, protocol version and firmware are
    compared with the recorded IDENTIFY before any recorded command is sent, and another model is
    refused (nothing sent) unless ``--allow-other-model`` asks for it, which is audited. Each
    command is then sent exactly as recorded or not at all: a stimulation command the active
    profile would refuse (or split into a ramp) is reported as a difference, never sent.
    """
    from firmware_protocol import Decoder, Frame
    from firmware_protocol import messages as m
    from firmware_protocol.constants import is_event

    from ..controller import load_capture
    from ..errors import DeviceRefused, SafetyRefusal, UsageError
    from .common import open_device, require_port

    require_port(args)
    capture = load_capture(args.file)
    if capture.damaged and not capture.cut_at_end_only:
        first = capture.damaged[0]
        raise UsageError(
            f"{capture.name}, {first}: a replay sends what was recorded, and this capture has "
            f"{len(capture.damaged)} line(s) that are not records; nothing was sent (`scsctl capture decode` "
            "shows them)"
        )
    for line in capture.damaged:
        print(f"note: {capture.name}, {line}: the complete records before it are replayed")
    recorded: dict[int, list[Any]] = {}
    sent: list[Frame] = []
    tx, rx = Decoder(), Decoder()
    identify: m.Identify | None = None
    for record in capture.records:
        for item in (tx if record.direction == "tx" else rx).feed(record.data):
            if not isinstance(item, Frame):
                continue
            if record.direction == "tx":
                sent.append(item)
            elif not is_event(item.message.TYPE):
                if isinstance(item.message, m.Identify) and identify is None:
                    identify = item.message
                recorded.setdefault(item.seq, []).append(item.message)
    if not sent:
        raise UsageError(f"{capture.name} holds no host frames to replay")
    with open_device(args) as dev:
        differences = _compare_device(args, capture.name, identify, dev)
        if differences is None:
            return REPLAY_DIFFERS  # another model, not asked for: refused, nothing recorded was sent
        replayed = 0
        for frame in sent:
            expected = recorded[frame.seq].pop(0) if recorded.get(frame.seq) else None
            if isinstance(frame.message, m.Hello):
                continue  # connecting said HELLO already; its IDENTIFY was compared above
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


_IDENTITY = (
    ("model_id", "model", lambda v: f"0x{v:04X}"),
    ("protocol_version", "protocol version", str),
    ("firmware", "firmware", str),
    ("hardware_revision", "hardware revision", str),
    ("contact_count", "contacts", str),
    ("program_slots", "program slots", str),
    ("capabilities", "capabilities", lambda v: ", ".join(v) or "none"),
)
"""What is compared of the recorded IDENTIFY and the device's, in this order; the model first."""


def _identity_fields(ident: Identity) -> dict[str, Any]:
    return {
        "model_id": ident.model_id,
        "protocol_version": ident.protocol_version,
        "firmware": ident.firmware,
        "hardware_revision": ident.hardware_revision,
        "contact_count": ident.contacts,
        "program_slots": ident.program_slots,
        "capabilities": list(ident.capabilities),
        "serial": ident.serial,
    }


def _compare_device(args: argparse.Namespace, name: str, recorded: Any, dev: Any) -> int | None:
    """Compare the recorded IDENTIFY with the device; the number of differences, or None when the
    replay is refused (another model, or none recorded, without ``--allow-other-model``)."""
    from ..controller import Identity
    from ..profiles import profile_for_model

    now = _identity_fields(dev.identity)
    if recorded is None:
        why = f"{name} holds no IDENTIFY (the capture began after HELLO), so it does not say which device it was"
        if not args.allow_other_model:
            print(f"scsctl: error: replay refused: {why}; nothing was sent (--allow-other-model replays it "
                  "anyway, audited)", file=sys.stderr)  # fmt: skip
            dev.audit.record("refusal", "REPLAY", {"file": name, "reason": why})
            return None
        dev.audit.record("action", "REPLAY_OTHER_MODEL", {"file": name, "reason": why, "device": now})
        print(f"replaying on {dev.identity.profile} although {why} (--allow-other-model)")
        return 0
    was = _identity_fields(Identity.from_message(recorded, ""))
    if was["model_id"] != now["model_id"]:
        try:
            recorded_model = f"{profile_for_model(was['model_id']).name} (0x{was['model_id']:04X})"
        except Exception:  # noqa: BLE001 - a model no profile here knows is still named by its id
            recorded_model = f"0x{was['model_id']:04X}"
        here = f"{dev.identity.profile} (0x{now['model_id']:04X})"
        what = f"{name} was recorded on {recorded_model}; this device is {here}"
        if not args.allow_other_model:
            print(f"scsctl: error: replay refused: {what}; nothing was sent (--allow-other-model replays it on "
                  "another model anyway, audited)", file=sys.stderr)  # fmt: skip
            dev.audit.record("refusal", "REPLAY", {"file": name, "reason": "another model", "recorded": was,
                                                   "device": now})  # fmt: skip
            return None
        dev.audit.record("action", "REPLAY_OTHER_MODEL", {"file": name, "recorded": was, "device": now})
        print(f"replaying on another model, as asked (--allow-other-model): {what}")
    differences = 0
    for key, label, show in _IDENTITY:
        if was[key] != now[key]:
            differences += 1
            print(f"IDENTIFY {label}: recorded {show(was[key])}, now {show(now[key])}")
    if was["serial"] != now["serial"]:
        print(f"note: another unit: recorded serial {was['serial']}, now {now['serial']}")
    return differences


def _describe_any(reply: Any) -> str:
    if isinstance(reply, tuple):
        return f"NAK reason={reply[1]} param={reply[2]}"
    return describe(reply)


def _comparable(message: Any) -> Any:
    """Replies that change by themselves (uptime, battery, measured values, counts) compare by type only."""
    from firmware_protocol import messages as m

    if isinstance(message, m.Status | m.Impedance | m.Usage | m.Identify | m.Counters):
        return type(message)
    if isinstance(message, m.Nak):
        return ("NAK", message.reason.name, message.param.name)
    return message

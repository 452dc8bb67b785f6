"""Frames an engineer types by hand (the TUI's raw-frame console): reading them, and what came back.

``read_raw_frame`` takes what was typed and returns the one message it holds, or raises
``UsageError`` naming what is wrong (a character that is not hex, an odd digit, an unknown type,
a payload that does not fit its type, a damaged frame's check that fails): nothing is sent then.
Three ways of writing a frame are read::

    GET_STATUS                      a message type by name, with its payload in hex after it
    11 00                           the type's code, then the payload: READ_PROGRAM slot 0
    A5 C3 00 FF 02 07 26 5D         a whole frame, from its sync bytes to its CRC (GET_STATUS, seq 7)

A whole frame's sequence number is not the one sent: the session numbers its own requests, so a
reply is matched to its request. A damaged frame (a CRC or length check that fails) is not sent at
all: the link carries frames the protocol allows; the pytest plugin's raw sender, which owns the
port, is the tool for damaged frames in negative tests.

``Device.send_raw`` sends the message under the rules of ``Device.request`` (a stimulation command
only when the guard approves it unchanged) for the engineer role only, and records the frame and
its reply as ``RAW_FRAME``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from firmware_protocol import MAX_PAYLOAD, Decoder, Frame, InvalidFrame, InvalidReason, MessageType, decode_payload
from firmware_protocol import messages as m
from firmware_protocol.codec import encode_payload
from firmware_protocol.constants import HEADER_SIZE, SYNC, is_command

from ..audit import AuditRecord
from ..errors import UsageError

__all__ = ["RAW_FRAME_EXAMPLES", "RawExchange", "payload_hex", "read_raw_frame"]

RAW_FRAME_EXAMPLES = "GET_STATUS, 11 00 (READ_PROGRAM slot 0), or a whole frame from A5 C3"
"""What the console shows as examples of what may be typed."""

_NOT_HEX = re.compile(r"[^0-9A-Fa-f]")


@dataclass(frozen=True, slots=True)
class RawExchange:
    """One raw frame sent and what the device answered, with the audit records it left."""

    sent: m.Message
    reply: m.Message
    """The device's answer; a NAK too (``refused`` then says what it means)."""
    records: tuple[AuditRecord, ...] = ()
    refused: str = ""
    """The device's refusal in words, when ``reply`` is a NAK."""


def payload_hex(message: m.Message) -> str:
    """A message's payload as the wire carries it, in hex (``-`` when it has none)."""
    return encode_payload(message).hex(" ").upper() or "-"


def read_raw_frame(text: str) -> m.Message:
    """The message ``text`` holds (see the module's docstring); ``UsageError`` naming what is wrong."""
    words = text.replace(",", " ").split()
    if not words:
        raise UsageError(f"nothing typed: type a message type and its payload in hex ({RAW_FRAME_EXAMPLES})")
    named = _type_by_name(words[0])
    data = _hex_bytes(words[1:] if named is not None else words, text)
    if named is not None:
        return _message(int(named), data)
    if data[: len(SYNC)] == SYNC:
        return _from_frame(data)
    if not data:
        raise UsageError("nothing typed: type a message type and its payload in hex")
    return _message(data[0], data[1:])


def _type_by_name(word: str) -> MessageType | None:
    if not re.fullmatch(r"[A-Za-z][A-Za-z_]+", word) or re.fullmatch(r"[0-9A-Fa-f]+", word):
        return None  # hex digits only (e.g. "AB"): a code, not a name
    try:
        return MessageType[word.upper()]
    except KeyError:
        known = ", ".join(t.name for t in MessageType if is_command(t))
        raise UsageError(f"{word!r} is not a message type; the commands are {known}") from None


def _hex_bytes(words: list[str], text: str) -> bytes:
    digits = "".join(w[2:] if w[:2].lower() == "0x" else w for w in words)
    bad = _NOT_HEX.search(digits)
    if bad is not None:
        raise UsageError(
            f"{bad.group()!r} is not a hex digit (0-9, A-F) in {text.strip()!r}: bytes are typed as pairs of hex digits"
        )
    if len(digits) % 2:
        raise UsageError(
            f"{len(digits)} hex digits in {text.strip()!r}: a byte is two digits, so one is missing or one too many"
        )
    return bytes.fromhex(digits)


def _message(msg_type: int, payload: bytes) -> m.Message:
    try:
        known = MessageType(msg_type)
    except ValueError:
        raise UsageError(f"0x{msg_type:02X} is not a message type of the protocol") from None
    if not is_command(msg_type):
        raise UsageError(
            f"{known.name} (0x{msg_type:02X}) is what a device sends, not a command: the host sends types 0x01 to 0x3F"
        )
    if len(payload) > MAX_PAYLOAD:
        raise UsageError(f"a payload of {len(payload)} bytes: a frame carries at most {MAX_PAYLOAD}")
    try:
        return decode_payload(msg_type, payload)
    except ValueError as err:
        raise UsageError(str(err)) from None


def _from_frame(data: bytes) -> m.Message:
    decoder = Decoder()
    found = decoder.feed(data) + decoder.flush()
    if len(found) == 1 and isinstance(found[0], Frame) and decoder.discarded_bytes == 0:
        return found[0].message
    first = found[0] if found else None
    if isinstance(first, InvalidFrame):
        raise UsageError(_why_invalid(first, data))
    if isinstance(first, Frame):
        size = HEADER_SIZE + data[2] + 2
        raise UsageError(f"{len(data) - size} byte(s) after the end of the frame (its length byte says {size} bytes)")
    raise UsageError("not a frame: it starts with the sync bytes A5 C3 but holds no whole frame")


def _why_invalid(frame: InvalidFrame, data: bytes) -> str:
    what = "the frame"
    if frame.msg_type is not None:
        try:
            what = f"the {MessageType(frame.msg_type).name} frame"
        except ValueError:
            what = f"the frame of type 0x{frame.msg_type:02X}"
    if frame.reason is InvalidReason.BAD_LENGTH_CHECK:
        return (
            f"{what}: its length byte (0x{data[2]:02X}) and its check byte (0x{data[3]:02X}) disagree: "
            f"the check byte is the length XOR FF (0x{data[2] ^ 0xFF:02X})"
        )
    if frame.reason is InvalidReason.TRUNCATED:
        wanted = HEADER_SIZE + data[2] + 2 if len(data) > 2 else HEADER_SIZE
        return f"{what} is cut short: {len(data)} bytes typed, its header says {wanted}"
    if frame.reason is InvalidReason.BAD_CRC:
        return f"{what}: its CRC (the last two bytes) does not match its content: a damaged frame is not sent"
    if frame.reason is InvalidReason.UNKNOWN_TYPE:
        return f"{what}: 0x{frame.msg_type or 0:02X} is not a message type of the protocol"
    if frame.reason is InvalidReason.BAD_LENGTH:
        return f"{what}: its payload does not fit the type's layout"
    field = f" (field {frame.field})" if frame.field else ""
    return f"{what}: a field holds a value the protocol does not define{field}"

"""Sans-IO codec: bytes in, frames out; messages in, bytes out. No I/O, threads or clocks.

``Decoder.feed(data)`` takes whatever a read returned (garbage, half a frame, three frames) and
returns, in order, a :class:`Frame` for each valid frame and an :class:`InvalidFrame` for each
frame-shaped thing that failed a check. It never raises on input, and its buffer never holds more
than one maximum-size frame. ``encode(message, seq)`` returns the frame's bytes.

Resynchronisation (PROTOCOL.md, 'Receiver rules'): on any failed check the decoder drops only the
first sync byte and scans again, so a valid frame that started inside a damaged one is still found.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Callable
from dataclasses import dataclass, fields
from enum import IntEnum, IntFlag, StrEnum
from operator import attrgetter, itemgetter
from typing import Any

from construct import ConstructError

from . import wire
from .constants import (
    CRC_SIZE,
    HEADER_SIZE,
    MAX_PAYLOAD,
    SYNC,
    MessageType,
    NakReason,
    Param,
    Polarity,
)
from .crc import crc16
from .errors import LocalProtocolError
from .layout import Layout, LayoutError, LayoutValueError, _Array
from .messages import (
    ARRAY_LIMITS,
    ENUM_FIELDS,
    FLAG_FIELDS,
    MESSAGE_CLASSES,
    MESSAGE_FLAGS,
    RESPONSE_TYPES,
    ContactSetting,
    ImpedanceReading,
    Message,
    Program,
    UsageEvent,
    to_fields,
)

_SYNC0 = SYNC[0]


class InvalidReason(StrEnum):
    BAD_LENGTH_CHECK = "bad_length_check"
    """The length byte and its check byte disagree: the header cannot be trusted."""
    BAD_CRC = "bad_crc"
    UNKNOWN_TYPE = "unknown_type"
    BAD_LENGTH = "bad_length"
    """The CRC is right but the payload does not fit the type's layout."""
    BAD_VALUE = "bad_value"
    """A field holds a value the protocol does not define (enum, count, string)."""
    TRUNCATED = "truncated"
    """A partial frame was dropped by ``Decoder.flush()``."""


_NAK_FOR = {
    InvalidReason.BAD_CRC: NakReason.BAD_CRC,
    InvalidReason.UNKNOWN_TYPE: NakReason.UNKNOWN_COMMAND,
    InvalidReason.BAD_LENGTH: NakReason.BAD_LENGTH,
    InvalidReason.BAD_VALUE: NakReason.OUT_OF_RANGE,
}


@dataclass(frozen=True, slots=True)
class Frame:
    """A valid frame: its sequence number and the decoded message."""

    seq: int
    message: Message


@dataclass(frozen=True, slots=True)
class InvalidFrame:
    """A frame that failed a check. ``seq``/``msg_type`` are None when the header was untrusted."""

    reason: InvalidReason
    offset: int
    """Position of its first sync byte in the stream fed since the decoder was created."""
    seq: int | None = None
    msg_type: int | None = None
    field: str | None = None
    param: Param = Param.NONE

    @property
    def nak_reason(self) -> NakReason | None:
        """What a device answers to this frame, or None when it must stay silent."""
        return _NAK_FOR.get(self.reason)


Decoded = Frame | InvalidFrame


class _BadValue(Exception):
    def __init__(self, field: str, param: Param) -> None:
        self.field = field
        self.param = param


@functools.cache
def _flags(cls: type[IntFlag]) -> Callable[[int], IntFlag]:
    """``cls(value)``, remembered for the values seen most recently: a flag field holds the same
    few values frame after frame (every STATUS carries two), and building an ``IntFlag`` member
    from an int takes several times longer than looking it up."""
    return functools.lru_cache(maxsize=256)(cls)


def _lookup(name: str, cls: type[IntEnum], param: Param) -> Callable[[int], Any]:
    members = {int(m): m for m in cls}

    def convert(value: int) -> Any:
        member = members.get(value)
        if member is None:
            raise _BadValue(name, param)
        return member

    return convert


# Contact settings are immutable and few (3 polarities x 256 shares): share one object for each.
_CONTACTS = {(int(p), share): ContactSetting(p, share) for p in Polarity for share in range(256)}


def _bounded(name: str, items: list[Any]) -> None:
    most, param = ARRAY_LIMITS[name]
    if len(items) > most:
        raise _BadValue(name, param)


def _contacts(items: list[tuple[int, int]]) -> tuple[ContactSetting, ...]:
    _bounded("contacts", items)
    try:
        return tuple(map(_CONTACTS.__getitem__, items))
    except KeyError:
        raise _BadValue("polarity", Param.CONTACT_POLARITY) from None


def _converter(msg_type: MessageType, name: str) -> Callable[[Any], Any] | None:
    """How one flat wire value becomes a message field; None where it is used as it is."""
    if name in ENUM_FIELDS:
        return _lookup(name, *ENUM_FIELDS[name])
    if name in FLAG_FIELDS:
        return _flags(FLAG_FIELDS[name])
    if name == "flags":
        return _flags(MESSAGE_FLAGS[msg_type])
    if name == "contacts" and msg_type in _PROGRAM_TYPES:
        return _contacts
    if name == "contacts":
        status = _lookup("status", *ENUM_FIELDS["status"])

        def readings(items: list[tuple[int, int]]) -> tuple[ImpedanceReading, ...]:
            _bounded("contacts", items)
            return tuple(ImpedanceReading(ohm, status(st)) for ohm, st in items)

        return readings
    if name == "events":
        code = _lookup("code", *ENUM_FIELDS["code"])

        def events(items: list[tuple[int, int, int]]) -> tuple[UsageEvent, ...]:
            _bounded("events", items)
            return tuple(UsageEvent(t, code(c), d) for t, c, d in items)

        return events
    return None


_PROGRAM_TYPES = (MessageType.SET_PROGRAM, MessageType.PROGRAM)
_CONTACT_PAIR = attrgetter("polarity", "share_pct")
_LAYOUTS: dict[MessageType, Layout] = {t: Layout(d) for t, d in wire.PAYLOADS.items()}


def _make_decoder(msg_type: MessageType) -> Callable[[list[Any]], Message]:
    cls = MESSAGE_CLASSES[msg_type]
    names = _LAYOUTS[msg_type].names
    plan = [(i, conv) for i, n in enumerate(names) if (conv := _converter(msg_type, n))]
    wrap = msg_type in _PROGRAM_TYPES
    target = Program if wrap else cls
    order = [f.name for f in fields(target)]  # type: ignore[arg-type]
    for name in order:
        if name not in names:
            raise TypeError(f"{cls.__name__}.{name} is not a wire field of {msg_type.name}")
    if sorted(order) != sorted(names):
        raise TypeError(f"{target.__name__} and the {msg_type.name} layout have different fields")
    # Wire order -> the dataclass's field order, so the object is built positionally.
    if not order:
        empty = cls()

        def decode_empty(values: list[Any]) -> Message:
            return empty

        return decode_empty
    positions = [names.index(name) for name in order]
    arrange = itemgetter(*positions) if len(positions) > 1 else (lambda values: (values[positions[0]],))

    def decode(values: list[Any]) -> Message:
        for i, conv in plan:
            values[i] = conv(values[i])
        args = arrange(values)
        return cls(Program(*args)) if wrap else cls(*args)  # type: ignore[call-arg]

    return decode


def _make_encoder(msg_type: MessageType) -> Callable[[Message], list[Any]]:
    names = _LAYOUTS[msg_type].names
    if msg_type in _PROGRAM_TYPES:
        scalars = [n for n in names if n != "contacts"]
        if names[-1] != "contacts":
            raise TypeError("the program layout must end with its contacts")

        get_scalars = attrgetter(*scalars)

        def encode_program(message: Message) -> list[Any]:
            p: Program = message.program  # type: ignore[attr-defined]
            values: list[Any] = list(get_scalars(p))
            values.append(list(map(_CONTACT_PAIR, p.contacts)))
            return values

        return encode_program

    def encode_generic(message: Message) -> list[Any]:
        values: list[Any] = []
        for n in names:
            v = getattr(message, n)
            if isinstance(v, tuple):
                v = [tuple(getattr(item, f.name) for f in fields(item)) for item in v]
            values.append(v)
        return values

    if any(isinstance(seg, _Array) for seg in _LAYOUTS[msg_type].segments):
        return encode_generic
    if not names:
        return lambda message: []
    if len(names) == 1:
        only = names[0]
        return lambda message: [getattr(message, only)]
    get_all = attrgetter(*names)

    def encode_flat(message: Message) -> list[Any]:
        # No array in the layout: every field is a plain value, all read in one call (a STATUS is
        # encoded for every status read an emulator answers).
        return list(get_all(message))

    return encode_flat


_DECODERS = {t: _make_decoder(t) for t in MESSAGE_CLASSES}
_ENCODERS = {t: _make_encoder(t) for t in MESSAGE_CLASSES}
_TYPES = {int(t): t for t in MessageType}


def decode_payload(msg_type: int, payload: bytes) -> Message:
    """Decode one payload; raises ValueError naming what is wrong (for callers without a frame)."""
    t = _TYPES.get(msg_type)
    if t is None:
        raise ValueError(f"unknown message type 0x{msg_type:02X}")
    try:
        return _DECODERS[t](_LAYOUTS[t].unpack(payload))
    except LayoutError as e:
        raise ValueError(f"{t.name} payload of {len(payload)} bytes: {e}") from None
    except _BadValue as e:
        raise ValueError(f"{t.name} field {e.field} holds an undefined value") from None


def message_values(message: Message) -> list[Any]:
    """The payload's wire fields in wire order, as ``Layout.pack`` takes them: ints (enums and flags
    included), strings as str, an array as a list of tuples. The other half of ``message_from_values``."""
    return _ENCODERS[message.TYPE](message)


def message_from_values(msg_type: int, values: list[Any]) -> Message:
    """A message from its wire-order values (``Layout.unpack``'s form); ValueError for an unknown type
    or an undefined enum value. The list is used up: it is converted in place."""
    t = _TYPES.get(msg_type)
    if t is None:
        raise ValueError(f"unknown message type 0x{msg_type:02X}")
    try:
        return _DECODERS[t](values)
    except _BadValue as e:
        raise ValueError(f"{t.name} field {e.field} holds an undefined value") from None


class Decoder:
    """Finds frames in a byte stream. Invariant: ``len(buffer) < MAX_FRAME`` between calls."""

    __slots__ = ("_buf", "_offset", "discarded_bytes", "frames", "invalid_frames")

    def __init__(self) -> None:
        self._buf = bytearray()
        self._offset = 0  # stream offset of _buf[0]
        self.frames = 0
        self.invalid_frames = 0
        self.discarded_bytes = 0
        """Bytes dropped outside any frame-shaped header (line noise)."""

    @property
    def buffered(self) -> int:
        """Bytes held back as the possible start of a frame."""
        return len(self._buf)

    def feed(self, data: bytes | bytearray | memoryview) -> list[Decoded]:
        buf = self._buf
        if not buf and len(data) > HEADER_SIZE + CRC_SIZE - 1 and data[:2] == SYNC:
            # The usual read: one whole frame and nothing else (a reply read as it came). Checked
            # as below without copying it into the buffer; anything else takes the general path.
            length = data[2]
            end = HEADER_SIZE + length + CRC_SIZE
            if (
                len(data) == end
                and data[3] == length ^ 0xFF
                and crc16(memoryview(data)[2 : end - CRC_SIZE]) == data[end - 2] | (data[end - 1] << 8)
            ):
                frame = self._payload(data[4], data[5], bytes(data[HEADER_SIZE : end - CRC_SIZE]), 0)
                self._offset += end
                return [frame]
        buf += data
        out: list[Decoded] = []
        pos = 0
        n = len(buf)
        while True:
            i = buf.find(SYNC, pos)
            if i < 0:
                keep = n - 1 if n > pos and buf[n - 1] == _SYNC0 else n
                self.discarded_bytes += keep - pos
                pos = keep
                break
            self.discarded_bytes += i - pos
            pos = i
            if n - i < HEADER_SIZE:
                break
            length = buf[i + 2]
            if buf[i + 3] != length ^ 0xFF:
                out.append(self._invalid(InvalidReason.BAD_LENGTH_CHECK, i))
                pos = i + 1
                continue
            end = i + HEADER_SIZE + length + CRC_SIZE
            if n < end:
                break
            msg_type = buf[i + 4]
            seq = buf[i + 5]
            crc = buf[end - 2] | (buf[end - 1] << 8)
            if crc16(memoryview(buf)[i + 2 : end - CRC_SIZE]) != crc:
                out.append(self._invalid(InvalidReason.BAD_CRC, i, seq, msg_type))
                pos = i + 1
                continue
            out.append(self._payload(msg_type, seq, bytes(buf[i + HEADER_SIZE : end - CRC_SIZE]), i))
            pos = end
        if pos:
            del buf[:pos]
            self._offset += pos
        return out

    def flush(self) -> list[Decoded]:
        """The line went quiet: give up on the frame being waited for and rescan what follows it.

        The held bytes may be a real frame cut short, or noise whose fake header claims more bytes
        than came; either way it is reported as truncated, and any whole frame after its first
        byte is still decoded.
        """
        out: list[Decoded] = []
        while self._buf:
            if not self._buf.startswith(SYNC):
                self.discarded_bytes += len(self._buf)
                self._offset += len(self._buf)
                self._buf.clear()
                break
            out.append(self._invalid(InvalidReason.TRUNCATED, 0))
            rest = bytes(self._buf[1:])
            self._offset += 1
            self._buf.clear()
            out += self.feed(rest)
        return out

    def _payload(self, msg_type: int, seq: int, payload: bytes, i: int) -> Decoded:
        t = _TYPES.get(msg_type)
        if t is None:
            return self._invalid(InvalidReason.UNKNOWN_TYPE, i, seq, msg_type)
        try:
            message = _DECODERS[t](_LAYOUTS[t].unpack(payload))
        except LayoutValueError:
            return self._invalid(InvalidReason.BAD_VALUE, i, seq, msg_type, "serial_number")
        except LayoutError:
            return self._invalid(InvalidReason.BAD_LENGTH, i, seq, msg_type)
        except _BadValue as e:
            return self._invalid(InvalidReason.BAD_VALUE, i, seq, msg_type, e.field, e.param)
        self.frames += 1
        return Frame(seq, message)

    def _invalid(
        self,
        reason: InvalidReason,
        i: int,
        seq: int | None = None,
        msg_type: int | None = None,
        field: str | None = None,
        param: Param = Param.NONE,
    ) -> InvalidFrame:
        self.invalid_frames += 1
        return InvalidFrame(reason, self._offset + i, seq, msg_type, field, param)


def frame_bytes(msg_type: int, seq: int, payload: bytes) -> bytes:
    """Wrap a payload in a frame. Exposed for negative tests that need a hand-made payload."""
    if not 0 <= seq <= 0xFF:
        raise LocalProtocolError(f"seq {seq} is outside 0..255", field="seq")
    if not 0 <= msg_type <= 0xFF:
        raise LocalProtocolError(f"message type {msg_type} is outside 0..255", field="type")
    length = len(payload)
    if length > MAX_PAYLOAD:
        raise LocalProtocolError(f"payload of {length} bytes exceeds {MAX_PAYLOAD}", field="payload")
    body = bytes((length, length ^ 0xFF, msg_type, seq)) + payload
    crc = crc16(body)
    return SYNC + body + bytes((crc & 0xFF, crc >> 8))


# Arrays the protocol bounds below what their count byte could say (messages.ARRAY_LIMITS).
_ARRAY_LIMITS: dict[MessageType, tuple[str, int]] = {
    t: (seg.name, ARRAY_LIMITS[seg.name][0])
    for t, layout in _LAYOUTS.items()
    for seg in layout.segments
    if isinstance(seg, _Array)
}


def _largest_payload(layout: Layout) -> int:
    """Bytes of a payload with every array at its protocol bound (PROTOCOL.md 13)."""
    return sum(
        seg.codec.size if not isinstance(seg, _Array) else 1 + ARRAY_LIMITS[seg.name][0] * seg.element.size
        for seg in layout.segments
    )


MAX_FRAME_SIZES: dict[MessageType, int] = {
    t: HEADER_SIZE + _largest_payload(layout) + CRC_SIZE for t, layout in _LAYOUTS.items()
}
"""The largest frame of each message type the protocol allows, in bytes (PROTOCOL.md 13): what the
line time of a reply is worked out from when its size is not known yet."""


def longest_reply_frame(command: MessageType) -> int:
    """Bytes of the longest frame a device may answer ``command`` with: its reply, or a NAK."""
    return max(MAX_FRAME_SIZES[RESPONSE_TYPES[command]], MAX_FRAME_SIZES[MessageType.NAK])


def encode_payload(message: Message) -> bytes:
    t = message.TYPE
    values = _ENCODERS[t](message)
    if t in _ARRAY_LIMITS:
        name, most = _ARRAY_LIMITS[t]
        count = len(values[_LAYOUTS[t].names.index(name)])
        if count > most:
            raise LocalProtocolError(f"{count} {name} exceed the protocol's {most}", field=name)
    try:
        return _LAYOUTS[t].pack(values)
    except (struct.error, LayoutError, TypeError) as err:
        field = getattr(err, "field", None) or _field_of(t, message)
        where = f" field {field}" if field else ""
        raise LocalProtocolError(f"cannot encode {t.name}{where}: {err}", field=field) from None


def encode(message: Message, seq: int) -> bytes:
    """The complete frame for ``message`` with sequence number ``seq``."""
    return frame_bytes(message.TYPE, seq, encode_payload(message))


def _field_of(t: MessageType, message: Message) -> str | None:
    """Name the field an encode failed on, by asking Construct, whose errors carry a path."""
    try:
        wire.PAYLOADS[t].build(to_fields(message))
    except ConstructError as err:
        path = str(getattr(err, "path", "") or "")
        return path.split("->")[-1].strip() or None
    except Exception:  # noqa: BLE001 - only naming the field of an error already being raised
        return None
    return None

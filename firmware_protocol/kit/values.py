"""Value vectors: a message as the unsigned integers of its wire fields, in wire order.

The form in which the C codec and the Python codec exchange and compare messages (``scs_message_values``
and ``scs_message_from_values`` in ``c/scs_wire.h``): each scalar field is one integer; a string is
its bytes, NUL-padded to the field's size; an array is its count, then each entry's fields. Enums
and flags are their integers. Example: ``SetAmplitude(3500, COMMIT)`` is ``[3500, 1]``; a
two-contact program ends ``..., patient_max_ua, 2, 1, 100, 2, 100``.
"""

from __future__ import annotations

from functools import cache
from itertools import chain
from typing import Any

from ..codec import message_from_values, message_values
from ..constants import MessageType
from ..messages import Message
from .model import PayloadDef, WireModel, model

__all__ = ["from_values", "to_values", "values_from_fields"]


@cache
def _payload(msg_type: int) -> PayloadDef:
    return model().message(msg_type).payload


@cache
def _plain(msg_type: int) -> bool:
    """No strings: the wire values are the vector once the array is flattened."""
    return not any(f.text for f in _payload(msg_type).fields)


def to_values(message: Message) -> list[int]:
    t = message.TYPE
    raw = message_values(message)
    p = _payload(t)
    if _plain(t):
        if p.array is None:
            return raw
        items = raw.pop()
        raw.append(len(items))
        raw.extend(chain.from_iterable(items))
        return raw
    out: list[int] = []
    for f, value in zip(p.fields, raw, strict=False):
        if f.text:
            out += value.encode("ascii").ljust(f.size, b"\x00")
        else:
            out.append(value)
    if p.array is not None:
        items = raw[len(p.fields)]
        out.append(len(items))
        out.extend(chain.from_iterable(items))
    return out


def from_values(msg_type: int, values: list[int]) -> Message:
    """The message a value vector stands for; ValueError when it does not fit the type."""
    if msg_type not in MessageType.__members__.values():
        raise ValueError(f"unknown message type 0x{msg_type:02X}")
    p = _payload(msg_type)
    raw: list[Any] = []
    k = 0
    for f in p.fields:
        if f.text:
            text = bytes(values[k : k + f.size]).rstrip(b"\x00")
            if b"\x00" in text or any(not 0x20 <= c <= 0x7E for c in text):
                raise ValueError(f"{f.name} is not NUL-padded printable ASCII")
            raw.append(text.decode("ascii"))
            k += f.size
        else:
            raw.append(values[k])
            k += 1
    if p.array is not None:
        width = len(p.array.fields)
        count = values[k]
        k += 1
        raw.append([tuple(values[k + i * width : k + (i + 1) * width]) for i in range(count)])
        k += count * width
    if k != len(values):
        raise ValueError(f"{len(values)} values for a {MessageType(msg_type).name} of {k}")
    return message_from_values(msg_type, raw)


def values_from_fields(m: WireModel, type_name: str, fields: dict[str, Any]) -> list[int]:
    """A value vector from named fields (``to_fields`` / vectors.json form); KeyError for a missing one."""
    p = m.message(MessageType[type_name]).payload
    out: list[int] = []
    for f in p.fields:
        value = fields[f.name]
        if f.text:
            out += str(value).encode("ascii").ljust(f.size, b"\x00")
        else:
            out.append(int(value))
    if p.array is not None:
        entries = fields[p.array.name]
        out.append(len(entries))
        for entry in entries:
            out += [int(entry[f.name]) for f in p.array.fields]
    if set(fields) != {f.name for f in p.fields} | ({p.array.name} if p.array else set()):
        raise KeyError(f"{type_name}: fields {sorted(fields)} are not the layout's")
    return out

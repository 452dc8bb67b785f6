"""The wire format as plain data, read from ``wire.py``, ``constants.py`` and ``messages.py``.

Everything the generated C header, the generated dissector and the C value vectors know comes from
here, and everything here comes from the Python definition: the field order, widths and offsets
from the Construct structs (through the same helpers ``layout.py`` compiles them with), the enums
and limits from ``constants.py``, which enum each field holds and which NAK param names it from
``messages.py``. Nothing is typed twice, so the generated files cannot disagree with the host
unless they are stale, and a test regenerates them to catch that.

Payload shape: scalars (and NUL-padded strings), then at most one ``u8``-counted array, last. Any
other shape fails here, loudly, as ``layout.py`` fails on constructs it does not know.
"""

from __future__ import annotations

import ast
import inspect
import re
from dataclasses import dataclass
from enum import IntEnum, IntFlag
from functools import cache
from typing import Any

from construct import Const, Renamed, Struct, Terminated

from .. import constants, wire
from ..codec import InvalidFrame, InvalidReason
from ..constants import MessageType, Param
from ..layout import _array_parts, _format_of
from ..messages import ARRAY_LIMITS, ENUM_FIELDS, FLAG_FIELDS, MESSAGE_FLAGS

__all__ = [
    "ArrayDef",
    "Constant",
    "EnumDef",
    "Field",
    "MessageDef",
    "PayloadDef",
    "ReasonDef",
    "WireModel",
    "c_upper",
    "model",
    "snake",
]

_SIZES = {"B": 1, "H": 2, "I": 4, "L": 4}


def snake(name: str) -> str:
    """``EventImpedanceWarning`` -> ``event_impedance_warning``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def c_upper(name: str) -> str:
    return snake(name).upper()


@dataclass(frozen=True, slots=True)
class EnumDef:
    """An IntEnum or IntFlag of ``constants.py``."""

    name: str
    """The Python class name (``StateCause``)."""
    members: tuple[tuple[str, int], ...]
    is_flags: bool
    doc: str

    @property
    def prefix(self) -> str:
        """C prefix of its members: ``STATE_CAUSE``; message types are just ``TYPE``."""
        return "TYPE" if self.name == "MessageType" else c_upper(self.name)

    @property
    def values(self) -> frozenset[int]:
        return frozenset(v for _, v in self.members)

    @property
    def mask(self) -> int:
        """Flags: every defined bit."""
        out = 0
        for _, value in self.members:
            out |= value
        return out


@dataclass(frozen=True, slots=True)
class Field:
    """One scalar or string field of a payload or of an array entry."""

    name: str
    size: int
    """Bytes on the wire."""
    offset: int
    """From the start of the payload, or of the entry for a field of an array entry."""
    text: bool
    """NUL-padded printable ASCII (PROTOCOL.md 1), ``size`` bytes."""
    enum: EnumDef | None
    """The enum whose values alone are valid (an undefined one is ``bad_value``)."""
    param: int
    """The NAK param a device answers an undefined value with."""
    flags: EnumDef | None
    """The flags the field holds (any bit pattern decodes; for display)."""

    @property
    def value_count(self) -> int:
        """Entries in a value vector: one per scalar, one per byte of a string."""
        return self.size if self.text else 1

    @property
    def max_value(self) -> int:
        return 0xFF if self.text else (1 << (8 * self.size)) - 1


@dataclass(frozen=True, slots=True)
class ArrayDef:
    """The ``u8``-counted array that ends a payload."""

    name: str
    entry: str
    """The wire.py name of the entry's Struct (``Contact``)."""
    offset: int
    """Of the count byte; entries follow it."""
    fields: tuple[Field, ...]
    entry_size: int
    max_count: int
    max_name: str
    """The constant bounding it (``MAX_CONTACTS``)."""
    param: int
    """The NAK param of a count above ``max_count``."""


@dataclass(frozen=True, slots=True)
class PayloadDef:
    """One payload Struct of wire.py (several message types may share it)."""

    name: str
    """The wire.py name (``Program``)."""
    fields: tuple[Field, ...]
    array: ArrayDef | None

    @property
    def fixed_size(self) -> int:
        """Bytes of the scalars (without the count byte and entries)."""
        return sum(f.size for f in self.fields)

    @property
    def min_size(self) -> int:
        return self.fixed_size + (1 if self.array else 0)

    @property
    def max_size(self) -> int:
        a = self.array
        return self.min_size + (a.entry_size * a.max_count if a else 0)

    @property
    def max_values(self) -> int:
        a = self.array
        fixed = sum(f.value_count for f in self.fields)
        return fixed + (1 + a.max_count * sum(f.value_count for f in a.fields) if a else 0)

    @property
    def empty(self) -> bool:
        return not self.fields and self.array is None


@dataclass(frozen=True, slots=True)
class MessageDef:
    type: MessageType
    payload: PayloadDef

    @property
    def kind(self) -> str:
        if constants.is_command(self.type):
            return "command"
        if constants.is_event(self.type):
            return "event"
        return "reply"


@dataclass(frozen=True, slots=True)
class Constant:
    name: str
    value: int
    doc: str


@dataclass(frozen=True, slots=True)
class ReasonDef:
    """An ``InvalidReason``: its code in C (1, 2, ...), its name, and the NAK a device answers."""

    code: int
    name: str
    """As in ``InvalidReason`` and vectors.json: ``bad_crc``."""
    nak: int
    """The NakReason a device answers it with; 0 when it must stay silent."""
    doc: str


@dataclass(frozen=True, slots=True)
class WireModel:
    constants: tuple[Constant, ...]
    sync: bytes
    header: tuple[tuple[str, int], ...]
    """(field, offset) of the frame header after the sync bytes: length, length_check, type, seq."""
    enums: tuple[EnumDef, ...]
    payloads: tuple[PayloadDef, ...]
    messages: tuple[MessageDef, ...]
    field_names: tuple[str, ...]
    """Every field name that an invalid frame may name, id = position + 1 (0 = none)."""
    reasons: tuple[ReasonDef, ...]

    @property
    def max_values(self) -> int:
        return max(p.max_values for p in self.payloads)

    def enum(self, name: str) -> EnumDef:
        return next(e for e in self.enums if e.name == name)

    def field_id(self, name: str | None) -> int:
        return 0 if name is None else self.field_names.index(name) + 1

    def message(self, msg_type: int) -> MessageDef:
        return next(m for m in self.messages if m.type == msg_type)


def _docstrings(module: Any) -> dict[str, str]:
    """Attribute docstrings (a string right after an assignment) of a module's top level and classes."""
    tree = ast.parse(inspect.getsource(module))
    out: dict[str, str] = {}

    def walk(body: list[ast.stmt], prefix: str) -> None:
        for i, node in enumerate(body):
            if isinstance(node, ast.ClassDef):
                walk(node.body, f"{prefix}{node.name}.")
            target = None
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                target = node.targets[0].id
            if target is None or i + 1 >= len(body):
                continue
            nxt = body[i + 1]
            if isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant) and isinstance(nxt.value.value, str):
                out[prefix + target] = " ".join(nxt.value.value.split())

    walk(tree.body, "")
    return out


def _enums() -> tuple[EnumDef, ...]:
    out = []
    for name, obj in vars(constants).items():
        if isinstance(obj, type) and issubclass(obj, IntEnum | IntFlag) and obj.__module__ == constants.__name__:
            members = tuple((m.name, int(m.value)) for m in obj.__members__.values() if m.name is not None)
            doc = " ".join((obj.__doc__ or "").split()) if "__doc__" in vars(obj) else ""
            out.append(EnumDef(name, members, issubclass(obj, IntFlag), doc))
    return tuple(out)


def _constants(docs: dict[str, str]) -> tuple[Constant, ...]:
    out = []
    for name, value in vars(constants).items():
        if re.fullmatch(r"[A-Z][A-Z0-9_]*", name) and type(value) is int:
            out.append(Constant(name, value, docs.get(name, "")))
    return tuple(out)


def _field(sub: Any, offset: int, flags_for: dict[str, type[IntFlag]], enums: dict[str, EnumDef]) -> Field:
    if not isinstance(sub, Renamed):
        raise TypeError(f"unnamed field {sub!r} in a payload")
    fmt, text_size = _format_of(sub.subcon)
    size = text_size or _SIZES[fmt]
    enum_cls, param = ENUM_FIELDS.get(sub.name, (None, Param.NONE))
    flag_cls = flags_for.get(sub.name)
    return Field(
        name=sub.name,
        size=size,
        offset=offset,
        text=bool(text_size),
        enum=enums[enum_cls.__name__] if enum_cls is not None else None,
        param=int(param),
        flags=enums[flag_cls.__name__] if flag_cls is not None else None,
    )


def _payload(
    name: str, definition: Struct, flags_for: dict[str, type[IntFlag]], enums: dict[str, EnumDef], names: dict[int, str]
) -> PayloadDef:
    fields: list[Field] = []
    array: ArrayDef | None = None
    offset = 0
    for sub in definition.subcons:
        if sub is Terminated:
            continue
        if array is not None:
            raise TypeError(f"{name}: an array must be the last field")
        entry = _array_parts(sub.subcon) if isinstance(sub, Renamed) else None
        if entry is not None:
            if sub.name not in ARRAY_LIMITS:
                raise TypeError(f"{name}.{sub.name}: messages.ARRAY_LIMITS gives no bound for this array")
            most, param = ARRAY_LIMITS[sub.name]
            entry_fields: list[Field] = []
            entry_offset = 0
            for e in entry.subcons:
                f = _field(e, entry_offset, flags_for, enums)
                if f.text:
                    raise TypeError(f"{name}.{sub.name}: strings inside arrays are not supported")
                entry_fields.append(f)
                entry_offset += f.size
            max_name = _bound_name(sub.name, most)
            array = ArrayDef(
                sub.name, names[id(entry)], offset, tuple(entry_fields), entry_offset, most, max_name, int(param)
            )
        else:
            f = _field(sub, offset, flags_for, enums)
            fields.append(f)
            offset += f.size
    if definition.subcons[-1] is not Terminated:
        raise TypeError(f"{name}: every payload must end with Terminated (exact length)")
    return PayloadDef(name, tuple(fields), array)


def _bound_name(array: str, most: int) -> str:
    """The constant of ``constants.py`` an array's bound is (``events`` -> ``MAX_USAGE_EVENTS``)."""
    found = [
        k
        for k, v in vars(constants).items()
        if k.startswith("MAX_") and type(v) is int and v == most and array.upper() in k
    ]
    if len(found) != 1:
        raise TypeError(f"no one MAX_ constant of {most} names the array {array!r}: {found}")
    return found[0]


def _header() -> tuple[tuple[str, int], ...]:
    out = []
    offset = 0
    for sub in wire.Header.subcons:
        if isinstance(sub.subcon, Const):
            offset += len(sub.subcon.value)
            continue
        out.append((sub.name, offset))
        offset += sub.subcon.sizeof()
    if offset != constants.HEADER_SIZE:
        raise TypeError(f"wire.Header is {offset} bytes, constants.HEADER_SIZE says {constants.HEADER_SIZE}")
    return tuple(out)


@cache
def model() -> WireModel:
    enum_list = _enums()
    enums = {e.name: e for e in enum_list}
    names = {id(v): k for k, v in vars(wire).items() if isinstance(v, Struct)}
    payloads: dict[str, PayloadDef] = {}
    messages: list[MessageDef] = []
    for msg_type, definition in wire.PAYLOADS.items():
        name = names[id(definition)]
        flags_for = dict(FLAG_FIELDS)
        sharing = [t for t, d in wire.PAYLOADS.items() if d is definition]
        message_flags = {MESSAGE_FLAGS[t] for t in sharing if t in MESSAGE_FLAGS}
        if len(message_flags) > 1:
            raise TypeError(f"{name} is shared by messages whose 'flags' mean different things")
        if message_flags:
            flags_for["flags"] = message_flags.pop()
        if name not in payloads:
            payloads[name] = _payload(name, definition, flags_for, enums, names)
        messages.append(MessageDef(msg_type, payloads[name]))
    field_names: list[str] = []
    for p in payloads.values():
        for f in (*p.fields, *(p.array.fields if p.array else ())):
            if f.name not in field_names:
                field_names.append(f.name)
        if p.array and p.array.name not in field_names:
            field_names.append(p.array.name)
    reason_docs = _docstrings(inspect.getmodule(InvalidReason))
    reasons = tuple(
        ReasonDef(
            code=i,
            name=r.value,
            nak=int(InvalidFrame(r, 0).nak_reason or 0),
            doc=reason_docs.get(f"InvalidReason.{r.name}", ""),
        )
        for i, r in enumerate(InvalidReason, start=1)
    )
    return WireModel(
        constants=_constants(_docstrings(constants)),
        sync=constants.SYNC,
        header=_header(),
        enums=enum_list,
        payloads=tuple(payloads.values()),
        messages=tuple(messages),
        field_names=tuple(field_names),
        reasons=reasons,
    )

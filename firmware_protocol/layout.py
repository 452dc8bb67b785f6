"""Fast layouts compiled from the Construct definitions in ``wire.py``.

Construct stays the single definition of the wire format; this module walks each payload ``Struct``
once at import and turns it into ``struct.Struct`` segments, because Construct's own parser builds
a ``Container`` per element and costs ~50 us for a 16-contact program where ``struct`` costs ~1 us.
Only the constructs ``wire.py`` uses are understood; anything else fails at import, so the two
cannot drift apart silently. ``tests/firmware_protocol/test_layout.py`` checks that both produce
the same bytes and values.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from typing import Any

from construct import (
    Array,
    FocusedSeq,
    FormatField,
    Rebuild,
    Renamed,
    StringEncoded,
    Struct,
    Terminated,
)


class LayoutError(ValueError):
    """The bytes or values do not fit the layout (wrong length, bad count, non-ASCII string)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class _Fixed:
    codec: struct.Struct
    names: tuple[str, ...]
    strings: tuple[tuple[int, int], ...]  # (position, size) of each NUL-padded ASCII string


@dataclass(frozen=True, slots=True)
class _Array:
    name: str
    element: struct.Struct
    element_names: tuple[str, ...]


Segment = _Fixed | _Array


def _format_of(con: Any) -> tuple[str, int]:
    """(struct format, string size or 0) for one scalar construct."""
    if isinstance(con, FormatField):
        if con.fmtstr[0] != "<" or con.fmtstr[1] not in "BHIL":
            raise TypeError(f"wire.py uses {con.fmtstr!r}; only little-endian unsigned ints are allowed")
        return con.fmtstr[1], 0
    # PaddedString(n, "ascii") is StringEncoded(FixedSized(n, NullStripped(GreedyBytes)), "ascii").
    if isinstance(con, StringEncoded) and con.encoding == "ascii" and hasattr(con.subcon, "length"):
        size = int(con.subcon.length)
        return f"{size}s", size
    raise TypeError(f"layout cannot compile {con!r}")


def _array_parts(con: Any) -> Struct | None:
    """The element Struct of ``PrefixedArray(Int8ul, element)``, or None for anything else."""
    if not isinstance(con, FocusedSeq) or len(con.subcons) != 2:
        return None
    count, items = (s.subcon for s in con.subcons)
    if not (isinstance(count, Rebuild) and isinstance(items, Array)):
        return None
    if not (isinstance(count.subcon, FormatField) and count.subcon.fmtstr == "<B"):
        raise TypeError("array counts must be one byte")
    if not isinstance(items.subcon, Struct):
        raise TypeError("array elements must be Structs")
    return items.subcon


class Layout:
    """A payload layout: ``unpack(bytes) -> list`` and ``pack(list) -> bytes`` in field order.

    Scalars come out as ints (strings as str); an array comes out as a list of tuples.
    """

    __slots__ = ("_array", "_fixed", "min_size", "names", "segments")

    def __init__(self, definition: Struct) -> None:
        segments: list[Segment] = []
        fmt = "<"
        names: list[str] = []
        strings: list[tuple[int, int]] = []
        terminated = False

        def close() -> None:
            nonlocal fmt, names, strings
            if names:
                segments.append(_Fixed(struct.Struct(fmt), tuple(names), tuple(strings)))
            fmt, names, strings = "<", [], []

        for sub in definition.subcons:
            if terminated:
                raise TypeError("Terminated must be the last field")
            if sub is Terminated:
                terminated = True
                continue
            if not isinstance(sub, Renamed):
                raise TypeError(f"unnamed field {sub!r} in a payload")
            inner = sub.subcon
            element = _array_parts(inner)
            if element is not None:
                close()
                elem_fmt = "<"
                elem_names = []
                for e in element.subcons:
                    f, string_size = _format_of(e.subcon)
                    if string_size:
                        raise TypeError("strings inside arrays are not supported")
                    elem_fmt += f
                    elem_names.append(e.name)
                segments.append(_Array(sub.name, struct.Struct(elem_fmt), tuple(elem_names)))
            else:
                f, string_size = _format_of(inner)
                if string_size:
                    strings.append((len(names), string_size))
                fmt += f
                names.append(sub.name)
        close()
        if not terminated:
            raise TypeError("every payload must end with Terminated (exact length)")
        self.segments = tuple(segments)
        self.names = tuple(n for s in self.segments for n in (s.names if isinstance(s, _Fixed) else (s.name,)))
        self.min_size = sum(s.codec.size if isinstance(s, _Fixed) else 1 for s in self.segments)
        # Fast path for the shapes every payload but IDENTIFY has: scalars without strings,
        # optionally followed by one array; everything else takes the general path.
        first = self.segments[0] if self.segments else None
        self._fixed: _Fixed | None = None
        self._array: _Array | None = None
        if isinstance(first, _Fixed) and not first.strings and len(self.segments) <= 2:
            rest = self.segments[1] if len(self.segments) == 2 else None
            if rest is None or isinstance(rest, _Array):
                self._fixed = first
                self._array = rest

    def unpack(self, data: bytes) -> list[Any]:
        fixed = self._fixed
        if fixed is not None:
            size = len(data)
            head = fixed.codec.size
            array = self._array
            if array is None:
                if size == head:
                    return list(fixed.codec.unpack(data))
            elif size > head:
                end = head + 1 + data[head] * array.element.size
                if size == end:
                    out = list(fixed.codec.unpack_from(data))
                    out.append(list(array.element.iter_unpack(data[head + 1 :])) if end > head + 1 else [])
                    return out
            # Wrong length: the general path names the problem.
        return self._unpack(data)

    def _unpack(self, data: bytes) -> list[Any]:
        out: list[Any] = []
        strings: list[int] = []
        off = 0
        size = len(data)
        for seg in self.segments:
            if isinstance(seg, _Fixed):
                end = off + seg.codec.size
                if end > size:
                    raise LayoutError(f"payload of {size} bytes is too short")
                start = len(out)
                out.extend(seg.codec.unpack_from(data, off))
                strings += (start + i for i, _size in seg.strings)
                off = end
            else:
                if off >= size:
                    raise LayoutError(f"payload of {size} bytes is too short")
                count = data[off]
                off += 1
                end = off + count * seg.element.size
                if end > size:
                    raise LayoutError(f"{seg.name}: {count} entries do not fit in {size} bytes")
                out.append(list(seg.element.iter_unpack(data[off:end])) if count else [])
                off = end
        if off != size:
            raise LayoutError(f"payload of {size} bytes, layout ends at {off}")
        # Text is judged only once the length is known right: a payload of the wrong size is
        # BAD_LENGTH whatever its bytes hold (PROTOCOL.md 4, step 9 before step 10).
        for i in strings:
            out[i] = _ascii(out[i])
        return out

    def pack(self, values: list[Any] | tuple[Any, ...]) -> bytes:
        fixed = self._fixed
        if fixed is not None:
            array = self._array
            if array is None:
                return fixed.codec.pack(*values)
            n = len(fixed.names)
            items = values[n]
            if len(items) > 0xFF:
                raise LayoutError(f"{array.name}: {len(items)} entries exceed 255", array.name)
            # One struct for the scalars, the count and every element: one pack call.
            return _whole(fixed.codec, array.element, len(items)).pack(
                *values[:n], len(items), *chain.from_iterable(items)
            )
        return self._pack(values)

    def _pack(self, values: list[Any] | tuple[Any, ...]) -> bytes:
        parts: list[bytes] = []
        i = 0
        for seg in self.segments:
            if isinstance(seg, _Fixed):
                n = len(seg.names)
                chunk = values[i : i + n]
                if seg.strings:
                    chunk = list(chunk)
                    for j, string_size in seg.strings:
                        chunk[j] = _padded(seg.names[j], chunk[j], string_size)
                parts.append(seg.codec.pack(*chunk))
                i += n
            else:
                items = values[i]
                if len(items) > 0xFF:
                    raise LayoutError(f"{seg.name}: {len(items)} entries exceed 255", seg.name)
                parts.append(bytes((len(items),)))
                if items:
                    parts.append(_repeated(seg.element, len(items)).pack(*chain.from_iterable(items)))
                i += 1
        return b"".join(parts)


@lru_cache(maxsize=1024)
def _repeated(element: struct.Struct, count: int) -> struct.Struct:
    """One struct for ``count`` elements: a single pack call instead of one per element."""
    return struct.Struct("<" + element.format[1:] * count)


@lru_cache(maxsize=1024)
def _whole(head: struct.Struct, element: struct.Struct, count: int) -> struct.Struct:
    """Scalars, a one-byte count and ``count`` elements as one struct."""
    return struct.Struct(head.format + "B" + element.format[1:] * count)


class LayoutValueError(LayoutError):
    """The length fits but a value does not (a string that is not NUL-padded printable ASCII)."""


_PRINTABLE = range(0x20, 0x7F)
"""PROTOCOL.md 1: text is printable ASCII, 0x20-0x7E. Control bytes (an ESC starting a terminal
escape sequence, a CR overwriting a line) would let a device rewrite what a log or a screen shows."""


def _first_unprintable(raw: bytes) -> int | None:
    return next((b for b in raw if b not in _PRINTABLE), None)


def _ascii(raw: bytes) -> str:
    text = raw.rstrip(b"\x00")
    if b"\x00" in text:
        raise LayoutValueError("string has a NUL before its end (NUL is padding only)")
    bad = _first_unprintable(text)
    if bad is not None:
        raise LayoutValueError(f"string holds byte 0x{bad:02X}: only printable ASCII (0x20-0x7E) is allowed")
    return text.decode("ascii")


def _padded(name: str, text: str, size: int) -> bytes:
    bad = next((c for c in text if ord(c) not in _PRINTABLE), None)
    if bad is not None:
        raise LayoutError(f"{name} must be printable ASCII (0x20-0x7E), not {bad!r}", name)
    raw = text.encode("ascii")
    # struct pads 's' fields with NUL but silently cuts long ones: refuse instead.
    if len(raw) > size:
        raise LayoutError(f"{name} must be at most {size} characters, not {len(raw)}", name)
    return raw

"""The emulated firmware on the C kit: ``firmware_protocol/c/`` through ctypes.

``emu://?codec=c`` (also ``scsctl emulator --codec c`` and ``make_emulator(codec="c")``) makes the
emulated firmware receive and send through the C codec instead of the Python one: the C decoder
finds the frames in the host's bytes (CRC, resynchronisation, every payload check, the reason of
each invalid frame) and the C encoder makes every frame the firmware sends. The firmware above the
codec is the same, so the conformance catalogue passing on ``emu://?codec=c``
(``pytest hil_tests --scs-port "emu://?codec=c"``) shows that a device built on the C kit speaks
the protocol.

The shared library is built on first use with the system's C compiler (``$CC``, else ``cc`` or
``gcc``) from ``firmware_protocol/c/`` and ``c/host/scs_host.c`` (opaque decoders, items as plain
integers, so nothing here mirrors a C struct). It goes to a cache folder (``$SCSCTL_CACHE_DIR``, else
the user cache folder) under a name made from a hash of the sources, the compiler and the flags: a
changed source is rebuilt, and builds running at once do not clash (each renames a finished file
into place).

Like the firmware core, this imports ``firmware_protocol`` and the standard library, no host code.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path

import firmware_protocol
from firmware_protocol import Frame, InvalidFrame, InvalidReason, LocalProtocolError, Param
from firmware_protocol.codec import Decoded
from firmware_protocol.constants import MAX_FRAME
from firmware_protocol.kit.model import model
from firmware_protocol.kit.values import from_values, to_values
from firmware_protocol.messages import Message

from ..errors import UsageError

__all__ = ["KIT", "CCodec", "CDecoder", "build_library", "load"]

KIT = Path(firmware_protocol.__file__).resolve().parent / "c"
_SOURCES = ("scs_codec.c", "scs_wire.c", "host/scs_host.c")
_HEADERS = ("scs_codec.h", "scs_wire.h", "host/scs_host.h")
_FLAGS = ("-std=c99", "-O2", "-fPIC", "-shared")
_HEAD = 10  # SCS_HOST_HEAD: the words of an item before its value vector
_MAX_WORDS = _HEAD + model().max_values
_ITEM_NONE = 0
_ITEM_FRAME = 1
_REASONS = {r.code: InvalidReason(r.name) for r in model().reasons}
_FIELDS = model().field_names
_ERRORS = {
    1: "unknown message type",
    2: "a length that does not fit the layout",
    3: "a value a receiver would reject (undefined enum value, unprintable text, too many entries)",
    4: "no room",
    5: "a value too large for its field",
    6: "a bad argument",
}


def _compiler() -> str:
    for candidate in (os.environ.get("CC"), "cc", "gcc"):
        if candidate and shutil.which(candidate):
            return candidate
    raise UsageError(
        "the emulator's C codec (codec=c) is built from firmware_protocol/c with a C compiler, and none was "
        "found: install the Debian package gcc (apt-get install gcc libc6-dev), or set CC"
    )


def _cache_dir() -> Path:
    given = os.environ.get("SCSCTL_CACHE_DIR")
    if given:
        return Path(given).expanduser() / "c-codec"
    import platformdirs

    return Path(platformdirs.user_cache_dir("scsctl")) / "c-codec"


def build_library(cache_dir: Path | None = None) -> Path:
    """The shared library of the C kit, built now unless the cache holds this very build."""
    cc = _compiler()
    digest = hashlib.sha256()
    for name in (*_SOURCES, *_HEADERS):
        digest.update(name.encode() + b"\0" + (KIT / name).read_bytes())
    digest.update(" ".join((cc, *_FLAGS)).encode())
    folder = cache_dir or _cache_dir()
    target = folder / f"libscs-{digest.hexdigest()[:16]}.so"
    if target.exists():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        built = Path(tmp) / target.name
        done = subprocess.run(
            [cc, *_FLAGS, "-o", str(built), *(str(KIT / s) for s in _SOURCES)], capture_output=True, text=True
        )
        if done.returncode != 0:
            raise UsageError(f"the emulator's C codec did not build with {cc}:\n{done.stderr.strip()}")
        os.replace(built, target)
    return target


class CDecoder:
    """``firmware_protocol.Decoder``'s interface on the C decoder: ``feed``, ``flush``, the counters."""

    __slots__ = ("_high", "_item", "_last", "_lib", "_state", "_used", "_words")

    def __init__(self, lib: ctypes.CDLL) -> None:
        self._lib = lib
        self._state = ctypes.create_string_buffer(lib.scs_host_decoder_size())
        self._item = ctypes.create_string_buffer(lib.scs_host_item_size())
        self._words = (ctypes.c_uint32 * _MAX_WORDS)()
        self._used = ctypes.c_size_t()
        self._high = 0
        self._last = 0
        lib.scs_decoder_init(self._state)

    def feed(self, data: bytes | bytearray | memoryview) -> list[Decoded]:
        raw = bytes(data)
        n = len(raw)
        buf = ctypes.create_string_buffer(raw, n) if n else None
        out: list[Decoded] = []
        at = 0
        while True:
            where = ctypes.byref(buf, at) if buf is not None else None
            kind = self._lib.scs_decoder_feed(self._state, where, n - at, ctypes.byref(self._used), self._item)
            at += self._used.value
            if kind == _ITEM_NONE:
                return out
            out.append(self._take())

    def flush(self) -> list[Decoded]:
        self._lib.scs_decoder_flush(self._state)
        out: list[Decoded] = []
        while self._lib.scs_decoder_next(self._state, self._item) != _ITEM_NONE:
            out.append(self._take())
        return out

    def _counts(self) -> tuple[int, int, int, int]:
        counts = (ctypes.c_uint32 * 4)()
        self._lib.scs_host_decoder_counts(self._state, counts)
        return counts[0], counts[1], counts[2], counts[3]

    @property
    def buffered(self) -> int:
        return self._counts()[3]

    @property
    def frames(self) -> int:
        return self._counts()[0]

    @property
    def invalid_frames(self) -> int:
        return self._counts()[1]

    @property
    def discarded_bytes(self) -> int:
        return self._counts()[2]

    def _offset(self, low: int) -> int:
        """Stream offsets are 32 bits in C: count the wraps, since offsets never go back."""
        full = (self._high << 32) | low
        if full < self._last:
            self._high += 1
            full += 1 << 32
        self._last = full
        return full

    def _take(self) -> Decoded:
        count = self._lib.scs_host_item_words(self._item, self._words)
        w = self._words[:count]
        offset = self._offset(w[1])
        if w[0] == _ITEM_FRAME:
            return Frame(w[2], from_values(w[3], w[_HEAD:]))
        header = bool(w[4])
        return InvalidFrame(
            _REASONS[w[5]],
            offset,
            w[2] if header else None,
            w[3] if header else None,
            _FIELDS[w[6] - 1] if w[6] else None,
            Param(w[7]),
        )


class CCodec:
    """The wire codec of ``firmware_protocol/c/``: what ``Firmware(codec=...)`` speaks through."""

    name = "c"

    def __init__(self, library: Path) -> None:
        self.library = library
        lib = ctypes.CDLL(str(library))
        size_t, u32p, vp = ctypes.c_size_t, ctypes.POINTER(ctypes.c_uint32), ctypes.c_void_p
        lib.scs_host_decoder_size.restype = size_t
        lib.scs_host_item_size.restype = size_t
        lib.scs_decoder_init.argtypes = [vp]
        lib.scs_decoder_feed.argtypes = [vp, vp, size_t, ctypes.POINTER(size_t), vp]
        lib.scs_decoder_feed.restype = ctypes.c_int
        lib.scs_decoder_next.argtypes = [vp, vp]
        lib.scs_decoder_next.restype = ctypes.c_int
        lib.scs_decoder_flush.argtypes = [vp]
        lib.scs_host_item_words.argtypes = [vp, u32p]
        lib.scs_host_item_words.restype = size_t
        lib.scs_host_decoder_counts.argtypes = [vp, u32p]
        lib.scs_host_encode_values.argtypes = [
            ctypes.c_uint8, ctypes.c_uint8, u32p, size_t, vp, size_t, ctypes.POINTER(size_t)
        ]  # fmt: skip
        lib.scs_host_encode_values.restype = ctypes.c_int
        self._lib = lib

    def decoder(self) -> CDecoder:
        return CDecoder(self._lib)

    def encode(self, message: Message, seq: int) -> bytes:
        """The frame the C encoder makes; LocalProtocolError for what it refuses."""
        name = message.TYPE.name
        if not 0 <= seq <= 0xFF:
            raise LocalProtocolError(f"seq {seq} is outside 0..255", field="seq")
        values = to_values(message)
        if any(not 0 <= v <= 0xFFFFFFFF for v in values):
            raise LocalProtocolError(f"cannot encode {name}: a value does not fit 32 bits")
        array = (ctypes.c_uint32 * max(1, len(values)))(*values)
        # Buffers of this call's own: one codec serves every emulator of the process, each on its
        # own thread, and ctypes lets go of the GIL while the C code runs.
        out = ctypes.create_string_buffer(MAX_FRAME)
        length = ctypes.c_size_t()
        result = self._lib.scs_host_encode_values(
            int(message.TYPE), seq, array, len(values), out, MAX_FRAME, ctypes.byref(length)
        )
        if result != 0:
            raise LocalProtocolError(f"the C encoder refuses {name}: {_ERRORS.get(result, result)}")
        return out.raw[: length.value]


@cache
def load() -> CCodec:
    """The C codec, built if need be (once per process)."""
    return CCodec(build_library())

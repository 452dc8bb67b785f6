"""The scsctl wire protocol: one definition shared by the host, the emulator and device firmware.

Sans-IO: Construct and the standard library only. See ``PROTOCOL.md`` for the byte-level spec and
``vectors/`` for golden test vectors.
"""

from __future__ import annotations

from . import messages
from .codec import (
    Decoded,
    Decoder,
    Frame,
    InvalidFrame,
    InvalidReason,
    decode_payload,
    encode,
    frame_bytes,
)
from .constants import (
    MAX_FRAME,
    MAX_PAYLOAD,
    PROTOCOL_VERSION,
    MessageType,
    NakReason,
    Param,
    State,
)
from .errors import LocalProtocolError, ProtocolError, RemoteProtocolError

__all__ = [
    "MAX_FRAME",
    "MAX_PAYLOAD",
    "PROTOCOL_VERSION",
    "Decoded",
    "Decoder",
    "Frame",
    "InvalidFrame",
    "InvalidReason",
    "LocalProtocolError",
    "MessageType",
    "NakReason",
    "Param",
    "ProtocolError",
    "RemoteProtocolError",
    "State",
    "decode_payload",
    "encode",
    "frame_bytes",
    "messages",
]

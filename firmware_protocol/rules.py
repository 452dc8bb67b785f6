"""The protocol's rules on a reply, beyond framing: the one place ``RemoteProtocolError`` is raised.

Sans-IO like the codec: a layer that matched a reply to its command (by sequence number) asks here
whether the device kept the protocol, and wraps the error in its own terms (scsctl's link raises
``ProtocolViolation`` from it).
"""

from __future__ import annotations

from . import messages as m
from .errors import RemoteProtocolError

__all__ = ["check_reply"]


def check_reply(command: m.Message, reply: m.Message) -> None:
    """``reply`` must answer ``command``: a NAK of it, or its positive reply type (PROTOCOL.md 8); an
    IDENTIFY must carry a version inside the range the HELLO offered (section 9)."""
    if isinstance(reply, m.Nak):
        if reply.command != command.TYPE:
            raise RemoteProtocolError(f"a NAK of 0x{reply.command:02X} answered {command.TYPE.name}")
        return
    expected = m.RESPONSE_TYPES[command.TYPE]
    if reply.TYPE is not expected:
        raise RemoteProtocolError(
            f"the device answered {command.TYPE.name} with {reply.TYPE.name} (expected {expected.name})"
        )
    if (
        isinstance(command, m.Hello)
        and isinstance(reply, m.Identify)
        and not command.min_version <= reply.protocol_version <= command.max_version
    ):
        raise RemoteProtocolError(
            f"the device agreed to protocol version {reply.protocol_version}, outside the "
            f"{command.min_version}..{command.max_version} offered in HELLO"
        )

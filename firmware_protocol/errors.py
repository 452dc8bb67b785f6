"""Errors of the protocol package.

::

    ProtocolError
    ├── LocalProtocolError   we tried to encode something the wire cannot carry
    └── RemoteProtocolError  the peer sent something well-framed that breaks the protocol

The decoder never raises on bytes: invalid frames are counted and reported as ``InvalidFrame``
items, because a noisy serial line is normal, not exceptional. ``RemoteProtocolError`` is for the
layer above (a reply to a request nobody sent, a wrong reply type).
"""

from __future__ import annotations


class ProtocolError(Exception):
    """Base of every error this package raises."""


class LocalProtocolError(ProtocolError):
    """A message could not be encoded: the field named is outside what the wire can carry."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class RemoteProtocolError(ProtocolError):
    """The peer broke the protocol in a well-formed frame."""

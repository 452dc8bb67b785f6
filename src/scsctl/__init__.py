"""scsctl: bench programmer and controller for external trial spinal cord stimulators.

The public API (``connect``, ``stop_now``, ``Device``...) is loaded on first use, so that importing
a part of scsctl that does not need it (the pytest plugin's registration, ``scsctl --help``) does
not pay for the controller and the wire definition.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .controller import Device, Identity, Outcome, connect, stop_now

__all__ = ["Device", "Identity", "Outcome", "__version__", "connect", "stop_now"]

_LAZY = frozenset({"Device", "Identity", "Outcome", "connect", "stop_now"})


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from . import controller

        return getattr(controller, name)
    raise AttributeError(f"module 'scsctl' has no attribute {name!r}")

"""scsctl: bench programmer and controller for external trial spinal cord stimulators."""

from __future__ import annotations

__version__ = "0.1.0"

from .controller import Device, Identity, Outcome, connect, stop_now

__all__ = ["Device", "Identity", "Outcome", "__version__", "connect", "stop_now"]

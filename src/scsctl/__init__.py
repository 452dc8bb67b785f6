"""scsctl: bench programmer and controller for external trial spinal cord stimulators."""

from __future__ import annotations

__version__ = "0.1.0"

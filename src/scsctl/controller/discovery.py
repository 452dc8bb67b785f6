"""What can be connected to, in one place: serial ports, USB devices whose ids match a profile, and
the built-in emulator's models. ``scsctl ports`` and the TUI's connect screen both list from here.

::

    listing = list_ports()             # serial ports and matching USB devices (problems, not errors)
    for target in emulator_targets():  # emu:// (the default model) first, then emu://MODEL
        print(target.url, target.model)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import transports
from ..transports import PortInfo, PortListing
from .target import EMULATOR_URL

__all__ = ["EmulatorTarget", "PortInfo", "PortListing", "emulator_targets", "list_ports"]


def list_ports(**options: Any) -> PortListing:
    """Serial ports, and USB devices whose ids match a known profile; trouble listing USB devices is
    in ``problems``. ``options`` replace the system's listings (tests: ``comports``, ``usb_backend``)."""
    return transports.list_ports(**options)


@dataclass(frozen=True, slots=True)
class EmulatorTarget:
    """One model of the built-in emulator, as a URL to connect to."""

    url: str
    model: str
    default: bool
    """This model is what the bare ``emu://`` opens."""

    def describe(self) -> str:
        return f"{self.url}  built-in emulator, {self.model} (EMULATOR - not a real device)"


def emulator_targets() -> list[EmulatorTarget]:
    """``emu://`` (the default model) first, then ``emu://MODEL`` for every other model, by name."""
    from ..emulator import DEFAULT_MODEL_NAME, MODELS

    others = [EmulatorTarget(f"emu://{name}", name, False) for name in sorted(MODELS) if name != DEFAULT_MODEL_NAME]
    return [EmulatorTarget(EMULATOR_URL, DEFAULT_MODEL_NAME, True), *others]

"""The terminal UI (Textual): ``scsctl`` or ``scsctl tui``.

::

    from scsctl.tui import ScsApp, ConnectTarget
    ScsApp(ConnectTarget("emu://")).run()

Layout of the package (each module holds one thing; only ``app``, ``messages``, ``screens`` and
``widgets`` import Textual):

- the device side (what to connect to, events and coalesced statuses, the thread that exists
  only to send STOP) is the controller's session layer, imported from ``scsctl.controller``.
- ``draft``, ``params``, ``pulse``, ``wording``: the program being edited, its settings and steps,
  its pulse drawing, and words for errors and records (the charge arithmetic shown is the guard's).
- ``app``: ``ScsApp`` (see its docstring for STOP, adding a screen, and headless use).
- ``screens``: connect, main, start dialog, small dialogs. ``widgets``: one panel each.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..controller import EMULATOR_URL, ConnectTarget

if TYPE_CHECKING:
    from .app import ScsApp

__all__ = ["EMULATOR_URL", "ConnectTarget", "ScsApp"]


def __getattr__(name: str) -> Any:
    # Textual is imported only when the app itself is asked for.
    if name == "ScsApp":
        from .app import ScsApp

        return ScsApp
    raise AttributeError(name)

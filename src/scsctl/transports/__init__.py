"""Transports: byte pipes to a device, chosen by URL scheme, each backend loaded only when used.

======================================  =====================================================
URL                                     backend
======================================  =====================================================
``/dev/ttyUSB0``, ``COM3``              pyserial (``serial_port.SerialTransport``)
``socket://HOST:PORT``, ``rfc2217://``,  pyserial: every URL pyserial knows
``loop://``, ``spy://``, ...
``usb://VID:PID[/SERIAL]``              pyusb bulk endpoints (``usb.UsbTransport``), libusb from
                                        the ``libusb-package`` wheel
``emu://``, ``emu://MODEL``             the in-process emulator (``emulated.EmulatedTransport``)
======================================  =====================================================

``emu://`` takes query options: ``emu://drg-4x4?seed=3&baud=115200&fault=drop-bytes:0.01``
(``fault`` may repeat; syntax in ``scsctl.emulator.linefaults``).

Errors are ``scsctl.errors`` transport errors naming the port; nothing from pyserial or pyusb
escapes.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .base import Transport
from .ports import PortInfo, PortListing, list_ports

if TYPE_CHECKING:
    from .emulated import EmulatedTransport

__all__ = [
    "BACKENDS",
    "EmulatedTransport",
    "PortInfo",
    "PortListing",
    "Transport",
    "backend_for_url",
    "has_line_speed",
    "list_ports",
    "no_line_speed_text",
    "open_transport",
    "speed_options",
    "take_over_options",
    "transport_for_url",
]


def __getattr__(name: str) -> Any:
    # The emulator's transport loads the emulator: only when asked for.
    if name == "EmulatedTransport":
        from .emulated import EmulatedTransport

        return EmulatedTransport
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

BACKENDS: dict[str, str] = {
    "usb": "scsctl.transports.usb:UsbTransport",
    "emu": "scsctl.transports.emulated:EmulatedTransport",
}
"""URL scheme -> ``module:class``. Anything else (paths, other schemes) goes to pyserial."""

_SERIAL = "scsctl.transports.serial_port:SerialTransport"


def backend_for_url(url: str) -> str:
    """The ``module:class`` that handles ``url``, without importing it."""
    scheme, sep, _ = url.partition("://")
    if sep and scheme.lower() in BACKENDS:
        return BACKENDS[scheme.lower()]
    return _SERIAL


def take_over_options(url: str) -> dict[str, Any]:
    """Options that open ``url`` beside a holder that does not answer (for STOP only): not exclusively."""
    return {"exclusive": False} if backend_for_url(url) == _SERIAL else {}


def has_line_speed(url: str) -> bool:
    """Whether ``url``'s port has a line speed to set: not a USB device, whose data goes over its
    bulk endpoints at the bus's own speed."""
    return backend_for_url(url) != BACKENDS["usb"]


def no_line_speed_text(url: str) -> str:
    """Why a line speed given for ``url`` (a USB device) cannot be set, for the error a caller raises."""
    return f"{url} has no line speed to set (a USB device's data goes over its bulk endpoints at the bus's own speed)"


def speed_options(url: str, baud: int | None) -> dict[str, Any]:
    """The option that sets the line speed ``baud`` for ``url``'s backend ({} for None, and for USB,
    which has no line speed)."""
    if baud is None:
        return {}
    backend = backend_for_url(url)
    if backend == _SERIAL:
        return {"baudrate": baud}
    if backend == BACKENDS["emu"]:
        return {"baud": baud}
    return {}


def transport_for_url(url: str, **options: Any) -> Transport:
    """A transport for ``url``, not yet opened. ``options`` go to the backend's constructor."""
    module_name, _, class_name = backend_for_url(url).partition(":")
    cls: type[Transport] = getattr(importlib.import_module(module_name), class_name)
    return cls(url, **options)


def open_transport(url: str, **options: Any) -> Transport:
    """An opened transport for ``url``; ``close()`` it (or use it as a context manager).

    Raises ``PortNotFound`` (naming the port; ``scsctl ports`` lists them), ``TransportError``, or
    ``UsageError`` for a malformed URL or option.
    """
    transport = transport_for_url(url, **options)
    transport.open()
    return transport

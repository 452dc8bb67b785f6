"""``usb://VID:PID[/SERIAL]``: a device on USB bulk endpoints, through pyusb.

The ids are hexadecimal (``usb://1209:5101``, ``usb://0x1209:0x5101/SN0042``), as in a profile's
``usb_vid``/``usb_pid``. The transport uses the first bulk OUT and bulk IN endpoints of interface
0 (``interface=`` to choose another). libusb comes from the ``libusb-package`` wheel, so a fresh
machine needs nothing else; ``backend=`` takes any pyusb backend instead (the tests bridge one to
the emulator, so pyusb's own code runs and only libusb is replaced).

pyusb's exceptions are turned into ``PortNotFound``/``PortLost``/``TransportError`` naming the URL:
a device that went away (cable pulled, re-enumeration) is ``PortLost`` at once, and ``open()``
finds it again.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import math
import re
import threading
from typing import Any

from ..errors import PortLost, PortNotFound, TransportError, UsageError
from .base import Transport

_log = logging.getLogger(__name__)

__all__ = ["UsbAddress", "UsbTransport", "parse_usb_url"]

_URL = re.compile(r"^usb://(?:0x)?([0-9a-fA-F]{1,4}):(?:0x)?([0-9a-fA-F]{1,4})(?:/([^/?#]+))?/?$", re.IGNORECASE)
_LIST_HINT = "list the devices with `scsctl ports`"
_LIBUSB_NO_DEVICE = -4
_LIBUSB_ACCESS = -3


class UsbAddress:
    """Vendor id, product id and optional serial number parsed from a ``usb://`` URL."""

    __slots__ = ("product_id", "serial_number", "vendor_id")

    def __init__(self, vendor_id: int, product_id: int, serial_number: str | None) -> None:
        self.vendor_id = vendor_id
        self.product_id = product_id
        self.serial_number = serial_number

    def __str__(self) -> str:
        ids = f"{self.vendor_id:04x}:{self.product_id:04x}"
        return f"{ids} serial {self.serial_number}" if self.serial_number else ids


def parse_usb_url(url: str) -> UsbAddress:
    m = _URL.match(url.strip())
    if m is None:
        raise UsageError(f"{url!r} is not a USB URL: write usb://VID:PID or usb://VID:PID/SERIAL (hex ids)")
    vid, pid, serial_number = m.groups()
    return UsbAddress(int(vid, 16), int(pid, 16), serial_number)


def default_backend() -> Any:
    """pyusb's libusb 1.0 backend with the library from the ``libusb-package`` wheel."""
    import libusb_package

    return libusb_package.get_libusb1_backend()


def _is_gone(err: BaseException) -> bool:
    return getattr(err, "backend_error_code", None) == _LIBUSB_NO_DEVICE or getattr(err, "errno", None) in (
        errno.ENODEV,
        errno.ESHUTDOWN,
    )


class UsbTransport(Transport):
    """A bulk IN/OUT endpoint pair on a USB device, found by vendor id, product id and serial."""

    def __init__(self, url: str, *, backend: Any = None, interface: int = 0, write_timeout_s: float = 2.0) -> None:
        super().__init__(url)
        self.address = parse_usb_url(url)
        self._backend = backend
        self._interface = interface
        self._write_timeout_ms = max(1, math.ceil(write_timeout_s * 1000))
        self._device: Any = None
        self._ep_in: Any = None
        self._ep_out: Any = None
        self._rx = bytearray()
        self._lock = threading.Lock()

    def open(self) -> None:
        if self.is_open:
            return
        import usb.core
        import usb.util

        backend = self._backend if self._backend is not None else default_backend()
        if backend is None:
            raise TransportError(f"{self.url}: libusb could not be loaded (is libusb-package installed?)",
                                 port=self.url)  # fmt: skip
        try:
            device = usb.core.find(
                idVendor=self.address.vendor_id,
                idProduct=self.address.product_id,
                backend=backend,
                custom_match=self._serial_matches,
            )
            if device is None:
                raise PortNotFound(f"{self.url}: no USB device {self.address}; {_LIST_HINT}", port=self.url)
            self._detach_kernel_driver(device)
            try:
                config = device.get_active_configuration()
            except usb.core.USBError:
                device.set_configuration()
                config = device.get_active_configuration()
            intf = usb.util.find_descriptor(config, bInterfaceNumber=self._interface)
            if intf is None:
                raise TransportError(f"{self.url}: the device has no interface {self._interface}", port=self.url)
            ep_out = self._bulk_endpoint(intf, usb.util.ENDPOINT_OUT)
            ep_in = self._bulk_endpoint(intf, usb.util.ENDPOINT_IN)
            if ep_out is None or ep_in is None:
                raise TransportError(
                    f"{self.url}: interface {self._interface} has no bulk IN and OUT endpoint pair", port=self.url
                )
            usb.util.claim_interface(device, intf)
        except (usb.core.USBError, NotImplementedError, ValueError) as err:
            raise self._open_error(err) from err
        self._device, self._ep_in, self._ep_out = device, ep_in, ep_out
        self._rx.clear()

    def _serial_matches(self, device: Any) -> bool:
        wanted = self.address.serial_number
        if wanted is None:
            return True
        import usb.core

        try:
            return bool(device.serial_number == wanted)
        except (usb.core.USBError, ValueError, NotImplementedError):
            return False  # a device we may not read is not the one asked for

    @staticmethod
    def _detach_kernel_driver(device: Any) -> None:
        import usb.core

        try:
            for cfg in device:
                for intf in cfg:
                    if device.is_kernel_driver_active(intf.bInterfaceNumber):
                        device.detach_kernel_driver(intf.bInterfaceNumber)
                break
        except (NotImplementedError, usb.core.USBError):
            pass  # not every platform or backend has kernel drivers to detach

    @staticmethod
    def _bulk_endpoint(intf: Any, direction: int) -> Any:
        import usb.util

        def match(ep: Any) -> bool:
            return bool(
                usb.util.endpoint_direction(ep.bEndpointAddress) == direction
                and usb.util.endpoint_type(ep.bmAttributes) == usb.util.ENDPOINT_TYPE_BULK
            )

        return usb.util.find_descriptor(intf, custom_match=match)

    def _open_error(self, err: BaseException) -> TransportError:
        if isinstance(err, TransportError):
            return err
        if getattr(err, "backend_error_code", None) == _LIBUSB_ACCESS or getattr(err, "errno", None) in (
            errno.EACCES,
            errno.EPERM,
        ):
            return TransportError(
                f"{self.url}: permission denied on USB device {self.address} ({err}); on Linux, install a "
                "udev rule giving your user access to it",
                port=self.url,
            )
        if _is_gone(err):
            return PortNotFound(f"{self.url}: USB device {self.address} went away ({err}); {_LIST_HINT}",
                                port=self.url)  # fmt: skip
        return TransportError(f"{self.url}: cannot open USB device {self.address}: {err}", port=self.url)

    def close(self) -> None:
        device, self._device = self._device, None
        self._ep_in = self._ep_out = None
        if device is None:
            return
        import usb.core
        import usb.util

        # The device may be gone already; closing is only tidying up.
        with contextlib.suppress(usb.core.USBError, NotImplementedError):
            usb.util.dispose_resources(device)

    def write(self, data: bytes) -> None:
        import usb.core

        ep = self._require(self._ep_out)
        try:
            sent = ep.write(data, timeout=self._write_timeout_ms)
        except usb.core.USBTimeoutError as err:
            raise TransportError(f"{self.url}: USB write timed out", port=self.url) from err
        except (usb.core.USBError, NotImplementedError) as err:
            raise self._failure(err, "write") from err
        if sent != len(data):
            raise TransportError(f"{self.url}: USB write sent {sent} of {len(data)} bytes", port=self.url)

    def _recv(self, max_bytes: int, timeout_s: float | None) -> bytes:
        import usb.core

        with self._lock:
            if not self._rx:
                ep = self._require(self._ep_in)
                # libusb: 0 ms waits forever, so a zero timeout becomes the shortest wait there is.
                timeout_ms = 0 if timeout_s is None else max(1, math.ceil(timeout_s * 1000))
                # Ask for whole packets: a shorter request can overflow on a full packet.
                size = max(ep.wMaxPacketSize, math.ceil(max_bytes / ep.wMaxPacketSize) * ep.wMaxPacketSize)
                try:
                    self._rx += bytes(ep.read(size, timeout=timeout_ms))
                except usb.core.USBTimeoutError:
                    return b""
                except (usb.core.USBError, NotImplementedError) as err:
                    raise self._failure(err, "read") from err
            data = bytes(self._rx[:max_bytes])
            del self._rx[:max_bytes]
            return data

    def _failure(self, err: BaseException, what: str) -> TransportError:
        if _is_gone(err):
            self.close()
            _log.info("%s: USB device %s vanished during %s (%s)", self.url, self.address, what, err)
            return PortLost(f"{self.url}: USB device {self.address} vanished during {what} ({err}); open it "
                            "again when it is back", port=self.url)  # fmt: skip
        _log.info("%s: USB %s failed: %s", self.url, what, err)
        return TransportError(f"{self.url}: USB {what} failed: {err}", port=self.url)

    @property
    def is_open(self) -> bool:
        return self._device is not None

    def _require(self, endpoint: Any) -> Any:
        if endpoint is None:
            raise TransportError(f"{self.url}: the port is not open", port=self.url)
        return endpoint

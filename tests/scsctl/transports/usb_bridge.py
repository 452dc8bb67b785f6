"""A pyusb backend whose devices are emulators: only libusb is replaced.

``usb.core.find``, ``Device.set_configuration``, descriptor parsing, interface claiming and
endpoint reads and writes all run pyusb's own code; the backend answers with descriptors of a
vendor-class device with one bulk OUT (0x01) and one bulk IN (0x81) endpoint, and moves bulk
transfers to and from an :class:`~scsctl.emulator.runner.EmulatorRunner`. A disconnect fault makes
the device vanish from enumeration for the down time and fail every transfer on an old handle with
``ENODEV``, as libusb does for an unplugged device.
"""

from __future__ import annotations

import array
import errno
from dataclasses import dataclass, field
from typing import Any

import usb.backend
import usb.core

from scsctl.emulator.runner import EmulatorRunner
from scsctl.errors import PortLost
from scsctl.transports.emulated import MemoryPort

EP_OUT = 0x01
EP_IN = 0x81
PACKET_SIZE = 64
_GET_DESCRIPTOR = 0x06
_DESC_STRING = 0x03
_LANGID_EN_US = 0x0409


class _Desc:
    def __init__(self, **fields: Any) -> None:
        self.__dict__.update(fields)


@dataclass(eq=False)
class BridgedDevice:
    """One emulator plugged into the bridge."""

    runner: EmulatorRunner[Any]
    vendor_id: int
    product_id: int
    serial_number: str
    address: int
    port: MemoryPort = field(init=False)
    generation: int = 0
    configuration: int = 0

    def __post_init__(self) -> None:
        self.port = MemoryPort(f"usb-bridge:{self.vendor_id:04x}:{self.product_id:04x}")
        self.port.open()

    @property
    def present(self) -> bool:
        return self.port.down_for_s() == 0

    # HostPort, so a disconnect fault reaches the bridge
    def deliver(self, data: bytes) -> None:
        self.port.deliver(data)

    def disconnected(self, down_s: float) -> None:
        self.generation += 1
        self.configuration = 0
        self.port.disconnected(down_s)


@dataclass(frozen=True)
class _Handle:
    device: BridgedDevice
    generation: int


class EmulatorUsbBackend(usb.backend.IBackend):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.devices: list[BridgedDevice] = []

    def plug(self, runner: EmulatorRunner[Any], vendor_id: int, product_id: int, serial_number: str) -> BridgedDevice:
        device = BridgedDevice(runner, vendor_id, product_id, serial_number, address=len(self.devices) + 1)
        self.devices.append(device)
        runner.start(device)
        return device

    def unplug_all(self) -> None:
        for device in self.devices:
            device.runner.stop()

    # --- enumeration and descriptors ------------------------------------------------------------

    def enumerate_devices(self) -> Any:
        return [d for d in self.devices if d.present]

    def get_parent(self, dev: BridgedDevice) -> None:
        return None

    def get_device_descriptor(self, dev: BridgedDevice) -> _Desc:
        return _Desc(
            bLength=18, bDescriptorType=1, bcdUSB=0x0200, bDeviceClass=0, bDeviceSubClass=0,
            bDeviceProtocol=0, bMaxPacketSize0=64, idVendor=dev.vendor_id, idProduct=dev.product_id,
            bcdDevice=0x0100, iManufacturer=1, iProduct=2, iSerialNumber=3, bNumConfigurations=1,
            address=dev.address, bus=1, port_number=dev.address, port_numbers=(dev.address,), speed=2,
        )  # fmt: skip

    def get_configuration_descriptor(self, dev: BridgedDevice, config: int) -> _Desc:
        if config != 0:
            raise IndexError(config)
        return _Desc(
            bLength=9, bDescriptorType=2, wTotalLength=32, bNumInterfaces=1, bConfigurationValue=1,
            iConfiguration=0, bmAttributes=0x80, bMaxPower=50, extra_descriptors=[],
        )  # fmt: skip

    def get_interface_descriptor(self, dev: BridgedDevice, intf: int, alt: int, config: int) -> _Desc:
        if (intf, alt, config) != (0, 0, 0):
            raise IndexError((intf, alt, config))
        return _Desc(
            bLength=9, bDescriptorType=4, bInterfaceNumber=0, bAlternateSetting=0, bNumEndpoints=2,
            bInterfaceClass=0xFF, bInterfaceSubClass=0, bInterfaceProtocol=0, iInterface=0,
            extra_descriptors=[],
        )  # fmt: skip

    def get_endpoint_descriptor(self, dev: BridgedDevice, ep: int, intf: int, alt: int, config: int) -> _Desc:
        if ep not in (0, 1) or (intf, alt, config) != (0, 0, 0):
            raise IndexError(ep)
        return _Desc(
            bLength=7, bDescriptorType=5, bEndpointAddress=(EP_OUT, EP_IN)[ep], bmAttributes=0x02,
            wMaxPacketSize=PACKET_SIZE, bInterval=0, bRefresh=0, bSynchAddress=0, extra_descriptors=[],
        )  # fmt: skip

    # --- handles --------------------------------------------------------------------------------

    def open_device(self, dev: BridgedDevice) -> _Handle:
        if not dev.present:
            raise usb.core.USBError("No such device (it may have been disconnected)", -4, errno.ENODEV)
        if not dev.port.is_open:
            dev.port.open()  # re-enumerated after a disconnect
        return _Handle(dev, dev.generation)

    def close_device(self, dev_handle: _Handle) -> None:
        pass

    def _live(self, handle: _Handle) -> BridgedDevice:
        dev = handle.device
        if handle.generation != dev.generation or not dev.present:
            raise usb.core.USBError("No such device (it may have been disconnected)", -4, errno.ENODEV)
        return dev

    def set_configuration(self, dev_handle: _Handle, config_value: int) -> None:
        self._live(dev_handle).configuration = config_value

    def get_configuration(self, dev_handle: _Handle) -> int:
        return self._live(dev_handle).configuration

    def claim_interface(self, dev_handle: _Handle, intf: int) -> None:
        self._live(dev_handle)

    def release_interface(self, dev_handle: _Handle, intf: int) -> None:
        self._live(dev_handle)

    def is_kernel_driver_active(self, dev_handle: _Handle, intf: int) -> bool:
        return False

    # --- transfers ------------------------------------------------------------------------------

    def bulk_write(self, dev_handle: _Handle, ep: int, intf: int, data: array.array[int], timeout: int) -> int:
        dev = self._live(dev_handle)
        if ep != EP_OUT:
            raise usb.core.USBError("Pipe error", -9, errno.EPIPE)
        dev.runner.feed(data.tobytes())
        return len(data)

    def bulk_read(self, dev_handle: _Handle, ep: int, intf: int, buff: array.array[int], timeout: int) -> int:
        dev = self._live(dev_handle)
        if ep != EP_IN:
            raise usb.core.USBError("Pipe error", -9, errno.EPIPE)
        try:
            data = dev.port.read(len(buff), None if timeout == 0 else timeout / 1000)
        except PortLost:
            raise usb.core.USBError("No such device (it may have been disconnected)", -4, errno.ENODEV) from None
        if not data:
            raise usb.core.USBTimeoutError("Operation timed out", -7, errno.ETIMEDOUT)
        buff[: len(data)] = array.array("B", data)
        return len(data)

    def ctrl_transfer(self, dev_handle: _Handle, bmRequestType: int, bRequest: int, wValue: int,
                      wIndex: int, data: array.array[int], timeout: int) -> int:  # fmt: skip
        dev = self._live(dev_handle)
        if bRequest != _GET_DESCRIPTOR or wValue >> 8 != _DESC_STRING:
            raise usb.core.USBError("Pipe error", -9, errno.EPIPE)
        index = wValue & 0xFF
        if index == 0:
            payload = _LANGID_EN_US.to_bytes(2, "little")
        else:
            text = {1: "scsctl emulator", 2: "trial stimulator (emulated)", 3: dev.serial_number}.get(index)
            if text is None:
                raise usb.core.USBError("Pipe error", -9, errno.EPIPE)
            payload = text.encode("utf-16-le")
        desc = bytes((2 + len(payload), _DESC_STRING)) + payload
        n = min(len(desc), len(data))
        data[:n] = array.array("B", desc[:n])
        return n

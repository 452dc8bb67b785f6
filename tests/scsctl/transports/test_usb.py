"""``usb://``: pyusb's own code path, with libusb replaced by a backend bridged to the emulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from firmware_protocol import Decoder, encode
from firmware_protocol import messages as m
from scsctl.emulator.runner import make_emulator
from scsctl.errors import PortLost, PortNotFound, TransportError, UsageError
from scsctl.transports import open_transport, transport_for_url
from scsctl.transports.usb import UsbTransport, parse_usb_url

from ..emulator.stand_in import conformance, exchange
from .usb_bridge import BridgedDevice, EmulatorUsbBackend

# Placeholder ids from the pid.codes test range, as in the profiles.
VID = 0x1209
PID_TONIC = 0x5101
PID_DRG = 0x5102


@pytest.fixture
def bridge() -> Iterator[EmulatorUsbBackend]:
    backend = EmulatorUsbBackend()
    yield backend
    backend.unplug_all()


@pytest.fixture
def tonic(bridge: EmulatorUsbBackend) -> BridgedDevice:
    return bridge.plug(make_emulator("tonic-burst-16", seed=1), VID, PID_TONIC, "SN-TONIC-1")


def test_conformance_over_usb(bridge: EmulatorUsbBackend, tonic: BridgedDevice) -> None:
    with open_transport("usb://1209:5101", backend=bridge) as t:
        assert isinstance(t, UsbTransport)
        conformance(t)


def test_the_serial_number_picks_one_of_two_identical_devices(bridge: EmulatorUsbBackend) -> None:
    bridge.plug(make_emulator("tonic-burst-16", seed=1), VID, PID_TONIC, "SN-A")
    bridge.plug(make_emulator("tonic-burst-16", seed=2), VID, PID_TONIC, "SN-B")
    serials = []
    for serial_number in ("SN-A", "SN-B"):
        with open_transport(f"usb://0x1209:0x5101/{serial_number}", backend=bridge) as t:
            reply = exchange(t, Decoder(), m.Hello(), 1).message
            assert isinstance(reply, m.Identify)
            serials.append(reply.serial_number)
    assert serials[0] != serials[1]


def test_two_usb_devices_at_once(bridge: EmulatorUsbBackend, tonic: BridgedDevice) -> None:
    bridge.plug(make_emulator("drg-4x4", seed=2), VID, PID_DRG, "SN-DRG-1")
    with open_transport("usb://1209:5101", backend=bridge) as a, open_transport("usb://1209:5102", backend=bridge) as b:
        ids = [exchange(t, Decoder(), m.Hello(), 1).message for t in (a, b)]
        assert [i.model_id for i in ids if isinstance(i, m.Identify)] == [0x5101, 0x5102]


def test_a_missing_device_is_not_found_and_named(bridge: EmulatorUsbBackend, tonic: BridgedDevice) -> None:
    with pytest.raises(PortNotFound, match=r"usb://1209:5101/NOPE: no USB device 1209:5101 serial NOPE.*scsctl ports"):
        open_transport("usb://1209:5101/NOPE", backend=bridge)
    with pytest.raises(PortNotFound, match="1209:5103"):
        open_transport("usb://1209:5103", backend=bridge)


def test_reads_honour_their_timeout(bridge: EmulatorUsbBackend, tonic: BridgedDevice) -> None:
    with open_transport("usb://1209:5101", backend=bridge) as t:
        assert t.read(64, 0.05) == b""
        assert t.read(64, 0) == b""


def test_small_reads_keep_the_rest_of_a_packet(bridge: EmulatorUsbBackend, tonic: BridgedDevice) -> None:
    with open_transport("usb://1209:5101", backend=bridge) as t:
        t.write(encode(m.Hello(), 1))
        data = b""
        decoder = Decoder()
        while not decoder.frames:
            chunk = t.read(3, 5.0)
            assert 0 < len(chunk) <= 3
            data += chunk
            decoder.feed(chunk)
        assert decoder.invalid_frames == 0


def test_unplugging_is_port_lost_and_open_finds_the_device_again(
    bridge: EmulatorUsbBackend, tonic: BridgedDevice
) -> None:
    t = open_transport("usb://1209:5101", backend=bridge)
    try:
        conformance(t)
        tonic.runner.disconnect()
        with pytest.raises(PortLost, match="vanished"):
            t.read(64, None)
        assert not t.is_open
        t.open()
        conformance(t)
    finally:
        t.close()


def test_a_device_that_stays_unplugged_is_not_found(bridge: EmulatorUsbBackend, tonic: BridgedDevice) -> None:
    t = open_transport("usb://1209:5101", backend=bridge)
    try:
        tonic.runner.disconnect(down_s=3600)
        with pytest.raises(PortLost):
            t.write(encode(m.GetStatus(), 1))
        with pytest.raises(PortNotFound):
            t.open()
    finally:
        t.close()


@pytest.mark.parametrize("url", ["usb://1209", "usb://xyz:5101", "usb://1209:5101/a/b", "usb://12345:1"])
def test_malformed_usb_urls_are_refused(url: str) -> None:
    with pytest.raises(UsageError, match="usb://VID:PID"):
        transport_for_url(url)


def test_usb_urls_parse_hex_ids_and_serial() -> None:
    address = parse_usb_url("usb://0x1209:5101/SN0042")
    assert (address.vendor_id, address.product_id, address.serial_number) == (0x1209, 0x5101, "SN0042")


def test_a_closed_usb_port_names_itself(bridge: EmulatorUsbBackend) -> None:
    t = transport_for_url("usb://1209:5101", backend=bridge)
    with pytest.raises(TransportError, match="usb://1209:5101: the port is not open"):
        t.write(b"x")

"""`scsctl ports`: serial ports, and USB devices whose ids match a profile."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from scsctl import transports
from scsctl.cli.main import main
from scsctl.emulator.runner import make_emulator
from scsctl.transports.ports import PortInfo, PortListing, known_usb_ids, list_ports

from .usb_bridge import EmulatorUsbBackend

IDS = {(0x1209, 0x5101): "tonic-burst-16", (0x1209, 0x5102): "drg-4x4"}


@dataclass
class FakeComPort:
    device: str
    description: str = "n/a"
    vid: int | None = None
    pid: int | None = None
    serial_number: str | None = None


def test_the_shipped_profiles_name_their_usb_ids() -> None:
    ids = known_usb_ids()
    assert ids[(0x1209, 0x5101)] == "tonic-burst-16"
    assert ids[(0x1209, 0x5102)] == "drg-4x4"
    assert ids[(0x1209, 0x5103)] == "hf10k-16"


def test_serial_ports_are_listed_with_the_matching_profile() -> None:
    comports = [
        FakeComPort("/dev/ttyUSB0", "FT232R", 0x0403, 0x6001, "A1"),
        FakeComPort("/dev/ttyACM0", "trial stimulator", 0x1209, 0x5102, "SN-DRG"),
        FakeComPort("/dev/ttyS0"),
    ]
    listing = list_ports(usb_ids=IDS, comports=lambda: comports, include_usb=False)
    by_url = {p.url: p for p in listing.ports}
    assert by_url["/dev/ttyACM0"].profile == "drg-4x4"
    assert by_url["/dev/ttyUSB0"].profile is None
    assert by_url["/dev/ttyS0"].description == ""


def test_usb_devices_are_listed_only_when_a_profile_knows_their_ids() -> None:
    bridge = EmulatorUsbBackend()
    bridge.plug(make_emulator("tonic-burst-16"), 0x1209, 0x5101, "SN-1")
    bridge.plug(make_emulator("tonic-burst-16", seed=1), 0x1234, 0x0001, "OTHER")
    try:
        listing = list_ports(usb_ids=IDS, comports=lambda: [], usb_backend=bridge)
    finally:
        bridge.unplug_all()
    assert listing.problems == []
    assert [(p.url, p.kind, p.profile) for p in listing.ports] == [("usb://1209:5101/SN-1", "usb", "tonic-burst-16")]


def test_a_device_seen_as_a_serial_port_is_not_listed_twice() -> None:
    bridge = EmulatorUsbBackend()
    bridge.plug(make_emulator("drg-4x4"), 0x1209, 0x5102, "SN-DRG")
    try:
        comports = [FakeComPort("/dev/ttyACM0", "stimulator", 0x1209, 0x5102, "SN-DRG")]
        listing = list_ports(usb_ids=IDS, comports=lambda: comports, usb_backend=bridge)
    finally:
        bridge.unplug_all()
    assert [p.url for p in listing.ports] == ["/dev/ttyACM0"]


def test_usb_trouble_is_a_problem_reported_not_a_failure() -> None:
    class Broken(EmulatorUsbBackend):
        def enumerate_devices(self) -> Any:
            raise OSError("Access denied (insufficient permissions)")

    listing = list_ports(usb_ids=IDS, comports=lambda: [FakeComPort("/dev/ttyS0")], usb_backend=Broken())
    assert [p.url for p in listing.ports] == ["/dev/ttyS0"]
    assert "Access denied" in listing.problems[0]


def _fake_listing(**_: Any) -> PortListing:
    return PortListing(
        [PortInfo("/dev/ttyACM0", "serial", "stimulator", 0x1209, 0x5102, "SN-DRG", "drg-4x4")],
        ["USB devices not listed: no libusb"],
    )


def test_scsctl_ports_prints_a_table(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(transports, "list_ports", _fake_listing)
    assert main(["ports"]) == 0
    out, err = capsys.readouterr()
    header, row = out.splitlines()
    assert header.split() == ["PORT", "PROFILE", "USB", "ID", "SERIAL", "DESCRIPTION"]
    assert row.split() == ["/dev/ttyACM0", "drg-4x4", "1209:5102", "SN-DRG", "stimulator"]
    assert "no libusb" in err


def test_scsctl_ports_json(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(transports, "list_ports", _fake_listing)
    assert main(["ports", "--json"]) == 0
    (entry,) = json.loads(capsys.readouterr().out)
    assert entry == {
        "url": "/dev/ttyACM0", "kind": "serial", "description": "stimulator", "usb_vid": 0x1209,
        "usb_pid": 0x5102, "serial_number": "SN-DRG", "profile": "drg-4x4",
    }  # fmt: skip


def test_scsctl_ports_says_so_when_there_is_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(transports, "list_ports", lambda **_: PortListing([]))
    assert main(["ports"]) == 0
    assert "emu://" in capsys.readouterr().out

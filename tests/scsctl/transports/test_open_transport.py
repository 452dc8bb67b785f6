"""Choosing the backend by URL, lazily."""

from __future__ import annotations

import inspect

import pytest

import scsctl.transports as transports
from scsctl.errors import UsageError
from scsctl.transports import backend_for_url, open_transport


@pytest.mark.parametrize(
    ("url", "backend"),
    [
        ("/dev/ttyUSB0", "serial_port"),
        ("/dev/pts/3", "serial_port"),
        ("COM3", "serial_port"),
        ("socket://127.0.0.1:5555", "serial_port"),
        ("rfc2217://bench:4000", "serial_port"),
        ("loop://", "serial_port"),
        ("usb://1209:5101", "usb"),
        ("USB://1209:5101/SN1", "usb"),
        ("emu://", "emulated"),
        ("emu://drg-4x4", "emulated"),
    ],
)
def test_the_scheme_picks_the_backend(url: str, backend: str) -> None:
    assert backend_for_url(url).startswith(f"scsctl.transports.{backend}:")


def test_all_names_the_public_api() -> None:
    typing_names = {"annotations", "Any", "TYPE_CHECKING"}
    public = {
        name for name, value in vars(transports).items()
        if not name.startswith("_") and not inspect.ismodule(value) and name not in typing_names
    }  # fmt: skip
    lazy = {"EmulatedTransport"}  # loaded on first use (it brings the emulator)
    assert sorted(transports.__all__) == sorted(public | lazy)
    assert all(getattr(transports, name) is not None for name in lazy)


def test_open_transport_returns_an_open_transport_and_a_context_manager_closes_it() -> None:
    with open_transport("emu://") as t:
        assert t.is_open
        with t:  # entering an open transport keeps it open
            assert t.is_open
    assert not t.is_open


@pytest.mark.parametrize("url", ["emu://", "loop://"])
def test_a_negative_read_timeout_is_refused(url: str) -> None:
    with open_transport(url) as t, pytest.raises(UsageError, match="read timeout -1 s is negative"):
        t.read(1, -1)

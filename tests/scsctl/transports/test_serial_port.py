"""pyserial URLs: errors name the port, and pyserial's own exceptions never escape."""

from __future__ import annotations

import socket

import pytest
import serial

from scsctl.errors import PortLost, PortNotFound, ScsError, TransportError, UsageError
from scsctl.transports import open_transport, transport_for_url
from scsctl.transports.serial_port import SerialTransport


def test_loop_url_echoes_and_honours_timeouts() -> None:
    with open_transport("loop://") as t:
        assert isinstance(t, SerialTransport)
        t.write(b"\xa5\xc3hello")
        got = b""
        while len(got) < 7:
            chunk = t.read(64, 5.0)
            assert chunk
            got += chunk
        assert got == b"\xa5\xc3hello"
        assert t.read(64, 0.05) == b""
        assert t.read(64, 0) == b""


def test_reads_return_at_most_what_was_asked() -> None:
    with open_transport("loop://") as t:
        t.write(b"abcdef")
        assert t.read(2, 5.0) == b"ab"


def test_a_missing_device_path_is_not_found_and_says_how_to_list_ports() -> None:
    with pytest.raises(PortNotFound, match=r"/dev/ttyNOPE9: no such port.*scsctl ports") as info:
        open_transport("/dev/ttyNOPE9")
    assert info.value.port == "/dev/ttyNOPE9"
    assert not isinstance(info.value.__cause__, ScsError)  # the pyserial error is kept as the cause only


@pytest.mark.parametrize("scheme", ["socket", "rfc2217"])
def test_a_refused_tcp_port_is_not_found_and_says_what_to_check(scheme: str) -> None:
    with socket.socket() as s:  # a port that was free a moment ago, with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"{scheme}://127.0.0.1:{port}"
    with pytest.raises(PortNotFound) as info:
        open_transport(url)
    message = str(info.value)
    assert message.startswith(f"{url}: nothing accepts connections there")
    assert "serial server (ser2net)" in message and "scsctl ports" not in message  # no local port to list
    assert "ign_set_control" not in message  # what pyserial was given, not what the user typed


def test_an_unknown_url_scheme_is_a_usage_error_listing_the_kinds_of_port() -> None:
    with pytest.raises(UsageError, match=r"gopher://x: unknown kind of port .*socket://HOST:PORT"):
        open_transport("gopher://x")


def test_bad_port_options_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="loop://"):
        open_transport("loop://", baudrate=-1)


def test_using_a_closed_port_names_it() -> None:
    t = transport_for_url("loop://")
    with pytest.raises(TransportError, match="loop://: the port is not open"):
        t.read(1, 0)
    t.open()
    t.close()
    t.close()  # closing twice does nothing
    with pytest.raises(TransportError, match="not open"):
        t.write(b"x")


def test_pyserial_exceptions_are_wrapped(monkeypatch: pytest.MonkeyPatch) -> None:
    with SerialTransport("loop://") as t:
        port = t._serial

        def broken(*_: object) -> bytes:
            raise serial.SerialException("device reports readiness to read but returned no data")

        monkeypatch.setattr(port, "read", broken)
        with pytest.raises(PortLost, match="loop://: the port vanished") as info:
            t.read(1, 0.1)
        assert isinstance(info.value.__cause__, serial.SerialException)
        assert not t.is_open

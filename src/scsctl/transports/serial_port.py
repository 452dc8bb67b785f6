"""pyserial behind the transport interface: device paths and every URL pyserial knows.

``/dev/ttyUSB0``, ``/dev/pts/3`` (``scsctl emulator --pty``), ``COM3``, ``socket://HOST:PORT``
(``scsctl emulator --tcp``), ``rfc2217://HOST:PORT``, ``loop://``. pyserial's exceptions are
turned into ``PortNotFound``/``PortLost``/``TransportError`` naming the port.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
from typing import Any

import serial

from ..errors import PortLost, PortNotFound, TransportError, UsageError
from .base import Transport

__all__ = ["DEFAULT_BAUD", "SerialTransport"]

DEFAULT_BAUD = 115_200
"""Bits per second when the caller does not say; ignored by ptys and sockets."""

_LIST_HINT = "list the ports with `scsctl ports`"
_MISSING = {errno.ENOENT, errno.ENODEV, errno.ENXIO, errno.ECONNREFUSED, errno.EHOSTUNREACH}


def _os_errno(err: BaseException) -> int | None:
    """The OS error number behind a pyserial exception (pyserial keeps it in odd places)."""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        number = getattr(current, "errno", None)
        if isinstance(number, int):
            return number
        current = current.__cause__ or current.__context__
    return None


class SerialTransport(Transport):
    """One pyserial port. ``options`` go to ``serial.serial_for_url`` (``baudrate``, ``rtscts``...)."""

    def __init__(self, url: str, *, baudrate: int = DEFAULT_BAUD, write_timeout_s: float = 2.0,
                 **options: Any) -> None:  # fmt: skip
        super().__init__(url)
        self._options = dict(options, baudrate=baudrate, write_timeout=write_timeout_s)
        self._serial: Any = None
        self._timeout_s: float | None = -1.0  # not yet set on the port

    def open(self) -> None:
        if self.is_open:
            return
        try:
            port = serial.serial_for_url(self.url, do_not_open=True, timeout=None, **self._options)
        except ValueError as err:
            if "not known" in str(err):  # pyserial's answer to a URL scheme it does not know
                raise UsageError(
                    f"{self.url}: unknown kind of port ({err}); use a device path, socket://HOST:PORT, "
                    f"rfc2217://HOST:PORT, usb://VID:PID or emu://; {_LIST_HINT}"
                ) from err
            raise UsageError(f"{self.url}: {err}") from err
        except (serial.SerialException, TypeError) as err:
            raise UsageError(f"{self.url}: {err}") from err
        try:
            port.open()
        except (serial.SerialException, OSError, ValueError) as err:
            raise self._open_error(err) from err
        self._serial = port
        self._timeout_s = None
        try:
            # Bytes that reached the port while nobody had it open are stale, as on a real UART.
            port.reset_input_buffer()
        except (serial.SerialException, OSError) as err:
            self._drop()
            raise self._lost(err) from err

    def _open_error(self, err: BaseException) -> TransportError:
        number = _os_errno(err)
        text = str(err)
        if number in _MISSING or "No such file" in text or "Connection refused" in text:
            return PortNotFound(f"{self.url}: no such port ({err}); {_LIST_HINT}", port=self.url)
        if number in (errno.EACCES, errno.EPERM):
            return TransportError(
                f"{self.url}: permission denied ({err}); on Linux, add yourself to the group that owns "
                "the device (often `dialout`) and log in again",
                port=self.url,
            )
        if number == errno.EBUSY:
            return TransportError(f"{self.url}: the port is in use by another program ({err})", port=self.url)
        return TransportError(f"{self.url}: cannot open the port: {err}", port=self.url)

    def _lost(self, err: BaseException) -> PortLost:
        return PortLost(f"{self.url}: the port vanished ({err}); open it again when it is back", port=self.url)

    def _drop(self) -> None:
        port, self._serial = self._serial, None
        if port is not None:
            # The port may be gone already; closing is only tidying up.
            with contextlib.suppress(serial.SerialException, OSError):
                port.close()

    def close(self) -> None:
        self._drop()

    def write(self, data: bytes) -> None:
        port = self._require_open()
        fd = getattr(port, "fd", None)
        if isinstance(fd, int) and self._options.get("write_timeout") is not None:
            self._write_fd(fd, data, float(self._options["write_timeout"]))
            return
        try:
            port.write(data)
        except serial.SerialTimeoutException as err:
            raise TransportError(f"{self.url}: write timed out (flow control or a full line?)", port=self.url
                                 ) from err  # fmt: skip
        except (serial.SerialException, OSError) as err:
            self._drop()
            raise self._lost(err) from err

    def _write_fd(self, fd: int, data: bytes, timeout_s: float) -> None:
        # A POSIX port (device path or pty): write straight to its descriptor and wait only if
        # the kernel's buffer is full. pyserial's own write waits in select() after every write,
        # even one that went out whole: one system call more per frame, on the STOP path too.
        view = memoryview(data)
        try:
            while view:
                try:
                    view = view[os.write(fd, view) :]
                except BlockingIOError:
                    if not select.select([], [fd], [], timeout_s)[1]:
                        raise TransportError(
                            f"{self.url}: write timed out (flow control or a full line?)", port=self.url
                        ) from None
        except OSError as err:
            self._drop()
            raise self._lost(err) from err

    def cancel_read(self) -> None:
        port = self._serial
        if port is not None and hasattr(port, "cancel_read"):
            with contextlib.suppress(serial.SerialException, OSError):
                port.cancel_read()

    def read(self, max_bytes: int, timeout_s: float | None) -> bytes:
        if max_bytes <= 0:
            raise UsageError(f"{self.url}: read of {max_bytes} bytes; ask for 1 or more")
        if timeout_s is not None and timeout_s < 0:
            raise UsageError(f"{self.url}: read timeout {timeout_s} s is negative; give 0 or more, or None")
        port = self._require_open()
        fd, abort = getattr(port, "fd", None), getattr(port, "pipe_abort_read_r", None)
        if isinstance(fd, int) and isinstance(abort, int):
            return self._read_fd(fd, abort, max_bytes, timeout_s)
        try:
            if timeout_s != self._timeout_s:
                # Setting pyserial's timeout reconfigures the port: only when it changes.
                port.timeout = timeout_s
                self._timeout_s = timeout_s
            first = port.read(1)
            if not first:
                return b""
            data = bytearray(first)
            # Take what has already arrived without waiting again. (For socket:// pyserial's
            # in_waiting only says whether anything is there, hence the loop.)
            while len(data) < max_bytes:
                waiting = port.in_waiting
                if not waiting:
                    break
                data += port.read(min(waiting, max_bytes - len(data)))
            return bytes(data)
        except (serial.SerialException, OSError) as err:
            self._drop()
            raise self._lost(err) from err

    def _read_fd(self, fd: int, abort: int, max_bytes: int, timeout_s: float | None) -> bytes:
        # A POSIX port: one select() and one read() of whatever has arrived, where pyserial's
        # read(1) + in_waiting + read(n) takes five system calls for the same bytes.
        try:
            ready = select.select([fd, abort], [], [], timeout_s)[0]
            if abort in ready:
                os.read(abort, 1000)  # cancel_read(): return at once
                return b""
            if not ready:
                return b""
            data = os.read(fd, max_bytes)
        except InterruptedError:
            return b""
        except OSError as err:
            self._drop()
            raise self._lost(err) from err
        if not data:  # readable but empty: the device is gone (as pyserial reports it)
            self._drop()
            raise self._lost(OSError(errno.EIO, "device reports readiness to read but returned no data"))
        return data

    @property
    def is_open(self) -> bool:
        return self._serial is not None and bool(self._serial.is_open)

    def _require_open(self) -> Any:
        port = self._serial
        if port is None:
            raise TransportError(f"{self.url}: the port is not open", port=self.url)
        return port

"""pyserial behind the transport interface: device paths and every URL pyserial knows.

``/dev/ttyUSB0``, ``/dev/pts/3`` (``scsctl emulator --pty``), ``COM3``, ``socket://HOST:PORT``
(``scsctl emulator --tcp``), ``rfc2217://HOST:PORT``, ``loop://``. pyserial's exceptions are
turned into ``PortNotFound``/``PortLost``/``TransportError`` naming the port.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import select
import socket
import threading
import time
from typing import Any

import serial

from ..errors import NotADevice, PortBusy, PortLost, PortNotFound, TransportError, UsageError
from .base import Transport
from .terminals import terminal_user

__all__ = ["DEFAULT_BAUD", "SerialTransport"]

_log = logging.getLogger(__name__)

DEFAULT_BAUD = 115_200
"""Bits per second when the caller does not say; ignored by ptys and sockets."""

_LIST_HINT = "list the ports with `scsctl ports`"
_MISSING = {errno.ENOENT, errno.ENODEV, errno.ENXIO, errno.ECONNREFUSED, errno.EHOSTUNREACH}
_HEAD_BYTES = 256
_POLL_S = 0.05
"""The longest one read of a pyserial URL handler waits (it returns at once when a byte comes)."""
_BUSY_WORDS = re.compile(r"held by|in use|busy", re.IGNORECASE)
_PTY_SLAVE_MAJORS = range(136, 144)
"""Linux's UNIX98 pseudo-terminal slaves (``/dev/pts/N``): no transmitter, nothing waits to be sent."""
_BITS_PER_BYTE = 10
"""A UART byte on the wire: start bit, 8 data bits, stop bit."""
_DRAIN_POLL_MIN_S = 0.0002
"""The shortest wait between two asks of ``drain`` (a byte at 115200 baud takes 87 us)."""



_RFC2217_READER = "pySerial RFC 2217 reader thread"


def _quiet_rfc2217_reader_threads() -> None:
    """pyserial's RFC 2217 client reads on a thread of its own, which dies with a traceback on stderr
    when the server closes the connection; the failure reaches the caller as an error anyway (the
    port is lost), so that thread's traceback goes to the log instead (once installed, for good)."""
    previous = threading.excepthook
    if getattr(previous, "_scsctl_rfc2217", False):
        return

    def hook(args: threading.ExceptHookArgs) -> None:
        thread = args.thread
        if thread is not None and thread.name.startswith(_RFC2217_READER) and issubclass(args.exc_type, OSError):
            _log.debug("%s ended: %s", thread.name, args.exc_value)
            return
        previous(args)

    hook._scsctl_rfc2217 = True  # type: ignore[attr-defined]
    threading.excepthook = hook


def _with_ign_set_control(url: str) -> str:
    """An RFC 2217 URL that does not wait for the server to confirm modem-line settings.

    The protocol uses no modem lines, and serial servers such as ser2net never confirm them:
    without this, opening waits 3 s and fails ("timeout while waiting for option 'control'").
    """
    base, _, query = url.partition("?")
    options = [o for o in query.split("&") if o]
    if "ign_set_control" not in options:
        options.append("ign_set_control")
    return f"{base}?{'&'.join(options)}"


def _parting_words(head: bytes) -> str:
    """What a server wrote before closing, when it was a line of plain text (else "")."""
    text = head.decode("ascii", "replace").strip()
    if not text or any(not (c.isprintable() or c in "\r\n\t") for c in text):
        return ""
    return " ".join(text.split())


def lock_holders(path: str) -> str:
    """Who holds a ``flock`` on the device at ``path`` (from /proc/locks): "pid 123 (picocom ...)"."""
    try:
        info = os.stat(os.path.realpath(path))
        with open("/proc/locks", encoding="ascii", errors="replace") as locks:
            lines = locks.read().splitlines()
    except OSError:
        return ""
    found: list[str] = []
    for line in lines:
        fields = line.split()
        if len(fields) < 6 or fields[1] != "FLOCK":
            continue
        pid, where = fields[4], fields[5].split(":")
        if len(where) == 3 and where[2] == str(info.st_ino) and pid.isdigit() and int(pid) != os.getpid():
            found.append(f"pid {pid} ({_command_of(int(pid))})")
    return ", ".join(dict.fromkeys(found))


def _command_of(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            words = f.read().split(b"\0")
    except OSError:
        return "command not visible"
    text = " ".join(w.decode("utf-8", "replace") for w in words if w)
    return text if len(text) <= 100 else text[:97] + "..."


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

    def __init__(self, url: str, *, baudrate: int | None = None, write_timeout_s: float = 2.0,
                 exclusive: bool | None = None, **options: Any) -> None:  # fmt: skip
        """``exclusive``: lock the port against other openers (default: yes for a device path on POSIX).

        Only a STOP sent past a holder that does not answer opens a port with ``exclusive=False``.
        """
        super().__init__(url)
        self._direct = os.name == "posix" and "://" not in url
        """A device path on POSIX: read and written through its descriptor (one system call each)."""
        # pyserial's RFC 2217 client refuses a write timeout (NotImplementedError) and writes to a
        # socket anyway: no timeout there.
        rfc2217 = url.lower().startswith("rfc2217://")
        self._pyserial_url = _with_ign_set_control(url) if rfc2217 else url
        write_timeout = None if rfc2217 else write_timeout_s
        self._write_timeout_s = write_timeout_s
        """How long a write, or the wait for its bytes to leave (``drain``), may take."""
        self._options = dict(options, baudrate=baudrate or DEFAULT_BAUD, write_timeout=write_timeout)
        # The line's speed as far as it is known: the one given, else the port's own for a UART (a
        # device path, or a serial server's port set through RFC 2217); a raw socket's is not known.
        self._baud = baudrate or (DEFAULT_BAUD if self._direct or rfc2217 else None)
        self._stated_baud = baudrate
        """The speed the caller gave: on a pseudo-terminal, the speed of the line it stands for."""
        self._byte_s = 0.0
        """Line time of one byte when ``drain`` paces a pseudo-terminal itself (0: it does not)."""
        self._line_free_s = 0.0
        self._drains = False
        """A device path: ``drain`` waits for the driver to have sent the bytes, or paces a pty."""
        if exclusive is None:
            exclusive = self._direct
        if exclusive:
            self._options["exclusive"] = True
        self._serial: Any = None
        self._cancel = threading.Event()
        self._poller: tuple[tuple[int, int], select.poll] | None = None
        """The poll object watching (the port's descriptor, the abort pipe's), made again when either changes."""
        self._head = bytearray()
        self._loss: TransportError | None = None
        """The first bytes read since opening: a network server's parting words, if it closes at once."""

    def open(self) -> None:
        if self.is_open:
            return
        try:
            # The read timeout is set once, here: setting it later reconfigures the port, and over
            # RFC 2217 that renegotiates every setting with the server. A device path is read
            # through its descriptor and never uses it.
            timeout_s = None if self._direct else _POLL_S
            port = serial.serial_for_url(self._pyserial_url, do_not_open=True, timeout=timeout_s, **self._options)
        except ValueError as err:
            if "not known" in str(err):  # pyserial's answer to a URL scheme it does not know
                raise UsageError(
                    f"{self.url}: unknown kind of port ({err}); use a device path, socket://HOST:PORT, "
                    f"rfc2217://HOST:PORT, usb://VID:PID or emu://; {_LIST_HINT}"
                ) from err
            raise UsageError(f"{self.url}: {err}") from err
        except OSError as err:  # pyserial's own errors, and a handler's file (spy://...?file=) that won't open
            if "no ports found" in str(err):  # hwgrep:// matched nothing
                raise PortNotFound(f"{self.url}: {err}; {_LIST_HINT}", port=self.url) from err
            raise UsageError(f"{self.url}: {err}") from err
        except TypeError as err:
            raise UsageError(f"{self.url}: {err}") from err
        if self.url.lower().startswith("rfc2217://"):
            _quiet_rfc2217_reader_threads()
        if self._direct:
            user = terminal_user(self.url)
            if user is not None:
                pid, program = user
                device = os.path.realpath(self.url)
                raise NotADevice(
                    f"{self.url}: {device} is the terminal of {program} (pid {pid}), not a device; nothing was "
                    "sent (a --link left behind by an emulator that ended? remove it)",
                    port=self.url,
                )
        network = self.url.lower().startswith("socket://")
        if network:
            # pyserial's socket handler discards what arrived on connecting, and with it the reason
            # a serial server gives when it turns a second client away: keep it to read.
            port.reset_input_buffer = lambda: None
        try:
            port.open()
        except (serial.SerialException, OSError, ValueError) as err:
            raise self._open_error(err) from err
        self._serial = port
        self._head.clear()
        self._loss = None
        self._set_up_drain(port)
        if network:
            return  # a new connection holds nothing stale, but maybe a server's banner worth reading
        try:
            # Bytes that reached the port while nobody had it open are stale, as on a real UART.
            port.reset_input_buffer()
        except (serial.SerialException, OSError) as err:
            raise self._lose_port(err) from err

    def _set_up_drain(self, port: Any) -> None:
        # A UART: drain() waits until the driver holds no more bytes. A pseudo-terminal has no
        # transmitter (TIOCOUTQ says 0 at once): when the caller stated the
        # speed of the line it stands for (an emulator simulating 115200 baud), the frame's line
        # time is waited here instead; without a stated speed the pty is an instant line.
        fd = getattr(port, "fd", None)
        self._drains = self._direct and isinstance(fd, int)
        self._byte_s = 0.0
        self._line_free_s = 0.0
        if not self._drains or not isinstance(fd, int):
            return
        try:
            is_pty = os.major(os.fstat(fd).st_rdev) in _PTY_SLAVE_MAJORS
        except OSError:
            is_pty = False
        if is_pty:
            self._drains = bool(self._stated_baud)
            self._byte_s = _BITS_PER_BYTE / self._stated_baud if self._stated_baud else 0.0

    def _open_error(self, err: BaseException) -> TransportError:
        number = _os_errno(err)
        text = str(err).replace(self._pyserial_url, self.url)  # not the options added for pyserial
        if "://" in self.url and (number == errno.ECONNREFUSED or "Connection refused" in text):
            return PortNotFound(
                f"{self.url}: nothing accepts connections there ({text}); is the serial server (ser2net) or the "
                "emulator running, and are the host and the TCP port right?",
                port=self.url,
            )
        if number in _MISSING or "No such file" in text or "Connection refused" in text:
            return PortNotFound(f"{self.url}: no such port ({text}); {_LIST_HINT}", port=self.url)
        if number in (errno.EACCES, errno.EPERM):
            return TransportError(
                f"{self.url}: permission denied ({err}); on Linux, add yourself to the group that owns "
                "the device (often `dialout`) and log in again",
                port=self.url,
            )
        if number == errno.EBUSY:
            return TransportError(f"{self.url}: the port is in use by another program ({err})", port=self.url)
        if number in (errno.EAGAIN, errno.EWOULDBLOCK) or "exclusively lock" in text:
            holders = lock_holders(self.url)
            return PortBusy(
                f"{self.url}: the port is held by another program ({holders or 'not visible to this user'}); "
                "nothing was sent",
                port=self.url,
                holder=holders or None,
            )
        if number in (errno.EPIPE, errno.ECONNRESET) and self.url.lower().startswith("rfc2217://"):
            return TransportError(
                f"{self.url}: the serial server closed the connection while it was being opened ({err}); "
                "another client may hold the port (ser2net turns a second one away)",
                port=self.url,
            )
        if "does not seem to support RFC2217" in text and self.url.lower().startswith("rfc2217://"):
            # ser2net closes a second client's connection before answering the negotiation; on a
            # busy machine pyserial may see the silence before it sees the close.
            return TransportError(
                f"{self.url}: the serial server did not take up RFC 2217 ({err}); another client may hold the "
                "port (ser2net turns a second one away), or the server's port is not an RFC 2217 one (a raw "
                "TCP port is socket://)",
                port=self.url,
            )
        return TransportError(f"{self.url}: cannot open the port: {err}", port=self.url)

    def _lose_port(self, err: BaseException) -> TransportError:
        """The port failed: remember why (for whoever uses it next), close it, and return the error."""
        if not self._head:
            self._read_parting_words()
        loss = self._lost(err)
        self._drop()
        # After the failed write or read, never between a STOP and its write: nothing to hold back.
        _log.info("%s", loss)
        return loss

    def _read_parting_words(self) -> None:
        # A network port whose write failed: the server may have said why it closed (not yet read).
        sock = getattr(self._serial, "_socket", None)
        if not isinstance(sock, socket.socket):
            return
        with contextlib.suppress(OSError, ValueError):
            if select.select([sock], [], [], 0.05)[0]:
                self._head += sock.recv(_HEAD_BYTES, socket.MSG_DONTWAIT)

    def _lost(self, err: BaseException) -> TransportError:
        said = _parting_words(bytes(self._head))
        loss: TransportError
        if said:
            # A serial server that turns a second client away says why before closing (ser2net, scsctl).
            cls = PortBusy if _BUSY_WORDS.search(said) else PortLost
            loss = cls(f"{self.url}: the other end closed the connection, saying: {said!r}", port=self.url)
        else:
            loss = PortLost(f"{self.url}: the port vanished ({err}); open it again when it is back", port=self.url)
        self._loss = loss
        return loss

    def _drop(self) -> None:
        port, self._serial = self._serial, None
        if port is not None:
            # The port may be gone already; closing is only tidying up.
            with contextlib.suppress(serial.SerialException, OSError):
                port.close()

    def close(self) -> None:
        self._drop()
        self._loss = None

    def write(self, data: bytes) -> None:
        port = self._require_open()
        if self._byte_s:  # a paced pty: when the line it stands for is done with these bytes
            self._line_free_s = max(time.monotonic(), self._line_free_s) + len(data) * self._byte_s
        fd = getattr(port, "fd", None)
        if self._direct and isinstance(fd, int) and self._options.get("write_timeout") is not None:
            self._write_fd(fd, data, float(self._options["write_timeout"]))
            return
        try:
            port.write(data)
        except serial.SerialTimeoutException as err:
            raise TransportError(f"{self.url}: write timed out (flow control or a full line?)", port=self.url
                                 ) from err  # fmt: skip
        except (serial.SerialException, OSError) as err:
            raise self._lose_port(err) from err

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
                    writable = select.poll()  # not select(): a process with many ports has descriptors past 1023
                    writable.register(fd, select.POLLOUT)
                    if not writable.poll(timeout_s * 1000):
                        raise TransportError(
                            f"{self.url}: write timed out (flow control or a full line?)", port=self.url
                        ) from None
        except OSError as err:
            raise self._lose_port(err) from err

    def drain(self, timeout_s: float | None = None) -> None:
        if not self._drains:
            return
        if self._byte_s:
            wait_s = self._line_free_s - time.monotonic()
            if wait_s > 0:
                time.sleep(wait_s)
            return
        port = self._require_open()
        limit_s = self._write_timeout_s if timeout_s is None else timeout_s
        try:
            # Ask how many bytes the driver still holds (pyserial's out_waiting: TIOCOUTQ), rather
            # than tcdrain(), which waits for good when the line stops moving (flow control holding
            # it, a USB device that stopped taking bytes). At most the UART's own FIFO of this frame
            # is left when it says 0: still only the one frame ahead of whatever is written next.
            deadline_s = time.monotonic() + limit_s
            byte_s = _BITS_PER_BYTE / (self._baud or DEFAULT_BAUD)
            while (queued := port.out_waiting) > 0:
                remaining_s = deadline_s - time.monotonic()
                if remaining_s <= 0:
                    raise TransportError(
                        f"{self.url}: {queued} bytes still not sent after {limit_s:.1f} s (hardware flow control "
                        "holding the line, or the device stopped taking bytes)",
                        port=self.url,
                    )
                time.sleep(min(remaining_s, max(queued * byte_s, _DRAIN_POLL_MIN_S)))
        except (serial.SerialException, OSError) as err:
            raise self._lose_port(err) from err

    def cancel_read(self) -> None:
        self._cancel.set()
        port = self._serial
        if port is not None and hasattr(port, "cancel_read"):
            with contextlib.suppress(serial.SerialException, OSError):
                port.cancel_read()

    def _read_was_cancelled(self) -> bool:
        if self._cancel.is_set():
            self._cancel.clear()
            return True
        return False

    def _recv(self, max_bytes: int, timeout_s: float | None) -> bytes:
        if self._cancel.is_set():  # cancelled before this read began: read() clears it and returns
            return b""
        port = self._require_open()
        fd, abort = getattr(port, "fd", None), getattr(port, "pipe_abort_read_r", None)
        if self._direct and isinstance(fd, int) and isinstance(abort, int):
            return self._read_fd(fd, abort, max_bytes, timeout_s)
        try:
            return self._read_url(port, max_bytes, timeout_s)
        except (serial.SerialException, OSError) as err:
            raise self._lose_port(err) from err

    def _read_url(self, port: Any, max_bytes: int, timeout_s: float | None) -> bytes:
        # A pyserial URL handler (socket://, rfc2217://, spy://, alt://, hwgrep://, loop://): each
        # read(1) waits at most _POLL_S (set at open, never changed) and returns as soon as a byte
        # is there; the public read() waits again until its own deadline.
        if timeout_s == 0 and not port.in_waiting:
            return b""
        first = port.read(1)
        while not first and timeout_s is None:
            if self._cancel.is_set():
                self._cancel.clear()
                return b""
            first = port.read(1)
        if not first:
            return b""
        data = bytearray(first)
        # Take what has already arrived without waiting again. (For socket:// pyserial's
        # in_waiting only says whether anything is there, hence the loop.)
        try:
            while len(data) < max_bytes:
                waiting = port.in_waiting
                if not waiting:
                    break
                data += port.read(min(waiting, max_bytes - len(data)))
        except (serial.SerialException, OSError):
            pass  # what came before the failure is returned now; the next read reports it
        if len(self._head) < _HEAD_BYTES:
            self._head += data[: _HEAD_BYTES - len(self._head)]
        return bytes(data)

    def _read_fd(self, fd: int, abort: int, max_bytes: int, timeout_s: float | None) -> bytes:
        # A POSIX port: one poll() and one read() of whatever has arrived, where pyserial's
        # read(1) + in_waiting + read(n) takes five system calls for the same bytes. A hang-up or
        # an error on the port counts as readable: the read then says what happened.
        poller = self._poller
        if poller is None or poller[0] != (fd, abort):
            watch = select.poll()
            watch.register(fd, select.POLLIN)
            watch.register(abort, select.POLLIN)
            poller = self._poller = ((fd, abort), watch)
        try:
            ready = poller[1].poll(None if timeout_s is None else timeout_s * 1000)
            if not ready:
                return b""
            if len(ready) > 1 or ready[0][0] == abort:  # the abort pipe spoke: cancel_read()
                os.read(abort, 1000)  # cancel_read(): return at once (``_cancel`` stays set for read())
                return b""
            data = os.read(fd, max_bytes)
        except InterruptedError:
            return b""
        except OSError as err:
            raise self._lose_port(err) from err
        if not data:  # readable but empty: the device is gone (as pyserial reports it)
            raise self._lose_port(OSError(errno.EIO, "device reports readiness to read but returned no data"))
        return data

    @property
    def is_open(self) -> bool:
        return self._serial is not None and bool(self._serial.is_open)

    @property
    def baud(self) -> int | None:
        return self._baud

    def _require_open(self) -> Any:
        port = self._serial
        if port is None:
            if self._loss is not None:  # another thread found it gone: say why, not just "not open"
                raise self._loss
            raise TransportError(f"{self.url}: the port is not open", port=self.url)
        return port

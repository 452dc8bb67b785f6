"""``emu://[MODEL][?seed=N&baud=B&fault=SPEC...&codec=c]``: an emulated device in this process.

No OS resources: the host's end is an in-memory buffer, the device runs on an
:class:`~scsctl.emulator.runner.EmulatorRunner` thread between ``open()`` and ``close()``. The
device outlives the port: closing and reopening keeps its programs, state and clock, as with a
real device on a cable. ``transport.emulator`` is the runner, for tests to inject faults and read
the output monitor::

    t = open_transport("emu://drg-4x4")
    t.emulator.add_fault("drop-frames:1.0,dir=to-host")
    t.emulator.disconnect()              # the next read or write raises PortLost
    with t.emulator.locked() as fw:
        fw.monitor ...

Reads honour their timeout exactly as a serial port does, so this fake stays honest.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from ..errors import PortLost, PortNotFound, TransportError, UsageError
from .base import Transport

if TYPE_CHECKING:
    from ..emulator import EmulatorRunner, FaultSpec

__all__ = ["EmulatedTransport", "MemoryPort", "parse_emu_url"]

_OPTIONS = ("seed", "baud", "fault", "codec")  # codec: python (default) or c, the C kit (emulator.c_codec)


def parse_emu_url(url: str) -> tuple[str | None, dict[str, list[str]]]:
    """``emu://MODEL?opt=v`` -> (MODEL or None, options). UsageError for anything else."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "emu" or parts.path not in ("", "/") or parts.fragment:
        raise UsageError(f"{url!r} is not an emulator URL: write emu:// or emu://MODEL[?seed=N&baud=B]")
    query = parse_qs(parts.query, keep_blank_values=True, strict_parsing=False)
    unknown = sorted(set(query) - set(_OPTIONS))
    if unknown:
        raise UsageError(f"{url}: unknown option(s) {unknown}; known: {list(_OPTIONS)}")
    for key in ("seed", "baud"):
        if len(query.get(key, [])) > 1:
            raise UsageError(f"{url}: option {key!r} is given more than once")
    return (parts.netloc or None), query


def _int_option(url: str, key: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise UsageError(f"{url}: {key}={text!r} is not a whole number") from None


class MemoryPort:
    """The host's end of an in-memory line: a byte buffer a reader waits on, with timeouts.

    Implements the runner's ``HostPort``; also used by the USB test bridge.
    """

    def __init__(self, name: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self._clock = clock
        self._cond = threading.Condition()
        self._buf = bytearray()
        self._open = False
        self._lost = False
        self._back_at_s = -float("inf")

    # runner side
    def deliver(self, data: bytes) -> None:
        with self._cond:
            if self._open and not self._lost:
                self._buf += data
                self._cond.notify_all()

    def disconnected(self, down_s: float) -> None:
        with self._cond:
            self._back_at_s = self._clock() + down_s
            if self._open:
                self._lost = True
            self._buf.clear()
            self._cond.notify_all()

    # host side
    @property
    def is_open(self) -> bool:
        return self._open and not self._lost

    def down_for_s(self) -> float:
        """How much longer the port stays away after a disconnect (0 when it can be opened)."""
        return max(0.0, self._back_at_s - self._clock())

    def open(self) -> None:
        with self._cond:
            self._buf.clear()
            self._open = True
            self._lost = False

    def close(self) -> None:
        with self._cond:
            self._open = False
            self._lost = False
            self._buf.clear()
            self._cond.notify_all()

    def check(self) -> None:
        if self._lost:
            raise PortLost(f"{self.name}: the device was disconnected; open the port again", port=self.name)
        if not self._open:
            raise TransportError(f"{self.name}: the port is not open", port=self.name)

    def read(self, max_bytes: int, timeout_s: float | None) -> bytes:
        if max_bytes <= 0:
            raise UsageError(f"{self.name}: read of {max_bytes} bytes; ask for 1 or more")
        if timeout_s is not None and timeout_s < 0:
            raise UsageError(f"{self.name}: read timeout {timeout_s} s is negative; give 0 or more, or None")
        deadline_s = None if timeout_s is None else self._clock() + timeout_s
        with self._cond:
            while True:
                self.check()
                if self._buf:
                    data = bytes(self._buf[:max_bytes])
                    del self._buf[:max_bytes]
                    return data
                if deadline_s is None:
                    self._cond.wait()
                    continue
                left_s = deadline_s - self._clock()
                if left_s <= 0:
                    return b""
                self._cond.wait(left_s)


class EmulatedTransport(Transport):
    """The in-process emulator behind the transport interface. ``emulator`` is its runner."""

    emulator: EmulatorRunner[Any]

    def __init__(
        self,
        url: str = "emu://",
        *,
        model: str | None = None,
        seed: int | None = None,
        baud: int | None = None,
        faults: Iterable[FaultSpec | str] = (),
        storage: Any = None,
        firmware: Any = None,
    ) -> None:
        """``firmware``: any core with receive/poll/next_deadline_s instead of a new model's."""
        from ..emulator import DEFAULT_MODEL_NAME, MODELS, EmulatorRunner, make_emulator

        super().__init__(url)
        url_model, query = parse_emu_url(url)
        for key, given in (("model", model), ("seed", seed), ("baud", baud)):
            in_url = url_model if key == "model" else query.get(key, [None])[0]
            if given is not None and in_url is not None and str(given) != in_url:
                raise UsageError(f"{url}: {key} is {in_url} in the URL but {given} in the options")
        chosen = model or url_model
        if seed is None:
            seed = _int_option(url, "seed", query["seed"][0]) if "seed" in query else 0
        if baud is None and "baud" in query:
            baud = _int_option(url, "baud", query["baud"][0])
        all_faults = [*query.get("fault", []), *faults]
        self._port = MemoryPort(url)
        if firmware is not None:
            if chosen is not None or storage is not None:
                raise UsageError(f"{url}: give a firmware object or a model (and storage), not both")
            self.emulator = EmulatorRunner(firmware, baud=baud, faults=all_faults, seed=seed)
            return
        chosen = chosen or DEFAULT_MODEL_NAME
        if chosen not in MODELS:
            known = ", ".join(sorted(MODELS))
            raise UsageError(f"{url}: no emulated model {chosen!r}; models: {known}")
        codec = query.get("codec", ["python"])[-1]
        self.emulator = make_emulator(chosen, seed=seed, baud=baud, faults=all_faults, storage=storage, codec=codec)

    def open(self) -> None:
        if self._port.is_open:
            return
        self._check_emulator()
        down_s = self._port.down_for_s()
        if down_s > 0:
            raise PortNotFound(
                f"{self.url}: the emulated device is disconnected for another {down_s:.1f} s", port=self.url
            )
        self._port.open()
        try:
            self.emulator.start(self._port)
        except Exception as err:  # a firmware bug, reported as the port failing
            self._port.close()
            raise TransportError(f"{self.url}: the emulator failed to start: {err!r}", port=self.url) from err

    def close(self) -> None:
        self.emulator.stop()
        self._port.close()

    def write(self, data: bytes) -> None:
        self._check_emulator()
        self._port.check()
        self.emulator.feed(bytes(data))

    def _recv(self, max_bytes: int, timeout_s: float | None) -> bytes:
        try:
            return self._port.read(max_bytes, timeout_s)
        except PortLost:
            self._check_emulator()
            raise

    @property
    def is_open(self) -> bool:
        return self._port.is_open

    @property
    def baud(self) -> int | None:
        """The simulated line's speed (``baud=`` in the URL), None for an instant line."""
        return self.emulator.baud

    def _check_emulator(self) -> None:
        err = self.emulator.error
        if err is not None:
            raise TransportError(f"{self.url}: the emulated firmware crashed: {err!r}", port=self.url) from err

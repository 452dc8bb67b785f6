"""Runs one emulated firmware in real time behind a simulated line.

Two layers, the lower one without threads or clocks (as ``firmware_protocol`` is without I/O):

- :class:`LineSimulator` joins a firmware core to a line: bytes from the host pass the line faults
  and the wire speed before the firmware receives them; the firmware's output passes them on the
  way back; stalls and disconnects happen when scheduled. Time is an argument, so tests can drive
  it step by step.
- :class:`EmulatorRunner` drives a simulator from a thread on ``time.monotonic``: it sleeps on a
  condition until the next deadline (the firmware's own timers, the next byte due on the wire, the
  next line event) or until host bytes arrive, never in polling steps. What comes out goes to a
  :class:`HostPort` (an in-memory pipe, a pseudo-terminal, a TCP connection, a USB bridge).

Wire speed: with ``baud`` set, each byte takes 10 bit times (start, 8 data, stop) in each
direction, so a reply's latency on a pseudo-terminal looks like the real line's. Without it, bytes
pass at once (unit tests).

The firmware object is shared with the caller (tests read its monitor, inject firmware faults):
touch it only inside ``with runner.locked() as fw:`` or through ``runner.call(...)``, which hold
the runner's lock and wake the runner afterwards, since a change may move the firmware's deadline.
"""

from __future__ import annotations

import heapq
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from ..errors import UsageError
from .linefaults import Direction, FaultKind, FaultSpec, LineFaults, Segment, parse_fault
from .models import DEFAULT_MODEL_NAME

if TYPE_CHECKING:
    from .firmware import Firmware, WireCodec
    from .models import FirmwareModel

__all__ = [
    "BITS_PER_BYTE",
    "CODECS",
    "DEFAULT_MODEL_NAME",
    "Disconnected",
    "EmulatorRunner",
    "FirmwareCore",
    "HostPort",
    "LineEvent",
    "LineSimulator",
    "codec_named",
    "find_model",
    "make_emulator",
]

_log = logging.getLogger(__name__)

BITS_PER_BYTE = 10
"""A UART byte on the wire: start bit, 8 data bits, stop bit."""

# A byte is due when its last bit has arrived; the tolerance keeps float rounding from making a
# byte due a hair after the time the runner was told to wake for it.
_EPSILON_S = 1e-9


class FirmwareCore(Protocol):
    """What the runner needs of a firmware: bytes in, bytes out, and when to call it next."""

    def receive(self, data: bytes, now_s: float) -> bytes: ...

    def poll(self, now_s: float) -> bytes: ...

    def next_deadline_s(self) -> float | None: ...


F = TypeVar("F", bound=FirmwareCore)


class HostPort(Protocol):
    """Where the device's side of the line ends: the host-facing end of a pipe, pty or socket."""

    def deliver(self, data: bytes) -> None:
        """Bytes from the device reached the host's end (called from the runner thread)."""

    def disconnected(self, down_s: float) -> None:
        """The port vanished; it may be opened again after ``down_s`` seconds."""


@dataclass(frozen=True, slots=True)
class Disconnected:
    """The line was cut: bytes in flight are lost; the port comes back after ``down_s``."""

    down_s: float


LineEvent = bytes | Disconnected


@dataclass(slots=True)
class _Chunk:
    start_s: float
    data: bytes
    sent: int = 0


class _Wire:
    """One direction of the line: keeps byte order, paces bytes at the wire speed, holds in a stall."""

    __slots__ = ("_byte_time_s", "_chunks", "_free_s", "_held_until_s", "_whole")

    def __init__(self, byte_time_s: float, *, whole_chunks: bool = False) -> None:
        self._byte_time_s = byte_time_s
        self._whole = whole_chunks
        """Wake for a chunk's last byte only (the bytes due before it are still taken when asked)."""
        self._chunks: deque[_Chunk] = deque()
        self._free_s = -math.inf
        self._held_until_s = -math.inf

    def push(self, segments: Iterable[Segment], now_s: float) -> None:
        for gap_s, data in segments:
            start_s = max(now_s, self._free_s, self._held_until_s) + gap_s
            self._chunks.append(_Chunk(start_s, data))
            self._free_s = start_s + len(data) * self._byte_time_s

    def busy(self) -> bool:
        """Bytes are on this direction of the line."""
        return bool(self._chunks)

    def hold(self, until_s: float) -> None:
        self._held_until_s = max(self._held_until_s, until_s)

    def release(self) -> None:
        self._held_until_s = -math.inf

    def never_held(self) -> bool:
        """No stall holds, or has held since the last ``release``."""
        return self._held_until_s == -math.inf

    def clear(self) -> None:
        self._chunks.clear()
        self._free_s = -math.inf

    def take_due(self, now_s: float) -> bytes:
        if now_s < self._held_until_s:
            return b""
        out = bytearray()
        bt = self._byte_time_s
        while self._chunks:
            chunk = self._chunks[0]
            if bt == 0.0:
                if chunk.start_s > now_s + _EPSILON_S:
                    break
                out += chunk.data
                self._chunks.popleft()
                continue
            done = min(len(chunk.data), max(0, int((now_s - chunk.start_s) / bt + _EPSILON_S)))
            out += chunk.data[chunk.sent : done]
            chunk.sent = max(chunk.sent, done)
            if chunk.sent < len(chunk.data):
                break
            self._chunks.popleft()
        return bytes(out)

    def next_due_s(self) -> float | None:
        if not self._chunks:
            return None
        chunk = self._chunks[0]
        upto = len(chunk.data) if self._whole else chunk.sent + 1
        due_s = chunk.start_s + upto * self._byte_time_s if self._byte_time_s else chunk.start_s
        return max(due_s, self._held_until_s)


class LineSimulator(Generic[F]):
    """A firmware behind a simulated line, without threads or clocks: the caller passes the time.

    Call ``from_host`` with bytes the host wrote, ``advance(now_s)`` at (or after) ``next_wake_s()``
    and whenever bytes came in; ``advance`` returns what reached the host, in order.
    """

    def __init__(
        self,
        firmware: F,
        *,
        now_s: float,
        baud: int | None = None,
        faults: Iterable[FaultSpec | str] = (),
        seed: int = 0,
    ) -> None:
        if baud is not None and baud <= 0:
            raise UsageError(f"baud rate {baud} must be a positive number of bits per second")
        self.firmware = firmware
        self.baud = baud
        self.line_faults = LineFaults(seed=seed)
        byte_time_s = BITS_PER_BYTE / baud if baud else 0.0
        # The firmware acts on whole frames: the runner wakes when a chunk from the host has all
        # arrived, not at every byte (at 115200 baud that was a wake-up every 87 us per frame).
        self._to_device = _Wire(byte_time_s, whole_chunks=True)
        self._to_host = _Wire(byte_time_s)
        self._events: list[tuple[float, int, FaultSpec]] = []
        self._event_specs: list[FaultSpec] = []
        self._event_counter = 0
        self._pending: list[LineEvent] = []
        for spec in faults:
            self.add_fault(spec, now_s)

    # --- faults ---------------------------------------------------------------------------------

    @property
    def faults(self) -> tuple[FaultSpec, ...]:
        """Every fault in force: stream faults, then scheduled line events."""
        return self.line_faults.specs + tuple(self._event_specs)

    def add_fault(self, spec: FaultSpec | str, now_s: float) -> FaultSpec:
        """Add a fault; a line event's ``at`` counts from ``now_s``. Returns the parsed spec."""
        if isinstance(spec, str):
            spec = parse_fault(spec)
        if spec.kind.is_event:
            self._event_specs.append(spec)
            self._schedule(now_s + spec.at_ms / 1000, spec)
        else:
            self.line_faults.add(spec)
        return spec

    def clear_faults(self) -> None:
        """Remove every stream fault and every scheduled line event (a stall in progress ends)."""
        self.line_faults.clear()
        self._events.clear()
        self._event_specs.clear()
        self._to_device.release()
        self._to_host.release()

    def _schedule(self, at_s: float, spec: FaultSpec) -> None:
        self._event_counter += 1
        heapq.heappush(self._events, (at_s, self._event_counter, spec))

    def stall(self, now_s: float, duration_s: float) -> None:
        """Nothing moves on the line, either way, until ``now_s + duration_s``."""
        for wire in (self._to_device, self._to_host):
            wire.hold(now_s + duration_s)

    def disconnect(self, down_s: float = 0.0) -> None:
        """Cut the line now; the next ``advance`` reports it."""
        self._cut()
        self._pending.append(Disconnected(down_s))

    def cut(self) -> None:
        """Cut the line now, for a caller that tells the host's end itself."""
        self._cut()

    def _cut(self) -> None:
        self._to_device.clear()
        self._to_host.clear()
        self.line_faults.reset()

    @property
    def instant(self) -> bool:
        """True while bytes pass at once and untouched: no wire speed, no stream fault, no line
        event scheduled, no stall ever held (one, even over, keeps this False until cleared)."""
        return (
            self.baud is None
            and self.line_faults.none
            and not self._events
            and self._to_device.never_held()
            and self._to_host.never_held()
        )

    # --- bytes ----------------------------------------------------------------------------------

    def pass_through(self, data: bytes, now_s: float) -> tuple[bytes, float | None] | None:
        """On an instant line with nothing on it: the firmware's answer to ``data`` (and any timed
        work due by ``now_s``), as ``from_host`` + ``advance`` would give it, without queueing the
        bytes on the wires, and ``next_wake_s()`` after it; None (nothing done) when the line is
        not that simple now.

        The wake time is the firmware's deadline: nothing is left on the line (no bytes on either
        wire, no line event on an instant line, nothing pending), so ``next_wake_s`` would say the
        same after asking each of them."""
        if not self.instant or self._pending or self._to_device.busy() or self._to_host.busy():
            return None
        firmware = self.firmware
        out = firmware.receive(data, now_s)
        deadline_s = firmware.next_deadline_s()
        if deadline_s is not None and deadline_s <= now_s:
            out += firmware.poll(now_s)
            deadline_s = firmware.next_deadline_s()
        return out, deadline_s

    def from_host(self, data: bytes, now_s: float) -> None:
        if data:
            self._to_device.push(self.line_faults.apply(Direction.TO_DEVICE, data), now_s)

    def to_host(self, data: bytes, now_s: float) -> None:
        """Put device output made outside ``receive``/``poll`` (a firmware fault) on the line."""
        if data:
            self._to_host.push(self.line_faults.apply(Direction.TO_HOST, data), now_s)

    def advance(self, now_s: float) -> list[LineEvent]:
        cuts: list[Disconnected] = []
        while self._events and self._events[0][0] <= now_s:
            at_s, _, spec = heapq.heappop(self._events)
            if spec.every_ms is not None:
                self._schedule(at_s + spec.every_ms / 1000, spec)
            elif spec in self._event_specs:
                self._event_specs.remove(spec)
            if spec.kind is FaultKind.STALL:
                self.stall(at_s, spec.duration_ms / 1000)
            else:
                cuts.append(Disconnected(spec.duration_ms / 1000))

        received = self._to_device.take_due(now_s)
        if received:
            self.to_host(self.firmware.receive(received, now_s), now_s)
        deadline_s = self.firmware.next_deadline_s()
        if deadline_s is not None and deadline_s <= now_s:
            self.to_host(self.firmware.poll(now_s), now_s)

        out: list[LineEvent] = []
        delivered = self._to_host.take_due(now_s)
        if delivered:
            out.append(delivered)
        if cuts:
            self._cut()
            out += cuts
        out += self._pending
        self._pending.clear()
        return out

    def next_wake_s(self) -> float | None:
        """The latest time ``advance`` must be called next (None: only when bytes arrive)."""
        if self._pending:
            return -math.inf
        wake_s = self.firmware.next_deadline_s()
        for due_s in (
            self._to_device.next_due_s(),
            self._to_host.next_due_s(),
            self._events[0][0] if self._events else None,
        ):
            if due_s is not None and (wake_s is None or due_s < wake_s):
                wake_s = due_s
        return wake_s

    def resume(self, now_s: float) -> None:
        """The host's end was closed for a while: catch the firmware up; what it sent is lost.

        Line events due meanwhile happened to nobody: one-shots are dropped, repeating ones go on
        from their next time.
        """
        self._cut()
        self._pending.clear()
        events = self._events
        self._events = []
        for at_s, _, spec in events:
            if at_s > now_s:
                self._schedule(at_s, spec)
            elif spec.every_ms is not None:
                period_s = spec.every_ms / 1000
                self._schedule(at_s + (math.floor((now_s - at_s) / period_s) + 1) * period_s, spec)
            elif spec in self._event_specs:
                self._event_specs.remove(spec)
        deadline_s = self.firmware.next_deadline_s()
        if deadline_s is not None and deadline_s <= now_s:  # catch up only on what has come due
            self.firmware.poll(now_s)


class EmulatorRunner(Generic[F]):
    """Drives one firmware in real time from its own thread, between ``start`` and ``stop``.

    The firmware and its state outlive the thread: stopping models the host closing its port, not
    the device powering off, and a later ``start`` catches the firmware up on the time that passed
    (its output meanwhile went nowhere, as on a closed serial port).
    """

    def __init__(
        self,
        firmware: F,
        *,
        baud: int | None = None,
        faults: Iterable[FaultSpec | str] = (),
        seed: int = 0,
        clock: Callable[[], float] = time.monotonic,
        name: str = "scsctl-emulator",
    ) -> None:
        self._clock = clock
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        """Guards the simulator and the fields below; ``with self._lock`` where nothing waits or is woken."""
        self._sim = LineSimulator(firmware, now_s=clock(), baud=baud, faults=faults, seed=seed)
        self._name = name
        self._port: HostPort | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._kicked = False
        self._wait_until_s = math.inf
        """When the runner thread next advances by itself unless kicked (its deadline)."""
        self._deliver_lock = threading.Lock()
        """Taken under ``_cond`` by whoever advanced, before delivering outside it: keeps what
        the runner thread and ``feed_inline`` deliver in the order the simulator produced it."""
        self._ran = False
        self.error: BaseException | None = None
        """Set when the firmware raised: the thread stopped and the device went silent."""

    # --- what tests and servers use -------------------------------------------------------------

    @property
    def firmware(self) -> F:
        """The firmware object; hold ``locked()`` while touching it from another thread."""
        return self._sim.firmware

    @property
    def monitor(self) -> Any:
        """The firmware's output monitor (what the device actually delivered)."""
        return self._sim.firmware.monitor  # type: ignore[attr-defined]

    @property
    def baud(self) -> int | None:
        return self._sim.baud

    @property
    def line_faults(self) -> LineFaults:
        """Stream-fault state, including ``applied`` counts. Read it inside ``locked()``."""
        return self._sim.line_faults

    @property
    def faults(self) -> tuple[FaultSpec, ...]:
        with self._cond:
            return self._sim.faults

    def now_s(self) -> float:
        """The runner's clock, the time base the firmware runs on."""
        return self._clock()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @contextmanager
    def locked(self) -> Iterator[F]:
        """Hold the runner still and get the firmware; the runner re-reads its deadline afterwards."""
        with self._cond:
            try:
                yield self._sim.firmware
            finally:
                self._kick()

    def call(self, action: Callable[[F, float], bytes | None]) -> None:
        """Call ``action(firmware, now_s)`` under the lock; bytes it returns go to the host."""
        with self._cond:
            now_s = self._clock()
            out = action(self._sim.firmware, now_s)
            if out:
                self._sim.to_host(out, now_s)
            self._kick()

    def inject(self, fault: Any) -> None:
        """Hand a firmware fault (``scsctl.emulator.faults``) to ``Firmware.inject`` now."""
        self.call(lambda fw, _now_s: fw.inject(fault))  # type: ignore[attr-defined]

    def power_cycle(self) -> None:
        """Switch the device off and on now (programs in its storage survive)."""
        self.call(lambda fw, now_s: fw.power_cycle(now_s))  # type: ignore[attr-defined]

    def add_fault(self, spec: FaultSpec | str) -> FaultSpec:
        """Add a line fault (a ``FaultSpec`` or spec text); a line event's ``at`` counts from now."""
        with self._cond:
            parsed = self._sim.add_fault(spec, self._clock())
            self._kick()
            return parsed

    def clear_faults(self) -> None:
        with self._cond:
            self._sim.clear_faults()
            self._kick()

    def stall(self, duration_s: float) -> None:
        """The line carries nothing either way for ``duration_s``; held bytes arrive after it."""
        with self._cond:
            self._sim.stall(self._clock(), duration_s)
            self._kick()

    def disconnect(self, down_s: float = 0.0) -> None:
        """The port vanishes: when this returns, the host's next read or write fails (PortLost).

        Bytes on the line are lost; the port can be opened again after ``down_s``.
        """
        with self._cond:
            self._sim.cut()
            port = self._port
        if port is not None:
            port.disconnected(down_s)

    # --- the host side ----------------------------------------------------------------------------

    def start(self, port: HostPort) -> None:
        """Start the thread delivering to ``port``; if it runs already, deliver to ``port`` now."""
        with self._cond:
            self._port = port
            if self.running:
                self._kick()
                return
            if self._ran:
                self._sim.resume(self._clock())
            self._ran = True
            self._stopping = False
            self.error = None
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the thread (the firmware keeps its state). Stopping a stopped runner does nothing."""
        with self._cond:
            thread = self._thread
            self._stopping = True
            self._cond.notify_all()
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        with self._cond:
            self._thread = None
            self._port = None

    def feed(self, data: bytes) -> None:
        """Bytes the host wrote; any thread may call this."""
        if not data:
            return
        with self._cond:
            self._sim.from_host(data, self._clock())
            self._kick()

    def feed_inline(self, data: bytes) -> None:
        """``feed``, except that on an instant line (``LineSimulator.instant``) the calling thread
        runs the firmware on the bytes and delivers its answer itself, under the runner's lock,
        instead of handing them to the runner thread (a thread wake-up per command).

        For a port's own reader thread, which may block in ``HostPort`` calls. The runner thread
        still does all timed work: it is woken only when the firmware's next deadline came earlier
        than the one it sleeps until. Anything else (a line being simulated, a runner not
        running) takes ``feed``'s path.
        """
        if not data:
            return
        sim = self._sim
        with self._lock:
            now_s = self._clock()
            port = self._port
            # A thread still set is alive: one that ends clears it under this lock (_run).
            if self._stopping or port is None or self._thread is None or not sim.instant:
                sim.from_host(data, now_s)
                self._kick()
                return
            events: list[LineEvent] | None = None  # None: the answer is ``out`` alone
            out = b""
            try:
                answered = sim.pass_through(data, now_s)
                if answered is None:
                    sim.from_host(data, now_s)
                    events, _, wake_s = self._step(now_s)
                else:
                    out, wake_s = answered
                    if out:
                        self._deliver_lock.acquire()  # as _step does: released after delivering
            except Exception as err:  # noqa: BLE001 - as in the runner thread
                failure: Exception | None = err
            else:
                failure = None
                if wake_s is not None and wake_s < self._wait_until_s:
                    self._kick()
                if not (out if events is None else events):
                    return
        if failure is None:
            try:
                if events is None:  # the usual answer: one piece of bytes, delivered as _deliver would
                    try:
                        port.deliver(out)
                    finally:
                        self._deliver_lock.release()
                else:
                    self._deliver_stepped(port, events)
            except Exception as err:  # noqa: BLE001 - as in the runner thread
                failure = err
        if failure is not None:
            self._failed(failure)  # without the deliver lock: _failed takes the runner's lock

    def _step(self, now_s: float) -> tuple[list[LineEvent], HostPort | None, float | None]:
        """One turn of the loop, under the runner's lock, by whichever thread runs it (the runner
        thread, or a port's reader in ``feed_inline``): advance the line and the firmware to
        ``now_s``; returns what reached the host, where it goes and when to turn again. With
        something to deliver the deliver lock is taken here: ``_deliver_stepped`` (outside the
        runner's lock, a port may block briefly) lets it go, so deliveries keep the order the
        simulator produced them in."""
        events = self._sim.advance(now_s)
        wake_s = self._sim.next_wake_s()
        if events:
            self._deliver_lock.acquire()
        return events, self._port, wake_s

    def _deliver_stepped(self, port: HostPort | None, events: list[LineEvent]) -> None:
        try:
            self._deliver(port, events)
        finally:
            self._deliver_lock.release()

    def _kick(self) -> None:
        self._kicked = True
        self._cond.notify_all()

    @staticmethod
    def _deliver(port: HostPort | None, events: list[LineEvent]) -> None:
        for event in events:
            if port is None:
                break
            if isinstance(event, Disconnected):
                port.disconnected(event.down_s)
            else:
                port.deliver(event)

    def _failed(self, err: Exception) -> None:
        """The firmware (or the port) raised: the device goes silent, the error is kept."""
        _log.error("emulator %s stopped: the firmware raised", self._name, exc_info=err)
        with self._cond:
            self.error = err
            self._thread = None  # the runner thread, if it is not this one, sees it and ends
            self._cond.notify_all()
            port = self._port
        if port is not None:
            port.disconnected(math.inf)

    def _run(self) -> None:
        me = threading.current_thread()
        try:
            while True:
                with self._cond:
                    if self._stopping or self._thread is not me:
                        return
                    self._kicked = False
                    events, port, wake_s = self._step(self._clock())
                    self._wait_until_s = math.inf if wake_s is None else wake_s
                if events:  # outside the lock: a port may block briefly, and must not hold up feed()
                    self._deliver_stepped(port, events)
                with self._cond:
                    if self._stopping or self._kicked:
                        continue
                    timeout_s = None if wake_s is None else max(0.0, wake_s - self._clock())
                    if timeout_s != 0.0:
                        self._cond.wait(timeout_s)
        except Exception as err:  # noqa: BLE001 - kept for the host side to report, and logged
            self._failed(err)
        finally:
            with self._cond:  # ended, however: not running any more, whoever asks under the lock
                if self._thread is me:
                    self._thread = None


CODECS = ("python", "c")
"""The codecs the emulated firmware can speak through: ``firmware_protocol``'s, or the C kit's."""


def codec_named(name: str) -> WireCodec:
    """``python`` (the default) or ``c`` (``firmware_protocol/c`` through ctypes, built on first use)."""
    from .firmware import PYTHON_CODEC

    if name == "python":
        return PYTHON_CODEC
    if name == "c":
        from .c_codec import load

        return load()
    raise UsageError(f"unknown emulator codec {name!r}; codecs: {', '.join(CODECS)}")


def find_model(name: str) -> FirmwareModel:
    """The emulated model called ``name``; ``UsageError`` naming the models there are."""
    from .models import MODELS

    if name not in MODELS:
        raise UsageError(f"unknown emulator model {name!r}; models: {', '.join(sorted(MODELS))}")
    return MODELS[name]


def make_emulator(
    model: str = DEFAULT_MODEL_NAME,
    *,
    seed: int = 0,
    baud: int | None = None,
    faults: Iterable[FaultSpec | str] = (),
    storage: Any = None,
    clock: Callable[[], float] = time.monotonic,
    codec: str = "python",
) -> EmulatorRunner[Firmware]:
    """A runner with a fresh firmware of ``model`` (one of ``scsctl.emulator.MODELS``), not started."""
    from .firmware import Firmware

    wire_codec = codec_named(codec)
    firmware = Firmware(model=find_model(model), now_s=clock(), seed=seed, storage=storage, codec=wire_codec)
    return EmulatorRunner(firmware, baud=baud, faults=faults, seed=seed, clock=clock, name=f"emulator-{model}")

"""Request/reply over one transport, with STOP ahead of everything and a heartbeat.

Threads: callers write frames themselves, one at a time, and each request waits for the reply
with its sequence number. The read side of the transport and the decoder belong to one thread at
a time:
- a caller that is the only one waiting reads its reply itself (no thread hand-off between the
  reply arriving and the caller returning: the figure ``rtt_us`` of ``scsctl bench``); it
  dispatches everything it reads, other callers' replies and events included;
- otherwise the reader thread reads, and wakes each caller through its own event. The reader
  thread steps aside (``Transport.cancel_read``) for a sole caller, and after a caller has read
  it rests for ``READER_REST_S`` (100 ms) before it reads again (a caller in a loop keeps the
  port) unless other callers are waiting; while it rests and nobody waits, a device event or a
  vanished port is seen at most that much later.

STOP is never queued behind traffic, on the host or in the operating system:
- a writer holds the line from its ``write`` until the transport's ``drain`` returned, i.e. until
  the frame has left the host (a UART's driver holds none of it; on a pseudo-terminal standing for
  a line of a stated speed, the frame's line time), so the kernel's transmit buffer never holds
  more than the frame being sent when a STOP comes;
- a STOP waiting for the line goes next, ahead of every other writer already waiting (they wait
  while any STOP does), so it waits for at most the one frame being sent; and no longer than its
  deadline: a frame that never leaves (flow control holding the line, a device that stopped taking
  bytes) makes the STOP fail in time, saying so, instead of waiting behind it for good.

Invariants:
- every reply is matched to a request by sequence number and reply type, or counted as stray;
- a request is retried (same seq) only when it is idempotent or the device said BAD_CRC
  (the device did not act on it); a non-idempotent request that timed out raises ReplyTimeout
  and the caller confirms by reading the state back;
- STOP is re-sent every ``stop_resend_s`` until STOP_ACK or ``stop_deadline_s``, then LinkLost
  (each lengthened by the line time of the frames involved on a slow line);
- event subscribers are called from whichever thread is reading (the reader thread, or a caller
  waiting for its reply) and must return quickly and never wait for the link;
- each reply wait is ``reply_timeout_s`` plus the time the frames take on the line at the
  transport's speed (``timing``), so every command works from 2400 baud up.

Logging (``logging.getLogger(__name__)``, configured by the application, never here): retries,
timeouts, stray replies, a lost link and a reopened port at INFO/WARNING, invalid frames at DEBUG.
The STOP path logs only once the device has confirmed or the deadline has passed.

The link knows frames and sessions, not limits: the guard runs before anything reaches it.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from firmware_protocol import (
    Decoder,
    Frame,
    InvalidFrame,
    LocalProtocolError,
    NakReason,
    Param,
    RemoteProtocolError,
    encode,
)
from firmware_protocol import messages as m
from firmware_protocol.constants import HeartbeatFlags, MessageType, is_event
from firmware_protocol.rules import check_reply

from ..errors import (
    DeviceRefused,
    LinkError,
    LinkLost,
    ProtocolViolation,
    ReplyTimeout,
    ScsError,
    TransportError,
    UsageError,
)
from ..transports import Transport
from ..units import format_limit
from .capture import WireCapture
from .timing import reply_line_time_s, stop_line_time_s

_log = logging.getLogger(__name__)

READ_CHUNK = 4096
QUIET_FLUSH_S = 0.05
"""A partial frame with no further byte for this long is dropped (and the rest rescanned)."""
READER_REST_S = 0.1
"""After a caller read the port itself, the reader thread waits this long before it reads again:
longer than a 20 Hz poller's period, so such a poller keeps the port between its polls (no thread
hand-off at all), and short enough for an event or a vanished port on an otherwise quiet link."""


class LinkStatus(Enum):
    UP = "up"
    LOST = "lost"
    CLOSED = "closed"


@dataclass
class LinkStats:
    requests: int = 0
    retries: int = 0
    timeouts: int = 0
    stray_replies: int = 0
    events: int = 0
    last_rtt_s: float | None = None
    heartbeats_missed: int = 0
    decoder: Decoder = field(default_factory=Decoder, repr=False)

    @property
    def invalid_frames(self) -> int:
        return self.decoder.invalid_frames

    @property
    def frames_received(self) -> int:
        return self.decoder.frames

    @property
    def discarded_bytes(self) -> int:
        """Bytes from the device the decoder skipped as noise (outside any frame)."""
        return self.decoder.discarded_bytes

    def as_dict(self) -> dict[str, int | float | None]:
        """The counts of this link (this session), for JSON: names end in their unit where they have one."""
        return {
            "requests": self.requests,
            "retries": self.retries,
            "timeouts": self.timeouts,
            "frames_received": self.frames_received,
            "invalid_frames": self.invalid_frames,
            "discarded_bytes": self.discarded_bytes,
            "stray_replies": self.stray_replies,
            "events": self.events,
            "heartbeats_missed": self.heartbeats_missed,
            "last_rtt_ms": None if self.last_rtt_s is None else round(self.last_rtt_s * 1000, 3),
        }


@dataclass(frozen=True, slots=True)
class LinkStateChange:
    """Given to subscribers when the link goes up, is lost or is closed."""

    status: LinkStatus
    reason: str


Subscriber = Callable[[m.Message | LinkStateChange], None]


class _Done:
    """``threading.Event``'s ``is_set``/``set``/``clear``/``wait`` for one waiter, on one bare lock.

    Every request makes one, and most are never waited on (the caller reads its own reply), so it
    costs a lock where an ``Event`` costs a ``Condition`` and two locks, and ``set`` wakes a waiter
    by releasing the lock rather than through ``notify_all``. The flag says whether it is set; the
    lock is held while it is not (a release left over from a set that raced ``clear`` is taken back
    by the next ``wait``).
    """

    __slots__ = ("_flag", "_lock")

    def __init__(self) -> None:
        self._flag = False
        self._lock = threading.Lock()
        self._lock.acquire()

    def is_set(self) -> bool:
        return self._flag

    def set(self) -> None:
        if self._flag:
            return
        self._flag = True
        # Two threads may set at once (a reply and a lost link): the second release finds the
        # lock free already, which says the same.
        with contextlib.suppress(RuntimeError):
            self._lock.release()

    def clear(self) -> None:
        """Only its waiter clears it (before sending again), never while waiting."""
        self._flag = False
        self._lock.acquire(blocking=False)

    def wait(self, timeout_s: float) -> bool:
        deadline_s = time.monotonic() + timeout_s
        while not self._flag:
            if not self._lock.acquire(timeout=max(0.0, deadline_s - time.monotonic())):
                return self._flag
            if self._flag:
                # Left free: set for is_set() and any later wait(). A second setter (a reply and a
                # lost link at once) may have freed it under us already, which says the same.
                with contextlib.suppress(RuntimeError):
                    self._lock.release()
                return True
            # A release left over from a set that raced a clear(): the lock is held again now
            # (not set), so wait out the rest.
        return True


class _Pending:
    __slots__ = ("command", "done", "reply")

    def __init__(self, command: MessageType) -> None:
        self.command = command
        self.done = _Done()
        self.reply: m.Message | None = None


def nak_text(nak: m.Nak) -> str:
    """A NAK in words: which command, why, about what, and the device's limit if it gave one."""
    try:
        command = MessageType(nak.command).name
    except ValueError:
        command = f"0x{nak.command:02X}"
    text = f"device refused {command}: {nak.reason.name.lower().replace('_', ' ')}"
    if nak.param is not Param.NONE:
        text += f" ({nak.param.name.lower().replace('_', ' ')}"
        if nak.index != 0xFF:
            text += f", contact {nak.index + 1}"
        if nak.limit:
            text += f", device limit {format_limit(nak.param.name, nak.limit)}"
        text += ")"
    return text


def refusal(nak: m.Nak) -> DeviceRefused:
    command: MessageType | int
    try:
        command = MessageType(nak.command)
    except ValueError:
        command = nak.command
    return DeviceRefused(
        nak_text(nak),
        command=command,
        reason=nak.reason,
        param=nak.param,
        index=None if nak.index == 0xFF else nak.index,
        limit=nak.limit or None,
    )


class Link:
    """One session with one device over one transport. Thread-safe; use as a context manager."""

    def __init__(
        self,
        transport: Transport,
        *,
        reply_timeout_s: float = 0.25,
        retries: int = 2,
        stop_resend_s: float = 0.05,
        stop_deadline_s: float = 1.0,
        capture: WireCapture | None = None,
    ) -> None:
        self.transport = transport
        self.reply_timeout_s = reply_timeout_s
        self.retries = retries
        self.stop_resend_s = stop_resend_s
        self.stop_deadline_s = stop_deadline_s
        self.capture = capture
        self.stats = LinkStats()
        self.status = LinkStatus.CLOSED
        self._lost_reason = ""
        self._line_lock = threading.Lock()
        self._line = threading.Condition(self._line_lock)
        """Who writes: guards the three fields below (``with self._line_lock``, waits on ``_line``)."""
        self._line_busy = False
        self._stops_waiting = 0
        self._line_waiters = 0
        self._state_lock = threading.Lock()
        self._line_times: dict[tuple[int, MessageType], float] = {}
        """Each request's line time (``reply_line_time_s``), by frame size and command: one
        transport, one speed."""
        self._pending: dict[int, _Pending] = {}
        self._next_seq = 0
        self._subscribers: list[Subscriber] = []
        self._reader: threading.Thread | None = None
        self._closing = threading.Event()
        self._heartbeat: threading.Thread | None = None
        self._heartbeat_stop = threading.Event()
        self._revive_lock = threading.Lock()
        self._port_lock = threading.Lock()
        self._port = threading.Condition(self._port_lock)
        """Who reads the transport: guards the four fields below (``with self._port_lock``)."""
        self._port_owner: int | None = None
        """The thread (its ident) of a caller reading the transport itself, or None."""
        self._reader_reading = False
        self._caller_wants_port = False
        self._reader_rests_until_s = 0.0

    # --- life cycle ----------------------------------------------------------------------------

    def open(self) -> Link:
        if not self.transport.is_open:
            self.transport.open()
        self._closing.clear()
        self.status = LinkStatus.UP
        self._reader = threading.Thread(target=self._read_loop, name=f"scsctl-reader {self.transport.url}", daemon=True)
        self._reader.start()
        return self

    def close(self) -> None:
        self.stop_heartbeat()
        self._closing.set()
        with self._port_lock:
            self._port.notify_all()  # a resting reader sees _closing at once
        self.transport.cancel_read()  # else the reader sees _closing only when its read times out
        if self._reader is not None and self._reader is not threading.current_thread():
            self._reader.join(timeout=2.0)
        self.transport.close()
        was_up = self.status is LinkStatus.UP
        self.status = LinkStatus.CLOSED
        if was_up:
            self._notify(LinkStateChange(LinkStatus.CLOSED, "closed by the host"))
        if self.capture is not None:
            self.capture.close()

    def __enter__(self) -> Link:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- requests ------------------------------------------------------------------------------

    def request(
        self,
        message: m.Message,
        *,
        idempotent: bool = True,
        timeout_s: float | None = None,
        retries: int | None = None,
    ) -> m.Message:
        """Send a command and return the device's positive reply; a NAK raises DeviceRefused."""
        command = message.TYPE
        attempts = 1 + (self.retries if retries is None else retries)
        seq, pending = self._register(command)
        base = self.reply_timeout_s if timeout_s is None else timeout_s
        try:
            try:
                frame = encode(message, seq)
            except LocalProtocolError as err:
                raise UsageError(f"{command.name} cannot be sent: {err} (nothing was sent)") from err
            baud = self.transport.baud
            key = (len(frame), command)
            on_line = self._line_times.get(key)
            if on_line is None:
                on_line = self._line_times[key] = reply_line_time_s(len(frame), command, baud)
            timeout = base + on_line
            if _log.isEnabledFor(logging.DEBUG):  # every request passes here: no formatting unless asked for
                speed = f"{baud} baud" if baud else "an unknown speed"
                _log.debug("%s (seq %d): waiting %.0f ms for the reply (%.0f ms on the line at %s)", command.name,
                           seq, timeout * 1000, on_line * 1000, speed)  # fmt: skip
            self.stats.requests += 1
            attempt = 0
            while True:
                attempt += 1
                if self.status is not LinkStatus.UP:
                    self._ensure_up()
                sent_at = time.monotonic()
                self._write(frame)
                if self._await(pending, timeout):
                    reply = pending.reply
                    if reply is None:  # woken because the link was lost
                        self._ensure_up()
                        raise LinkLost(f"link to {self.transport.url} lost")
                    self.stats.last_rtt_s = time.monotonic() - sent_at
                    damaged = isinstance(reply, m.Nak) and reply.reason is NakReason.BAD_CRC
                    if damaged and attempt < attempts:
                        # Damaged on the way: the device did nothing, so any command may go again.
                        pending.done.clear()
                        pending.reply = None
                        self.stats.retries += 1
                        _log.info("%s (seq %d) reached the device damaged (NAK BAD_CRC): sending it again "
                                  "(attempt %d of %d)", command.name, seq, attempt + 1, attempts)  # fmt: skip
                        continue
                    try:
                        check_reply(message, reply)
                    except RemoteProtocolError as err:
                        raise ProtocolViolation(f"{self.transport.url}: {err}") from err
                    if isinstance(reply, m.Nak):
                        raise refusal(reply)
                    return reply
                self._ensure_up()
                self.stats.timeouts += 1
                wait = f"{timeout * 1000:.0f} ms" + (
                    f" ({base * 1000:.0f} ms + {on_line * 1000:.0f} ms on the line at {baud} baud)" if on_line else ""
                )
                if not idempotent or attempt >= attempts:
                    _log.info("no reply to %s (seq %d) after %d attempt(s) of %s", command.name, seq, attempt, wait)
                    raise ReplyTimeout(
                        f"no reply to {command.name} from {self.transport.url} after {attempt} attempt(s) of {wait}"
                    )
                self.stats.retries += 1
                _log.info("no reply to %s (seq %d) within %s: sending it again (attempt %d of %d)",
                          command.name, seq, wait, attempt + 1, attempts)  # fmt: skip
        finally:
            with self._state_lock:
                self._pending.pop(seq, None)

    def stop(self) -> None:
        """Stop all output now: sent at once, re-sent until the device confirms, else LinkLost.

        Nothing but the deadline ends the attempt: a write that fails, a port that vanished or a
        link declared lost meanwhile (heartbeats) only mean "send it again". On a lost link the
        port is opened again first when it closed (a cable blip: the port is back), and read again,
        so STOP is the first thing the device hears; the link stays LOST for everything else.
        """
        seq, pending = self._register(MessageType.STOP)
        frame = encode(m.Stop(), seq)
        # On a slow line a STOP and its STOP_ACK take a while, and may queue behind a long frame.
        resend_extra_s, deadline_extra_s = stop_line_time_s(self.transport.baud)
        resend_s = self.stop_resend_s + resend_extra_s
        started = time.monotonic()
        deadline = started + self.stop_deadline_s + deadline_extra_s
        last_error = ""
        sends = 0
        reopened = False
        # Nothing is logged until the device has confirmed (or the deadline passed): no log line
        # stands between a STOP and the wire.
        try:
            while True:
                if self.status is LinkStatus.CLOSED:
                    raise LinkError(f"link to {self.transport.url} is closed: STOP was not sent")
                try:
                    if self.status is LinkStatus.LOST:
                        reopened = self._revive() or reopened
                    self._write(frame, urgent=True, deadline_s=deadline)
                    sends += 1
                except TransportError as err:  # the port may come back before the deadline
                    last_error = f" (last error: {err})"
                if self._await(pending, resend_s):
                    if isinstance(pending.reply, m.StopAck):
                        _log.info("STOP confirmed by %s after %.1f ms (%d send(s)%s)", self.transport.url,
                                  (time.monotonic() - started) * 1000, sends,
                                  ", the port reopened after a link loss first" if reopened else "")  # fmt: skip
                        return
                    # a NAK (BAD_CRC) or a wake-up because the link was declared lost: send again
                    pending.done.clear()
                    pending.reply = None
                if time.monotonic() >= deadline:
                    _log.warning("STOP was not confirmed by %s after %d send(s)%s", self.transport.url, sends,
                                 last_error)  # fmt: skip
                    raise LinkLost(
                        f"STOP was not confirmed by {self.transport.url} within "
                        f"{(deadline - started) * 1000:.0f} ms{last_error}: check the device and disconnect the leads"
                    )
        finally:
            with self._state_lock:
                self._pending.pop(seq, None)

    # --- heartbeat -----------------------------------------------------------------------------

    def start_heartbeat(self, watchdog_timeout_ms: int, *, stop_on_loss: bool) -> None:
        """Arm the device's watchdog and keep it fed every third of its timeout."""
        self.stop_heartbeat()
        flags = HeartbeatFlags.STOP_ON_LOSS if stop_on_loss else HeartbeatFlags.NONE
        beat = m.Heartbeat(watchdog_timeout_ms, flags)
        self.request(beat)
        self._beat(beat, watchdog_timeout_ms / 3000)

    def start_keepalive(self, interval_s: float) -> None:
        """Watch the link without touching the device's watchdog: a status read every ``interval_s``.

        For a session that commands no stimulation: two reads in a row unanswered lose the link, as
        two missed heartbeats do, but the device's watchdog stays as another session left it.
        """
        self.stop_heartbeat()
        self._beat(m.GetStatus(), interval_s)

    def _beat(self, beat: m.Message, interval: float) -> None:
        self._heartbeat_stop.clear()

        def run() -> None:
            missed = 0
            while not self._heartbeat_stop.wait(interval):
                try:
                    self.request(beat, retries=0, timeout_s=interval)
                    missed = 0
                except (LinkLost, LinkError) as err:
                    if not isinstance(err, ReplyTimeout | ProtocolViolation):
                        return  # the link is lost or closed: nothing left to feed
                    missed += 1
                except ScsError:  # a NAK (BUSY, say): the watchdog was not fed by this beat
                    missed += 1
                if missed:
                    self.stats.heartbeats_missed += 1
                    if missed >= 2:
                        self._lose(f"{missed} heartbeats in a row went unanswered or were refused")
                        return

        self._heartbeat = threading.Thread(target=run, name="scsctl-heartbeat", daemon=True)
        self._heartbeat.start()

    def stop_heartbeat(self) -> None:
        self._heartbeat_stop.set()
        if self._heartbeat is not None and self._heartbeat is not threading.current_thread():
            self._heartbeat.join(timeout=2.0)
        self._heartbeat = None

    # --- events --------------------------------------------------------------------------------

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call ``callback`` with every device event and link state change; returns an unsubscribe."""
        with self._state_lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._state_lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    # --- internals -----------------------------------------------------------------------------

    def _register(self, command: MessageType) -> tuple[int, _Pending]:
        with self._state_lock:
            for _ in range(256):
                seq = self._next_seq
                self._next_seq = (seq + 1) & 0xFF
                if seq not in self._pending:
                    pending = _Pending(command)
                    self._pending[seq] = pending
                    return seq, pending
        raise LinkError("256 requests are outstanding: the device is not answering")

    def _revive(self) -> bool:
        """On a lost link, for STOP: reopen the port if it closed, and have a reader on it again.

        Returns whether the port was opened again (logged by ``stop`` once the STOP is through)."""
        reopened = False
        with self._revive_lock:
            if self.status is not LinkStatus.LOST:
                return False
            if not self.transport.is_open:
                self.transport.open()  # raises while the port is still away
                reopened = True
            if self._reader is None or not self._reader.is_alive():
                self._reader = threading.Thread(
                    target=self._read_loop, name=f"scsctl-reader {self.transport.url}", daemon=True
                )
                self._reader.start()
        return reopened

    def _ensure_up(self) -> None:
        if self.status is LinkStatus.LOST:
            raise LinkLost(f"link to {self.transport.url} lost: {self._lost_reason}")
        if self.status is LinkStatus.CLOSED:
            raise LinkError(f"link to {self.transport.url} is closed")

    def _write(self, frame: bytes, *, urgent: bool = False, deadline_s: float | None = None) -> None:
        """Write one frame and wait until it has left the host; ``urgent`` (STOP) goes first, and
        waits for the line until ``deadline_s`` at most (then TransportError, nothing written)."""
        with self._line_lock:
            if self._line_busy or (self._stops_waiting and not urgent):
                self._wait_for_line(urgent=urgent, deadline_s=deadline_s)
            self._line_busy = True
        try:
            self.transport.write(frame)
            if self.capture is not None:
                self.capture.record("tx", frame)
            # Still holding the line: the next frame, a STOP above all, must not queue in the
            # kernel behind this one (see the module's docstring). A STOP's own waits end by its deadline.
            if deadline_s is None:
                self.transport.drain()
            else:
                self.transport.drain(max(0.0, deadline_s - time.monotonic()))
        finally:
            with self._line_lock:
                self._line_busy = False
                if self._line_waiters:
                    self._line.notify_all()

    def _wait_for_line(self, *, urgent: bool, deadline_s: float | None = None) -> None:
        """Wait (holding ``_line_lock``) until this writer may take the line: a STOP as soon as
        the frame being sent has left (TransportError once ``deadline_s`` has passed), any other
        writer also after every STOP waiting."""
        line = self._line
        self._line_waiters += 1
        try:
            if urgent:
                self._stops_waiting += 1
                try:
                    while self._line_busy:
                        remaining_s = None if deadline_s is None else deadline_s - time.monotonic()
                        if remaining_s is not None and remaining_s <= 0:
                            raise TransportError(
                                f"{self.transport.url}: the frame before the STOP has not left the host (hardware "
                                "flow control holding the line, or the device stopped taking bytes)",
                                port=self.transport.url,
                            )
                        line.wait(remaining_s)
                finally:
                    self._stops_waiting -= 1
            else:
                while self._line_busy or self._stops_waiting:
                    line.wait()
        finally:
            self._line_waiters -= 1

    def _read_loop(self) -> None:
        port = self._port
        while not self._closing.is_set():
            with self._port_lock:
                while not self._closing.is_set():
                    if self._port_owner is not None or self._caller_wants_port:
                        # Given back without a wake-up when no one else waits (see _give_port).
                        port.wait(READER_REST_S)
                        continue
                    rest_s = self._reader_rests_until_s - time.monotonic()
                    if rest_s <= 0:
                        break
                    port.wait(rest_s)
                if self._closing.is_set():
                    return
                self._reader_reading = True
            try:
                self._read_once(0.2)
            except Exception as err:  # noqa: BLE001 - the reader must never die silently
                if not self._closing.is_set():
                    self._lose(str(err) if isinstance(err, LinkError) else f"reading failed: {err!r}")
                return
            finally:
                # After dispatching: a caller that takes the port over must not wait for a reply
                # this thread has read already.
                with self._port_lock:
                    self._reader_reading = False
                    port.notify_all()

    def _read_once(self, idle_timeout_s: float) -> bool:
        """One read of the transport, dispatched; False when nothing came within the timeout."""
        decoder = self.stats.decoder
        buffered = decoder.buffered
        timeout_s = min(QUIET_FLUSH_S, idle_timeout_s) if buffered else idle_timeout_s
        started_s = time.monotonic()
        data = self.transport.read(READ_CHUNK, timeout_s)
        if not data:
            # Only a partial frame that stayed partial for QUIET_FLUSH_S is dropped: not one
            # whose read was cut short (cancel_read) or ended by a caller's own deadline.
            if buffered and time.monotonic() - started_s >= QUIET_FLUSH_S:
                self._dispatch(decoder.flush())
            return False
        if self.capture is not None:
            self.capture.record("rx", data)
        self._dispatch(decoder.feed(data))
        return True

    def _await(self, pending: _Pending, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` for ``pending``'s reply (or a wake-up): True when it is done.

        The only caller waiting reads the port itself; any other waits for whoever reads.
        """
        if pending.done.is_set():
            return True
        deadline_s = time.monotonic() + timeout_s
        if not self._take_port(pending, deadline_s):
            return pending.done.wait(max(0.0, deadline_s - time.monotonic()))
        try:
            while not pending.done.is_set():
                remaining_s = deadline_s - time.monotonic()
                if remaining_s <= 0 or self._closing.is_set():
                    break
                self._read_once(remaining_s)
        except Exception as err:  # noqa: BLE001 - as in the reader thread: the link is lost
            if not self._closing.is_set():
                self._lose(str(err) if isinstance(err, LinkError) else f"reading failed: {err!r}")
        finally:
            self._give_port()
        return pending.done.is_set()

    def _take_port(self, pending: _Pending, deadline_s: float) -> bool:
        """Become the thread that reads, when no other caller waits; False: wait for the reader."""
        port = self._port
        with self._port_lock:
            if self._port_owner is not None or self._reader is None or self._closing.is_set():
                return False
            with self._state_lock:
                alone = len(self._pending) == 1
            if not alone:
                if not self._reader_reading:  # resting after a caller read: it reads for us all now
                    self._reader_rests_until_s = 0.0
                    port.notify_all()
                return False
            if self._reader_reading:
                # Ask the reader thread to step aside; it wakes while the device is still
                # answering, and dispatches whatever it read before letting go.
                self._caller_wants_port = True
                self.transport.cancel_read()
                try:
                    while self._reader_reading and not pending.done.is_set():
                        remaining_s = deadline_s - time.monotonic()
                        if remaining_s <= 0:
                            return False
                        port.wait(remaining_s)
                finally:
                    self._caller_wants_port = False
                if pending.done.is_set():
                    port.notify_all()
                    return False
            self._port_owner = threading.get_ident()
            return True

    def _give_port(self) -> None:
        with self._port_lock:
            self._port_owner = None
            with self._state_lock:
                others = len(self._pending) > 1
            # Others waiting: the reader reads for them now. Else it rests, not even woken: this
            # caller may be back in a moment (a polling loop) and will find the port free.
            if others:
                self._reader_rests_until_s = 0.0
                self._port.notify_all()
            else:
                self._reader_rests_until_s = time.monotonic() + READER_REST_S

    def _dispatch(self, items: list[Frame | InvalidFrame]) -> None:
        for item in items:
            if not isinstance(item, Frame):
                _log.debug("invalid frame from the device: %s at byte %d", item.reason.value, item.offset)
                continue
            message = item.message
            if is_event(message.TYPE):
                self.stats.events += 1
                self._notify(message)
                continue
            with self._state_lock:
                pending = self._pending.get(item.seq)
            if pending is None or not self._answers(pending.command, message):
                self.stats.stray_replies += 1
                _log.info("stray reply %s (seq %d): no request with that seq awaits it (a late reply to a "
                          "request that timed out?)", message.TYPE.name, item.seq)  # fmt: skip
                continue
            pending.reply = message
            pending.done.set()

    @staticmethod
    def _answers(command: MessageType, reply: m.Message) -> bool:
        if isinstance(reply, m.Nak):
            return reply.command == command
        return m.RESPONSE_TYPES.get(command) is reply.TYPE

    def _notify(self, item: m.Message | LinkStateChange) -> None:
        with self._state_lock:
            subscribers = list(self._subscribers)
        for callback in subscribers:
            try:
                callback(item)
            except Exception:  # noqa: BLE001 - a subscriber's bug must not kill the reader thread
                continue

    def _lose(self, reason: str) -> None:
        with self._state_lock:
            if self.status is not LinkStatus.UP:
                return
            self.status = LinkStatus.LOST
            self._lost_reason = reason
            pending = list(self._pending.values())
        _log.warning("link to %s lost: %s", self.transport.url, reason)
        self._notify(LinkStateChange(LinkStatus.LOST, reason))
        for p in pending:
            p.done.set()  # wake waiters: they see the link is lost

    def _set_status(self, status: LinkStatus, reason: str) -> None:
        self.status = status
        self._notify(LinkStateChange(status, reason))

"""The emulated trial stimulator's firmware: a sans-IO core driven by bytes and a clock.

No threads, sockets or clocks here: the runtime feeds the bytes it read with the time it read them
(``receive``), calls ``poll`` by ``next_deadline_s()`` at the latest, and sends back whatever bytes
either returned. Everything follows ``firmware_protocol/PROTOCOL.md`` (sections cited as "P x.y").

State machine (P 10.2): the table in ``states`` (drawn there), which refuses any change it does not
hold; every change sends EVENT_STATE after the reply of the command causing it.

Invariants (the first two are checked at every state change, ``states.check_invariants``):

- The output is non-zero only in RAMPING_UP, STIMULATING and RAMPING_DOWN (``_output_ua``).
- ``_run_slot`` is set exactly in the output states; the running program is
  ``storage.programs[_run_slot]``, whose amplitude is the committed set-point.
- A tentative amplitude exists only while a program runs; STOP, faults and watchdog expiry discard it.
- Timed work (ramp steps, cycling, watchdog, measurement, battery thresholds, injected faults; one
  ``timers.Timer`` each, in one ``Scheduler``) is done at its own time on the device clock even
  when ``poll`` comes late, so the output monitor
  and the event log show when things happened, not when the runtime looked.
- Replies carry the request's seq and come before the events the request caused; events carry the
  device's own counter, 0 at power-on.

Choices where PROTOCOL.md leaves room (reported for confirmation):

- Commands are executed as they arrive; nothing queues except during an injected stall and an
  impedance measurement (``impedance_measure_ms``). During a measurement SET_PROGRAM,
  SELECT_PROGRAM, START, SET_AMPLITUDE and MEASURE_IMPEDANCE get NAK BUSY; HELLO, GET_STATUS,
  HEARTBEAT, READ_PROGRAM and GET_USAGE are answered; STOP aborts it (STOP_ACK, then NAK BUSY to the
  measurement). After a stall, a queued STOP is executed first and the commands queued before it
  are answered NAK BUSY unexecuted.
- Compliance: SET_PROGRAM and SET_AMPLITUDE are refused (NAK COMPLIANCE) against the last measured
  impedance; START is not. While output is on, the output stage checks every change against the
  leads' true impedance and raises OVER_COMPLIANCE (a fault) when it cannot drive a contact.
- Lead faults are detected while current flows on an active contact, or by an impedance check.
- Reserved flag bits are checked first (before the command's own rules): NAK OUT_OF_RANGE(FLAGS).
- Reverting a tentative amplitude on watchdog expiry (P 15 decision 13): down to the committed
  amplitude at once (less current is always safe); up as a ramp (RAMPING_UP, cause WATCHDOG) that
  is never faster than the program's own ramp up and never moves more than the model's largest
  single step (``amplitude_step_max_ua``) per ramp step, so no revert is a jump a patient would
  feel. STOP and faults just discard it: the output goes to zero anyway.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from enum import Enum, auto
from typing import Any, Protocol

from construct import ConstructError

from firmware_protocol import Decoder, Frame, InvalidFrame, encode, wire
from firmware_protocol import messages as m
from firmware_protocol.constants import (
    HEADER_SIZE,
    MAX_FRAME,
    MAX_USAGE_EVENTS,
    NO_INDEX,
    NO_SLOT,
    OUTPUT_STATES,
    SYNC,
    WATCHDOG_MAX_MS,
    WATCHDOG_MIN_MS,
    AmplitudeFlags,
    EventCode,
    FaultCode,
    FaultFlags,
    HeartbeatFlags,
    ImpedanceStatus,
    MessageType,
    NakReason,
    Param,
    Polarity,
    State,
    StateCause,
    StatusFlags,
    is_command,
)

from .battery import Battery, ThresholdTimes, average_output_ua
from .faults import (
    BatteryLevel,
    FirmwareFault,
    HardwareFault,
    LeadOpen,
    LeadRepair,
    LeadShort,
    NakNext,
    Reboot,
    Stall,
    TimedFault,
)
from .impedance import Leads
from .limits import Refusal, check_live_amplitude, check_program, contact_currents_ua, out_of_range
from .models import DEFAULT_MODEL, FirmwareModel
from .output_monitor import Output, OutputMonitor, off_output
from .states import ON_STATES, check_invariants, transition
from .storage import Storage
from .timers import Scheduler, Timer

_EPS_S = 1e-9
"""Timers due within this of the present fire now: float sums like t0 + 50 x 0.02 may not be exact."""
RX_GAP_S = 0.05
"""A partial frame with no further byte for this long is given up (PROTOCOL.md, receiver rules):
otherwise a damaged length byte would make the device swallow the host's next frames."""

_HOLDS_FAULT = (
    FaultFlags.LEAD_OPEN | FaultFlags.LEAD_SHORT | FaultFlags.OVER_COMPLIANCE
    | FaultFlags.END_OF_SERVICE | FaultFlags.HARDWARE
)  # fmt: skip
_BEFORE_HELLO = frozenset({MessageType.HELLO, MessageType.GET_STATUS, MessageType.STOP})
_BUSY_WHILE_MEASURING = frozenset({
    MessageType.SET_PROGRAM, MessageType.SELECT_PROGRAM, MessageType.START,
    MessageType.SET_AMPLITUDE, MessageType.MEASURE_IMPEDANCE,
})  # fmt: skip
_BATTERY_LOW_BIT = int(FaultFlags.BATTERY_LOW)
_END_OF_SERVICE_BIT = int(FaultFlags.END_OF_SERVICE)
_WATCHDOG_EXPIRY_BIT = int(FaultFlags.WATCHDOG_EXPIRY)
_STOP_ON_LOSS_BIT = int(HeartbeatFlags.STOP_ON_LOSS)
_COMMIT_BIT = int(AmplitudeFlags.COMMIT)
_TENTATIVE_BIT = int(StatusFlags.TENTATIVE)
_SESSION_OPEN_BIT = int(StatusFlags.SESSION_OPEN)
_STOP_ON_LINK_LOSS_BIT = int(StatusFlags.STOP_ON_LINK_LOSS)
_IMPEDANCE_FRESH_BIT = int(StatusFlags.IMPEDANCE_FRESH)
_STATUS_FLAGS = tuple(StatusFlags(bits) for bits in range(int(max(StatusFlags)) * 2))
"""Every combination of the status flags, by its bits: GET_STATUS picks one instead of building it."""
_U16 = 0xFFFF
_U32 = 0xFFFFFFFF


class _Timer(Enum):
    STALL_END = auto()
    INJECTED = auto()
    MEASUREMENT = auto()
    WATCHDOG = auto()
    BATTERY_LOW = auto()
    END_OF_SERVICE = auto()
    STATE = auto()


_Reply = m.Message | Refusal | None
"""A handler's answer: a reply message, a refusal (sent as NAK), or None (answered later)."""


def _flag(code: FaultCode) -> FaultFlags:
    return FaultFlags(1 << (int(code) - 1))


def _cycles(p: m.Program) -> bool:
    """The program cycles its output on and off."""
    return p.cycle_on_s > 0 and p.cycle_off_s > 0


class FrameDecoder(Protocol):
    """What the firmware needs of a decoder (``firmware_protocol.Decoder`` has it)."""

    @property
    def buffered(self) -> int: ...

    @property
    def frames(self) -> int: ...

    @property
    def invalid_frames(self) -> int: ...

    @property
    def discarded_bytes(self) -> int: ...

    def feed(self, data: bytes) -> list[Frame | InvalidFrame]: ...

    def flush(self) -> list[Frame | InvalidFrame]: ...


class WireCodec(Protocol):
    """The codec the firmware receives and sends through: bytes to frames, messages to bytes."""

    name: str

    def decoder(self) -> FrameDecoder: ...

    def encode(self, message: m.Message, seq: int) -> bytes: ...


class PythonCodec:
    """``firmware_protocol``'s own codec, the default. ``c_codec.CCodec`` is the C kit's."""

    name = "python"

    def decoder(self) -> FrameDecoder:
        return Decoder()

    encode = staticmethod(encode)
    """``firmware_protocol.encode`` itself: the firmware calls it for every frame it sends."""


PYTHON_CODEC = PythonCodec()


class Firmware:
    """One emulated device. Not thread-safe: a runtime calls every method under one lock.

    ``storage`` is the non-volatile memory (programs, selection, counters, log); pass the same
    object to a new ``Firmware`` to model the device after a reboot. ``battery`` and ``leads`` are
    the hardware around the firmware; tests reach them as ``fw.battery`` and ``fw.leads``.
    ``codec`` is what the bytes pass through: the Python codec, or the C kit's (``c_codec``).
    """

    def __init__(
        self,
        model: FirmwareModel = DEFAULT_MODEL,
        now_s: float = 0.0,
        seed: int = 0,
        storage: Storage | None = None,
        *,
        battery: Battery | None = None,
        leads: Leads | None = None,
        serial_number: str | None = None,
        codec: WireCodec = PYTHON_CODEC,
    ) -> None:
        self.model = model
        self.codec = codec
        self._codec_encode = codec.encode
        self.seed = seed
        self.storage = storage if storage is not None else Storage()
        self.battery = battery if battery is not None else Battery()
        self.leads = leads if leads is not None else Leads(model.contact_count, seed)
        if self.leads.contact_count != model.contact_count:
            raise ValueError(
                f"leads have {self.leads.contact_count} contacts, {model.name} drives {model.contact_count}"
            )
        self.serial_number = serial_number or f"EMU{model.model_id:04X}-{seed % 10**8:08d}"
        if len(self.serial_number) > 16 or not all(" " <= c <= "~" for c in self.serial_number):
            raise ValueError(f"serial number {self.serial_number!r}: up to 16 printable ASCII characters (P 1)")
        self.monitor = OutputMonitor(model.contact_count, now_s)
        self._clock_s = now_s
        self._out = bytearray()
        self._events: list[m.Message] = []
        self._naks: list[NakNext] = []
        self._scheduled: list[tuple[float, int, TimedFault]] = []
        self._scheduled_count = 0
        self._seq = 0
        """The seq of the command being executed (a measurement answers it later)."""
        self._battery_times = ThresholdTimes()
        self._timers: Scheduler[_Timer] = Scheduler(
            [
                Timer(_Timer.STALL_END, lambda: self._stall_until_s, lambda t: self._end_stall()),
                Timer(_Timer.INJECTED, self._injected_due, self._fire_injected),
                Timer(_Timer.MEASUREMENT, self._measurement_due, self._finish_measurement),
                Timer(_Timer.WATCHDOG, self._watchdog_due, self._watchdog_expired),
                Timer(_Timer.BATTERY_LOW, self._battery_low_due, lambda t: self._battery_low()),
                Timer(_Timer.END_OF_SERVICE, self._end_of_service_due, self._end_of_service),
                Timer(_Timer.STATE, self._state_timer, self._fire_state),
            ],
            inputs=self._timer_inputs,
        )
        """Every kind of timed work, in precedence order (of equal times the first listed goes first)."""
        self._handlers: dict[MessageType, Callable[[Any], _Reply]] = {
            MessageType.HELLO: self._on_hello,
            MessageType.GET_STATUS: self._on_get_status,
            MessageType.HEARTBEAT: self._on_heartbeat,
            MessageType.SET_PROGRAM: self._on_set_program,
            MessageType.READ_PROGRAM: self._on_read_program,
            MessageType.SELECT_PROGRAM: self._on_select_program,
            MessageType.START: self._on_start,
            MessageType.STOP: self._on_stop,
            MessageType.SET_AMPLITUDE: self._on_set_amplitude,
            MessageType.MEASURE_IMPEDANCE: self._on_measure_impedance,
            MessageType.GET_USAGE: self._on_get_usage,
            MessageType.GET_COUNTERS: self._on_get_counters,
        }
        self._power_on(now_s)

    # --- public API ------------------------------------------------------------------------------

    def receive(self, data: bytes, now_s: float) -> bytes:
        """Feed bytes from the host received at ``now_s``; returns the bytes to send back."""
        self._advance(now_s)
        self._rx_at_s = self._clock_s
        decoder = self._decoder
        items = decoder.feed(data)
        if decoder.buffered or len(items) != 1 or type(items[0]) is not Frame:
            self._remember(data)
        else:
            self._forget_history(len(data))
        self._take(items)
        return self._flush()

    def poll(self, now_s: float) -> bytes:
        """Advance the clock to ``now_s``: ramps, cycling, watchdog, battery, faults; returns events."""
        self._advance(now_s)
        if self._decoder.buffered and self._clock_s - self._rx_at_s >= RX_GAP_S - _EPS_S:
            self._take(self._decoder.flush())  # the line went quiet mid-frame: rescan what followed
        return self._flush()

    def _take(self, items: list[Frame | InvalidFrame]) -> None:
        for item in items:
            prepared = self._prepare(item)
            if self._stalled():
                self._queued.append(prepared)
            else:
                self._handle(prepared)
        if items:
            self._timers.forget()  # a command may have moved any timer
        self._advance(self._clock_s)  # work a command made due at once (a 0 ms measurement)

    def next_deadline_s(self) -> float | None:
        """The latest time ``poll`` must be called next; None when nothing is scheduled."""
        if self._out and not self._stalled():
            return self._clock_s
        timer = self._timers.next()
        due = timer[0] if timer else None
        if self._decoder.buffered:
            give_up_s = self._rx_at_s + RX_GAP_S
            due = give_up_s if due is None else min(due, give_up_s)
        return due

    def power_cycle(self, now_s: float) -> bytes:
        """Switch the device off and on at ``now_s``: RAM state is lost, ``storage`` is kept."""
        self._advance(now_s)
        self._power_off(self._clock_s)
        self._power_on(self._clock_s)
        return self._flush()

    def inject(self, fault: FirmwareFault) -> None:
        """Inject a firmware-level fault (see ``faults``). Timed faults without ``at_s`` act now;
        their events are sent by the next ``poll`` (``next_deadline_s`` says so)."""
        self._timers.forget()
        if isinstance(fault, NakNext):
            if fault.count < 1:
                raise ValueError(f"NakNext count {fault.count} must be at least 1")
            self._naks.extend([dataclasses.replace(fault, count=1)] * fault.count)
            return
        if isinstance(fault, LeadOpen | LeadShort | LeadRepair):
            self.leads.fault(fault.contact_index)  # validates the index now, not at fire time
        at_s = self._clock_s if fault.at_s is None else max(fault.at_s, self._clock_s)
        self._scheduled.append((at_s, self._scheduled_count, fault))
        self._scheduled_count += 1
        self._scheduled.sort(key=lambda item: (item[0], item[1]))
        if at_s <= self._clock_s:
            self._advance(self._clock_s)

    @property
    def state(self) -> State:
        return self._state

    @property
    def output_ua(self) -> int:
        """The amplitude being delivered now."""
        return self._output_ua

    @property
    def fault_flags(self) -> FaultFlags:
        return self._fault_flags

    @property
    def counters(self) -> m.Counters:
        """What the receiver saw and what was sent since power-on: the GET_COUNTERS answer (P 7.16)."""
        d = self._decoder
        return m.Counters(
            frames_received=min(d.frames, _U32),
            invalid_frames=min(d.invalid_frames, _U32),
            discarded_bytes=min(d.discarded_bytes, _U32),
            frames_sent=min(self._frames_sent, _U32),
            naks_sent=min(self._naks_sent, _U32),
            bad_crc_naks=min(self._bad_crc_naks, _U32),
        )

    @property
    def clock_s(self) -> float:
        """The device clock: the latest time the firmware was driven to."""
        return self._clock_s

    # --- power -----------------------------------------------------------------------------------

    def _power_on(self, t: float) -> None:
        self._timers.forget()
        self._power_on_s = t
        self._decoder = self.codec.decoder()
        self._frames_sent = self._naks_sent = self._bad_crc_naks = 0  # RAM: counted from power-on (P 7.16)
        self._rx_at_s = t
        self._history = bytearray()
        self._history_base = 0
        self._event_seq = 0
        self._hello_done = False
        self._watchdog_ms = 0
        self._stop_on_loss = False
        self._last_command_s = t
        self._fault_flags = FaultFlags.NONE
        self._impedance_fresh = False
        self._measured_ohm: list[int | None] | None = None
        self._tentative_ua: int | None = None
        self._run_slot: int | None = None
        self._output_ua = 0
        self._avg_output_ua = 0.0
        self._phase_start_s = t
        self._on_start_s = t
        self._ramp_from_ua = 0
        self._ramp_ms = 0
        self._ramp_step = 0
        self._measuring: tuple[float, int] | None = None
        self._stall_until_s: float | None = None
        self._queued: list[Frame | bytes] = []
        st = self.storage
        if st.selected_slot is not None and st.selected_slot not in st.programs:
            st.selected_slot = None
        self._state = State.PROGRAMMED if st.selected_slot is not None else State.IDLE  # the first state
        check_invariants(self._state, self._run_slot, self._output_ua)
        st.counters.power_on_count += 1
        self._log(EventCode.POWER_ON)
        self._event(m.EventState(State.IDLE, self._state, StateCause.POWER_ON, 0))
        self._check_battery(t)

    def _power_off(self, t: float) -> None:
        self._set_output(t, 0)
        self.storage.operating_s += t - self._power_on_s
        if self._stalled():
            self._out.clear()  # replies held by a stalled firmware are never sent

    # --- time ------------------------------------------------------------------------------------

    def _advance(self, now_s: float) -> None:
        """Run every timer due by ``now_s`` at its own time, then bring the clock to ``now_s``.

        Time never runs backwards: an earlier ``now_s`` is taken as the present clock.
        """
        now_s = max(now_s, self._clock_s)
        while (timer := self._timers.next()) is not None and timer[0] <= now_s + _EPS_S:
            t = max(timer[0], self._clock_s)
            self._elapse(t)
            self._timers.fire(timer[1], t)
            self._flush_events()
        self._elapse(now_s)

    def _timer_inputs(self) -> tuple[object, ...]:
        """What the timers read that is not the firmware's own: while these are equal, a timer
        worked out since the firmware last changed still holds.

        The firmware's own state changes only in its methods, each of which drops the memo (a
        command, a timer firing, an injected fault, a power cycle); the hardware around it
        (battery, storage, model) tests may change directly. No deadline reads the clock: the
        battery's are times that stay put as it drains at a constant draw (``ThresholdTimes``),
        so the clock moving leaves the memo standing.
        """
        slot = self._run_slot
        program = None if slot is None else self.storage.programs.get(slot)
        battery_times = self._battery_times.at(self.battery, self._avg_output_ua, self._clock_s)
        return (battery_times, self.model, self.storage, program)

    def _elapse(self, t: float) -> None:
        dt = t - self._clock_s
        if dt > 0:
            self._battery_times.drain(self.battery, self._clock_s, dt, self._avg_output_ua)
            if self._state in OUTPUT_STATES:
                self.storage.counters.stimulation_s += dt
            self._clock_s = t

    # Each timer's deadline (the scheduler's ``due``), in the order of their precedence.

    def _injected_due(self) -> float | None:
        return self._scheduled[0][0] if self._scheduled else None

    def _fire_injected(self, t: float) -> None:
        _, _, fault = self._scheduled.pop(0)
        self._fire_fault(fault, t)

    def _measurement_due(self) -> float | None:
        return self._measuring[0] if self._measuring is not None else None

    def _watchdog_due(self) -> float | None:
        return self._last_command_s + self._watchdog_ms / 1000 if self._watchdog_ms else None

    def _battery_threshold_times(self) -> tuple[float | None, float | None]:
        """When the battery reaches its BATTERY_LOW and END_OF_SERVICE levels at the present draw."""
        return self._battery_times.at(self.battery, self._avg_output_ua, self._clock_s)

    def _battery_low_due(self) -> float | None:
        if int(self._fault_flags) & _BATTERY_LOW_BIT:  # int bits: Flag arithmetic is slow, asked per command
            return None
        return self._battery_threshold_times()[0]

    def _end_of_service_due(self) -> float | None:
        if int(self._fault_flags) & _END_OF_SERVICE_BIT:
            return None
        return self._battery_threshold_times()[1]

    # --- the running program -----------------------------------------------------------------------

    def _program(self) -> m.Program:
        assert self._run_slot is not None
        return self.storage.programs[self._run_slot]

    def _setpoint_ua(self) -> int:
        if self._run_slot is not None:
            return self._tentative_ua if self._tentative_ua is not None else self._program().amplitude_ua
        selected = self.storage.selected_slot
        return self.storage.programs[selected].amplitude_ua if selected is not None else 0

    def _cycling(self) -> bool:
        return _cycles(self._program())

    def _ramp_step_time(self, ramp_ms: int) -> float:
        step_ms = min(self._ramp_step * self.model.ramp_step_ms, ramp_ms)
        return self._phase_start_s + step_ms / 1000

    def _state_timer(self) -> float | None:
        if self._run_slot is None:
            return None
        p = self._program()
        cycle_end = self._on_start_s + p.cycle_on_s if _cycles(p) else None
        state = self._state
        if state == State.STIMULATING:  # the usual state while a program runs: asked first
            return cycle_end
        if state == State.RAMPING_UP:
            step = self._ramp_step_time(self._ramp_ms)
            return step if cycle_end is None else min(step, cycle_end)
        if state == State.RAMPING_DOWN:
            return self._ramp_step_time(self._ramp_ms)
        if state == State.CYCLING_OFF:
            return self._phase_start_s + p.cycle_off_s
        return None

    def _fire_state(self, t: float) -> None:
        p = self._program()
        if self._state == State.RAMPING_UP:
            step = self._ramp_step_time(self._ramp_ms)
            if not self._cycling() or step <= self._on_start_s + p.cycle_on_s:
                elapsed_ms = min(self._ramp_step * self.model.ramp_step_ms, self._ramp_ms)
                self._ramp_step += 1
                rise_ua = self._setpoint_ua() - self._ramp_from_ua
                self._set_output(t, self._ramp_from_ua + rise_ua * elapsed_ms // self._ramp_ms)
                if elapsed_ms >= self._ramp_ms:
                    self._change_state(State.STIMULATING, StateCause.RAMP_DONE)
                self._supervise(t)
            else:
                self._end_on_period(t)
        elif self._state == State.STIMULATING:
            self._end_on_period(t)
        elif self._state == State.RAMPING_DOWN:
            elapsed_ms = min(self._ramp_step * self.model.ramp_step_ms, self._ramp_ms)
            self._ramp_step += 1
            self._set_output(t, self._ramp_from_ua * (self._ramp_ms - elapsed_ms) // self._ramp_ms)
            if elapsed_ms >= self._ramp_ms:
                self._phase_start_s = t
                self._change_state(State.CYCLING_OFF, StateCause.RAMP_DONE)
            self._supervise(t)
        elif self._state == State.CYCLING_OFF:
            self._begin_on_period(t, StateCause.CYCLE)

    def _begin_on_period(self, t: float, cause: StateCause) -> None:
        p = self._program()
        self._on_start_s = self._phase_start_s = t
        if p.ramp_up_ms > 0:
            self._plan_ramp(t, 0, p.ramp_up_ms)
            self._change_state(State.RAMPING_UP, cause)
        else:
            self._set_output(t, self._setpoint_ua())
            self._change_state(State.STIMULATING, cause)
        self._supervise(t)

    def _end_on_period(self, t: float) -> None:
        p = self._program()
        self._phase_start_s = t
        if p.ramp_down_ms > 0:
            self._plan_ramp(t, self._output_ua, p.ramp_down_ms)
            self._change_state(State.RAMPING_DOWN, StateCause.CYCLE)
        else:
            self._set_output(t, 0)
            self._change_state(State.CYCLING_OFF, StateCause.CYCLE)

    def _plan_ramp(self, t: float, from_ua: int, ramp_ms: int) -> None:
        """A linear ramp starting at ``t``: up from ``from_ua`` to the set-point, or down from it
        to 0, over ``ramp_ms``, in steps ``ramp_step_ms`` apart (the first one step after ``t``)."""
        self._phase_start_s = t
        self._ramp_from_ua = from_ua
        self._ramp_ms = ramp_ms
        self._ramp_step = 1

    def _set_output(self, t: float, amplitude_ua: int) -> None:
        self._output_ua = amplitude_ua
        if amplitude_ua <= 0 or self._run_slot is None:
            output = off_output(self.model.contact_count)
        else:
            p = self._program()
            currents = contact_currents_ua(amplitude_ua, p.contacts)
            output = Output(
                amplitude_ua=amplitude_ua,
                contact_ua=tuple(
                    -current if c.polarity == Polarity.CATHODE else current
                    for c, current in zip(p.contacts, currents, strict=True)
                ),
                pulse_width_us=p.pulse_width_us,
                rate_dhz=p.rate_dhz,
                waveform=p.waveform,
                burst_pulses=p.burst_pulses,
                intra_burst_rate_dhz=p.intra_burst_rate_dhz,
                recharge=p.recharge,
                slot=self._run_slot,
            )  # fmt: skip
        self.monitor.record(t, output)
        self._avg_output_ua = average_output_ua(output)

    def _stop_output(self, t: float, cause: StateCause, new_state: State) -> None:
        """Output off at once, tentative discarded, the run ended; then the state changes."""
        self._discard_tentative()
        self._set_output(t, 0)
        if self._run_slot is not None:
            self._log(EventCode.STIMULATION_STOPPED, int(cause))
        self._run_slot = None
        self._change_state(new_state, cause)

    def _discard_tentative(self) -> bool:
        """The set-point returns to the committed amplitude (logged); False if nothing was tentative.

        The output itself is the caller's: STOP and faults switch it off, the watchdog moves it
        (``_return_to_committed``)."""
        if self._tentative_ua is None:
            return False
        self._tentative_ua = None
        self._log(EventCode.TENTATIVE_REVERTED, self._program().amplitude_ua)
        return True

    def _return_to_committed(self, t: float) -> State | None:
        """Move a running output from a discarded tentative amplitude to the committed one.

        Down at once (less current is always safe); up as a ramp, never faster than the program's
        own ramp up nor by more than the largest single step per ramp step, for the same reason
        SET_AMPLITUDE may not step further (P 15 decision 13). Returns the state to change to, left
        to the caller so its events keep their order (P 11); None for no change. A ramp down goes
        on to 0, and CYCLING_OFF's next on-period ramps to the committed amplitude as usual.
        """
        if self._state not in (State.RAMPING_UP, State.STIMULATING):
            return None
        committed = self._program().amplitude_ua
        if self._output_ua >= committed:
            self._set_output(t, committed)
            return State.STIMULATING if self._state == State.RAMPING_UP else None
        rise_ua = committed - self._output_ua
        pace_ms = -(-rise_ua // self.model.amplitude_step_max_ua) * self.model.ramp_step_ms
        slope_ms = -(-rise_ua * self._program().ramp_up_ms // committed)
        self._plan_ramp(t, self._output_ua, max(pace_ms, slope_ms))
        return State.RAMPING_UP if self._state == State.STIMULATING else None

    def _change_state(self, new: State, cause: StateCause) -> None:
        """Through the transition table (``states``); staying in the same state is no change."""
        if new != self._state:
            transition(self._state, new, cause)
            self._event(m.EventState(self._state, new, cause, min(self._output_ua, _U16)))
            self._state = new
            check_invariants(new, self._run_slot, self._output_ua)

    def _supervise(self, t: float) -> None:
        """The output stage's own checks while current flows: lead faults, then compliance."""
        if self._state not in ON_STATES or self._output_ua <= 0:
            return
        p = self._program()
        active = [i for i, c in enumerate(p.contacts) if c.polarity != Polarity.OFF]
        lead_faults = [(i, f) for i in active if (f := self.leads.fault(i)) is not None]
        if lead_faults:
            for i, kind in lead_faults:
                ohm = self.leads.ohm(i)
                code = FaultCode.LEAD_OPEN if kind == ImpedanceStatus.OPEN else FaultCode.LEAD_SHORT
                self._raise(code, i, _U16 if ohm is None else ohm)
            self._enter_fault(t, StateCause.FAULT)
            return
        currents = contact_currents_ua(self._output_ua, p.contacts)
        for i in active:
            current = currents[i]
            ohm = self.leads.ohm(i) or 0
            if current * ohm > self.model.compliance_mv * 1000:
                self._raise(FaultCode.OVER_COMPLIANCE, i, min(current * ohm // 1000, _U16))
                self._enter_fault(t, StateCause.FAULT)
                return

    # --- faults ----------------------------------------------------------------------------------

    def _raise(self, code: FaultCode, contact: int = NO_INDEX, detail: int = 0) -> None:
        """Latch a fault, count it, log it and send EVENT_FAULT (P 12)."""
        self._fault_flags |= _flag(code)
        if code in (FaultCode.LEAD_OPEN, FaultCode.LEAD_SHORT):
            self._impedance_fresh = False
        counters = self.storage.counters
        counters.fault_count = min(counters.fault_count + 1, _U16)
        if code == FaultCode.BATTERY_LOW:
            self._log(EventCode.BATTERY_LOW, detail)
        elif code == FaultCode.END_OF_SERVICE:
            self._log(EventCode.END_OF_SERVICE, detail)
        elif code == FaultCode.WATCHDOG_EXPIRY:
            self._log(EventCode.WATCHDOG_EXPIRED, detail)
        else:
            self._log(EventCode.FAULT, int(code) | (contact & 0xFF) << 8)
        self._event(m.EventFault(code, contact, min(detail, _U16), self._fault_flags))

    def _enter_fault(self, t: float, cause: StateCause) -> None:
        if self._state != State.FAULT:
            self._stop_output(t, cause, State.FAULT)

    def _leave_fault_if_clear(self) -> None:
        """P 10.3 STOP 5: drop latched faults whose condition has gone; leave FAULT if none holds."""
        self._fault_flags &= ~FaultFlags.OVER_COMPLIANCE
        if self._state == State.FAULT and not self._fault_flags & _HOLDS_FAULT:
            selected = self.storage.selected_slot is not None
            self._change_state(State.PROGRAMMED if selected else State.IDLE, StateCause.COMMAND)

    def _check_battery(self, t: float) -> None:
        cfg = self.battery.config
        level = self.battery.level_pct
        if self._fault_flags & FaultFlags.BATTERY_LOW and level > cfg.recover_pct:
            self._fault_flags &= ~FaultFlags.BATTERY_LOW
        if not self._fault_flags & FaultFlags.BATTERY_LOW and level <= cfg.low_pct:
            self._battery_low()
        if not self._fault_flags & FaultFlags.END_OF_SERVICE and level <= cfg.end_of_service_pct:
            self._end_of_service(t)

    def _battery_low(self) -> None:
        self._raise(FaultCode.BATTERY_LOW, NO_INDEX, self.battery.mv)

    def _end_of_service(self, t: float) -> None:
        self._raise(FaultCode.END_OF_SERVICE, NO_INDEX, self.battery.mv)
        self._enter_fault(t, StateCause.BATTERY)

    def _watchdog_expired(self, t: float) -> None:
        """P 11: revert, stop if tethered, EVENT_FAULT, then EVENT_STATE, then disarm."""
        timeout_ms = self._watchdog_ms
        reverted = self._discard_tentative()
        new_state: State | None = None
        if self._stop_on_loss and self._state in OUTPUT_STATES:
            self._set_output(t, 0)
            self._log(EventCode.STIMULATION_STOPPED, int(StateCause.WATCHDOG))
            self._run_slot = None
            new_state = State.PROGRAMMED
        elif reverted:
            new_state = self._return_to_committed(t)
        self._raise(FaultCode.WATCHDOG_EXPIRY, NO_INDEX, timeout_ms)
        if new_state is not None:
            self._change_state(new_state, StateCause.WATCHDOG)
        self._watchdog_ms = 0
        self._stop_on_loss = False
        self._supervise(t)

    def _fire_fault(self, fault: TimedFault, t: float) -> None:
        if isinstance(fault, LeadOpen):
            self.leads.open(fault.contact_index)
            self._supervise(t)
        elif isinstance(fault, LeadShort):
            self.leads.short(fault.contact_index)
            self._supervise(t)
        elif isinstance(fault, LeadRepair):
            self.leads.repair(fault.contact_index)
        elif isinstance(fault, BatteryLevel):
            self.battery.set_percent(fault.percent)
            self._check_battery(t)
        elif isinstance(fault, Stall):
            end = t + fault.duration_s
            self._stall_until_s = end if self._stall_until_s is None else max(end, self._stall_until_s)
        elif isinstance(fault, Reboot):
            self._flush_events()
            self._power_off(t)
            self._power_on(t)
        elif isinstance(fault, HardwareFault):
            self._raise(FaultCode.HARDWARE, NO_INDEX, fault.code)
            self._enter_fault(t, StateCause.FAULT)

    # --- frames in, bytes out --------------------------------------------------------------------

    def _remember(self, data: bytes) -> None:
        """Keep the bytes an invalid frame may point back into (to name a bad contact's index)."""
        self._history += data
        excess = len(self._history) - len(data) - MAX_FRAME
        if excess > 0:
            del self._history[:excess]
            self._history_base += excess

    def _forget_history(self, size: int) -> None:
        """``size`` bytes were one whole valid frame and the decoder holds nothing after them: no
        invalid frame can point back into them or anything before, so none of it is kept (the
        usual read: a status poll, a heartbeat)."""
        self._history_base += len(self._history) + size
        self._history.clear()

    def _prepare(self, item: Frame | InvalidFrame) -> Frame | bytes:
        """A valid command frame, or the bytes answering anything else (P 8.3)."""
        if isinstance(item, Frame):
            if self._implements(item.message.TYPE):
                return item
            return self._nak_bytes(item.seq, item.message.TYPE, Refusal(NakReason.UNKNOWN_COMMAND))
        reason = item.nak_reason
        if reason is None or item.seq is None or item.msg_type is None:
            return b""  # the header could not be trusted: say nothing
        if not self._implements(item.msg_type) and reason != NakReason.BAD_CRC:
            return self._nak_bytes(item.seq, item.msg_type, Refusal(NakReason.UNKNOWN_COMMAND))
        if reason == NakReason.OUT_OF_RANGE:
            index = self._bad_polarity_index(item) if item.param == Param.CONTACT_POLARITY else NO_INDEX
            limit = self.model.contact_count if item.param == Param.CONTACT_COUNT else 0
            return self._nak_bytes(item.seq, item.msg_type, out_of_range(item.param, limit, index))
        return self._nak_bytes(item.seq, item.msg_type, Refusal(reason))

    def _implements(self, msg_type: int) -> bool:
        """A command this model answers; the optional GET_COUNTERS only with its capability (P 7.16)."""
        if msg_type == MessageType.GET_COUNTERS:
            return self.model.counters
        return is_command(msg_type)

    def _bad_polarity_index(self, item: InvalidFrame) -> int:
        """Which contact of a SET_PROGRAM the decoder refused holds an undefined polarity (P 8.3:
        the NAK names it). The payload is read again with the wire definition, whose polarity field
        is a plain byte, since the decoder gives no message for an invalid frame."""
        start = item.offset - self._history_base
        if start < 0 or item.msg_type is None:
            return NO_INDEX
        frame = bytes(self._history[start : start + MAX_FRAME])
        payload = frame[HEADER_SIZE : HEADER_SIZE + frame[len(SYNC)]]  # the length byte follows the sync
        try:
            fields = wire.PAYLOADS[MessageType(item.msg_type)].parse(payload)
        except (ValueError, ConstructError):
            return NO_INDEX
        known = {int(p) for p in Polarity}
        return next((i for i, c in enumerate(fields.contacts) if c.polarity not in known), NO_INDEX)

    def _handle(self, prepared: Frame | bytes) -> None:
        if isinstance(prepared, bytes):
            self._out += prepared
        else:
            self._execute(prepared)

    def _execute(self, frame: Frame) -> None:
        t = self._clock_s
        msg, seq = frame.message, frame.seq
        self._last_command_s = t  # any valid command frame restarts the watchdog (P 11)
        self._seq = seq
        reply: _Reply = self._gate(msg)
        aborted: int | None = None
        if reply is None:
            if isinstance(msg, m.Stop) and self._measuring is not None:
                aborted = self._measuring[1]
                self._measuring = None
            reply = self._dispatch(msg)
        if reply is not None:
            self._out += self._reply_bytes(seq, msg.TYPE, reply)
        if aborted is not None:
            self._out += self._nak_bytes(aborted, MessageType.MEASURE_IMPEDANCE, Refusal(NakReason.BUSY))
        self._flush_events()

    def _gate(self, msg: m.Message) -> Refusal | None:
        """Injected NAKs, then a running measurement, then the handshake (P 8.4, P 9)."""
        for i, nak in enumerate(self._naks):
            wanted = nak.command
            if wanted == msg.TYPE or (wanted is None and msg.TYPE != MessageType.STOP):
                del self._naks[i]
                return Refusal(nak.reason, nak.param, nak.index, nak.limit)
        if self._measuring is not None and msg.TYPE in _BUSY_WHILE_MEASURING:
            return Refusal(NakReason.BUSY)
        if not self._hello_done and msg.TYPE not in _BEFORE_HELLO:
            return Refusal(NakReason.NOT_PERMITTED)
        return None

    def _dispatch(self, msg: m.Message) -> _Reply:
        return self._handlers[msg.TYPE](msg)

    def _reply_bytes(self, seq: int, command: int, reply: m.Message | Refusal) -> bytes:
        if isinstance(reply, Refusal):
            return self._nak_bytes(seq, command, reply)
        return self._encode(reply, seq)

    def _nak_bytes(self, seq: int, command: int, refusal: Refusal) -> bytes:
        nak = m.Nak(command, refusal.reason, refusal.param, refusal.index, refusal.limit)
        self._naks_sent += 1
        if refusal.reason == NakReason.BAD_CRC:
            self._bad_crc_naks += 1
        return self._encode(nak, seq)

    def _encode(self, message: m.Message, seq: int) -> bytes:
        self._frames_sent += 1
        return self._codec_encode(message, seq)

    def _event(self, event: m.Message) -> None:
        self._events.append(event)

    def _flush_events(self) -> None:
        for event in self._events:
            self._out += self._encode(event, self._event_seq)
            self._event_seq = (self._event_seq + 1) & 0xFF
        self._events.clear()

    def _flush(self) -> bytes:
        self._flush_events()
        if self._stalled():
            return b""
        out = bytes(self._out)
        self._out.clear()
        return out

    def _log(self, code: EventCode, detail: int = 0) -> None:
        device_time_s = int(self.storage.operating_s + self._clock_s - self._power_on_s)
        self.storage.log.append(device_time_s, code, detail)

    # --- stall -----------------------------------------------------------------------------------

    def _stalled(self) -> bool:
        return self._stall_until_s is not None

    def _end_stall(self) -> None:
        self._stall_until_s = None
        queued, self._queued = self._queued, []
        stop_at = next(
            (i for i, q in enumerate(queued) if isinstance(q, Frame) and isinstance(q.message, m.Stop)),
            None,
        )
        if stop_at is not None:
            self._handle(queued[stop_at])
            for q in queued[:stop_at]:
                if isinstance(q, Frame):
                    self._last_command_s = self._clock_s
                    self._out += self._nak_bytes(q.seq, q.message.TYPE, Refusal(NakReason.BUSY))
                else:
                    self._out += q
            queued = queued[stop_at + 1 :]
        for q in queued:
            self._handle(q)

    # --- command handlers (P 10.3) ---------------------------------------------------------------

    def _on_hello(self, msg: m.Hello) -> _Reply:
        device_min, device_max = self.model.protocol_versions
        agreed = min(msg.max_version, device_max)
        if msg.min_version > msg.max_version or agreed < max(msg.min_version, device_min):
            return Refusal(NakReason.UNSUPPORTED_VERSION, Param.PROTOCOL_VERSION, NO_INDEX, device_max)
        self._hello_done = True
        major, minor, patch = self.model.firmware_version
        return m.Identify(
            model_id=self.model.model_id,
            hardware_revision=self.model.hardware_revision,
            firmware_major=major,
            firmware_minor=minor,
            firmware_patch=patch,
            serial_number=self.serial_number,
            protocol_version=agreed,
            contact_count=self.model.contact_count,
            program_slots=self.model.program_slots,
            capabilities=self.model.capabilities,
        )

    def _on_get_status(self, msg: m.GetStatus) -> _Reply:
        flags = 0  # int bits, then the StatusFlags they make: Flag arithmetic is slow on this hot path
        if self._tentative_ua is not None:
            flags |= _TENTATIVE_BIT
        if self._watchdog_ms:
            flags |= _SESSION_OPEN_BIT
            if self._stop_on_loss:
                flags |= _STOP_ON_LINK_LOSS_BIT
        if self._impedance_fresh:
            flags |= _IMPEDANCE_FRESH_BIT
        selected = self.storage.selected_slot
        return m.Status(
            state=self._state,
            active_slot=NO_SLOT if selected is None else selected,
            amplitude_ua=self._output_ua,
            setpoint_ua=self._setpoint_ua(),
            battery_pct=self.battery.percent,
            battery_mv=self.battery.mv,
            fault_flags=self._fault_flags,
            status_flags=_STATUS_FLAGS[flags],
            uptime_s=min(int(self._clock_s - self._power_on_s), _U32),
        )

    def _on_heartbeat(self, msg: m.Heartbeat) -> _Reply:
        timeout = msg.watchdog_timeout_ms
        if 0 < timeout < WATCHDOG_MIN_MS:
            return out_of_range(Param.WATCHDOG_TIMEOUT, WATCHDOG_MIN_MS)
        if timeout > WATCHDOG_MAX_MS:
            return out_of_range(Param.WATCHDOG_TIMEOUT, WATCHDOG_MAX_MS)
        flags = int(msg.flags)  # int bits: Flag arithmetic is slow, and a heartbeat comes often
        if flags & ~_STOP_ON_LOSS_BIT:
            return out_of_range(Param.FLAGS, 0)
        self._watchdog_ms = timeout
        self._stop_on_loss = bool(timeout and flags & _STOP_ON_LOSS_BIT)
        if timeout and int(self._fault_flags) & _WATCHDOG_EXPIRY_BIT:
            self._fault_flags &= ~FaultFlags.WATCHDOG_EXPIRY
        return m.HeartbeatAck()

    def _slot_refusal(self, slot: int) -> Refusal | None:
        if slot >= self.model.program_slots:
            return out_of_range(Param.SLOT, self.model.program_slots - 1)
        return None

    def _on_set_program(self, msg: m.SetProgram) -> _Reply:
        p = msg.program
        refusal = self._slot_refusal(p.slot)
        if refusal:
            return refusal
        if p.slot == self._run_slot and self._state in OUTPUT_STATES:
            return Refusal(NakReason.WRONG_STATE)
        refusal = check_program(self.model, p, self._measured_ohm)
        if refusal:
            return refusal
        self.storage.programs[p.slot] = p
        self._log(EventCode.PROGRAM_WRITTEN, p.slot)
        return m.SetProgramAck()

    def _on_read_program(self, msg: m.ReadProgram) -> _Reply:
        refusal = self._slot_refusal(msg.slot)
        if refusal:
            return refusal
        program = self.storage.programs.get(msg.slot)
        if program is None:
            return Refusal(NakReason.EMPTY_SLOT, Param.SLOT)
        return m.ProgramData(program)

    def _on_select_program(self, msg: m.SelectProgram) -> _Reply:
        if self._state in OUTPUT_STATES:
            return Refusal(NakReason.WRONG_STATE)
        refusal = self._slot_refusal(msg.slot)
        if refusal:
            return refusal
        if msg.slot not in self.storage.programs:
            return Refusal(NakReason.EMPTY_SLOT, Param.SLOT)
        self.storage.selected_slot = msg.slot
        self._log(EventCode.PROGRAM_SELECTED, msg.slot)
        if self._state == State.FAULT:
            self._leave_fault_if_clear()
        else:
            self._change_state(State.PROGRAMMED, StateCause.COMMAND)
        return m.SelectProgramAck()

    def _on_start(self, msg: m.Start) -> _Reply:
        slot = msg.slot
        if slot != NO_SLOT and (refusal := self._slot_refusal(slot)):
            return refusal
        if self._fault_flags & FaultFlags.END_OF_SERVICE:
            return Refusal(NakReason.NOT_PERMITTED)
        if self._state in OUTPUT_STATES or self._state == State.FAULT:
            return Refusal(NakReason.WRONG_STATE)
        if self._state == State.IDLE and slot == NO_SLOT:
            return Refusal(NakReason.WRONG_STATE, Param.SLOT)
        target = self.storage.selected_slot if slot == NO_SLOT else slot
        if target is None or target not in self.storage.programs:
            return Refusal(NakReason.EMPTY_SLOT, Param.SLOT)
        if self.model.requires_fresh_impedance and not self._impedance_fresh:
            return Refusal(NakReason.NOT_PERMITTED)
        if slot != NO_SLOT:
            self.storage.selected_slot = slot
            self._log(EventCode.PROGRAM_SELECTED, slot)
        self._run_slot = target
        counters = self.storage.counters
        counters.start_count = min(counters.start_count + 1, _U32)
        self._log(EventCode.STIMULATION_STARTED, target)
        self._begin_on_period(self._clock_s, StateCause.COMMAND)
        return m.StartAck()

    def _on_stop(self, msg: m.Stop) -> _Reply:
        t = self._clock_s
        if self._state in OUTPUT_STATES:
            self._stop_output(t, StateCause.COMMAND, State.PROGRAMMED)
        elif self._state == State.FAULT:
            self._leave_fault_if_clear()
        return m.StopAck()

    def _on_set_amplitude(self, msg: m.SetAmplitude) -> _Reply:
        flags = int(msg.flags)  # int bits: Flag arithmetic is slow (``msg.commit`` is this bit)
        if flags & ~_COMMIT_BIT:
            return out_of_range(Param.FLAGS, 0)
        commit = bool(flags & _COMMIT_BIT)
        if not commit and not self.model.tentative_amplitude:
            return Refusal(NakReason.NOT_PERMITTED)
        if self._state not in (State.STIMULATING, State.CYCLING_OFF):
            return Refusal(NakReason.WRONG_STATE)
        p = self._program()
        amplitude = msg.amplitude_ua
        refusal = check_live_amplitude(self.model, p, amplitude, self._setpoint_ua(), self._measured_ohm)
        if refusal:
            return refusal
        counters = self.storage.counters
        counters.amplitude_change_count = min(counters.amplitude_change_count + 1, _U32)
        if commit:
            assert self._run_slot is not None
            self.storage.programs[self._run_slot] = dataclasses.replace(p, amplitude_ua=amplitude)
            self._tentative_ua = None
            self._log(EventCode.AMPLITUDE_COMMITTED, amplitude)
        else:
            self._tentative_ua = amplitude
        if self._state == State.STIMULATING:
            self._set_output(self._clock_s, amplitude)
            self._supervise(self._clock_s)
        return m.SetAmplitudeAck()

    def _on_measure_impedance(self, msg: m.MeasureImpedance) -> _Reply:
        if not self.model.impedance:
            return Refusal(NakReason.NOT_PERMITTED)
        if self._state in OUTPUT_STATES:
            return Refusal(NakReason.WRONG_STATE)
        # Answered when the measurement ends (_finish_measurement), with this command's seq.
        self._measuring = (self._clock_s + self.model.impedance_measure_ms / 1000, self._seq)
        return None

    def _finish_measurement(self, t: float) -> None:
        assert self._measuring is not None
        seq = self._measuring[1]
        self._measuring = None
        readings = self.leads.measure(self.model.impedance_bands)
        bad = [(i, r) for i, r in enumerate(readings) if r.status in (ImpedanceStatus.OPEN, ImpedanceStatus.SHORT)]
        self._measured_ohm = [None if r.status == ImpedanceStatus.NOT_MEASURED else r.impedance_ohm for r in readings]
        self._log(EventCode.IMPEDANCE_MEASURED, len(bad))
        self._out += self._encode(m.Impedance(readings), seq)
        for i, r in enumerate(readings):
            if r.status in (ImpedanceStatus.HIGH, ImpedanceStatus.LOW):
                self._event(m.EventImpedanceWarning(i, r.impedance_ohm, r.status))
        if not bad:
            self._fault_flags &= ~(FaultFlags.LEAD_OPEN | FaultFlags.LEAD_SHORT)
            self._impedance_fresh = True
            return
        for i, r in bad:
            code = FaultCode.LEAD_OPEN if r.status == ImpedanceStatus.OPEN else FaultCode.LEAD_SHORT
            self._raise(code, i, r.impedance_ohm)
        self._enter_fault(t, StateCause.FAULT)

    def _on_get_usage(self, msg: m.GetUsage) -> _Reply:
        if not self.model.usage_log:
            return Refusal(NakReason.NOT_PERMITTED)
        if msg.max_events > MAX_USAGE_EVENTS:
            return out_of_range(Param.EVENT_INDEX, MAX_USAGE_EVENTS)
        total = len(self.storage.log)
        if msg.first_event > total:
            return out_of_range(Param.EVENT_INDEX, total)
        count = min(msg.max_events, total - msg.first_event)
        c = self.storage.counters
        return m.Usage(
            stimulation_s=min(int(c.stimulation_s), _U32),
            start_count=c.start_count,
            amplitude_change_count=c.amplitude_change_count,
            power_on_count=min(c.power_on_count, _U16),
            fault_count=c.fault_count,
            event_total=total,
            events=tuple(self.storage.log.entries(msg.first_event, count)),
        )

    def _on_get_counters(self, msg: m.GetCounters) -> _Reply:
        return self.counters


__all__ = ["Firmware"]

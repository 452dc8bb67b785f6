"""A test host for the firmware core: encodes requests, feeds them at a chosen time, decodes answers.

Time only moves when a test says so (``at``), so every test is deterministic and sleeps nowhere.
"""

from __future__ import annotations

from firmware_protocol import Decoder, Frame, InvalidFrame, encode
from firmware_protocol import messages as m
from firmware_protocol.constants import OUTPUT_STATES, Polarity, State
from firmware_protocol.messages import ContactSetting
from scsctl.emulator import Firmware, HardwareFault


class Host:
    def __init__(self, fw: Firmware, t: float = 0.0) -> None:
        self.fw = fw
        self.t = t
        self.seq = 0
        self.decoder = Decoder()
        self.frames: list[Frame] = []
        """Every frame the device sent, in order."""
        self.invalid: list[InvalidFrame] = []
        self._take(fw.poll(t))

    # --- sending ---------------------------------------------------------------------------------

    def send_raw(self, data: bytes) -> list[Frame]:
        """Feed bytes now; the frames the device answered with."""
        return self._take(self.fw.receive(data, self.t))

    def request(self, message: m.Message) -> m.Message | None:
        """Send one command with a new seq; its reply (None when it has not come yet)."""
        self.seq = (self.seq + 1) & 0xFF
        seq = self.seq
        frames = self.send_raw(encode(message, seq))
        replies = [f.message for f in frames if f.seq == seq and not _is_event(f)]
        assert len(replies) <= 1, replies
        return replies[0] if replies else None

    def ok(self, message: m.Message) -> m.Message:
        """Send a command that must succeed; its positive reply."""
        reply = self.request(message)
        assert reply is not None and not isinstance(reply, m.Nak), f"{message} -> {reply}"
        return reply

    def nak(self, message: m.Message) -> m.Nak:
        """Send a command that must be refused; its NAK."""
        reply = self.request(message)
        assert isinstance(reply, m.Nak), f"{message} -> {reply}"
        return reply

    # --- time ------------------------------------------------------------------------------------

    def at(self, t: float) -> list[Frame]:
        """Move the clock to ``t``; the frames the device sent meanwhile."""
        self.t = t
        return self._take(self.fw.poll(t))

    def after(self, dt: float) -> list[Frame]:
        return self.at(self.t + dt)

    def power_cycle(self) -> list[Frame]:
        """Switch the device off and on now; the frames it sent (its power-on event)."""
        return self._take(self.fw.power_cycle(self.t))

    # --- reading ---------------------------------------------------------------------------------

    def status(self) -> m.Status:
        reply = self.ok(m.GetStatus())
        assert isinstance(reply, m.Status)
        return reply

    def events(self, kind: type[m.Message] | None = None) -> list[m.Message]:
        return [f.message for f in self.frames if _is_event(f) and (kind is None or isinstance(f.message, kind))]

    def states(self) -> list[tuple[int, int, int]]:
        """(old, new, cause) of every EVENT_STATE so far."""
        return [(e.old_state, e.new_state, e.cause) for e in self.events(m.EventState)]  # type: ignore[attr-defined]

    def clear(self) -> None:
        self.frames.clear()

    def _take(self, data: bytes) -> list[Frame]:
        new: list[Frame] = []
        for item in self.decoder.feed(data):
            if isinstance(item, Frame):
                new.append(item)
            else:
                self.invalid.append(item)
        assert not self.invalid, self.invalid
        self.frames += new
        return new


def _is_event(frame: Frame) -> bool:
    return frame.message.TYPE >= 0xE0


def contacts(count: int, anodes: dict[int, int], cathodes: dict[int, int]) -> tuple[ContactSetting, ...]:
    """A contact array from {index: share_pct} maps."""
    out = []
    for i in range(count):
        if i in anodes:
            out.append(ContactSetting(Polarity.ANODE, anodes[i]))
        elif i in cathodes:
            out.append(ContactSetting(Polarity.CATHODE, cathodes[i]))
        else:
            out.append(ContactSetting())
    return tuple(out)


def program(slot: int = 0, contact_count: int = 16, **fields: object) -> m.Program:
    """A valid bipolar program (contact 1 anode, contact 2 cathode); ``fields`` override."""
    values: dict[str, object] = {
        "slot": slot,
        "amplitude_ua": 3000,
        "pulse_width_us": 300,
        "rate_dhz": 500,
        "contacts": contacts(contact_count, {0: 100}, {1: 100}),
        "patient_max_ua": 6000,
    }
    values.update(fields)
    return m.Program(**values)  # type: ignore[arg-type]


def ready(fw: Firmware | None = None, t: float = 0.0) -> Host:
    """A host that has said HELLO to ``fw`` (a fresh default-model firmware if None)."""
    host = Host(fw if fw is not None else Firmware(now_s=t), t)
    host.ok(m.Hello())
    return host


def enter(state: State, fw: Firmware | None = None) -> Host:
    """A host whose device is in ``state`` with program slot 0 stored (slot 1 stored as well).

    Output states run slot 0 (3 mA): RAMPING_UP mid-ramp, RAMPING_DOWN and CYCLING_OFF inside a
    cycle. FAULT is held by a hardware fault (it never clears).
    """
    host = ready(fw)
    slow_ramp = {"ramp_up_ms": 5000}
    cycle = {"ramp_up_ms": 0, "cycle_on_s": 1, "cycle_off_s": 10, "ramp_down_ms": 2000}
    settings: dict[State, dict[str, int]] = {
        State.RAMPING_UP: slow_ramp,
        State.RAMPING_DOWN: cycle,
        State.CYCLING_OFF: {**cycle, "ramp_down_ms": 0},
    }
    host.ok(m.SetProgram(program(0, **settings.get(state, {}))))
    host.ok(m.SetProgram(program(1)))
    if state == State.PROGRAMMED:
        host.ok(m.SelectProgram(0))
    elif state in OUTPUT_STATES:
        host.ok(m.Start(0))
        host.after(0.5 if state in (State.RAMPING_UP, State.STIMULATING) else 1.5)
    elif state == State.FAULT:
        host.fw.inject(HardwareFault(3))
        host.after(0.0)
    assert host.fw.state == state
    return host

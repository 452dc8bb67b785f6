"""Hypothesis strategies for every protocol message, drawn from the wire widths of each field."""

from __future__ import annotations

from dataclasses import fields
from enum import IntEnum, IntFlag
from typing import Any

from hypothesis import strategies as st

from firmware_protocol import messages as m
from firmware_protocol.codec import _LAYOUTS
from firmware_protocol.constants import MAX_CONTACTS, MAX_USAGE_EVENTS, Polarity

_WIDTH = {"B": 0xFF, "H": 0xFFFF, "I": 0xFFFFFFFF, "L": 0xFFFFFFFF}


def _widths(msg_type: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for seg in _LAYOUTS[msg_type].segments:
        names = getattr(seg, "names", None)
        if names is not None:
            fmt = seg.codec.format.lstrip("<")
            chars = [c for c in fmt if not c.isdigit()]
            for name, ch in zip(names, chars, strict=True):
                out[name] = _WIDTH.get(ch, 0)
    return out


def _scalar(name: str, annotation: Any, width: int, enum_for: dict[str, Any]) -> st.SearchStrategy[Any]:
    enum = enum_for.get(name)
    if enum is not None and issubclass(enum, IntFlag):
        return st.integers(0, width).map(enum)
    if enum is not None and issubclass(enum, IntEnum):
        return st.sampled_from(list(enum))
    if name == "serial_number":
        return st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=16)
    return st.integers(0, width)


contact_settings = st.builds(m.ContactSetting, st.sampled_from(list(Polarity)), st.integers(0, 255))

programs = st.builds(
    m.Program,
    slot=st.integers(0, 255),
    amplitude_ua=st.integers(0, 0xFFFF),
    pulse_width_us=st.integers(0, 0xFFFF),
    rate_dhz=st.integers(0, 0xFFFFFFFF),
    contacts=st.lists(contact_settings, max_size=MAX_CONTACTS).map(tuple),
    waveform=st.sampled_from(list(m.Waveform)),
    burst_pulses=st.integers(0, 255),
    intra_burst_rate_dhz=st.integers(0, 0xFFFFFFFF),
    recharge=st.sampled_from(list(m.Recharge)),
    cycle_on_s=st.integers(0, 0xFFFF),
    cycle_off_s=st.integers(0, 0xFFFF),
    ramp_up_ms=st.integers(0, 0xFFFF),
    ramp_down_ms=st.integers(0, 0xFFFF),
    patient_max_ua=st.integers(0, 0xFFFF),
)


def message_strategy(cls: type[m.Message]) -> st.SearchStrategy[m.Message]:
    from firmware_protocol.messages import ENUM_FIELDS, FLAG_FIELDS, MESSAGE_FLAGS

    enum_for: dict[str, Any] = {k: v[0] for k, v in ENUM_FIELDS.items()} | dict(FLAG_FIELDS)
    if cls.TYPE in MESSAGE_FLAGS:
        enum_for["flags"] = MESSAGE_FLAGS[cls.TYPE]
    widths = _widths(cls.TYPE)
    kwargs: dict[str, st.SearchStrategy[Any]] = {}
    for f in fields(cls):  # type: ignore[arg-type]
        if f.name == "program":
            kwargs[f.name] = programs
        elif f.name == "contacts":
            kwargs[f.name] = st.lists(
                st.builds(m.ImpedanceReading, st.integers(0, 0xFFFF), st.sampled_from(list(m.ImpedanceStatus))),
                max_size=MAX_CONTACTS,
            ).map(tuple)
        elif f.name == "events":
            kwargs[f.name] = st.lists(
                st.builds(
                    m.UsageEvent, st.integers(0, 0xFFFFFFFF), st.sampled_from(list(m.EventCode)), st.integers(0, 0xFFFF)
                ),
                max_size=MAX_USAGE_EVENTS,
            ).map(tuple)
        else:
            kwargs[f.name] = _scalar(f.name, f.type, widths[f.name], enum_for)
    return st.builds(cls, **kwargs)


any_message = st.one_of([message_strategy(cls) for cls in m.MESSAGE_CLASSES.values()])
frames = st.tuples(any_message, st.integers(0, 255))

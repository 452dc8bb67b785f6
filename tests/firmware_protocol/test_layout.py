"""The fast layouts compiled from wire.py give exactly what Construct itself gives."""

from __future__ import annotations

from hypothesis import given, settings

from firmware_protocol import messages as m
from firmware_protocol import wire
from firmware_protocol.codec import _LAYOUTS, encode_payload

from .strategies import any_message


def _plain(value: object) -> object:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


@given(any_message)
@settings(max_examples=2000)
def test_layout_and_construct_agree_on_bytes_and_values(message: m.Message) -> None:
    definition = wire.PAYLOADS[message.TYPE]
    fields = m.to_fields(message)
    built = encode_payload(message)
    assert built == definition.build(fields)
    parsed = _plain(dict(definition.parse(built)))
    assert parsed == fields
    unpacked = _LAYOUTS[message.TYPE].unpack(built)
    assert len(unpacked) == len(_LAYOUTS[message.TYPE].names)


def test_every_message_type_has_a_layout_and_a_class() -> None:
    assert set(wire.PAYLOADS) == set(m.MESSAGE_CLASSES) == set(_LAYOUTS)
    for command, reply in m.RESPONSE_TYPES.items():
        assert reply == command | 0x80

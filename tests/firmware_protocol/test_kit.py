"""The kit's Python side: value vectors, and the model the generated files come from."""

from __future__ import annotations

from hypothesis import given, settings

from firmware_protocol import messages as m
from firmware_protocol.constants import MAX_FRAME, MessageType
from firmware_protocol.kit.model import model
from firmware_protocol.kit.values import from_values, to_values, values_from_fields

from .strategies import any_message


@given(any_message)
@settings(max_examples=1000)
def test_a_message_survives_its_value_vector(message: m.Message) -> None:
    values = to_values(message)
    assert all(isinstance(v, int) and 0 <= v <= 0xFFFFFFFF for v in values)
    assert from_values(message.TYPE, values) == message
    assert values_from_fields(model(), message.TYPE.name, m.to_fields(message)) == values
    assert len(values) <= model().max_values


def test_the_model_covers_every_message_and_its_sizes() -> None:
    wm = model()
    assert {mm.type for mm in wm.messages} == set(MessageType)
    assert max(p.max_size for p in wm.payloads) + 8 <= MAX_FRAME
    program = wm.message(MessageType.SET_PROGRAM).payload
    assert (program.min_size, program.max_size) == (27, 91)  # PROTOCOL.md 7.4 and 13
    usage = wm.message(MessageType.USAGE).payload
    assert (usage.min_size, usage.max_size) == (19, 243)
    assert wm.message(MessageType.PROGRAM).payload is program

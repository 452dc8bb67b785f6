"""The codec against the hand-made golden vectors of ``firmware_protocol/vectors/vectors.json``.

The vectors were typed from PROTOCOL.md, not produced by this package, so a failure here means the
codec and the specification disagree (or the vector is wrong): find out which before changing
either. Every vector is fed whole and one byte at a time, then ``flush()`` ends the input.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import firmware_protocol
from firmware_protocol import Decoded, Decoder, Frame, InvalidFrame, MessageType, encode
from firmware_protocol.crc import crc16
from firmware_protocol.messages import to_fields

VECTORS_FILE = Path(firmware_protocol.__file__).parent / "vectors" / "vectors.json"
DOCUMENT: dict[str, Any] = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))
VECTORS: list[dict[str, Any]] = DOCUMENT["vectors"]

# A receiver cannot tell a frame cut short from a corrupted one once later bytes complete its
# claimed length (PROTOCOL.md, 'Receiver rules'); only at the end of input is it 'truncated'.
ACCEPTED_REASONS = {"truncated": {"truncated", "bad_crc"}}


def vectors(expect: str) -> list[Any]:
    return [pytest.param(v, id=v["name"]) for v in VECTORS if v["expect"] == expect]


def decode(data: bytes, *, bytewise: bool) -> tuple[list[Decoded], Decoder]:
    decoder = Decoder()
    items: list[Decoded] = []
    if bytewise:
        for byte in data:
            items += decoder.feed(bytes((byte,)))
    else:
        items += decoder.feed(data)
    items += decoder.flush()
    return items, decoder


def summary(item: Frame) -> dict[str, Any]:
    return {"seq": item.seq, "type": item.message.TYPE.name, "fields": to_fields(item.message)}


FEEDS = pytest.mark.parametrize("bytewise", [False, True], ids=["whole", "bytewise"])


def test_crc_check_value() -> None:
    assert crc16(b"123456789") == 0x29B1


def test_every_message_type_has_a_valid_vector() -> None:
    covered = {v["type"] for v in VECTORS if v["expect"] == "frame"}
    assert covered == {t.name for t in MessageType}


def test_vector_names_are_unique() -> None:
    names = [v["name"] for v in VECTORS]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("vector", [pytest.param(v, id=v["name"]) for v in VECTORS])
def test_bytewise_feed_gives_the_same_items(vector: dict[str, Any]) -> None:
    data = bytes.fromhex(vector["hex"])
    assert decode(data, bytewise=True)[0] == decode(data, bytewise=False)[0]


@FEEDS
@pytest.mark.parametrize("vector", vectors("frame"))
def test_frame_vector_decodes(vector: dict[str, Any], bytewise: bool) -> None:
    items, decoder = decode(bytes.fromhex(vector["hex"]), bytewise=bytewise)
    assert len(items) == 1, items
    assert isinstance(items[0], Frame), items[0]
    assert summary(items[0]) == {k: vector[k] for k in ("seq", "type", "fields")}
    assert decoder.invalid_frames == 0


@pytest.mark.parametrize("vector", vectors("frame"))
def test_frame_vector_encodes_to_the_same_bytes(vector: dict[str, Any]) -> None:
    (item,) = decode(bytes.fromhex(vector["hex"]), bytewise=False)[0]
    assert isinstance(item, Frame)
    assert encode(item.message, item.seq).hex() == vector["hex"]


@FEEDS
@pytest.mark.parametrize("vector", vectors("frames"))
def test_frames_vector_decodes_every_frame(vector: dict[str, Any], bytewise: bool) -> None:
    data = bytes.fromhex(vector["hex"])
    items, decoder = decode(data, bytewise=bytewise)
    assert all(isinstance(i, Frame) for i in items), items
    assert [summary(i) for i in items if isinstance(i, Frame)] == vector["frames"]
    assert decoder.invalid_frames == 0
    encoded = b"".join(encode(i.message, i.seq) for i in items if isinstance(i, Frame))
    assert data.endswith(encoded)


@FEEDS
@pytest.mark.parametrize("vector", vectors("invalid"))
def test_invalid_vector_is_rejected(vector: dict[str, Any], bytewise: bool) -> None:
    data = bytes.fromhex(vector["hex"])
    items, decoder = decode(data, bytewise=bytewise)
    assert items, "nothing reported"
    first = items[0]
    assert isinstance(first, InvalidFrame), f"the bad part decoded as {first}"
    assert first.reason.value in ACCEPTED_REASONS.get(vector["reason"], {vector["reason"]})
    assert decoder.invalid_frames >= 1
    expected_after = [{"seq": f["seq"], "type": f["type"]} for f in vector.get("frames_after", [])]
    found = [{"seq": i.seq, "type": i.message.TYPE.name} for i in items if isinstance(i, Frame)]
    assert found == expected_after


@pytest.mark.parametrize(
    "vector",
    [p for p in vectors("invalid") if p.values[0]["reason"] in {"unknown_type", "bad_length", "bad_value"}],
)
def test_invalid_frame_with_good_crc_names_its_header(vector: dict[str, Any]) -> None:
    data = bytes.fromhex(vector["hex"])
    first = decode(data, bytewise=False)[0][0]
    assert isinstance(first, InvalidFrame)
    assert (first.msg_type, first.seq, first.offset) == (data[4], data[5], 0)
    if "field" in vector:
        assert first.field == vector["field"]


def test_a_serial_number_with_a_control_byte_has_a_vector() -> None:
    serial_vectors = [v for v in VECTORS if v.get("field") == "serial_number"]
    assert any("1b" in v["hex"] for v in serial_vectors), "ESC in a serial number must be a bad_value vector"

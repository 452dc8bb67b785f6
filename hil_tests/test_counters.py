"""The device's receiver counters (GET_COUNTERS, optional): a bad line shows up as counts the host can read."""

from __future__ import annotations

import pytest

from firmware_protocol import messages as m
from firmware_protocol.constants import Capability, MessageType, NakReason
from scsctl.pytest_plugin import RawSender

NOISE = bytes(1000)
"""A line held low for a kilobyte: no sync pattern in it, so every byte is noise to the receiver."""


def _identify(raw: RawSender) -> m.Identify:
    return raw.identify if raw.identify is not None else raw.hello()


def _counters(raw: RawSender) -> m.Counters:
    reply = raw.request(m.GetCounters())
    assert isinstance(reply, m.Counters), f"GET_COUNTERS was answered {reply}"
    return reply


@pytest.mark.scs_requirement("PRO-007")
def test_the_counters_capability_tells_the_truth(scs_raw: RawSender) -> None:
    advertised = Capability.COUNTERS in _identify(scs_raw).capabilities
    reply = scs_raw.request(m.GetCounters())
    if advertised:
        assert isinstance(reply, m.Counters), f"COUNTERS is advertised but GET_COUNTERS was answered {reply}"
    else:
        assert isinstance(reply, m.Nak), f"COUNTERS is not advertised but GET_COUNTERS was answered {reply}"
        assert (reply.reason, reply.command) == (NakReason.UNKNOWN_COMMAND, MessageType.GET_COUNTERS)


@pytest.mark.scs_requirement("PRO-007")
def test_line_noise_and_a_damaged_frame_show_in_the_counters(scs_raw: RawSender) -> None:
    if Capability.COUNTERS not in _identify(scs_raw).capabilities:
        pytest.skip("the device does not advertise the COUNTERS capability (GET_COUNTERS is optional)")
    before = _counters(scs_raw)
    assert scs_raw.send(NOISE, seq=None, timeout_s=0.2) is None
    seq, frame = scs_raw.frame(m.GetStatus())
    damaged = frame[:-1] + bytes([frame[-1] ^ 0x01])
    nak = scs_raw.send(damaged, seq=seq)
    assert isinstance(nak, m.Nak) and nak.reason is NakReason.BAD_CRC, nak
    after = _counters(scs_raw)
    grew = {
        name: getattr(after, name) - getattr(before, name)
        for name in ("frames_received", "invalid_frames", "discarded_bytes", "naks_sent", "bad_crc_naks")
    }
    # The receiver skips the damaged frame's bytes after its first one as noise too (PROTOCOL.md 4, step 6).
    assert grew == {"frames_received": 1, "invalid_frames": 1, "discarded_bytes": len(NOISE) + len(damaged) - 1,
                    "naks_sent": 1, "bad_crc_naks": 1}  # fmt: skip
    assert after.frames_sent - before.frames_sent >= 2  # the first COUNTERS and the NAK (and any event)

"""CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, no final xor; check 0x29B1."""

from __future__ import annotations

import binascii

CRC_INIT = 0xFFFF


def crc16(data: bytes | bytearray | memoryview) -> int:
    # binascii.crc_hqx is exactly this CRC (XMODEM polynomial, caller-chosen init) and runs in C.
    return binascii.crc_hqx(data, CRC_INIT)

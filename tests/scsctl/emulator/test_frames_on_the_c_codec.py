"""The device's answers to every kind of frame (P 8.3, P 9) once more, with the firmware on the C codec.

The tests of ``test_frames_and_handshake`` run here again with each ``Firmware()`` they make speaking
through ``firmware_protocol/c`` (bad CRC, unknown types, wrong lengths, undefined enum values with
the contact index of a bad polarity, frames split across reads): the NAKs a device built on the C
kit sends are the ones the protocol asks for.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest

from scsctl.emulator import Firmware
from scsctl.emulator.c_codec import CCodec, build_library

from ...system_tools import require_program
from . import test_frames_and_handshake as on_python
from .test_frames_and_handshake import *  # noqa: F403 - the same tests, collected here again


@pytest.fixture(scope="module")
def c_codec(tmp_path_factory: pytest.TempPathFactory) -> CCodec:
    require_program("gcc")
    return CCodec(build_library(Path(tmp_path_factory.mktemp("c-codec"))))


@pytest.fixture(autouse=True)
def _firmware_on_the_c_codec(c_codec: CCodec, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(on_python, "Firmware", partial(Firmware, codec=c_codec))

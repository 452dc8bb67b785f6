"""The emulator on the C kit (``emu://?codec=c``): a device built on firmware_protocol/c speaks the protocol.

The C codec is reached through ctypes (``scsctl.emulator.c_codec``): it must decode exactly what the
Python decoder decodes, encode exactly the Python encoder's bytes, refuse what the Python encoder
refuses, and carry the whole conformance catalogue (hil_tests) when the emulated firmware runs on it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings

from firmware_protocol import Decoder, LocalProtocolError, encode
from firmware_protocol import messages as m
from firmware_protocol.constants import Polarity
from scsctl.emulator import c_codec
from scsctl.emulator.c_codec import CCodec, build_library
from scsctl.errors import UsageError
from scsctl.transports.emulated import EmulatedTransport

from ...firmware_protocol.strategies import any_message
from ...system_tools import require_program

ROOT = Path(__file__).resolve().parents[3]
VECTORS = json.loads((ROOT / "firmware_protocol" / "vectors" / "vectors.json").read_text(encoding="utf-8"))["vectors"]


@pytest.fixture(scope="module")
def codec(tmp_path_factory: pytest.TempPathFactory) -> CCodec:
    require_program("gcc")
    return CCodec(build_library(tmp_path_factory.mktemp("c-codec")))


def _decode(decoder: Any, data: bytes, bytewise: bool) -> list[Any]:
    items: list[Any] = []
    for chunk in [data[i : i + 1] for i in range(len(data))] if bytewise else [data]:
        items += decoder.feed(chunk)
    return items + decoder.flush()


@pytest.mark.parametrize("bytewise", [False, True], ids=["whole", "bytewise"])
@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_the_c_decoder_gives_the_python_decoders_items(codec: CCodec, vector: dict[str, Any], bytewise: bool) -> None:
    data = bytes.fromhex(vector["hex"])
    c, py = codec.decoder(), Decoder()
    assert _decode(c, data, bytewise) == _decode(py, data, bytewise)
    assert (c.frames, c.invalid_frames, c.discarded_bytes, c.buffered) == (
        py.frames, py.invalid_frames, py.discarded_bytes, py.buffered
    )  # fmt: skip


@given(message=any_message)
@settings(max_examples=400, deadline=None)
def test_the_c_encoder_makes_the_python_encoders_bytes(codec: CCodec, message: m.Message) -> None:
    assert codec.encode(message, 0x5A) == encode(message, 0x5A)


def _program(contacts: int) -> m.Program:
    return m.Program(
        slot=0,
        amplitude_ua=1000,
        pulse_width_us=300,
        rate_dhz=500,
        contacts=(m.ContactSetting(Polarity.ANODE, 100), m.ContactSetting(Polarity.CATHODE, 100))
        + (m.ContactSetting(),) * (contacts - 2),
    )


@pytest.mark.parametrize(
    "message",
    [
        pytest.param(m.SetProgram(_program(33)), id="33-contacts"),
        pytest.param(m.Identify(1, 1, 1, 0, 0, "SCS\x1b[2J", 1, 16, 8, m.Capability.TONIC), id="serial-with-escape"),
        pytest.param(m.Identify(1, 1, 1, 0, 0, "A" * 17, 1, 16, 8, m.Capability.TONIC), id="serial-too-long"),
        pytest.param(m.SetAmplitude(70_000), id="amplitude-beyond-u16"),
    ],
)
def test_the_c_encoder_refuses_what_the_python_encoder_refuses(codec: CCodec, message: m.Message) -> None:
    with pytest.raises(LocalProtocolError):
        encode(message, 1)
    with pytest.raises(LocalProtocolError):
        codec.encode(message, 1)


def test_emu_url_chooses_the_codec(codec: CCodec, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(c_codec, "load", lambda: codec)  # this test's build, not the user's cache
    assert EmulatedTransport("emu://").emulator.firmware.codec.name == "python"
    assert EmulatedTransport("emu://drg-4x4?codec=c").emulator.firmware.codec.name == "c"
    with pytest.raises(UsageError, match="codecs: python, c"):
        EmulatedTransport("emu://?codec=rust")


def test_the_conformance_catalogue_passes_with_the_emulator_on_the_c_codec(tmp_path: Path) -> None:
    """``pytest hil_tests --scs-port "emu://?codec=c"``, on two models, as a firmware team would run it."""
    require_program("gcc")
    record = tmp_path / "record.json"
    cache = tmp_path / "cache"
    ports = ["emu://?codec=c", "emu://drg-4x4?codec=c"]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", str(ROOT / "hil_tests"), "-q", "-p", "no:cacheprovider", "-n", "4",
         *(f"--scs-port={p}" for p in ports), f"--scs-record={record}", f"--scs-data-dir={tmp_path / 'audit'}"],
        cwd=ROOT,
        env={**os.environ, "SCSCTL_CACHE_DIR": str(cache)},
        capture_output=True,
        text=True,
        timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    result = json.loads(record.read_text(encoding="utf-8"))
    assert {t["port"] for t in result["targets"]} == set(ports)
    outcomes = {t["outcome"] for t in result["tests"]}
    assert outcomes <= {"passed", "skipped"}, outcomes
    assert result["summary"]["passed"] >= 60
    # The run built the C codec itself (into its own cache): the firmware spoke through it.
    assert list((cache / "c-codec").glob("libscs-*.so"))


def test_scsctl_emulator_serves_the_c_codec_on_a_pty(tmp_path: Path) -> None:
    """``scsctl emulator --pty --codec c``, and ``scsctl info`` from another process."""
    require_program("gcc")
    env = {**os.environ, "SCSCTL_CACHE_DIR": str(tmp_path / "cache")}
    cli = [sys.executable, "-m", "scsctl.cli.main"]
    proc = subprocess.Popen(
        [*cli, "emulator", "--pty", "--codec", "c"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("port: "), first
        port = first.removeprefix("port: ").strip()
        info = subprocess.run(
            [*cli, "info", "--port", port, "--json", "--data-dir", str(tmp_path / "audit")],
            capture_output=True, text=True, env=env, timeout=60,
        )  # fmt: skip
        assert info.returncode == 0, info.stderr
        assert json.loads(info.stdout)["serial"].startswith("EMU")
    finally:
        proc.terminate()
        _, errors = proc.communicate(timeout=10)
    assert "c codec" in errors


def test_one_c_codec_serves_emulators_on_several_threads(codec: CCodec) -> None:
    """Every emulator of a process shares the codec; ctypes runs the C code without the GIL."""
    from concurrent.futures import ThreadPoolExecutor

    messages = [m.SetAmplitude(a, m.AmplitudeFlags.COMMIT) for a in range(0, 4000, 7)]
    messages += [m.SetProgram(_program(n)) for n in range(2, 33)]

    def encode_all(seq: int) -> list[bytes]:
        return [codec.encode(msg, seq) for msg in messages * 5]

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(encode_all, range(8)))
    for seq, frames in enumerate(results):
        assert frames == [encode(msg, seq) for msg in messages * 5]

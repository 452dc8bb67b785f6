"""Every command on a slow serial line: the README's walk-through against ``scsctl emulator --baud``.

A 67-byte PROGRAM reply takes 280 ms at 2400 baud, longer than the link's base reply timeout: the
link adds the line time of its frames at the line's speed (``scsctl.link.timing``), which the host is
told with ``--baud`` or ``$SCSCTL_BAUD`` (a pseudo-terminal carries bytes at any speed).
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import scsctl
from firmware_protocol import messages as m
from firmware_protocol.codec import MAX_FRAME_SIZES
from firmware_protocol.constants import MessageType
from scsctl.cli.main import main
from scsctl.link.timing import LARGEST_DEVICE_FRAME, LARGEST_HOST_FRAME, line_time_s, reply_line_time_s
from scsctl.parsing import electrodes
from scsctl.transports.emulated import EmulatedTransport

README = Path(__file__).resolve().parents[3] / "README.md"


def walk_through() -> list[tuple[list[str], int]]:
    """The commands of the README's "Trying it on the emulator" block, each with the exit code its
    comment promises (3 where it says refused, else 0)."""
    text = README.read_text(encoding="utf-8")
    block = re.search(r"```sh\nexport SCSCTL_PORT=(.*?)```", text, re.DOTALL)
    assert block is not None, "the README's walk-through block"
    steps = []
    for line in block.group(1).splitlines():
        words = shlex.split(line, comments=True)
        if words[:1] == ["scsctl"]:
            steps.append((words[1:], 3 if "# refused" in line else 0))
    assert len(steps) >= 8
    return steps


@pytest.fixture
def slow_emulator(request: pytest.FixtureRequest) -> Iterator[tuple[str, int]]:
    baud: int = request.param
    proc = subprocess.Popen(
        [sys.executable, "-m", "scsctl", "emulator", "--pty", "--baud", str(baud)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert first.startswith("port: "), first
    yield first.removeprefix("port: ").strip(), baud
    proc.terminate()
    proc.wait(timeout=10)


@pytest.mark.parametrize("slow_emulator", [2400, 9600], indirect=True, ids=lambda b: f"{b}_baud")
def test_the_readme_walk_through_passes_on_a_slow_line(
    slow_emulator: tuple[str, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    port, baud = slow_emulator
    monkeypatch.setenv("SCSCTL_PORT", port)
    monkeypatch.setenv("SCSCTL_BAUD", str(baud))
    monkeypatch.setenv("SCSCTL_DATA_DIR", str(tmp_path))
    for argv, expected in walk_through():
        code = main(argv)
        err = capsys.readouterr().err
        assert code == expected, f"scsctl {shlex.join(argv)} exited {code}: {err}"
        assert "no reply to" not in err
    code = main(["status", "--json"])
    assert code == 0
    status = capsys.readouterr().out
    assert '"state": "programmed"' in status  # stopped at the end of the walk-through
    assert '"timeouts": 0' in status


def test_a_program_reads_back_in_one_attempt_at_2400_baud(tmp_path: Path) -> None:
    transport = EmulatedTransport("emu://?baud=2400")
    assert transport.baud == 2400
    with scsctl.connect("emu://?baud=2400", transport=transport, data_dir=tmp_path) as dev:
        program = m.Program(slot=3, amplitude_ua=0, pulse_width_us=300, rate_dhz=500,
                            contacts=electrodes("1+ 2-", dev.identity.contacts), patient_max_ua=4000)  # fmt: skip
        dev.write_program(program)
        assert dev.read_program(3) == program  # a 67-byte PROGRAM: 280 ms on the line
        assert (dev.link.stats.retries, dev.link.stats.timeouts) == (0, 0)


def test_the_wait_for_a_reply_follows_the_line_speed() -> None:
    # PROTOCOL.md 13: the largest frames the host and the device send (SET_PROGRAM/PROGRAM with 32
    # contacts: 8 + 91 bytes; USAGE with 32 entries: 8 + 243 bytes).
    assert (LARGEST_HOST_FRAME, LARGEST_DEVICE_FRAME) == (99, 251)
    assert MAX_FRAME_SIZES[MessageType.PROGRAM] == 99 and MAX_FRAME_SIZES[MessageType.STATUS] == 8 + 16
    assert line_time_s(240, 2400) == pytest.approx(1.0)  # 10 bits a byte
    assert line_time_s(240, None) == 0.0  # TCP, USB: the speed is not known, nothing is added
    # READ_PROGRAM (9 bytes) may be answered by a 99-byte PROGRAM, behind a frame of each kind ahead.
    assert reply_line_time_s(9, MessageType.READ_PROGRAM, 2400) == pytest.approx((9 + 99 + 99 + 251) / 240)
    assert reply_line_time_s(9, MessageType.READ_PROGRAM, 115_200) < 0.04


def test_baud_for_a_usb_device_is_refused_rather_than_ignored(capsys: pytest.CaptureFixture[str]) -> None:
    from scsctl.cli.main import main

    assert main(["status", "--port", "usb://1209:5101", "--baud", "9600"]) == 2
    err = capsys.readouterr().err
    assert "--baud 9600: usb://1209:5101 has no line speed to set" in err
    assert "leave --baud out" in err


def test_baud_for_a_usb_device_does_not_hold_back_stop(capsys: pytest.CaptureFixture[str]) -> None:
    from scsctl.cli.main import main

    # STOP is never refused for a usage detail: the option is ignored, with a warning, and STOP is
    # tried (no such device here: exit 5, the transport's error, not exit 2).
    assert main(["stop", "--port", "usb://1209:5101", "--baud", "9600"]) == 5
    err = capsys.readouterr().err
    assert "warning: --baud 9600: usb://1209:5101 has no line speed to set" in err and "ignored" in err


def test_baud_for_a_usb_device_is_refused_by_the_python_api_too(tmp_path: Path) -> None:
    from scsctl.errors import UsageError

    with pytest.raises(UsageError, match=r"baud=9600: usb://1209:5101 has no line speed to set"):
        scsctl.connect("usb://1209:5101", baud=9600, data_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []  # refused before anything: not even an audit log


def test_the_baud_environment_variable_is_left_aside_for_a_usb_device(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from scsctl.cli.main import main

    # $SCSCTL_BAUD is the speed of this user's serial ports: with a USB device it is not an error,
    # and the command goes on to the port (none here: exit 5, the transport's error).
    monkeypatch.setenv("SCSCTL_BAUD", "9600")
    assert main(["status", "--port", "usb://1209:5101"]) == 5
    assert "line speed" not in capsys.readouterr().err
    monkeypatch.setenv("SCSCTL_BAUD", "fast")
    assert main(["status", "--port", "usb://1209:5101"]) == 2  # still named when it is malformed
    assert "$SCSCTL_BAUD" in capsys.readouterr().err


def test_a_session_speed_is_left_aside_when_the_connect_screen_picks_a_usb_device(tmp_path: Path) -> None:
    from scsctl.controller import ConnectTarget
    from scsctl.errors import ScsError, UsageError

    # `scsctl tui --port /dev/ttyS0 --baud 9600`, then a USB device chosen on the connect screen:
    # the speed belongs to the serial ports, so the USB device is tried (none here), not refused.
    target = ConnectTarget("/dev/ttyS0", baud=9600, data_dir=tmp_path).with_url("usb://1209:5101")
    with pytest.raises(ScsError) as caught:
        target.open()
    assert not isinstance(caught.value, UsageError), caught.value

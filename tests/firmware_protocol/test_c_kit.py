"""The C kit (``firmware_protocol/c/``) built with gcc and checked against the Python definition.

What a firmware team relies on: the generated files are what ``wire.py`` gives today; the kit builds
without a single warning under strict flags; every golden vector passes, in a normal and in an
ASan/UBSan build; every number the header defines is the one Construct computes; and the C decoder
agrees with the Python decoder on a million fuzzed inputs.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from enum import IntEnum, IntFlag
from pathlib import Path
from typing import Any

import pytest
from construct import Const, SizeofError, Struct, Terminated

from firmware_protocol import InvalidReason, constants, wire
from firmware_protocol.kit import difffuzz
from firmware_protocol.kit.generate import ROOT, stale
from firmware_protocol.messages import ARRAY_LIMITS

from ..system_tools import require_program

KIT = ROOT / "c"
VECTORS = json.loads((ROOT / "vectors" / "vectors.json").read_text(encoding="utf-8"))["vectors"]
FUZZ_INPUTS = 1_000_000


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every program of the kit, built once by its Makefile with -Wall -Wextra -Werror -std=c99 -pedantic."""
    require_program("gcc")
    require_program("make")
    out = tmp_path_factory.mktemp("c-kit")
    done = subprocess.run(["make", "-C", str(KIT), f"BUILD={out}", "all"], capture_output=True, text=True)
    assert done.returncode == 0, f"the C kit does not build cleanly:\n{done.stdout}\n{done.stderr}"
    return out


def run(program: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(program), *args], capture_output=True, text=True, timeout=600)


def test_generated_files_are_what_the_definition_gives() -> None:
    old = [str(p.relative_to(ROOT.parent)) for p in stale()]
    assert not old, f"regenerate with `python -m firmware_protocol.kit`: {old}"


def test_the_kit_builds_without_a_warning_under_strict_flags(build: Path) -> None:
    makefile = (KIT / "Makefile").read_text(encoding="utf-8")
    for flag in ("-Wall", "-Wextra", "-Werror", "-std=c99", "-pedantic"):
        assert flag in makefile
    assert (build / "libscs.a").exists()


def test_the_library_needs_no_heap_and_no_other_library(build: Path) -> None:
    nm = subprocess.run(["nm", str(build / "libscs.a")], capture_output=True, text=True)
    assert nm.returncode == 0, nm.stderr  # binutils come with gcc
    symbols = [line.split() for line in nm.stdout.splitlines() if line.strip() and ":" not in line]
    defined = {s[-1] for s in symbols if len(s) == 3}
    undefined = {s[-1] for s in symbols if len(s) == 2 and s[0] == "U"} - defined
    # What a freestanding toolchain gives anyway; no malloc, no stdio, nothing else.
    assert undefined <= {"memcpy", "memmove", "memset"}, undefined


def test_every_golden_vector_passes_in_c(build: Path) -> None:
    done = run(build / "test_vectors")
    assert done.returncode == 0, done.stdout
    assert done.stdout.strip().endswith(f"{len(VECTORS)} vectors, {_checks(done.stdout)} checks, 0 failures")


def test_the_sanitizer_build_passes_the_vectors_and_a_million_inputs_cleanly(build: Path) -> None:
    vectors = run(build / "test_vectors_san")
    assert vectors.returncode == 0, vectors.stdout + vectors.stderr
    assert "runtime error" not in vectors.stderr and "AddressSanitizer" not in vectors.stderr
    fuzz = run(build / "fuzz_san", "--self-check", "--count", str(FUZZ_INPUTS))
    assert fuzz.returncode == 0, fuzz.stderr
    assert "runtime error" not in fuzz.stderr and "AddressSanitizer" not in fuzz.stderr
    assert f"{FUZZ_INPUTS} inputs" in fuzz.stderr
    assert "0 round-trip differences, 0 byte-by-byte differences" in fuzz.stderr


def _checks(stdout: str) -> str:
    found = re.search(r"(\d+) checks", stdout)
    assert found is not None, stdout
    return found.group(1)


# --- the probe: the compiled header's numbers against Construct's ------------------------------


def _upper(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).upper()


def _expected_numbers() -> dict[str, int]:
    """Computed here from wire.py and constants.py directly, not through the generator's model."""
    out = {"SCS_SYNC0": constants.SYNC[0], "SCS_SYNC1": constants.SYNC[1]}
    for name, value in vars(constants).items():
        if name.isupper() and type(value) is int:
            out[f"SCS_{name}"] = value
        if isinstance(value, type) and issubclass(value, IntEnum | IntFlag) and value.__module__ == constants.__name__:
            prefix = "TYPE" if value is constants.MessageType else _upper(name)
            for member in value.__members__.values():
                out[f"SCS_{prefix}_{member.name}"] = int(member)
    offset = 0
    for sub in wire.Header.subcons:
        if not isinstance(sub.subcon, Const):
            out[f"SCS_HEADER_OFF_{sub.name.upper()}"] = offset
        offset += sub.subcon.sizeof()
    for name, definition in vars(wire).items():
        if not isinstance(definition, Struct) or definition in (wire.Header, wire.Frame):
            continue
        prefix = f"SCS_{_upper(name)}"
        offset = 0
        for sub in definition.subcons:
            if sub is Terminated:
                continue
            try:
                size = sub.sizeof()
            except SizeofError:  # the u8-counted array that ends the payload
                entry = sub.subcon.subcons[1].subcon.subcon  # PrefixedArray -> Array -> the entry Struct
                out[f"{prefix}_COUNT_OFF"] = offset
                out[f"{prefix}_SIZE_MIN"] = offset + 1
                out[f"{prefix}_SIZE_MAX"] = offset + 1 + entry.sizeof() * ARRAY_LIMITS[sub.name][0]
                break
            out[f"{prefix}_OFF_{sub.name.upper()}"] = offset
            offset += size
        else:
            out[f"{prefix}_SIZE"] = offset
    return out


def _probe(build: Path) -> tuple[dict[str, int], list[list[int]], dict[str, int]]:
    done = run(build / "probe")
    assert done.returncode == 0, done.stderr
    numbers: dict[str, int] = {}
    types: list[list[int]] = []
    sizes: dict[str, int] = {}
    for line in done.stdout.splitlines():
        parts = line.split()
        if parts[0] == "type":
            types.append([int(x) for x in parts[1:]])
        elif parts[0].startswith("sizeof"):
            sizes[parts[0]] = int(parts[1])
        else:
            numbers[parts[0]] = int(parts[1])
    return numbers, types, sizes


def test_every_number_in_the_c_header_is_the_one_construct_gives(build: Path) -> None:
    numbers, _, _ = _probe(build)
    expected = _expected_numbers()
    # Every number the probe shows is checked (none left over), and every one expected is shown.
    assert {k: v for k, v in numbers.items() if k != "SCS_MAX_VALUES"} == expected


def test_type_ranges_in_c_are_the_python_ones(build: Path) -> None:
    _, types, _ = _probe(build)
    defined = {int(t) for t in constants.MessageType}
    expected = [
        [t, int(constants.is_command(t)), int(constants.is_reply(t)), int(constants.is_event(t)), int(t in defined)]
        for t in range(256)
    ]
    assert types == expected


def test_a_decoder_needs_under_300_bytes_of_ram(build: Path) -> None:
    _, _, sizes = _probe(build)
    assert constants.MAX_FRAME <= sizes["sizeof(scs_decoder)"] < 300
    assert sizes["sizeof(scs_item)"] < 320


# --- the differential fuzz ----------------------------------------------------------------------


def test_c_and_python_decoders_agree_on_a_million_fuzzed_inputs(
    build: Path, record_property: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    outcome = difffuzz.run(build / "fuzz", seed=1, count=FUZZ_INPUTS, jobs=2)
    figures = (
        f"{outcome.inputs} inputs, {outcome.input_bytes} bytes, {outcome.frames} valid and "
        f"{outcome.invalid_frames} invalid frames, {outcome.differences} differences; "
        f"{outcome.seconds:.1f} s (C alone {outcome.c_seconds:.1f} s)"
    )
    record_property("differential_fuzz", figures)
    with capsys.disabled():
        print(f"\ndifferential fuzz: {figures}")
    assert outcome.differences == 0, "\n".join(outcome.examples)
    assert outcome.inputs == FUZZ_INPUTS
    # The inputs reach every check the decoders make, and every message type decodes.
    assert set(outcome.reasons) == {r.value for r in InvalidReason}
    assert set(outcome.types) == {int(t) for t in constants.MessageType}
    assert {"serial_number", "polarity", "contacts", "events", "status", "code", "state"} <= set(outcome.bad_fields)


def test_make_test_is_the_command_the_readme_gives(tmp_path: Path) -> None:
    """``make -C firmware_protocol/c test``: vectors, sanitizers and the differential fuzz, here on fewer inputs."""
    require_program("gcc")
    require_program("make")
    options = [f"BUILD={tmp_path}", f"PYTHON={sys.executable}", "FUZZ_COUNT=20000", "SELF_CHECK_COUNT=20000"]
    done = subprocess.run(
        ["make", "-C", str(KIT), *options, "test"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 failures" in done.stdout
    assert "differential fuzz: 20000 inputs" in done.stdout
    assert "; 0 differences;" in done.stdout

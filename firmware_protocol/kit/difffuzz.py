"""Differential fuzz: the C decoder (``c/test/fuzz.c``) against the Python decoder, input by input.

The C program makes the inputs (from a seed, with a documented PRNG, so any input can be made again)
and writes each one beside what the C decoder made of it; this module feeds the same bytes, cut at
the same points, to :class:`firmware_protocol.Decoder`, builds the same record and compares: the
same items in the same order (valid frames with the same type, seq and field values; invalid frames
with the same reason, stream offset, header, field and NAK param), and the same frame, invalid-frame
and noise counters. The C side is fast (about a million inputs a second); the Python decoder sets
the pace, so ``--jobs`` runs several pairs of processes on disjoint ranges of inputs.

``python -m firmware_protocol.kit.difffuzz --program build/fuzz [--count N] [--seed S] [--jobs J]``
prints the figures and each difference (at most ``--show``), and exits 1 if there was any.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from array import array
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ..codec import Decoder, Frame, InvalidFrame
from .model import model
from .values import to_values

__all__ = ["Outcome", "compare", "python_words", "run"]

_REASONS = {r.name: r.code for r in model().reasons}
_FIELDS = {name: i for i, name in enumerate(model().field_names, start=1)}
_NATIVE = sys.byteorder == "little" and array("I").itemsize == 4


@dataclass
class Outcome:
    inputs: int = 0
    input_bytes: int = 0
    frames: int = 0
    invalid_frames: int = 0
    differences: int = 0
    examples: list[str] = field(default_factory=list)
    reasons: Counter[str] = field(default_factory=Counter)
    """Invalid frames by reason, as the Python decoder saw them."""
    types: Counter[int] = field(default_factory=Counter)
    """Valid frames by type byte."""
    bad_fields: Counter[str] = field(default_factory=Counter)
    """bad_value frames by the field they name."""
    c_seconds: float = 0.0
    """Time the C program took on its own (its stderr figure is not timed; this is a separate run)."""
    seconds: float = 0.0

    def add(self, other: Outcome, show: int) -> None:
        self.inputs += other.inputs
        self.input_bytes += other.input_bytes
        self.frames += other.frames
        self.invalid_frames += other.invalid_frames
        self.differences += other.differences
        self.reasons.update(other.reasons)
        self.types.update(other.types)
        self.bad_fields.update(other.bad_fields)
        self.examples += other.examples[: max(0, show - len(self.examples))]


def python_words(chunks: list[bytes], outcome: Outcome | None = None) -> list[int]:
    """What the Python decoder makes of these chunks, as fuzz.c's record words (counted into outcome)."""
    decoder = Decoder()
    items = []
    for chunk in chunks:
        items += decoder.feed(chunk)
    items += decoder.flush()
    out: list[int] = []
    for item in items:
        if type(item) is Frame:
            values = to_values(item.message)
            out += (1, 0, item.seq, item.message.TYPE, 1, 0, 0, 0, len(values))
            out += values
            if outcome is not None:
                outcome.types[item.message.TYPE] += 1
        else:
            assert isinstance(item, InvalidFrame)
            header = item.seq is not None
            out += (
                2,
                item.offset,
                item.seq or 0,
                item.msg_type or 0,
                int(header),
                _REASONS[item.reason.value],
                _FIELDS.get(item.field or "", 0),
                int(item.param),
                0,
            )
            if outcome is not None:
                outcome.reasons[item.reason.value] += 1
                if item.field is not None:
                    outcome.bad_fields[item.field] += 1
    out += (decoder.frames, decoder.invalid_frames, decoder.discarded_bytes)
    return out


def _pack(words: list[int]) -> bytes:
    if _NATIVE:
        return array("I", words).tobytes()
    return b"".join(w.to_bytes(4, "little") for w in words)


def _unpack(raw: bytes) -> list[int]:
    return [int.from_bytes(raw[i : i + 4], "little") for i in range(0, len(raw), 4)]


def _records(stream: object) -> Iterator[tuple[bytes, list[int], bytes]]:
    """(input, cut positions, C words as bytes) for each record of fuzz.c's output."""
    read = stream.read  # type: ignore[attr-defined]
    buf = b""
    pos = 0

    def take(n: int) -> bytes:
        nonlocal buf, pos
        while len(buf) - pos < n:
            more = read(1 << 20)
            if not more:
                raise EOFError
            buf = buf[pos:] + more
            pos = 0
        out = buf[pos : pos + n]
        pos += n
        return out

    while True:
        try:
            head = take(5)
        except EOFError:
            return
        length = int.from_bytes(head[:4], "little")
        n_cuts = head[4]
        raw_cuts = take(2 * n_cuts)
        cuts = [int.from_bytes(raw_cuts[2 * k : 2 * k + 2], "little") for k in range(n_cuts)]
        data = take(length)
        n_words = int.from_bytes(take(4), "little")
        yield data, cuts, take(4 * n_words)


def _describe(index: int, data: bytes, cuts: list[int], c_words: list[int], py_words: list[int]) -> str:
    return (
        f"input {index}: {data.hex()} cut at {cuts}\n"
        f"    C:      {c_words}\n"
        f"    Python: {py_words}"
    )


def compare(program: Path, seed: int, first: int, count: int, show: int = 5) -> Outcome:
    """Run ``program`` on inputs ``first .. first + count - 1`` and compare every record."""
    outcome = Outcome()
    started = time.perf_counter()
    with subprocess.Popen(
        [str(program), "--seed", str(seed), "--first", str(first), "--count", str(count)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as proc:
        assert proc.stdout is not None
        for index, (data, cuts, c_raw) in enumerate(_records(proc.stdout), start=first):
            bounds = [0, *cuts, len(data)]
            chunks = [data[bounds[k] : bounds[k + 1]] for k in range(len(bounds) - 1)]
            words = python_words(chunks, outcome)
            outcome.inputs += 1
            outcome.input_bytes += len(data)
            outcome.frames += words[-3]
            outcome.invalid_frames += words[-2]
            if _pack(words) != c_raw:
                outcome.differences += 1
                if len(outcome.examples) < show:
                    outcome.examples.append(_describe(index, data, cuts, _unpack(c_raw), words))
        assert proc.stderr is not None
        errors = proc.stderr.read().decode(errors="replace")
    if proc.returncode != 0:
        outcome.differences += 1
        outcome.examples.append(f"{program} exited {proc.returncode}: {errors.strip()}")
    if outcome.inputs != count:
        outcome.differences += 1
        outcome.examples.append(f"{program} wrote {outcome.inputs} records of {count}: {errors.strip()}")
    outcome.seconds = time.perf_counter() - started
    return outcome


def _c_alone(program: Path, seed: int, count: int) -> float:
    started = time.perf_counter()
    subprocess.run(
        [str(program), "--seed", str(seed), "--count", str(count), "--self-check"],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def run(program: Path, *, seed: int = 1, count: int = 1_000_000, jobs: int = 1, show: int = 5) -> Outcome:
    """The whole comparison, split over ``jobs`` processes; ``c_seconds`` is the C side alone."""
    started = time.perf_counter()
    total = Outcome()
    if jobs <= 1:
        total = compare(program, seed, 0, count, show)
    else:
        share = -(-count // jobs)
        ranges = [(k * share, min(share, count - k * share)) for k in range(jobs) if k * share < count]
        with ProcessPoolExecutor(max_workers=len(ranges)) as pool:
            futures = [pool.submit(compare, program, seed, first, n, show) for first, n in ranges]
            for future in futures:
                total.add(future.result(), show)
    total.seconds = time.perf_counter() - started
    total.c_seconds = _c_alone(program, seed, count)
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m firmware_protocol.kit.difffuzz", description=__doc__)
    parser.add_argument("--program", required=True, type=Path, help="the fuzz program built from c/test/fuzz.c")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--jobs", type=int, default=1, help="pairs of processes to run (default 1)")
    parser.add_argument("--show", type=int, default=5, help="differences to print (default 5)")
    args = parser.parse_args(argv)
    outcome = run(args.program, seed=args.seed, count=args.count, jobs=args.jobs, show=args.show)
    for example in outcome.examples:
        print(example)
    print(
        f"differential fuzz: {outcome.inputs} inputs ({outcome.input_bytes} bytes, seed {args.seed}), "
        f"{outcome.frames} valid and {outcome.invalid_frames} invalid frames; {outcome.differences} differences; "
        f"{outcome.seconds:.1f} s with {args.jobs} job(s) (the C side alone: {outcome.c_seconds:.1f} s)"
    )
    return 1 if outcome.differences else 0


if __name__ == "__main__":
    sys.exit(main())

"""``raw_echo_rtt_us``, ``rtt_us`` and ``rtt_ratio``: GET_STATUS against the floor, interleaved.

The echo peer and the emulator run at the same time, each in its own process on its own pty; the
samples are taken in alternating blocks, so a burst of load from elsewhere on a shared machine
falls on both and the ratio stays honest. ``rtt_us`` is ``Device.status()`` as any caller makes
it: encode, write, the emulator's read, decode, execute and reply, the host reading and decoding
the reply (the caller itself, when it is the only one waiting).

``rtt_minimal_device_us`` and ``host_rtt_ratio`` (no target: they say where the time goes) are the
same call, in the same blocks, to :mod:`scsctl.bench.minimal_device`, which answers with next to
no work: over the echo, what is left is the host's share of ``rtt_us``; the rest is the emulator's.
"""

from __future__ import annotations

from .context import Bench, elapsed_ns
from .echo import MESSAGE_SIZE, EchoClient
from .procs import echo_process, emulator_process, minimal_device_process
from .report import Figure, Limit
from .stats import Summary

RATIO_TARGET = 2.5
WARM_UP = 200


def measure(bench: Bench) -> list[Figure]:
    blocks, per_block = bench.pick((3, 200), (10, 1000))
    with (
        echo_process(bench.child_env) as peer,
        emulator_process(bench.child_env) as emulator,
        minimal_device_process(bench.child_env) as minimal,
    ):
        client = EchoClient(peer.port)
        try:
            with (
                bench.connect(emulator.port, "rtt") as device,
                bench.connect(minimal.port, "rtt-minimal") as minimal_device,
            ):
                for _ in range(WARM_UP):
                    client.round_trip_ns()
                    device.status()
                    minimal_device.status()
                echo_ns: list[int] = []
                rtt_ns: list[int] = []
                bare_ns: list[int] = []
                for _ in range(blocks):
                    echo_ns += [client.round_trip_ns() for _ in range(per_block)]
                    rtt_ns += [elapsed_ns(device.status) for _ in range(per_block)]
                    bare_ns += [elapsed_ns(minimal_device.status) for _ in range(per_block)]
        finally:
            client.close()
    echo = Summary.of(echo_ns).scaled(1e-3)
    rtt = Summary.of(rtt_ns).scaled(1e-3)
    bare = Summary.of(bare_ns).scaled(1e-3)
    ratio = rtt.median / echo.median
    host_ratio = bare.median / echo.median
    echo_text = f"median {echo.median:.0f} us, p99 {echo.p99:.0f} us"
    return [
        Figure(
            "raw_echo_rtt_us",
            echo.as_dict(),
            echo_text,
            None,
            "",
            detail={"message_bytes": MESSAGE_SIZE, "baseline_for": ["rtt_us", "rtt_ratio", "stop_latency_us"]},
            note="",
        ),
        Figure(
            "rtt_us",
            rtt.as_dict(),
            f"median {rtt.median:.0f} us, p99 {rtt.p99:.0f} us",
            {"raw_echo_rtt_us": echo.as_dict()},
            f"raw echo {echo_text}",
            detail={"request": "GET_STATUS", "reply": "STATUS", "blocks": blocks, "per_block": per_block},
        ),
        Figure(
            "rtt_ratio",
            round(ratio, 2),
            f"{ratio:.2f} (p99 ratio {rtt.p99 / echo.p99:.2f})",
            {"rtt_median_us": round(rtt.median, 1), "raw_echo_median_us": round(echo.median, 1)},
            f"{rtt.median:.0f} us / {echo.median:.0f} us",
            limits=(Limit("", RATIO_TARGET, ""),),
            detail={"p99_ratio": round(rtt.p99 / echo.p99, 2)},
        ),
        Figure(
            "rtt_minimal_device_us",
            bare.as_dict(),
            f"median {bare.median:.0f} us, p99 {bare.p99:.0f} us",
            {"raw_echo_rtt_us": echo.as_dict()},
            f"raw echo {echo_text}",
            detail={"request": "GET_STATUS", "device": "scsctl.bench.minimal_device (a fixed STATUS)"},
        ),
        Figure(
            "host_rtt_ratio",
            round(host_ratio, 2),
            f"{host_ratio:.2f}; the emulator's share of rtt_us: {rtt.median - bare.median:.0f} us",
            {"rtt_minimal_device_median_us": round(bare.median, 1), "raw_echo_median_us": round(echo.median, 1)},
            f"{bare.median:.0f} us / {echo.median:.0f} us",
            detail={"emulator_share_us": round(rtt.median - bare.median, 1)},
        ),
    ]

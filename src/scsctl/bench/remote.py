"""``rfc2217_status_us`` and ``rfc2217_ratio``: ``Device.status()`` through an RFC 2217 serial
server against the same over raw TCP (``socket://``), interleaved.

The RFC 2217 side is pyserial's own server (``rfc2217_server``) in front of ``scsctl emulator
--pty``; the raw side is ``scsctl emulator --tcp``. Both on 127.0.0.1, each in its own process, as
a serial server on another machine would be reached. The target: RFC 2217 within 3x of raw TCP
(every read used to renegotiate the port's settings with the server: 101 ms a request).
"""

from __future__ import annotations

from .context import Bench, elapsed_ns
from .procs import ChildProcess, emulator_process, python_module
from .report import Figure, Limit
from .stats import Summary

RATIO_TARGET = 3.0
WARM_UP = 50


def measure(bench: Bench) -> list[Figure]:
    blocks, per_block = bench.pick((3, 100), (10, 300))
    tcp = ChildProcess(python_module("scsctl.cli.main", "emulator", "--tcp", "127.0.0.1:0"), name="tcp emulator",
                       env=bench.child_env)  # fmt: skip
    with emulator_process(bench.child_env) as pty, tcp:
        server = ChildProcess(python_module("scsctl.bench.rfc2217_server", pty.port), name="RFC 2217 server",
                              env=bench.child_env)  # fmt: skip
        with server, bench.connect(server.port, "rfc2217") as remote, bench.connect(tcp.port, "socket") as raw:
            for _ in range(WARM_UP):
                remote.status()
                raw.status()
            raw_ns: list[int] = []
            rfc_ns: list[int] = []
            for _ in range(blocks):
                raw_ns += [elapsed_ns(raw.status) for _ in range(per_block)]
                rfc_ns += [elapsed_ns(remote.status) for _ in range(per_block)]
    raw_us = Summary.of(raw_ns).scaled(1e-3)
    rfc_us = Summary.of(rfc_ns).scaled(1e-3)
    ratio = rfc_us.median / raw_us.median
    raw_text = f"socket:// median {raw_us.median:.0f} us, p99 {raw_us.p99:.0f} us"
    return [
        Figure(
            "rfc2217_status_us",
            rfc_us.as_dict(),
            f"median {rfc_us.median:.0f} us, p99 {rfc_us.p99:.0f} us",
            {"socket_status_us": raw_us.as_dict()},
            raw_text,
            detail={
                "request": "GET_STATUS",
                "server": "pyserial PortManager",
                "blocks": blocks,
                "per_block": per_block,
            },
        ),
        Figure(
            "rfc2217_ratio",
            round(ratio, 2),
            f"{ratio:.2f}",
            {"rfc2217_median_us": round(rfc_us.median, 1), "socket_median_us": round(raw_us.median, 1)},
            f"{rfc_us.median:.0f} us / {raw_us.median:.0f} us",
            limits=(Limit("", RATIO_TARGET, ""),),
        ),
    ]

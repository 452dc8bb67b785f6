"""``peer_rtt_us``, ``peer_rtt_ratio``: our round trip beside pymodbus's, on the same kind of pty pair.

Run only with ``scsctl bench --peers`` and when pymodbus is installed (``pip install scsctl[bench]``).
pymodbus's RTU client reads ten holding registers from pymodbus's own serial server, which runs in
another process on a pseudo-terminal (:mod:`scsctl.bench.modbus_peer`): an 8-byte request and a
25-byte reply, as GET_STATUS is 8 bytes and STATUS 24. Ours is ``Device.status()`` to
``scsctl emulator --pty``. The two are sampled in alternating blocks in the same run, so load from
elsewhere falls on both.
"""

from __future__ import annotations

import importlib.util
import os
import pty
import tty

from .context import Bench, elapsed_ns
from .procs import ChildProcess, emulator_process, python_module
from .report import Figure, Limit
from .stats import Summary

RATIO_TARGET = 0.2
"""Our round trip at most a fifth of pymodbus's."""
WARM_UP = 50
NAMES = ("peer_rtt_us", "peer_rtt_ratio")
LIMITS = (Limit("", RATIO_TARGET, ""),)


def measure(bench: Bench) -> list[Figure]:
    if not bench.peers:
        reason = "run with --peers to measure pymodbus beside scsctl"
        return [Figure.unmeasured(NAMES[0], reason), Figure.unmeasured(NAMES[1], reason, LIMITS)]
    if importlib.util.find_spec("pymodbus") is None:
        reason = "pymodbus is not installed (pip install 'scsctl[bench]')"
        return [Figure.unmeasured(NAMES[0], reason), Figure.unmeasured(NAMES[1], reason, LIMITS)]
    from . import modbus_peer

    blocks, per_block = bench.pick((3, 50), (10, 200))
    master, slave = pty.openpty()
    tty.setraw(slave)
    tty.setraw(master)
    peer = ChildProcess(python_module("scsctl.bench.modbus_peer", os.ttyname(slave)), name="pymodbus server",
                        env=bench.child_env)  # fmt: skip
    try:
        with peer, emulator_process(bench.child_env) as emulator, bench.connect(emulator.port, "peers") as device:
            client = modbus_peer.peer_client(master)
            for _ in range(WARM_UP):
                modbus_peer.read_registers(client)
                device.status()
            ours_ns: list[int] = []
            theirs_ns: list[int] = []
            for _ in range(blocks):
                theirs_ns += [elapsed_ns(lambda: modbus_peer.read_registers(client)) for _ in range(per_block)]
                ours_ns += [elapsed_ns(device.status) for _ in range(per_block)]
    finally:
        os.close(master)
        os.close(slave)
    theirs = Summary.of(theirs_ns).scaled(1e-3)
    ours = Summary.of(ours_ns).scaled(1e-3)
    ratio = ours.median / theirs.median
    theirs_text = f"median {theirs.median:.0f} us, p99 {theirs.p99:.0f} us"
    ours_text = f"scsctl: median {ours.median:.0f} us, p99 {ours.p99:.0f} us"
    detail = {
        "peer": "pymodbus ModbusSerialClient (RTU) -> its ModbusSerialServer, another process, pty pair",
        "peer_request": f"read {modbus_peer.REGISTERS} holding registers: 8-byte request, 25-byte reply",
        "ours": "Device.status(): 8-byte GET_STATUS, 24-byte STATUS, to scsctl emulator --pty",
        "blocks": blocks,
        "per_block": per_block,
    }
    return [
        Figure(
            "peer_rtt_us", theirs.as_dict(), theirs_text, {"scsctl_rtt_us": ours.as_dict()}, ours_text, detail=detail
        ),
        Figure(
            "peer_rtt_ratio",
            round(ratio, 3),
            f"{ratio:.3f} (scsctl / pymodbus)",
            {"scsctl_median_us": round(ours.median, 1), "pymodbus_median_us": round(theirs.median, 1)},
            f"{ours.median:.0f} us / {theirs.median:.0f} us",
            limits=LIMITS,
            detail=detail,
        ),
    ]

"""``soak``: many request/replies through one link, and how much the host's memory grows.

``Device.status()`` from two threads at once over one link to an emulator process (so one request
is always in flight while the other's reply is decoded), with the resident set size (RSS, from
/proc) sampled as it goes. Growth is measured from after a warm-up (first-use allocations are not
a leak) to the end, and fitted as a straight line to give the growth per million requests.

A million request/replies take several minutes on a two-core machine, so the default run sends
fewer and extrapolates the fitted line to a million; ``--full`` sends the whole million. The
report says which it did.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from .context import Bench
from .procs import emulator_process, rss_kb
from .report import Figure, Limit

TARGET_MB = 5.0
MILLION = 1_000_000
REQUESTERS = 2
SAMPLES = 20


def _slope_per_request(points: list[tuple[int, int]]) -> float:
    """Least-squares slope of RSS (KiB) against requests done."""
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    var = sum((x - mean_x) ** 2 for x, _ in points)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / var if var else 0.0


def measure(bench: Bench) -> list[Figure]:
    total = bench.pick(5_000, 100_000, MILLION)
    warm_up = bench.pick(1_000, 5_000)
    with emulator_process(bench.child_env) as emulator, bench.connect(emulator.port, "soak") as device:
        done = 0
        lock = threading.Lock()
        points: list[tuple[int, int]] = []
        step = max(1, total // SAMPLES)

        failures: list[BaseException] = []

        def requester(count: int) -> None:
            nonlocal done
            try:
                for _ in range(count):
                    device.status()
                    with lock:
                        done += 1
                        if done % step == 0:
                            points.append((done, rss_kb()))
            except BaseException as err:  # noqa: BLE001 - raised again in the measuring thread
                failures.append(err)

        for _ in range(warm_up):
            device.status()
        start_kb, emulator_start_kb = rss_kb(), emulator.rss_kb()
        points.append((0, start_kb))
        t0 = time.monotonic()
        threads = [threading.Thread(target=requester, args=(total // REQUESTERS,)) for _ in range(REQUESTERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if failures:
            raise failures[0]
        elapsed_s = time.monotonic() - t0
        end_kb, emulator_end_kb = rss_kb(), emulator.rss_kb()
        stats = device.link.stats
        link: dict[str, Any] = {
            "requests": stats.requests,
            "retries": stats.retries,
            "timeouts": stats.timeouts,
            "invalid_frames": stats.invalid_frames,
        }
    points.append((done, end_kb))
    growth_mb = (end_kb - start_kb) / 1024
    per_million_mb = _slope_per_request(points) * MILLION / 1024
    full = done >= MILLION
    # The target is on a million: measured when the run was that long, extrapolated otherwise.
    judged_mb = growth_mb if full else max(per_million_mb, growth_mb)
    how = "measured" if full else f"extrapolated from {done:,}"
    note = (
        ""
        if full
        else (
            f"sent {done:,} of a million (about {MILLION / (done / elapsed_s) / 60:.0f} min here with --full); "
            "RSS growth per million is extrapolated"
        )
    )
    return [
        Figure(
            "soak",
            {
                "requests": done,
                "rate_per_s": round(done / elapsed_s, 1),
                "rss_start_mb": round(start_kb / 1024, 2),
                "rss_end_mb": round(end_kb / 1024, 2),
                "rss_growth_mb": round(growth_mb, 3),
                "rss_growth_per_million_mb": round(per_million_mb, 3),
                "rss_growth_judged_mb": round(judged_mb, 3),
                "million_sent": full,
            },
            f"{done:,} request/replies at {done / elapsed_s:,.0f}/s: RSS +{growth_mb:.2f} MB; "
            f"per million {per_million_mb:+.2f} MB ({how})",
            {"rss_start_mb": round(start_kb / 1024, 2)},
            f"RSS after warm-up {start_kb / 1024:.1f} MB",
            limits=(Limit("rss_growth_judged_mb", TARGET_MB, "MB"),),
            detail={
                "requesters": REQUESTERS,
                "warm_up": warm_up,
                "samples": points,
                "emulator_rss_growth_mb": round((emulator_end_kb - emulator_start_kb) / 1024, 3),
                "link": link,
                "full_million_takes_s": round(MILLION / (done / elapsed_s)),
            },
            note=note,
        )
    ]

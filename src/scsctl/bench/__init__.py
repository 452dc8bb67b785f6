"""``scsctl bench``: how close the stack comes to what this machine itself allows (issue 8).

Every figure is measured in the same run as its baseline, and reported with its target as met or
missed; the benchmark never fails a build (a measurement that broke exits 1). One module per
figure family, each with ``measure(bench) -> list[Figure]``:

==================  ===========================================================================
module              figures
==================  ===========================================================================
``codec``           ``codec_us`` against ``struct`` by hand
``rtt``             ``raw_echo_rtt_us``, ``rtt_us``, ``rtt_ratio`` (interleaved blocks)
``stop``            ``stop_latency_us``: stop call to output at zero, idle and under traffic
``watchdog``        ``watchdog_error_ms``: output-off lateness after the heartbeats stop
``audit``           ``audit_ms`` against two ``fsync``-ed appends
``cli_info``        ``cli_info_s`` against the bare interpreter, with the import profile
``tui``             ``tui_ready_s``, ``tui_key_to_wire_ms`` (headless, ``App.run_test()``)
``scaling``         ``scaling``: 1, 4, 16 emulator processes polled at 20 Hz
``soak``            ``soak``: RSS growth over many request/replies
==================  ===========================================================================

Helpers: ``context`` (mode, scratch folder), ``procs`` (child processes on ptys), ``echo`` and
``monitored_emulator`` (the child processes' own entry points), ``spy`` (write times on the
wire), ``stats``, ``report`` (figures, targets, table and JSON), ``suite`` (runs them all).
``docs/performance.md`` has the figures measured and where the time goes.
"""

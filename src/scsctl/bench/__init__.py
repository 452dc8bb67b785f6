"""``scsctl bench``: how close the stack comes to what this machine itself allows (issue 8).

Every figure is measured in the same run as its baseline, and reported with its target as met or
missed; the benchmark never fails a build (a measurement that broke exits 1). One module per
figure family, each with ``measure(bench) -> list[Figure]``:

==================  ===========================================================================
module              figures
==================  ===========================================================================
``codec``           ``codec_us`` against ``struct`` by hand
``rtt``             ``raw_echo_rtt_us``, ``rtt_us``, ``rtt_ratio`` (interleaved blocks); the host's
                    own share: ``rtt_minimal_device_us``, ``host_rtt_ratio`` (a device that
                    answers with next to no work)
``remote``          ``rfc2217_status_us``, ``rfc2217_ratio``: through pyserial's RFC 2217 server
``peers``           ``peer_rtt_us``, ``peer_rtt_ratio``: pymodbus RTU beside us (``--peers``)
``stop``            ``stop_latency_us``: stop call to output at zero, idle and under traffic;
                    ``stop_at_line_rate_us``: the same on a simulated 115200-baud line
``watchdog``        ``watchdog_error_ms``: output-off lateness after the heartbeats stop
``audit``           ``audit_ms`` against two ``fsync``-ed appends
``cli_info``        ``cli_info_s`` against the bare interpreter, with the import profile
``tui``             ``tui_ready_s``, ``tui_key_to_wire_ms`` (headless, ``App.run_test()``)
``plugin_load``     ``plugin_load_ms``: what the pytest plugin adds to every pytest run
``scaling``         ``scaling``: 1, 16, 64 emulated devices (one process) polled at 20 Hz
``soak``            ``soak``: RSS growth over many request/replies
==================  ===========================================================================

Helpers: ``context`` (mode, scratch folder), ``procs`` (child processes on ptys), ``echo``,
``monitored_emulator`` and ``modbus_peer`` (the child processes' own entry points), ``spy`` (write times on the
wire), ``stats``, ``report`` (figures, targets, table and JSON), ``suite`` (runs them all).
``docs/performance.md`` has the figures measured and where the time goes.
"""

"""Logging for one command: the library only logs (``logging.getLogger(__name__)``); this configures it.

- no option: warnings and errors on standard error (an emulator whose firmware crashed, say);
- ``-v``: also the main steps (connecting, retries, stray replies, reconnects, timeouts), ``-vv``
  every detail (each frame's handling, the reply timeout worked out for each command);
- ``--log-file FILE``: every detail appended to FILE (``-``: standard output), whatever ``-v`` says;
- the terminal UI owns the terminal: nothing goes to standard error there, only to ``--log-file``.

Records pass through a queue to a listener thread that does the writing, so a logging call never
waits for a terminal or a disk: the link logs from its reader thread, which must see a STOP_ACK at
once, and nothing on the STOP path may wait for a log line.
"""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import queue
import sys
from collections.abc import Iterator

from ..errors import UsageError

__all__ = ["LOGGERS", "configure_logging"]

LOGGERS = ("scsctl", "firmware_protocol")
"""The loggers configured here: scsctl's modules log under ``scsctl.<module>``."""

_LEVELS = {0: logging.WARNING, 1: logging.INFO}
_TERMINAL_FORMAT = "scsctl: %(levelname)s %(name)s: %(message)s"
_FILE_FORMAT = "%(asctime)s.%(msecs)03d %(levelname)-7s %(threadName)s %(name)s: %(message)s"


@contextlib.contextmanager
def configure_logging(verbosity: int, log_file: str | None, *, terminal_ui: bool = False) -> Iterator[None]:
    """Configure scsctl's loggers for the length of the ``with`` block, then put them back."""
    handlers: list[logging.Handler] = []
    if not terminal_ui:
        terminal = logging.StreamHandler(sys.stderr)
        terminal.setLevel(_LEVELS.get(verbosity, logging.DEBUG))
        terminal.setFormatter(logging.Formatter(_TERMINAL_FORMAT))
        handlers.append(terminal)
    elif verbosity and not log_file:
        raise UsageError("-v: the terminal UI owns the terminal; give --log-file FILE to see what it does")
    if log_file:
        try:
            to_file: logging.Handler = (
                logging.StreamHandler(sys.stdout) if log_file == "-" else logging.FileHandler(log_file, "a", "utf-8")
            )
        except OSError as err:
            raise UsageError(f"--log-file {log_file}: cannot write it: {err.strerror or err}") from err
        to_file.setLevel(logging.DEBUG)
        to_file.setFormatter(logging.Formatter(_FILE_FORMAT, datefmt="%Y-%m-%d %H:%M:%S"))
        handlers.append(to_file)
    lowest = min((h.level for h in handlers), default=logging.WARNING)
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    listener = logging.handlers.QueueListener(records, *handlers, respect_handler_level=True)
    into_queue = logging.handlers.QueueHandler(records)
    saved = []
    for name in LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level, logger.propagate))
        logger.addHandler(into_queue)
        logger.setLevel(lowest)
        logger.propagate = False  # scsctl's records are written here once, not again by a root handler
    listener.start()
    try:
        yield
    finally:
        for logger, level, propagate in saved:
            logger.removeHandler(into_queue)
            logger.setLevel(level)
            logger.propagate = propagate
        listener.stop()  # writes what is still queued
        for handler in handlers:
            with contextlib.suppress(OSError, ValueError):
                handler.flush()
            if isinstance(handler, logging.FileHandler):
                handler.close()

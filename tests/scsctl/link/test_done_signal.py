"""The one-waiter signal each request waits on: it must behave as ``threading.Event`` does for it.

A request whose reply came is never told it timed out, and one whose reply did not come is never
told it came: both would be a retry or a ReplyTimeout the user sees for nothing.
"""

from __future__ import annotations

import threading
import time

from scsctl.link.session import _Done


def test_set_before_wait_returns_at_once_and_stays_set() -> None:
    done = _Done()
    assert not done.is_set()
    done.set()
    assert done.is_set()
    assert done.wait(10.0)
    assert done.wait(0.0)  # still set for a second look


def test_wait_times_out_unset() -> None:
    done = _Done()
    t0 = time.monotonic()
    assert not done.wait(0.05)
    assert time.monotonic() - t0 >= 0.05
    assert not done.wait(0.0)


def test_set_from_another_thread_wakes_the_waiter() -> None:
    done = _Done()
    threading.Timer(0.02, done.set).start()
    assert done.wait(5.0)


def test_two_setters_at_once_are_harmless() -> None:
    done = _Done()
    done.set()
    done.set()
    assert done.wait(0.0)


def test_clear_arms_it_again() -> None:
    done = _Done()
    done.set()
    done.clear()
    assert not done.is_set()
    assert not done.wait(0.02)
    threading.Timer(0.02, done.set).start()
    assert done.wait(5.0)


def test_a_set_racing_a_clear_never_reads_as_a_reply() -> None:
    # The setter raised the flag, the waiter saw it and cleared (to send again) before the setter
    # released the lock: that late release must not end the next wait as if a reply had come.
    done = _Done()
    done._flag = True  # the setter's first step ...
    done.clear()  # ... the waiter clears ...
    done._lock.release()  # ... and the setter's second step lands late
    assert not done.wait(0.05)
    assert not done.is_set()
    threading.Timer(0.02, done.set).start()
    assert done.wait(5.0)


class _TwoSettersWhileWaiting:
    """The lock of a ``_Done`` whose waiter, once blocked, is woken by one setter while a second
    setter (a reply and a lost link at once) frees the lock again just after the waiter took it."""

    def __init__(self, done: _Done) -> None:
        self._done = done
        self._lock = done._lock
        self._raced = False

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if not self._raced:
            self._raced = True
            self._done._flag = True  # the first setter ...
            self._lock.release()  # ... wakes the waiter
            got = self._lock.acquire(blocking, timeout)
            self._lock.release()  # the second setter, landing just after
            return got
        return self._lock.acquire(blocking, timeout)

    def release(self) -> None:
        self._lock.release()


def test_two_setters_racing_a_waiter_still_read_as_set() -> None:
    done = _Done()
    done._lock = _TwoSettersWhileWaiting(done)  # type: ignore[assignment]
    assert done.wait(1.0)  # set, and no error from the lock freed twice
    assert done.is_set()
    assert done.wait(0.0)

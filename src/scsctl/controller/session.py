"""The session layer: what a front end holds for as long as it works with a device.

No Textual here; the TUI keeps screens and widgets and uses this, as the CLI and the pytest plugin
use its parts (``ConnectTarget``, ``connect``, ``stop_now``):

- the *target*: the URL, the options ``connect`` takes and, for ``emu://``, the emulator it owns
  (``target.ConnectTarget``);
- the *claim* on the target's port (``ownership``), held across reconnects, so that no other
  process takes the port while the link is lost or being reopened, and so that a STOP asked for
  from another terminal (``scsctl stop --port ...``) reaches the device through this process;
- the *STOP line* (``stop_line.StopLine``): a thread that STOPs in every link state: through the
  open device, a lost one (its link reopens the port when it is back), or ``stop_now`` on the
  target while no device is open;
- the *device watch* (``watch.DeviceWatch``): events and status reads for a display.

::

    session = Session(on_stop_result=print)
    session.hold(target)                # PortBusy (naming the holder) if another process has it
    device = target.open()              # the device's own claim is this one again
    session.stop_line.attach(device, fallback=target.stop_now)
    ...
    session.stop_line.request()         # from any thread: returns at once
    session.close()
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .control import StopAnswer
from .ownership import PortClaim
from .stop_line import StopLine, StopResult
from .target import ConnectTarget

__all__ = ["Session"]


class Session:
    """One front end's hold on one port at a time, and its STOP line."""

    def __init__(self, on_stop_result: Callable[[StopResult], object]) -> None:
        self.stop_line = StopLine(on_stop_result)
        self.target: ConnectTarget | None = None
        self._claim: PortClaim | None = None
        self._unserve: Callable[[], None] = lambda: None

    def hold(self, target: ConnectTarget) -> None:
        """Claim ``target``'s port for this process (kept until another is held, or ``close``).

        Raises ``PortBusy`` naming the holder when another process has it; the port held before
        stays held then.
        """
        claim = target.port_claim()
        old, old_unserve = self._claim, self._unserve
        self._claim, self.target = claim, target
        self._unserve = claim.serve_stop(self._stop_for_another)
        old_unserve()
        if old is not None:
            old.release()

    def _stop_for_another(self, request: Mapping[str, Any]) -> StopAnswer:
        who = {k: request[k] for k in ("pid", "operator", "command") if k in request}
        result = self.stop_line.stop_and_wait(requested_by=who)
        if result is None:
            return StopAnswer(False, "no answer from the STOP line in time")
        after_ms = round((result.finished_at_s - result.requested_at_s) * 1000, 3)
        if result.error is not None:
            return StopAnswer(False, result.error, after_ms)
        return StopAnswer(True, result.unrecorded or "", after_ms)

    def close(self) -> None:
        """Stop serving STOP requests, let go of the port and end the STOP line."""
        self._unserve()
        self._unserve = lambda: None
        claim, self._claim = self._claim, None
        if claim is not None:
            claim.release()
        self.stop_line.close()

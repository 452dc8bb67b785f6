"""The device under test: one ``Target`` per worker for the session, one ``Bench`` per test.

The bench hands the port to one session at a time, as a serial line allows: opening a controller
session closes the raw sender and the other way round. When a test ends the bench stops
stimulation through whichever session is open (or a new one), so no test leaves output running
for the next, then closes everything.

Targets ``emu://...`` run the emulator in this process. The emulator outlives the sessions of a
test session, as a device on a bench does; a test that takes the emulator handle (to inject
faults) gets a factory-new emulator of the same URL instead, so what it breaks stays broken only
for itself.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import LinkError, ScsError
from .options import is_in_process

if TYPE_CHECKING:
    from ..controller import ConnectTarget, Device, EmulatedTransport, Policy, PortClaim, Transport
    from ..emulator import EmulatorRunner
    from .raw import RawSender

__all__ = ["Bench", "Target"]

_SAFE_STOP_TRIES_S = 3.0


class Target:
    """The device one worker tests for the whole session: its URL, profile and identity."""

    def __init__(
        self, url: str, *, profile: str | None, data_dir: Path | None, worker: str | None,
        role: str = "technician", role_from: str = "default",
        policy: Policy | None = None, role_refused: str = "",
    ) -> None:  # fmt: skip
        self.url = url
        self.role = role
        """The rig operator's role (``--scs-role``) as the policy granted it: raw frames need engineer."""
        self.role_from = role_from
        self.policy = policy
        """The site policy every session of the run is admitted by (None: ``trust.system_policy()``)."""
        self.role_refused = role_refused
        """Why the engineer role asked for was not granted ("" when it was, or was not asked for)."""
        self.profile = profile
        self.data_dir = data_dir
        self.worker = worker
        self.in_process = is_in_process(url)
        self.identity: dict[str, Any] | None = None
        """IDENTIFY as the first session saw it (model, serial, firmware...)."""
        self._shared: EmulatedTransport | None = None
        self._port_claim: PortClaim | None = None

    def describe(self) -> dict[str, Any]:
        """For the test record: where the target is and, once known, who it is."""
        out: dict[str, Any] = {"port": self.url, "worker": self.worker, "in_process_emulator": self.in_process}
        if self.profile:
            out["profile_requested"] = self.profile
        out.update(self.identity or {})
        return out

    def emulator_transport(self, *, fresh: bool) -> EmulatedTransport:
        from ..controller import EmulatedTransport

        if fresh:
            return EmulatedTransport(self.url)
        if self._shared is None:
            self._shared = EmulatedTransport(self.url)
        return self._shared

    def connect_target(self, **options: Any) -> ConnectTarget:
        """The session layer's target for this device, with ``options`` (role, tethered, transport...)."""
        from ..controller import ConnectTarget

        return ConnectTarget(self.url, **{"profile": self.profile, "data_dir": self.data_dir, **options})

    def hold_port(self) -> None:
        """Claim the port for this test run: another process (or run) is refused, naming this one."""
        if self._port_claim is None and not self.in_process:
            self._port_claim = self.connect_target().port_claim()

    def close(self) -> None:
        if self._shared is not None:
            self._shared.close()
        if self._port_claim is not None:
            self._port_claim.release()
            self._port_claim = None


class Bench:
    """One test's access to the target: controller sessions, the raw sender, the emulator."""

    def __init__(self, target: Target, *, fresh_emulator: bool = False) -> None:
        self.target = target
        self._emu = target.emulator_transport(fresh=fresh_emulator) if target.in_process else None
        self._fresh = fresh_emulator and target.in_process
        self._owner: Device | RawSender | None = None
        self._raw: RawSender | None = None
        self._used = False

    @property
    def emulator(self) -> EmulatorRunner[Any] | None:
        """The in-process emulator's runner (faults, output monitor), or None for a real port."""
        return None if self._emu is None else self._emu.emulator

    def _transport(self) -> Transport:
        if self._emu is not None:
            return self._emu
        from ..controller import transport_for_url

        return transport_for_url(self.target.url)

    def _claim(self, owner: Device | RawSender | None) -> None:
        current = self._owner
        if current is not None and current is not owner:
            current.close()
        self._owner = owner
        self._used = True

    # --- sessions ----------------------------------------------------------------------------------

    def connect(
        self,
        role: str = "technician",
        *,
        tethered: bool = False,
        watchdog_timeout_ms: int | None = None,
        data_dir: str | Path | None = None,
        profile: str | None = None,
        capture: str | Path | None = None,
        policy: Policy | None = None,
    ) -> Device:
        """A new controller session (``scsctl.connect``); the session open before is closed.

        ``policy``: instead of the run's (``Target.policy``), e.g. to show what another policy refuses.
        """
        self._claim(None)
        target = self.target.connect_target(role=role, tethered=tethered, profile=profile or self.target.profile,
                                            data_dir=data_dir or self.target.data_dir, capture=capture,
                                            transport=self._emu, policy=policy or self.target.policy)  # fmt: skip
        if watchdog_timeout_ms is not None:
            target.watchdog_timeout_ms = watchdog_timeout_ms
        device = target.open()
        self._owner = device
        if self.target.identity is None:
            self.target.identity = device.identity.as_dict()
        return device

    def raw(self) -> RawSender:
        """The raw frame sender (engineer role, audited); it takes the port when it is used."""
        if self._raw is None:
            from ..audit import AuditLog

            # The operator's role as given, not assumed: RawSender refuses anyone but an engineer.
            audit = AuditLog.in_dir(self.target.data_dir, role=self.target.role)
            from .raw import RawSender

            self._raw = RawSender(self._transport(), audit, on_open=lambda: self._claim(self._raw))
        return self._raw

    def raw_hello(self) -> RawSender:
        raw = self.raw()
        ident = raw.hello()
        if self.target.identity is None:
            self.target.identity = {
                "model_id": ident.model_id,
                "serial": ident.serial_number,
                "firmware": ident.firmware_version,
                "hardware_revision": ident.hardware_revision,
                "protocol_version": ident.protocol_version,
                "contacts": ident.contact_count,
                "program_slots": ident.program_slots,
            }
        return raw

    # --- end of test -------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop output (through the open session, or a new raw one), then close every session."""
        try:
            if self._used and not self._fresh:
                self._stop_output()
        finally:
            if self._owner is not None:
                self._owner.close()
            self._owner = None
            if self._raw is not None:
                self._raw.close()
                self._raw.audit.close()
            if self._fresh and self._emu is not None:
                self._emu.close()

    def _stop_output(self) -> None:
        from ..controller import Device, LinkStatus

        owner = self._owner
        try:
            if isinstance(owner, Device) and owner.link.status is LinkStatus.UP:
                owner.stop()
                return
        except ScsError:
            pass  # the session is broken: stop through a new one below
        deadline = time.monotonic() + _SAFE_STOP_TRIES_S
        while True:
            # STOP needs no role and no session: the controller's stop-first path, as `scsctl stop`.
            if self._raw is not None:
                self._raw.close()  # one user of the port at a time
            if isinstance(owner, Device):
                owner.close()  # a broken session still has the port open
            self._owner = owner = None
            try:
                self.target.connect_target(role=self.target.role, transport=self._emu).stop_now()
                return
            except ScsError as err:
                problem = str(err)
            if time.monotonic() >= deadline:
                raise LinkError(
                    f"after the test, STOP could not be confirmed on {self.target.url}: {problem}; "
                    "check the device and disconnect the leads"
                )
            time.sleep(0.1)

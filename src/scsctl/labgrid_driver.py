"""A labgrid driver for a trial stimulator on a labgrid place (``pip install 'scsctl[labgrid]'``).

labgrid shares devices between test rigs: an exporter on the machine the device is cabled to
publishes its serial port (through ser2net), the coordinator hands out *places*, and a place
acquired by one user is nobody else's until released, so two concurrent runs never share a device.
This driver binds the place's serial port and opens a controller ``Device`` on it through scsctl's
session layer (``ConnectTarget``: the same guard, audit log, port ownership and STOP as any
session). An environment file names it (``imports`` makes labgrid load it)::

    targets:
      main:
        resources:
          RemotePlace:
            name: scs-bench-1
        drivers:
          ScsDeviceDriver:
            profile: tonic-burst-16      # optional: matched from the device's model otherwise
    options:
      coordinator_address: coordinator.lab:20408
    imports:
      - scsctl.labgrid_driver

Then ``labgrid-client -p scs-bench-1 acquire`` and, from Python::

    from labgrid import Environment
    driver = Environment("env.yaml").get_target("main").get_driver("ScsDeviceDriver")
    with driver.connect() as dev:
        dev.status()

or the conformance catalogue: ``pytest --pyargs scsctl.hil_tests --lg-env env.yaml`` (the pytest
plugin takes the port from this driver when ``--lg-env`` is given).
"""

from __future__ import annotations

from typing import Any

import attr
from labgrid.driver.common import Driver
from labgrid.factory import target_factory
from labgrid.step import step

from .controller import ConnectTarget, Device

__all__ = ["ScsDeviceDriver", "port_url"]

_optional_str = attr.validators.optional(attr.validators.instance_of(str))


def port_url(resource: Any) -> str:
    """The pyserial URL of a labgrid serial resource: a local ``SerialPort`` or a ``NetworkSerialPort``
    (ser2net behind an exporter: ``rfc2217://`` by default, ``socket://`` for protocol ``raw``)."""
    if type(resource).__name__ == "NetworkSerialPort" or hasattr(resource, "host"):
        protocol = getattr(resource, "protocol", "rfc2217") or "rfc2217"
        host = str(resource.host)
        host = f"[{host}]" if ":" in host else host
        scheme = "socket" if protocol == "raw" else "rfc2217"
        return f"{scheme}://{host}:{resource.port}"
    return str(resource.port)


@target_factory.reg_driver
@attr.s(eq=False)
class ScsDeviceDriver(Driver):  # type: ignore[misc]  # labgrid has no type information
    """A trial stimulator on the target's serial port; ``connect`` gives a controller ``Device``."""

    bindings = {"port": {"SerialPort", "NetworkSerialPort"}}  # noqa: RUF012 - labgrid's own convention

    profile: str | None = attr.ib(default=None, validator=_optional_str)
    role: str = attr.ib(default="technician", validator=attr.validators.instance_of(str))
    operator: str | None = attr.ib(default=None, validator=_optional_str)
    data_dir: str | None = attr.ib(default=None, validator=_optional_str)

    @property
    def url(self) -> str:
        """The port as scsctl opens it (``rfc2217://exporter:port`` for a remote place)."""
        return port_url(self.port)

    def target_for(self, **options: Any) -> ConnectTarget:
        """The session layer's target for this port, with this driver's settings and ``options``."""
        settings: dict[str, Any] = {"profile": self.profile, "role": self.role, "operator": self.operator,
                                    "data_dir": self.data_dir}  # fmt: skip
        settings.update(options)
        return ConnectTarget(self.url, **settings)

    @Driver.check_active  # type: ignore[untyped-decorator]
    @step(title="scsctl connect")  # type: ignore[untyped-decorator]
    def connect(self, **options: Any) -> Device:
        """Open a controller session (``tethered=``, ``role=``... as ``ConnectTarget`` takes them)."""
        return self.target_for(**options).open()

    @Driver.check_active  # type: ignore[untyped-decorator]
    @step(title="scsctl stop")  # type: ignore[untyped-decorator]
    def stop(self) -> None:
        """STOP the device first, before anything else (``scsctl.stop_now``)."""
        self.target_for().stop_now()

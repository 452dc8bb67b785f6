"""What can be opened: serial ports, and USB devices whose ids match a known profile.

Profiles name their model's USB ids (``[usb] vid, pid`` in ``device_profiles/*.toml``, read with
``scsctl.profiles``). Serial ports are all listed, with the profile whose ids match their USB
adapter where one does; USB devices are listed only when their ids match a profile (a machine has
many USB devices that are no stimulator). A device that shows up as a serial port is not listed a
second time as ``usb://``.

Trouble listing USB devices (no permission, no libusb) is reported in ``problems``, not raised:
the serial ports are still worth showing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["PortInfo", "PortListing", "known_usb_ids", "list_ports"]


@dataclass(frozen=True, slots=True)
class PortInfo:
    url: str
    """What to open: a device path or ``usb://VID:PID[/SERIAL]``."""
    kind: str
    """``serial`` or ``usb``."""
    description: str = ""
    usb_vid: int | None = None
    usb_pid: int | None = None
    serial_number: str | None = None
    profile: str | None = None
    """The profile whose USB ids match, if any."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class PortListing:
    ports: list[PortInfo]
    problems: list[str] = field(default_factory=list)


def known_usb_ids(profiles: Iterable[Any] | None = None) -> dict[tuple[int, int], str]:
    """(vid, pid) -> profile name, from ``profiles`` or every profile found."""
    if profiles is None:
        from ..profiles import list_profiles

        profiles = list_profiles()
    return {(p.usb.vid, p.usb.pid): p.name for p in profiles}


def list_ports(
    *,
    usb_ids: dict[tuple[int, int], str] | None = None,
    comports: Callable[[], Sequence[Any]] | None = None,
    usb_backend: Any = None,
    include_usb: bool = True,
) -> PortListing:
    """Serial ports and matching USB devices. ``comports``/``usb_backend`` replace the system's."""
    ids = known_usb_ids() if usb_ids is None else usb_ids
    if comports is None:
        from serial.tools.list_ports import comports as system_comports

        comports = system_comports
    ports: list[PortInfo] = []
    for p in sorted(comports(), key=lambda p: str(p.device)):
        vid, pid = getattr(p, "vid", None), getattr(p, "pid", None)
        desc = getattr(p, "description", "") or ""
        ports.append(
            PortInfo(
                url=str(p.device),
                kind="serial",
                description="" if desc == "n/a" else str(desc),
                usb_vid=vid,
                usb_pid=pid,
                serial_number=getattr(p, "serial_number", None),
                profile=ids.get((vid, pid)) if vid is not None and pid is not None else None,
            )
        )
    problems: list[str] = []
    if include_usb and ids:
        seen = {(p.usb_vid, p.usb_pid, p.serial_number) for p in ports}
        try:
            usb_ports = _usb_devices(ids, usb_backend)
        except Exception as err:  # noqa: BLE001 - pyusb/libusb of any kind: listed as a problem
            problems.append(f"USB devices not listed: {err}")
        else:
            ports += [p for p in usb_ports if (p.usb_vid, p.usb_pid, p.serial_number) not in seen]
    return PortListing(ports, problems)


def _usb_devices(ids: dict[tuple[int, int], str], backend: Any) -> list[PortInfo]:
    import usb.core

    from .usb import default_backend

    backend = backend if backend is not None else default_backend()
    if backend is None:
        raise RuntimeError("libusb could not be loaded")
    out: list[PortInfo] = []
    for dev in usb.core.find(find_all=True, backend=backend,
                             custom_match=lambda d: (d.idVendor, d.idProduct) in ids):  # fmt: skip
        vid, pid = int(dev.idVendor), int(dev.idProduct)
        serial_number = _string(dev, "serial_number")
        product = _string(dev, "product") or ""
        url = f"usb://{vid:04x}:{pid:04x}" + (f"/{serial_number}" if serial_number else "")
        out.append(PortInfo(url, "usb", product, vid, pid, serial_number, ids[(vid, pid)]))
    return sorted(out, key=lambda p: p.url)


def _string(dev: Any, name: str) -> str | None:
    try:
        value = getattr(dev, name)
    except Exception:  # noqa: BLE001 - unreadable without permission; the id still identifies it
        return None
    return str(value) if value else None

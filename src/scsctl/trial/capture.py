"""Reading what a trial records from a connected device: a program's settings, the usage counter.

Only reads (READ_PROGRAM, GET_STATUS, GET_USAGE): nothing here changes what the device does.
Settings are always the device's read-back, never what the host believes it wrote, so a record
says what the patient actually had.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from firmware_protocol.constants import NO_SLOT, OUTPUT_STATES, NakReason, StatusFlags

from ..errors import DeviceRefused, UsageError
from .dates import utc_now_text
from .models import DeviceUsage, ProgramCapture, Trial

if TYPE_CHECKING:
    from ..controller import Device

__all__ = ["capture_program", "check_trial_device", "read_usage", "selected_slot"]


def check_trial_device(trial: Trial, device: Device) -> None:
    """``UsageError`` unless ``device`` is the trial's device (by serial)."""
    if device.identity.serial != trial.device_serial:
        raise UsageError(
            f"the connected device is {device.identity.serial}, but trial {trial.trial_id} uses "
            f"{trial.device_serial}: connect to the trial's device"
        )


def capture_program(device: Device, slot: int) -> ProgramCapture:
    """Read ``slot`` back from the device, with whether it is the one running and at what amplitude."""
    device.identity.check_slot(slot)
    try:
        program = device.read_program(slot)
    except DeviceRefused as err:
        if err.reason is NakReason.EMPTY_SLOT:
            raise UsageError(
                f"slot {slot} of {device.identity.serial} holds no program: write one first (`scsctl program`)"
            ) from err
        raise
    status = device.status()
    running = status.state in OUTPUT_STATES and status.active_slot != NO_SLOT and status.active_slot == slot
    return ProgramCapture(
        device_serial=device.identity.serial,
        program=program,
        read_utc=utc_now_text(datetime.now(UTC)),
        running=running,
        setpoint_ua=status.setpoint_ua if running else None,
        tentative=running and bool(status.status_flags & StatusFlags.TENTATIVE),
    )


def selected_slot(device: Device) -> int | None:
    """The device's selected (or running) slot, None when no slot is selected."""
    status = device.status()
    return None if status.active_slot == NO_SLOT else status.active_slot


def read_usage(device: Device) -> DeviceUsage:
    """The device's lifetime stimulation counter, now."""
    usage = device.usage()
    return DeviceUsage(device.identity.serial, int(usage.stimulation_s), utc_now_text(datetime.now(UTC)))

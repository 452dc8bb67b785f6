"""One setting on its own, as the guard judges it: for a display that steps a value and must say,
in the guard's words, why a step is refused (the program as a whole is judged by ``Guard.check``)."""

from __future__ import annotations

from firmware_protocol.constants import Waveform

from ..errors import SafetyRefusal
from ..profiles.models import DeviceProfile, Tier
from .checks import Scope, check_field

__all__ = ["setting_refusal"]


def setting_refusal(
    profile: DeviceProfile, tier: Tier, waveform: Waveform, key: str, value: int
) -> SafetyRefusal | None:
    """Why ``value`` is not a setting of ``key`` (a numeric ``Program`` field) for ``waveform`` in
    ``tier``, or None when it is one. A waveform the tier does not offer has no grid: only the
    hardware range is checked then (the program check names the waveform itself)."""
    try:
        check_field(Scope(profile, tier), waveform, tier.for_waveform(waveform), key, value)
    except SafetyRefusal as err:
        return err
    return None

"""The emulated battery: drains with time and with the delivered output.

Rough physics, enough for the firmware's behaviour to be exercised: the device draws an idle
current plus the average output current times a boost factor (the output stage steps the battery
voltage up to its compliance voltage). ``drain_factor`` speeds everything up so a test can reach
low battery and end of service in a few simulated seconds instead of a week.
"""

from __future__ import annotations

from dataclasses import dataclass

from firmware_protocol.constants import Recharge, Waveform

from .models import US_PER_S_DHZ
from .output_monitor import Output


@dataclass(frozen=True, slots=True)
class BatteryConfig:
    capacity_uah: int = 200_000
    """200 mAh at 1 mA idle lasts about 8 days, a typical trial."""
    idle_draw_ua: int = 1_000
    output_boost_factor: int = 3
    drain_factor: int = 1
    low_pct: int = 15
    """At or below this the device sends BATTERY_LOW (once, until the battery recovers)."""
    recover_pct: int = 20
    """BATTERY_LOW clears once the level is back above this (a fresh or charged battery)."""
    end_of_service_pct: int = 2
    """At or below this, stimulation stops for good (END_OF_SERVICE)."""
    full_mv: int = 4_150
    empty_mv: int = 3_300


def average_output_ua(output: Output) -> float:
    """Mean current the output stage delivers: amplitude x duty cycle of the pulse train."""
    if not output.is_on or output.rate_dhz == 0:
        return 0.0
    pulses_dhz = output.rate_dhz
    if output.waveform == Waveform.BURST:  # rate_dhz is the burst rate
        pulses_dhz = output.burst_pulses * output.rate_dhz
    phases = 2 if output.recharge == Recharge.ACTIVE else 1
    duty = min(1.0, output.pulse_width_us * phases * pulses_dhz / US_PER_S_DHZ)
    return output.amplitude_ua * duty


class Battery:
    def __init__(self, config: BatteryConfig | None = None, percent: float = 100.0) -> None:
        self.config = config or BatteryConfig()
        self._capacity_uas = self.config.capacity_uah * 3600.0
        self._remaining_uas = self._capacity_uas * percent / 100

    @property
    def level_pct(self) -> float:
        """Exact level, 0..100 (the wire carries its whole part)."""
        return 100.0 * self._remaining_uas / self._capacity_uas

    @property
    def remaining_uas(self) -> float:
        """Charge left, in microampere-seconds."""
        return self._remaining_uas

    @property
    def percent(self) -> int:
        return round(self.level_pct)

    @property
    def mv(self) -> int:
        c = self.config
        return int(c.empty_mv + (c.full_mv - c.empty_mv) * self.level_pct / 100)

    def set_percent(self, percent: float) -> None:
        if not 0 <= percent <= 100:
            raise ValueError(f"battery level {percent} % is outside 0..100")
        self._remaining_uas = self._capacity_uas * percent / 100

    def draw_ua(self, output_avg_ua: float) -> float:
        c = self.config
        return (c.idle_draw_ua + output_avg_ua * c.output_boost_factor) * c.drain_factor

    def drain(self, dt_s: float, output_avg_ua: float) -> None:
        if dt_s > 0:
            self._remaining_uas = max(0.0, self._remaining_uas - self.draw_ua(output_avg_ua) * dt_s)

    def seconds_until(self, percent: float, output_avg_ua: float) -> float | None:
        """How long until the level falls to ``percent`` at this draw; None if it never will."""
        return self.seconds_until_at_draw(percent, self.draw_ua(output_avg_ua))

    def seconds_until_at_draw(self, percent: float, draw: float) -> float | None:
        """``seconds_until`` for a draw (``draw_ua``) already worked out: one draw, several levels."""
        target = self._capacity_uas * percent / 100
        if self._remaining_uas <= target:
            return 0.0
        if draw <= 0:
            return None
        return (self._remaining_uas - target) / draw


class ThresholdTimes:
    """When a battery falls to its BATTERY_LOW and END_OF_SERVICE levels, as device times, kept.

    At a constant draw the charge falls linearly, so the time a level is reached does not move as
    the clock advances: worked out once, it holds while the battery is drained (``drain``) at that
    draw from the charge it was worked out at, and is worked out again as soon as anything else is
    different: the draw, the battery object, its config, or its charge set from outside
    (``set_percent``, a direct ``Battery.drain``). Kept times equal the ones worked out afresh later
    up to float rounding, far below the firmware's 1 ns tolerance.
    """

    __slots__ = ("_battery", "_charge_uas", "_config", "_output_avg_ua", "_times")

    def __init__(self) -> None:
        self._battery: Battery | None = None
        self._config: BatteryConfig | None = None
        self._output_avg_ua = 0.0
        self._charge_uas = 0.0
        self._times: tuple[float | None, float | None] = (None, None)

    def at(self, battery: Battery, output_avg_ua: float, now_s: float) -> tuple[float | None, float | None]:
        """(BATTERY_LOW, END_OF_SERVICE) times at this draw, worked out at ``now_s`` if not kept.

        A level already reached is due at ``now_s``; None: never at this draw. The same tuple
        object is returned while the times are kept."""
        if (
            battery is self._battery
            and battery.config is self._config
            and output_avg_ua == self._output_avg_ua
            and battery._remaining_uas == self._charge_uas  # same module: no property call on the hot path
        ):
            return self._times
        cfg = battery.config
        draw = battery.draw_ua(output_avg_ua)
        low_s = battery.seconds_until_at_draw(cfg.low_pct, draw)
        end_s = battery.seconds_until_at_draw(cfg.end_of_service_pct, draw)
        self._times = (None if low_s is None else now_s + low_s, None if end_s is None else now_s + end_s)
        self._battery, self._config = battery, cfg
        self._output_avg_ua, self._charge_uas = output_avg_ua, battery._remaining_uas
        return self._times

    def drain(self, battery: Battery, now_s: float, dt_s: float, output_avg_ua: float) -> None:
        """``battery.drain`` over ``dt_s`` from ``now_s`` on the device clock, keeping the times: worked
        out at ``now_s`` unless kept already, they stay put as the charge falls at this draw."""
        self.at(battery, output_avg_ua, now_s)
        battery.drain(dt_s, output_avg_ua)
        self._charge_uas = battery._remaining_uas

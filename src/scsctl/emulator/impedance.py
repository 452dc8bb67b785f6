"""The leads as the output stage sees them: one impedance per contact, with open and short faults.

Normal values are drawn once from a seeded generator inside a configurable range (DBS literature
gives 500-1500 ohm as normal; SCS figures are not public), so the same seed gives the same leads.
A measurement adds a small seeded noise and classifies each reading with the model's bands.
"""

from __future__ import annotations

import random

from firmware_protocol.constants import IMPEDANCE_OVER_RANGE_OHM, ImpedanceStatus
from firmware_protocol.messages import ImpedanceReading

from .models import ImpedanceBands

SHORT_OHM = 20
"""What a shorted contact reads: far below any short threshold."""


class Leads:
    """Per-contact impedance of the connected leads. ``ohm(i)`` is None for an open contact."""

    def __init__(
        self,
        contact_count: int,
        seed: int = 0,
        normal_min_ohm: int = 500,
        normal_max_ohm: int = 1500,
        noise_pct: int = 1,
    ) -> None:
        if not 0 < normal_min_ohm <= normal_max_ohm:
            raise ValueError(f"normal impedance range {normal_min_ohm}..{normal_max_ohm} ohm is empty")
        self._rng = random.Random(seed)
        self.noise_pct = noise_pct
        self._base_ohm = [self._rng.randint(normal_min_ohm, normal_max_ohm) for _ in range(contact_count)]
        self._faults: dict[int, ImpedanceStatus] = {}

    @property
    def contact_count(self) -> int:
        return len(self._base_ohm)

    def set_ohm(self, contact: int, impedance_ohm: int) -> None:
        """Give contact index ``contact`` a new intact impedance (clears an open/short fault)."""
        self._check(contact)
        if impedance_ohm <= 0:
            raise ValueError(f"impedance {impedance_ohm} ohm must be positive")
        self._base_ohm[contact] = impedance_ohm
        self._faults.pop(contact, None)

    def open(self, contact: int) -> None:
        self._check(contact)
        self._faults[contact] = ImpedanceStatus.OPEN

    def short(self, contact: int) -> None:
        self._check(contact)
        self._faults[contact] = ImpedanceStatus.SHORT

    def repair(self, contact: int) -> None:
        """Remove an open or short fault: the contact reads its normal value again."""
        self._check(contact)
        self._faults.pop(contact, None)

    def fault(self, contact: int) -> ImpedanceStatus | None:
        """OPEN or SHORT when the contact has a lead fault, else None."""
        return self._faults.get(contact)

    def ohm(self, contact: int) -> int | None:
        """The true impedance now; None for an open circuit."""
        fault = self._faults.get(contact)
        if fault == ImpedanceStatus.OPEN:
            return None
        if fault == ImpedanceStatus.SHORT:
            return SHORT_OHM
        return self._base_ohm[contact]

    def measure(self, bands: ImpedanceBands) -> tuple[ImpedanceReading, ...]:
        """One reading per contact, as MEASURE_IMPEDANCE reports them."""
        return tuple(self._reading(i, bands) for i in range(self.contact_count))

    def _reading(self, contact: int, bands: ImpedanceBands) -> ImpedanceReading:
        ohm = self.ohm(contact)
        if ohm is not None and self.noise_pct:
            spread = ohm * self.noise_pct // 100
            ohm = max(1, ohm + self._rng.randint(-spread, spread))
        if ohm is None or ohm > bands.open_above_ohm:
            return ImpedanceReading(IMPEDANCE_OVER_RANGE_OHM, ImpedanceStatus.OPEN)
        ohm = min(ohm, IMPEDANCE_OVER_RANGE_OHM - 1)
        if ohm < bands.short_below_ohm:
            return ImpedanceReading(ohm, ImpedanceStatus.SHORT)
        if ohm < bands.low_below_ohm:
            return ImpedanceReading(ohm, ImpedanceStatus.LOW)
        if ohm > bands.high_above_ohm:
            return ImpedanceReading(ohm, ImpedanceStatus.HIGH)
        return ImpedanceReading(ohm, ImpedanceStatus.OK)

    def _check(self, contact: int) -> None:
        if not 0 <= contact < self.contact_count:
            raise ValueError(
                f"contact index {contact} is outside 0..{self.contact_count - 1} "
                f"(these leads have contact numbers 1..{self.contact_count})"
            )

"""Samples from a measurement, and the times of clock-aligned readings."""

from __future__ import annotations

import math
from datetime import datetime

from services.common.contract.metering import Cause, Location, Measurand, MeterValue, Sample
from services.common.contract.power import Measurement


def samples(m: Measurement | None, energy_wh: float, measurands: list[Measurand]) -> list[Sample]:
    """One sample per measurand the hardware gives now (the energy register always); the others are left out."""
    out = []
    for name in measurands:
        if name is Measurand.ENERGY_IMPORTED:
            out.append(Sample(measurand=name, value=energy_wh))
        elif m is None:
            continue
        elif name is Measurand.POWER:
            out.append(Sample(measurand=name, value=m.power_w))
        elif name is Measurand.CURRENT:
            out.append(Sample(measurand=name, value=m.current_a))
        elif name is Measurand.VOLTAGE:
            out.append(Sample(measurand=name, value=m.voltage_v))
        elif name is Measurand.SOC and m.soc_pct is not None:
            out.append(Sample(measurand=name, value=m.soc_pct, location=Location.EV))
        elif name is Measurand.POWER_OFFERED:
            out.append(Sample(measurand=name, value=m.offered_power_w))
    return out


def meter_value(at: datetime, m: Measurement | None, energy_wh: float, measurands: list[Measurand],
                cause: Cause) -> MeterValue:
    """A reading is never empty: when none of the measurands can be read, it holds the energy register."""
    values = samples(m, energy_wh, measurands) or samples(m, energy_wh, [Measurand.ENERGY_IMPORTED])
    return MeterValue(timestamp=at, cause=cause, samples=values)


def next_aligned(now_s: float, interval_s: int) -> float:
    """The next multiple of the interval since midnight UTC (clock-aligned readings), strictly after now."""
    return (math.floor(now_s / interval_s) + 1) * interval_s

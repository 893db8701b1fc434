"""Sampled values from a measurement, and the times of clock-aligned readings."""

from __future__ import annotations

import math
from datetime import datetime

from services.common.contract.metering import MeterValue, ReadingContext, SampledValue
from services.common.contract.power import Measurement


def sampled_values(m: Measurement | None, energy_wh: float, measurands: list[str], context: ReadingContext,
                   ) -> list[SampledValue]:
    """One SampledValue per measurand of PICS C-09 the hardware gives; others are left out (the keys refuse them)."""
    def value(measurand: str, number: float, unit: str, location: str | None = "Outlet") -> SampledValue:
        return SampledValue(value=f"{number:.1f}" if unit != "Wh" else str(int(number)), context=context,
                            measurand=measurand, unit=unit, location=location)

    out = []
    for name in measurands:
        if name == "Energy.Active.Import.Register":
            out.append(value(name, energy_wh, "Wh"))
        elif m is None:
            continue
        elif name == "Power.Active.Import":
            out.append(value(name, m.power_w, "W"))
        elif name == "Current.Export":  # the DC current out of the station, as the reference station reports it
            out.append(value(name, m.current_a, "A"))
        elif name == "Voltage":
            out.append(value(name, m.voltage_v, "V"))
        elif name == "SoC" and m.soc_pct is not None:
            out.append(value(name, m.soc_pct, "Percent", "EV"))
        elif name == "Power.Offered":
            out.append(value(name, m.offered_power_w, "W"))
    return out


def meter_value(at: datetime, m: Measurement | None, energy_wh: float, measurands: list[str],
                context: ReadingContext) -> MeterValue:
    values = sampled_values(m, energy_wh, measurands or ["Energy.Active.Import.Register"], context)
    if not values:
        values = sampled_values(m, energy_wh, ["Energy.Active.Import.Register"], context)
    return MeterValue(timestamp=at, sampled_value=values)


def next_aligned(now_s: float, interval_s: int) -> float:
    """The next multiple of the interval since midnight UTC (OCPP clock-aligned data), strictly after now."""
    return (math.floor(now_s / interval_s) + 1) * interval_s

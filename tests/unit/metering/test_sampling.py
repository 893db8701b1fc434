"""Samples: each measurand from the measurement, in the unit its name gives."""

from __future__ import annotations

from datetime import UTC, datetime

from services.common.contract.metering import Cause, Location, Measurand
from services.common.contract.power import Measurement
from services.metering.sampling import meter_value, samples

MEASURED = Measurement(connector_id=1, timestamp=datetime(2026, 11, 26, tzinfo=UTC), boot_id="b", sequence=1,
                       voltage_v=400.0, current_a=87.5, power_w=35000.0, energy_wh=10.0, temperature_c=30.0,
                       soc_pct=50.0, ev_request_a=90.0, offered_current_a=100.0, offered_power_w=40000.0)


def test_the_current_is_the_measured_current_and_the_soc_is_the_evs() -> None:
    """Item 10 of the first conformance round: the DC current was a constant 0.0."""
    taken = samples(MEASURED, 1234.0, [Measurand.CURRENT, Measurand.VOLTAGE, Measurand.SOC, Measurand.POWER_OFFERED])
    assert [(s.measurand, s.value, s.location) for s in taken] == [
        (Measurand.CURRENT, 87.5, Location.OUTLET), (Measurand.VOLTAGE, 400.0, Location.OUTLET),
        (Measurand.SOC, 50.0, Location.EV), (Measurand.POWER_OFFERED, 40000.0, Location.OUTLET)]


def test_without_a_measurement_a_reading_still_holds_the_register() -> None:
    value = meter_value(datetime(2026, 11, 26, tzinfo=UTC), None, 1234.0, [Measurand.VOLTAGE], Cause.CLOCK)
    assert value.cause is Cause.CLOCK
    assert [(s.measurand, s.value) for s in value.samples] == [(Measurand.ENERGY_IMPORTED, 1234.0)]

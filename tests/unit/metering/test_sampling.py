"""Sampled values: the measurands of PICS C-09, each from the measurement."""

from __future__ import annotations

from datetime import UTC, datetime

from services.common.contract.metering import ReadingContext
from services.common.contract.power import Measurement
from services.metering.sampling import sampled_values

MEASURED = Measurement(connector_id=1, timestamp=datetime(2026, 11, 26, tzinfo=UTC), boot_id="b", sequence=1,
                       voltage_v=400.0, current_a=87.5, power_w=35000.0, energy_wh=10.0, temperature_c=30.0,
                       soc_pct=50.0, ev_request_a=90.0, offered_current_a=100.0, offered_power_w=40000.0)


def test_current_export_is_the_measured_current_and_measurands_outside_the_pics_are_left_out() -> None:
    """Item 10: Current.Export was a constant 0.0; Current.Import and Temperature are not in PICS C-09."""
    values = sampled_values(MEASURED, 1234.0, ["Current.Export", "Current.Import", "Temperature", "Voltage"],
                            ReadingContext.SAMPLE_PERIODIC)
    assert [(v.measurand, v.value, v.unit) for v in values] == [("Current.Export", "87.5", "A"),
                                                                ("Voltage", "400.0", "V")]

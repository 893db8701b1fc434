"""The station's readings and job phases in 1.6 words: names, units, contexts and number formats of the wire."""

from __future__ import annotations

from datetime import UTC, datetime

from services.common.contract.firmware import FirmwarePhase, UploadPhase
from services.common.contract.metering import Cause, Location, Measurand, MeterValue, Sample
from services.ocpp_gateway.firmware_notifier import DIAGNOSTICS_STATUSES, FIRMWARE_STATUSES
from services.ocpp_gateway.messages import CONTEXTS, energy_wh, meter_value_payload

AT = datetime(2026, 11, 26, tzinfo=UTC)


def test_a_reading_becomes_sampled_values_as_the_reference_station_sends_them() -> None:
    reading = MeterValue(timestamp=AT, cause=Cause.PERIODIC, samples=[
        Sample(measurand=Measurand.ENERGY_IMPORTED, value=1234.7), Sample(measurand=Measurand.CURRENT, value=87.5),
        Sample(measurand=Measurand.SOC, value=50, location=Location.EV)])
    assert meter_value_payload(reading) == {"timestamp": AT.isoformat(), "sampled_value": [
        {"value": "1234", "context": "Sample.Periodic", "measurand": "Energy.Active.Import.Register", "unit": "Wh",
         "location": "Outlet", "format": "Raw"},
        {"value": "87.5", "context": "Sample.Periodic", "measurand": "Current.Export", "unit": "A",
         "location": "Outlet", "format": "Raw"},
        {"value": "50.0", "context": "Sample.Periodic", "measurand": "SoC", "unit": "Percent", "location": "EV",
         "format": "Raw"}]}
    assert energy_wh(reading) == 1234


def test_every_cause_has_its_reading_context() -> None:
    assert set(CONTEXTS) == set(Cause)
    assert CONTEXTS[Cause.REQUESTED] == "Trigger" and CONTEXTS[Cause.SESSION_END] == "Transaction.End"


def test_a_reading_without_the_register_has_no_energy() -> None:
    reading = MeterValue(timestamp=AT, cause=Cause.CLOCK, samples=[Sample(measurand=Measurand.VOLTAGE, value=400)])
    assert energy_wh(reading) is None


def test_every_job_phase_has_its_16_status() -> None:
    assert set(FIRMWARE_STATUSES) == set(FirmwarePhase) and set(DIAGNOSTICS_STATUSES) == set(UploadPhase)
    assert FIRMWARE_STATUSES[FirmwarePhase.INSTALL_FAILED] == "InstallationFailed"
    assert DIAGNOSTICS_STATUSES[UploadPhase.UPLOAD_FAILED] == "UploadFailed"

"""Metering topics: meter values and the energy register."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Never

from pydantic import Field

from .base import Kind, Model, Topic


class ReadingContext(StrEnum):
    """OCPP 1.6 ReadingContext."""

    INTERRUPTION_BEGIN = "Interruption.Begin"
    INTERRUPTION_END = "Interruption.End"
    OTHER = "Other"
    SAMPLE_CLOCK = "Sample.Clock"
    SAMPLE_PERIODIC = "Sample.Periodic"
    TRANSACTION_BEGIN = "Transaction.Begin"
    TRANSACTION_END = "Transaction.End"
    TRIGGER = "Trigger"


class SampledValue(Model):
    """One OCPP SampledValue; the gateway copies it field for field (camelCase on the wire)."""

    value: str
    context: ReadingContext
    measurand: str = Field(description="OCPP Measurand, e.g. Energy.Active.Import.Register.")
    unit: str = Field(description="OCPP UnitOfMeasure, e.g. Wh, W, A, V, Percent, Celsius.")
    location: str | None = Field(None, description="Outlet, EV, Body...")
    format: str = "Raw"


class MeterValue(Model):
    timestamp: datetime
    sampled_value: list[SampledValue] = Field(min_length=1)


class MeterValuesTaken(Model):
    connector_id: int = Field(ge=0)
    session_id: str | None = Field(None, description="The gateway's session id when taken during a transaction.")
    meter_value: MeterValue


class TransactionData(Model):
    connector_id: int = Field(ge=1)
    session_id: str = Field(description="The gateway's session the values belong to.")
    meter_value: MeterValue


class ReadRequest(Model):
    connector_id: int = Field(1, ge=0)
    context: ReadingContext = ReadingContext.SAMPLE_PERIODIC
    measurands: list[str] | None = Field(None, description="Default: MeterValuesSampledData.")


class MeterReading(Model):
    connector_id: int
    energy_wh: int = Field(ge=0, description="The energy register, monotonic across every restart.")
    meter_value: MeterValue


class EnergyRegister(Model):
    connector_id: int
    energy_wh: float = Field(ge=0)
    timestamp: datetime


METER_VALUES: Topic[MeterValuesTaken, Never] = Topic(
    "chargebus/metering/event/meter_values/{connector_id}", Kind.EVENT, MeterValuesTaken, owner="metering",
    subscribers=("ocpp_gateway",),
    doc="Periodic (MeterValueSampleInterval, during a transaction) and clock-aligned "
    "(ClockAlignedDataInterval) meter values, ready for MeterValues.req.",
    example={"connector_id": 1, "session_id": "s-1", "meter_value": {"timestamp": "2026-11-24T22:00:00Z",
             "sampled_value": [{"value": "1234", "context": "Sample.Periodic",
                                "measurand": "Energy.Active.Import.Register", "unit": "Wh",
                                "location": "Outlet", "format": "Raw"}]}},
)
TRANSACTION_DATA: Topic[TransactionData, Never] = Topic(
    "chargebus/metering/event/transaction_data/{connector_id}", Kind.EVENT, TransactionData, owner="metering",
    subscribers=("ocpp_gateway",),
    doc="Values for StopTransaction.transactionData during a transaction: StopTxnSampledData every "
    "MeterValueSampleInterval (Sample.Periodic) and StopTxnAlignedData every ClockAlignedDataInterval "
    "(Sample.Clock). An empty key means none.",
    example={"connector_id": 1, "session_id": "s-1", "meter_value": {"timestamp": "2026-11-24T22:15:00Z",
             "sampled_value": [{"value": "2345", "context": "Sample.Clock",
                                "measurand": "Energy.Active.Import.Register", "unit": "Wh",
                                "location": "Outlet", "format": "Raw"}]}},
)
READ = Topic(
    "chargebus/metering/cmd/read", Kind.CMD, ReadRequest, reply=MeterReading, owner="metering",
    subscribers=("ocpp_gateway",), doc="Read the meter now (meterStart/meterStop, TriggerMessage).",
    example={"connector_id": 1, "context": "Transaction.Begin", "measurands": None},
)
REGISTER: Topic[EnergyRegister, Never] = Topic(
    "chargebus/metering/state/register/{connector_id}", Kind.STATE, EnergyRegister, owner="metering",
    retain=True, subscribers=("api", "cli", "ocpp_gateway"),
    doc="The energy register (Wh), persisted before it is published.",
    example={"connector_id": 1, "energy_wh": 1234.0, "timestamp": "2026-11-24T22:00:00Z"},
)

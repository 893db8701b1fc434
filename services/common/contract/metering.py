"""Metering topics: meter values and the energy register."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Never

from pydantic import Field

from .base import Kind, Model, Topic


class Measurand(StrEnum):
    """What a sample measures; the unit is part of the name."""

    ENERGY_IMPORTED = "energy_imported_wh"  # the energy register: monotonic across every restart
    POWER = "power_w"  # active power delivered to the EV
    CURRENT = "current_a"  # DC current out of the outlet
    VOLTAGE = "voltage_v"  # DC voltage at the outlet
    SOC = "soc_pct"  # the EV's state of charge, as the EV reports it
    POWER_OFFERED = "power_offered_w"  # the most the station offers the EV now


class Cause(StrEnum):
    """Why a reading was taken."""

    PERIODIC = "periodic"  # every sample interval of a session
    CLOCK = "clock"  # at each multiple of the aligned interval
    SESSION_START = "session_start"
    SESSION_END = "session_end"
    REQUESTED = "requested"  # asked for now (e.g. by the CSMS)


class Location(StrEnum):
    OUTLET = "outlet"
    EV = "ev"


class Sample(Model):
    measurand: Measurand
    value: float = Field(description="In the unit the measurand names.")
    location: Location = Location.OUTLET


class MeterValue(Model):
    timestamp: datetime
    cause: Cause
    samples: list[Sample] = Field(min_length=1)


class MeterValuesTaken(Model):
    connector_id: int = Field(ge=0)
    session_id: str | None = Field(None, description="The gateway's session id when taken during a transaction.")
    meter_value: MeterValue


class SessionData(Model):
    connector_id: int = Field(ge=1)
    session_id: str = Field(description="The gateway's session the values belong to.")
    meter_value: MeterValue


class ReadRequest(Model):
    connector_id: int = Field(1, ge=0)
    cause: Cause = Cause.PERIODIC
    measurands: list[Measurand] | None = Field(None, description="Default: the sampled_measurands setting.")


class MeterReading(Model):
    connector_id: int
    energy_wh: int = Field(ge=0, description="The energy register, monotonic across every restart.")
    meter_value: MeterValue


class EnergyRegister(Model):
    connector_id: int
    energy_wh: float = Field(ge=0)
    timestamp: datetime


_SAMPLE = {"measurand": "energy_imported_wh", "value": 1234.0, "location": "outlet"}

METER_VALUES: Topic[MeterValuesTaken, Never] = Topic(
    "chargebus/metering/event/meter_values/{connector_id}", Kind.EVENT, MeterValuesTaken, owner="metering",
    subscribers=("ocpp_gateway",),
    doc="Readings of the sampled_measurands every sample_interval_s of a session (periodic), and of the "
    "aligned_measurands at every multiple of aligned_interval_s (clock), session or not.",
    example={"connector_id": 1, "session_id": "s-1", "meter_value": {
        "timestamp": "2026-11-24T22:00:00Z", "cause": "periodic", "samples": [_SAMPLE]}},
)
SESSION_DATA: Topic[SessionData, Never] = Topic(
    "chargebus/metering/event/session_data/{connector_id}", Kind.EVENT, SessionData, owner="metering",
    subscribers=("ocpp_gateway",),
    doc="Readings kept for the report at the end of a session: the session_sampled_measurands every "
    "sample_interval_s (periodic) and the session_aligned_measurands every aligned_interval_s (clock). An "
    "empty list means none.",
    example={"connector_id": 1, "session_id": "s-1", "meter_value": {
        "timestamp": "2026-11-24T22:15:00Z", "cause": "clock", "samples": [_SAMPLE]}},
)
READ = Topic(
    "chargebus/metering/cmd/read", Kind.CMD, ReadRequest, reply=MeterReading, owner="metering",
    subscribers=("ocpp_gateway",), doc="Read the meter now (the start and end of a session, a request).",
    example={"connector_id": 1, "cause": "session_start", "measurands": None},
)
REGISTER: Topic[EnergyRegister, Never] = Topic(
    "chargebus/metering/state/register/{connector_id}", Kind.STATE, EnergyRegister, owner="metering",
    retain=True, subscribers=("api", "cli", "ocpp_gateway"),
    doc="The energy register (Wh), persisted before it is published.",
    example={"connector_id": 1, "energy_wh": 1234.0, "timestamp": "2026-11-24T22:00:00Z"},
)

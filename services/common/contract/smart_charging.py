"""Smart charging topics: the current limit in force per connector."""

from __future__ import annotations

from pydantic import Field

from .base import Kind, Model, Topic


class ChargingLimit(Model):
    connector_id: int = Field(ge=1)
    limit_a: float = Field(ge=0, description="Limit in force from the charging profiles.")


LIMIT = Topic(
    "chargebus/smart_charging/state/limit/{connector_id}", Kind.STATE, ChargingLimit, owner="smart_charging",
    retain=True, subscribers=("power", "api"),
    doc="The current limit in force from the charging profiles; power applies it within one CAN cycle.",
    example={"connector_id": 1, "limit_a": 250.0},
)

"""Topics every service shares: health, and the protocol configuration as the CSMS sees it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Never

from pydantic import Field

from .base import Kind, Model, Topic


class HealthState(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"  # set by the broker through the Last Will: the process died or lost the link
    STOPPED = "stopped"  # the process shut down cleanly


class Health(Model):
    state: HealthState
    version: str = Field(description="Software version of the service.")
    pid: int = Field(ge=0, description="The service's own OS process id.")
    since: datetime = Field(description="When the service (re)started, UTC.")


class ConfigValue(Model):
    key: str = Field(max_length=100, description="The protocol's name for it: a 1.6 key, or a 2.0.1 variable as "
                     "Component[@evse[.connector]].Variable[:instance].")
    value: str = Field(max_length=500, description="Value as the protocol carries it: a string.")
    readonly: bool = Field(description="True when the CSMS may not change it.")


HEALTH: Topic[Health, Never] = Topic(
    "chargebus/{service}/health",
    Kind.HEALTH,
    Health,
    owner="every service",
    retain=True,
    subscribers=("supervisor", "ocpp_gateway", "power", "api", "cli"),
    doc="Liveness of each service. The MQTT Last Will turns it `offline` when the process dies.",
    example={"state": "online", "version": "0.1.0", "pid": 4242, "since": "2026-11-24T22:00:00Z"},
)

CONFIG: Topic[ConfigValue, Never] = Topic(
    "chargebus/config/{key}",
    Kind.CONFIG,
    ConfigValue,
    owner="ocpp_gateway",
    retain=True,
    subscribers=("api", "firmware", "cli"),
    doc="The gateway's configuration as its CSMS reads and writes it, for people and diagnostics archives; "
    "write-only values are never published. Services act on `chargebus/settings/<name>`, never on these.",
    example={"key": "CP_MODEL", "value": "MIC-200-ELT", "readonly": True},
)

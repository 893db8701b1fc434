"""The bus contract: every topic, declared once as data.

`TOPICS` lists them all; `make proto` renders `proto/schemas/*.json` and `proto/topics.md` from it.
"""

from __future__ import annotations

from . import auth, common, firmware, metering, ocpp_gateway, power, sim, smart_charging, station_settings, supervisor
from .base import (
    ROOT,
    Address,
    Empty,
    ErrorBody,
    ErrorCode,
    Kind,
    Model,
    Reply,
    Topic,
    health_topic,
    replier,
    reply_filter,
    reply_topic,
)

_MODULES = (common, station_settings, supervisor, power, sim, auth, metering, ocpp_gateway, smart_charging, firmware)

TOPICS: tuple[Topic, ...] = tuple(
    value for module in _MODULES for value in vars(module).values() if isinstance(value, Topic)
)


def find(topic: str) -> tuple[Topic, dict[str, str]] | None:
    """The declared topic a concrete topic string belongs to, with its parameters."""
    for declared in TOPICS:
        params = declared.match(topic)
        if params is not None:
            return declared, params
    return None


__all__ = [
    "ROOT",
    "TOPICS",
    "Address",
    "Empty",
    "ErrorBody",
    "ErrorCode",
    "Kind",
    "Model",
    "Reply",
    "Topic",
    "auth",
    "common",
    "find",
    "firmware",
    "health_topic",
    "metering",
    "ocpp_gateway",
    "power",
    "replier",
    "reply_filter",
    "reply_topic",
    "sim",
    "smart_charging",
    "supervisor",
]

"""Life cycle only, until Smart Charging lands."""

from __future__ import annotations

from services.common.lifecycle import Service


class SmartChargingService(Service):
    name = "smart_charging"

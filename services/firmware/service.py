"""Life cycle only, until Firmware Management lands."""

from __future__ import annotations

from services.common.lifecycle import Service


class FirmwareService(Service):
    name = "firmware"

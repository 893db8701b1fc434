"""Wiring of the firmware service: UpdateFirmware and GetDiagnostics jobs (with the Firmware Management issue),
and what they are doing now (TriggerMessage asks it)."""

from __future__ import annotations

from services.common.contract import firmware
from services.common.contract.base import Empty
from services.common.contract.firmware import DiagnosticsStatus, FirmwareStatus, JobsStatus
from services.common.lifecycle import Service


class FirmwareService(Service):
    name = "firmware"

    async def setup(self) -> None:
        self.bus.handle(firmware.STATUS, self.on_status)

    async def on_status(self, _request: Empty, _p: dict[str, str]) -> JobsStatus:
        # no job runs yet on this station: both are Idle (OCPP 1.6 answers Idle when nothing runs)
        return JobsStatus(firmware=FirmwareStatus.IDLE, diagnostics=DiagnosticsStatus.IDLE)
